"""The leaderboard table built from stored, re-scored submissions."""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path

from ingest import Upload, check, read_upload
from leaderboard import board, items
from store import Entry, Store
from views import paired_gaps, predictor_table


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

    table = board(store, reference)
    assert list(table["model"]) == ["reference", "weaker"]
    top = table.iloc[0]
    assert (top["overall"], top["text-numerals"], top["perception"]) == (1.0, 1.0, 1.0)
    assert math.isnan(top["image-words"]) and math.isnan(top["C50"])  # all correct: no fit
    assert table.set_index("model").loc["weaker", "submissions"] == 2

    every = board(store, reference, every_submission=True)
    assert len(every) == 3
    runs = every[every["model"] == "weaker"].sort_values("submission_id")
    assert runs["overall"].iloc[0] <= runs["overall"].iloc[1] < 1.0
    assert table.set_index("model").loc["weaker", "submission_id"] == runs["submission_id"].iloc[1]


def test_items_carry_the_problem_statistics(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    upload = read_upload(run_files)
    sid = store.add(Entry("reference", "Reference", "a", True), upload, check(upload, reference))
    detail = items(store, reference, [sid])
    assert len(detail) == 3 * len(reference)
    row = detail.iloc[0]
    assert row["C"] == reference[row["problem_id"]]["C"]
    assert set(detail["kind"]) == {"multiply", "perceive"}


def test_model_analysis_pairs_configs_on_the_same_problems(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    weaker = degraded(read_upload(run_files), reference, keep=0.7, seed=1)
    sid = store.add(Entry("weaker", "Test", "b", False), weaker, check(weaker, reference))
    detail = items(store, reference, [sid])
    gaps = paired_gaps(detail, sid)
    assert gaps[["first", "second", "n"]].values.tolist() == [["text-numerals", "text-words", len(reference)]]
    numerals = weaker.results["results"]["mmmult_text_numerals"]["exact_match,final-integer"]
    assert gaps["accuracy_first"].iloc[0] == numerals
    assert 0 <= gaps["mcnemar_p"].iloc[0] <= 1
    assert list(predictor_table(detail, sid).columns) == ["predictor", "description", "pseudo_r2", "aic"]
