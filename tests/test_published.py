"""The board's published runs: a run folder is stored only when its files are exactly those its provenance lists."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from benchmarks.llama_server import EngineOptions, server_command
from benchmarks.published import RUNS, budget_of, command_lines, eval_command
from dataset_builder.dataset.pipeline import BuildOptions, build
from dataset_builder.problems import Bounds
from mmmult.harness.weights import known_model
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.serve import SpaceSetupError, serve
from mmmult.leaderboard.intake.benchmark import load_reference
from mmmult.leaderboard.intake.upload import Rejected
from mmmult.leaderboard.published import PROVENANCE, SUBMITTER, load_published, read_run, run_folders, seal
from mmmult.leaderboard.storage.store import Store
from tests.commands import mmmult

RESULTS = Path(__file__).resolve().parent.parent / "results"
TASK = "mmmult_mini_direct_text_numerals"
FACTS = {"model": "Tiny-1B (Q4_K_M)", "family": "Tiny", "params_b": 1.0, "command": "mmmult eval ..."}


def listing(folder: Path) -> dict:
    return json.loads((folder / PROVENANCE).read_text())


def run_folder(root: Path, name: str = "tiny/direct") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "results_2026-12-06T00-00-00.json").write_text('{"results": {}}')
    (folder / "samples_mmmult_mini_direct_text_numerals_2026-12-06T00-00-00.jsonl").write_text("{}\n")
    (folder / "command.txt").write_text("mmmult eval ...\n")
    seal(folder, FACTS)
    return folder


def test_a_sealed_folder_reads_back_with_its_provenance(tmp_path: Path) -> None:
    folder = run_folder(tmp_path)
    run = read_run(folder, tmp_path)
    assert run.name == "tiny/direct"
    assert (run.provenance.model, run.provenance.family, run.provenance.params_b) == ("Tiny-1B (Q4_K_M)", "Tiny", 1.0)
    assert [p.name for p in run.data_files] == [
        "results_2026-12-06T00-00-00.json",
        "samples_mmmult_mini_direct_text_numerals_2026-12-06T00-00-00.jsonl",
    ]
    assert sorted(json.loads((folder / PROVENANCE).read_text())["files"]) == [
        "command.txt",
        "results_2026-12-06T00-00-00.json",
        "samples_mmmult_mini_direct_text_numerals_2026-12-06T00-00-00.jsonl",
    ]


def test_run_folders_are_those_with_a_provenance_in_name_order(tmp_path: Path) -> None:
    run_folder(tmp_path, "b/direct")
    run_folder(tmp_path, "a/worked")
    (tmp_path / "c" / "direct").mkdir(parents=True)
    assert [p.relative_to(tmp_path).as_posix() for p in run_folders(tmp_path)] == ["a/worked", "b/direct"]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda f: (f / "command.txt").unlink(), "tiny/direct/command.txt is missing"),
        (
            lambda f: next(f.glob("samples_*")).write_text('{"altered": 1}\n'),
            "tiny/direct/samples_mmmult_mini_direct_text_numerals_2026-12-06T00-00-00.jsonl was altered",
        ),
        (
            lambda f: next(f.glob("results_*")).write_text('{"results": {} }'),
            "tiny/direct/results_2026-12-06T00-00-00.json was altered",
        ),
        (
            lambda f: (f / "samples_mmmult_mini_text_words_x.jsonl").write_text("{}\n"),
            "tiny/direct/samples_mmmult_mini_text_words_x.jsonl is not listed in its provenance.json",
        ),
        (lambda f: (f / PROVENANCE).write_text("{not json"), "tiny/direct/provenance.json"),
        (lambda f: (f / PROVENANCE).write_text('{"model": "x", "family": "y"}'), "files"),
        (
            lambda f: (f / PROVENANCE).write_text(
                json.dumps(json.loads((f / PROVENANCE).read_text()) | {"model": "<script>"})
            ),
            "model: use",
        ),
        (
            lambda f: (f / PROVENANCE).write_text(
                json.dumps(json.loads((f / PROVENANCE).read_text()) | {"params_b": -3})
            ),
            "tiny/direct/provenance.json",
        ),
        (
            lambda f: (f / PROVENANCE).write_text(json.dumps(json.loads((f / PROVENANCE).read_text()) | {"files": []})),
            "tiny/direct/provenance.json",
        ),
        (
            lambda f: (f / PROVENANCE).write_text(
                json.dumps(json.loads((f / PROVENANCE).read_text()) | {"params_b": 10**400})
            ),
            "tiny/direct/provenance.json",
        ),
        (
            lambda f: (f / PROVENANCE).write_text(
                json.dumps(listing(f) | {"files": listing(f)["files"] | {"../../etc/passwd": "0" * 64}})
            ),
            "tiny/direct/provenance.json lists '../../etc/passwd', which is no file name",
        ),
        (lambda f: (f / "link.json").symlink_to("/etc/hostname"), "tiny/direct/link.json is not a plain file"),
        (lambda f: (f / "nested").mkdir(), "tiny/direct/nested is not a plain file"),
    ],
    ids=[
        "missing",
        "samples-altered",
        "results-altered",
        "unlisted",
        "not-json",
        "no-files",
        "bad-name",
        "bad-size",
        "files-a-list",
        "huge-size",
        "path-out",
        "symlink",
        "folder",
    ],
)
def test_a_damaged_folder_is_refused_naming_the_file(
    tmp_path: Path, damage: Callable[[Path], object], reason: str
) -> None:
    folder = run_folder(tmp_path)
    damage(folder)
    with pytest.raises(Rejected) as refused:
        read_run(folder, tmp_path)
    assert reason in str(refused.value)


@pytest.fixture(scope="module")
def small_mini_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    options = BuildOptions(configs=("problems", "text-numerals"), bounds=Bounds(max_digits=3), num_proc=1)
    return build(tmp_path_factory.mktemp("published") / "data", options)


@pytest.fixture(scope="module")
def published(small_mini_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder of one published run: the reference on the build's mini split, sealed."""
    root = tmp_path_factory.mktemp("results")
    out = tmp_path_factory.mktemp("eval")
    command = ["eval", "--model", "mmmult-reference", "--tasks", TASK, "--log_samples", "--output_path", str(out)]
    result = mmmult(*command, "--metadata", json.dumps({"data": str(small_mini_build)}))
    assert result.returncode == 0, result.stderr[-2000:]
    folder = root / "reference" / "direct"
    folder.mkdir(parents=True)
    for path in out.rglob("*.json*"):
        shutil.copy(path, folder / path.name)
    seal(folder, FACTS)
    return root


def submissions(store: Store) -> list[tuple[str, str, str, str]]:
    with closing(store.connect()) as db:
        rows = db.execute("SELECT model, family, submitter, split FROM submissions ORDER BY id").fetchall()
    return [tuple(row) for row in rows]


def test_published_runs_are_stored_once_as_mini_runs(published: Path, small_mini_build: Path, store: Store) -> None:
    benchmark = load_reference(small_mini_build)
    mini = len(benchmark.mini)
    stored = load_published(store, benchmark, published)
    assert stored == [f"reference/direct: submission #1 re-scored ({mini} samples)"]
    assert submissions(store) == [("Tiny-1B (Q4_K_M)", "Tiny", SUBMITTER, "mini")]
    assert load_published(store, benchmark, published) == ["reference/direct: on the board already"]
    assert len(submissions(store)) == 1
    table = Board(store, benchmark).table(regime="direct", split="mini")
    assert table["model"].tolist() == ["Tiny-1B (Q4_K_M)"] and table["score"].tolist() == [1.0]


def test_a_damaged_run_is_refused_whole_and_the_others_stored(
    published: Path, small_mini_build: Path, store: Store, tmp_path: Path
) -> None:
    root = tmp_path / "results"
    shutil.copytree(published, root)
    shutil.copytree(root / "reference" / "direct", root / "broken" / "direct")
    next((root / "broken" / "direct").glob("samples_*")).write_text("{}\n")
    lines = load_published(store, load_reference(small_mini_build), root)
    assert lines[0].startswith("refused: broken/direct/samples_mmmult_mini_direct_text_numerals_")
    assert lines[0].endswith("was altered: its sha256 is not the one its provenance.json lists")
    assert lines[1].startswith("reference/direct: submission #1 ")
    assert [row[0] for row in submissions(store)] == ["Tiny-1B (Q4_K_M)"]


def test_a_published_run_the_build_cannot_check_is_refused_naming_why(
    published: Path, small_build: Path, store: Store
) -> None:
    """The tests' small build holds another mini split: the run's problems are not all in it."""
    (line,) = load_published(store, load_reference(small_build), published)
    assert line.startswith("refused: ") and "mini" in line
    assert submissions(store) == []


def test_a_results_folder_that_is_not_there_is_refused_at_start(small_mini_build: Path, tmp_path: Path) -> None:
    with pytest.raises(SpaceSetupError, match=r"--results .*absent is not a folder: give the folder of published run"):
        serve(str(small_mini_build), str(tmp_path / "board.sqlite"), 0, [], results=str(tmp_path / "absent"))
    assert not (tmp_path / "board.sqlite").exists()


def test_every_published_run_is_accepted_by_a_build_that_holds_the_full_build_s_mini_split(
    tmp_path: Path, store: Store
) -> None:
    """The repository's results/ as the demo's board stores them: each run checked and re-scored against a build
    holding the full build's mini split and probe sets (`--with-mini`, here with one sampled problem)."""
    configs = ("problems", "text-numerals", "text-words", "image-numerals", "image-words", "audio-words",
               "audio-digits", "hds-text")  # fmt: skip
    data = build(tmp_path / "data", BuildOptions(configs=configs, bounds=Bounds(limit=1, with_mini=True)))
    lines = load_published(store, load_reference(data), RESULTS)
    assert len(lines) == len(run_folders(RESULTS)) >= 9
    assert [line for line in lines if " re-scored (" not in line] == []


def test_each_published_run_s_command_is_the_one_its_script_runs() -> None:
    """command.txt of every run in results/ is what benchmarks/published.py runs for that model and run today, with
    the engine settings and budget its provenance records: remaking a run runs the same commands."""
    for folder in run_folders(RESULTS):
        facts = json.loads((folder / PROVENANCE).read_text())
        model, run = known_model(facts["weights"]["name"]), RUNS[facts["remake"].split("--run ")[1].split()[0]]
        engine = facts["engine"]
        options = EngineOptions(**{k: engine[k] for k in ("threads", "slots", "slot_context", "repack")}) if engine \
            else EngineOptions(1, 4)  # fmt: skip
        cap = facts["max_gen_toks"] if isinstance(facts["max_gen_toks"], int) else None
        budget = budget_of(run, cap or 0, cap)
        gguf = Path("/models") / model.gguf_file
        command = eval_command(model, run, gguf, "http://127.0.0.1:5555", options, budget)
        server = None if run.client == "hf" else server_command(Path("/bin/llama-server"), gguf, model.name, 0, options)
        assert (folder / "command.txt").read_text().splitlines() == command_lines(command, server, gguf), folder
