"""Statistics of correctness against arithmetic load: logistic fits, C50, binned accuracy, paired gaps.

No Gradio here: the Space's views and the tests call these functions on plain arrays.

The logistic model is P(correct) = 1 / (1 + exp(-(b0 + b1 * x))). C50 = -b0 / b1 is the load at
which the fitted accuracy crosses 50%; its 95% interval comes from the delta method on the
fitted covariance of (b0, b1).

statsmodels is imported where it is used: it takes about a second to import, and the Space's
first page (the table, from stored fits) needs none of it.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
PREDICTORS: dict[str, str] = {
    "C": "C = digit_total x nonzero_total",
    "digit_total": "total digits",
    "nonzero_total": "total non-zero digits",
    "digit_steps": "digits_a x digits_b (long-multiplication steps)",
    "nonzero_steps": "nonzero_a x nonzero_b (non-zero partial products)",
}


class NotEstimable(ValueError):
    """The data cannot support the fit (one class only, or perfect separation); the message says why."""


@dataclass(frozen=True)
class LogisticFit:
    intercept: float
    slope: float
    intercept_se: float
    slope_se: float
    c50: float | None
    c50_low: float | None
    c50_high: float | None
    pseudo_r2: float
    aic: float
    n: int

    def predict(self, x: Sequence[float] | np.ndarray) -> np.ndarray:
        """Fitted probability of a correct answer at each load."""
        return 1.0 / (1.0 + np.exp(-(self.intercept + self.slope * np.asarray(x, dtype=float))))


def fit_logistic(
    x: Sequence[float] | np.ndarray,
    correct: Sequence[int] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> LogisticFit:
    """Maximum-likelihood logistic regression of correctness (0/1) on one predictor.

    `weights` are frequencies: a row (x, y, w) counts as w items, so counts aggregated per load
    value give exactly the fit of the items themselves (the board stores such counts).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(correct, dtype=float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    if not len(x) == len(y) == len(w):
        raise ValueError(f"{len(x)} loads, {len(y)} outcomes and {len(w)} weights: they must be as many")
    x, y, w = x[w > 0], y[w > 0], w[w > 0]
    if w.sum() < 3 or len(np.unique(y)) < 2:
        raise NotEstimable("a logistic fit needs both correct and wrong answers")
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning
    from statsmodels.tools.tools import add_constant

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            warnings.simplefilter("error", PerfectSeparationWarning)
            model = GLM(y, add_constant(x, has_constant="add"), family=Binomial(), freq_weights=w)
            result = model.fit(maxiter=200)
    except (np.linalg.LinAlgError, ConvergenceWarning, PerfectSeparationWarning) as error:
        raise NotEstimable(
            f"the fit did not converge ({type(error).__name__}): the outcomes separate by load"
        ) from None
    b0, b1 = (float(v) for v in result.params)
    cov = np.asarray(result.cov_params())
    if not np.all(np.isfinite(cov)) or abs(b1) < 1e-12:
        raise NotEstimable("accuracy does not vary with the load (perfect separation or a flat fit)")
    c50 = -b0 / b1
    gradient = np.array([-1.0 / b1, b0 / b1**2])
    half = Z95 * math.sqrt(float(gradient @ cov @ gradient))
    return LogisticFit(
        intercept=b0,
        slope=b1,
        intercept_se=float(math.sqrt(cov[0, 0])),
        slope_se=float(math.sqrt(cov[1, 1])),
        c50=c50,
        c50_low=c50 - half,
        c50_high=c50 + half,
        pseudo_r2=float(result.pseudo_rsquared(kind="mcf")),
        aic=float(result.aic),
        n=int(w.sum()),
    )


def counts_as_outcomes(
    x: Sequence[float] | np.ndarray, n: Sequence[int] | np.ndarray, correct: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts per load value (n items, `correct` of them right) as weighted 0/1 outcomes for the fits."""
    x, n, correct = (np.asarray(v) for v in (x, n, correct))
    return np.concatenate([x, x]), np.repeat([1, 0], len(x)), np.concatenate([correct, n - correct])


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    n: int
    correct: int
    accuracy: float
    wilson_low: float
    wilson_high: float


def wilson(correct: int, n: int) -> tuple[float, float]:
    """The Wilson score 95% interval of a proportion."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(correct, n, alpha=0.05, method="wilson")
    return float(low), float(high)


def binned_accuracy(
    x: Sequence[float] | np.ndarray,
    correct: Sequence[int] | np.ndarray,
    edges: Sequence[float],
    weights: Sequence[float] | np.ndarray | None = None,
) -> list[Bin]:
    """Accuracy with a Wilson interval in each [edges[i], edges[i+1]) bin (the last bin is closed).

    `weights` are frequencies, as in `fit_logistic`.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(correct, dtype=int)
    w = np.ones(len(y), dtype=int) if weights is None else np.asarray(weights, dtype=int)
    bins = []
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        inside = (x >= low) & ((x <= high) if i == len(edges) - 2 else (x < high))
        n, k = int(w[inside].sum()), int((w * y)[inside].sum())
        if n:
            bins.append(Bin(low, high, n, k, k / n, *wilson(k, n)))
    return bins


@dataclass(frozen=True)
class PairedGap:
    """Two channels on the same problems: how often each alone was right, and McNemar's test."""

    n: int
    both: int
    only_first: int
    only_second: int
    neither: int
    statistic: float
    p_value: float

    @property
    def accuracy_gap(self) -> float:
        return (self.only_first - self.only_second) / self.n


def paired_gap(first: Sequence[int] | np.ndarray, second: Sequence[int] | np.ndarray) -> PairedGap:
    """McNemar's test on paired correctness (exact binomial when fewer than 25 discordant pairs)."""
    a = np.asarray(first, dtype=bool)
    b = np.asarray(second, dtype=bool)
    if len(a) != len(b) or not len(a):
        raise ValueError("paired_gap needs two equally long, non-empty outcome lists")
    table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
    discordant = table[0][1] + table[1][0]
    from statsmodels.stats.contingency_tables import mcnemar

    result = mcnemar(table, exact=discordant < 25, correction=True)
    return PairedGap(
        n=len(a),
        both=table[0][0],
        only_first=table[0][1],
        only_second=table[1][0],
        neither=table[1][1],
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
    )


def predictor_values(items: pd.DataFrame) -> pd.DataFrame:
    """Every candidate predictor of PREDICTORS for each item (columns of the dataset's problem fields)."""
    return pd.DataFrame(
        {
            "C": items["C"],
            "digit_total": items["digit_total"],
            "nonzero_total": items["nonzero_total"],
            "digit_steps": items["digits_a"] * items["digits_b"],
            "nonzero_steps": items["nonzero_a"] * items["nonzero_b"],
        }
    )


def compare_predictors(items: pd.DataFrame, correct: Sequence[int] | np.ndarray) -> pd.DataFrame:
    """McFadden pseudo-R^2 and AIC of a one-predictor logistic fit for each predictor, best first."""
    values = predictor_values(items)
    rows = []
    for name, description in PREDICTORS.items():
        try:
            fit = fit_logistic(values[name], correct)
        except NotEstimable:
            continue
        rows.append({"predictor": name, "description": description, "pseudo_r2": fit.pseudo_r2, "aic": fit.aic})
    table = pd.DataFrame(rows, columns=["predictor", "description", "pseudo_r2", "aic"])
    return table.sort_values("aic").reset_index(drop=True)
