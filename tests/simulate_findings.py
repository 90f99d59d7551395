"""The Findings view's intervals checked by simulation with a known truth (benchmarks/statistics.py prints it at
scale, tests/test_findings.py runs a small version).

A simulated model (tests/simulate.py: right with a known chance per C, each problem answered in one or more
configs) has, on a fixed set of problems, a known accuracy past C 100 (the mean chance of those items) and a known
R^2 of the linear probability model on C: the share of the variance of one outcome, drawn from these problems and
the model, that the best line in C explains, Cov(C, f)^2 / (Var(C) (Var(f) + mean f (1 - f))) for chance f.
"""

from __future__ import annotations

import numpy as np

from mmmult.statistics.findings import HIGH_LOAD, high_load_accuracy, lpm_r2
from tests.simulate import DoublingTruth, Truth, outcomes


def true_r2(loads: np.ndarray, chance: np.ndarray) -> float:
    """The R^2 that the linear probability model on C explains of a model right with `chance` at `loads`."""
    covariance = float(np.mean((loads - loads.mean()) * (chance - chance.mean())))
    variance = float(chance.var() + np.mean(chance * (1 - chance)))
    return covariance * covariance / (float(loads.var()) * variance)


def findings_coverage(
    loads: np.ndarray, truth: Truth | DoublingTruth, configs: int, shared: float, reps: int, seed: int,
    bootstrap: int = 1000, clustered: bool = True,
) -> dict[str, float]:  # fmt: skip
    """How often the Findings view's intervals contain the truth over `reps` simulated runs (all configs pooled):
    the accuracy past C 100 (clustered Wilson) and the R^2 of correctness on C (bootstrap over problems, `bootstrap`
    resamples, seeded per run; over items where `clustered` is False); with the truths and the median R^2 interval
    width."""
    rng = np.random.default_rng(seed)
    chance = truth.accuracy(loads)
    r2_truth = true_r2(loads, chance)
    past_truth = float(chance[loads > HIGH_LOAD].mean())
    hits = {"past C 100": 0, "R2": 0, "R2 stated": 0}
    widths = []
    for rep in range(reps):
        run = outcomes(loads, truth, configs, shared, rng)
        groups = run["problem_id"] if clustered else run.index
        past = high_load_accuracy(run["correct"], run["C"], groups)
        hits["past C 100"] += past is not None and past.low <= past_truth <= past.high
        r2 = lpm_r2(run["C"], run["correct"], groups, reps=bootstrap, seed=rep)
        if r2 is None:
            continue
        hits["R2 stated"] += 1
        hits["R2"] += r2.low <= r2_truth <= r2.high
        widths.append(r2.high - r2.low)
    return {
        "past C 100": hits["past C 100"] / reps,
        "R2": hits["R2"] / max(1, hits["R2 stated"]),
        "R2 stated": hits["R2 stated"] / reps,
        "true past C 100": past_truth,
        "true R2": r2_truth,
        "R2 width": float(np.median(widths)) if widths else float("nan"),
    }
