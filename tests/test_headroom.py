"""The headroom check's small version (benchmarks/headroom.py runs the full one): the executors' true C50 lies inside
the tested range of the set that should resolve it, and the board's per-step fit recovers p on a large run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.problems import Problem, generate, generate_extended
from mmmult.leaderboard.storage.summary import scope_fit
from tests.simulate import executor_chance, headroom, limit_c50


@pytest.fixture(scope="module")
def base() -> list[Problem]:
    return [p for p in generate() if p.split == "test"]


@pytest.fixture(scope="module")
def extended() -> list[Problem]:
    return [p for p in generate_extended() if p.split == "test"]


def true_c50s(problems: list[Problem], step_error: float) -> list[int]:
    return [round(limit_c50(problems, executor_chance(problems, h, step_error))) for h in HEURISTICS]


def test_the_true_c50_of_p_0_02_lies_in_the_base_range_and_of_p_0_0008_in_the_extended_range(
    base: list[Problem], extended: list[Problem]
) -> None:
    assert (min(p.C for p in base), max(p.C for p in base)) == (4, 324)
    assert (min(p.C for p in extended), max(p.C for p in extended)) == (328, 3190)
    assert true_c50s(base, 0.02) == [91, 176, 35]  # OT, DD, RC
    assert true_c50s(extended, 0.0008) == [2788, 2792, 2869]
    assert true_c50s(base, 0.0008) == [661, 531, 916]  # beyond the base set: it cannot state them
    assert true_c50s(extended, 0.02) == [-242, 253, -593]  # below the extended set


def test_the_board_recovers_p_on_a_large_run(extended: list[Problem]) -> None:
    """The extended test problems answered by a DD executor with p = 0.0008 in six configs (independent draws),
    summarised as the board does: DD named, and p inside the clustered interval."""
    chance = np.tile(executor_chance(extended, "DD", 0.0008), 6)
    items = pd.DataFrame(
        {key: [getattr(p, key) for p in extended] * 6 for key in ("problem_id", "C", "a", "b")}
    ).assign(correct=(np.random.default_rng(0).random(len(chance)) < chance).astype(int))
    row = scope_fit(items)
    assert (row["n"], row["step_heuristic"]) == (9252, "DD")
    assert [round(row[k], 7) for k in ("step_low", "step_p", "step_high")] == [0.000784, 0.0008237, 0.0008648]


def test_thirty_runs_of_a_resolved_executor_are_covered_as_the_benchmark_counts(extended: list[Problem]) -> None:
    cell = headroom(extended, "DD", 0.002, reps=30, seed=27)
    assert (round(cell.true_c50), cell.inside, cell.finite, cell.named) == (1779, True, 1.0, 1.0)
    assert (cell.c50 * 30, cell.p * 30) == pytest.approx((28, 28))
    assert round(cell.mean_p, 5) == 0.00197


def test_an_executor_whose_c50_lies_past_the_set_is_never_stated_there(base: list[Problem]) -> None:
    cell = headroom(base, "RC", 0.002, reps=30, seed=27)
    assert (round(cell.true_c50), cell.inside, cell.finite) == (640, False, 0.0)
    assert np.isnan(cell.c50)
