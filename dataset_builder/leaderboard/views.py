"""Table filters and plotly figures for the Space (no Gradio here either)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..configs import MODALITIES, REPRESENTATIONS, STIMULUS_CONFIGS
from ..scoring import C_BANDS
from .analysis import NotEstimable, binned_accuracy, compare_predictors, counts_as_outcomes, fit_logistic, paired_gap
from .board import COLUMNS, READ_COLUMNS
from .summary import ALL, scope_configs

C_EDGES = [low for low, _ in C_BANDS] + [C_BANDS[-1][1]]
CHOOSABLE_COLUMNS = [c for c in COLUMNS if c != "model"]
DEFAULT_COLUMNS = [c for c in CHOOSABLE_COLUMNS if c not in READ_COLUMNS and c != "submission_id"]
OPENNESS = ("all", "open", "proprietary")


@dataclass(frozen=True)
class Filters:
    """The leaderboard's filters. The page's URL carries them: URL_SYNC_JS writes, `from_query` reads."""

    q: str = ""
    family: tuple[str, ...] = ()
    weights: str = "all"
    modality: str = ALL
    representation: str = ALL
    min_params: float | None = None
    max_params: float | None = None
    every: bool = False

    @classmethod
    def from_query(cls, pairs: Iterable[tuple[str, str]]) -> Filters:
        """Filters from URL query pairs; unknown keys and values that do not parse are ignored."""
        filters = cls()
        families = []
        for key, value in pairs:
            if key == "family":
                families.extend(f for f in value.split(",") if f)
            elif key == "q":
                filters = replace(filters, q=value)
            elif key == "weights" and value in OPENNESS:
                filters = replace(filters, weights=value)
            elif key == "modality" and value in (ALL, *MODALITIES):
                filters = replace(filters, modality=value)
            elif key == "representation" and value in (ALL, *REPRESENTATIONS):
                filters = replace(filters, representation=value)
            elif key in ("min_params", "max_params") and _number(value) is not None:
                filters = replace(filters, **{key: _number(value)})
            elif key == "every":
                filters = replace(filters, every=value in ("1", "true"))
        return replace(filters, family=tuple(families))


URL_KEYS = [field.name for field in fields(Filters)]
URL_SYNC_JS = f"""
(...values) => {{
  const keys = {URL_KEYS!r};
  const params = new URLSearchParams();
  keys.forEach((key, i) => {{
    let value = values[i];
    if (Array.isArray(value)) value = value.join(",");
    if (value === true) value = "1";
    if (value === null || value === undefined || value === false || value === "" || value === "all") return;
    params.set(key, String(value));
  }});
  const query = params.toString();
  window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  return values;
}}
"""
"""Runs in the browser before each refresh: writes the filters (in URL_KEYS order) into the URL."""


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def filter_table(table: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Rows whose model contains the search text (any case), in the chosen families, weights and size range.

    A size bound leaves out models whose parameter count is not known.
    """
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
    return rows


def shown_columns(chosen: Iterable[str], modality: str, representation: str) -> list[str]:
    """The model column, then the chosen ones in table order, without configs outside the scope."""
    outside = set(STIMULUS_CONFIGS) - set(scope_configs(modality, representation))
    outside |= {f"{config} read" for config in outside}
    wanted = set(chosen)
    return ["model", *(c for c in CHOOSABLE_COLUMNS if c in wanted and c not in outside)]


def _accuracy_traces(figure: go.Figure, per_c: pd.DataFrame, name: str, n: str, correct: str) -> None:
    """Binned accuracy with Wilson 95% bars and the fitted logistic curve, from counts per C."""
    per_c = per_c[per_c[n] > 0]
    if per_c.empty:
        return
    x, y, w = counts_as_outcomes(per_c["C"], per_c[n], per_c[correct])
    bins = binned_accuracy(x, y, C_EDGES, w)
    figure.add_trace(
        go.Scatter(
            x=[(b.low + b.high) / 2 for b in bins],
            y=[b.accuracy for b in bins],
            mode="markers",
            name=f"{name} (binned)",
            legendgroup=name,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [b.wilson_high - b.accuracy for b in bins],
                "arrayminus": [b.accuracy - b.wilson_low for b in bins],
            },
            customdata=[[b.n] for b in bins],
            hovertemplate="C %{x}: %{y:.1%} of %{customdata[0]}<extra></extra>",
        )
    )
    try:
        fit = fit_logistic(x, y, w)
    except NotEstimable:
        return
    grid = np.linspace(C_EDGES[0], C_EDGES[-1], 200)
    label = f"{name} (fit, {c50_label(fit.c50)})"
    figure.add_trace(go.Scatter(x=grid, y=fit.predict(grid), mode="lines", name=label, legendgroup=name))


def c50_label(c50: float) -> str:
    """C50 for a legend; outside the benchmark's range of C it is an extrapolation, shown as a bound."""
    if c50 > C_EDGES[-1]:
        return f"C50 > {C_EDGES[-1]}"
    if c50 < C_EDGES[0]:
        return f"C50 < {C_EDGES[0]}"
    return f"C50 {c50:.0f}"


def rounded(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A table for display: floats to `digits` decimals (downloads keep full precision)."""
    return frame.round({c: digits for c in frame.columns if pd.api.types.is_float_dtype(frame[c])})


def _layout(figure: go.Figure, title: str, yaxis: str = "exact-match accuracy") -> go.Figure:
    figure.update_layout(
        title=title,
        xaxis_title="C = digit_total x nonzero_total",
        yaxis_title=yaxis,
        yaxis_range=[0, 1.05],
        showlegend=True,
    )
    return figure


def accuracy_vs_c(cells: pd.DataFrame, table: pd.DataFrame, modality: str, representation: str) -> go.Figure:
    """Accuracy against C per model family (the table's submissions), pooled over the chosen configs."""
    configs = scope_configs(modality, representation)
    families = table.set_index("submission_id")["family"]
    chosen = cells[cells["config"].isin(configs) & cells["submission_id"].isin(families.index)]
    figure = go.Figure()
    for family, rows in chosen.groupby(chosen["submission_id"].map(families)):
        _accuracy_traces(figure, rows.groupby("C")[["n", "correct"]].sum().reset_index(), str(family), "n", "correct")
    scope = ", ".join(configs) if configs else f"no config is {modality} {representation}"
    return _layout(figure, f"Accuracy versus arithmetic load C per family: {scope}")


def model_across_configs(cells: pd.DataFrame, model: str) -> go.Figure:
    """One model's accuracy against C in each config it was run on."""
    figure = go.Figure()
    for config in STIMULUS_CONFIGS:
        rows = cells[cells["config"] == config]
        _accuracy_traces(figure, rows, config, "n", "correct")
    return _layout(figure, f"{model}: accuracy versus C in every config")


def perception_vs_c(cells: pd.DataFrame, model: str, config: str) -> go.Figure:
    """Reading, multiplying, and multiplying given a correct reading, against C for one config."""
    rows = cells[cells["config"] == config]
    figure = go.Figure()
    _accuracy_traces(figure, rows, "read both operands", "read_n", "read")
    _accuracy_traces(figure, rows, "product correct", "n", "correct")
    _accuracy_traces(figure, rows, "product correct | read", "read", "read_correct")
    return _layout(figure, f"{model}, {config}: perception and computation versus C", "share of problems")


PERCEPTION_COLUMNS = ["config", "problems", "accuracy", "perception", "accuracy_given_read", "accuracy_given_misread"]


def perception_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Per config: multiplication accuracy, perception accuracy, and accuracy split by correct reading."""
    rows = []
    for config in STIMULUS_CONFIGS:
        mine = cells[cells["config"] == config]
        n, correct, read_n, read, both = (
            int(mine[c].sum()) for c in ("n", "correct", "read_n", "read", "read_correct")
        )
        if not n and not read_n:
            continue
        paired = n and read_n
        rows.append(
            {
                "config": config,
                "problems": max(n, read_n),
                "accuracy": correct / n if n else math.nan,
                "perception": read / read_n if read_n else math.nan,
                "accuracy_given_read": both / read if paired and read else math.nan,
                "accuracy_given_misread": (correct - both) / (n - read) if paired and n > read else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=PERCEPTION_COLUMNS)


def model_items(detail: pd.DataFrame) -> pd.DataFrame:
    """The multiplication items among one submission's items."""
    return detail[detail["kind"] == "multiply"]


PREDICTOR_COLUMNS = ["predictor", "description", "pseudo_r2", "aic"]


def predictor_table(detail: pd.DataFrame) -> pd.DataFrame:
    """How well each load measure predicts this model's correctness (pseudo-R^2, AIC; best first)."""
    rows = model_items(detail)
    if rows.empty:
        return pd.DataFrame(columns=PREDICTOR_COLUMNS)
    return compare_predictors(rows, rows["correct"].to_numpy())


GAP_COLUMNS = ["first", "second", "n", "accuracy_first", "accuracy_second", "only_first", "only_second", "mcnemar_p"]


def paired_gaps(detail: pd.DataFrame) -> pd.DataFrame:
    """Every pair of this model's configs on the same problems: accuracies and McNemar's p-value."""
    rows = model_items(detail)
    if rows.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    wide = rows.pivot_table(index="problem_id", columns="config", values="correct", aggfunc="first")
    out = []
    configs = [c for c in STIMULUS_CONFIGS if c in wide.columns]
    for i, first in enumerate(configs):
        for second in configs[i + 1 :]:
            both = wide[[first, second]].dropna()
            if both.empty:
                continue
            gap = paired_gap(both[first].to_numpy(), both[second].to_numpy())
            out.append(
                {
                    "first": first,
                    "second": second,
                    "n": gap.n,
                    "accuracy_first": both[first].mean(),
                    "accuracy_second": both[second].mean(),
                    "only_first": gap.only_first,
                    "only_second": gap.only_second,
                    "mcnemar_p": gap.p_value,
                }
            )
    return pd.DataFrame(out, columns=GAP_COLUMNS)


def gap_figure(gaps: pd.DataFrame, model: str) -> go.Figure:
    """The paired accuracy gaps as a config-by-config heatmap, McNemar's p-value in each cell."""
    configs = [c for c in STIMULUS_CONFIGS if c in set(gaps["first"]) | set(gaps["second"])]
    gap = pd.DataFrame(np.nan, index=configs, columns=configs)
    text = pd.DataFrame("", index=configs, columns=configs)
    for row in gaps.itertuples():
        for first, second, sign in ((row.first, row.second, 1), (row.second, row.first, -1)):
            gap.loc[first, second] = sign * (row.accuracy_first - row.accuracy_second)
            text.loc[first, second] = f"{gap.loc[first, second]:+.1%}<br>p={row.mcnemar_p:.2g}"
    figure = go.Figure(
        go.Heatmap(
            z=gap.to_numpy(),
            x=configs,
            y=configs,
            text=text.to_numpy(),
            texttemplate="%{text}",
            colorscale="RdBu",
            zmid=0,
            colorbar={"title": "row - column"},
            hovertemplate="%{y} vs %{x}: %{text}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"{model}: accuracy gap between configs on the same problems (McNemar)",
        yaxis={"autorange": "reversed"},
    )
    return figure


def predictor_figure(predictors: pd.DataFrame, model: str) -> go.Figure:
    """McFadden pseudo-R^2 of each one-predictor logistic fit, AIC in the hover."""
    figure = go.Figure(
        go.Bar(
            x=predictors["predictor"],
            y=predictors["pseudo_r2"],
            customdata=predictors[["description", "aic"]].to_numpy(),
            hovertemplate="%{customdata[0]}: pseudo-R^2 %{y:.3f}, AIC %{customdata[1]:.1f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"{model}: how well each load measure alone predicts correctness",
        yaxis_title="McFadden pseudo-R^2",
        yaxis_range=[0, 1],
    )
    return figure
