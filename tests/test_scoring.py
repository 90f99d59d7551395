from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dataset_builder.scoring import (
    BAND_METRICS,
    METRICS,
    PERCEPTION_METRICS,
    band_scores,
    c_band_metric,
    digit_match,
    length_error,
    response_length,
    score_answer,
    score_perception,
    score_response,
)
from dataset_builder.stimulus import parse_stimulus, read_operand, stimulus

TASKS = Path(__file__).parent.parent / "eval" / "mmmult"


@pytest.mark.parametrize(
    ("C", "metric"), [(4, "acc_C_4_25"), (25, "acc_C_4_25"), (40, "acc_C_26_50"), (324, "acc_C_201_324")]
)
def test_c_bands(C: int, metric: str) -> None:
    assert c_band_metric(C) == metric


def test_band_scores_mark_only_the_items_bands() -> None:
    scores = band_scores(1, C=40, digit_total=10)
    assert scores["acc_C_26_50"] == 1 and scores["acc_digits_10"] == 1
    assert sum(v is not None for v in scores.values()) == 2
    assert set(scores) == set(BAND_METRICS)


@pytest.mark.parametrize(
    ("answer", "product", "match", "length"),
    [
        (1692, 1692, 1.0, 0),
        (1682, 1692, 0.75, 0),
        (692, 1692, 0.75, 1),
        (11692, 1692, 0.8, 1),
        (None, 1692, 0.0, 4),
        (-1692, 1692, 0.8, 0),
        (-692, 1692, 0.75, 1),
    ],
)
def test_partial_credit_is_right_aligned(answer: int | None, product: int, match: float, length: int) -> None:
    assert digit_match(answer, product) == match
    assert length_error(answer, product) == length


def test_score_response_reads_then_scores() -> None:
    assert score_response("so 47 x 36 = 1692. Final Answer: 1692", 1692) == {
        "exact_match": 1,
        "digit_match": 1.0,
        "length_error": 0,
    }
    assert score_response("no idea", 1692)["exact_match"] == 0


def test_task_yaml_declares_exactly_the_metrics_the_core_scores() -> None:
    text = (TASKS / "_default_template_yaml").read_text().replace("!function", "")
    declared = [m["metric"] for m in yaml.safe_load(text)["metric_list"]]
    assert declared == list(METRICS)


@pytest.mark.parametrize("representation", ["numerals", "words", "digits"])
def test_every_stimulus_parses_back(representation: str) -> None:
    for a, b in [(7, 8), (8004004, 500), (999999999, 100000000), (47, 36)]:
        assert parse_stimulus(stimulus(a, b, representation)) == (a, b)


def test_read_operand_refuses_words_that_are_not_numbers() -> None:
    with pytest.raises(ValueError):
        read_operand("seven apples")


def test_perception_is_scored_per_operand_and_in_order() -> None:
    assert score_perception((47, 36), 47, 36) == {"perceive_both": 1, "perceive_a": 1, "perceive_b": 1}
    assert score_perception((36, 47), 47, 36) == {"perceive_both": 0, "perceive_a": 0, "perceive_b": 0}
    assert score_perception((47, None), 47, 36) == {"perceive_both": 0, "perceive_a": 1, "perceive_b": 0}


def test_perception_yaml_declares_exactly_the_perception_metrics() -> None:
    text = (TASKS / "_perceive_template_yaml").read_text().replace("!function", "")
    assert [m["metric"] for m in yaml.safe_load(text)["metric_list"]] == list(PERCEPTION_METRICS)


@pytest.mark.parametrize("C", [0, 3, 3601])
def test_c_outside_every_band_is_an_error_that_names_the_range(C: int) -> None:
    with pytest.raises(ValueError) as error:
        c_band_metric(C)
    assert str(error.value) == f"C = {C} is outside every band (4 to 3600)"


def test_band_metrics_are_the_five_c_bands_then_every_digit_total() -> None:
    assert list(BAND_METRICS) == [
        "acc_C_4_25",
        "acc_C_26_50",
        "acc_C_51_100",
        "acc_C_101_200",
        "acc_C_201_324",
        *(f"acc_digits_{d}" for d in range(2, 19)),
    ]
    assert list(METRICS) == ["exact_match", "digit_match", "length_error", *BAND_METRICS]


@pytest.mark.parametrize(
    ("answer", "product", "scores"),
    [
        (56, 56, {"exact_match": 1, "digit_match": 1.0, "length_error": 0}),
        # 5600 against 56, aligned from the right: 00 vs 56, no digit agrees, over 4 positions
        (5600, 56, {"exact_match": 0, "digit_match": 0.0, "length_error": 2}),
        (None, 56, {"exact_match": 0, "digit_match": 0.0, "length_error": 2}),
        (None, 4002002000, {"exact_match": 0, "digit_match": 0.0, "length_error": 10}),
        # 1 against 4002002000: only the last position agrees (1 vs 0: no), 0 of 10
        (1, 4002002000, {"exact_match": 0, "digit_match": 0.0, "length_error": 9}),
        # 4002002001 against 4002002000: nine of ten digits agree
        (4002002001, 4002002000, {"exact_match": 0, "digit_match": 0.9, "length_error": 0}),
    ],
)
def test_score_answer_gives_every_score(answer: int | None, product: int, scores: dict[str, float]) -> None:
    assert score_answer(answer, product) == scores


def test_band_scores_of_a_wrong_answer_are_zero_in_its_bands_only() -> None:
    scores = band_scores(0, C=4, digit_total=2)
    assert {k: v for k, v in scores.items() if v is not None} == {"acc_C_4_25": 0, "acc_digits_2": 0}
    scores = band_scores(1, C=324, digit_total=18)
    assert {k: v for k, v in scores.items() if v is not None} == {"acc_C_201_324": 1, "acc_digits_18": 1}


@pytest.mark.parametrize(
    ("response", "length"),
    [
        ("Final Answer: 1692", 18),
        ("\n  Final Answer: 1692 \n\n", 18),  # surrounding whitespace is not the model's answer
        ("47 x 36 = 1692\nFinal Answer: 1692", 33),  # inner newlines count
        ("Final Answer: 1\u202f692", 19),  # characters, not bytes (a narrow no-break space is three)
        ("", 0),
        ("   ", 0),
    ],
)
def test_a_response_s_length_is_its_characters_stripped(response: str, length: int) -> None:
    assert response_length(response) == length
