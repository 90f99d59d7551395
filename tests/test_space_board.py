"""The leaderboard table built from stored, re-scored submissions."""

from __future__ import annotations

import math
import random
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binomtest

from dataset_builder.leaderboard.analysis import fit_logistic
from dataset_builder.leaderboard.board import Board
from dataset_builder.leaderboard.ingest import Benchmark, Upload, check, read_upload
from dataset_builder.leaderboard.simulate import lm_eval_files, right, wrong
from dataset_builder.leaderboard.store import Entry, Store
from dataset_builder.leaderboard.views import paired_gaps, perception_table, predictor_table
from dataset_builder.tasks import MULTIPLY, TASKS, Task

RUN = ("mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_numerals")


def degraded(reference: Benchmark, keep: float, seed: int) -> Upload:
    """A run that is wrong on a seeded share of the multiplications and wherever C > 30, as real models fall with C."""

    def respond(task: Task, problem: dict) -> str:
        draw = random.Random(f"{seed}:{task.name}:{problem['problem_id']}").random()
        if task.kind is MULTIPLY and (draw > keep or problem["C"] > 30):
            return wrong(task, problem)
        return right(task, problem)

    return read_upload(lm_eval_files(reference, RUN, respond))


def test_one_row_per_model_with_scores_and_counts(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
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


def test_a_partial_run_is_ranked_only_in_the_scopes_it_covers(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    text_only = read_upload(run_files)  # text tasks only, all right
    store.add(Entry("text-only", "A", "a", True), text_only, check(text_only, reference))
    full = full_run(reference, seed=4, keep=0.6)
    store.add(Entry("full", "B", "b", True), full, check(full, reference))
    board = Board(store, reference)
    overall = board.table().set_index("model")
    assert overall.loc["full", "coverage"] == "6/6" and overall.loc["text-only", "coverage"] == "2/6"
    assert overall.loc["full", "rank"] == 1 and pd.isna(overall.loc["text-only", "rank"])
    assert math.isnan(overall.loc["text-only", "score"])  # no headline score outside what it ran
    assert list(board.table()["model"]) == ["full", "text-only"]  # the scored one first
    text = board.table(modality="text").set_index("model")
    assert text.loc["text-only", "rank"] == 1 and text.loc["text-only", "score"] == 1.0
    assert text.loc["full", "coverage"] == "2/2"


def test_self_reported_runs_are_hidden_by_default_and_marked_when_shown(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
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


def test_ranks_tie_where_score_intervals_overlap(reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    for name, keep in (("a", 0.95), ("b", 0.9), ("c", 0.2)):
        run = full_run(reference, seed=ord(name), keep=keep)
        store.add(Entry(name, "F", name, True), run, check(run, reference))
    table = Board(store, reference).table().set_index("model")
    for model in table.index:
        above = (table["score_low"] > table.loc[model, "score_high"]).sum()
        assert table.loc[model, "rank"] == 1 + above
    assert table.loc["a", "rank"] == table.loc["b", "rank"] == 1  # 11 problems: wide, overlapping intervals


def test_items_carry_the_problem_statistics(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    upload = read_upload(run_files)
    sid = store.add(Entry("reference", "Reference", "a", True), upload, check(upload, reference))
    detail = Board(store, reference).items(sid)
    assert len(detail) == 3 * len(reference)
    row = detail.iloc[0]
    assert row["C"] == reference[row["problem_id"]]["C"]
    assert set(detail["kind"]) == {"multiply", "perceive"}


def test_model_analysis_pairs_configs_on_the_same_problems(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
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


def test_summaries_match_the_items_they_summarise(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
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


def test_perception_table_splits_accuracy_by_correct_reading(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
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
