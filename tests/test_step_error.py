"""The effective per-step error: exact where it has a closed form, and recovering each executor's heuristic and
p by simulation, on the board as in the analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from simulate import executor_coverage, executor_model, lm_eval_files

from dataset_builder.probe.worked import step_count
from dataset_builder.problems import generate
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.intake.ingest import Benchmark, check, read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.statistics.step_error import CHI2_95, fit_step_error, likeliest_step_error, steps_of

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


def test_the_board_shows_an_executor_s_per_step_error_beside_c50(tested, tmp_path) -> None:
    """Through files, ingest and store: a DD executor slipping at 0.02 on two configs gets DD and an interval
    around 0.02 in its row, equal to the analysis of its items."""
    benchmark = Benchmark({p.problem_id: p.as_dict() for p in tested})
    upload = read_upload(lm_eval_files(benchmark, ["mmmult_text_numerals", "mmmult_text_words"],
                                       executor_model("DD", 0.02, seed=1), "executor"))  # fmt: skip
    verdict = check(upload, benchmark)
    store = Store(tmp_path / "board.sqlite")
    store.add(Entry("executor DD", "simulated", "s", True), upload, verdict)
    row = Board(store, benchmark).table(modality="text").iloc[0]
    operands = [(int(p["a"]), int(p["b"])) for p in benchmark.values()] * 2
    direct = likeliest_step_error(operands, [i.correct for i in verdict.items], [i.problem_id for i in verdict.items])
    assert row["step_error"] == direct.text
    assert direct.heuristic == "DD" and direct.low <= 0.02 <= direct.high
    assert row["C50"] != "n/a"
