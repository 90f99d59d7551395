"""The board's statistics on data with known answers, against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dataset_builder.leaderboard.analysis import (
    Z95,
    LogisticFit,
    NotEstimable,
    aggregate_r2,
    binned,
    channel_gap_growth,
    clustered_proportion,
    compare_predictors,
    counts_as_outcomes,
    fieller,
    fit_logistic,
    holm,
    lpm,
    paired_difference_interval,
    paired_gap,
    ranks,
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
    c50 = fit.c50()
    assert c50.status == "estimate" and c50.low < 75 < c50.high
    assert c50.value == pytest.approx(-fit.intercept / fit.slope)
    assert 0.2 < fit.pseudo_r2 < 1 and fit.n == len(items)
    assert (fit.c_min, fit.c_max) == (4, 324)
    assert fit.predict([c50.value])[0] == pytest.approx(0.5)


def test_fieller_solves_its_quadratic() -> None:
    b0, b1, v00, v01, v11 = 3.0, -0.04, 0.01, -0.0001, 0.000004
    low, high = fieller(b0, b1, v00, v01, v11)
    for theta in (low, high):  # on the boundary: (b0 + theta b1)^2 = z^2 Var(b0 + theta b1)
        assert (b0 + theta * b1) ** 2 == pytest.approx(Z95**2 * (v00 + 2 * theta * v01 + theta**2 * v11))
    assert low < -b0 / b1 < high
    assert fieller(b0, -0.001, v00, v01, v11) == (None, None)  # the slope is not significant: unbounded


def fit_of(b0: float, b1: float, se1: float, c_min: float = 4, c_max: float = 324) -> LogisticFit:
    return LogisticFit(b0, b1, ((0.01, 0.0), (0.0, se1**2)), 0.3, 100.0, 1000, c_min, c_max)


@pytest.mark.parametrize(
    ("fit", "status", "text"),
    [
        (fit_of(3.0, -0.04, 0.002), "estimate", "75 ["),
        (fit_of(-3.9, 0.0, 0.01), "n/a", "n/a"),  # a flat 2% model
        (fit_of(-3.9, 0.001, 0.01), "n/a", "n/a"),
        (fit_of(0.5, -0.004, 0.003), "n/a", "n/a"),  # falling, but not significantly
        (fit_of(5.0, -0.01, 0.001), "above", "> 324"),  # C50 = 500, past the data
        (fit_of(-1.0, -0.05, 0.01), "below", "< 4"),  # C50 = -20: below every C
        (fit_of(3.0, -0.04, 0.002, c_min=4, c_max=60), "above", "> 60"),  # the data's range, not the benchmark's
    ],
)
def test_c50_is_a_number_only_when_the_fall_is_significant_and_inside_the_data(fit, status, text) -> None:
    c50 = fit.c50()
    assert c50.status == status
    assert c50.text.startswith(text)
    assert (c50.value is not None) == (status != "n/a")


def test_the_flat_model_s_fit_from_data_states_no_c50() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(4, 325, 3000)
    fit = fit_logistic(x, (rng.random(3000) < 0.02).astype(int))
    assert fit.c50().text == "n/a"


def test_fit_refuses_data_without_both_outcomes_or_one_load() -> None:
    with pytest.raises(NotEstimable, match="both correct and wrong"):
        fit_logistic([4, 16, 40], [1, 1, 1])
    with pytest.raises(NotEstimable, match="more than one value of C"):
        fit_logistic([16, 16, 16, 16], [1, 0, 1, 0])
    with pytest.raises(ValueError, match="takes one row per outcome"):
        fit_logistic([4, 16], [1, 0], weights=[1, 1], groups=["a", "b"])


def test_clustered_covariance_widens_the_slope_for_repeated_outcomes(synthetic) -> None:
    items, correct = synthetic
    once = fit_logistic(items["C"], correct, groups=items["problem_id"])
    six = fit_logistic(np.tile(items["C"], 6), np.tile(correct, 6), groups=np.tile(items["problem_id"], 6))
    naive = fit_logistic(np.tile(items["C"], 6), np.tile(correct, 6))
    assert six.slope == pytest.approx(once.slope)
    assert six.slope_se == pytest.approx(once.slope_se, rel=1e-3)  # six copies carry one problem's information
    assert naive.slope_se == pytest.approx(once.slope_se / math.sqrt(6), rel=0.02)


def test_wilson_interval_matches_the_formula() -> None:
    low, high = wilson(8, 10)
    z = 1.959963984540054
    centre = (0.8 + z**2 / 20) / (1 + z**2 / 10)
    half = z / (1 + z**2 / 10) * np.sqrt(0.8 * 0.2 / 10 + z**2 / 400)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


def test_a_clustered_proportion_is_wilson_with_one_outcome_per_problem_and_wider_with_copies() -> None:
    y = [1, 1, 1, 0, 1, 0, 1, 1, 0, 1]
    single = clustered_proportion(y, list(range(10)))
    assert (single.low, single.high) == pytest.approx(wilson(7, 10))
    assert single.effective_n == 10
    copies = clustered_proportion(y * 3, list(range(10)) * 3)  # every problem answered the same three times
    assert copies.value == pytest.approx(0.7)
    # three copies of ten problems carry ten problems' information (less G / (G - 1) = 10 / 9): n_eff = 9
    assert copies.effective_n == pytest.approx(9.0)
    independent = clustered_proportion(y * 3, list(range(30)))
    assert (copies.high - copies.low) > (independent.high - independent.low)


def test_bins_count_each_item_once_and_sit_at_their_mean_load() -> None:
    bins = binned([4, 10, 25, 26, 100, 324], [1, 1, 0, 1, 0, 0], list("abcdef"), [4, 26, 101, 325])
    assert [(b.n, b.correct) for b in bins] == [(3, 2), (2, 1), (1, 0)]
    assert [b.mean_x for b in bins] == pytest.approx([13, 63, 324])
    assert bins[0].low < 2 / 3 < bins[0].high


def test_the_paper_s_lpm_is_ordinary_least_squares(synthetic) -> None:
    items, correct = synthetic
    frame = items.assign(correct=correct)
    fit = lpm(frame, ["digit_total", "nonzero_total", "C"])
    design = np.column_stack([np.ones(len(frame)), frame[["digit_total", "nonzero_total", "C"]].to_numpy(float)])
    coef, *_ = np.linalg.lstsq(design, correct.astype(float), rcond=None)
    assert fit.coef == pytest.approx(tuple(coef))
    residual = correct - design @ coef
    assert fit.r2 == pytest.approx(1 - residual @ residual / ((correct - correct.mean()) ** 2).sum())
    bread = np.linalg.inv(design.T @ design)  # HC1: n / (n - k) times the sandwich
    meat = design.T @ (design * residual[:, None] ** 2)
    hc1 = bread @ meat @ bread * len(frame) / (len(frame) - 4)
    assert fit.se == pytest.approx(tuple(np.sqrt(np.diag(hc1))))
    assert lpm(frame, ["C"]).r2 == pytest.approx(np.corrcoef(frame["C"], correct)[0, 1] ** 2)


def test_aggregate_r2_regresses_accuracy_per_load_value() -> None:
    x = [4, 4, 8, 8, 16, 16]
    y = [1, 1, 1, 0, 0, 0]  # accuracy 1, 0.5, 0 at C 4, 8, 16
    means, loads = np.array([1.0, 0.5, 0.0]), np.array([4.0, 8.0, 16.0])
    slope, intercept = np.polyfit(loads, means, 1)
    expected = 1 - ((means - intercept - slope * loads) ** 2).sum() / ((means - means.mean()) ** 2).sum()
    assert aggregate_r2(x, y) == pytest.approx(expected)


def test_c_predicts_better_than_digit_or_nonzero_counts_alone(synthetic: tuple[pd.DataFrame, np.ndarray]) -> None:
    items, correct = synthetic
    table = compare_predictors(items, correct)
    assert table["predictor"].iloc[0] == "C"
    assert set(table["predictor"]) == {"C", "digit_total", "nonzero_total", "digit_steps", "nonzero_steps",
                                       "partial_products", "addition_steps"}  # fmt: skip
    assert table["aic"].is_monotonic_increasing
    assert table["delta_aic"].iloc[0] == 0
    assert list(table["indistinguishable"]) == list(table["delta_aic"] <= 2)


def test_predictor_comparison_is_empty_but_shaped_when_nothing_can_be_fitted(synthetic) -> None:
    items, _ = synthetic
    table = compare_predictors(items, np.ones(len(items), dtype=int))
    assert table.empty
    assert list(table.columns) == ["predictor", "description", "pseudo_r2", "aic", "delta_aic", "indistinguishable"]


def test_mcnemar_on_a_paired_gap() -> None:
    first = [1] * 10 + [0] * 2 + [1] * 30 + [0] * 8
    second = [0] * 10 + [1] * 2 + [1] * 30 + [0] * 8
    gap = paired_gap(first, second)
    assert (gap.both, gap.only_first, gap.only_second, gap.neither) == (30, 10, 2, 8)
    assert gap.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)  # exact binomial, 12 discordant pairs
    assert gap.accuracy_gap == pytest.approx(8 / 50)
    assert (gap.low, gap.high) == pytest.approx(paired_difference_interval(10, 2, 50))


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


def test_the_paired_interval_is_bonett_and_price_s() -> None:
    low, high = paired_difference_interval(10, 2, 50)
    p12, p21 = 11 / 52, 3 / 52
    half = Z95 * math.sqrt((p12 + p21 - (p12 - p21) ** 2) / 52)
    assert (low, high) == pytest.approx((p12 - p21 - half, p12 - p21 + half))


def test_holm_adjusts_step_down() -> None:
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]).tolist() == []


def test_ranks_tie_where_intervals_overlap() -> None:
    assert ranks([0.80, 0.50, 0.55, 0.20], [0.90, 0.60, 0.65, 0.30]).tolist() == [1, 2, 2, 4]
    assert ranks([0.5], [0.6]).tolist() == [1]


def test_channel_gaps_that_grow_with_load_are_found() -> None:
    rng = np.random.default_rng(11)
    loads = rng.integers(4, 325, 1500)
    rows = []
    for modality, extra in (("text", 0.0), ("image", -0.02)):  # images fall faster with C
        p = 1 / (1 + np.exp(-(3.0 + (-0.03 + extra) * loads)))
        rows.append(
            pd.DataFrame(
                {
                    "problem_id": np.arange(1500),
                    "C": loads,
                    "modality": modality,
                    "representation": "numerals",
                    "correct": (rng.random(1500) < p).astype(int),
                }
            )
        )
    (term,) = channel_gap_growth(pd.concat(rows))
    assert term.term == "modality image x C (per 100 of C)"
    assert term.low < -2.0 < term.high and term.high < 0  # -0.02 per unit of C is -2 per 100


def test_counts_per_load_give_the_same_fit_as_the_items(synthetic) -> None:
    items, correct = synthetic
    counts = pd.DataFrame({"C": items["C"], "correct": correct}).groupby("C")["correct"].agg(["sum", "count"])
    whole = fit_logistic(items["C"], correct)
    grouped = fit_logistic(*counts_as_outcomes(counts.index, counts["count"], counts["sum"]))
    assert (grouped.intercept, grouped.slope, grouped.slope_se) == pytest.approx(
        (whole.intercept, whole.slope, whole.slope_se), rel=1e-6
    )
    assert (grouped.pseudo_r2, grouped.aic, grouped.n) == pytest.approx((whole.pseudo_r2, whole.aic, whole.n), rel=1e-6)
