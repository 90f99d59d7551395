"""The board ranks runs of the base set's mini split (mmmult_mini_*: the build's problems/mini-*.parquet, test
problems chosen again) as a split of their own: checked against the build's mini problems, stored with their
split, shown in tables, curves and findings apart from test runs, never pooled with them. Real `mmmult eval` runs
of the reference system and an executor on a text-only build."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_builder.answers import extract_answer
from dataset_builder.dataset.pipeline import BuildOptions, build
from dataset_builder.problems import BASE, DEFAULT_SEED, EXTENDED, Bounds, design_mini
from dataset_builder.scoring import score_answer
from mmmult.leaderboard.display.app import Handlers, view
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.filters import Filters, why_no_rows
from mmmult.leaderboard.display.findings import findings_table
from mmmult.leaderboard.intake.benchmark import Benchmark, BrokenBuild, load_reference
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Rejected, Upload, read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.leaderboard.submissions import Form, submit
from mmmult.queue.folder import LocalQueue
from tests.commands import mmmult

BOUNDS = Bounds(max_digits=4)
"""259 test problems, 23 of them in the mini split (the whole design's mini problems this build holds)."""
MINI_RUN = "mmmult_mini_text_numerals,mmmult_mini_perceive_text_numerals"
TEST_RUN = "mmmult_text_numerals,mmmult_perceive_text_numerals"
MIXED_RUN = "mmmult_text_numerals,mmmult_mini_text_words"
EXECUTOR = "heuristic=OT,step_error=0.05,seed=7"
"""An executor that slips once in twenty operations: some of these problems wrong, most right."""
NUMERALS = {"modality": "text", "representation": "numerals"}


@pytest.fixture(scope="module")
def mini_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    options = BuildOptions(configs=("problems", "text-numerals", "text-words"), bounds=BOUNDS, num_proc=1)
    return build(tmp_path_factory.mktemp("mini-board") / "data", options)


@pytest.fixture(scope="module")
def benchmark(mini_build: Path) -> Benchmark:
    return load_reference(mini_build)


def run(
    data: Path, out: Path, tasks: str, model: str = "mmmult-reference", model_args: str | None = None
) -> list[Path]:
    """The results and samples files of one `mmmult eval` run of the tasks on the build."""
    command = ["eval", "--model", model, "--tasks", tasks, "--log_samples", "--output_path", str(out)]
    command += ["--metadata", json.dumps({"data": str(data)}), *(["--model_args", model_args] if model_args else [])]
    result = mmmult(*command)
    assert result.returncode == 0, result.stderr[-2000:]
    return sorted(out.rglob("*.json*"))


def upload_of(files: list[Path]) -> Upload:
    return read_upload([(path.name, path) for path in files])


@pytest.fixture(scope="module")
def run_files(mini_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """The reference on the mini split and on test, an executor on the mini split, and a run of both (7 s each)."""
    folder = tmp_path_factory.mktemp("mini-runs")
    return {
        "mini": run(mini_build, folder / "mini", MINI_RUN),
        "test": run(mini_build, folder / "test", TEST_RUN),
        "executor": run(mini_build, folder / "executor", MINI_RUN, "mmmult-executor", EXECUTOR),
        "mixed": run(mini_build, folder / "mixed", MIXED_RUN),
    }


@pytest.fixture(scope="module")
def runs(run_files: dict[str, list[Path]]) -> dict[str, Upload]:
    return {key: upload_of(files) for key, files in run_files.items()}


def edited(upload: Upload, task: str, edit: Callable[[list[str]], list[str]]) -> Upload:
    """The upload with the lines of one task's samples file edited (the other files as they are)."""
    files = [(name, path.read_bytes()) for name, path in upload.files.items()]
    name = upload.samples[task]
    return read_upload([(n, "\n".join(edit(data.decode().splitlines())).encode() if n == name else data)
                        for n, data in files])  # fmt: skip


def mini_ids(build_dir: Path) -> list[str]:
    (shard,) = build_dir.glob("problems/mini-*.parquet")
    return pq.read_table(shard, columns=["problem_id"]).column("problem_id").to_pylist()


def test_the_board_knows_the_build_s_mini_split(mini_build: Path, benchmark: Benchmark) -> None:
    expected = {p.problem_id for p in design_mini(5, DEFAULT_SEED, BOUNDS)}
    assert benchmark.mini == set(mini_ids(mini_build)) == expected and len(expected) == 23
    assert benchmark.mini < benchmark.problems.keys() and len(benchmark.problems) == 259
    assert benchmark.fresh(5).mini == frozenset()  # a fresh draw has no mini split
    assert Benchmark(benchmark.problems).mini == frozenset()  # the constructor as it was: no mini split


def test_a_mini_split_that_names_problems_outside_the_test_split_is_a_broken_build(benchmark: Benchmark) -> None:
    with pytest.raises(BrokenBuild) as error:
        Benchmark(benchmark.problems, mini=[*sorted(benchmark.mini), "p99999"])
    assert str(error.value) == (
        "the mini split names 1 problem(s) that are not test problems of the build (first 'p99999'): its mini files "
        "do not belong with its test files; build it again"
    )


def test_a_mini_run_is_re_scored_on_the_mini_split(runs, benchmark: Benchmark) -> None:
    verdict = check(runs["mini"], benchmark)
    assert verdict.split == "mini"
    assert [(t.task, t.config, t.kind, t.verified, t.score, t.n) for t in verdict.tasks] == [
        ("mmmult_mini_text_numerals", "text-numerals", "multiply", True, 1.0, 23),
        ("mmmult_mini_perceive_text_numerals", "text-numerals", "perceive", True, 1.0, 23),
    ]
    assert {item.problem_id for item in verdict.items} == benchmark.mini and len(verdict.items) == 46
    assert verdict.log == [
        "re-scored: 2 task(s), 46 samples re-scored",
        "a run of the mini split (23 problems): ranked among mini runs, apart from test runs",
    ]
    test = check(runs["test"], benchmark)
    assert test.split == "test" and [t.n for t in test.tasks] == [259, 259] and len(test.log) == 1


def test_a_run_of_both_splits_is_refused(runs, benchmark: Benchmark) -> None:
    with pytest.raises(Rejected) as error:
        check(runs["mixed"], benchmark)
    assert str(error.value) == (
        "the run mixes the test split (mmmult_text_numerals) and the mini split (mmmult_mini_text_words): the board "
        "ranks the two apart; upload each split's run on its own"
    )


def test_a_mini_run_missing_a_problem_is_refused_with_the_counts(runs, benchmark: Benchmark) -> None:
    short = edited(runs["mini"], "mmmult_mini_text_numerals", lambda lines: lines[1:])
    with pytest.raises(Rejected) as error:
        check(short, benchmark)
    assert str(error.value) == ("mmmult_mini_text_numerals: 1 of 23 mini problems have no sample: run without --limit")


def test_a_test_problem_outside_the_mini_split_is_refused(runs, benchmark: Benchmark) -> None:
    outside = min(benchmark.problems.keys() - benchmark.mini)
    problem = benchmark[outside]

    def swap(lines: list[str]) -> list[str]:
        """The first sample asks a test problem outside the mini split, with that problem's own numbers."""
        sample = json.loads(lines[0])
        sample["doc"] |= {"problem_id": outside, "a": problem["a"], "b": problem["b"], "product": problem["product"]}
        return [json.dumps(sample), *lines[1:]]

    upload = edited(runs["mini"], "mmmult_mini_text_numerals", swap)
    with pytest.raises(Rejected) as error:
        check(upload, benchmark)
    name = runs["mini"].samples["mmmult_mini_text_numerals"]
    assert str(error.value) == (
        f"{name}, line 1: problem {outside!r} is not in this benchmark's mini split: run on the published data"
    )


NO_MINI = ("mmmult_mini_text_numerals, mmmult_mini_perceive_text_numerals: this board's benchmark has no mini split "
           "to check them against (a fresh draw has none, nor a build made before the mini split existed): submit a "
           "run of the test tasks, without mini")  # fmt: skip


def test_a_board_whose_build_has_no_mini_split_refuses_mini_runs(
    runs, mini_build: Path, benchmark: Benchmark, tmp_path: Path
) -> None:
    older = Path(shutil.copytree(mini_build, tmp_path / "older"))
    for shard in older.glob("*/mini-*.parquet"):  # a build made before the mini split existed
        shard.unlink()
    for reference in (load_reference(older), benchmark.fresh(5)):
        assert reference.mini == frozenset()
        with pytest.raises(Rejected) as error:
            check(runs["mini"], reference)
        assert str(error.value) == NO_MINI
    assert check(runs["test"], load_reference(older)).split == "test"


@pytest.mark.parametrize("name", ["mmmult_mini_extended_text_numerals", "mmmult_mini_direct_extended_text"])
def test_extended_mini_runs_stay_refused(runs, benchmark: Benchmark, tmp_path: Path, name: str) -> None:
    """A task and a group of the extended set's mini split, in place of the base set's mini task."""
    (results,) = [name for name in runs["mini"].files if name.startswith("results_")]
    data = json.loads(runs["mini"].files[results].read_text())
    data["results"][name] = data["results"].pop("mmmult_mini_text_numerals")
    (tmp_path / results).write_text(json.dumps(data))
    with pytest.raises(Rejected) as error:
        check(read_upload([(results, tmp_path / results)]), benchmark)
    assert str(error.value) == (
        f"{name}: runs of the mini split are not ranked for the extended set (its rows are full test runs); run the "
        "extended tasks without mini"
    )


@pytest.fixture(scope="module")
def board(runs, run_files, benchmark: Benchmark, tmp_path_factory: pytest.TempPathFactory) -> Board:
    """The reference's test run, then its mini run and the executor's (submitted as a visitor would)."""
    store = Store(tmp_path_factory.mktemp("mini-store") / "board.sqlite")
    store.add(Entry("mmmult-reference", "Reference", "a", True), runs["test"], check(runs["test"], benchmark))
    for model, key in (("mmmult-reference", "mini"), ("executor", "executor")):
        paths = [str(path) for path in run_files[key]]
        status = submit(store, benchmark, paths, Form(model, model.title(), submitter="b"))
        assert status.startswith(f"submission #{3 if key == 'executor' else 2} re-scored"), status
        assert "a run of the mini split (23 problems): ranked among mini runs, apart from test runs" in status
    return Board(store, benchmark)


def executor_score(upload: Upload) -> float:
    """The executor's mini accuracy on text numerals, scored here from its raw responses."""
    path = upload.files[upload.samples["mmmult_mini_text_numerals"]]
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    scores = [score_answer(extract_answer(s["resps"][0][0]), int(s["doc"]["product"]))["exact_match"] for s in samples]
    return sum(scores) / len(scores)


def test_the_store_keeps_each_submission_s_split(board: Board) -> None:
    assert [board.store.submission(sid)["split"] for sid in (1, 2, 3)] == ["test", "mini", "mini"]


def test_mini_runs_are_ranked_apart_from_test_runs(board: Board, runs) -> None:
    mini = board.table(**NUMERALS, split="mini").set_index("model")
    score = executor_score(runs["executor"])
    assert 0 < score < 1
    assert list(mini.index) == ["mmmult-reference", "executor"] and set(mini["split"]) == {"mini"}
    assert mini.loc["mmmult-reference", ["score", "coverage", "submissions", "perception"]].tolist() == [
        1.0, "1/1", 1, 1.0]  # fmt: skip
    assert mini.loc["executor", "score"] == pytest.approx(score)
    assert mini["submission_id"].tolist() == [2, 3]
    test = board.table(**NUMERALS)
    assert test[["model", "split", "submission_id", "score", "submissions"]].values.tolist() == [
        ["mmmult-reference", "test", 1, 1.0, 1]]  # fmt: skip
    assert board.table(**NUMERALS, split="mini", every_submission=True)["submission_id"].tolist() == [2, 3]
    assert board.table(**NUMERALS, split="mini", problem_set=EXTENDED).empty
    assert board.draws("mmmult-reference")["submission_id"].unique().tolist() == [1]  # fresh draws compare with test


def test_the_split_filter_picks_the_rows_and_the_csv_names_it(board: Board, tmp_path: Path) -> None:
    page, csv = view(board, Filters(split="mini", **NUMERALS))
    assert list(csv["model"]) == ["mmmult-reference", "executor"] and set(csv["split"]) == {"mini"}
    assert list(page["Split"]) == ["mini", "mini"] and list(page.columns).index("Split") == 8
    _, test_csv = view(board, Filters(**NUMERALS))
    assert test_csv[["model", "split"]].values.tolist() == [["mmmult-reference", "test"]]
    assert Filters.from_query([("split", "mini")]).split == "mini"
    assert Filters.from_query([("split", "MINI")]).split == "test"
    handlers = Handlers(board.store, board.reference, LocalQueue(tmp_path / "queue"), {}, False)
    values = Filters(split="mini", problem_set=EXTENDED).controls()
    page, _, note = handlers.refresh(*values)
    assert page.empty and note == {"__type__": "update", "visible": True, "value": why_no_rows(Filters(
        split="mini", problem_set=EXTENDED))}  # fmt: skip
    assert note["value"] == ("The extended set has no ranked mini split (the board refuses its runs): choose the test "
                             "split, or the base set.")  # fmt: skip
    assert handlers.refresh(*Filters(split="mini").controls())[2] == {"__type__": "update", "visible": False,
                                                                      "value": ""}  # fmt: skip


def test_the_curve_and_the_model_page_follow_the_split(board: Board, tmp_path: Path) -> None:
    from mmmult.leaderboard.display.app import ANALYSIS_OUTPUTS

    handlers = Handlers(board.store, board.reference, LocalQueue(tmp_path / "queue"), {}, False)
    figure = handlers.curve("text", "numerals", False, False, "worked", BASE, "mini")
    assert [trace.name for trace in figure.data if trace.mode == "markers"] == ["mmmult-reference", "executor"]
    assert figure.layout.title.text.endswith("text-numerals (worked regime, mini split)")
    test = handlers.curve("text", "numerals", False, False, "worked", BASE)
    assert [trace.name for trace in test.data if trace.mode == "markers"] == ["mmmult-reference"]
    page = dict(zip(ANALYSIS_OUTPUTS, handlers.analyse("executor", None, None, "worked", "mini"), strict=True))
    assert page["chosen"]["value"] == "executor" and page["chosen"]["choices"] == ["executor", "mmmult-reference"]
    test_page = dict(zip(ANALYSIS_OUTPUTS, handlers.analyse("executor", None, None), strict=True))
    assert test_page["chosen"]["choices"] == ["mmmult-reference"]  # the executor ran the mini split alone


def test_findings_give_a_row_per_split_and_never_pool_them(board: Board) -> None:
    table = findings_table(board)
    high_load = table[table["claim"] == "accuracy near zero past C 100"]
    assert high_load[["model", "split"]].values.tolist() == [
        ["mmmult-reference", "test"], ["executor", "mini"], ["mmmult-reference", "mini"]]  # fmt: skip
    perception = table[table["claim"] == "perception near perfect while computation fails"].set_index("split")
    reference = perception[perception["model"] == "mmmult-reference"]
    assert reference.loc["test", "this board"].endswith("(n=259)") and reference.loc["mini", "this board"].endswith(
        "(n=23)")  # fmt: skip
    adapters = table[table["claim"] == "heuristic adapters"]
    assert adapters[["model", "split"]].values.tolist() == [["mmmult-reference", ""], ["executor", ""]]


def test_an_older_store_without_the_split_column_reads_as_test_runs(runs, benchmark: Benchmark, tmp_path: Path) -> None:
    path = tmp_path / "board.sqlite"
    store = Store(path)
    store.add(Entry("old-model", "Old", "a", True), runs["test"], check(runs["test"], benchmark))
    with closing(sqlite3.connect(path)) as db:  # as a store written before the board took mini runs
        db.execute("ALTER TABLE submissions DROP COLUMN split")
        db.commit()
        assert "split" not in {row[1] for row in db.execute("PRAGMA table_info(submissions)")}
    reopened = Store(path)
    assert reopened.submission(1)["split"] == "test"
    board = Board(reopened, benchmark)
    assert list(board.table(**NUMERALS)["model"]) == ["old-model"] and board.table(split="mini").empty
    sid = reopened.add(Entry("new-model", "New", "a", True), runs["mini"], check(runs["mini"], benchmark))
    assert reopened.submission(sid)["split"] == "mini"
    assert list(Board(reopened, benchmark).table(**NUMERALS, split="mini")["model"]) == ["new-model"]
