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


def test_the_true_c50_of_p_0_02_lies_in_the_base_range_and_of_p_0_005_to_0_0008_in_the_extended_range(
    base: list[Problem], extended: list[Problem]
) -> None:
    assert (min(p.C for p in base), max(p.C for p in base)) == (4, 324)
    assert (min(p.C for p in extended), max(p.C for p in extended)) == (102, 3600)
    assert true_c50s(base, 0.02) == [91, 176, 35]  # OT, DD, RC
    assert true_c50s(extended, 0.005) == [456, 966, 369]  # the seam: the extended set's anchor bands bracket it
    assert true_c50s(extended, 0.0008) == [2739, 3085, 2721]
    assert true_c50s(base, 0.005) == [319, 332, 359]  # at or past the base set's edge
    assert true_c50s(base, 0.0008) == [661, 531, 916]  # beyond the base set: it cannot state them
    assert true_c50s(extended, 0.02) == [-15, 129, 16]  # OT's and RC's below the extended set


def test_the_board_recovers_p_on_a_large_run(extended: list[Problem]) -> None:
    """The extended test problems answered by a DD executor with p = 0.0008 in six configs (independent draws),
    summarised as the board does: DD named, and p inside the clustered interval."""
    chance = np.tile(executor_chance(extended, "DD", 0.0008), 6)
    items = pd.DataFrame(
        {key: [getattr(p, key) for p in extended] * 6 for key in ("problem_id", "C", "a", "b")}
    ).assign(correct=(np.random.default_rng(0).random(len(chance)) < chance).astype(int))
    row = scope_fit(items)
    assert (row["n"], row["step_heuristic"]) == (13878, "DD")
    assert [round(row[k], 7) for k in ("step_low", "step_p", "step_high")] == [0.0007614, 0.0007967, 0.0008331]


def test_thirty_runs_of_a_resolved_executor_are_covered_as_the_benchmark_counts(extended: list[Problem]) -> None:
    cell = headroom(extended, "DD", 0.002, reps=30, seed=27)
    assert (round(cell.true_c50), cell.inside, cell.finite, cell.named) == (1883, True, 1.0, 1.0)
    assert (cell.c50 * 30, cell.p * 30) == pytest.approx((28, 29))
    assert round(cell.mean_p, 5) == 0.002


def test_a_c50_at_the_seam_is_stated_on_the_extended_set_and_not_on_the_base_set(
    base: list[Problem], extended: list[Problem]
) -> None:
    """OT at p = 0.005: its C50 lies at the base set's edge, where the base set rarely bounds it; the extended set's
    anchor bands (C 101-324) bound it in every run."""
    on_base, on_extended = (headroom(problems, "OT", 0.005, reps=30, seed=27) for problems in (base, extended))
    assert (round(on_base.true_c50), on_base.inside, round(on_base.finite * 30)) == (319, True, 1)
    assert (round(on_extended.true_c50), on_extended.inside, on_extended.finite) == (456, True, 1.0)
    assert (on_extended.c50 * 30, on_extended.p * 30) == pytest.approx((29, 29))


def test_a_c50_near_the_top_of_the_extended_range_is_stated(extended: list[Problem]) -> None:
    """RC at p = 0.0008: the extended set's top band reaches C 3,600, so the interval closes inside it."""
    cell = headroom(extended, "RC", 0.0008, reps=30, seed=27)
    assert (round(cell.true_c50), cell.c_max, cell.finite) == (2721, 3600, 1.0)
    assert (cell.c50 * 30, cell.p * 30) == pytest.approx((27, 27))


def test_an_executor_whose_c50_lies_past_the_set_is_never_stated_there(base: list[Problem]) -> None:
    cell = headroom(base, "RC", 0.002, reps=30, seed=27)
    assert (round(cell.true_c50), cell.inside, cell.finite) == (640, False, 0.0)
    assert np.isnan(cell.c50)
