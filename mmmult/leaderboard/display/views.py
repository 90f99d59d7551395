"""Table filters, the page's URL state, display formatting and plotly figures (no Gradio here either).

Every text a submitter typed is escaped before plotly sees it (plotly renders <a>, <b> and <br>
in legends, titles and hover text); the CSV guards cells a spreadsheet would read as a formula.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dataset_builder.configs import CONFIGS, MODALITIES, REPRESENTATIONS, STIMULUS_CONFIGS
from dataset_builder.problems import C_BANDS
from mmmult.leaderboard.display.columns import CHOOSABLE_COLUMNS, DEFAULT_COLUMNS, FORMS, LABELS, SORTABLE
from mmmult.leaderboard.intake.names import csv_cell
from mmmult.leaderboard.intake.status import Status
from mmmult.leaderboard.storage.summary import ALL, scope_configs, stored_fit
from mmmult.statistics.analysis import (
    NotEstimable,
    Proportion,
    compare_predictors,
    fit_logistic,
    holm,
    paired_gap,
    wilson,
)

OPENNESS = ("all", "open", "proprietary")
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22"]  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """The leaderboard's view. The page's URL carries it: URL_SYNC_JS writes, `from_query` reads."""

    q: str = ""
    family: tuple[str, ...] = ()
    weights: str = "all"
    modality: str = ALL
    representation: str = ALL
    min_params: float | None = None
    max_params: float | None = None
    every: bool = False
    self_reported: bool = False
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
            modality=str(given["modality"] or defaults.modality),
            representation=str(given["representation"] or defaults.representation),
            min_params=_number(str(given["min_params"])) if given["min_params"] is not None else None,
            max_params=_number(str(given["max_params"])) if given["max_params"] is not None else None,
            every=bool(given["every"]),
            self_reported=bool(given["self_reported"]),
            sort=str(given["sort"] or defaults.sort),
            descending=bool(given["descending"]),
            columns=tuple(given["columns"] or ()),
            model=str(given["model"] or ""),
        )

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
                filters = replace(filters, **{key: value[:200]})
            elif key == "weights" and value in OPENNESS:
                filters = replace(filters, weights=value)
            elif key == "modality" and value in (ALL, *MODALITIES):
                filters = replace(filters, modality=value)
            elif key == "representation" and value in (ALL, *REPRESENTATIONS):
                filters = replace(filters, representation=value)
            elif key in ("min_params", "max_params") and _number(value) is not None:
                filters = replace(filters, **{key: _number(value)})
            elif key in ("every", "self_reported", "descending"):
                filters = replace(filters, **{key: value in ("1", "true")})
            elif key == "sort" and value in SORTABLE:
                filters = replace(filters, sort=value)
        return replace(filters, family=tuple(families), columns=tuple(columns))


URL_KEYS = [field.name for field in fields(Filters)]
URL_SYNC_JS = f"""
(...values) => {{
  const keys = {URL_KEYS!r};
  const defaults = {{weights: "all", modality: "all", representation: "all", sort: "rank",
                    columns: {",".join(DEFAULT_COLUMNS)!r}}};
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
"""Runs in the browser before each refresh: writes the view (in URL_KEYS order) into the URL."""


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


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


def shown_columns(
    chosen: Iterable[str], modality: str, representation: str, built: Iterable[str] = STIMULUS_CONFIGS
) -> list[str]:
    """Rank and model, then the chosen columns in table order, without configs outside the scope or that the
    board's build does not hold (`built`)."""
    outside = set(STIMULUS_CONFIGS) - (set(scope_configs(modality, representation)) & set(built))
    outside |= {f"{config} read" for config in outside}
    wanted = set(chosen)
    return ["rank", "model", *(c for c in CHOOSABLE_COLUMNS if c in wanted and c not in outside)]


def display(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the page shows it: named columns, percentages with one decimal and the score's interval,
    self-reported cells marked with a dagger, and every text escaped by the page (never rendered as markup)."""
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


def _layout(figure: go.Figure, title: str, yaxis: str = "exact-match accuracy") -> go.Figure:
    figure.update_layout(
        title=escaped(title),
        xaxis_title="C = digit_total x nonzero_total",
        yaxis_title=yaxis,
        yaxis_range=[0, 1.05],
        showlegend=True,
    )
    if not figure.data:
        figure.add_annotation(text="No results in this selection", showarrow=False, x=0.5, y=0.5, xref="paper",
                              yref="paper", font={"size": 16})  # fmt: skip
    return figure


def _series(figure: go.Figure, name: str, group: str, colour: str, bins: list[Proportion], fit, offset: float) -> None:  # noqa: ANN001
    """One series: bins at their items' mean C (nudged by `offset` so bars of a C do not overlap) with
    their 95% intervals, and the fit drawn over the data's C range only, in the same colour."""
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
            marker={"color": colour},
            error_y={
                "type": "data",
                "symmetric": False,
                "color": colour,
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
            line={"color": colour},
            hoverinfo="skip",
        )
    )


def _stored_bins(rows: pd.DataFrame) -> list[Proportion]:
    return [Proportion(int(r.correct), int(r.n), float(r.effective_n), float(r.mean_C), float(r.low), float(r.high))
            for r in rows.sort_values("mean_C").itertuples()]  # fmt: skip


def accuracy_vs_c(bins: pd.DataFrame, fits: pd.DataFrame, table: pd.DataFrame, scope_title: str) -> go.Figure:
    """Every model of the table: binned accuracy (clustered intervals) and its own fit, coloured by family."""
    figure = go.Figure()
    families = sorted(table["family"].unique()) if len(table) else []
    colours = {family: PALETTE[i % len(PALETTE)] for i, family in enumerate(families)}
    fit_rows = fits.set_index("submission_id") if len(fits) else fits
    shown = table[table["submission_id"].isin(set(bins["submission_id"]))]
    for i, row in enumerate(shown.itertuples()):
        offset = 0.02 * (i - (len(shown) - 1) / 2) / max(1, len(shown))
        fit = stored_fit(fit_rows.loc[row.submission_id]) if row.submission_id in fit_rows.index else None
        mine = bins[bins["submission_id"] == row.submission_id]
        _series(figure, row.model, row.family, colours[row.family], _stored_bins(mine), fit, offset)
    return _layout(figure, f"Accuracy versus arithmetic load C: {scope_title}")


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


def _cell_fit(cells: pd.DataFrame, n: str, correct: str):  # noqa: ANN202 (a LogisticFit or None)
    from mmmult.statistics.analysis import counts_as_outcomes

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
        _series(figure, config, config, PALETTE[i], _cell_bins(rows, "n", "correct"), _cell_fit(rows, "n", "correct"),
                offset)  # fmt: skip
    return _layout(figure, f"{model}: accuracy versus C in every config")


def perception_vs_c(cells: pd.DataFrame, model: str, config: str) -> go.Figure:
    """Reading, multiplying, and multiplying given a correct reading, against C for one config."""
    rows = cells[cells["config"] == config]
    figure = go.Figure()
    series = (("read both operands", "read_n", "read"), ("product correct", "n", "correct"),
              ("product correct | read", "read", "read_correct"))  # fmt: skip
    for i, (name, n, correct) in enumerate(series):
        _series(figure, name, name, PALETTE[i], _cell_bins(rows, n, correct), _cell_fit(rows, n, correct),
                0.01 * (i - 1))  # fmt: skip
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


def predictor_table(detail: pd.DataFrame) -> pd.DataFrame:
    """How well each load measure predicts this model's correctness (AIC, delta-AIC, pseudo-R^2; best first)."""
    from mmmult.statistics.analysis import PREDICTOR_COLUMNS

    rows = model_items(detail)
    if rows.empty:
        return pd.DataFrame(columns=PREDICTOR_COLUMNS)
    return compare_predictors(rows, rows["correct"].to_numpy())


GAP_COLUMNS = ["first", "second", "n", "accuracy_first", "accuracy_second", "gap", "gap_low", "gap_high",
               "only_first", "only_second", "mcnemar_p", "holm_p"]  # fmt: skip


def paired_gaps(detail: pd.DataFrame) -> pd.DataFrame:
    """Every pair of this model's configs on the same problems: the gap with its paired interval, McNemar's
    p-value and Holm's adjustment over the model's pairs."""
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
            out.append({"first": first, "second": second, "n": gap.n, "accuracy_first": both[first].mean(),
                        "accuracy_second": both[second].mean(), "gap": gap.accuracy_gap, "gap_low": gap.low,
                        "gap_high": gap.high, "only_first": gap.only_first, "only_second": gap.only_second,
                        "mcnemar_p": gap.p_value})  # fmt: skip
    table = pd.DataFrame(out, columns=GAP_COLUMNS)
    table["holm_p"] = holm(table["mcnemar_p"].to_numpy())
    return table


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


def predictor_figure(predictors: pd.DataFrame, model: str, detail: pd.DataFrame | None = None) -> go.Figure:
    """McFadden pseudo-R^2 of each one-predictor logistic fit; delta-AIC in the hover, ties marked."""
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
        rows = model_items(detail) if detail is not None else pd.DataFrame()
        reason = ("every answer is right or every answer is wrong: no measure can tell them apart"
                  if len(rows) else "no multiplication results")  # fmt: skip
        figure.add_annotation(text=reason, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return figure


LPM_COLUMNS = ["config", "n", "r2_C", "r2_three", "b_digit_total", "se_digit_total", "b_nonzero_total",
               "se_nonzero_total", "b_C", "se_C"]  # fmt: skip


def lpm_table(detail: pd.DataFrame) -> pd.DataFrame:
    """The paper's linear probability models per config and over all of them (errors clustered by problem):
    R^2 on C alone, and on total digits, total non-zero digits and C with robust standard errors."""
    from mmmult.statistics.analysis import lpm

    rows = model_items(detail)
    out = []
    for config in [*(c for c in STIMULUS_CONFIGS if c in set(rows["config"])), ALL]:
        mine = rows if config == ALL else rows[rows["config"] == config]
        if len(mine) < 5 or mine["correct"].nunique() < 2:
            continue
        groups = "problem_id" if config == ALL else None
        alone, three = lpm(mine, ["C"], groups), lpm(mine, ["digit_total", "nonzero_total", "C"], groups)
        out.append({"config": config, "n": three.n, "r2_C": alone.r2, "r2_three": three.r2,
                    "b_digit_total": three.coef[1], "se_digit_total": three.se[1], "b_nonzero_total": three.coef[2],
                    "se_nonzero_total": three.se[2], "b_C": three.coef[3], "se_C": three.se[3]})  # fmt: skip
    return pd.DataFrame(out, columns=LPM_COLUMNS)


INTERACTION_COLUMNS = ["term", "estimate", "low", "high", "p_value"]


def interactions_table(detail: pd.DataFrame) -> pd.DataFrame:
    """Does the gap between channels grow with load? The GEE's channel x C terms with 95% intervals."""
    from mmmult.statistics.analysis import channel_gap_growth

    rows = model_items(detail)
    if rows.empty:
        return pd.DataFrame(columns=INTERACTION_COLUMNS)
    channel = rows["config"].map(lambda c: (CONFIGS[c].modality, CONFIGS[c].representation))
    terms = channel_gap_growth(rows.assign(modality=channel.str[0], representation=channel.str[1]))
    return pd.DataFrame([vars(t) for t in terms], columns=INTERACTION_COLUMNS)


COMPARISON_COLUMNS = ["config", "n", "accuracy_first", "accuracy_second", "gap", "gap_low", "gap_high", "mcnemar_p",
                      "holm_p"]  # fmt: skip


def model_comparison(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Two models on the problems both answered, config by config: the paired gap (first - second) with its
    interval, McNemar's p and Holm's adjustment over the configs compared."""
    left, right = model_items(first), model_items(second)
    out = []
    for config in STIMULUS_CONFIGS:
        a = left[left["config"] == config].set_index("problem_id")["correct"]
        b = right[right["config"] == config].set_index("problem_id")["correct"]
        shared = a.index.intersection(b.index)
        if not len(shared):
            continue
        gap = paired_gap(a[shared].to_numpy(), b[shared].to_numpy())
        out.append({"config": config, "n": gap.n, "accuracy_first": float(a[shared].mean()),
                    "accuracy_second": float(b[shared].mean()), "gap": gap.accuracy_gap, "gap_low": gap.low,
                    "gap_high": gap.high, "mcnemar_p": gap.p_value})  # fmt: skip
    table = pd.DataFrame(out, columns=COMPARISON_COLUMNS)
    table["holm_p"] = holm(table["mcnemar_p"].to_numpy())
    return table


DRAW_COLUMNS = ["seed", "config", "n", "accuracy_published", "accuracy_fresh", "gap", "gap_low", "gap_high"]


def fresh_draw_table(draws: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on the published problems against a fresh draw of the same design, config by config:
    a gap well above zero hints that the model has seen the published test set. The two runs answer
    different problems, so the interval is Newcombe's for two independent proportions."""
    from mmmult.statistics.analysis import independent_difference

    published = draws[draws["seed"].isna()].set_index("config")
    rows = []
    for row in draws[draws["seed"].notna()].itertuples():
        if row.config not in published.index:
            continue
        mine = published.loc[row.config]
        gap, low, high = independent_difference(int(mine["correct"]), int(mine["n"]), int(row.correct), int(row.n))
        rows.append({"seed": int(row.seed), "config": row.config, "n": int(row.n),
                     "accuracy_published": mine["correct"] / mine["n"], "accuracy_fresh": row.correct / row.n,
                     "gap": gap, "gap_low": low, "gap_high": high})  # fmt: skip
    return pd.DataFrame(rows, columns=DRAW_COLUMNS)
