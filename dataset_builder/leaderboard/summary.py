"""What the board needs of a submission, computed once when it is ingested.

Item-level results stay in the store for the per-model analyses, but the table and the family
plots read two small summaries instead, so the board stays fast with hundreds of submissions:

- load cells: per config and value of C, how many problems were multiplied and read, and how
  many of each were right (the logistic model depends on C alone, so counts per C value give
  exactly the fit of the items);
- scope fits: the logistic fit of correctness on C over every scope the board can filter to
  (all configs, one modality, one representation, one config).
"""

from __future__ import annotations

import math

import pandas as pd

from ..configs import CONFIGS, MODALITIES, REPRESENTATIONS, STIMULUS_CONFIGS
from .analysis import NotEstimable, counts_as_outcomes, fit_logistic

ALL = "all"


def scope_configs(modality: str = ALL, representation: str = ALL) -> tuple[str, ...]:
    """The configs a modality / representation choice covers ("all" for either means no restriction)."""
    return tuple(
        c
        for c in STIMULUS_CONFIGS
        if modality in (ALL, CONFIGS[c].modality) and representation in (ALL, CONFIGS[c].representation)
    )


def scope_name(modality: str = ALL, representation: str = ALL) -> str:
    """The key under which a scope's fit is stored: "all", "image", "words" or "image-words"."""
    if modality == ALL:
        return representation
    return modality if representation == ALL else f"{modality}-{representation}"


SCOPES: dict[str, tuple[str, ...]] = {
    scope_name(m, r): scope_configs(m, r)
    for m in (ALL, *MODALITIES)
    for r in (ALL, *REPRESENTATIONS)
    if scope_configs(m, r)
}
CELL_COLUMNS = ["config", "C", "n", "correct", "read_n", "read", "read_correct"]
FIT_STATS = ["C50", "C50_low", "C50_high", "slope", "pseudo_r2"]
FIT_COLUMNS = ["scope", "n", "correct", *FIT_STATS]


def load_cells(items: pd.DataFrame) -> pd.DataFrame:
    """Counts per (config, C) from re-scored items with columns config, kind, problem_id, C, correct.

    n / correct count the multiplication items, read_n / read the perception items and those read
    exactly, read_correct the problems both read exactly and multiplied correctly, so that
    P(correct | read) = read_correct / read where a config has both tasks.
    """
    if items.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    keys = ["config", "problem_id", "C"]
    multiply = items.loc[items["kind"] == "multiply", [*keys, "correct"]]
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
    return cells.reset_index().astype({c: int for c in CELL_COLUMNS[1:]})[CELL_COLUMNS]


def scope_fits(cells: pd.DataFrame) -> pd.DataFrame:
    """Accuracy and the logistic fit on C of the multiplication items in every scope that has any."""
    rows = []
    for scope, configs in SCOPES.items():
        chosen = cells[cells["config"].isin(configs) & (cells["n"] > 0)]
        if chosen.empty:
            continue
        per_c = chosen.groupby("C")[["n", "correct"]].sum().reset_index()
        rows.append(
            {"scope": scope, "n": int(per_c["n"].sum()), "correct": int(per_c["correct"].sum())} | fit_cells(per_c)
        )
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def fit_cells(per_c: pd.DataFrame) -> dict[str, float]:
    """C50 with its interval, slope and pseudo-R^2 from counts per C (NaN where no fit exists)."""
    try:
        fit = fit_logistic(*counts_as_outcomes(per_c["C"], per_c["n"], per_c["correct"]))
    except NotEstimable:
        return {"C50": math.nan, "C50_low": math.nan, "C50_high": math.nan, "slope": math.nan, "pseudo_r2": math.nan}
    return {
        "C50": fit.c50,
        "C50_low": fit.c50_low,
        "C50_high": fit.c50_high,
        "slope": fit.slope,
        "pseudo_r2": fit.pseudo_r2,
    }
