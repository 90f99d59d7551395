"""The mini split: 30 test problems per C band, drawn with the seed, the same in every config, and its tasks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import datasets
import pytest

from dataset_builder.dataset.pipeline import BuildOptions, build
from dataset_builder.problems import (
    C_BANDS,
    DEFAULT_SEED,
    MINI_PER_BAND,
    Bounds,
    Problem,
    design_mini,
    generate,
    mini_selection,
    problem_set,
)
from dataset_builder.tasks import MINI_TASKS, TASKS
from tests.commands import mmmult


def band(C: int) -> tuple[int, int]:
    (found,) = [b for b in C_BANDS if b[0] <= C <= b[1]]
    return found


@pytest.fixture(scope="module")
def default_set() -> list[Problem]:
    return generate()


def test_the_default_mini_holds_thirty_test_problems_of_each_band(default_set: list[Problem]) -> None:
    mini = mini_selection(default_set, DEFAULT_SEED)
    assert Counter(band(p.C) for p in mini) == dict.fromkeys(C_BANDS, MINI_PER_BAND) and MINI_PER_BAND == 30
    assert {p.split for p in mini} == {"test"} and len({p.problem_id for p in mini}) == 150
    order = [p.problem_id for p in default_set]
    assert [p.problem_id for p in mini] == sorted((p.problem_id for p in mini), key=order.index)


def test_the_mini_is_fixed_by_the_seed(default_set: list[Problem]) -> None:
    first = [p.problem_id for p in mini_selection(default_set, DEFAULT_SEED)]
    assert [p.problem_id for p in mini_selection(list(reversed(default_set)), DEFAULT_SEED)] == first[::-1]
    other = {p.problem_id for p in mini_selection(default_set, DEFAULT_SEED + 1)}
    assert other != set(first) and len(other) == 150


def test_a_band_with_fewer_problems_is_taken_whole() -> None:
    problems = [Problem.of(f"q{i}", 10 + i, 10, "test") for i in range(12)]  # C = 12 or 16: one band
    problems += [Problem.of("t", 12, 13, "train")]
    assert [p.problem_id for p in mini_selection(problems, 1)] == [f"q{i}" for i in range(12)]


def test_a_subset_build_holds_the_whole_build_s_mini_problems_that_it_holds(default_set: list[Problem]) -> None:
    bounds = Bounds(max_digits=4)
    whole = {p.problem_id for p in mini_selection(default_set, DEFAULT_SEED)}
    admitted = {p.problem_id for p in problem_set(5, DEFAULT_SEED, bounds)}
    assert {p.problem_id for p in design_mini(5, DEFAULT_SEED, bounds)} == whole & admitted
    assert len(whole & admitted) == 23


@pytest.fixture(scope="module")
def mini_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configs = ("text-numerals", "text-words", "image-numerals", "problems")
    return build(tmp_path_factory.mktemp("mini") / "data", BuildOptions(configs=configs, bounds=Bounds(max_digits=4)))


def test_every_problem_config_has_the_same_mini_rows_as_copies_of_test_rows(mini_build: Path) -> None:
    expected = {p.problem_id for p in design_mini(5, DEFAULT_SEED, Bounds(max_digits=4))}
    for config in ("text-numerals", "image-numerals", "problems"):
        splits = datasets.load_dataset(str(mini_build), config)
        assert list(splits) == ["train", "validation", "test", "mini"]
        mini, test = splits["mini"].to_list(), {row["problem_id"]: row for row in splits["test"].to_list()}
        assert {row["problem_id"] for row in mini} == expected
        for row in mini:
            assert row == test[row["problem_id"]] | {"split": "mini"}
    manifest = json.loads((mini_build / "manifest.json").read_text())
    assert manifest["configs"]["text-numerals"]["mini"] == 23  # the mini rows are not more problems:
    assert manifest["num_problems"] == len(problem_set(5, DEFAULT_SEED, Bounds(max_digits=4)))


def test_the_mini_tasks_run_on_the_mini_problems(mini_build: Path, tmp_path: Path) -> None:
    tasks = "mmmult_mini_text,mmmult_mini_perceive_image_numerals"
    result = mmmult("eval", "--model", "mmmult-reference", "--tasks", tasks, "--log_samples", "--output_path",
                    str(tmp_path), env={"MMMULT_DATA": str(mini_build)})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (results_file,) = tmp_path.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    assert set(results["results"]) == {"mmmult_mini_text", "mmmult_mini_text_numerals", "mmmult_mini_text_words",
                                       "mmmult_mini_perceive_image_numerals"}  # fmt: skip
    assert results["results"]["mmmult_mini_text_numerals"]["exact_match,final-integer"] == 1.0
    expected = {p.problem_id for p in design_mini(5, DEFAULT_SEED, Bounds(max_digits=4))}
    for task in ("mmmult_mini_text_numerals", "mmmult_mini_perceive_image_numerals"):
        (samples,) = tmp_path.rglob(f"samples_{task}_*.jsonl")
        docs = [json.loads(line)["doc"] for line in samples.read_text().splitlines()]
        assert {doc["problem_id"] for doc in docs} == expected and {doc["split"] for doc in docs} == {"mini"}
    assert results["n-samples"]["mmmult_mini_perceive_image_numerals"]["effective"] == len(expected)


def test_a_build_without_the_mini_split_is_named(tmp_path: Path) -> None:
    """A build made before the mini split existed (its mini files removed here)."""
    build_dir = build(tmp_path / "b", BuildOptions(configs=("text-numerals",), bounds=Bounds(max_digits=2)))
    for shard in build_dir.glob("*/mini-*.parquet"):
        shard.unlink()
    result = mmmult("eval", "--model", "mmmult-reference", "--tasks", "mmmult_mini_text_numerals",
                    env={"MMMULT_DATA": str(build_dir)})  # fmt: skip
    assert result.returncode == 2
    assert (f"mmmult: error: {build_dir} has no mini split of text-numerals: the tasks evaluate on mini; build the "
            "config (mmmult build --configs text-numerals) with problems in the mini split (a build made before the "
            "mini split existed has none: build it again)") in result.stderr  # fmt: skip


def test_a_board_whose_build_has_no_mini_split_refuses_a_mini_run_with_the_reason(
    run_files, run_tasks, reference
) -> None:
    from mmmult.leaderboard.intake.rescore import check
    from mmmult.leaderboard.intake.upload import Rejected, read_upload

    renamed = run_files
    for old in run_tasks:  # every task of the run on the mini split
        new = old.replace("mmmult_", "mmmult_mini_", 1)
        renamed = [(n.replace(old, new), d.replace(f'"{old}"'.encode(), f'"{new}"'.encode())) for n, d in renamed]
    assert not reference.mini  # drawn in-process: no build, so no mini split
    with pytest.raises(Rejected) as error:
        check(read_upload(renamed), reference)
    assert str(error.value) == (
        "mmmult_mini_text_numerals, mmmult_mini_text_words, mmmult_mini_perceive_text_numerals: this board's benchmark "
        "has no mini split to check them against (a fresh draw has none, nor a build made before the mini split "
        "existed): submit a run of the test tasks, without mini"
    )
    assert set(MINI_TASKS) == {name.replace("mmmult_", "mmmult_mini_", 1) for name in TASKS}
