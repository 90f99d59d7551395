"""The leaderboard table's columns in one record each: the board computes them in this order, the views label,
format, offer and sort them from the same record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dataset_builder.configs import EXTENDED_CONFIGS, STIMULUS_CONFIGS
from dataset_builder.problems import ALL_BANDS, BASE, PROBLEM_SETS


@dataclass(frozen=True)
class Column:
    """One column of the board's table."""

    name: str
    label: str | None
    """What the page calls it; None for a column the table keeps for its own use and never shows."""
    form: str = "text"
    """How the page writes it: percent, decimals4, decimals3, params, whole, yes/no, status or text."""
    default: bool = True
    """Shown until a visitor picks the columns."""
    fixed: bool = False
    """Always shown, first (rank and model)."""


RANKED = (*STIMULUS_CONFIGS, *EXTENDED_CONFIGS)
"""The configs with a column: the base set's and the extended set's (a view shows its own set's)."""


def _per_config(suffix: str, label: str, default: bool) -> tuple[Column, ...]:
    return tuple(Column(f"{c}{suffix}", f"{c}{label} %", "percent", default) for c in RANKED)


def band_column(band: tuple[int, int]) -> str:
    """The column of accuracy in one C band of the view's scope: "C 325-625"."""
    return f"C {band[0]}-{band[1]}"


TABLE: tuple[Column, ...] = (
    Column("rank", "Rank", fixed=True),
    Column("model", "Model", fixed=True),
    Column("family", "Family"),
    Column("params_b", "Params (B)", "params"),
    Column("open", "Open weights", "yes/no"),
    Column("status", "Checked", "status"),
    Column("regime", "Regime"),
    Column("problem_set", "Problem set"),
    Column("split", "Split"),
    Column("coverage", "Configs"),
    Column("score", "Score %", "percent"),
    Column("score_low", None),
    Column("score_high", None),
    *_per_config("", "", default=True),
    Column("perception", "Perception %", "percent"),
    *_per_config(" read", " read", default=False),
    *(Column(band_column(band), f"{band_column(band)} %", "percent", default=False) for band in ALL_BANDS),
    Column("C50", "C50 [95% CI]"),
    Column("step_error", "Per-step error [95% CI]"),
    Column("median_response", "Median response (chars)", "whole"),
    Column("slope", "Slope per C", "decimals4", default=False),
    Column("slope_se", "Slope SE", "decimals4", default=False),
    Column("lpm_r2", "LPM R² (C)", "decimals3", default=False),
    Column("aggregate_r2", "R² per C value", "decimals3", default=False),
    Column("pseudo_r2", "McFadden pseudo-R²", "decimals3", default=False),
    Column("settings", "Settings"),
    Column("harness", "Harness", default=False),
    Column("system", "System", default=False),
    Column("max_gen_toks", "Max gen. tokens", default=False),
    Column("submissions", "Runs"),
    Column("submitter", "Submitter", default=False),
    Column("link", "Link", default=False),
    Column("submission_id", None),
    *(Column(f"{c} self-reported", None) for c in RANKED),
)
COLUMNS = [column.name for column in TABLE]
"""The board's table, in order."""
FIT_COLUMNS = ["C50", "step_error", "slope", "slope_se", "lpm_r2", "aggregate_r2", "pseudo_r2"]
LABELS = {column.name: column.label for column in TABLE if column.label}
FORMS = {column.name: column.form for column in TABLE}
CHOOSABLE_COLUMNS = [column.name for column in TABLE if column.label and not column.fixed]
DEFAULT_COLUMNS = [column.name for column in TABLE if column.label and not column.fixed and column.default]
SORTABLE = [column.name for column in TABLE if column.label]
BAND_COLUMNS = {name: tuple(band_column(band) for band in spec.bands) for name, spec in PROBLEM_SETS.items()}
"""Each problem set's band columns: its table shows them by default (default_columns), the other set's never."""


def default_columns(problem_set: str, chosen: Sequence[str] = ()) -> list[str]:
    """The columns a view shows: those chosen, or until a visitor picks others than the defaults, the defaults and,
    in the extended set, its bands (its reason to exist: accuracy beyond C 324).

    >>> default_columns("extended")[-4:] == DEFAULT_COLUMNS[-4:], "C 2026-3600" in default_columns("extended")
    (True, True)
    """
    if chosen and set(chosen) != set(DEFAULT_COLUMNS):
        return list(chosen)
    bands = BAND_COLUMNS[problem_set] if problem_set != BASE else ()
    return [name for name in CHOOSABLE_COLUMNS if name in DEFAULT_COLUMNS or name in bands]
