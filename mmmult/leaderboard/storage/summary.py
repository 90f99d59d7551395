"""What the board needs of a submission, computed once when it is ingested.

Item-level results stay in the store for the per-model analyses, but the table and the family
plots read three small summaries instead, so the board stays fast with hundreds of submissions. Each is
computed per regime (dataset_builder.tasks.REGIMES: worked or direct), never over both: a run of both
regimes has two sets of summaries, as if they were two runs.

- scope fits: for every scope the board can filter to (all configs of a problem set, one modality, one
  representation, one config; the base set's and the extended set's scopes apart, never pooled), the accuracy
  with its interval, the logistic fit on C with a covariance clustered by problem (C50 and its interval are
  derived from it when shown), the paper's LPM R^2 on C and the aggregate R^2 per C value, and the effective
  per-step error under the likeliest heuristic's step counts (step_error.py), and the median length of the
  responses;
- scope bins: accuracy per C band of each scope (its problem set's bands, problems.PROBLEM_SETS), at its items'
  mean C, with its interval;
- load cells: per config and value of C, how many problems were multiplied and read and how many
  of each were right, for the perception decomposition (the perception tasks are the same for both
  regimes: a run's readings are paired with each regime's products).

SUMMARY_VERSION names how these are computed: a store summarised by another version is
summarised again from its items when the board opens.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from dataset_builder.configs import CONFIGS, EXTENDED_CONFIGS, MODALITIES, REPRESENTATIONS, STIMULUS_CONFIGS
from dataset_builder.problems import BASE, EXTENDED, PROBLEM_SETS
from dataset_builder.tasks import REGIMES
from mmmult.statistics.analysis import (
    LogisticFit,
    NotEstimable,
    aggregate_r2,
    binned,
    clustered_proportion,
    fit_logistic,
)
from mmmult.statistics.step_error import likeliest_step_error

SUMMARY_VERSION = 5
ALL = "all"
RANKED_CONFIGS: dict[str, tuple[str, ...]] = {BASE: STIMULUS_CONFIGS, EXTENDED: EXTENDED_CONFIGS}
"""The configs the board ranks, by problem set: the base set's six and the extended set's six, never pooled."""


def scope_configs(modality: str = ALL, representation: str = ALL, problem_set: str = BASE) -> tuple[str, ...]:
    """The configs of a problem set that a modality / representation choice covers ("all" for either means no
    restriction)."""
    return tuple(
        c
        for c in RANKED_CONFIGS[problem_set]
        if modality in (ALL, CONFIGS[c].modality) and representation in (ALL, CONFIGS[c].representation)
    )


def scope_name(modality: str = ALL, representation: str = ALL, problem_set: str = BASE) -> str:
    """The key under which a scope's summary is stored: "all", "image", "words" or "image-words" in the base set,
    the same after "extended-" in the extended set ("extended-image-words" is the config's own name).

    >>> scope_name("image", "words"), scope_name(problem_set="extended")
    ('image-words', 'extended-all')
    """
    name = _channel_scope(modality, representation)
    return name if problem_set == BASE else f"{problem_set}-{name}"


def _channel_scope(modality: str, representation: str) -> str:
    if modality == ALL:
        return representation
    return modality if representation == ALL else f"{modality}-{representation}"


SCOPES: dict[str, tuple[str, ...]] = {
    scope_name(m, r, s): scope_configs(m, r, s)
    for s in RANKED_CONFIGS
    for m in (ALL, *MODALITIES)
    for r in (ALL, *REPRESENTATIONS)
    if scope_configs(m, r, s)
}


def bands_of(configs: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """The C bands of the problem set that a scope's configs belong to."""
    return PROBLEM_SETS[CONFIGS[configs[0]].problem_set].bands


CELL_COLUMNS = ["regime", "config", "C", "n", "correct", "read_n", "read", "read_correct"]
FIT_STATS = ["accuracy", "acc_low", "acc_high", "b0", "b1", "v00", "v01", "v11", "c_min", "c_max", "pseudo_r2",
             "lpm_r2", "aggregate_r2", "step_heuristic", "step_p", "step_low", "step_high",
             "median_response"]  # fmt: skip
FIT_COLUMNS = ["regime", "scope", "configs", "n", "correct", *FIT_STATS]
BIN_COLUMNS = ["regime", "scope", "band", "n", "correct", "effective_n", "mean_C", "low", "high"]


def regimes_of(items: pd.DataFrame) -> list[str]:
    """The regimes a run's items hold, in REGIMES order: those of its multiplication items, and the worked regime
    for a run of the perception tasks alone (they ask for no product, and take the tasks' default regime)."""
    multiply = set(items.loc[items["kind"] == "multiply", "regime"])
    present = multiply or set(items["regime"])
    return [regime for regime in REGIMES if regime in present]


def load_cells(items: pd.DataFrame) -> pd.DataFrame:
    """Counts per (regime, config, C) from re-scored items with columns regime, config, kind, problem_id, C,
    correct.

    n / correct count the multiplication items of the regime, read_n / read the perception items and those
    read exactly, read_correct the problems both read exactly and multiplied correctly, so that
    P(correct | read) = read_correct / read where a config has both tasks.
    """
    if items.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    frames = [_regime_cells(items, regime).assign(regime=regime) for regime in regimes_of(items)]
    return pd.concat(frames, ignore_index=True)[CELL_COLUMNS]


def _regime_cells(items: pd.DataFrame, regime: str) -> pd.DataFrame:
    keys = ["config", "problem_id", "C"]
    mine = (items["kind"] == "multiply") & (items["regime"] == regime)
    multiply = items.loc[mine, [*keys, "correct"]]
    perceive = items.loc[items["kind"] == "perceive", keys].assign(read=items["correct"])
    both = multiply.merge(perceive, on=keys, how="outer")
    both["read_correct"] = (both["correct"] == 1) & (both["read"] == 1)
    cells = both.groupby(["config", "C"]).agg(
        n=("correct", "count"),
        correct=("correct", "sum"),
        read_n=("read", "count"),
        read=("read", "sum"),
        read_correct=("read_correct", "sum"),
    )
    return cells.reset_index().astype({c: int for c in CELL_COLUMNS[2:]})


def scope_summaries(items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fits and bins of the multiplication items in every (regime, scope) that has any (problems are the
    clusters); the regimes are never pooled."""
    multiply = items[items["kind"] == "multiply"]
    fits, bins = [], []
    for regime in REGIMES:
        for scope, configs in SCOPES.items():
            chosen = multiply[(multiply["regime"] == regime) & multiply["config"].isin(configs)]
            if chosen.empty:
                continue
            present = ",".join(c for c in configs if c in set(chosen["config"]))
            fits.append({"regime": regime, "scope": scope, "configs": present} | scope_fit(chosen))
            for band, bin_ in zip(bands_of(configs), _bins(chosen, bands_of(configs)), strict=True):
                if bin_ is not None:
                    bins.append({"regime": regime, "scope": scope, "band": f"{band[0]}-{band[1]}", "n": bin_.n,
                                 "correct": bin_.correct, "effective_n": bin_.effective_n, "mean_C": bin_.mean_x,
                                 "low": bin_.low, "high": bin_.high})  # fmt: skip
    return pd.DataFrame(fits, columns=FIT_COLUMNS), pd.DataFrame(bins, columns=BIN_COLUMNS)


def _bins(items: pd.DataFrame, bands: tuple[tuple[int, int], ...]) -> list[Any]:
    """One entry per C band, None where the band holds no item (so bands stay aligned)."""
    out = []
    for low, high in bands:
        inside = items[(items["C"] >= low) & (items["C"] <= high)]
        out.append(
            binned(inside["C"], inside["correct"], inside["problem_id"], [low, high])[0] if len(inside) else None
        )
    return out


def scope_fit(items: pd.DataFrame) -> dict[str, Any]:
    """Accuracy, the clustered logistic fit, the R^2 measures, the per-step error and the median response length
    of one scope's items (with columns correct, C, problem_id, a, b and, where known, response_length; NaN where a
    fit does not exist or no length is known)."""
    y, x = items["correct"].to_numpy(dtype=float), items["C"].to_numpy(dtype=float)
    accuracy = clustered_proportion(y, items["problem_id"].to_numpy())
    row: dict[str, Any] = {"n": len(items), "correct": int(y.sum()), "accuracy": accuracy.value,
                           "acc_low": accuracy.low, "acc_high": accuracy.high}  # fmt: skip
    step = likeliest_step_error(list(zip(items["a"], items["b"], strict=True)), y, items["problem_id"].to_numpy())
    row |= {"step_heuristic": step.heuristic, "step_p": step.p, "step_low": step.low, "step_high": step.high}
    row |= dict.fromkeys(["b0", "b1", "v00", "v01", "v11", "pseudo_r2"], math.nan)
    row |= {"c_min": float(x.min()), "c_max": float(x.max()), "lpm_r2": _r2(x, y), "aggregate_r2": aggregate_r2(x, y)}
    row["median_response"] = median_length(items)
    try:
        fit = fit_logistic(x, y, groups=items["problem_id"].to_numpy())
    except NotEstimable:
        return row
    (v00, v01), (_, v11) = fit.cov
    return row | {"b0": fit.intercept, "b1": fit.slope, "v00": v00, "v01": v01, "v11": v11, "pseudo_r2": fit.pseudo_r2}


def median_length(items: pd.DataFrame) -> float:
    """The median response length (characters) of the items whose length is known; NaN where none is (items
    stored before lengths were kept)."""
    lengths = pd.to_numeric(items.get("response_length", pd.Series(dtype=float)), errors="coerce").dropna()
    return float(lengths.median()) if len(lengths) else math.nan


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of the linear probability model correct ~ C (the squared correlation; NaN without variation)."""
    if np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def stored_fit(row: pd.Series | dict[str, Any], n: int | None = None) -> LogisticFit | None:
    """The LogisticFit a stored scope row holds, or None when the scope had no fit."""
    if row["b1"] is None or (isinstance(row["b1"], float) and math.isnan(row["b1"])):
        return None
    return LogisticFit(
        intercept=float(row["b0"]),
        slope=float(row["b1"]),
        cov=((float(row["v00"]), float(row["v01"])), (float(row["v01"]), float(row["v11"]))),
        pseudo_r2=float(row["pseudo_r2"]),
        aic=math.nan,
        n=int(n if n is not None else row["n"]),
        c_min=float(row["c_min"]),
        c_max=float(row["c_max"]),
    )
