"""Table filtering and plotly figures for the Space (no Gradio here either)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from analysis import NotEstimable, binned_accuracy, compare_predictors, fit_logistic, paired_gap

from dataset_builder.scoring import C_BANDS

C_EDGES = [low for low, _ in C_BANDS] + [C_BANDS[-1][1]]


def filter_table(
    table: pd.DataFrame, search: str = "", families: list[str] | None = None, openness: str = "all"
) -> pd.DataFrame:
    """Rows whose model contains `search` (any case), in the chosen families, open or proprietary."""
    rows = table
    if search:
        rows = rows[rows["model"].str.contains(search, case=False, regex=False)]
    if families:
        rows = rows[rows["family"].isin(families)]
    if openness in ("open", "proprietary"):
        rows = rows[rows["open"] == (openness == "open")]
    return rows


def accuracy_vs_c(detail: pd.DataFrame, table: pd.DataFrame, modality: str, representation: str) -> go.Figure:
    """Binned accuracy (Wilson 95% bars) and the fitted logistic curve per model family."""
    config = f"{modality}-{representation}"
    families = table.set_index("submission_id")["family"]
    chosen = detail[(detail["kind"] == "multiply") & (detail["config"] == config)]
    chosen = chosen[chosen["submission_id"].isin(families.index)]
    figure = go.Figure()
    grid = np.linspace(C_EDGES[0], C_EDGES[-1], 200)
    for family, rows in chosen.groupby(chosen["submission_id"].map(families)):
        bins = binned_accuracy(rows["C"], rows["correct"], C_EDGES)
        centres = [(b.low + b.high) / 2 for b in bins]
        figure.add_trace(
            go.Scatter(
                x=centres,
                y=[b.accuracy for b in bins],
                mode="markers",
                name=f"{family} (binned)",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [b.wilson_high - b.accuracy for b in bins],
                    "arrayminus": [b.accuracy - b.wilson_low for b in bins],
                },
            )
        )
        try:
            fit = fit_logistic(rows["C"], rows["correct"])
        except NotEstimable:
            continue
        figure.add_trace(
            go.Scatter(x=grid, y=fit.predict(grid), mode="lines", name=f"{family} (fit, C50 {fit.c50:.0f})")
        )
    figure.update_layout(
        title=f"Accuracy versus arithmetic load C: {config}",
        xaxis_title="C = digit_total x nonzero_total",
        yaxis_title="exact-match accuracy",
        yaxis_range=[0, 1.05],
        showlegend=True,
    )
    return figure


def model_items(detail: pd.DataFrame, submission_id: int) -> pd.DataFrame:
    """The multiplication items of one submission."""
    return detail[(detail["submission_id"] == submission_id) & (detail["kind"] == "multiply")]


def predictor_table(detail: pd.DataFrame, submission_id: int) -> pd.DataFrame:
    """How well each load measure predicts this model's correctness (pseudo-R^2, AIC; best first)."""
    rows = model_items(detail, submission_id)
    if rows.empty:
        return pd.DataFrame(columns=["predictor", "description", "pseudo_r2", "aic"])
    return compare_predictors(rows, rows["correct"].to_numpy())


def paired_gaps(detail: pd.DataFrame, submission_id: int) -> pd.DataFrame:
    """Every pair of this model's configs on the same problems: accuracies and McNemar's p-value."""
    rows = model_items(detail, submission_id)
    wide = rows.pivot_table(index="problem_id", columns="config", values="correct", aggfunc="first")
    out = []
    configs = list(wide.columns)
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
    columns = ["first", "second", "n", "accuracy_first", "accuracy_second", "only_first", "only_second", "mcnemar_p"]
    return pd.DataFrame(out, columns=columns)
