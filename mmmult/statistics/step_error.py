"""The effective per-step error: the p that best explains a model's accuracy as (1 - p) ** steps.

Each heuristic takes a known number of elementary operations on a x b (probe/worked.py, step_count).
A model that slips at each operation with probability p gets a problem right with probability
(1 - p) ** steps, as the executors do by construction. For each heuristic the board fits p by maximum
likelihood over the scope's items and keeps the heuristic whose step counts fit best (the highest
likelihood: one parameter each, so no penalty differs). The 95% interval is the profile-likelihood
interval, its chi-square threshold widened by the design effect of the clustering by problem (a
Rao-Scott correction: a scope pools several configs, whose outcomes on one problem are not
independent; the ratio of the clustered to the model-based variance of the score at the estimate).
Its coverage, and the recovery of the heuristic, are checked by simulation on the executors
(tests/test_step_error.py, benchmarks/statistics.py).

>>> fit = fit_step_error([4, 4, 9, 9], [1, 1, 1, 0])
>>> round(fit.p, 4), fit.low < fit.p < fit.high
(0.0461, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.probe.worked import step_count
from mmmult.statistics.analysis import Z95

CHI2_95 = Z95**2
"""The 95% point of chi-square with one degree of freedom."""
EDGE = 1e-12
TIE = 1e-9
"""Fits whose log-likelihoods differ by less than this (relative to the best) tie: one problem repeated, or step
counts in proportion, fit equally well in exact arithmetic and differ only by the optimiser's rounding."""


@dataclass(frozen=True)
class StepError:
    """The fitted per-step error of one heuristic's step counts, its 95% interval and the fit's log-likelihood."""

    heuristic: str
    p: float
    low: float
    high: float
    log_likelihood: float
    n: int

    @property
    def text(self) -> str:
        """As the board shows it: "DD 0.031 [0.027, 0.035]"."""
        return f"{self.heuristic} {self.p:.3f} [{self.low:.3f}, {self.high:.3f}]"


@cache
def steps_of(a: int, b: int) -> tuple[int, ...]:
    """The step counts of a x b under OT, DD and RC."""
    return tuple(step_count(a, b, h) for h in HEURISTICS)


def _log_likelihood(q: float, steps: np.ndarray, y: np.ndarray) -> float:
    """Sum over items of log P(outcome) with P(right) = q ** steps (q = 1 - p)."""
    if q <= 0.0:
        return 0.0 if not y.any() else -math.inf
    if q >= 1.0:
        return 0.0 if y.all() else -math.inf
    right = steps * math.log(q)
    return float(np.sum(np.where(y == 1, right, np.log(-np.expm1(right)))))


def _clustered_design_effect(q: float, steps: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Clustered over model-based variance of the score in q at the estimate (at least 1)."""
    qs = q**steps
    score = np.where(y == 1, steps / q, -steps * qs / q / (1 - qs))
    curvature = np.where(
        y == 1,
        -steps / q**2,
        -(steps * (steps - 1) * qs / q**2 * (1 - qs) + (steps * qs / q) ** 2) / (1 - qs) ** 2,
    )
    information = -float(curvature.sum())
    _, codes = np.unique(groups, return_inverse=True)
    per_cluster = np.bincount(codes, weights=score)
    return max(1.0, float(np.sum(per_cluster**2)) / information) if information > 0 else 1.0


def fit_step_error(
    steps: Sequence[int] | np.ndarray,
    correct: Sequence[float] | np.ndarray,
    groups: Sequence[object] | np.ndarray | None = None,
    heuristic: str = "",
) -> StepError:
    """The maximum-likelihood p of P(right) = (1 - p) ** steps, with its profile-likelihood 95% interval
    (widened for clustering by `groups`, the problem of each item, where given)."""
    from scipy.optimize import brentq, minimize_scalar  # a quarter second to import: only when a fit is made

    s, y = np.asarray(steps, dtype=float), np.asarray(correct, dtype=float)
    if len(s) == 0 or len(s) != len(y) or (s < 1).any():
        raise ValueError(f"step counts ({len(s)}, each at least 1) and outcomes ({len(y)}) must pair up")
    if y.all():
        q_hat = 1.0
    elif not y.any():
        q_hat = 0.0
    else:
        found = minimize_scalar(lambda q: -_log_likelihood(q, s, y), bounds=(EDGE, 1 - EDGE), method="bounded",
                                options={"xatol": 1e-10})  # fmt: skip
        q_hat = float(found.x)
    top = _log_likelihood(q_hat, s, y)
    interior = 0.0 < q_hat < 1.0
    effect = _clustered_design_effect(q_hat, s, y, np.asarray(groups)) if interior and groups is not None else 1.0
    threshold = top - CHI2_95 * effect / 2

    def gap(q: float) -> float:
        return _log_likelihood(q, s, y) - threshold

    low_q = 0.0 if gap(EDGE) >= 0 or q_hat == 0.0 else brentq(gap, EDGE, max(q_hat, 2 * EDGE))
    high_q = 1.0 if gap(1 - EDGE) >= 0 or q_hat == 1.0 else brentq(gap, min(q_hat, 1 - 2 * EDGE), 1 - EDGE)
    return StepError(heuristic, 1 - q_hat, 1 - high_q, 1 - low_q, top, len(s))


def likeliest_step_error(
    operands: Sequence[tuple[int, int]], correct: Sequence[float] | np.ndarray, groups: Sequence[object] | None = None
) -> StepError:
    """The per-step error under the heuristic whose step counts explain the outcomes best: the first of OT, DD,
    RC among those within TIE of the highest log-likelihood (all right, all wrong, or a single problem: OT)."""
    counts = np.array([steps_of(a, b) for a, b in operands], dtype=float).reshape(len(operands), len(HEURISTICS))
    fits = [fit_step_error(counts[:, i], correct, groups, h) for i, h in enumerate(HEURISTICS)]
    best = max(fit.log_likelihood for fit in fits)
    return next(fit for fit in fits if fit.log_likelihood >= best - TIE * max(1.0, abs(best)))
