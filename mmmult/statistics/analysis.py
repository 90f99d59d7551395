"""Statistics of correctness against arithmetic load; every interval here is checked by simulation.

No Gradio here: the board's views and the tests call these functions on plain arrays. What each
number means, in one place for the board's readers, is in space/README.md ("What the numbers
mean"); benchmarks/statistics.py measures the coverage of every interval on simulated models
with a known truth, and tests/test_statistics.py runs a small version of it.

- Logistic fit of correctness on C, P(correct) = 1 / (1 + exp(-(b0 + b1 C))), with a covariance
  clustered by problem: a scope that pools several configs holds several outcomes of the same
  problem, which are not independent.
- C50 = -b0 / b1, the load at which fitted accuracy crosses 50%, with Fieller's interval (which
  is unbounded when the slope is not significant). It is shown as a number only when the slope
  is significantly negative and C50 lies inside the C range of the data, and its interval only
  within that range ("below 16" where the lower bound falls under the smallest C tested).
- Accuracy and binned accuracy with Wilson intervals, widened for clustering by the design effect
  (Kish's effective sample size): with one outcome per problem they are Wilson's own.
- The paper's linear probability models: R^2 of correctness on C alone, and on total digits,
  total non-zero digits and C with heteroskedasticity-robust (clustered) standard errors.
- Paired comparisons: McNemar's test with Holm's correction, and Bonett and Price's adjusted
  Wald interval for a paired difference of proportions.

statsmodels is imported where it is used: it takes about a second to import, and the board's
first page (the table, from stored summaries) needs none of it.
"""

from __future__ import annotations

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
    "digit_steps": "digits_a x digits_b (long-multiplication digit products)",
    "nonzero_steps": "nonzero_a x nonzero_b (non-zero digit products)",
    "partial_products": "min(nonzero_a, nonzero_b) (non-zero partial products of the shorter multiplier)",
    "addition_steps": "(partial products - 1) x digit_total (digit additions that combine them)",
}
INDISTINGUISHABLE_AIC = 2.0
"""Predictors whose AIC is within this of the best one fit the data about as well (Burnham and Anderson)."""

Array = Sequence[float] | np.ndarray


class NotEstimable(ValueError):
    """The data cannot support the fit (one class only, or perfect separation); the message says why."""


@dataclass(frozen=True)
class C50:
    """The load at which fitted accuracy crosses 50%, as the board may state it.

    `status` is "estimate" (a number with its Fieller interval; `low` or `high` is None where the
    interval is unbounded), "below" or "above" (significantly falling, but crossing 50% outside
    the data's C range), or "n/a" (no significant fall with C).
    """

    status: str
    value: float | None
    low: float | None
    high: float | None
    c_min: float
    c_max: float

    @property
    def text(self) -> str:
        """C50 as the table, the CSV, the plot and the model page all show it (the one place that writes it)."""
        if self.status == "estimate":
            return f"{self.value:.0f} [{self.interval}]"
        if self.status == "below":
            return f"< {self.c_min:.0f}"
        if self.status == "above":
            return f"> {self.c_max:.0f}"
        return "n/a"

    @property
    def interval(self) -> str:
        """Fieller's interval bounded to what the data can say: a bound past the C range tested (or unbounded)
        is not a number the data supports, so "[-2, 16]" with C from 4 reads "below 16", "[61, 400]" with C up to
        324 reads "above 61", and an interval past both ends reads "all of 4-324".

        >>> C50("estimate", 11.2, -2.4, 16.1, 4, 324).interval
        'below 16'
        """
        below = self.low is None or self.low < self.c_min
        above = self.high is None or self.high > self.c_max
        if below and above:
            return f"all of {self.c_min:.0f}-{self.c_max:.0f}"
        if below:
            return f"below {self.high:.0f}"
        if above:
            return f"above {self.low:.0f}"
        return f"{self.low:.0f}, {self.high:.0f}"


@dataclass(frozen=True)
class LogisticFit:
    intercept: float
    slope: float
    cov: tuple[tuple[float, float], tuple[float, float]]
    pseudo_r2: float
    """McFadden's pseudo-R^2 (not the paper's R^2: see lpm)."""
    aic: float
    n: int
    c_min: float
    c_max: float

    @property
    def intercept_se(self) -> float:
        return math.sqrt(self.cov[0][0])

    @property
    def slope_se(self) -> float:
        return math.sqrt(self.cov[1][1])

    def predict(self, x: Array) -> np.ndarray:
        """Fitted probability of a correct answer at each load."""
        return 1.0 / (1.0 + np.exp(-(self.intercept + self.slope * np.asarray(x, dtype=float))))

    def c50(self, z: float = Z95) -> C50:
        """C50 with Fieller's interval, stated as the board may state it (see C50)."""
        b0, b1 = self.intercept, self.slope
        (v00, v01), (_, v11) = self.cov
        if b1 + z * self.slope_se >= 0:  # the slope is not significantly negative
            return C50("n/a", None, None, None, self.c_min, self.c_max)
        value = -b0 / b1
        if value < self.c_min:
            return C50("below", value, None, None, self.c_min, self.c_max)
        if value > self.c_max:
            return C50("above", value, None, None, self.c_min, self.c_max)
        low, high = fieller(b0, b1, v00, v01, v11, z)
        return C50("estimate", value, low, high, self.c_min, self.c_max)


def fieller(
    b0: float, b1: float, v00: float, v01: float, v11: float, z: float = Z95
) -> tuple[float | None, float | None]:
    """Fieller's interval for -b0/b1: the thetas with (b0 + theta b1)^2 <= z^2 Var(b0 + theta b1).

    Bounded when b1 is significant (b1^2 > z^2 v11); otherwise unbounded, returned as (None, None).
    """
    a = b1 * b1 - z * z * v11
    b = 2 * (b0 * b1 - z * z * v01)
    c = b0 * b0 - z * z * v00
    disc = b * b - 4 * a * c
    if a <= 0 or disc < 0:
        return None, None
    roots = sorted(((-b - math.sqrt(disc)) / (2 * a), (-b + math.sqrt(disc)) / (2 * a)))
    return roots[0], roots[1]


def fit_logistic(
    x: Array,
    correct: Array,
    weights: Array | None = None,
    groups: Sequence[object] | np.ndarray | None = None,
) -> LogisticFit:
    """Maximum-likelihood logistic regression of correctness (0/1) on one predictor.

    `weights` are frequencies: a row (x, y, w) counts as w items. `groups` names each row's
    problem: the covariance is then clustered by problem (pass it whenever a problem can appear
    more than once, as in a scope that pools configs).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(correct, dtype=float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    if not len(x) == len(y) == len(w):
        raise ValueError(f"{len(x)} loads, {len(y)} outcomes and {len(w)} weights: they must be as many")
    if groups is not None and weights is not None:
        raise ValueError("a fit clustered by problem takes one row per outcome, not weighted counts")
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    if w.sum() < 3 or len(np.unique(y)) < 2:
        raise NotEstimable("a logistic fit needs both correct and wrong answers")
    if len(np.unique(x)) < 2:
        raise NotEstimable("a logistic fit on C needs more than one value of C")
    design = np.column_stack([np.ones(len(x)), x])
    try:
        result, pseudo_r2 = _logit(design, y, w if weights is not None else None, groups, keep)
    except (np.linalg.LinAlgError, ValueError) as error:
        raise NotEstimable(
            f"the fit did not converge ({type(error).__name__}): the outcomes separate by load"
        ) from None
    cov = np.asarray(result.cov_params())
    if not np.all(np.isfinite(cov)) or not np.all(np.isfinite(result.params)):
        raise NotEstimable("the fit has no finite covariance (perfect separation)")
    b0, b1 = (float(v) for v in result.params)
    return LogisticFit(
        intercept=b0,
        slope=b1,
        cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        pseudo_r2=pseudo_r2,
        aic=float(result.aic),
        n=int(w.sum()),
        c_min=float(x.min()),
        c_max=float(x.max()),
    )


def _logit(design: np.ndarray, y: np.ndarray, weights: np.ndarray | None, groups: object, keep: np.ndarray):  # noqa: ANN202
    """The maximum-likelihood logistic fit and its McFadden pseudo-R^2.

    Item-level outcomes go through statsmodels' Logit, whose sandwich (clustered) covariance stays
    right near separation; statsmodels' GLM gave robust variances of 1e-84 there. Weighted counts
    (frequencies, never clustered) go through GLM, which takes frequency weights.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            if weights is not None:
                result = sm.GLM(y, design, family=sm.families.Binomial(), freq_weights=weights).fit(maxiter=200)
                return result, float(result.pseudo_rsquared(kind="mcf"))
            options: dict[str, object] = {}
            if groups is not None:
                codes = pd.factorize(np.asarray(groups, dtype=object)[keep])[0]
                options = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
            result = sm.Logit(y, design).fit(disp=0, method="newton", maxiter=100, **options)
        except (ConvergenceWarning, PerfectSeparationWarning) as error:
            raise ValueError(str(error)) from None
    if not result.mle_retvals.get("converged", True):
        raise ValueError("the likelihood did not converge")
    return result, mcfadden_r2(float(result.llf), y)


def mcfadden_r2(llf: float, y: np.ndarray) -> float:
    """McFadden's pseudo-R^2, 1 - llf / llnull, with the intercept-only log-likelihood in closed form
    (n1 log p + n0 log(1 - p) at the observed share p): statsmodels' `prsquared` refits that null model
    by Nelder-Mead, which took a third of a fit's time."""
    share = float(y.mean())
    return 1 - llf / (len(y) * (share * math.log(share) + (1 - share) * math.log(1 - share)))


def counts_as_outcomes(x: Array, n: Array, correct: Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts per load value (n items, `correct` of them right) as weighted 0/1 outcomes for the fits."""
    x, n, correct = (np.asarray(v) for v in (x, n, correct))
    return np.concatenate([x, x]), np.repeat([1, 0], len(x)), np.concatenate([correct, n - correct])


def wilson(correct: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (`n` may be an effective, non-integer sample size)."""
    if n <= 0:
        return math.nan, math.nan
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Proportion:
    """A share of correct outcomes with its 95% interval (Wilson, widened for clustered outcomes)."""

    correct: int
    n: int
    effective_n: float
    mean_x: float
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.correct / self.n


def clustered_proportion(correct: Array, groups: Sequence[object] | np.ndarray, x: Array | None = None) -> Proportion:
    """The share of correct outcomes and its interval when outcomes of one group (problem) may agree.

    The design effect, the variance of the cluster totals' ratio estimator over the binomial
    variance (at least 1), shrinks n to an effective sample size for Wilson's interval. With
    one outcome per group the interval is Wilson's own.
    """
    y = np.asarray(correct, dtype=float)
    frame = pd.DataFrame({"y": y, "g": np.asarray(groups, dtype=object)})
    totals = frame.groupby("g", sort=False)["y"].agg(["sum", "count"])
    n, k, clusters = len(y), float(y.sum()), len(totals)
    p = k / n
    effective = float(n)
    if 0 < p < 1 and clusters > 1 and clusters < n:
        residuals = totals["sum"] - p * totals["count"]
        clustered = clusters / (clusters - 1) * float((residuals**2).sum()) / n**2
        effective = n / max(1.0, clustered / (p * (1 - p) / n))
    low, high = wilson(k * effective / n, effective)
    mean_x = float(np.mean(np.asarray(x, dtype=float))) if x is not None else math.nan
    return Proportion(int(k), n, effective, mean_x, low, high)


def binned(x: Array, correct: Array, groups: Sequence[object] | np.ndarray, edges: Sequence[float]) -> list[Proportion]:
    """Accuracy in each [edges[i], edges[i+1]) bin (the last closed), placed at its items' mean load."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(correct, dtype=float)
    g = np.asarray(groups, dtype=object)
    bins = []
    for i in range(len(edges) - 1):
        last = i == len(edges) - 2
        inside = (x >= edges[i]) & ((x <= edges[i + 1]) if last else (x < edges[i + 1]))
        if inside.any():
            bins.append(clustered_proportion(y[inside], g[inside], x[inside]))
    return bins


@dataclass(frozen=True)
class LinearFit:
    """An ordinary least squares (linear probability) model with robust standard errors."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    r2: float
    n: int


def lpm(items: pd.DataFrame, regressors: Sequence[str], groups: str | None = None) -> LinearFit:
    """The paper's linear probability model: correct ~ regressors, by OLS, with HC1 (or clustered) errors."""
    import statsmodels.api as sm

    design = sm.add_constant(items[list(regressors)].astype(float), has_constant="add")
    model = sm.OLS(items["correct"].astype(float), design)
    if groups is None:
        result = model.fit(cov_type="HC1")
    else:
        result = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(items[groups])[0]})
    return LinearFit(
        names=("const", *regressors),
        coef=tuple(float(v) for v in result.params),
        se=tuple(float(v) for v in result.bse),
        r2=float(result.rsquared),
        n=int(result.nobs),
    )


def aggregate_r2(x: Array, correct: Array) -> float:
    """R^2 of accuracy per value of C regressed on C (one point per C value, as the paper plots them)."""
    frame = pd.DataFrame({"x": np.asarray(x, dtype=float), "y": np.asarray(correct, dtype=float)})
    per_value = frame.groupby("x")["y"].mean()
    if len(per_value) < 3 or per_value.var() == 0:
        return math.nan
    slope, intercept = np.polyfit(per_value.index.to_numpy(), per_value.to_numpy(), 1)
    fitted = intercept + slope * per_value.index.to_numpy()
    residual = float(((per_value.to_numpy() - fitted) ** 2).sum())
    total = float(((per_value - per_value.mean()) ** 2).sum())
    return 1.0 - residual / total


def predictor_values(items: pd.DataFrame) -> pd.DataFrame:
    """Every candidate predictor of PREDICTORS for each item (columns of the dataset's problem fields)."""
    partial = np.minimum(items["nonzero_a"], items["nonzero_b"])
    return pd.DataFrame(
        {
            "C": items["C"],
            "digit_total": items["digit_total"],
            "nonzero_total": items["nonzero_total"],
            "digit_steps": items["digits_a"] * items["digits_b"],
            "nonzero_steps": items["nonzero_a"] * items["nonzero_b"],
            "partial_products": partial,
            "addition_steps": (partial - 1) * items["digit_total"],
        }
    )


PREDICTOR_COLUMNS = ["predictor", "description", "pseudo_r2", "aic", "delta_aic", "indistinguishable"]


def compare_predictors(items: pd.DataFrame, correct: Array) -> pd.DataFrame:
    """McFadden pseudo-R^2 and AIC of a one-predictor logistic fit for each predictor, best first.

    delta_aic is the distance to the best AIC; predictors within INDISTINGUISHABLE_AIC of it are
    marked indistinguishable from the best.
    """
    values = predictor_values(items)
    rows = []
    for name, description in PREDICTORS.items():
        try:
            fit = fit_logistic(values[name], correct)
        except NotEstimable:
            continue
        rows.append({"predictor": name, "description": description, "pseudo_r2": fit.pseudo_r2, "aic": fit.aic})
    table = pd.DataFrame(rows, columns=PREDICTOR_COLUMNS[:4])
    table = table.sort_values("aic").reset_index(drop=True)
    table["delta_aic"] = table["aic"] - table["aic"].min() if len(table) else []
    table["indistinguishable"] = table["delta_aic"] <= INDISTINGUISHABLE_AIC
    return table[PREDICTOR_COLUMNS]


@dataclass(frozen=True)
class PairedGap:
    """Two channels (or two models) on the same problems: discordant counts, McNemar's test, the difference."""

    n: int
    both: int
    only_first: int
    only_second: int
    neither: int
    statistic: float
    p_value: float
    low: float
    high: float

    @property
    def accuracy_gap(self) -> float:
        """Accuracy of the first minus accuracy of the second."""
        return (self.only_first - self.only_second) / self.n


def paired_difference_interval(only_first: int, only_second: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Bonett and Price's (2012) adjusted Wald interval for a difference of paired proportions."""
    p12, p21 = (only_first + 1) / (n + 2), (only_second + 1) / (n + 2)
    diff = p12 - p21
    half = z * math.sqrt(max(0.0, p12 + p21 - diff * diff) / (n + 2))
    return max(-1.0, diff - half), min(1.0, diff + half)


def paired_gap(first: Array, second: Array) -> PairedGap:
    """McNemar's test on paired correctness (exact binomial when fewer than 25 discordant pairs)."""
    a = np.asarray(first, dtype=bool)
    b = np.asarray(second, dtype=bool)
    if len(a) != len(b) or not len(a):
        raise ValueError("paired_gap needs two equally long, non-empty outcome lists")
    table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
    discordant = table[0][1] + table[1][0]
    from statsmodels.stats.contingency_tables import mcnemar

    result = mcnemar(table, exact=discordant < 25, correction=True)
    low, high = paired_difference_interval(table[0][1], table[1][0], len(a))
    return PairedGap(
        n=len(a),
        both=table[0][0],
        only_first=table[0][1],
        only_second=table[1][0],
        neither=table[1][1],
        statistic=float(result.statistic),
        p_value=float(result.pvalue) if discordant else 1.0,
        low=low,
        high=high,
    )


def independent_difference(correct_1: int, n_1: int, correct_2: int, n_2: int) -> tuple[float, float, float]:
    """Difference of two independent proportions with Newcombe's hybrid score interval (statsmodels')."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(correct_1, n_1, correct_2, n_2, method="newcomb", compare="diff")
    return correct_1 / n_1 - correct_2 / n_2, float(low), float(high)


def holm(p_values: Array) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (its familywise error stays at the level)."""
    p = np.asarray(p_values, dtype=float)
    if not len(p):
        return p
    from statsmodels.stats.multitest import multipletests

    return multipletests(p, method="holm")[1]


def ranks(low: Array, high: Array) -> np.ndarray:
    """Rank with ties by overlapping intervals: 1 + the number of entries whose lower bound is above my upper bound.

    Entries whose intervals overlap may share a rank (as LMArena ranks models).

    >>> ranks([0.8, 0.5, 0.55], [0.9, 0.6, 0.65]).tolist()
    [1, 2, 2]
    """
    low_, high_ = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return np.array([1 + int((low_ > h).sum()) for h in high_])


@dataclass(frozen=True)
class Interaction:
    """How much a channel's effect on the log-odds changes per unit of C, from a GEE clustered by problem."""

    term: str
    estimate: float
    low: float
    high: float
    p_value: float


def channel_gap_growth(items: pd.DataFrame) -> list[Interaction]:
    """Does the gap between channels grow with load? Logistic GEE with problem clusters.

    correct ~ C + modality + representation + modality x C + representation x C (C in hundreds),
    with an exchangeable working correlation within each problem and robust (sandwich) errors,
    against text numerals. A negative "modality image x C" term means images fall faster with C.
    """
    baseline = {"modality": "text", "representation": "numerals"}
    load = items["C"].to_numpy(dtype=float) / 100.0
    columns: dict[str, np.ndarray] = {"const": np.ones(len(items)), "C": load}
    interactions = []
    for factor, base in baseline.items():
        for level in sorted(set(items[factor]) - {base}):
            indicator = (items[factor] == level).to_numpy(dtype=float)
            columns[f"{factor} {level}"] = indicator
            columns[f"{factor} {level} x C"] = indicator * load
            interactions.append(f"{factor} {level} x C")
    if not interactions or items["correct"].nunique() < 2:
        return []
    import statsmodels.api as sm
    from statsmodels.genmod.cov_struct import Exchangeable

    exog = pd.DataFrame(columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = sm.GEE(items["correct"].to_numpy(dtype=float), exog, groups=pd.factorize(items["problem_id"])[0],
                           family=sm.families.Binomial(), cov_struct=Exchangeable())  # fmt: skip
            result = model.fit()
        except (np.linalg.LinAlgError, ValueError):
            return []
    bounds = result.conf_int()
    return [
        Interaction(
            f"{term} (per 100 of C)",
            float(result.params[term]),
            float(bounds.loc[term, 0]),
            float(bounds.loc[term, 1]),
            float(result.pvalues[term]),
        )
        for term in interactions
        if np.isfinite(result.params[term])
    ]
