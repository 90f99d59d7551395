"""The board's plotly figures: accuracy against C for every model or for one model's configs, its perception
and computation, its paired gaps between configs, and its load predictors (no Gradio here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dataset_builder.configs import STIMULUS_CONFIGS
from dataset_builder.problems import C_BANDS, MAX_C
from mmmult.leaderboard.display.formatting import escaped
from mmmult.leaderboard.storage.summary import stored_fit
from mmmult.statistics.analysis import LogisticFit, NotEstimable, Proportion, counts_as_outcomes, fit_logistic, wilson

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22"]  # fmt: skip
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "triangle-down", "cross")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


@dataclass(frozen=True)
class Style:
    """How one series is drawn: the colour of its family, and a marker and line dash of its own in the family."""

    colour: str
    symbol: str = "circle"
    dash: str = "solid"


def model_styles(table: pd.DataFrame) -> dict[int, Style]:
    """Each row's style by submission_id: one colour per family; within a family, the models in table order
    take the next marker and dash (no two alike among a family's first 24 models)."""
    families = sorted(table["family"].unique())
    colours = {family: PALETTE[i % len(PALETTE)] for i, family in enumerate(families)}
    taken: dict[str, int] = {}
    styles = {}
    for row in table.itertuples():
        j = taken[row.family] = taken.get(row.family, -1) + 1
        styles[row.submission_id] = Style(colours[row.family], SYMBOLS[j % len(SYMBOLS)], DASHES[j % len(DASHES)])
    return styles


def _layout(figure: go.Figure, title: str, yaxis: str = "exact-match accuracy", max_c: int | None = None) -> go.Figure:
    """Titles, the accuracy axis and, with `max_c`, the C axis from 0 to the problem set's largest C."""
    figure.update_layout(
        title=escaped(title),
        xaxis_title="C = digit_total x nonzero_total",
        xaxis_range=None if max_c is None else [0, max_c],
        yaxis_title=yaxis,
        yaxis_range=[0, 1.05],
        showlegend=True,
    )
    if not figure.data:
        figure.add_annotation(text="No results in this selection", showarrow=False, x=0.5, y=0.5, xref="paper",
                              yref="paper", font={"size": 16})  # fmt: skip
    return figure


def _series(
    figure: go.Figure,
    name: str,
    group: str,
    style: Style,
    bins: list[Proportion],
    fit: LogisticFit | None,
    offset: float,
) -> None:
    """One series: bins at their items' mean C (nudged by `offset` so bars of a C do not overlap) with
    their 95% intervals, and the fit drawn over the data's C range only, in the same style."""
    if not bins:
        return
    x = [b.mean_x * (1 + offset) for b in bins]
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[b.value for b in bins],
            mode="markers",
            name=escaped(name),
            legendgroup=escaped(group),
            legendgrouptitle_text=escaped(group),
            marker={"color": style.colour, "symbol": style.symbol, "size": 8},
            error_y={
                "type": "data",
                "symmetric": False,
                "color": style.colour,
                "array": [b.high - b.value for b in bins],
                "arrayminus": [b.value - b.low for b in bins],
            },
            customdata=[[b.n, b.mean_x, b.low, b.high] for b in bins],
            hovertemplate="mean C %{customdata[1]:.1f}: %{y:.1%} [%{customdata[2]:.1%}, %{customdata[3]:.1%}]"
            " of %{customdata[0]}<extra></extra>",
        )
    )
    if fit is None:
        return
    grid = np.linspace(fit.c_min, fit.c_max, 100)
    figure.add_trace(
        go.Scatter(
            x=grid,
            y=fit.predict(grid),
            mode="lines",
            name=escaped(f"{name} fit, C50 {fit.c50().text}"),
            legendgroup=escaped(group),
            line={"color": style.colour, "dash": style.dash},
            hoverinfo="skip",
        )
    )


def _stored_bins(rows: pd.DataFrame) -> list[Proportion]:
    return [Proportion(int(r.correct), int(r.n), float(r.effective_n), float(r.mean_C), float(r.low), float(r.high))
            for r in rows.sort_values("mean_C").itertuples()]  # fmt: skip


def accuracy_vs_c(
    bins: pd.DataFrame, fits: pd.DataFrame, table: pd.DataFrame, scope_title: str, max_c: int = MAX_C
) -> go.Figure:
    """Every model of the table: binned accuracy (clustered intervals) and its own fit, coloured by family and
    told apart within a family by marker and dash (see model_styles), on C from 0 to `max_c` (the problem set's
    largest: 324 in the base set, 3,600 in the extended one)."""
    figure = go.Figure()
    fit_rows = fits.set_index("submission_id") if len(fits) else fits
    shown = table[table["submission_id"].isin(set(bins["submission_id"]))]
    styles = model_styles(shown)
    for i, row in enumerate(shown.itertuples()):
        offset = 0.02 * (i - (len(shown) - 1) / 2) / max(1, len(shown))
        fit = stored_fit(fit_rows.loc[row.submission_id]) if row.submission_id in fit_rows.index else None
        mine = bins[bins["submission_id"] == row.submission_id]
        _series(figure, row.model, row.family, styles[row.submission_id], _stored_bins(mine), fit, offset)
    return _layout(figure, f"Accuracy versus arithmetic load C: {scope_title}", max_c=max_c)


def _cell_bins(cells: pd.DataFrame, n: str, correct: str) -> list[Proportion]:
    """Per C band of one config's cells (one outcome per problem): Wilson intervals at the mean C."""
    out = []
    for low, high in C_BANDS:
        rows = cells[(cells["C"] >= low) & (cells["C"] <= high) & (cells[n] > 0)]
        total, right = int(rows[n].sum()), int(rows[correct].sum())
        if total:
            mean = float((rows["C"] * rows[n]).sum() / total)
            out.append(Proportion(right, total, float(total), mean, *wilson(right, total)))
    return out


def _cell_fit(cells: pd.DataFrame, n: str, correct: str) -> LogisticFit | None:
    rows = cells[cells[n] > 0]
    try:
        return fit_logistic(*counts_as_outcomes(rows["C"], rows[n], rows[correct]))
    except NotEstimable:
        return None


def model_across_configs(cells: pd.DataFrame, model: str) -> go.Figure:
    """One model's accuracy against C in each config it was run on."""
    figure = go.Figure()
    present = [c for c in STIMULUS_CONFIGS if (cells.loc[cells["config"] == c, "n"] > 0).any()]
    for i, config in enumerate(present):
        rows = cells[cells["config"] == config]
        offset = 0.02 * (i - (len(present) - 1) / 2) / max(1, len(present))
        _series(figure, config, config, Style(PALETTE[i]), _cell_bins(rows, "n", "correct"),
                _cell_fit(rows, "n", "correct"), offset)  # fmt: skip
    return _layout(figure, f"{model}: accuracy versus C in every config")


def perception_vs_c(cells: pd.DataFrame, model: str, config: str) -> go.Figure:
    """Reading, multiplying, and multiplying given a correct reading, against C for one config."""
    rows = cells[cells["config"] == config]
    figure = go.Figure()
    series = (("read both operands", "read_n", "read"), ("product correct", "n", "correct"),
              ("product correct | read", "read", "read_correct"))  # fmt: skip
    for i, (name, n, correct) in enumerate(series):
        _series(figure, name, name, Style(PALETTE[i]), _cell_bins(rows, n, correct), _cell_fit(rows, n, correct),
                0.01 * (i - 1))  # fmt: skip
    return _layout(figure, f"{model}, {config}: perception and computation versus C", "share of problems")


def _percent(value: float) -> str:
    """A signed percentage without "-0.0%"."""
    text = f"{value:+.1%}"
    return "+0.0%" if text in ("-0.0%", "+0.0%") else text


def gap_figure(gaps: pd.DataFrame, model: str) -> go.Figure:
    """The paired accuracy gaps as a config-by-config heatmap, with the paired interval and Holm's p."""
    configs = [c for c in STIMULUS_CONFIGS if c in set(gaps["first"]) | set(gaps["second"])]
    gap = pd.DataFrame(np.nan, index=configs, columns=configs)
    text = pd.DataFrame("", index=configs, columns=configs)
    for row in gaps.itertuples():
        for first, second, sign in ((row.first, row.second, 1), (row.second, row.first, -1)):
            low, high = sorted((sign * row.gap_low, sign * row.gap_high))
            gap.loc[first, second] = sign * row.gap + 0.0
            text.loc[first, second] = (f"{_percent(sign * row.gap)}<br>[{_percent(low)}, {_percent(high)}]"
                                       f"<br>Holm p={row.holm_p:.2g}")  # fmt: skip
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
        title=escaped(f"{model}: accuracy gap between configs on the same problems (paired 95% CI, Holm)"),
        yaxis={"autorange": "reversed"},
    )
    if not configs:
        figure.add_annotation(text="Fewer than two configs: nothing to pair", showarrow=False, x=0.5, y=0.5,
                              xref="paper", yref="paper")  # fmt: skip
    return figure


def predictor_figure(predictors: pd.DataFrame, model: str, why: str = "") -> go.Figure:
    """McFadden pseudo-R^2 of each one-predictor logistic fit; delta-AIC in the hover, ties marked. With no
    predictor fitted, the figure says `why` (model_tables.why_empty)."""
    figure = go.Figure(
        go.Bar(
            x=predictors["predictor"],
            y=predictors["pseudo_r2"],
            marker={"color": ["#1f77b4" if tie else "#c7c7c7" for tie in predictors["indistinguishable"]]},
            customdata=predictors[["description", "aic", "delta_aic"]].to_numpy(),
            hovertemplate="%{customdata[0]}: McFadden pseudo-R² %{y:.3f}, AIC %{customdata[1]:.1f}"
            " (delta %{customdata[2]:.1f})<extra></extra>",
        )
    )
    figure.update_layout(
        title=escaped(f"{model}: how well each load measure alone predicts correctness (blue: within 2 AIC of best)"),
        yaxis_title="McFadden pseudo-R²",
        yaxis_range=[0, 1],
    )
    if predictors.empty:
        figure.add_annotation(text=escaped(why), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return figure
