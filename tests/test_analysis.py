"""The Space's statistics on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataset_builder.leaderboard.analysis import (
    NotEstimable,
    binned_accuracy,
    compare_predictors,
    fit_logistic,
    paired_gap,
    wilson,
)
from dataset_builder.problems import generate

TRUE_INTERCEPT, TRUE_SLOPE = 3.0, -0.04  # C50 = 75


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, np.ndarray]:
    """The default problem set answered by a model whose accuracy is logistic in C."""
    items = pd.DataFrame([p.as_dict() for p in generate()])
    rng = np.random.default_rng(7)
    p = 1 / (1 + np.exp(-(TRUE_INTERCEPT + TRUE_SLOPE * items["C"].to_numpy())))
    return items, (rng.random(len(items)) < p).astype(int)


def test_logistic_fit_recovers_the_parameters(synthetic: tuple[pd.DataFrame, np.ndarray]) -> None:
    items, correct = synthetic
    fit = fit_logistic(items["C"], correct)
    assert abs(fit.intercept - TRUE_INTERCEPT) < 2 * fit.intercept_se
    assert abs(fit.slope - TRUE_SLOPE) < 2 * fit.slope_se
    assert fit.c50_low < 75 < fit.c50_high
    assert fit.c50 == pytest.approx(-fit.intercept / fit.slope)
    assert 0.2 < fit.pseudo_r2 < 1 and fit.n == 10125
    assert fit.predict([fit.c50])[0] == pytest.approx(0.5)


def test_c_predicts_better_than_digit_or_nonzero_counts_alone(synthetic: tuple[pd.DataFrame, np.ndarray]) -> None:
    items, correct = synthetic
    table = compare_predictors(items, correct)
    assert table["predictor"].iloc[0] == "C"
    assert set(table["predictor"]) == {"C", "digit_total", "nonzero_total", "digit_steps", "nonzero_steps"}
    assert table["aic"].is_monotonic_increasing


def test_predictor_comparison_is_empty_but_shaped_when_nothing_can_be_fitted(synthetic) -> None:
    items, _ = synthetic
    table = compare_predictors(items, np.ones(len(items), dtype=int))
    assert table.empty and list(table.columns) == ["predictor", "description", "pseudo_r2", "aic"]


def test_fit_refuses_data_without_both_outcomes() -> None:
    with pytest.raises(NotEstimable, match="both correct and wrong"):
        fit_logistic([4, 16, 40], [1, 1, 1])


def test_wilson_interval_matches_the_formula() -> None:
    low, high = wilson(8, 10)
    z = 1.959963984540054
    centre = (0.8 + z**2 / 20) / (1 + z**2 / 10)
    half = z / (1 + z**2 / 10) * np.sqrt(0.8 * 0.2 / 10 + z**2 / 400)
    assert (low, high) == pytest.approx((centre - half, centre + half))


def test_binned_accuracy_counts_each_item_once() -> None:
    bins = binned_accuracy([4, 10, 25, 26, 100, 324], [1, 1, 0, 1, 0, 0], [4, 26, 101, 325])
    assert [(b.n, b.correct) for b in bins] == [(3, 2), (2, 1), (1, 0)]
    assert bins[0].wilson_low < 2 / 3 < bins[0].wilson_high


def test_mcnemar_on_a_paired_gap() -> None:
    first = [1] * 10 + [0] * 2 + [1] * 30 + [0] * 8
    second = [0] * 10 + [1] * 2 + [1] * 30 + [0] * 8
    gap = paired_gap(first, second)
    assert (gap.both, gap.only_first, gap.only_second, gap.neither) == (30, 10, 2, 8)
    assert gap.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)  # exact binomial, 12 discordant pairs
    assert gap.accuracy_gap == pytest.approx(8 / 50)


@pytest.mark.parametrize(("only_first", "only_second"), [(20, 4), (21, 4), (30, 12)])
def test_mcnemar_is_exact_below_25_discordant_pairs_and_chi_square_from_25(only_first, only_second) -> None:
    from scipy.stats import binomtest, chi2

    first = [1] * only_first + [0] * only_second + [1] * 7 + [0] * 5
    second = [0] * only_first + [1] * only_second + [1] * 7 + [0] * 5
    gap = paired_gap(first, second)
    discordant = only_first + only_second
    if discordant < 25:
        expected = binomtest(min(only_first, only_second), discordant, 0.5).pvalue
    else:  # with Edwards' continuity correction
        expected = chi2.sf((abs(only_first - only_second) - 1) ** 2 / discordant, df=1)
    assert gap.p_value == pytest.approx(expected, rel=1e-9)


def test_counts_per_load_give_the_same_fit_and_bins_as_the_items(synthetic) -> None:
    items, correct = synthetic
    counts = pd.DataFrame({"C": items["C"], "correct": correct}).groupby(["C", "correct"]).size().reset_index()
    counts.columns = ["C", "correct", "n"]
    whole = fit_logistic(items["C"], correct)
    grouped = fit_logistic(counts["C"], counts["correct"], weights=counts["n"])
    assert len(counts) < len(items) / 20
    assert (grouped.intercept, grouped.slope, grouped.slope_se) == pytest.approx(
        (whole.intercept, whole.slope, whole.slope_se), rel=1e-6
    )
    assert (grouped.pseudo_r2, grouped.aic, grouped.n) == pytest.approx((whole.pseudo_r2, whole.aic, whole.n), rel=1e-6)
    edges = [4, 26, 51, 101, 201, 325]
    assert binned_accuracy(counts["C"], counts["correct"], edges, counts["n"]) == binned_accuracy(
        items["C"], correct, edges
    )
