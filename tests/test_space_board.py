"""The leaderboard table built from stored, re-scored submissions."""

from __future__ import annotations

import copy
import math
import random
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binomtest

from dataset_builder.leaderboard.analysis import fit_logistic
from dataset_builder.leaderboard.board import Board
from dataset_builder.leaderboard.ingest import Upload, check, read_upload
from dataset_builder.leaderboard.store import Entry, Store
from dataset_builder.leaderboard.views import paired_gaps, perception_table, predictor_table


def degraded(upload: Upload, reference: dict, keep: float, seed: int) -> Upload:
    """The reference run with wrong answers on a share of the multiplication samples (results.json made to match)."""
    samples = copy.deepcopy(upload.samples)
    results = copy.deepcopy(upload.results)
    rng = random.Random(seed)
    for task in ("mmmult_text_numerals", "mmmult_text_words"):
        right = 0
        for sample in samples[task]:
            product = reference[sample["doc"]["problem_id"]]["product"]
            # wrong answers where the load is high, so accuracy falls with C as in real models
            if rng.random() > keep or sample["doc"]["C"] > 30:
                sample["resps"] = [[f"Final Answer: {product + 1}"]]
            else:
                right += 1
        results["results"][task]["exact_match,final-integer"] = right / len(samples[task])
    return Upload(results, samples, {})


def test_one_row_per_model_with_scores_and_counts(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    upload = read_upload(run_files)
    store.add(Entry("reference", "Reference", "a", True, 0.0), upload, check(upload, reference))
    weaker = degraded(upload, reference, keep=0.7, seed=1)
    store.add(Entry("weaker", "Test", "b", False, 7.0), weaker, check(weaker, reference))
    later = degraded(upload, reference, keep=1.0, seed=2)  # a later run: right wherever C <= 30
    store.add(Entry("weaker", "Test", "b", False, 7.0), later, check(later, reference))

    board = Board(store, reference)
    table = board.table()
    assert list(table["model"]) == ["reference", "weaker"]
    top = table.iloc[0]
    assert (top["overall"], top["text-numerals"], top["perception"]) == (1.0, 1.0, 1.0)
    assert math.isnan(top["image-words"]) and math.isnan(top["C50"])  # all correct: no fit
    assert table.set_index("model").loc["weaker", "submissions"] == 2

    every = board.table(every_submission=True)
    assert len(every) == 3
    runs = every[every["model"] == "weaker"].sort_values("submission_id")
    assert runs["overall"].iloc[0] <= runs["overall"].iloc[1] < 1.0
    assert table.set_index("model").loc["weaker", "submission_id"] == runs["submission_id"].iloc[1]


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
    weaker = degraded(read_upload(run_files), reference, keep=0.7, seed=1)
    sid = store.add(Entry("weaker", "Test", "b", False), weaker, check(weaker, reference))
    detail = Board(store, reference).items(sid)
    gaps = paired_gaps(detail)
    assert gaps[["first", "second", "n"]].values.tolist() == [["text-numerals", "text-words", len(reference)]]
    numerals = weaker.results["results"]["mmmult_text_numerals"]["exact_match,final-integer"]
    assert gaps["accuracy_first"].iloc[0] == numerals
    both = detail[detail["kind"] == "multiply"].pivot_table(index="problem_id", columns="config", values="correct")
    only_first = int(((both["text-numerals"] == 1) & (both["text-words"] == 0)).sum())
    only_second = int(((both["text-numerals"] == 0) & (both["text-words"] == 1)).sum())
    assert (gaps["only_first"].iloc[0], gaps["only_second"].iloc[0]) == (only_first, only_second)
    expected = binomtest(only_first, only_first + only_second, 0.5).pvalue if only_first + only_second else 1.0
    assert gaps["mcnemar_p"].iloc[0] == pytest.approx(expected)
    assert list(predictor_table(detail).columns) == ["predictor", "description", "pseudo_r2", "aic"]


def test_summaries_match_the_items_they_summarise(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    weaker = degraded(read_upload(run_files), reference, keep=0.7, seed=1)
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
    assert set(fits.index) == {"all", "text", "numerals", "words", "text-numerals", "text-words"}
    assert fits.loc["all", ["n", "correct"]].tolist() == [len(multiply), multiply["correct"].sum()]
    whole = fit_logistic(multiply["C"], multiply["correct"])
    assert fits.loc["all", "C50"] == pytest.approx(whole.c50) and fits.loc["all", "slope"] == pytest.approx(whole.slope)
    table = board.table(modality="text", representation="words")
    assert table["overall"].iloc[0] == multiply[multiply["config"] == "text-words"]["correct"].mean()
    assert board.table(modality="image").empty  # this run has no image task


def test_perception_table_splits_accuracy_by_correct_reading(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    weaker = degraded(read_upload(run_files), reference, keep=0.7, seed=1)
    sid = store.add(Entry("weaker", "Test", "b", False), weaker, check(weaker, reference))
    table = perception_table(Board(store, reference).cells([sid])).set_index("config")
    numerals = weaker.results["results"]["mmmult_text_numerals"]["exact_match,final-integer"]
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
