"""The paper's claims against this board's data: each claim's measure with its 95% interval, and a plain verdict
by a stated rule.

A verdict is reached only where the interval settles the claim: *reproduced* when the whole interval lies on the
claim's side of the paper's threshold, *not reproduced* when it lies wholly on the other side, and *not estimable
on these data* otherwise (the interval straddles the threshold, or the data hold nothing to measure). The
thresholds are the constants below; the Findings view and the README state the rules from them.

The intervals are the board's own (Wilson widened for clustering by problem; Wilson for the probe's shares), and
for the R^2 of correctness on C a percentile bootstrap over problems, checked by simulation with a known truth
(benchmarks/statistics.py, tests/test_findings.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from dataset_builder.probe.costs import HEURISTICS
from mmmult.statistics.analysis import Array, clustered_proportion
from mmmult.statistics.procedures import share

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_ESTIMABLE = "not estimable on these data"

HIGH_LOAD = 100
"""Claim 1 is about the items with C above this."""
NEAR_ZERO = 0.10
"""Accuracy past C HIGH_LOAD is near zero when its interval lies below this, and is not when it lies above."""
R2_THRESHOLD = 0.5
"""The paper: the LPM R^2 of correctness on C is often above this."""
NEAR_PERFECT = 0.99
"""The paper: perception is above 99%. Perception is near perfect when its interval's lower bound reaches this."""
PAPER_HEURISTIC = "DD"
"""The heuristic the paper's probe finds models prefer: distributive decomposition."""
BOOTSTRAP_REPS = 2000
BOOTSTRAP_SEED = 0
"""The R^2 interval's resamples and seed: the same data always give the same interval."""


class Verdict(NamedTuple):
    """One of REPRODUCED, NOT_REPRODUCED, NOT_ESTIMABLE, and the rule or the reason that reached it."""

    verdict: str
    why: str


@dataclass(frozen=True)
class Estimate:
    """A measure with its 95% interval, over `n` outcomes."""

    value: float
    low: float
    high: float
    n: int


def high_load_accuracy(correct: Array, loads: Array, groups: Sequence[object] | np.ndarray) -> Estimate | None:
    """Accuracy on the items with C > HIGH_LOAD, with the board's clustered Wilson interval (`groups` names each
    item's problem); None where no item is past HIGH_LOAD."""
    y, x, g = np.asarray(correct, dtype=float), np.asarray(loads, dtype=float), np.asarray(groups, dtype=object)
    past = x > HIGH_LOAD
    if not past.any():
        return None
    share = clustered_proportion(y[past], g[past])
    return Estimate(share.value, share.low, share.high, share.n)


def near_zero_verdict(accuracy: Estimate) -> Verdict:
    """Claim 1: reproduced when the interval's upper bound is below NEAR_ZERO, not reproduced when its lower bound
    is above it.

    >>> near_zero_verdict(Estimate(0.0, 0.0, 0.06, 60))
    Verdict(verdict='reproduced', why='upper bound 6.0% < 10%')
    """
    if accuracy.high < NEAR_ZERO:
        return Verdict(REPRODUCED, f"upper bound {accuracy.high:.1%} < {NEAR_ZERO:.0%}")
    if accuracy.low > NEAR_ZERO:
        return Verdict(NOT_REPRODUCED, f"lower bound {accuracy.low:.1%} > {NEAR_ZERO:.0%}")
    return Verdict(NOT_ESTIMABLE, f"the interval holds {NEAR_ZERO:.0%}")


def lpm_r2(
    loads: Array, correct: Array, groups: Sequence[object] | np.ndarray, reps: int = BOOTSTRAP_REPS,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate | None:  # fmt: skip
    """The paper's R^2 of the linear probability model correct ~ C (the squared correlation, as the board stores
    it) with a 95% interval: the percentile interval of the correlation over `reps` resamples of the problems
    (`groups`; a problem's items stay together), squared. An interval of the correlation that holds 0 gives
    [0, larger square], so that an R^2 of 0 can be covered. None where C or correctness does not vary."""
    x, y = np.asarray(loads, dtype=float), np.asarray(correct, dtype=float)
    if np.std(x) == 0 or np.std(y) == 0:
        return None
    sums = _problem_sums(x, y, np.asarray(groups, dtype=object))
    drawn = np.random.default_rng(seed).integers(0, len(sums), size=(reps, len(sums)))
    resampled = _correlations(np.column_stack([column[drawn].sum(axis=1) for column in sums.T]))
    r = _correlations(sums.sum(axis=0, keepdims=True))[0]
    low, high = np.nanpercentile(resampled, [2.5, 97.5])
    squares = sorted((low * low, high * high))
    bounds = (0.0, squares[1]) if low <= 0 <= high else (squares[0], squares[1])
    return Estimate(float(r * r), float(bounds[0]), float(bounds[1]), len(x))


def _problem_sums(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per problem: its items' count and the sums of x, y, x^2, y^2 and xy (one row per problem)."""
    codes = pd.factorize(groups)[0]
    columns = (np.ones_like(x), x, y, x * x, y * y, x * y)
    return np.column_stack([np.bincount(codes, weights=column) for column in columns])


def _correlations(totals: np.ndarray) -> np.ndarray:
    """The correlation of x and y from each row of summed (n, x, y, x^2, y^2, xy); NaN where either is constant."""
    n, sx, sy, sxx, syy, sxy = totals.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n * sxy - sx * sy) / np.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))


def r2_verdict(r2: Estimate) -> Verdict:
    """Claim 2: reproduced when the interval's lower bound is above R2_THRESHOLD, not reproduced when its upper
    bound is below it."""
    if r2.low > R2_THRESHOLD:
        return Verdict(REPRODUCED, f"lower bound {r2.low:.3f} > {R2_THRESHOLD}")
    if r2.high < R2_THRESHOLD:
        return Verdict(NOT_REPRODUCED, f"upper bound {r2.high:.3f} < {R2_THRESHOLD}")
    return Verdict(NOT_ESTIMABLE, f"the interval holds {R2_THRESHOLD}")


def perception_verdict(perception: Estimate, multiplication: Estimate) -> Verdict:
    """Claim 3, in one channel: reproduced when perception's lower bound is at least NEAR_PERFECT and
    multiplication's upper bound is below perception's lower bound; not reproduced when perception's upper bound
    is below NEAR_PERFECT (reading is not near perfect) or multiplication's lower bound reaches perception's (the
    products are as good as the reading can be shown to be)."""
    read, product = perception, multiplication
    if read.low >= NEAR_PERFECT and product.high < read.low:
        return Verdict(REPRODUCED, f"perception's lower bound {read.low:.1%} >= {NEAR_PERFECT:.0%} and "
                                   f"multiplication's upper bound {product.high:.1%} is below it")  # fmt: skip
    if read.high < NEAR_PERFECT:
        return Verdict(NOT_REPRODUCED, f"perception's upper bound {read.high:.1%} < {NEAR_PERFECT:.0%}")
    if product.low >= read.low:
        return Verdict(NOT_REPRODUCED, f"multiplication's lower bound {product.low:.1%} reaches perception's "
                                       f"{read.low:.1%}")  # fmt: skip
    if read.low < NEAR_PERFECT:
        return Verdict(NOT_ESTIMABLE, f"perception's interval holds {NEAR_PERFECT:.0%}")
    return Verdict(NOT_ESTIMABLE, f"multiplication's upper bound {product.high:.1%} reaches perception's lower "
                                  f"bound {read.low:.1%}")  # fmt: skip


def preference_verdict(shares: Mapping[str, Estimate]) -> Verdict:
    """Claim 4, per normalisation: `shares` is each heuristic's share of the items it has the lowest loss on.
    Reproduced when PAPER_HEURISTIC's lower bound is above every other heuristic's upper bound, not reproduced when
    another heuristic's lower bound is above PAPER_HEURISTIC's upper bound."""
    paper = shares[PAPER_HEURISTIC]
    others = {name: share for name, share in shares.items() if name != PAPER_HEURISTIC}
    if all(paper.low > other.high for other in others.values()):
        return Verdict(REPRODUCED, f"{PAPER_HEURISTIC}'s lower bound {paper.low:.1%} is above every other "
                                   "heuristic's upper bound")  # fmt: skip
    for name, other in others.items():
        if other.low > paper.high:
            return Verdict(NOT_REPRODUCED, f"{name}'s lower bound {other.low:.1%} is above {PAPER_HEURISTIC}'s "
                                           f"upper bound {paper.high:.1%}")  # fmt: skip
    return Verdict(NOT_ESTIMABLE, f"{PAPER_HEURISTIC}'s interval overlaps another heuristic's")


def heuristic_shares(metrics: pd.DataFrame) -> dict[str, Estimate]:
    """Each heuristic's share of the probe's items whose lowest loss it has (columns prefers_OT, prefers_DD,
    prefers_RC: 0/1 per item), with Wilson's interval, as the Procedures view shows it."""
    return {h: Estimate(*share(metrics[f"prefers_{h}"])) for h in HEURISTICS}


def percent(estimate: Estimate) -> str:
    """A share as the view writes it: "2.5% [0.4%, 13.1%] (n=40)"."""
    return f"{estimate.value:.1%} [{estimate.low:.1%}, {estimate.high:.1%}] (n={estimate.n})"


def decimal(estimate: Estimate) -> str:
    """A non-share measure as the view writes it: "0.412 [0.351, 0.470] (n=120)"."""
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}] (n={estimate.n})"
