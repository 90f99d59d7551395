"""The leaderboard's filters, shareable URLs, column choice and figures."""

from __future__ import annotations

import math
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd
import pytest

from dataset_builder.leaderboard.board import COLUMNS
from dataset_builder.leaderboard.views import (
    DEFAULT_COLUMNS,
    GAP_COLUMNS,
    PREDICTOR_COLUMNS,
    Filters,
    accuracy_vs_c,
    c50_label,
    filter_table,
    gap_figure,
    model_across_configs,
    perception_vs_c,
    predictor_figure,
    rounded,
    shown_columns,
)


def table_of(*rows: tuple[str, str, float | None, bool]) -> pd.DataFrame:
    frame = pd.DataFrame(columns=COLUMNS)
    for i, (model, family, params, open_weights) in enumerate(rows):
        frame.loc[i] = {"model": model, "family": family, "params_b": params, "open": open_weights, "submission_id": i}
    return frame.astype({"params_b": float})


BOARD = table_of(
    ("Qwen3-8B", "Qwen", 8.0, True),
    ("Qwen3-235B", "Qwen", 235.0, True),
    ("gpt-5", "GPT", None, False),
    ("gemma-3-27b", "Gemma", 27.0, True),
)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), ["Qwen3-8B", "Qwen3-235B", "gpt-5", "gemma-3-27b"]),
        (Filters(q="qwen3-2"), ["Qwen3-235B"]),
        (Filters(family=("Qwen", "Gemma")), ["Qwen3-8B", "Qwen3-235B", "gemma-3-27b"]),
        (Filters(weights="proprietary"), ["gpt-5"]),
        (Filters(min_params=10), ["Qwen3-235B", "gemma-3-27b"]),
        (Filters(min_params=8, max_params=27), ["Qwen3-8B", "gemma-3-27b"]),
        (Filters(q="gpt", max_params=1000), []),  # unknown size is outside any size range
    ],
)
def test_filters_select_rows(filters: Filters, expected: list[str]) -> None:
    assert list(filter_table(BOARD, filters)["model"]) == expected


def test_filters_read_from_a_shared_url() -> None:
    url = (  # as URL_SYNC_JS writes it (URLSearchParams encodes the comma)
        "q=qwen+3&family=Qwen%2CGemma&weights=open&modality=image&representation=words"
        "&min_params=1.5&max_params=70&every=1"
    )
    assert Filters.from_query(parse_qsl(url)) == Filters(
        q="qwen 3", family=("Qwen", "Gemma"), weights="open", modality="image", representation="words",
        min_params=1.5, max_params=70, every=True,
    )  # fmt: skip
    assert Filters.from_query([]) == Filters()


def test_a_hand_edited_url_keeps_what_parses_and_drops_the_rest() -> None:
    pairs = [("modality", "smell"), ("weights", "open"), ("min_params", "lots"), ("max_params", "nan"),
             ("family", "Qwen"), ("family", "GPT"), ("utm_source", "x")]  # fmt: skip
    assert Filters.from_query(pairs) == Filters(family=("Qwen", "GPT"), weights="open")


def test_column_choice_keeps_table_order_and_drops_configs_outside_the_scope() -> None:
    assert shown_columns(["C50", "overall", "image-words"], "all", "all") == ["model", "overall", "image-words", "C50"]
    image = shown_columns(DEFAULT_COLUMNS, "image", "all")
    assert [c for c in image if "-" in c] == ["image-numerals", "image-words"]
    assert "text-numerals read" not in shown_columns(COLUMNS, "audio", "digits")
    assert "audio-digits read" in shown_columns(COLUMNS, "audio", "digits")


def cells_from(model_accuracy: dict[str, float], sid: int, loads: list[int]) -> pd.DataFrame:
    """Counts per C for a model whose accuracy in each config falls logistically around C50."""
    rows = []
    for config, c50 in model_accuracy.items():
        for c in loads:
            n = 40
            correct = round(n / (1 + math.exp(0.08 * (c - c50))))
            read = n - (c % 3 == 0)
            rows.append((sid, config, c, n, correct, n, read, min(correct, read)))
    columns = ["submission_id", "config", "C", "n", "correct", "read_n", "read", "read_correct"]
    return pd.DataFrame(rows, columns=columns)


LOADS = list(range(4, 325, 8))


def test_family_curves_pool_their_models_and_fit_each_family() -> None:
    cells = pd.concat(
        [cells_from({"text-numerals": 60}, 0, LOADS), cells_from({"text-numerals": 100}, 1, LOADS),
         cells_from({"text-numerals": 200}, 3, LOADS), cells_from({"image-words": 50}, 2, LOADS)]
    )  # fmt: skip
    table = BOARD.iloc[[0, 1, 3, 2]]
    figure = accuracy_vs_c(cells, table, "text", "numerals")
    names = [trace.name for trace in figure.data]
    assert names[0] == "Gemma (binned)" and names[2] == "Qwen (binned)"
    assert names[1].startswith("Gemma (fit, C50 200)")
    assert 60 < float(names[3].removeprefix("Qwen (fit, C50 ").rstrip(")")) < 100  # pooled Qwen models
    assert not any(name.startswith("GPT") for name in names)  # GPT has only image-words
    binned = figure.data[2]
    assert list(binned.x) == [15, 38.5, 76, 151, 262.5]  # the centres of the C bands
    assert all(0 <= y <= 1 for y in binned.y)


def test_one_model_across_configs_and_its_perception_decomposition() -> None:
    cells = cells_from({"text-numerals": 150, "image-numerals": 120, "audio-words": 40}, 0, LOADS)
    names = [t.name for t in model_across_configs(cells, "m").data]
    assert names == [
        "text-numerals (binned)", "text-numerals (fit, C50 150)", "image-numerals (binned)",
        "image-numerals (fit, C50 120)", "audio-words (binned)", "audio-words (fit, C50 40)",
    ]  # fmt: skip
    decomposition = perception_vs_c(cells, "m", "audio-words")
    assert [t.name for t in decomposition.data][::2] == [
        "read both operands (binned)",
        "product correct (binned)",
        "product correct | read (binned)",
    ]
    read = decomposition.data[0]
    assert np.all(np.asarray(read.y) > 0.95)


def test_legends_show_c50_outside_the_benchmark_range_as_a_bound() -> None:
    assert [c50_label(v) for v in (2599.3, 151.4, -12.0)] == ["C50 > 324", "C50 151", "C50 < 4"]


def test_display_rounding_leaves_counts_and_text_alone() -> None:
    frame = pd.DataFrame({"model": ["m"], "n": [1519], "accuracy": [0.91968400263]})
    assert rounded(frame).to_dict("records") == [{"model": "m", "n": 1519, "accuracy": 0.92}]


def test_gap_heatmap_is_antisymmetric_and_names_the_p_value() -> None:
    gaps = pd.DataFrame(
        [["text-numerals", "image-numerals", 100, 0.9, 0.7, 25, 5, 0.0003],
         ["text-numerals", "audio-words", 100, 0.9, 0.9, 4, 4, 1.0]],
        columns=GAP_COLUMNS,
    )  # fmt: skip
    heatmap = gap_figure(gaps, "m").data[0]
    assert list(heatmap.x) == ["text-numerals", "image-numerals", "audio-words"]
    z = np.asarray(heatmap.z, dtype=float)
    assert z[0, 1] == pytest.approx(0.2) and z[1, 0] == pytest.approx(-0.2) and z[0, 2] == 0
    assert math.isnan(z[1, 2])  # no pair was run
    assert heatmap.text[0][1] == "+20.0%<br>p=0.0003"


def test_predictor_bars_follow_the_table() -> None:
    table = pd.DataFrame(
        [["C", "C = ...", 0.58, 2150.0], ["digit_total", "total digits", 0.27, 3774.4]], columns=PREDICTOR_COLUMNS
    )
    bars = predictor_figure(table, "m").data[0]
    assert list(bars.x) == ["C", "digit_total"] and list(bars.y) == [0.58, 0.27]
