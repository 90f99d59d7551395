"""The board ranks runs of the extended set (configs extended-*): checked against an extended build served beside
the base one, ranked in tables, curves and bands of their own, never pooled with the base set's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dataset_builder.answers import extract_answer
from dataset_builder.configs import STIMULUS_CONFIGS
from dataset_builder.dataset.pipeline import BuildOptions, build
from dataset_builder.problems import EXTENDED, Bounds
from dataset_builder.scoring import score_answer
from mmmult.leaderboard.display.app import Handlers, view
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.filters import Filters
from mmmult.leaderboard.intake.benchmark import Benchmark, WrongBuild, load_reference
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Rejected, Upload, read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.queue.folder import LocalQueue
from tests.commands import assert_user_error, mmmult

BOUNDS = Bounds(min_c=1990, max_c=2060, problem_set=EXTENDED)
"""155 problems with C from 1990 to 2060, 22 of them test: 15 in the band 1226-2025, 7 in 2026-3600."""
CONFIGS = ("extended-text-numerals", "extended-text-words")
RUN = ("mmmult_extended_text,mmmult_direct_extended_text,mmmult_perceive_extended_text_numerals,"
       "mmmult_perceive_extended_text_words")  # fmt: skip
EXECUTOR = "heuristic=OT,step_error=0.001,seed=7"
"""An executor that slips once in a thousand operations: about half of these problems right."""


@pytest.fixture(scope="module")
def extended_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    options = BuildOptions(configs=CONFIGS, problem_set=EXTENDED, bounds=BOUNDS, num_proc=1)
    return build(tmp_path_factory.mktemp("extended-board") / "data", options)


def lm_eval_run(data: Path, out: Path, model: str, model_args: str | None = None) -> list[Path]:
    """The results and samples files of one `mmmult eval` run of RUN on the build."""
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", model, "--tasks", RUN, "--log_samples",
               "--output_path", str(out), "--metadata", json.dumps({"data": str(data)})]  # fmt: skip
    command += ["--model_args", model_args] if model_args else []
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return sorted(out.rglob("*.json*"))


@pytest.fixture(scope="module")
def runs(extended_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """The reference system's run and a slipping executor's, of both regimes and perception (about 15 s each)."""
    folder = tmp_path_factory.mktemp("extended-runs")
    return {
        "reference": lm_eval_run(extended_build, folder / "reference", "mmmult-reference"),
        "executor": lm_eval_run(extended_build, folder / "executor", "mmmult-executor", EXECUTOR),
    }


@pytest.fixture(scope="module")
def benchmark(small_build: Path, extended_build: Path) -> Benchmark:
    return load_reference(small_build, extended_build)


def upload_of(files: list[Path]) -> Upload:
    return read_upload([(path.name, path) for path in files])


def rescored(files: list[Path]) -> pd.DataFrame:
    """Each multiplication sample of a run scored here, from its raw response: task, problem, C, correct."""
    rows = []
    for path in files:
        if not path.name.startswith("samples_") or "perceive" in path.name:
            continue
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        for line in path.read_text().splitlines():
            sample = json.loads(line)
            answer = extract_answer(sample["resps"][0][0])
            correct = score_answer(answer, int(sample["doc"]["product"]))["exact_match"]
            rows.append({"task": task, "C": int(sample["doc"]["C"]), "correct": int(correct)})
    return pd.DataFrame(rows)


def test_the_board_serves_an_extended_build_beside_the_base_one(small_build: Path, extended_build: Path) -> None:
    benchmark = load_reference(small_build, extended_build)
    base = load_reference(small_build)
    assert benchmark.configs == (*base.configs, *CONFIGS) and base.extended is None
    assert (benchmark.tested("text-numerals"), benchmark.tested("extended-text-words")) == (len(base), 22)
    first = next(iter(benchmark.extended))
    assert len(benchmark) == len(base) + 22 and benchmark[first]["problem_set"] == EXTENDED
    assert benchmark.fresh(5).tested("extended-text-words") == 23  # a fresh draw of both designs
    with pytest.raises(WrongBuild) as wrong:
        load_reference(extended_build)
    assert str(wrong.value) == (f"{extended_build} is a build of the extended set: give it as the extended build "
                                "(--extended-data), and a build of the base set as the board's data")  # fmt: skip
    with pytest.raises(WrongBuild) as wrong:
        load_reference(small_build, small_build)
    assert str(wrong.value) == (f"{small_build} is not a build of the extended set (its manifest says 'base'): build "
                                "one with `mmmult build --set extended`")  # fmt: skip


def test_the_space_command_refuses_a_build_of_the_other_set(small_build: Path, extended_build: Path) -> None:
    assert_user_error(
        mmmult("space", "--data", str(small_build), "--extended-data", str(small_build), "--db", "/nonexistent/x"),
        f"{small_build} is not a build of the extended set",
    )


def test_an_extended_run_is_re_scored_against_the_extended_build(runs, benchmark: Benchmark) -> None:
    verdict = check(upload_of(runs["reference"]), benchmark)
    assert [(t.task, t.config, t.regime, t.kind, t.verified, t.score, t.n) for t in verdict.tasks] == [
        ("mmmult_extended_text_numerals", "extended-text-numerals", "worked", "multiply", True, 1.0, 22),
        ("mmmult_extended_text_words", "extended-text-words", "worked", "multiply", True, 1.0, 22),
        ("mmmult_direct_extended_text_numerals", "extended-text-numerals", "direct", "multiply", True, 1.0, 22),
        ("mmmult_direct_extended_text_words", "extended-text-words", "direct", "multiply", True, 1.0, 22),
        ("mmmult_perceive_extended_text_numerals", "extended-text-numerals", "worked", "perceive", True, 1.0, 22),
        ("mmmult_perceive_extended_text_words", "extended-text-words", "worked", "perceive", True, 1.0, 22),
    ]
    assert len(verdict.items) == 6 * 22 and {item.C for item in verdict.items} <= set(range(1990, 2061))


def test_an_extended_run_is_refused_where_the_board_serves_no_extended_build(runs, small_build: Path) -> None:
    with pytest.raises(Rejected) as error:
        check(upload_of(runs["reference"]), load_reference(small_build))
    assert str(error.value) == (
        "mmmult_extended_text_numerals, mmmult_extended_text_words, mmmult_direct_extended_text_numerals, "
        "mmmult_direct_extended_text_words, mmmult_perceive_extended_text_numerals, "
        "mmmult_perceive_extended_text_words: this board does not serve the extended set's build, so it cannot check "
        "runs of it (its owner adds one with --extended-data)"
    )


def test_an_extended_mini_run_is_not_ranked(runs, benchmark: Benchmark, tmp_path: Path) -> None:
    (results,) = [path for path in runs["reference"] if path.name.startswith("results_")]
    mini = json.loads(results.read_text())
    mini["results"]["mmmult_mini_extended_text_words"] = mini["results"].pop("mmmult_extended_text_words")
    (tmp_path / results.name).write_text(json.dumps(mini))
    with pytest.raises(Rejected, match=r"^mmmult_mini_extended_text_words: runs of the mini split are not ranked"):
        check(read_upload([(results.name, tmp_path / results.name)]), benchmark)


def test_a_base_problem_answered_in_an_extended_task_is_refused(runs, benchmark: Benchmark, tmp_path: Path) -> None:
    files = {path.name: path.read_bytes() for path in runs["reference"]}
    (name,) = [n for n in files if n.startswith("samples_mmmult_extended_text_numerals_")]
    base_id = next(iter(benchmark.problems))
    first, *rest = files[name].decode().splitlines()
    sample = json.loads(first)
    sample["doc"]["problem_id"] = base_id
    files[name] = "\n".join([json.dumps(sample), *rest]).encode()
    with pytest.raises(Rejected) as error:
        check(read_upload(list(files.items())), benchmark)
    assert str(error.value) == (
        f"{name}, line 1: problem {base_id!r} is not in this benchmark's test split: run on the published data"
    )


@pytest.fixture(scope="module")
def board(runs, benchmark: Benchmark, run_files, tmp_path_factory: pytest.TempPathFactory) -> Board:
    """A board with a base run (the always-right simulated one) and the two extended runs."""
    store = Store(tmp_path_factory.mktemp("extended-store") / "board.sqlite")
    base = read_upload(run_files)
    store.add(Entry("base-model", "Base", "a", True), base, check(base, benchmark))
    for model, files in runs.items():
        upload = upload_of(files)
        store.add(Entry(model, model.title(), "b", True), upload, check(upload, benchmark))
    return Board(store, benchmark)


def band_shares(items: pd.DataFrame) -> dict[str, float]:
    bands = {"C 1226-2025": items["C"] <= 2025, "C 2026-3600": items["C"] >= 2026}
    return {band: float(items.loc[inside, "correct"].mean()) for band, inside in bands.items()}


def test_the_extended_table_ranks_extended_runs_apart_from_the_base_set(board: Board, runs) -> None:
    base = board.table()
    assert list(base["model"]) == ["base-model"] and base.iloc[0]["problem_set"] == "base"
    table = board.table(problem_set=EXTENDED).set_index("model")
    assert list(table.index) == ["reference", "executor"]
    slipped = rescored(runs["executor"])
    worked = slipped[~slipped["task"].str.contains("direct")]
    reference, executor = table.loc["reference"], table.loc["executor"]
    assert (reference["score"], reference["rank"], reference["coverage"], reference["problem_set"]) == (
        1.0, 1, "2/2", EXTENDED)  # fmt: skip
    assert (reference["extended-text-numerals"], reference["C 1226-2025"], reference["C 2026-3600"]) == (1.0, 1.0, 1.0)
    assert executor["score"] == pytest.approx(worked["correct"].mean()) and 0 < executor["score"] < 1
    assert executor["extended-text-words"] == pytest.approx(
        worked.loc[worked["task"] == "mmmult_extended_text_words", "correct"].mean()
    )
    assert {band: executor[band] for band in ("C 1226-2025", "C 2026-3600")} == pytest.approx(band_shares(worked))
    assert pd.isna(executor["C 201-324"]) and "text-numerals" not in table.dropna(axis=1, how="all").columns
    direct = board.table(problem_set=EXTENDED, regime="direct").set_index("model")
    mine = slipped[slipped["task"].str.contains("direct")]
    assert direct.loc["executor", "score"] == pytest.approx(mine["correct"].mean())
    assert list(board.table(problem_set=EXTENDED, modality="image")["model"]) == []


def test_the_extended_view_and_its_csv_carry_its_configs_and_bands(board: Board) -> None:
    page, csv = view(board, Filters(problem_set=EXTENDED))
    assert list(csv.columns) == [
        "rank", "model", "family", "params_b", "open", "status", "regime", "problem_set", "split", "coverage",
        "score", "extended-text-numerals", "extended-text-words", "perception", "C 101-200", "C 201-324", "C 325-625",
        "C 626-1225", "C 1226-2025", "C 2026-3600", "C50", "step_error", "median_response", "settings", "submissions",
    ]  # fmt: skip
    assert list(page.columns)[:2] == ["Rank", "Model"] and "C 2026-3600 %" in page.columns
    assert list(csv["model"]) == ["reference", "executor"] and set(csv["problem_set"]) == {EXTENDED}
    assert csv.loc[0, "C 2026-3600"] == 1.0 and pd.isna(csv.loc[0, "C 325-625"])
    _, base_csv = view(board, Filters())
    assert not [c for c in base_csv.columns if c.startswith(("C ", "extended-"))]
    assert list(base_csv["model"]) == ["base-model"]
    assert Filters.from_query([("problem_set", "extended")]).problem_set == EXTENDED
    assert Filters.from_query([("problem_set", "<script>")]).problem_set == "base"


def test_the_extended_curve_reaches_c_3600_and_holds_only_extended_runs(board: Board, tmp_path: Path) -> None:
    handlers = Handlers(board.store, board.reference, LocalQueue(tmp_path / "queue"), {}, False)
    figure = handlers.curve("text", "all", False, False, "worked", EXTENDED)
    assert tuple(figure.layout.xaxis.range) == (0, 3600)
    points = [trace for trace in figure.data if trace.mode == "markers"]
    assert [trace.name for trace in points] == ["reference", "executor"]
    assert all(1990 <= x <= 2060 for trace in points for x in trace.x)
    assert tuple(handlers.curve("text", "all", False, False, "worked").layout.xaxis.range) == (0, 324)
    assert set(STIMULUS_CONFIGS).isdisjoint(figure.layout.title.text.split(": ")[1].split(" (")[0].split(", "))
