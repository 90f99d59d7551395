"""The leaderboard's filters, shareable URLs, sorting, column choice, display, CSV and figures."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import fields, replace
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd
import pytest

from mmmult.leaderboard.display.columns import COLUMNS, DEFAULT_COLUMNS
from mmmult.leaderboard.display.filters import MAX_TEXT, URL_SYNC_JS, Filters, filter_table
from mmmult.leaderboard.display.formatting import csv_frame, display, rounded, shown_columns
from mmmult.leaderboard.display.model_tables import GAP_COLUMNS, informative_model, why_empty
from mmmult.leaderboard.display.plots import (
    accuracy_vs_c,
    gap_figure,
    model_across_configs,
    perception_vs_c,
    predictor_figure,
)
from mmmult.statistics.analysis import LogisticFit, Proportion, fieller

needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")


def table_of(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(columns=COLUMNS)
    for i, (model, family, params, open_weights, score, rank, c50) in enumerate(rows):
        frame.loc[i] = {"model": model, "family": family, "params_b": params, "open": open_weights,
                        "submission_id": i, "score": score, "rank": rank, "C50": c50}  # fmt: skip
    return frame.astype({"params_b": float, "score": float})


BOARD = table_of(
    ("Qwen3-8B", "Qwen", 8.0, True, 0.41, 3, "18 [15, 21]"),
    ("Qwen3-235B", "Qwen", 235.0, True, 0.62, 1, "> 324"),
    ("gpt-5", "GPT", None, False, 0.60, 1, "n/a"),
    ("gemma-3-27b", "Gemma", 27.0, True, None, None, "40 [31, 52]"),
)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), ["Qwen3-235B", "gpt-5", "Qwen3-8B", "gemma-3-27b"]),  # by rank, ties by model, unranked last
        (Filters(q="qwen3-2"), ["Qwen3-235B"]),
        (Filters(family=("Qwen", "Gemma")), ["Qwen3-235B", "Qwen3-8B", "gemma-3-27b"]),
        (Filters(weights="proprietary"), ["gpt-5"]),
        (Filters(weights="open"), ["Qwen3-235B", "Qwen3-8B", "gemma-3-27b"]),
        (Filters(min_params=10), ["Qwen3-235B", "gemma-3-27b"]),
        (Filters(min_params=8, max_params=27), ["Qwen3-8B", "gemma-3-27b"]),
        (Filters(min_params=8.0001, max_params=26.9999), []),  # the bounds are inclusive, no wider
        (Filters(q="gpt", max_params=1000), []),  # unknown size is outside any size range
        (Filters(sort="score", descending=True), ["Qwen3-235B", "gpt-5", "Qwen3-8B", "gemma-3-27b"]),
        (Filters(sort="score"), ["Qwen3-8B", "gpt-5", "Qwen3-235B", "gemma-3-27b"]),  # missing last either way
        (Filters(sort="params_b", descending=True), ["Qwen3-235B", "gemma-3-27b", "Qwen3-8B", "gpt-5"]),
        (Filters(sort="model"), ["gemma-3-27b", "gpt-5", "Qwen3-235B", "Qwen3-8B"]),  # case-insensitive
        (Filters(sort="C50"), ["Qwen3-8B", "gemma-3-27b", "Qwen3-235B", "gpt-5"]),  # by the estimate; n/a last
    ],
)
def test_filters_select_and_sort_rows(filters: Filters, expected: list[str]) -> None:
    assert list(filter_table(BOARD, filters)["model"]) == expected


def test_the_view_reads_from_a_shared_url() -> None:
    url = (  # as URL_SYNC_JS writes it (URLSearchParams encodes the comma)
        "q=qwen+3&family=Qwen%2CGemma&weights=open&regime=direct&modality=image&representation=words"
        "&min_params=1.5&max_params=70&every=1&self_reported=1&sort=score&descending=1"
        "&columns=score%2CC50&model=org%2Fm-7B"
    )
    assert Filters.from_query(parse_qsl(url)) == Filters(
        q="qwen 3", family=("Qwen", "Gemma"), weights="open", regime="direct", modality="image", representation="words",
        min_params=1.5, max_params=70, every=True, self_reported=True, sort="score", descending=True,
        columns=("score", "C50"), model="org/m-7B",
    )  # fmt: skip
    assert Filters.from_query([]) == Filters()


def test_a_hand_edited_url_keeps_what_parses_and_drops_the_rest() -> None:
    pairs = [("modality", "smell"), ("regime", "Direct"), ("weights", "open"), ("min_params", "lots"),
             ("max_params", "nan"), ("family", "Qwen"), ("family", "GPT"), ("utm_source", "x"), ("sort", "DROP TABLE"),
             ("columns", "score,__class__"), ("every", "yes")]  # fmt: skip
    assert Filters.from_query(pairs) == Filters(family=("Qwen", "GPT"), weights="open", columns=("score",))


NON_DEFAULT = {
    "q": "7B & up?#top",  # characters the URL must encode
    "family": ("Qwen", "Simulated executor"),
    "weights": "proprietary",
    "regime": "direct",
    "problem_set": "extended",
    "split": "mini",
    "modality": "image",
    "representation": "words",
    "min_params": 1.5,
    "max_params": 70.0,
    "every": True,
    "self_reported": True,
    "differing": True,
    "sort": "C50",
    "descending": True,
    "columns": ("score", "C50"),
    "model": "org/model-7B (chat)",
}
"""A value other than the default for every field of Filters."""
FIELDS = [field.name for field in fields(Filters)]


def test_every_filter_has_a_value_other_than_its_default() -> None:
    assert list(NON_DEFAULT) == FIELDS
    assert all(NON_DEFAULT[field.name] != field.default for field in fields(Filters))


@pytest.fixture(scope="module")
def write_url() -> Iterator[Callable[[list[object]], str]]:
    """The page's own URL_SYNC_JS run in chromium on the controls' values: the query string it writes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        script = ("(values) => { const window = {location: {pathname: '/'}, history: {replaceState(state, title, url)"
                  f" {{ this.url = url; }}}}}}; ({URL_SYNC_JS})(...values); return window.history.url; }}")  # fmt: skip

        def written(values: list[object]) -> str:
            url = page.evaluate(script, json.loads(json.dumps(values)))
            return url.partition("?")[2]

        yield written
        browser.close()


@needs_chromium
@pytest.mark.parametrize("field", FIELDS)
def test_each_filter_of_the_table_is_restored_from_the_url_the_page_writes(field: str, write_url) -> None:
    view = Filters(**{field: NON_DEFAULT[field]})
    query = write_url(view.controls())
    assert query  # a view other than the default is written
    assert Filters.from_query(parse_qsl(query)) == view  # what the page reads on load
    assert Filters.of(view.controls()) == replace(view, columns=view.columns or tuple(DEFAULT_COLUMNS))


@needs_chromium
def test_every_filter_at_once_and_the_default_view_survive_the_url(write_url) -> None:
    assert Filters.from_query(parse_qsl(write_url(Filters(**NON_DEFAULT).controls()))) == Filters(**NON_DEFAULT)
    assert write_url(Filters().controls()) == ""  # the default view leaves the URL bare


HOSTILE = ["<script>alert(1)</script>", "nan", "inf", "-1e999", "DROP TABLE", "", "%00", "1,2", "x" * 5000]


@pytest.mark.parametrize("field", FIELDS)
def test_a_hostile_or_unknown_url_value_falls_back_to_the_default(field: str) -> None:
    for value in HOSTILE:
        restored = getattr(Filters.from_query([(field, value)]), field)
        if field in ("q", "model"):  # free text, searched for as text and escaped where shown
            assert restored == value[:MAX_TEXT]
        elif field == "family":  # names to match: a name on no row matches no row
            assert restored == tuple(name for name in value.split(",") if name)
        else:
            assert restored == getattr(Filters(), field), value
    assert Filters.from_query([("__class__", "x"), (f"{field}_", "1"), ("", "")]) == Filters()


def test_the_controls_in_url_order_give_the_same_view() -> None:
    values = ["q", ["Qwen"], "open", "direct", "extended", "mini", "image", "all", 1.0, None, True, False, True,
              "score", True, ["C50"], "m"]  # fmt: skip
    assert Filters.of(values) == Filters("q", ("Qwen",), "open", "direct", "extended", "mini", "image", "all", 1.0,
                                         None, True, False, True, "score", True, ("C50",), "m")  # fmt: skip
    assert Filters.of([None] * 17) == Filters()


def test_column_choice_keeps_table_order_and_drops_configs_outside_the_scope() -> None:
    assert shown_columns(["C50", "score", "image-words"], "all", "all") == ["rank", "model", "score", "image-words",
                                                                             "C50"]  # fmt: skip
    image = shown_columns(DEFAULT_COLUMNS, "image", "all")
    assert [c for c in image if c.startswith(("text-", "image-", "audio-"))] == ["image-numerals", "image-words"]
    assert "text-numerals read" not in shown_columns(COLUMNS, "audio", "digits")
    assert "audio-digits read" in shown_columns(COLUMNS, "audio", "digits")
    assert "submission_id" not in shown_columns(COLUMNS, "all", "all")
    silent = ("text-numerals", "text-words", "image-numerals", "image-words")  # a build without audio
    assert shown_columns(["score", "audio-words", "text-words", "audio-words read"], "all", "all", silent) == [
        "rank", "model", "score", "text-words"]  # fmt: skip


def test_the_display_names_columns_shows_percentages_and_marks_self_reported_cells() -> None:
    table = BOARD.copy()
    table.loc[0, ["score_low", "score_high", "text-numerals"]] = [0.38, 0.44, 0.617]
    table.loc[1, ["score_low", "score_high", "text-numerals"]] = [0.6, 0.64, 0.5]
    table["text-numerals self-reported"] = [True, False, False, False]
    shown = display(table)
    assert shown.loc[0, "Score %"] == "41.0 [38.0, 44.0]"
    assert shown.loc[0, "text-numerals %"] == "61.7†" and shown.loc[1, "text-numerals %"] == "50.0"
    assert shown.loc[3, "Score %"] == "" and shown.loc[3, "Rank"] == ""
    assert shown.loc[2, "Params (B)"] == "" and shown.loc[1, "Params (B)"] == "235"
    assert shown.loc[2, "Open weights"] == "no"
    assert "params_b" not in shown.columns and "C50_low" not in shown.columns


def test_the_csv_guards_formulas_and_keeps_numbers() -> None:
    table = pd.DataFrame({"model": ['=HYPERLINK("x")', "+cmd", "ok"], "family": ["@SUM(A1)", "-x", "F"],
                          "score": [0.5, -0.25, 1.0]})  # fmt: skip
    guarded = csv_frame(table)
    assert list(guarded["model"]) == ['\'=HYPERLINK("x")', "'+cmd", "ok"]
    assert list(guarded["family"]) == ["'@SUM(A1)", "'-x", "F"]
    assert list(guarded["score"]) == [0.5, -0.25, 1.0]


def test_display_rounding_leaves_counts_and_text_alone_and_never_shows_minus_zero() -> None:
    frame = pd.DataFrame({"model": ["m"], "n": [1519], "accuracy": [0.91968400263], "gap": [-0.00001]})
    assert rounded(frame).to_dict("records") == [{"model": "m", "n": 1519, "accuracy": 0.92, "gap": 0.0}]
    assert str(rounded(frame)["gap"].iloc[0]) == "0.0"


def fit_of(c50: float, slope: float, c_min: float, c_max: float) -> LogisticFit:
    return LogisticFit(slope * c50, -slope, ((0.001, 0.0), (0.0, 1e-7)), 0.4, 0.0, 500, c_min, c_max)


def test_curves_show_each_model_in_its_family_colour_with_the_fit_over_its_data_only() -> None:
    bins = pd.DataFrame(
        [[0, "4-25", 100, 90, 100.0, 14.2, 0.83, 0.94], [0, "26-50", 100, 40, 100.0, 38.9, 0.31, 0.5],
         [1, "4-25", 100, 95, 60.0, 14.2, 0.85, 0.98], [2, "4-25", 100, 50, 100.0, 14.2, 0.4, 0.6]],
        columns=["submission_id", "band", "n", "correct", "effective_n", "mean_C", "low", "high"],
    )  # fmt: skip
    fits = pd.DataFrame([{"submission_id": 0, "b0": 30 * 0.1, "b1": -0.1, "v00": 0.001, "v01": 0.0, "v11": 1e-6,
                          "c_min": 4.0, "c_max": 50.0, "pseudo_r2": 0.4, "n": 200}])  # fmt: skip
    table = BOARD.iloc[[0, 1, 2]]
    figure = accuracy_vs_c(bins, fits, table, "text-numerals")
    names = [t.name for t in figure.data]
    assert names == ["Qwen3-8B", "Qwen3-8B fit, C50 30 [29, 31]", "Qwen3-235B", "gpt-5"]
    points, line, sibling = figure.data[0], figure.data[1], figure.data[2]
    assert points.marker.color == line.line.color == sibling.marker.color  # one colour per family
    assert figure.data[3].marker.color != points.marker.color
    assert min(line.x) == 4.0 and max(line.x) == 50.0  # drawn over the data's C range, not to 324
    assert points.x[0] != sibling.x[0] and abs(points.x[0] - 14.2) < 0.2  # nudged apart at the same mean C
    assert list(points.error_y.array) == pytest.approx([0.94 - 0.9, 0.5 - 0.4])


BIN_COLUMNS = ["submission_id", "band", "n", "correct", "effective_n", "mean_C", "low", "high"]


def test_three_models_of_one_family_share_its_colour_and_differ_in_marker_and_dash() -> None:
    table = table_of(*((f"executor-{h} (simulated)", "Simulated executor", None, True, 0.5, 1, "n/a")
                       for h in ("OT", "DD", "RC")), ("Qwen3-8B", "Qwen", 8.0, True, 0.4, 2, "n/a"))  # fmt: skip
    bins = pd.DataFrame([[i, "4-25", 100, 90 - 10 * i, 100.0, 14.2, 0.5, 0.95] for i in range(4)], columns=BIN_COLUMNS)
    fits = pd.DataFrame([{"submission_id": i, "b0": 3.0, "b1": -0.1 * (i + 1), "v00": 0.001, "v01": 0.0, "v11": 1e-6,
                          "c_min": 4.0, "c_max": 50.0, "pseudo_r2": 0.4, "n": 200} for i in range(4)])  # fmt: skip
    figure = accuracy_vs_c(bins, fits, table, "text-numerals")
    points = [t for t in figure.data if t.mode == "markers"]
    lines = [t for t in figure.data if t.mode == "lines"]
    assert [t.name for t in points] == [*table["model"]]  # the legend names each model
    assert [t.name.split(" fit")[0] for t in lines] == [*table["model"]]
    executors = points[:3]
    assert {t.marker.color for t in executors} == {t.line.color for t in lines[:3]} == {points[0].marker.color}
    assert points[3].marker.color != points[0].marker.color  # another family, another colour
    assert len({t.marker.symbol for t in executors}) == 3  # told apart by marker...
    assert len({t.line.dash for t in lines[:3]}) == 3  # ...and by line
    assert [t.legendgroup for t in executors] == ["Simulated executor"] * 3


def test_c50_intervals_on_the_plot_are_bounded_by_the_data() -> None:
    """The issue's case: Fieller's interval reaches below the smallest C tested (4), where no C lies."""
    b0, b1, v00, v01, v11 = 1.1, -0.1, 0.5, 0.0, 0.0009
    assert fieller(b0, b1, v00, v01, v11)[0] < 0  # the unbounded text read "C50 11 [-3, 37]"
    bins = pd.DataFrame([[0, "4-25", 100, 40, 100.0, 14.2, 0.3, 0.5]], columns=BIN_COLUMNS)
    fits = pd.DataFrame([{"submission_id": 0, "b0": b0, "b1": b1, "v00": v00, "v01": v01, "v11": v11, "c_min": 4.0,
                          "c_max": 50.0, "pseudo_r2": 0.4, "n": 100}])  # fmt: skip
    figure = accuracy_vs_c(bins, fits, BOARD.iloc[[0]], "text-numerals")
    assert figure.data[1].name == "Qwen3-8B fit, C50 11 [below 37]"


def test_c50_intervals_on_the_model_page_are_bounded_by_the_data() -> None:
    loads, n, correct = [4, 8, 12, 16, 20, 30, 40], 5, [4, 3, 2, 2, 1, 0, 0]  # Fieller's lower bound: 2.1
    cells = pd.DataFrame({"submission_id": 0, "config": "text-numerals", "C": loads, "n": n, "correct": correct,
                          "read_n": 0, "read": 0, "read_correct": 0})  # fmt: skip
    assert model_across_configs(cells, "m").data[1].name == "text-numerals fit, C50 11 [below 17]"


def test_the_model_page_opens_on_the_best_ranked_model_with_right_and_wrong_answers() -> None:
    table = BOARD.assign(**{"text-numerals": [0.3, 1.0, 1.0, 0.5], "text-numerals self-reported": False})
    table = table.iloc[[1, 2, 0, 3]]  # best first, as the board sorts it
    assert informative_model(table) == "Qwen3-8B"  # not Qwen3-235B or gpt-5, right everywhere
    claimed = table.assign(**{"text-numerals self-reported": [False, False, True, False]})
    assert informative_model(claimed) == "gemma-3-27b"  # a claim holds no answers to analyse
    assert informative_model(table.iloc[:2]) == "Qwen3-235B"  # none informative: the top model
    assert informative_model(table.iloc[[]]) is None


def test_an_empty_selection_says_so() -> None:
    figure = accuracy_vs_c(pd.DataFrame(columns=["submission_id"]), pd.DataFrame(), BOARD.iloc[[]], "nothing")
    assert not figure.data
    assert figure.layout.annotations[0].text == "No results in this selection"


def test_hostile_names_reach_plotly_escaped() -> None:
    table = table_of(('<a href="https://evil.example">m</a>', "<b>F</b>", 1.0, True, 0.5, 1, "n/a"))
    columns = ["submission_id", "band", "n", "correct", "effective_n", "mean_C", "low", "high"]
    bins = pd.DataFrame([[0, "4-25", 10, 5, 10.0, 14.0, 0.2, 0.8]], columns=columns)
    figure = accuracy_vs_c(bins, pd.DataFrame(), table, "<script>")
    assert figure.data[0].name == '&lt;a href="https://evil.example"&gt;m&lt;/a&gt;'
    assert figure.data[0].legendgroup == "&lt;b&gt;F&lt;/b&gt;"
    assert "<script>" not in figure.layout.title.text


def cells_from(c50s: dict[str, float], loads: list[int]) -> pd.DataFrame:
    """Counts per C for a model whose accuracy in each config falls logistically around C50."""
    rows = []
    for config, c50 in c50s.items():
        for c in loads:
            n = 40
            correct = round(n / (1 + math.exp(0.08 * (c - c50))))
            read = n - (c % 3 == 0)
            rows.append((0, config, c, n, correct, n, read, min(correct, read)))
    return pd.DataFrame(
        rows, columns=["submission_id", "config", "C", "n", "correct", "read_n", "read", "read_correct"]
    )


def test_one_model_across_configs_and_its_perception_decomposition() -> None:
    cells = cells_from({"text-numerals": 150, "image-numerals": 120, "audio-words": 40}, list(range(4, 325, 8)))
    figure = model_across_configs(cells, "m")
    names = [t.name for t in figure.data]
    assert names[::2] == ["text-numerals", "image-numerals", "audio-words"]
    assert names[1].startswith("text-numerals fit, C50 150 [") and names[5].startswith("audio-words fit, C50 40 [")
    first = figure.data[0]
    rows = cells[(cells["config"] == "text-numerals") & (cells["C"] <= 25)]
    assert first.x[0] == pytest.approx((rows["C"] * rows["n"]).sum() / rows["n"].sum(), rel=0.02)  # the mean C
    decomposition = perception_vs_c(cells, "m", "audio-words")
    assert [t.name for t in decomposition.data][::2] == ["read both operands", "product correct",
                                                         "product correct | read"]  # fmt: skip
    assert np.all(np.asarray(decomposition.data[0].y) > 0.95)


def test_gap_heatmap_is_antisymmetric_with_the_paired_interval_and_holm_p() -> None:
    gaps = pd.DataFrame(
        [["text-numerals", "image-numerals", 100, 0.9, 0.7, 0.2, 0.1, 0.3, 25, 5, 0.0003, 0.0006],
         ["text-numerals", "audio-words", 100, 0.9, 0.9, 0.0, -0.05, 0.05, 4, 4, 1.0, 1.0]],
        columns=GAP_COLUMNS,
    )  # fmt: skip
    heatmap = gap_figure(gaps, "m").data[0]
    assert list(heatmap.x) == ["text-numerals", "image-numerals", "audio-words"]
    z = np.asarray(heatmap.z, dtype=float)
    assert z[0, 1] == pytest.approx(0.2) and z[1, 0] == pytest.approx(-0.2) and z[0, 2] == 0
    assert math.isnan(z[1, 2])  # no pair was run
    assert heatmap.text[0][1] == "+20.0%<br>[+10.0%, +30.0%]<br>Holm p=0.0006"
    assert heatmap.text[1][0] == "-20.0%<br>[-30.0%, -10.0%]<br>Holm p=0.0006"
    assert "-0.0%" not in heatmap.text[2][0]


def test_predictor_bars_mark_ties_and_a_perfect_model_is_explained() -> None:
    table = pd.DataFrame(
        [["C", "C = ...", 0.58, 2150.0, 0.0, True], ["addition_steps", "...", 0.57, 2151.5, 1.5, True],
         ["digit_total", "total digits", 0.27, 3774.4, 1624.4, False]],
        columns=["predictor", "description", "pseudo_r2", "aic", "delta_aic", "indistinguishable"],
    )  # fmt: skip
    bars = predictor_figure(table, "m").data[0]
    assert list(bars.x) == ["C", "addition_steps", "digit_total"] and list(bars.y) == [0.58, 0.57, 0.27]
    assert bars.marker.color[0] == bars.marker.color[1] != bars.marker.color[2]
    perfect = pd.DataFrame({"kind": ["multiply"] * 3, "correct": [1, 1, 1]})
    figure = predictor_figure(table.iloc[[]], "m", why_empty("predictors", perfect))
    assert figure.layout.annotations[0].text == (
        "Cannot be estimated: every answer is right, so no measure of load can tell right answers from wrong ones."
    )


def test_a_proportion_knows_its_value() -> None:
    assert Proportion(3, 4, 4.0, 10.0, 0.2, 0.9).value == 0.75
