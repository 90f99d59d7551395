"""Every interval the board shows, checked by simulation with a known truth (a small, seeded version of
benchmarks/statistics.py, which runs 200 replications per scenario and prints the coverages)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataset_builder.problems import generate
from dataset_builder.tasks import MULTIPLY, tasks_of
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry
from mmmult.leaderboard.storage.summary import scope_fit
from mmmult.statistics.analysis import paired_gap
from tests.simulate import Truth, coverage, lm_eval_files, logistic_model

REPS = 60
LOW = 0.86
"""With 60 replications a 95% interval covers at least 86% of the time with probability > 0.999."""


@pytest.fixture(scope="module")
def loads() -> np.ndarray:
    return np.array([p.C for p in generate() if p.split == "test"], dtype=float)


@pytest.mark.parametrize(
    ("truth", "configs", "shared"),
    [(Truth(60, 0.05), 1, 0.0), (Truth(150, 0.03), 6, 1.0), (Truth(40, 0.08), 6, 0.5)],
    ids=["one config", "six configs, shared outcomes", "six configs, half shared"],
)
def test_slope_c50_accuracy_and_bin_intervals_cover_the_truth(loads, truth, configs, shared) -> None:
    result = coverage(loads, truth, configs, shared, REPS, seed=5)
    assert result["C50 stated"] == 1.0
    for measure in ("slope", "C50", "accuracy", "bins"):
        assert LOW <= result[measure] <= 1.0, (measure, result)


def test_without_clustering_pooled_intervals_would_be_far_too_narrow(loads) -> None:
    """The check above has teeth: the same pooled data with items treated as independent."""
    naive = coverage(loads, Truth(60, 0.05), 6, 1.0, REPS, seed=5, clustered=False)
    assert naive["slope"] < 0.8 and naive["C50"] < 0.8 and naive["bins"] < 0.8


def test_a_flat_model_never_gets_a_c50_number(loads) -> None:
    result = coverage(loads, Truth(60, 0.0), 1, 0.0, 30, seed=9)
    assert result["C50 stated"] <= 0.1  # a 5% test: "n/a" in about 95% of runs


def test_mcnemar_holds_its_level_and_the_paired_interval_covers() -> None:
    rng = np.random.default_rng(2)
    rejections, covered = 0, 0
    for _ in range(400):
        base = rng.random(300)
        first = base < 0.6
        second = np.where(rng.random(300) < 0.5, first, rng.random(300) < 0.6)  # same margins, correlated
        gap = paired_gap(first, second)
        rejections += gap.p_value < 0.05
        covered += gap.low <= 0.0 <= gap.high
    assert rejections / 400 <= 0.07
    assert covered / 400 >= 0.92


def test_the_stored_summary_is_the_direct_computation(store) -> None:
    """Through the real path (files, ingest, store): the board's numbers equal the analysis of the same outcomes."""
    problems = [p for p in generate() if p.split == "test"][:300]
    benchmark = Benchmark({p.problem_id: p.as_dict() for p in problems})
    tasks = [task.name for task in tasks_of(MULTIPLY)]  # the worked regime's: the board never pools the two
    upload = read_upload(lm_eval_files(benchmark, tasks, logistic_model(60, 0.05, seed=3)))
    verdict = check(upload, benchmark)
    sid = store.add(Entry("m", "F", "s", True), upload, verdict)
    with store.connect() as db:
        stored = dict(db.execute("SELECT * FROM fits WHERE submission_id = ? AND scope = 'all'", (sid,)).fetchone())
    frame = pd.DataFrame([vars(i) for i in verdict.items])
    assert len(frame) == 6 * 300
    direct = scope_fit(frame)
    for key in ("accuracy", "acc_low", "acc_high", "b0", "b1", "v11", "lpm_r2", "aggregate_r2", "step_p", "step_low"):
        assert stored[key] == pytest.approx(direct[key]), key
    assert stored["step_heuristic"] == direct["step_heuristic"]


@pytest.mark.parametrize("truth", [0.05, 0.3, 0.7])
def test_the_procedures_view_s_share_and_mean_intervals_cover_the_truth(truth: float) -> None:
    """The Procedures tab's cells (per byte and per token alike): Wilson intervals of preference, detection and
    match shares over a probe set's items, and mean +/- 1.96 SE of delta-losses and step gaps (skewed here)."""
    from mmmult.statistics.procedures import mean_interval, share

    rng = np.random.default_rng(int(truth * 100))
    shares, means, reps, n = 0, 0, 400, 150  # 150: the published HDS test split's size (about)
    for _ in range(reps):
        _, low, high, counted = share(pd.Series((rng.random(n) < truth).astype(float)))
        shares += low <= truth <= high and counted == n
        losses = pd.Series(rng.gamma(2.0, truth, n))  # mean 2 * truth, skewed like a loss
        _, low, high, counted = mean_interval(losses)
        means += low <= 2 * truth <= high and counted == n
    assert shares / reps >= 0.92 and means / reps >= 0.92, (shares / reps, means / reps)
    assert share(pd.Series([1.0, None, 0.0]))[3] == 2  # items outside a family's detection count are left out
