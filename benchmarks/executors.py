"""The known-truth executors through the real pipeline: does every measure recover each one's heuristic and p?

    .venv/bin/python -m benchmarks.executors                          # builds a subset if ./mmmult-data is absent
    .venv/bin/python -m benchmarks.executors --data demo/data --step-error 0.05

Runs `mmmult eval --model mmmult-executor` with heuristic=OT, DD and RC on the text multiplication task,
the loss probe and the worked answers of the HDS, then prints three confusion matrices (executor by
the heuristic each measure names: the loss probe's preference, the trace classifier on worked
answers, the per-step error fit on the multiplication outcomes), and per executor its accuracy
against the (1 - p)^steps it should have and the fitted p with its interval.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dataset_builder.probe.costs import HEURISTICS
from mmmult.statistics.step_error import likeliest_step_error, steps_of

TASKS = "mmmult_text_numerals,mmmult_probe_text,mmmult_hds_text"
SUBSET = ["--configs", "text-numerals,problems,hds-text", "--max-digits", "6", "--limit", "1500"]


def mmmult(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "mmmult.cli", *args], check=True)


def samples(run: Path, task: str) -> list[dict]:
    (path,) = run.rglob(f"samples_{task}_*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def matrix(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n{title} (rows: the executor's heuristic; columns: the heuristic named)")
    print(f"{'':6}" + "".join(f"{h:>8}" for h in HEURISTICS))
    for heuristic, shares in rows.items():
        print(f"{heuristic:6}" + "".join(f"{shares.get(h, 0.0):8.3f}" for h in HEURISTICS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="mmmult-data", help="a build with text-numerals and hds-text")
    parser.add_argument("--step-error", type=float, default=0.02, help="every executor's p (default %(default)s)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmmult-executors-"))
    data = Path(args.data)
    if not (data / "manifest.json").exists():
        data = work / "data"
        print(f"{args.data} is not a build: building a subset into {data}")
        mmmult("build", "--out", str(data), *SUBSET)
    probe, traces, fitted, accuracy = {}, {}, {}, []
    for heuristic in HEURISTICS:
        started = time.perf_counter()
        run = work / heuristic
        mmmult("eval", "--model", "mmmult-executor", "--model_args",
               f"heuristic={heuristic},step_error={args.step_error},seed=1", "--tasks", TASKS,
               "--metadata", json.dumps({"data": str(data)}), "--log_samples", "--output_path", str(run))  # fmt: skip
        seconds = time.perf_counter() - started
        (results_file,) = run.rglob("results_*.json")
        results = json.loads(results_file.read_text())["results"]
        probe[heuristic] = {h: results["mmmult_probe_text"][f"prefers_{h},none"] for h in HEURISTICS}
        traces[heuristic] = {h: results["mmmult_hds_text"][f"trace_{h},none"] for h in HEURISTICS}
        multiply = samples(run, "mmmult_text_numerals")
        operands = [(s["doc"]["a"], s["doc"]["b"]) for s in multiply]
        correct = np.array([s["exact_match"] for s in multiply], dtype=float)
        fit = likeliest_step_error(operands, correct)
        fitted[heuristic] = {fit.heuristic: 1.0}
        expected = np.mean([(1 - args.step_error) ** steps_of(a, b)[HEURISTICS.index(heuristic)] for a, b in operands])
        accuracy.append((heuristic, len(multiply), correct.mean(), expected, fit.text, seconds))
    matrix("Loss probe: share of HDS items preferring each heuristic", probe)
    matrix("Worked answers: share of HDS answers the trace classifier reads as each heuristic", traces)
    matrix("Per-step error fit: the heuristic whose step counts explain the outcomes best", fitted)
    print(f"\nMultiplication (text-numerals test), p = {args.step_error}:")
    print(f"{'executor':9} {'items':>6} {'accuracy':>9} {'(1-p)^s':>8}   per-step fit        seconds")
    for heuristic, n, observed, expected, text, seconds in accuracy:
        print(f"{heuristic:9} {n:6} {observed:9.3f} {expected:8.3f}   {text:20} {seconds:6.0f}")


if __name__ == "__main__":
    main()
