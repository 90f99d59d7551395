"""The effective per-step error: exact where it has a closed form, and recovering each executor's heuristic and
p by simulation, on the board as in the analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.probe.worked import step_count
from dataset_builder.problems import generate
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry
from mmmult.statistics.step_error import CHI2_95, fit_step_error, likeliest_step_error, steps_of
from tests.simulate import executor_coverage, executor_model, lm_eval_files

REPS = 60
LOW = 0.86
"""With 60 replications a 95% interval covers at least 86% of the time with probability > 0.999."""


@pytest.fixture(scope="module")
def tested() -> list:
    return [p for p in generate() if p.split == "test"]


def test_with_equal_step_counts_the_estimate_is_the_root_of_the_accuracy() -> None:
    fit = fit_step_error([3] * 10, [1] * 6 + [0] * 4)
    assert fit.p == pytest.approx(1 - 0.6 ** (1 / 3), abs=1e-7)
    assert fit.low < fit.p < fit.high


def test_all_right_gives_zero_with_the_likelihood_bound_above() -> None:
    fit = fit_step_error([2, 5, 9], [1, 1, 1])
    assert (fit.p, fit.low) == (0.0, 0.0)
    assert fit.high == pytest.approx(1 - math.exp(-CHI2_95 / 2 / 16), rel=1e-6)  # (1-p)^16 = exp(-1.92)
    none = fit_step_error([3, 3, 3], [0, 0, 0])
    assert (none.p, none.high) == (1.0, 1.0)
    assert none.low == pytest.approx(1 - (1 - math.exp(-CHI2_95 / 2 / 3)) ** (1 / 3), rel=1e-6)  # 3 log(1-q^3) = -1.92


def test_outcomes_repeated_in_configs_widen_the_interval_when_clustered_by_problem() -> None:
    rng = np.random.default_rng(4)
    steps = rng.integers(1, 40, 300)
    correct = (rng.random(300) < 0.97**steps).astype(float)
    twice, groups = np.tile(steps, 2), np.tile(np.arange(300), 2)
    naive = fit_step_error(twice, np.tile(correct, 2))
    clustered = fit_step_error(twice, np.tile(correct, 2), groups)
    single = fit_step_error(steps, correct)
    assert clustered.p == pytest.approx(naive.p) == pytest.approx(single.p, abs=1e-6)
    assert clustered.high - clustered.low > 1.3 * (naive.high - naive.low)
    assert clustered.high - clustered.low == pytest.approx(single.high - single.low, rel=0.2)


def test_bad_inputs_are_refused() -> None:
    for steps, correct in (([], []), ([1, 2], [1]), ([0, 3], [1, 1])):
        with pytest.raises(ValueError, match="must pair up"):
            fit_step_error(steps, correct)


def test_steps_of_are_the_worked_solutions_step_counts() -> None:
    assert steps_of(47, 36) == (step_count(47, 36, "OT"), step_count(47, 36, "DD"), step_count(47, 36, "RC"))


@pytest.mark.parametrize(("heuristic", "step_error"), [("OT", 0.01), ("DD", 0.03), ("RC", 0.1)])
def test_executors_intervals_cover_their_truth_and_the_fit_names_their_heuristic(
    tested, heuristic: str, step_error: float
) -> None:
    result = executor_coverage(tested, heuristic, step_error, configs=2, reps=REPS, seed=11)
    assert result["picked"][heuristic] >= 0.95 * REPS, result
    for measure in ("accuracy", "bins", "step error"):
        assert LOW <= result[measure] <= 1.0, (measure, result)
    if result["C50 stated"]:
        assert result["C50"] >= LOW, result


def test_the_board_shows_an_executor_s_per_step_error_beside_c50(tested, store) -> None:
    """Through files, ingest and store: a DD executor slipping at 0.02 on two configs gets DD and an interval
    around 0.02 in its row, equal to the analysis of its items."""
    benchmark = Benchmark({p.problem_id: p.as_dict() for p in tested})
    upload = read_upload(lm_eval_files(benchmark, ["mmmult_text_numerals", "mmmult_text_words"],
                                       executor_model("DD", 0.02, seed=1), "executor"))  # fmt: skip
    verdict = check(upload, benchmark)
    store.add(Entry("executor DD", "simulated", "s", True), upload, verdict)
    row = Board(store, benchmark).table(modality="text").iloc[0]
    operands = [(int(p["a"]), int(p["b"])) for p in benchmark.values()] * 2
    direct = likeliest_step_error(operands, [i.correct for i in verdict.items], [i.problem_id for i in verdict.items])
    assert row["step_error"] == direct.text
    assert direct.heuristic == "DD" and direct.low <= 0.02 <= direct.high
    assert row["C50"] != "n/a"


# Step counts (OT, DD, RC) of the problems the tie tests use, checked below so that the tests say what they test.
STEPS = {(16, 26): (5, 5, 5), (119, 91): (7, 7, 7), (91, 101): (7, 5, 5), (2, 2): (1, 1, 10), (10, 101): (7, 3, 7),
         (2, 20): (2, 1, 7), (101, 101): (11, 7, 5), (10, 25): (5, 2, 4), (110, 110): (11, 7, 9), (20, 25): (5, 2, 3),
         (11, 16): (5, 5, 7)}  # fmt: skip


def _items(*groups: tuple[tuple[int, int], int, int]) -> tuple[list[tuple[int, int]], list[int]]:
    """Operands and outcomes: for each (problem, items, right), `items` copies of the problem, `right` of them right."""
    operands, correct = [], []
    for problem, items, right in groups:
        operands += [problem] * items
        correct += [1] * right + [0] * (items - right)
    return operands, correct


def _log_likelihoods(operands: list[tuple[int, int]], correct: list[int]) -> list[float]:
    counts = np.array([steps_of(a, b) for a, b in operands], dtype=float)
    return [fit_step_error(counts[:, i], correct).log_likelihood for i in range(3)]


def test_the_tie_tests_step_counts_and_the_heuristics_order() -> None:
    assert {problem: steps_of(*problem) for problem in STEPS} == STEPS
    assert HEURISTICS == ("OT", "DD", "RC")


@pytest.mark.parametrize(
    ("groups", "tied", "named"),
    [
        # the same step counts under all three: OT
        ((((16, 26), 4, 3), ((119, 91), 4, 1)), (0, 1, 2), "OT"),
        # DD and RC count the same steps and fit better than OT: DD
        ((((91, 101), 4, 2), ((16, 26), 4, 2)), (1, 2), "DD"),
        # OT and DD count the same steps and fit better than RC: OT
        ((((2, 2), 4, 4), ((16, 26), 4, 2)), (0, 1), "OT"),
        # OT and RC count the same steps and fit better than DD: OT
        ((((10, 101), 4, 1), ((16, 26), 4, 3)), (0, 2), "OT"),
    ],
)
def test_heuristics_with_the_same_step_counts_tie_and_the_first_of_ot_dd_rc_is_named(
    groups: tuple, tied: tuple[int, ...], named: str
) -> None:
    operands, correct = _items(*groups)
    likelihoods = _log_likelihoods(operands, correct)
    best = max(likelihoods)
    assert tuple(i for i, ll in enumerate(likelihoods) if ll == best) == tied  # an exact tie, the others worse
    fit = likeliest_step_error(operands, correct)
    assert fit.heuristic == named
    assert fit == fit_step_error([steps_of(a, b)[HEURISTICS.index(named)] for a, b in operands], correct,
                                 heuristic=named)  # fmt: skip


@pytest.mark.parametrize("right", [0, 8])
def test_all_right_or_all_wrong_fits_every_heuristic_alike_and_names_ot(right: int) -> None:
    operands, correct = _items(((2, 2), 4, right // 2), ((101, 101), 4, right // 2))
    fit = likeliest_step_error(operands, correct)
    assert (fit.heuristic, fit.p, fit.log_likelihood, fit.n) == ("OT", 0.0 if right else 1.0, 0.0, 8)
    assert _log_likelihoods(operands, correct) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("right", range(1, 10))
@pytest.mark.parametrize("problem", [(91, 101), (10, 101), (2, 2), (101, 101)])
def test_one_problem_repeated_fits_every_heuristic_alike_and_names_ot(problem: tuple[int, int], right: int) -> None:
    """With one step count per heuristic, each fits (1 - p) ** steps = accuracy exactly: the same likelihood,
    up to the optimiser's rounding, which must not pick the heuristic (it picked DD or RC before)."""
    operands, correct = _items((problem, 10, right))
    fit = likeliest_step_error(operands, correct, groups=[0] * 10)
    ot_steps = STEPS[problem][0]
    assert fit.heuristic == "OT"
    assert fit.p == pytest.approx(1 - (right / 10) ** (1 / ot_steps), abs=1e-8)
    assert fit.text.startswith("OT ")


def test_the_named_heuristic_does_not_depend_on_the_items_order() -> None:
    rng = np.random.default_rng(7)
    cases = [_items(((91, 101), 10, 3)), _items(((91, 101), 6, 1), ((10, 101), 6, 5)),
             _items(((16, 26), 4, 3), ((119, 91), 4, 1)), _items(((2, 20), 4, 1), ((101, 101), 4, 0))]  # fmt: skip
    for operands, correct in cases:
        first = likeliest_step_error(operands, correct)
        for _ in range(10):
            order = rng.permutation(len(operands))
            again = likeliest_step_error([operands[i] for i in order], [correct[i] for i in order])
            assert again.heuristic == first.heuristic
            assert again.p == pytest.approx(first.p, abs=1e-8)


@pytest.mark.parametrize(
    ("groups", "named", "runner_up", "margin"),
    [
        # a later heuristic that fits a little better is named over an earlier one
        ((((2, 20), 4, 1), ((101, 101), 4, 0)), "DD", "OT", 0.0016689),
        ((((10, 25), 4, 3), ((110, 110), 4, 2)), "RC", "OT", 0.0011874),
        ((((20, 25), 4, 3), ((11, 16), 4, 2)), "RC", "DD", 0.0001058),
        # and an earlier one that fits a little better over a later one
        ((((2, 2), 4, 1), ((101, 101), 4, 0)), "OT", "DD", 0.0002421),
    ],
)
def test_a_near_tie_names_the_heuristic_that_fits_better(
    groups: tuple, named: str, runner_up: str, margin: float
) -> None:
    operands, correct = _items(*groups)
    likelihoods = dict(zip(HEURISTICS, _log_likelihoods(operands, correct), strict=True))
    ranked = sorted(HEURISTICS, key=likelihoods.__getitem__, reverse=True)
    assert ranked[:2] == [named, runner_up]
    assert likelihoods[named] - likelihoods[runner_up] == pytest.approx(margin, abs=1e-7)
    fit = likeliest_step_error(operands, correct)
    assert (fit.heuristic, fit.log_likelihood) == (named, likelihoods[named])
