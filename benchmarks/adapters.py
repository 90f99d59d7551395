"""The paper's last experiment on a small real model: three heuristic LoRA adapters, trained and compared on CPU.

    .venv/bin/python -m benchmarks.adapters --base DIR --gguf-file FILE      # Qwen2.5-Coder-0.5B-Instruct
    .venv/bin/python -m benchmarks.adapters --steps 3 --probe-items 4 --accuracy-items 5   # tiny random GPT-2

DIR is a folder holding the assembled GGUF file of Qwen2.5-Coder-0.5B-Instruct (Q4_K_M; transformers reads
it with gguf_file= and dequantises it to float32: about 2 GB of memory). Without --base, a tiny random
GPT-2 made here stands in, which checks the whole path in seconds and says nothing about the paper.

It builds two datasets under --work: the traces of problems of at most --train-digits digits (short worked
solutions) and the full text design for the probe and the accuracy; trains the OT, DD and RC adapters
(`mmmult adapters train`, resumable: a rerun skips what is done) and compares them (`mmmult adapters
compare`), printing seconds per phase and the three tables beside the paper's findings: the adapters'
updates are near-orthogonal, each nudges the model towards its own heuristic, and yet accuracy falls
(the base model keeps a well-tuned internal router).

Cut to fit about an hour on 2 cores (the paper trained longer, at a higher rank, on far more traces): 40 steps
of 2 traces per adapter at rank 8 on q_proj and v_proj (PEFT's default for Qwen2), traces of at most 3-digit
operands and 320 tokens, 40 hds-text test items for the probe, and 30 mini problems (6 per C band) answered
greedily up to 160 new tokens, which leaves long worked answers unfinished, so accuracy in the high bands is
a floor. These defaults are an estimate: the run prints its own seconds per phase.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import datasets

from dataset_builder.dataset.pipeline import BuildOptions, build, is_complete_build
from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.problems import MINI, Bounds
from mmmult.adapters.compare import BASE, CompareOptions, compare, tables
from mmmult.adapters.train import TrainOptions, train
from mmmult.probe_scoring.scores import step_choices

PAPER = {
    "cosines": "near-orthogonal updates (|cosine| close to 0 between every pair)",
    "nudge": "each adapter raises the preference for its own heuristic over the base",
    "accuracy": "accuracy falls with every adapter (the base keeps a well-tuned internal router)",
}


def datasets_for(work: Path, train_digits: int) -> tuple[Path, Path]:
    """The traces build (short operands) and the evaluation build (the full text design), made once."""
    traces, evaluation = work / "traces-build", work / "eval-build"
    if not is_complete_build(traces):
        build(traces, BuildOptions(configs=("traces",), bounds=Bounds(max_digits=train_digits)), overwrite=True)
    if not is_complete_build(evaluation):
        build(evaluation, BuildOptions(configs=("problems", "hds-text", "text-numerals")), overwrite=True)
    return traces, evaluation


def tiny_base(work: Path, traces: Path, evaluation: Path) -> Path:
    """A tiny random GPT-2 whose tokenizer knows the traces' and the probe's words."""
    from tests.models import tiny_trace_lm

    rows = datasets.load_dataset(str(traces), "traces", split="train")
    hds = datasets.load_dataset(str(evaluation), "hds-text", split="test")
    steps = [step.text for row in hds for _, step in step_choices(row["a"], row["b"])]
    return tiny_trace_lm(work / "tiny-base", [*rows["prompt"], *rows["solution"], *hds["stimulus"], *steps])


def findings(comparison_json: dict) -> list[str]:
    """One line per finding: the paper's, then what this run measured."""
    overall = next(row for row in comparison_json["cosines"] if row["module"] == "all")
    pairs = {pair: value for pair, value in overall.items() if pair != "module"}
    nudge = {row["model"]: row for row in comparison_json["nudge"]}
    accuracy = {row["model"]: row for row in comparison_json["accuracy"] if row["band"] == "all"}
    own = ", ".join(f"{h}: prefers_{h} {nudge[BASE][f'prefers_{h}']:.3f} -> {nudge[h][f'prefers_{h}']:.3f}"
                    for h in HEURISTICS if h in nudge)  # fmt: skip
    falls = ", ".join(f"{h}: {accuracy[BASE]['accuracy']:.3f} -> {accuracy[h]['accuracy']:.3f} "
                      f"(Holm p {accuracy[h]['p_holm']:.3g})" for h in HEURISTICS if h in accuracy)  # fmt: skip
    cosines = ", ".join(f"{pair} {value:+.3f}" for pair, value in pairs.items())
    return [f"paper: {PAPER['cosines']}", f"here:  {cosines}", f"paper: {PAPER['nudge']}", f"here:  {own}",
            f"paper: {PAPER['accuracy']}", f"here:  {falls}"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="folder of the real base model (default: a tiny random GPT-2)")
    parser.add_argument("--gguf-file", help="the GGUF file in --base")
    parser.add_argument("--work", help="where the builds and adapters go (default: a temporary folder)")
    parser.add_argument("--train-digits", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=320)
    parser.add_argument("--limit", type=int, default=200, help="traces per heuristic to sample batches from")
    parser.add_argument("--probe-items", type=int, default=40)
    parser.add_argument("--accuracy-items", type=int, default=30)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="mmmult-adapters-"))
    seconds = {}

    started = time.perf_counter()
    traces, evaluation = datasets_for(work, args.train_digits)
    base = args.base or str(tiny_base(work, traces, evaluation))
    seconds["builds"] = time.perf_counter() - started

    started = time.perf_counter()
    options = TrainOptions(steps=args.steps, rank=args.rank, alpha=2.0 * args.rank, batch_size=args.batch_size,
                           max_length=args.max_length, limit=args.limit, checkpoint_every=10)  # fmt: skip
    print(train(base, str(traces), work / "adapters", options, args.gguf_file))
    seconds["training"] = time.perf_counter() - started
    for heuristic in HEURISTICS:
        losses = json.loads((work / "adapters" / heuristic / "manifest.json").read_text())["result"]["losses"]
        print(f"{heuristic}: trace loss per solution token, first step {losses[0]:.3f}, last step {losses[-1]:.3f}")

    started = time.perf_counter()
    compared = CompareOptions(args.probe_items, args.accuracy_items, MINI, args.max_new_tokens)
    comparison = compare(work / "adapters", str(evaluation), HEURISTICS, compared)
    seconds["comparison"] = time.perf_counter() - started

    print()
    print(tables(comparison))
    print()
    print("\n".join(findings(json.loads(comparison.as_json()))))
    print()
    print("seconds: " + ", ".join(f"{phase} {value:.0f}" for phase, value in seconds.items()))
    print(f"base: {base if args.base else 'a tiny random GPT-2 (a check of the path, not a finding)'}; work: {work}")


if __name__ == "__main__":
    main()
