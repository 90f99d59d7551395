"""How the page writes the board's numbers: the shown columns, percentages, rounding, the CSV, escaped text.

Every text a submitter typed is escaped before plotly sees it (plotly renders <a>, <b> and <br> in legends,
titles and hover text); the CSV guards cells a spreadsheet would read as a formula.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

import pandas as pd

from dataset_builder.configs import STIMULUS_CONFIGS
from dataset_builder.problems import BASE
from mmmult.leaderboard.display.columns import BAND_COLUMNS, CHOOSABLE_COLUMNS, FORMS, LABELS, RANKED
from mmmult.leaderboard.intake.names import csv_cell
from mmmult.leaderboard.intake.status import Status
from mmmult.leaderboard.storage.summary import scope_configs


def shown_columns(
    chosen: Iterable[str],
    modality: str,
    representation: str,
    built: Iterable[str] = STIMULUS_CONFIGS,
    problem_set: str = BASE,
) -> list[str]:
    """Rank and model, then the chosen columns in table order, without configs outside the scope (of its problem
    set) or that the board's builds do not hold (`built`), nor C bands of the other problem set."""
    outside = set(RANKED) - (set(scope_configs(modality, representation, problem_set)) & set(built))
    outside |= {f"{config} read" for config in outside}
    outside |= {band for name, bands in BAND_COLUMNS.items() if name != problem_set for band in bands}
    outside -= set(BAND_COLUMNS[problem_set])  # the anchor bands 101-200 and 201-324 belong to both sets
    wanted = set(chosen)
    return ["rank", "model", *(c for c in CHOOSABLE_COLUMNS if c in wanted and c not in outside)]


def display(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the page shows it: named columns, percentages with one decimal and the score's interval,
    self-reported cells marked with a dagger, a cascade's parts beside its model name, and every text escaped by
    the page (never rendered as markup)."""
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        values, form = table[column], FORMS.get(column)
        if column not in LABELS:
            continue
        if form == "percent":
            marks = table.get(f"{column} self-reported", pd.Series(False, index=table.index)).eq(True)
            text = [
                "" if pd.isna(v) else f"{100 * v:.1f}{'†' if mark else ''}"
                for v, mark in zip(values, marks, strict=True)
            ]
            if column == "score":
                text = [
                    cell + ("" if pd.isna(low) else f" [{100 * low:.1f}, {100 * high:.1f}]")
                    for cell, low, high in zip(text, table["score_low"], table["score_high"], strict=True)
                ]
            out[LABELS[column]] = pd.Series(text, index=table.index, dtype=object)
        elif column == "model" and "system" in table:
            out[LABELS[column]] = [
                name if not system else f"{name} ({system})"
                for name, system in zip(values, table["system"], strict=True)
            ]
        else:
            out[LABELS[column]] = values.map(FORMATS.get(form, _text))
    return out


def _text(value: object) -> object:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


FORMATS = {
    "status": lambda v: "" if pd.isna(v) else Status(v).text,
    "decimals4": lambda v: "" if pd.isna(v) else f"{v:.4f}",
    "decimals3": lambda v: "" if pd.isna(v) else f"{v:.3f}",
    "params": lambda v: "" if pd.isna(v) else f"{v:g}",
    "whole": lambda v: "" if pd.isna(v) else f"{v:.0f}",
    "yes/no": {True: "yes", False: "no"}.get,
}
"""How each column form is written (percent cells, which carry marks and the score's interval, apart)."""


def csv_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The view for download: full precision, the same rows as the page, text cells guarded against formulas."""
    return table.map(csv_cell)


def rounded(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A small analysis table for display: floats to `digits` decimals, never "-0.0"."""
    out = frame.round({c: digits for c in frame.columns if pd.api.types.is_float_dtype(frame[c])})
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column] + 0.0  # -0.0 + 0.0 is 0.0
    return out


def escaped(text: object) -> str:
    """Text for plotly: markup shown as characters, never as an element or a link."""
    return html.escape(str(text), quote=False)
