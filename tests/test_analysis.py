"""The board's statistics on data with known answers, against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dataset_builder.problems import generate
from mmmult.statistics.analysis import (
    C50,
    PREDICTORS,
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
    independent_difference,
    lpm,
    paired_difference_interval,
    paired_gap,
    predictor_values,
    ranks,
    wilson,
)

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


def test_every_c50_carries_the_data_s_range_and_its_interval_uses_the_asked_level() -> None:
    """The range travels with each status (the view draws the fit only inside it); the interval is Fieller's
    at the z asked for."""
    assert fit_of(-3.9, 0.0, 0.01, 5, 70).c50() == C50("n/a", None, None, None, 5, 70)
    assert fit_of(-1.0, -0.05, 0.01, 6, 80).c50() == C50("below", -20.0, None, None, 6, 80)
    assert fit_of(5.0, -0.01, 0.001, 7, 90).c50() == C50("above", pytest.approx(500.0), None, None, 7, 90)
    for z in (1.0, Z95):
        low, high = fieller(3.0, -0.04, 0.01, 0.0, 0.002**2, z)
        assert fit_of(3.0, -0.04, 0.002, 8, 100).c50(z) == C50("estimate", 75.0, low, high, 8, 100)
    assert fit_of(3.0, -0.04, 0.002).c50(1.0).high < fit_of(3.0, -0.04, 0.002).c50().high  # a narrower level


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


def test_the_predicted_accuracy_is_the_logistic_curve() -> None:
    fit = fit_of(3.0, -0.04, 0.002)
    assert fit.predict([0, 75, 150]).tolist() == pytest.approx([1 / (1 + math.exp(-3.0)), 0.5, 1 / (1 + math.exp(3.0))])


@pytest.mark.parametrize(
    ("c50", "text"),
    [
        (C50("estimate", 75.4, 60.6, 90.5, 4, 324), "75 [61, 90]"),
        (C50("estimate", 75.4, None, 90.5, 4, 324), "75 [below 90]"),
        (C50("estimate", 75.4, 60.6, None, 4, 324), "75 [above 61]"),
        (C50("estimate", 11.2, -2.4, 16.1, 4, 324), "11 [below 16]"),  # C is never below the smallest C tested
        (C50("estimate", 300.2, 261.0, 340.7, 4, 324), "300 [above 261]"),  # nor above the largest
        (C50("estimate", 30.0, 3.2, 60.1, 4, 60), "30 [all of 4-60]"),  # past both ends
        (C50("estimate", 30.0, 4.0, 60.0, 4, 60), "30 [4, 60]"),  # a bound at the edge of the data is a number
        (C50("below", -20.0, None, None, 4.4, 324), "< 4"),
        (C50("above", 500.0, None, None, 4, 59.6), "> 60"),
        (C50("n/a", None, None, None, 4, 324), "n/a"),
    ],
)
def test_c50_is_written_as_the_board_shows_it(c50: C50, text: str) -> None:
    assert c50.text == text


def test_c50_at_the_edge_of_the_data_is_an_estimate_and_a_slope_just_significant_counts() -> None:
    at_min = fit_of(0.16, -0.04, 0.002)  # C50 = 4 = the smallest C
    at_max = fit_of(12.96, -0.04, 0.002)  # C50 = 324 = the largest C
    assert (at_min.c50().status, at_max.c50().status) == ("estimate", "estimate")
    assert at_min.c50().value == pytest.approx(4) and at_max.c50().value == pytest.approx(324)
    assert fit_of(3.0, -0.04, 0.04 / Z95 * 0.999).c50().status == "estimate"  # b1 + z se just below 0
    assert fit_of(3.0, -0.04, 0.04 / Z95 * 1.001).c50().status == "n/a"


def test_the_lpm_clustered_by_problem_uses_the_cluster_sandwich(synthetic) -> None:
    items, correct = synthetic
    rows = items.iloc[:400]
    frame = pd.concat([rows.assign(correct=correct[:400])] * 2)  # every problem answered alike twice
    fit = lpm(frame, ["C"], groups="problem_id")
    x = np.column_stack([np.ones(len(frame)), frame["C"].to_numpy(float)])
    y = frame["correct"].to_numpy(float)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    bread = np.linalg.inv(x.T @ x)
    scores = pd.DataFrame(x * residual[:, None]).groupby(frame["problem_id"].to_numpy()).sum().to_numpy()
    g, n, k = len(scores), len(frame), 2  # CR1: G / (G - 1) x (N - 1) / (N - K)
    cr1 = bread @ (scores.T @ scores) @ bread * g / (g - 1) * (n - 1) / (n - k)
    assert (fit.names, fit.n) == (("const", "C"), 800)
    assert fit.coef == pytest.approx(tuple(coef))
    assert fit.se == pytest.approx(tuple(np.sqrt(np.diag(cr1))))
    assert fit.se[1] > 1.4 * lpm(frame, ["C"]).se[1]  # two like outcomes of a problem are one problem's evidence


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_the_lpm_always_fits_an_intercept_even_beside_a_constant_column() -> None:
    frame = pd.DataFrame({"digit_total": [4] * 6, "C": [4, 8, 16, 4, 8, 16], "correct": [1, 1, 0, 1, 0, 0]})
    fit = lpm(frame, ["digit_total", "C"])
    assert fit.names == ("const", "digit_total", "C") and len(fit.coef) == 3
    # const and digit_total = 4 are collinear: the minimum-norm split of the intercept is (1, 4) / 17 of it
    slope, intercept = np.polyfit([4, 8, 16, 4, 8, 16], [1, 1, 0, 1, 0, 0], 1)
    assert fit.coef == pytest.approx((intercept / 17, 4 * intercept / 17, slope))


def test_every_predictor_is_computed_from_the_problem_s_digit_counts() -> None:
    items = pd.DataFrame(  # 4 x 305 and 3040 x 207: the counts of each operand's digits and non-zero digits
        {
            "C": [12, 28],
            "digit_total": [4, 7],
            "nonzero_total": [3, 4],
            "digits_a": [1, 4],
            "digits_b": [3, 3],
            "nonzero_a": [1, 2],
            "nonzero_b": [2, 2],
        }
    )
    values = predictor_values(items)
    assert list(values.columns) == list(PREDICTORS)
    assert values.to_dict("list") == {
        "C": [12, 28],
        "digit_total": [4, 7],
        "nonzero_total": [3, 4],
        "digit_steps": [3, 12],
        "nonzero_steps": [2, 4],
        "partial_products": [1, 2],
        "addition_steps": [0, 7],
    }


def test_predictors_that_cannot_be_fitted_are_skipped_and_the_rest_compared() -> None:
    """1-digit x 2-digit problems: total digits, digit steps, partial products and addition steps never vary."""
    nonzero_b = np.array([1, 2] * 10)
    correct = np.array([1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1])  # 8 of 10, then 4 of 10
    items = pd.DataFrame(
        {
            "digits_a": 1,
            "digits_b": 2,
            "digit_total": 3,
            "nonzero_a": 1,
            "nonzero_b": nonzero_b,
            "nonzero_total": 1 + nonzero_b,
            "C": 3 * (1 + nonzero_b),
        }
    )
    table = compare_predictors(items, correct)
    assert set(table["predictor"]) == {"C", "nonzero_total", "nonzero_steps"}
    assert dict(zip(table["predictor"], table["description"], strict=True)) == {
        name: PREDICTORS[name] for name in ("C", "nonzero_total", "nonzero_steps")
    }
    # each is a two-valued predictor: the fit reproduces each group's share (8 and 4 of 10); null: 12 of 20
    fitted = 10 * (0.8 * math.log(0.8) + 0.2 * math.log(0.2)) + 10 * (0.4 * math.log(0.4) + 0.6 * math.log(0.6))
    null = 20 * (0.6 * math.log(0.6) + 0.4 * math.log(0.4))
    assert table["pseudo_r2"].tolist() == pytest.approx([1 - fitted / null] * 3)
    assert table["aic"].tolist() == pytest.approx([-2 * fitted + 4] * 3)
    assert table["delta_aic"].tolist() == pytest.approx([0, 0, 0], abs=1e-9) and table["indistinguishable"].all()


def test_mcnemar_takes_outcomes_as_floats_states_its_statistic_and_refuses_unpaired_lists() -> None:
    first = [1.0] * 20 + [0.0] * 4 + [1.0] * 7 + [0.0] * 5  # 0/1 as floats, as a pivot of items gives them
    second = [0.0] * 20 + [1.0] * 4 + [1.0] * 7 + [0.0] * 5
    gap = paired_gap(np.array(first), np.array(second))
    assert (gap.both, gap.only_first, gap.only_second, gap.neither, gap.n) == (7, 20, 4, 5, 36)
    assert gap.statistic == 4  # the exact test's statistic: the smaller discordant count
    chi = paired_gap([*first, 1.0], [*second, 0.0])  # 25 discordant pairs: chi-square, Edwards' correction
    assert chi.statistic == pytest.approx((21 - 4 - 1) ** 2 / 25)
    for unpaired in (([1, 0], [1]), ([], [])):
        with pytest.raises(ValueError) as error:
            paired_gap(*unpaired)
        assert str(error.value) == "paired_gap needs two equally long, non-empty outcome lists"


def test_a_pair_that_never_disagrees_has_p_value_one() -> None:
    gap = paired_gap([1, 1, 0, 1], [1, 1, 0, 1])
    assert (gap.only_first, gap.only_second, gap.p_value, gap.accuracy_gap) == (0, 0, 1.0, 0.0)
    assert (gap.low, gap.high) == pytest.approx(paired_difference_interval(0, 0, 4))


def test_the_paired_interval_is_clipped_to_the_possible_differences() -> None:
    # one pair, discordant: p12, p21 = 1/3, 2/3 and a half-width of z sqrt((1 - 1/9) / 3) > 1
    half = Z95 * math.sqrt((1 / 3 + 2 / 3 - 1 / 9) / 3)
    assert paired_difference_interval(0, 1, 1) == pytest.approx((-1.0, -1 / 3 + half))
    assert paired_difference_interval(1, 0, 1) == pytest.approx((1 / 3 - half, 1.0))


@pytest.mark.parametrize(
    ("counts", "published"),
    [((56, 70, 48, 80), (0.0524, 0.3339)), ((5, 56, 0, 29), (-0.0381, 0.1926)), ((9, 10, 3, 10), (0.1705, 0.8090))],
)
def test_independent_difference_is_newcombe_s_hybrid_score_interval(counts, published) -> None:
    """Newcombe (1998), method 10, examples (a) and (d); the third from Wilson's intervals by hand."""
    difference, low, high = independent_difference(*counts)
    assert difference == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (low, high) == pytest.approx(published, abs=5e-5)


def test_ranks_tie_where_intervals_touch() -> None:
    assert ranks([0.5, 0.2], [0.6, 0.5]).tolist() == [1, 1]  # 0.5 is not above 0.5
    assert ranks([0.5, 0.2], [0.6, 0.4999]).tolist() == [1, 2]


def gee_items(rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    loads = rng.integers(4, 325, n)
    rows = []
    for modality, extra in (("text", 0.0), ("image", -0.01)):
        p = 1 / (1 + np.exp(-(2.5 + (-0.02 + extra) * loads)))
        correct = (rng.random(n) < p).astype(int)
        ids = [f"p{i}" for i in range(n)]
        frame = {"problem_id": ids, "C": loads, "modality": modality, "representation": "numerals", "correct": correct}
        rows.append(pd.DataFrame(frame))
    return pd.concat(rows, ignore_index=True)


def test_channel_gap_growth_is_the_exchangeable_gee_of_the_formula() -> None:
    import statsmodels.formula.api as smf
    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.families import Binomial

    items = gee_items(np.random.default_rng(5))
    (term,) = channel_gap_growth(items)
    frame = items.assign(c100=items["C"] / 100, image=(items["modality"] == "image").astype(float))
    model = smf.gee(
        "correct ~ c100 + image + image:c100", "problem_id", frame, family=Binomial(), cov_struct=Exchangeable()
    )
    result = model.fit()
    low, high = result.conf_int().loc["image:c100"]
    assert term.term == "modality image x C (per 100 of C)"
    assert (term.estimate, term.low, term.high, term.p_value) == pytest.approx(
        (result.params["image:c100"], low, high, result.pvalues["image:c100"]), rel=1e-6
    )


def test_channel_gap_growth_needs_two_channels_and_both_outcomes() -> None:
    items = gee_items(np.random.default_rng(6), 40)
    assert channel_gap_growth(items.assign(correct=1)) == []
    assert channel_gap_growth(items[items["modality"] == "text"]) == []


def test_fieller_at_the_significance_boundary_is_unbounded_and_without_variance_is_the_point() -> None:
    # b1 = -0.5 with a standard error of 0.25 at z = 2: b1^2 = z^2 v11 exactly, the slope just not significant
    assert fieller(3.0, -0.5, 0.01, 0.0, 0.0625, z=2.0) == (None, None)
    assert fit_of(3.0, -0.5, 0.25).c50(z=2.0).status == "n/a"
    # no sampling variance at all: the quadratic (3 - 0.5 t)^2 <= 0 holds at t = 6 only
    assert fieller(3.0, -0.5, 0.0, 0.0, 0.0) == (6.0, 6.0)


def test_a_fit_on_two_loads_reproduces_each_load_s_share() -> None:
    """With two values of C the maximum-likelihood curve passes through both shares (3/4 at 4, 1/4 at 16)."""
    x, y = [4] * 4 + [16] * 4, [1, 1, 1, 0, 1, 0, 0, 0]
    fit = fit_logistic(x, np.array(y, dtype=bool))  # outcomes may come as booleans
    ln3 = math.log(3)
    assert (fit.intercept, fit.slope) == pytest.approx((5 * ln3 / 3, -ln3 / 6))
    # inverse Fisher information: each load holds 4 outcomes of variance 3/16
    information = np.array([[1.5, 0.75 * 4 + 0.75 * 16], [0.75 * 4 + 0.75 * 16, 0.75 * 16 + 0.75 * 256]])
    assert np.array(fit.cov) == pytest.approx(np.linalg.inv(information))
    fitted = 8 * (0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert (fit.pseudo_r2, fit.aic) == pytest.approx((1 - fitted / (8 * math.log(0.5)), -2 * fitted + 4))
    assert (fit.n, fit.c_min, fit.c_max) == (8, 4.0, 16.0)


def test_three_outcomes_that_overlap_are_enough_for_a_fit() -> None:
    assert fit_logistic([4, 8, 16], [1, 0, 1]).n == 3


def test_a_load_without_items_counts_for_nothing_not_even_the_range() -> None:
    fit = fit_logistic(*counts_as_outcomes([4, 8, 16], [0, 4, 4], [0, 3, 1]))
    ln3 = math.log(3)
    assert (fit.intercept, fit.slope) == pytest.approx((3 * ln3, -ln3 / 4))  # 3/4 at 8, 1/4 at 16
    assert (fit.n, fit.c_min, fit.c_max) == (8, 8.0, 16.0)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([4, 8], [1, 0]), {}, NotEstimable, "a logistic fit needs both correct and wrong answers"),
        (([4, 8, 16], [1, 1, 1]), {}, NotEstimable, "a logistic fit needs both correct and wrong answers"),
        (([16, 16, 16], [1, 0, 1]), {}, NotEstimable, "a logistic fit on C needs more than one value of C"),
        (
            ([4, 8, 16, 32], [1, 1, 0, 0]),
            {},
            NotEstimable,
            "the fit did not converge (ValueError): the outcomes separate by load",
        ),
        (([4, 8], [1, 0, 1]), {}, ValueError, "2 loads, 3 outcomes and 3 weights: they must be as many"),
        (
            ([4, 8], [1, 0]),
            {"weights": [1, 2, 3]},
            ValueError,
            "2 loads, 2 outcomes and 3 weights: they must be as many",
        ),
        (
            ([4, 16], [1, 0]),
            {"weights": [1, 1], "groups": ["a", "b"]},
            ValueError,
            "a fit clustered by problem takes one row per outcome, not weighted counts",
        ),
    ],
)
def test_a_fit_that_cannot_be_made_says_why(args, kwargs, error, message) -> None:
    with pytest.raises(error) as raised:
        fit_logistic(*args, **kwargs)
    assert str(raised.value) == message


def test_wilson_is_undefined_without_outcomes_and_stays_within_0_and_1() -> None:
    assert all(math.isnan(v) for v in wilson(0, 0))
    assert wilson(16, 16)[1] == 1.0 and wilson(0, 27)[0] == 0.0  # where rounding would step outside


def test_two_problems_answered_alike_three_times_each_are_two_problems_of_evidence() -> None:
    # p = 1/2; cluster totals 3 and 0 deviate by 1.5 each: design effect 2/1 x 4.5 / 36 / (0.25 / 6) = 6
    pooled = clustered_proportion([1, 1, 1, 0, 0, 0], ["a", "a", "a", "b", "b", "b"])
    assert pooled.effective_n == pytest.approx(1.0)
    assert (pooled.low, pooled.high) == pytest.approx(wilson(0.5, 1.0))


def test_outcomes_that_disagree_within_a_problem_never_count_as_more_than_they_are() -> None:
    # each problem answered once right and once wrong: the design effect is 0, and n stays 4
    split = clustered_proportion([1, 0, 1, 0], ["a", "a", "b", "b"])
    assert split.effective_n == 4 and (split.low, split.high) == pytest.approx(wilson(2, 4))
