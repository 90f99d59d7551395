"""Every interval the board shows, checked by simulation with a known truth; prints the coverages.

    .venv/bin/python -m benchmarks.statistics               # 200 replications per scenario (a few minutes)
    .venv/bin/python -m benchmarks.statistics --reps 50     # a quicker look

Simulated models answer the default build's real test problems with a known chance of a right
answer per C (tests/simulate.py). For each scenario the script reports how
often the 95% intervals contain the truth: the slope (Wald, clustered by problem), C50 (Fieller's
interval, among runs where the board states C50 as a number), the accuracy of the scope and of
each C band (Wilson, widened for clustering). It then checks the paired statistics (McNemar's
level, Holm's familywise error, Bonett and Price's interval), compares the C50 interval widths of
the test design before and after the power supplement, and sends runs through the real ingest
path to confirm the stored numbers are the direct computation. Last, the executors (known-truth
simulated models that multiply by one heuristic and slip per operation with probability p): coverage
of every interval and of the per-step error, and which heuristic the per-step fit names. Then the Findings
view's intervals: accuracy past C 100 and the bootstrap interval of the LPM R^2 of correctness on C.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.problems import generate
from dataset_builder.tasks import MULTIPLY, tasks_of
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.leaderboard.storage.summary import scope_fit
from mmmult.statistics.analysis import holm, paired_gap
from tests.simulate import (
    DoublingTruth,
    Truth,
    coverage,
    executor_coverage,
    lm_eval_files,
    logistic_model,
)
from tests.simulate_findings import findings_coverage


def test_loads(min_test_per_band: int | None = None) -> np.ndarray:
    problems = generate() if min_test_per_band is None else generate(min_test_per_band=min_test_per_band)
    return np.array([p.C for p in problems if p.split == "test"], dtype=float)


def intervals(reps: int) -> None:
    loads = test_loads()
    print(f"Interval coverage on the {len(loads):,} test problems, {reps} runs per scenario (target 0.92-0.98)")
    print(f"{'scenario':58} {'slope':>6} {'C50':>6} {'stated':>7} {'acc.':>6} {'bins':>6}")
    scenarios = [
        ("one config, C50 20", Truth(20, 0.15), 1, 0.0, True),
        ("one config, C50 60", Truth(60, 0.05), 1, 0.0, True),
        ("one config, C50 150", Truth(150, 0.03), 1, 0.0, True),
        ("one config, C50 300", Truth(300, 0.03), 1, 0.0, True),
        ("six configs, outcomes shared, clustered", Truth(60, 0.05), 6, 1.0, True),
        ("six configs, half shared, clustered", Truth(60, 0.05), 6, 0.5, True),
        ("six configs, outcomes shared, NOT clustered (for contrast)", Truth(60, 0.05), 6, 1.0, False),
        ("one config, flat at 50% (no C50 to state)", Truth(60, 0.0), 1, 0.0, True),
        ("six configs, flat at 50%, shared, clustered", Truth(60, 0.0), 6, 1.0, True),
    ]
    for i, (name, truth, configs, shared, clustered) in enumerate(scenarios):
        result = coverage(loads, truth, configs, shared, reps, seed=100 + i, clustered=clustered)
        cells = [result[k] for k in ("slope", "C50", "C50 stated", "accuracy", "bins")]
        print(f"{name:58} " + " ".join("     -" if math.isnan(v) else f"{v:6.3f}" for v in cells))
    print("(acc. is conservative for a C-dependent model: outcomes of unequal chance vary less than a binomial.)")


def paired(reps: int) -> None:
    rng = np.random.default_rng(7)
    rejections = covered = familywise_raw = familywise_holm = 0
    for _ in range(reps):
        base = rng.random(2234) < 0.6
        configs = [np.where(rng.random(2234) < 0.5, base, rng.random(2234) < 0.6) for _ in range(6)]
        p_values = []
        for i in range(6):
            for j in range(i + 1, 6):
                gap = paired_gap(configs[i], configs[j])
                p_values.append(gap.p_value)
                if (i, j) == (0, 1):
                    rejections += gap.p_value < 0.05
                    covered += gap.low <= 0 <= gap.high
        familywise_raw += min(p_values) < 0.05
        familywise_holm += min(holm(p_values)) < 0.05
    print(f"\nPaired statistics under the null (six configs with equal accuracy, correlated), {reps} runs:")
    print(f"McNemar rejects at 5%: {rejections / reps:.3f}; Bonett-Price interval covers 0: {covered / reps:.3f}")
    print(
        f"some of the 15 gaps p < .05: {familywise_raw / reps:.3f} unadjusted, {familywise_holm / reps:.3f} with Holm"
    )


def design(reps: int) -> None:
    print(f"\nTest design: C50 intervals of one config, {reps} runs (accuracy 90% -> 10% over a doubling of C)")
    print(f"{'design':34} {'items':>6} {'C50':>5} {'median width':>13} {'covers':>7} {'stated':>7}")
    for label, minimum in (("old (factorial test split only)", 0), ("new (385+ per C band)", None)):
        loads = test_loads(minimum)
        for c50 in (10.0, 250.0):
            result = coverage(loads, DoublingTruth(c50), 1, 0.0, reps, seed=int(c50))
            print(f"{label:34} {len(loads):6} {c50:5.0f} {result['C50 width']:13.1f} {result['C50']:7.3f}"
                  f" {result['C50 stated']:7.3f}")  # fmt: skip


def real_path(runs: int) -> None:
    problems = [p for p in generate() if p.split == "test"]
    benchmark = Benchmark({p.problem_id: p.as_dict() for p in problems})
    tasks = [task.name for task in tasks_of(MULTIPLY)]  # the worked regime: one task per config
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "board.sqlite")
        seconds = []
        for run in range(runs):
            started = time.perf_counter()
            upload = read_upload(lm_eval_files(benchmark, tasks, logistic_model(40 + 30 * run, 0.05, seed=run)))
            verdict = check(upload, benchmark)
            sid = store.add(Entry(f"m{run}", "F", "s", True), upload, verdict)
            seconds.append(time.perf_counter() - started)
            with store.connect() as db:
                stored = dict(
                    db.execute("SELECT * FROM fits WHERE submission_id = ? AND scope = 'all'", (sid,)).fetchone()
                )
            direct = scope_fit(pd.DataFrame([vars(i) for i in verdict.items]))
            for key in ("accuracy", "acc_low", "acc_high", "b0", "b1", "v11", "lpm_r2", "aggregate_r2"):
                assert math.isclose(stored[key], direct[key], rel_tol=1e-9), key
    print(f"\nReal path: {runs} six-config runs of {len(problems):,} problems written as lm-eval files, ingested and "
          f"stored; stored summaries equal the direct computation; {np.mean(seconds):.1f} s per run")  # fmt: skip


def executors(reps: int) -> None:
    """The known-truth executors (mmmult-executor): coverage of accuracy, bins, C50 and the per-step error, and
    the confusion matrix of the heuristic the per-step fit names."""
    problems = [p for p in generate() if p.split == "test"]
    print(f"\nExecutors on the {len(problems):,} test problems, two configs, {reps} runs each (target 0.92-0.98)")
    print(f"{'executor':16} {'acc.':>6} {'bins':>6} {'C50':>6} {'stated':>7} {'p':>6}   picked OT / DD / RC")
    for i, (heuristic, step_error) in enumerate((h, p) for p in (0.005, 0.02, 0.08) for h in HEURISTICS):
        result = executor_coverage(problems, heuristic, step_error, 2, reps, seed=300 + i)
        picked = " / ".join(f"{result['picked'][h] / reps:.2f}" for h in HEURISTICS)
        checked = result["C50 checked"]
        cells = [f"{result[k]:6.3f}" if checked or not k.startswith("C50") else f"{'-':>6}"
                 for k in ("accuracy", "bins", "C50", "C50 stated", "step error")]  # fmt: skip
        print(f"{heuristic} p={step_error:<11} " + " ".join(cells) + f"   {picked}")
    print("(C50 is checked where the truth crosses 50% inside the data, '-' elsewhere; p covers only when the")
    print(" heuristic is right.)")


def findings(reps: int) -> None:
    """The Findings view's intervals: accuracy on the items past C 100 (clustered Wilson) and the LPM R^2 of
    correctness on C (percentile bootstrap over problems, 2,000 resamples as the board draws them)."""
    loads = test_loads()
    print(f"\nFindings on the {len(loads):,} test problems, {reps} runs per scenario (target 0.92-0.98)")
    print(f"{'scenario':44} {'past C 100':>10} {'truth':>7} {'R^2':>6} {'truth':>6} {'width':>6}")
    scenarios = [
        ("one config, C50 60", Truth(60, 0.05), 1, 0.0),
        ("one config, C50 150", Truth(150, 0.03), 1, 0.0),
        ("one config, C50 20 (steep)", Truth(20, 0.15), 1, 0.0),
        ("six configs, C50 150, outcomes shared", Truth(150, 0.03), 6, 1.0),
        ("six configs, C50 40, half shared", Truth(40, 0.08), 6, 0.5),
        ("two configs, falling over a doubling at 30", DoublingTruth(30), 2, 0.0),
        ("two configs, flat at 50% (R^2 0)", Truth(60, 0.0), 2, 0.0),
    ]
    for i, (name, truth, configs, shared) in enumerate(scenarios):
        result = findings_coverage(loads, truth, configs, shared, reps, seed=400 + i, bootstrap=2000)
        print(f"{name:44} {result['past C 100']:10.3f} {result['true past C 100']:7.4f} {result['R2']:6.3f}"
              f" {result['true R2']:6.3f} {result['R2 width']:6.3f}")  # fmt: skip
    print("(R^2: the truth on these problems; resampling the problems too makes the interval conservative. Past")
    print(" C 100 with a truth near 1e-4, Wilson's lower bound at one right answer lies above it.)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="replications per scenario (default 200)")
    args = parser.parse_args()
    started = time.perf_counter()
    intervals(args.reps)
    paired(args.reps)
    design(args.reps)
    executors(args.reps)
    findings(args.reps)
    real_path(3)
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
