"""The leaderboard table built from stored, re-scored submissions."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from dataset_builder.tasks import MULTIPLY, TASKS, Task
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.columns import COLUMNS
from mmmult.leaderboard.display.model_tables import paired_gaps, perception_table, predictor_table
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Upload, read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.statistics.analysis import fit_logistic
from tests.simulate import lm_eval_files, right, wrong

RUN = ("mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_numerals")


def degraded(reference: Benchmark, keep: float, seed: int) -> Upload:
    """A run that is wrong on a seeded share of the multiplications and wherever C > 30, as real models fall with C."""

    def respond(task: Task, problem: dict) -> str:
        draw = random.Random(f"{seed}:{task.name}:{problem['problem_id']}").random()
        if task.kind is MULTIPLY and (draw > keep or problem["C"] > 30):
            return wrong(task, problem)
        return right(task, problem)

    return read_upload(lm_eval_files(reference, RUN, respond))


def test_one_row_per_model_with_scores_and_counts(run_files, reference, store: Store) -> None:
    upload = read_upload(run_files)
    store.add(Entry("reference", "Reference", "a", True, 0.5), upload, check(upload, reference))
    weaker = degraded(reference, keep=0.7, seed=1)
    store.add(Entry("weaker", "Test", "b", False, 7.0), weaker, check(weaker, reference))
    later = degraded(reference, keep=1.0, seed=2)  # a later run: right wherever C <= 30
    store.add(Entry("weaker", "Test", "b", False, 7.0), later, check(later, reference))

    board = Board(store, reference)
    table = board.table(modality="text")
    assert list(table["model"]) == ["reference", "weaker"]
    top = table.iloc[0]
    assert (top["score"], top["text-numerals"], top["perception"], top["coverage"]) == (1.0, 1.0, 1.0, "2/2")
    assert top["C50"] == "n/a"  # all correct: no fit, no C50
    assert table.set_index("model").loc["weaker", "submissions"] == 2
    assert "image-words" not in table.columns or math.isnan(top["image-words"])

    every = board.table(every_submission=True, modality="text")
    assert len(every) == 3
    runs = every[every["model"] == "weaker"].sort_values("submission_id")
    assert runs["score"].iloc[0] <= runs["score"].iloc[1] < 1.0
    assert table.set_index("model").loc["weaker", "submission_id"] == runs["submission_id"].iloc[1]
    mine = later.results.results
    expected = (mine["mmmult_text_numerals"]["exact_match,final-integer"] +
                mine["mmmult_text_words"]["exact_match,final-integer"]) / 2  # fmt: skip
    assert table.set_index("model").loc["weaker", "score"] == pytest.approx(expected)


def full_run(reference: Benchmark, seed: int, keep: float) -> Upload:
    """A run of every task, wrong on a seeded share of the multiplications."""

    def respond(task: Task, problem: dict) -> str:
        draw = random.Random(f"{seed}:{task.name}:{problem['problem_id']}").random()
        return wrong(task, problem) if task.kind is MULTIPLY and draw > keep else right(task, problem)

    return read_upload(lm_eval_files(reference, list(TASKS), respond))


def test_a_partial_run_is_ranked_only_in_the_scopes_it_covers(run_files, reference, store: Store) -> None:
    text_only = read_upload(run_files)  # text tasks only, all right
    store.add(Entry("text-only", "A", "a", True), text_only, check(text_only, reference))
    full = full_run(reference, seed=4, keep=0.6)
    sid = store.add(Entry("full", "B", "b", True), full, check(full, reference))
    board = Board(store, reference)
    overall = board.table().set_index("model")
    assert overall.loc["full", "coverage"] == "6/6" and overall.loc["text-only", "coverage"] == "2/6"
    assert overall.loc["full", "rank"] == 1 and pd.isna(overall.loc["text-only", "rank"])
    assert math.isnan(overall.loc["text-only", "score"])  # no headline score outside what it ran
    assert list(board.table()["model"]) == ["full", "text-only"]  # the scored one first
    text = board.table(modality="text").set_index("model")
    assert text.loc["text-only", "rank"] == 1 and text.loc["text-only", "score"] == 1.0
    assert text.loc["full", "coverage"] == "2/2"
    items = board.items(sid)
    multiply = items[(items["kind"] == "multiply") & (items["regime"] == "worked")]  # the default regime's
    in_text = multiply[multiply["config"].isin(["text-numerals", "text-words"])]["correct"].mean()
    assert text.loc["full", "score"] == pytest.approx(in_text) != multiply["correct"].mean()  # text's, not all's


def test_a_board_whose_build_has_no_audio_ranks_runs_of_every_config_it_has(reference, store: Store) -> None:
    silent = Benchmark(reference.problems, ("text-numerals", "text-words", "image-numerals", "image-words"))
    tasks = [f"mmmult_{c.replace('-', '_')}" for c in silent.configs]
    run = read_upload(lm_eval_files(silent, tasks, right))
    store.add(Entry("m", "F", "s", True), run, check(run, silent))
    row = Board(store, silent).table().iloc[0]
    assert (row["coverage"], row["score"], row["rank"]) == ("4/4", 1.0, 1)
    assert Board(store, reference).table().iloc[0]["coverage"] == "4/6"  # a build with audio wants its runs too


def test_self_reported_runs_are_hidden_by_default_and_marked_when_shown(run_files, reference, store: Store) -> None:
    rescored = read_upload(run_files)
    store.add(Entry("rescored", "A", "a", True), rescored, check(rescored, reference))
    claimed = read_upload([(n, d) for n, d in run_files if not n.startswith("samples_mmmult_text_words")])
    store.add(Entry("claims", "B", "b", True), claimed, check(claimed, reference))
    board = Board(store, reference)
    assert list(board.table(modality="text")["model"]) == ["rescored"]
    shown = board.table(modality="text", self_reported=True).set_index("model")
    assert shown.loc["claims", "status"] == "self-reported"
    assert shown.loc["claims", "text-words self-reported"] and not shown.loc["claims", "text-numerals self-reported"]
    assert shown.loc["claims", "coverage"] == "1/2" and pd.isna(shown.loc["claims", "rank"])


def test_ranks_tie_where_score_intervals_overlap(reference, store: Store) -> None:
    for name, keep in (("a", 0.95), ("b", 0.9), ("c", 0.2)):
        run = full_run(reference, seed=ord(name), keep=keep)
        store.add(Entry(name, "F", name, True), run, check(run, reference))
    table = Board(store, reference).table().set_index("model")
    for model in table.index:
        above = (table["score_low"] > table.loc[model, "score_high"]).sum()
        assert table.loc[model, "rank"] == 1 + above
    assert table.loc["a", "rank"] == table.loc["b", "rank"] == 1  # 11 problems: wide, overlapping intervals


def test_items_carry_the_problem_statistics(run_files, reference, store: Store) -> None:
    upload = read_upload(run_files)
    sid = store.add(Entry("reference", "Reference", "a", True), upload, check(upload, reference))
    detail = Board(store, reference).items(sid)
    assert len(detail) == 3 * len(reference)
    row = detail.iloc[0]
    assert row["C"] == reference[row["problem_id"]]["C"]
    assert set(detail["kind"]) == {"multiply", "perceive"}


def test_model_analysis_pairs_configs_on_the_same_problems(run_files, reference, store: Store) -> None:
    weaker = degraded(reference, keep=0.7, seed=1)
    sid = store.add(Entry("weaker", "Test", "b", False), weaker, check(weaker, reference))
    detail = Board(store, reference).items(sid)
    gaps = paired_gaps(detail)
    assert gaps[["first", "second", "n"]].values.tolist() == [["text-numerals", "text-words", len(reference)]]
    numerals = weaker.results.results["mmmult_text_numerals"]["exact_match,final-integer"]
    assert gaps["accuracy_first"].iloc[0] == numerals
    both = detail[detail["kind"] == "multiply"].pivot_table(index="problem_id", columns="config", values="correct")
    only_first = int(((both["text-numerals"] == 1) & (both["text-words"] == 0)).sum())
    only_second = int(((both["text-numerals"] == 0) & (both["text-words"] == 1)).sum())
    assert (gaps["only_first"].iloc[0], gaps["only_second"].iloc[0]) == (only_first, only_second)
    expected = binomtest(only_first, only_first + only_second, 0.5).pvalue if only_first + only_second else 1.0
    assert gaps["mcnemar_p"].iloc[0] == pytest.approx(expected)
    assert list(predictor_table(detail).columns)[:4] == ["predictor", "description", "pseudo_r2", "aic"]


def test_summaries_match_the_items_they_summarise(run_files, reference, store: Store) -> None:
    weaker = degraded(reference, keep=0.7, seed=1)
    sid = store.add(Entry("weaker", "Test", "b", False), weaker, check(weaker, reference))
    board = Board(store, reference)
    detail, cells = board.items(sid), board.cells([sid])
    numerals = detail[detail["task"] == "mmmult_text_numerals"]
    read = detail[detail["task"] == "mmmult_perceive_text_numerals"].set_index("problem_id")["correct"]
    mine = cells[cells["config"] == "text-numerals"].set_index("C")
    for c, rows in numerals.groupby("C"):
        both = int((rows["correct"].to_numpy() & read[rows["problem_id"]].to_numpy()).sum())
        assert mine.loc[c, ["n", "correct", "read_n", "read", "read_correct"]].tolist() == [
            len(rows),
            rows["correct"].sum(),
            len(rows),
            read[rows["problem_id"]].sum(),
            both,
        ]
    assert cells[cells["config"] == "text-words"]["read_n"].sum() == 0  # no perception task for text-words
    multiply = detail[detail["kind"] == "multiply"]
    with closing(store.connect()) as db:
        fits = pd.read_sql_query("SELECT * FROM fits WHERE submission_id = ?", db, params=(sid,)).set_index("scope")
        bins = pd.read_sql_query("SELECT * FROM bins WHERE submission_id = ? AND scope = 'all'", db, params=(sid,))
    assert set(fits.index) == {"all", "text", "numerals", "words", "text-numerals", "text-words"}
    assert fits.loc["all", ["n", "correct"]].tolist() == [len(multiply), multiply["correct"].sum()]
    assert fits.loc["all", "accuracy"] == multiply["correct"].mean()
    assert (
        fits.loc["text-words", "configs"] == "text-words" and fits.loc["all", "configs"] == "text-numerals,text-words"
    )
    assert (fits.loc["all", "c_min"], fits.loc["all", "c_max"]) == (multiply["C"].min(), multiply["C"].max())
    for row in bins.itertuples():
        low, high = (int(v) for v in row.band.split("-"))
        inside = multiply[(multiply["C"] >= low) & (multiply["C"] <= high)]
        assert (row.n, row.correct, row.mean_C) == (
            len(inside),
            inside["correct"].sum(),
            pytest.approx(inside["C"].mean()),
        )
    whole = fit_logistic(multiply["C"], multiply["correct"], groups=multiply["problem_id"])
    assert fits.loc["all", "b1"] == pytest.approx(whole.slope) and fits.loc["all", "v11"] == pytest.approx(
        whole.slope_se**2
    )
    table = board.table(modality="text", representation="words")
    assert table["score"].iloc[0] == multiply[multiply["config"] == "text-words"]["correct"].mean()
    assert board.table(modality="image").empty  # this run has no image task


def test_perception_table_splits_accuracy_by_correct_reading(run_files, reference, store: Store) -> None:
    weaker = degraded(reference, keep=0.7, seed=1)
    sid = store.add(Entry("weaker", "Test", "b", False), weaker, check(weaker, reference))
    table = perception_table(Board(store, reference).cells([sid])).set_index("config")
    numerals = weaker.results.results["mmmult_text_numerals"]["exact_match,final-integer"]
    assert table.loc["text-numerals", ["problems", "accuracy", "perception"]].tolist() == [
        len(reference),
        numerals,
        1.0,
    ]
    assert table.loc["text-numerals", "accuracy_given_read"] == numerals  # the reference reads every problem
    assert math.isnan(table.loc["text-numerals", "accuracy_given_misread"])
    assert math.isnan(table.loc["text-words", "perception"])


def test_a_store_from_before_summaries_is_summarised_on_open(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    upload = read_upload(run_files)
    sid = store.add(Entry("reference", "Reference", "a", True), upload, check(upload, reference))
    with closing(store.connect()) as db:
        cells_before = pd.read_sql_query("SELECT * FROM load_cells ORDER BY config, C", db)
        db.execute("DELETE FROM load_cells")
        db.execute("DELETE FROM fits")
    Board(store, reference)
    with closing(store.connect()) as db:
        cells_after = pd.read_sql_query("SELECT * FROM load_cells ORDER BY config, C", db)
    pd.testing.assert_frame_equal(cells_after, cells_before)
    assert store.counts()["fits"] == 6  # all, text, numerals, words, text-numerals, text-words
    assert Board(store, reference).table()["submission_id"].tolist() == [sid]
    with closing(store.connect()) as db:  # a store summarised by an earlier version of the board
        db.execute("UPDATE meta SET value = '1' WHERE key = 'summary_version'")
    Store(store.path)
    assert store.counts()["fits"] == 0
    Board(store, reference)
    assert store.counts()["fits"] == 6


def wrong_above(limit: int, tasks=RUN) -> callable:
    """A run right on every problem with C <= limit and wrong above it (a multiplication wrong, a reading too)."""

    def respond(task: Task, problem: dict) -> str:
        return right(task, problem) if problem["C"] <= limit else wrong(task, problem)

    return respond


def test_draws_are_the_latest_published_run_and_every_fresh_draw_of_one_model(reference, store: Store) -> None:
    numerals = ["mmmult_text_numerals"]

    def add(name: str, limit: int, seed: int | None = None, tasks=RUN) -> int:
        upload = read_upload(lm_eval_files(reference, tasks, wrong_above(limit)))
        return store.add(Entry(name, "F", "s", True, seed=seed), upload, check(upload, reference))

    add("m", 10, tasks=numerals)  # an earlier published run: replaced by the later one
    latest = add("m", 30)
    fresh_11 = add("m", 20, seed=11, tasks=numerals)
    fresh_12 = add("m", 15, seed=12, tasks=numerals)
    add("other", 40, tasks=numerals)
    claimed = read_upload([(n, d) for n, d in lm_eval_files(reference, RUN, right) if "samples_mmmult_text_w" not in n])
    store.add(Entry("m", "F", "s", True), claimed, check(claimed, reference))  # partly self-reported: not a draw
    draws = Board(store, reference).draws("m")
    n, loads = len(reference), [p["C"] for p in reference.values()]

    def right_at_most(limit: int) -> int:
        return sum(c <= limit for c in loads)

    assert sorted(draws.columns) == ["config", "correct", "n", "score", "seed", "submission_id"]
    assert draws["correct"].dtype == np.int64  # counts
    rows = [
        (r.submission_id, None if pd.isna(r.seed) else int(r.seed), r.config, r.n, r.correct)
        for r in draws.itertuples()
    ]
    assert sorted(rows[:2]) == [  # the latest public run re-scored in full, first (no perception task)
        (latest, None, "text-numerals", n, right_at_most(30)),
        (latest, None, "text-words", n, right_at_most(30)),
    ]
    assert rows[2:] == [  # then the fresh draws, latest first
        (fresh_12, 12, "text-numerals", n, right_at_most(15)),
        (fresh_11, 11, "text-numerals", n, right_at_most(20)),
    ]
    assert list(draws["score"]) == [row[4] / n for row in rows]
    assert Board(store, reference).draws("nobody").empty


def test_bins_and_fits_are_those_of_the_chosen_submissions_in_the_chosen_scope(reference, store: Store) -> None:
    text = ["mmmult_text_numerals", "mmmult_text_words"]
    sids = {}

    def add(limit: int) -> None:
        upload = read_upload(lm_eval_files(reference, text, wrong_above(limit)))
        sids[limit] = store.add(Entry(f"m{limit}", "F", "s", True), upload, check(upload, reference))

    add(20)
    board = Board(store, reference)
    both = [sids[20], sids[20] + 1]
    assert list(board.table()["model"]) == ["m20"] and set(board.cells(both)["submission_id"]) == {sids[20]}
    assert set(board.bins(both, "text")["submission_id"]) == {sids[20]}
    add(30)  # the board reads what is stored since
    assert list(board.table()["model"]) == ["m20", "m30"] and set(board.cells(both)["submission_id"]) == set(both)
    assert set(board.bins(both, "text")["submission_id"]) == set(both) and sids[30] == both[1]
    loads = [p["C"] for p in reference.values()]

    def band(low: int, high: int, limit: int, configs: int = 1) -> tuple:
        inside = [c for c in loads if low <= c <= high]
        return (f"{low}-{high}", configs * len(inside), configs * sum(c <= limit for c in inside))

    bins = board.bins([sids[20]], "text-numerals")
    assert set(bins["submission_id"]) == {sids[20]} and set(bins["scope"]) == {"text-numerals"}
    expected = [band(4, 25, 20), band(26, 50, 20), band(51, 100, 20)]
    assert [(b.band, b.n, b.correct) for b in bins.itertuples()] == [e for e in expected if e[1]]
    pooled = board.bins([sids[30]], "text")
    assert [(b.band, b.n, b.correct) for b in pooled.itertuples()] == [
        e for e in [band(4, 25, 30, 2), band(26, 50, 30, 2), band(51, 100, 30, 2)] if e[1]
    ]
    assert board.bins([], "text").empty

    fits = board.fits([sids[20], sids[30]], "text").set_index("submission_id")
    assert sorted(fits.index) == sorted(sids.values()) and set(fits["scope"]) == {"text"}
    for limit, sid in sids.items():
        right_ones = 2 * sum(c <= limit for c in loads)
        assert fits.loc[sid, ["configs", "n", "correct"]].tolist() == [
            "text-numerals,text-words",
            2 * len(loads),
            right_ones,
        ]
        assert fits.loc[sid, "accuracy"] == right_ones / (2 * len(loads))
    words = board.fits([sids[30]], "text-words")
    assert words[["submission_id", "configs", "n"]].values.tolist() == [[sids[30], "text-words", len(loads)]]


Z = 1.959963984540054


def wilson_interval(k: float, n: float) -> tuple[float, float]:
    """Wilson's score interval from its textbook formula."""
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def alpha(task: Task, problem: dict) -> str:
    """Multiplies right where C <= 25 except C = 21, and reads every problem with C < 50."""
    ok = (problem["C"] <= 25 and problem["C"] != 21) if task.kind is MULTIPLY else problem["C"] < 50
    return right(task, problem) if ok else wrong(task, problem)


def self_reported(files: list[tuple[str, bytes]], claims: dict[str, float]) -> list[tuple[str, bytes]]:
    """The run without the samples of the `claims` tasks, whose results.json reports these headline values."""
    out = []
    for name, data in files:
        if name.startswith("results_"):
            results = json.loads(data)
            for task, value in claims.items():
                results["results"][task][TASKS[task].headline_key] = value
            out.append((name, json.dumps(results).encode()))
        elif not any(name.startswith(f"samples_{task}_") for task in claims):
            out.append((name, data))
    return out


@pytest.fixture(scope="module")
def shown(reference, tmp_path_factory: pytest.TempPathFactory) -> tuple[Board, dict[str, int]]:
    """Three full text runs (two perfect: a tie), and a model with a re-scored run of one task and a later,
    partly self-reported run."""
    store = Store(tmp_path_factory.mktemp("shown") / "board.sqlite")
    sids = {}

    def add(key: str, entry: Entry, files: list[tuple[str, bytes]]) -> None:
        upload = read_upload(files)
        sids[key] = store.add(entry, upload, check(upload, reference))

    add("alpha", Entry("alpha", "A", "ann", True, 7.0, "https://a.example"), lm_eval_files(reference, RUN, alpha))
    add("gamma", Entry("gamma", "G", "gil", True, 70.0), lm_eval_files(reference, RUN, right))
    add("beta", Entry("beta", "B", "bob", False), lm_eval_files(reference, RUN, lambda t, p: right(t, p) + " (b)"))
    add("claims", Entry("claims", "C", "cy", True), lm_eval_files(reference, ["mmmult_text_numerals"], wrong))
    later = lm_eval_files(reference, ["mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_words"], right)
    claims = {"mmmult_text_words": 0.5, "mmmult_perceive_text_words": 0.75}
    add("claims later", Entry("claims", "C", "cy", True), self_reported(later, claims))
    return Board(store, reference), sids


def test_a_row_holds_its_scope_s_accuracy_interval_fit_and_r2_from_the_items(shown, reference) -> None:
    import statsmodels.api as sm
    from scipy.stats import linregress

    board, _ = shown
    table = board.table(modality="text", representation="numerals")
    assert list(table.columns) == COLUMNS
    assert list(table["model"]) == ["beta", "gamma", "alpha", "claims"]  # by score, a tie by name
    row = table.set_index("model").loc["alpha"]
    problems = sorted(reference.values(), key=lambda p: p["problem_id"])
    loads = np.array([p["C"] for p in problems], dtype=float)
    y = np.array([int(c <= 25 and c != 21) for c in loads])
    k, n = int(y.sum()), len(y)
    assert (row["score"], row["text-numerals"], row["coverage"]) == (k / n, k / n, "1/1")
    assert (row["score_low"], row["score_high"]) == pytest.approx(wilson_interval(k, n))
    read = sum(c < 50 for c in loads) / n
    assert read != k / n and (row["perception"], row["text-numerals read"]) == (
        pytest.approx(read),
        pytest.approx(read),
    )
    assert math.isnan(row["text-words read"]) and row["text-numerals self-reported"] != True  # noqa: E712
    logit = sm.Logit(y, sm.add_constant(loads)).fit(disp=0, cov_type="cluster", cov_kwds={"groups": np.arange(n)})
    (b0, b1), cov = logit.params, logit.cov_params()
    assert (row["slope"], row["slope_se"]) == pytest.approx((b1, math.sqrt(cov[1, 1])))
    assert row["pseudo_r2"] == pytest.approx(logit.prsquared)
    assert row["lpm_r2"] == pytest.approx(np.corrcoef(loads, y)[0, 1] ** 2)
    per_c = pd.Series(y).groupby(loads).mean()
    assert row["aggregate_r2"] == pytest.approx(linregress(per_c.index, per_c.to_numpy()).rvalue ** 2)
    # C50 = -b0/b1, with Fieller's bounds: the roots of (b0 + t b1)^2 = z^2 Var(b0 + t b1)
    assert b1 + Z * math.sqrt(cov[1, 1]) < 0
    low, high = sorted(np.roots([b1**2 - Z**2 * cov[1, 1], 2 * (b0 * b1 - Z**2 * cov[0, 1]), b0**2 - Z**2 * cov[0, 0]]))
    assert row["C50"] == f"{-b0 / b1:.0f} [{low:.0f}, {high:.0f}]" == "24 [18, 31]"
    above = sum(wilson_interval(n, n)[0] > row["score_high"] for _ in ("beta", "gamma"))
    assert above == 2 and row["rank"] == 1 + above
    perfect = table.set_index("model").loc["beta"]
    assert (perfect["rank"], perfect["C50"], perfect["coverage"]) == (1, "n/a", "1/1")
    assert math.isnan(perfect["slope"]) and math.isnan(perfect["slope_se"]) and math.isnan(perfect["pseudo_r2"])
    worst = table.set_index("model").loc["claims"]  # always wrong: below every other interval
    assert (worst["score"], worst["rank"]) == (0.0, 4) and wilson_interval(0, n)[1] < row["score_low"]
    assert table["rank"].dtype == "Int64"


def test_a_c50_interval_reaching_below_the_smallest_c_tested_is_stated_as_below_its_upper_bound(
    reference, tmp_path: Path
) -> None:
    loads = sorted(p["C"] for p in reference.values())
    right_at = {8, 12, 18, 20}
    assert loads[0] == 8 and right_at <= set(loads)

    def respond(task: Task, problem: dict) -> str:
        return right(task, problem) if task.kind is not MULTIPLY or problem["C"] in right_at else wrong(task, problem)

    store = Store(tmp_path / "board.sqlite")
    run = read_upload(lm_eval_files(reference, RUN, respond))
    store.add(Entry("m", "F", "s", True), run, check(run, reference))
    c50 = fit_logistic(loads, [int(c in right_at) for c in loads], groups=range(len(loads))).c50()
    assert (c50.status, round(c50.value), c50.low < loads[0], round(c50.high)) == ("estimate", 14, True, 23)
    row = Board(store, reference).table(modality="text", representation="numerals").iloc[0]
    assert row["C50"] == "14 [below 23]"  # Fieller's lower bound, -1, is no C the data holds


def test_a_pooled_scope_scores_every_config_of_it_with_a_clustered_interval(shown, reference) -> None:
    board, _ = shown
    row = board.table(modality="text").set_index("model").loc["alpha"]
    loads = [p["C"] for p in reference.values()]
    k, n = sum(c <= 25 and c != 21 for c in loads), len(loads)
    assert (row["score"], row["coverage"], row["text-words"]) == (pytest.approx(k / n), "2/2", pytest.approx(k / n))
    # 2n outcomes in n problems answered alike twice: the design effect (with G / (G - 1)) is 2n / (n - 1)
    effective = 2 * n / (2 * n / (n - 1))
    assert (row["score_low"], row["score_high"]) == pytest.approx(wilson_interval(k / n * effective, effective))
    words = board.table(modality="text", representation="words").set_index("model")
    assert words.loc["alpha", "coverage"] == "1/1" and words["text-numerals"].isna().all()


def test_the_table_describes_each_submission_in_typed_columns(shown) -> None:
    board, sids = shown
    table = board.table().set_index("model")
    described = ["family", "params_b", "open", "status", "submitter", "link", "submissions"]
    assert table.loc["alpha", described].tolist() == ["A", 7.0, True, "re-scored", "ann", "https://a.example", 1]
    assert table.loc["beta", ["family", "open", "submitter"]].tolist() == ["B", False, "bob"]
    assert math.isnan(table.loc["beta", "params_b"]) and pd.isna(table.loc["beta", "link"])
    assert table.loc["claims", ["submission_id", "status", "coverage", "submissions"]].tolist() == [
        sids["claims"],
        "re-scored",
        "1/6",
        1,
    ]
    assert pd.isna(table.loc["claims", "rank"]) and math.isnan(table.loc["claims", "score"])  # 1 config of 6
    dtypes = board.table().dtypes
    assert dtypes["rank"] == "Int64"
    assert (dtypes["params_b"], dtypes["open"], dtypes["submissions"], dtypes["submission_id"]) == (
        np.float64,
        np.bool_,
        np.int64,
        np.int64,
    )


def test_self_reported_runs_show_their_claims_and_never_replace_a_re_scored_run(shown, reference) -> None:
    board, sids = shown
    latest = board.table(self_reported=True).set_index("model").loc["claims"]
    assert (latest["submission_id"], latest["status"], latest["submissions"]) == (sids["claims"], "re-scored", 2)
    every = board.table(every_submission=True, modality="text", representation="words", self_reported=True)
    row = every.set_index("submission_id").loc[sids["claims later"]]
    assert (row["coverage"], row["text-words"], row["text-words self-reported"]) == ("0/1", 0.5, True)
    assert row["perception"] == 0.75 and row["text-words read"] == 0.75  # a claim, as reported
    assert math.isnan(row["score"]) and pd.isna(row["rank"])
    scored = every.set_index("model").loc[["alpha", "beta", "gamma"]]  # scored, though listed after the claim
    right_share = sum(p["C"] <= 25 and p["C"] != 21 for p in reference.values()) / len(reference)
    assert scored["score"].tolist() == pytest.approx([right_share, 1.0, 1.0]) and scored["rank"].tolist() == [3, 1, 1]


def test_an_empty_board_and_a_scope_without_configs_give_an_empty_table_with_every_column(
    shown, reference, store: Store
) -> None:
    empty = Board(store, reference).table()
    assert empty.empty and list(empty.columns) == COLUMNS
    nothing = shown[0].table(modality="text", representation="digits")  # no config is text digits
    assert nothing.empty and list(nothing.columns) == COLUMNS


def test_perception_weighs_re_scored_tasks_by_their_samples_and_a_claim_beside_them_not_at_all(
    reference, store: Store
) -> None:
    one = Benchmark({pid: reference[pid] for pid in list(reference)[:1]})  # a benchmark of one test problem
    tasks = ["mmmult_text_numerals", "mmmult_perceive_text_numerals", "mmmult_perceive_text_words"]
    upload = read_upload(self_reported(lm_eval_files(one, tasks, right), {"mmmult_perceive_text_words": 0.5}))
    store.add(Entry("m", "F", "s", True), upload, check(upload, one))
    row = Board(store, one).table(self_reported=True).iloc[0]
    assert (row["perception"], row["text-numerals read"], row["text-words read"]) == (1.0, 1.0, 0.5)


def test_procedures_are_each_model_s_latest_trusted_published_run_of_each_probe_task(reference, store: Store) -> None:
    from dataset_builder.configs import PROBE_CONFIGS, STIMULUS_CONFIGS
    from tests.probe_runs import probe_files, probe_sets

    probed = Benchmark(dict(reference), (*STIMULUS_CONFIGS, *PROBE_CONFIGS), probe=probe_sets(hds=3, traps=2))

    def add(model: str, files, seed: int | None = None, request: str | None = None) -> int:
        upload = read_upload(files)
        return store.add(Entry(model, "F", "s", True, seed=seed), upload, check(upload, probed), request)

    both = ["mmmult_probe_text", "mmmult_hds_text"]
    earlier = add("m", probe_files(probed.probe, both, dict.fromkeys(both, 1.0)))
    board = Board(store, probed)
    assert set(board.procedures()["submission_id"]) == {earlier}
    wrong_answers = probe_files(probed.probe, ["mmmult_hds_text"], {"mmmult_hds_text": 0.0}, answer=lambda i: "7")
    later = add("m", wrong_answers, request="req-1")  # the board's own run: trusted, and the latest of hds_text
    add("m", lm_eval_files(reference, ["mmmult_text_numerals"], right), seed=11)  # a fresh draw: not shown
    claimed = self_reported(lm_eval_files(reference, RUN, right), {"mmmult_text_words": 1.0})
    add("m", claimed)  # partly self-reported: its traces are not shown
    other = add("other", probe_files(probed.probe, ["mmmult_traps_text"], {"mmmult_traps_text": 1.0}))
    frame = board.procedures()  # what was stored since, too
    assert list(frame.columns) == ["submission_id", "model", "task", "kind", "config", "problem_id", "item_group",
                                   "metrics"]  # fmt: skip
    hds, traps = list(probed.probe["hds"].values()), list(probed.probe["traps"].values())
    rows = sorted((r.submission_id, r.model, r.task, r.kind, r.config, r.problem_id, r.item_group)
                  for r in frame.itertuples())  # fmt: skip
    assert rows == sorted(
        [(earlier, "m", "mmmult_probe_text", "probe", "hds-text", i["problem_id"], i["design_family"]) for i in hds]
        + [(later, "m", "mmmult_hds_text", "fingerprint", "hds-text", i["problem_id"], i["design_family"]) for i in hds]
        + [(other, "other", "mmmult_traps_text", "fingerprint", "traps-text", t["problem_id"], t["trap_type"])
           for t in traps]
    )  # fmt: skip
    fingerprints = frame[frame["task"] == "mmmult_hds_text"]["metrics"].tolist()
    assert all(isinstance(m, dict) and m["exact_match"] == 0 for m in fingerprints)  # the later run's answers
    assert store.submission(later)["status"] == "evaluated"


def test_a_model_s_row_prefers_the_board_s_own_evaluation_to_a_newer_upload(reference, store: Store) -> None:
    tasks = ["mmmult_text_numerals", "mmmult_text_words"]
    evaluated = read_upload(lm_eval_files(reference, tasks, wrong_above(20)))
    first = store.add(Entry("m", "F", "s", True), evaluated, check(evaluated, reference), "req-1")
    uploaded = read_upload(lm_eval_files(reference, tasks, right))
    second = store.add(Entry("m", "F", "s", True), uploaded, check(uploaded, reference))
    board = Board(store, reference)
    row = board.table(modality="text").iloc[0]
    assert (row["submission_id"], row["status"], row["submissions"]) == (first, "evaluated", 2)
    every = board.table(every_submission=True, modality="text")
    assert sorted(every["submission_id"]) == [first, second]
    assert set(board.draws("m")["submission_id"]) == {second}  # the latest trusted run on the published set


# Regimes: a run of the worked and the direct tasks is two sets of rows, never one.

BOTH = ("mmmult_text_numerals", "mmmult_direct_text_numerals", "mmmult_perceive_text_numerals")
NUMERALS = {"modality": "text", "representation": "numerals"}


def by_regime(worked: Callable[[Task, dict], str], direct: Callable[[Task, dict], str]) -> Callable[[Task, dict], str]:
    """A model that answers the worked tasks (and the perception task) as `worked` does, the direct ones as `direct`."""
    return lambda task, problem: (direct if task.regime == "direct" else worked)(task, problem)


def product_alone(task: Task, problem: dict) -> str:
    """A direct answer as asked: the product alone, right where C <= 15 except at C = 12."""
    product = int(problem["a"]) * int(problem["b"])
    return str(product if problem["C"] <= 15 and problem["C"] != 12 else product + 1)


def test_a_run_of_both_regimes_is_two_rows_each_of_its_own_regime(reference, store: Store) -> None:
    run = read_upload(lm_eval_files(reference, BOTH, by_regime(right, wrong)))
    sid = store.add(Entry("m", "F", "s", True), run, check(run, reference))
    board = Board(store, reference)
    shown = ["model", "regime", "score", "text-numerals", "coverage", "perception", "rank"]
    worked, direct = board.table(**NUMERALS), board.table(**NUMERALS, regime="direct")
    assert worked[shown].values.tolist() == [["m", "worked", 1.0, 1.0, "1/1", 1.0, 1]]  # pooled, both would be 0.5
    assert direct[shown].values.tolist() == [["m", "direct", 0.0, 0.0, "1/1", 1.0, 1]]
    n = len(reference)
    fits = board.fits([sid], "text-numerals", regime=None)
    counted = fits[["regime", "n", "correct", "accuracy"]].values.tolist()
    assert counted == [["worked", n, n, 1.0], ["direct", n, 0, 0.0]]
    assert set(board.bins([sid], "text", "direct")["correct"]) == {0}
    assert board.bins([sid], "text")["correct"].sum() == n
    counts = ["n", "correct", "read", "read_correct"]
    cells = {r: board.cells([sid], regime=r)[counts].sum().tolist() for r in ("worked", "direct")}
    assert cells == {"worked": [n, n, n, n], "direct": [n, 0, n, 0]}  # one reading, paired with each regime
    with closing(store.connect()) as db:
        stored = db.execute("SELECT task, regime FROM task_results ORDER BY task").fetchall()
    assert [tuple(row) for row in stored] == [("mmmult_direct_text_numerals", "direct"),
                                              ("mmmult_perceive_text_numerals", "worked"),
                                              ("mmmult_text_numerals", "worked")]  # fmt: skip
    assert sorted(board.items(sid).groupby("regime")["correct"].sum().items()) == [("direct", 0), ("worked", 2 * n)]


def test_a_model_is_ranked_once_per_regime_among_the_runs_of_that_regime(reference, store: Store) -> None:
    worked_only = read_upload(lm_eval_files(reference, ["mmmult_text_numerals"], wrong))
    store.add(Entry("worked-only", "F", "s", True), worked_only, check(worked_only, reference))
    both = read_upload(lm_eval_files(reference, BOTH, by_regime(right, right)))
    store.add(Entry("both", "F", "s", True), both, check(both, reference))
    direct_later = read_upload(lm_eval_files(reference, ["mmmult_direct_text_numerals"], wrong))
    store.add(Entry("both", "F", "s", True), direct_later, check(direct_later, reference))  # its latest direct run
    board = Board(store, reference)
    worked = board.table(**NUMERALS)
    assert worked[["model", "score", "rank", "submissions"]].values.tolist() == [["both", 1.0, 1, 1],
                                                                              ["worked-only", 0.0, 2, 1]]  # fmt: skip
    direct = board.table(**NUMERALS, regime="direct")
    assert direct[["model", "score", "rank", "submissions"]].values.tolist() == [["both", 0.0, 1, 2]]
    assert len(board.table(**NUMERALS, regime="direct", every_submission=True)) == 2


def test_c50_per_step_error_and_median_response_are_each_regime_s_own(reference, store: Store) -> None:
    from mmmult.statistics.step_error import likeliest_step_error

    run = read_upload(lm_eval_files(reference, BOTH, by_regime(alpha, product_alone)))
    sid = store.add(Entry("m", "F", "s", True), run, check(run, reference))
    board = Board(store, reference)
    items = board.items(sid)
    samples = {name: [json.loads(line) for line in data.splitlines()] for name, data in run_bodies(run).items()}
    rows = {}
    for regime, task in (("worked", "mmmult_text_numerals"), ("direct", "mmmult_direct_text_numerals")):
        mine = items[items["task"] == task].sort_values("problem_id")
        groups = mine["problem_id"].to_numpy()
        c50 = fit_logistic(mine["C"], mine["correct"], groups=groups).c50()
        operands = [(reference[p]["a"], reference[p]["b"]) for p in mine["problem_id"]]
        step = likeliest_step_error(operands, mine["correct"].to_numpy(dtype=float), groups)
        lengths = [len(line["resps"][0][0].strip()) for line in samples[task]]
        rows[regime] = (c50.text, step.text, float(np.median(lengths)))
        row = board.table(**NUMERALS, regime=regime).iloc[0]
        assert (row["C50"], row["step_error"], row["median_response"]) == rows[regime]
    assert rows["worked"][0] == "24 [18, 31]" and rows["direct"][0] != rows["worked"][0]
    assert rows["direct"][1] != rows["worked"][1]
    assert rows["direct"][2] < 10 < rows["worked"][2]  # the product alone, against the worked steps


def run_bodies(upload: Upload) -> dict[str, str]:
    """Each task's samples file of an upload, as text."""
    return {task: upload.files[file].read_text() for task, file in upload.samples.items()}


def test_a_store_from_before_regimes_is_migrated_to_the_worked_regime(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    upload = read_upload(run_files)
    sid = store.add(Entry("m", "F", "s", True), upload, check(upload, reference))
    expected = Board(store, reference).table()
    with closing(store.connect()) as db:  # the store as version 3 of the summaries left it: no regime anywhere
        db.execute("ALTER TABLE task_results DROP COLUMN regime")
        db.executescript("DROP TABLE fits; DROP TABLE bins; DROP TABLE load_cells;"
                         "CREATE TABLE fits (submission_id INTEGER, scope TEXT, PRIMARY KEY (submission_id, scope));"
                         "CREATE TABLE load_cells (submission_id INTEGER, config TEXT, C INTEGER);")  # fmt: skip
        db.execute("INSERT INTO fits VALUES (?, 'all')", (sid,))
        db.execute("UPDATE meta SET value = '3' WHERE key = 'summary_version'")
    Store(store.path)
    with closing(store.connect()) as db:
        assert {tuple(r) for r in db.execute("SELECT task, regime FROM task_results")} == {
            (task, "worked") for task in RUN
        }
    board = Board(store, reference)
    pd.testing.assert_frame_equal(board.table(), expected)
    assert board.table(regime="direct").empty
    assert set(board.fits([sid], "all", regime=None)["regime"]) == {"worked"} and store.counts()["fits"] == 6
