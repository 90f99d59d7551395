"""The leaderboard's view: its filters, the page URL that carries them, and the rows they select (no Gradio here).

The browser writes the view into the URL (URL_SYNC_JS, before each refresh) and the page reads it back on
load (`Filters.from_query`); a value a hand-edited URL cannot parse falls back to the default.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from dataset_builder.configs import MODALITIES, REPRESENTATIONS
from dataset_builder.problems import BASE, PROBLEM_SETS
from dataset_builder.tasks import REGIMES, WORKED
from mmmult.leaderboard.display.columns import CHOOSABLE_COLUMNS, DEFAULT_COLUMNS, SORTABLE
from mmmult.leaderboard.intake.rescore import SPLITS, TEST
from mmmult.leaderboard.storage.summary import ALL

OPENNESS = ("all", "open", "proprietary")
MAX_TEXT = 200
"""The longest search text or model name a URL may set."""


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _shown(number: float | None) -> str:
    """A parameter bound as its box shows it: 50.0 as "50", none as empty."""
    return "" if number is None else f"{number:g}"


@dataclass(frozen=True)
class Filters:
    """The leaderboard's view. The page's URL carries it: URL_SYNC_JS writes, `from_query` reads."""

    q: str = ""
    family: tuple[str, ...] = ()
    weights: str = "all"
    regime: str = WORKED
    """The regime whose runs the table ranks (REGIMES): never both at once."""
    problem_set: str = BASE
    """The problem set whose configs the table ranks (PROBLEM_SETS: base, or extended where the board serves its
    build): never both at once."""
    split: str = TEST
    """The split whose runs the table ranks (SPLITS: test, or the base set's mini split): never both at once."""
    modality: str = ALL
    representation: str = ALL
    min_params: float | None = None
    max_params: float | None = None
    every: bool = False
    self_reported: bool = False
    differing: bool = False
    """Add runs whose generation settings differ from what their tasks declare (intake/provenance.py)."""
    sort: str = "rank"
    descending: bool = False
    columns: tuple[str, ...] = ()
    model: str = ""

    @classmethod
    def of(cls, values: Iterable[object]) -> Filters:
        """The view from the page's controls, in URL_KEYS order (empty controls give the defaults)."""
        given = dict(zip(URL_KEYS, values, strict=True))
        defaults = cls()
        return cls(
            q=str(given["q"] or ""),
            family=tuple(given["family"] or ()),
            weights=str(given["weights"] or defaults.weights),
            regime=str(given["regime"] or defaults.regime),
            problem_set=str(given["problem_set"]) if given["problem_set"] in PROBLEM_SETS else defaults.problem_set,
            split=str(given["split"]) if given["split"] in SPLITS else defaults.split,
            modality=str(given["modality"] or defaults.modality),
            representation=str(given["representation"] or defaults.representation),
            min_params=_number(str(given["min_params"])) if given["min_params"] is not None else None,
            max_params=_number(str(given["max_params"])) if given["max_params"] is not None else None,
            every=bool(given["every"]),
            self_reported=bool(given["self_reported"]),
            differing=bool(given["differing"]),
            sort=str(given["sort"] or defaults.sort),
            descending=bool(given["descending"]),
            columns=tuple(given["columns"] or ()),
            model=str(given["model"] or ""),
        )

    def controls(self) -> list[object]:
        """The page's control values that show this view, in URL_KEYS order (what `of` reads back): lists for
        the multiple choices, a size bound as its box shows it, the default columns where none are chosen."""
        values = {field.name: getattr(self, field.name) for field in fields(self)}
        values["columns"] = self.columns or DEFAULT_COLUMNS
        return [
            list(value) if isinstance(value, tuple | list) else _shown(value) if key.endswith("_params") else value
            for key, value in values.items()
        ]

    @classmethod
    def from_query(cls, pairs: Iterable[tuple[str, str]]) -> Filters:
        """Filters from URL query pairs; unknown keys and values that do not parse are ignored."""
        filters = cls()
        families: list[str] = []
        columns: list[str] = []
        for key, value in pairs:
            if key == "family":
                families.extend(f for f in value.split(",") if f)
            elif key == "columns":
                columns.extend(c for c in value.split(",") if c in CHOOSABLE_COLUMNS)
            elif key in ("q", "model"):
                filters = replace(filters, **{key: value[:MAX_TEXT]})
            elif value in CHOICES.get(key, ()):
                filters = replace(filters, **{key: value})
            elif key in ("min_params", "max_params") and _number(value) is not None:
                filters = replace(filters, **{key: _number(value)})
            elif key in ("every", "self_reported", "differing", "descending"):
                filters = replace(filters, **{key: value in ("1", "true")})
        return replace(filters, family=tuple(families), columns=tuple(columns))


CHOICES: dict[str, tuple[str, ...]] = {
    "weights": OPENNESS,
    "regime": REGIMES,
    "problem_set": tuple(PROBLEM_SETS),
    "split": SPLITS,
    "modality": (ALL, *MODALITIES),
    "representation": (ALL, *REPRESENTATIONS),
    "sort": tuple(SORTABLE),
}
"""The values a URL may give the view's closed choices; anything else leaves the default."""
URL_KEYS = [field.name for field in fields(Filters)]
_URL_DEFAULTS = {
    key: ",".join(value) if isinstance(value, list) else value
    for key, value in zip(URL_KEYS, Filters().controls(), strict=True)
    if value
}
URL_SYNC_JS = f"""
(...values) => {{
  const keys = {json.dumps(URL_KEYS)};
  const defaults = {json.dumps(_URL_DEFAULTS)};
  const params = new URLSearchParams();
  keys.forEach((key, i) => {{
    let value = values[i];
    if (Array.isArray(value)) value = value.join(",");
    if (value === true) value = "1";
    if (value === null || value === undefined || value === false || value === "" || defaults[key] === value) return;
    params.set(key, String(value));
  }});
  const query = params.toString();
  window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  return values;
}}
"""
"""Runs in the browser before each refresh: writes the view (in URL_KEYS order) into the URL, leaving out
the defaults (those of Filters, so the two cannot drift apart)."""


def why_no_rows(filters: Filters) -> str:
    """One line for the page where the view cannot hold a row whatever the board stores; empty otherwise."""
    if filters.split != TEST and filters.problem_set != BASE:
        return (f"The {filters.problem_set} set has no ranked {filters.split} split (the board refuses its runs): "
                f"choose the test split, or the {BASE} set.")  # fmt: skip
    return ""


def filter_table(table: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Rows whose model contains the search text (any case), in the chosen families, weights and size range,
    sorted as asked (ties by model). A size bound leaves out models whose parameter count is not known."""
    rows = table
    if filters.q:
        rows = rows[rows["model"].str.contains(filters.q, case=False, regex=False)]
    if filters.family:
        rows = rows[rows["family"].isin(filters.family)]
    if filters.weights in ("open", "proprietary"):
        rows = rows[rows["open"] == (filters.weights == "open")]
    if filters.min_params is not None:
        rows = rows[rows["params_b"] >= filters.min_params]
    if filters.max_params is not None:
        rows = rows[rows["params_b"] <= filters.max_params]
    key = filters.sort if filters.sort in rows.columns else "rank"
    if key in ("C50", "step_error"):  # sort by the estimate, not by its text
        order = rows[key].map(_c50_value if key == "C50" else _step_error_value)
        return rows.iloc[np.lexsort((rows["model"].to_numpy(), _sortable(order, filters.descending)))]
    return rows.iloc[np.lexsort((rows["model"].to_numpy(), _sortable(rows[key], filters.descending)))]


def _sortable(values: pd.Series, descending: bool) -> np.ndarray:
    """Sort keys with missing values last in either direction."""
    if pd.api.types.is_numeric_dtype(values) or values.dtype == "Int64":
        numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        numbers = -numbers if descending else numbers
        return np.where(np.isnan(numbers), np.inf, numbers)
    text = values.fillna("").astype(str).str.lower()
    codes = pd.Series(pd.Categorical(text, categories=sorted(set(text))).codes, index=values.index).astype(float)
    codes = -codes if descending else codes
    return np.where(values.isna(), np.inf, codes.to_numpy())


def _c50_value(text: str) -> float:
    """The number a C50 text starts with; bounds sort at their bound, "n/a" last."""
    head = str(text).split(" [")[0].lstrip("<> ")
    try:
        return float(head)
    except ValueError:
        return math.nan


def _step_error_value(text: str) -> float:
    """The p of a per-step error text ("DD 0.031 [0.027, 0.035]"); empty last."""
    try:
        return float(str(text).split(" ")[1])
    except (IndexError, ValueError):
        return math.nan
