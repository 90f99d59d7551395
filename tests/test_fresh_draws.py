"""The contamination check: runs on a fresh draw of the benchmark (mmmult build --seed S) are checked against
problems the board regenerates, kept off the main table, and compared with the published run."""

from __future__ import annotations

import random
from pathlib import Path

import datasets
import pytest

from dataset_builder.problems import Bounds
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.model_tables import fresh_draw_table
from mmmult.leaderboard.intake.benchmark import Benchmark, Design, load_reference
from mmmult.leaderboard.intake.names import InvalidField, check_seed
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.submissions import Form, submit
from tests.commands import mmmult
from tests.simulate import lm_eval_files, right, wrong

TASKS = ["mmmult_text_numerals", "mmmult_text_words"]
OPTIONS = ("--configs", "text-numerals,text-words,problems", "--max-digits", "3", "--limit", "150")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    out = tmp_path_factory.mktemp("published") / "data"
    assert mmmult("build", "--out", str(out), *OPTIONS).returncode == 0
    return load_reference(out)


def test_the_board_draws_the_same_problems_as_a_build_with_that_seed(published: Benchmark, tmp_path: Path) -> None:
    assert published.design == Design(5, 20260418, Bounds(max_digits=3, limit=150))
    out = tmp_path / "fresh"
    assert mmmult("build", "--out", str(out), *OPTIONS, "--seed", "11").returncode == 0
    built = datasets.load_dataset(str(out), "problems", split="test").to_list()
    fresh = published.fresh(11)
    assert {p["problem_id"]: (p["a"], p["b"], p["C"]) for p in built} == {
        pid: (p["a"], p["b"], p["C"]) for pid, p in fresh.items()
    }
    assert fresh.seed == 11 and published.fresh(11) is fresh  # drawn once
    assert published.fresh(20260418) is published
    assert {pid: (p["a"], p["b"]) for pid, p in fresh.items()} != {
        pid: (p["a"], p["b"]) for pid, p in published.items()
    }


def paths(files: list[tuple[str, bytes]], folder: Path) -> list[str]:
    folder.mkdir()
    for name, data in files:
        (folder / name).write_bytes(data)
    return [str(folder / name) for name, _ in files]


def test_a_fresh_draw_run_is_checked_kept_apart_and_compared(
    published: Benchmark, store: Store, tmp_path: Path
) -> None:
    memorised = lm_eval_files(published, TASKS, right)  # perfect on the published problems

    def honest(task, problem):
        coin = random.Random(f"{task.name}:{problem['problem_id']}").random()
        return right(task, problem) if coin < 0.6 else wrong(task, problem)

    fresh_run = lm_eval_files(published.fresh(11), TASKS, honest)  # 60% on new problems
    assert submit(store, published, paths(memorised, tmp_path / "a"), Form("m", "F", submitter="s")).startswith(
        "submission #1 re-scored"
    )
    unlabelled = submit(store, published, paths(fresh_run, tmp_path / "b"), Form("m", "F", submitter="s"))
    assert "rejected: samples_mmmult_text_numerals" in unlabelled and "has a " in unlabelled  # not the published a
    labelled = submit(store, published, paths(fresh_run, tmp_path / "c"), Form("m", "F", submitter="s", seed="11"))
    assert labelled.startswith("submission #3 re-scored"), labelled
    assert store.submission(3)["seed"] == 11 and store.submission(1)["seed"] is None
    board = Board(store, published)
    assert board.table(every_submission=True, modality="text")["submission_id"].tolist() == [1]  # off the main table
    table = fresh_draw_table(board.draws("m")).set_index("config")
    assert list(table.index) == ["text-numerals", "text-words"]
    for config, row in table.iterrows():
        assert row["accuracy_published"] == 1.0
        assert row["gap"] == pytest.approx(1.0 - row["accuracy_fresh"])
        assert row["gap_low"] > 0  # the gap that memorising the published set leaves is clear
        assert row["seed"] == 11, config


def test_the_published_seed_typed_out_is_the_published_set(published: Benchmark, store: Store, tmp_path: Path) -> None:
    run = paths(lm_eval_files(published, TASKS, right), tmp_path / "a")
    assert submit(store, published, run, Form("m", "F", submitter="s", seed="20260418")).startswith(
        "submission #1 re-scored"
    )
    assert store.submission(1)["seed"] is None


def test_a_csv_benchmark_has_no_fresh_draw(published: Benchmark, store: Store, tmp_path: Path) -> None:
    from_csv = Benchmark(dict(published), published.configs, design=None)
    run = paths(lm_eval_files(published, TASKS, right), tmp_path / "a")
    message = submit(store, from_csv, run, Form("m", "F", submitter="s", seed="7"))
    assert message.startswith("submission #1 rejected: this board's benchmark was built from a CSV")


@pytest.mark.parametrize("text", ["-1", "seven", "4294967296", "1.5", "\uff11"])
def test_a_seed_is_a_whole_number_below_2_to_the_32(text: str) -> None:
    with pytest.raises(InvalidField, match="seed: a whole number from 0 to 4294967295"):
        check_seed(text)


def test_an_empty_seed_is_the_published_set_and_zero_is_a_seed() -> None:
    assert check_seed("") is None and check_seed(None) is None and check_seed(" 0 ") == 0
    assert check_seed("4294967295") == 4294967295
