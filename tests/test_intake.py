"""Submissions to the Space: parsing, validation against the benchmark, re-scoring, and the store."""

from __future__ import annotations

import hashlib
import io
import json
import math
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

import mmmult.leaderboard.intake.upload as upload_module
from mmmult.leaderboard.intake.benchmark import load_reference
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Rejected, read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from tests.simulate import lm_eval_files, right

ENTRY = Entry(model="mmmult-reference", family="Reference", submitter="tester", open_weights=True)


def edited(files: list[tuple[str, bytes]], name_part: str, edit) -> list[tuple[str, bytes]]:
    """The files with one JSON (or every line of one JSONL) passed through `edit`."""
    out = []
    for name, data in files:
        if name_part not in name:
            out.append((name, data))
        elif name.endswith(".jsonl"):
            lines = [json.loads(line) for line in data.splitlines()]
            edit(lines)
            out.append((name, "\n".join(json.dumps(line) for line in lines).encode()))
        else:
            content = json.loads(data)
            edit(content)
            out.append((name, json.dumps(content).encode()))
    return out


def test_a_complete_run_is_rescored(run_files, reference, run_tasks) -> None:
    verdict = check(read_upload(run_files), reference)
    assert verdict.status == "re-scored"
    assert {t.task: t.score for t in verdict.tasks} == dict.fromkeys(run_tasks, 1.0)
    assert len(verdict.items) == 3 * len(reference)
    assert verdict.model_name == "mmmult-reference"


def test_a_zip_of_the_output_folder_gives_the_same_verdict(run_files, reference) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in run_files:
            archive.writestr(f"results/mmmult-reference/{name}", data)
    zipped = check(read_upload([("run.zip", buffer.getvalue())]), reference)
    assert zipped.samples_hash == check(read_upload(run_files), reference).samples_hash
    assert zipped.status == "re-scored"


def test_a_tampered_target_is_caught(run_files, reference) -> None:
    def tamper(lines: list[dict]) -> None:
        lines[0]["target"] = str(int(lines[0]["target"]) + 1)

    with pytest.raises(Rejected, match=r"samples_mmmult_text_words_.*, line 1: the target of problem .* was changed"):
        check(read_upload(edited(run_files, "samples_mmmult_text_words", tamper)), reference)


def test_a_doctored_metric_is_caught(run_files, reference) -> None:
    def boost(results: dict) -> None:
        results["results"]["mmmult_text_numerals"]["exact_match,final-integer"] = 0.5

    with pytest.raises(Rejected, match=r"reports exact_match 0\.5 but its samples score 1\.000000"):
        check(read_upload(edited(run_files, "results_", boost)), reference)


def test_a_changed_response_is_rescored_and_then_disagrees(run_files, reference) -> None:
    def wrong(lines: list[dict]) -> None:
        lines[0]["resps"] = [["Final Answer: 7"]]

    with pytest.raises(Rejected, match="its samples score"):
        check(read_upload(edited(run_files, "samples_mmmult_text_numerals", wrong)), reference)


def test_tasks_without_samples_are_self_reported(run_files, reference) -> None:
    only_results = [(n, d) for n, d in run_files if "samples_mmmult_text_words" not in n]
    verdict = check(read_upload(only_results), reference)
    assert verdict.status == "self-reported"
    assert {t.task: t.verified for t in verdict.tasks}["mmmult_text_words"] is False
    assert any("mmmult_text_words: no samples uploaded" in line for line in verdict.log)


def test_an_incomplete_task_is_rejected(run_files, reference) -> None:
    with pytest.raises(Rejected, match="test problems have no sample: run without --limit"):
        check(read_upload(edited(run_files, "samples_mmmult_text_words", lambda lines: lines.pop())), reference)


def test_unknown_tasks_and_versions_are_named(run_files, reference) -> None:
    def rename(results: dict) -> None:
        results["results"]["gsm8k"] = results["results"].pop("mmmult_text_words")

    with pytest.raises(Rejected, match="unknown task\\(s\\) gsm8k"):
        check(read_upload(edited(run_files, "results_", rename)), reference)

    def old_version(results: dict) -> None:
        results["versions"]["mmmult_text_numerals"] = 0.5

    with pytest.raises(Rejected, match=r"mmmult_text_numerals is version 0\.5; this board takes version 1\.0"):
        check(read_upload(edited(run_files, "results_", old_version)), reference)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("notes.txt", b"hi")], "only .json, .jsonl and .zip"),
        ([("run.zip", b"not a zip")], "not a valid zip"),
        ([("samples_mmmult_text_words_x.jsonl", b"{}")], "exactly one results_"),
        ([("results_x.json", b"{not json")], "not valid JSON"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason(files, message: str) -> None:
    with pytest.raises(Rejected, match=message):
        read_upload(files)


def test_zip_members_with_parent_paths_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../results_evil.json", "{}")
    with pytest.raises(Rejected, match="absolute or parent path"):
        read_upload([("run.zip", buffer.getvalue())])


def test_the_size_cap_applies_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_module, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(Rejected, match="the limit is"):
        read_upload([("results_x.json", b"{" + b" " * 20 + b"}")])


def test_store_keeps_everything_and_counts_duplicates_once(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    upload = read_upload(run_files)
    verdict = check(upload, reference)
    first = store.add(ENTRY, upload, verdict)
    second = store.add(ENTRY, upload, verdict)
    assert store.submission(first)["status"] == "re-scored"
    assert store.submission(second)["status"] == "duplicate"
    assert store.submission(second)["duplicate_of"] == first
    counts = store.counts()
    assert counts["submissions"] == 2 and counts["items"] == len(verdict.items)
    kept = sorted(p.name for p in (tmp_path / "files").iterdir())
    assert kept == sorted(hashlib.sha256(data).hexdigest() for _, data in run_files)
    rejected = store.reject(ENTRY, "tampered target")
    assert store.submission(rejected)["log"] == "tampered target"
    assert store.recent_submissions("tester", 60) == 2  # accepted ones: a refusal does not count


def test_twenty_submissions_at_once_are_all_stored(run_files, reference, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    tasks = ("mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_numerals")
    runs = [lm_eval_files(reference, tasks, lambda task, p, i=i: right(task, p) + f" ({i})") for i in range(20)]

    def submit(i: int) -> None:
        upload = read_upload(runs[i])
        store.add(Entry(f"model-{i}", "Test", f"user-{i}", True), upload, check(upload, reference))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = store.counts()
    assert counts["submissions"] == 20
    assert counts["task_results"] == 20 * 3
    assert counts["items"] == 20 * 3 * len(reference)


CRASHING_WRITER = """
import sys, time
from mmmult.leaderboard.storage.store import Store
store = Store({path!r})
db = store.connect()
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO submissions (created, model, family, open_weights, submitter, status, log)"
           " VALUES (0, 'half', 'x', 1, 'x', 're-scored', '')")
db.execute("INSERT INTO items VALUES (last_insert_rowid(), 't', 'p', '1', 1, 18)")
print("inside", flush=True)
time.sleep(60)
"""


def test_a_crash_in_the_middle_of_a_submission_leaves_the_store_consistent(
    run_files, reference, tmp_path: Path
) -> None:
    path = tmp_path / "board.sqlite"
    store = Store(path)
    store.add(ENTRY, read_upload(run_files), check(read_upload(run_files), reference))
    before = store.counts()
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER.format(path=str(path))], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "inside"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert Store(path).counts() == before
    upload = read_upload(run_files)
    Store(path).add(Entry("again", "Test", "other", False), upload, check(upload, reference))
    assert Store(path).counts()["submissions"] == before["submissions"] + 1


def test_a_submitter_is_rate_limited_by_accepted_submissions_until_the_hour_passes(
    run_files, reference, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmmult.leaderboard.storage import store as store_module
    from mmmult.leaderboard.submissions import RATE_LIMIT, RATE_WINDOW_SECONDS, Form, submit

    folder = tmp_path / "upload"
    folder.mkdir()
    for name, data in run_files:
        (folder / name).write_bytes(data)
    paths = [str(p) for p in folder.iterdir()]
    form = Form("m", "F", submitter="busy")
    now = [1_000_000.0]
    monkeypatch.setattr(store_module.time, "time", lambda: now[0])
    for _ in range(3):  # refused attempts do not use up the allowance
        assert "rejected: model: please fill it in" in submit(store, reference, paths, Form("", "F", submitter="busy"))
    messages = [submit(store, reference, paths, form) for _ in range(RATE_LIMIT + 1)]
    assert messages[0].startswith("submission #4 re-scored")
    assert messages[1].startswith("submission #5 duplicate")
    assert messages[-1] == "rejected: at most 5 accepted submissions per hour per submitter; try again later"
    assert submit(store, reference, paths, Form("m", "F", submitter="other")).startswith("submission #9 duplicate")
    now[0] += RATE_WINDOW_SECONDS - 1
    assert submit(store, reference, paths, form).startswith("rejected: at most 5")
    now[0] += 2  # the first five are now more than an hour old
    assert submit(store, reference, paths, form).startswith("submission #10 duplicate")


@pytest.mark.parametrize(("earlier", "burst", "stored"), [(0, 8, 5), (0, 3, 3), (3, 6, 2), (5, 4, 0)])
def test_a_burst_of_submissions_stores_exactly_what_the_limit_allows(
    earlier: int, burst: int, stored: int, run_files, reference, store: Store, tmp_path: Path
) -> None:
    """`burst` submissions of one submitter at once, on threads as Gradio runs handlers, after `earlier` ones: the
    count and the record share one transaction, so exactly min(burst, 5 - earlier) are stored."""
    from mmmult.leaderboard.submissions import OVER_LIMIT, Form, submit

    paths = []
    for name, data in run_files:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    form = Form("m", "F", submitter="busy")
    for _ in range(earlier):
        assert "rejected" not in submit(store, reference, paths, form)
    start, messages = threading.Barrier(burst), []

    def submitter() -> None:
        start.wait()
        messages.append(submit(store, reference, paths, form))

    threads = [threading.Thread(target=submitter) for _ in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(m == OVER_LIMIT for m in messages) == [False] * stored + [True] * (burst - stored), messages
    assert store.recent_submissions("busy", 3600) == earlier + stored
    assert store.counts()["submissions"] == earlier + stored  # an over-limit submission leaves no record


def test_a_burst_from_board_processes_sharing_one_store_stores_five(run_files, reference, tmp_path: Path) -> None:
    """Eight processes (two boards on one store, say) submit for one submitter at the same moment: five are stored."""
    import multiprocessing

    from mmmult.leaderboard.submissions import OVER_LIMIT, Form, submit

    Store(tmp_path / "board.sqlite")
    paths = []
    for name, data in run_files:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    context = multiprocessing.get_context("fork")
    start, messages = context.Barrier(8), context.Queue()

    def submitter() -> None:
        start.wait()
        messages.put(submit(Store(tmp_path / "board.sqlite"), reference, paths, Form("m", "F", submitter="busy")))

    processes = [context.Process(target=submitter) for _ in range(8)]
    for process in processes:
        process.start()
    outcomes = sorted(messages.get(timeout=120) == OVER_LIMIT for _ in processes)
    for process in processes:
        process.join()
    assert outcomes == [False] * 5 + [True] * 3
    assert Store(tmp_path / "board.sqlite").counts()["submissions"] == 5


def test_a_hub_repo_that_cannot_be_read_is_named_in_the_error() -> None:
    with pytest.raises(FileNotFoundError, match="could not read the problems of the dataset repo someone/mmmult"):
        load_reference("someone/mmmult")


# What the board checks a run against: the test problems and configs of a build, and its design.


def write_build(folder: Path, problems: list[dict], manifest: dict | None) -> Path:
    """A build as `mmmult build` lays it out for the board: problems/<split>-*.parquet and manifest.json."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "problems").mkdir(parents=True)
    test = [p for p in problems if p["split"] == "test"]
    half = len(test) // 2
    pq.write_table(pa.Table.from_pylist(test[:half]), folder / "problems" / "test-00000-of-00002.parquet")
    pq.write_table(pa.Table.from_pylist(test[half:]), folder / "problems" / "test-00001-of-00002.parquet")
    train = [p for p in problems if p["split"] == "train"]
    pq.write_table(pa.Table.from_pylist(train), folder / "problems" / "train-00000-of-00001.parquet")
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def drawn() -> list[dict]:
    from dataset_builder.problems import Bounds, problem_set

    return [p.as_dict() for p in problem_set(5, 20260418, Bounds(max_digits=3, limit=60))]


def test_a_build_s_test_shards_configs_and_design_are_read(drawn, tmp_path: Path) -> None:
    from dataset_builder.problems import Bounds
    from mmmult.leaderboard.intake.benchmark import Design

    manifest = {  # as the build writes it: configs by name, the options it was built with
        "configs": {"problems": {"test": 9}, "text-words": {"test": 9}, "text-numerals": {"test": 9}},
        "options": {
            "per_stratum": 5,
            "seed": 20260418,
            "from_csv": None,
            "bounds": {"max_digits": 3, "limit": 60, "min_c": None, "added_later": 1},
        },
    }
    benchmark = load_reference(write_build(tmp_path / "build", drawn, manifest))
    test = {p["problem_id"]: p for p in drawn if p["split"] == "test"}
    assert len(test) > 2 and dict(benchmark) == test  # both test shards, not the train shard
    assert len(benchmark) == len(test) and sorted(benchmark) == sorted(test)
    assert benchmark.configs == ("text-numerals", "text-words")  # in the benchmark's order; no "problems"
    assert benchmark.design == Design(5, 20260418, Bounds(max_digits=3, limit=60))
    assert benchmark.seed == 20260418


def test_a_build_without_a_manifest_offers_every_config_and_the_default_design(drawn, tmp_path: Path) -> None:
    from dataset_builder.configs import STIMULUS_CONFIGS
    from mmmult.leaderboard.intake.benchmark import Design

    benchmark = load_reference(write_build(tmp_path / "build", drawn, None))
    assert (
        benchmark.configs
        == STIMULUS_CONFIGS
        == ("text-numerals", "text-words", "image-numerals", "image-words", "audio-words", "audio-digits")
    )
    assert benchmark.design == Design() and benchmark.seed == 20260418


def test_a_csv_build_has_no_seed_and_no_fresh_draw(drawn, tmp_path: Path) -> None:
    manifest = {"configs": {"text-numerals": {}}, "options": {"from_csv": {"file": "mine.csv", "sha256": "0"}}}
    benchmark = load_reference(write_build(tmp_path / "build", drawn, manifest))
    assert benchmark.design is None and benchmark.seed is None
    with pytest.raises(Rejected) as error:
        benchmark.fresh(7)
    assert str(error.value) == (
        "this board's benchmark was built from a CSV: there is no fresh draw of it to check against"
    )


def test_the_design_of_a_manifest_falls_back_to_the_defaults_for_what_it_does_not_state() -> None:
    from dataset_builder.problems import Bounds
    from mmmult.leaderboard.intake.benchmark import Design, design_of

    assert design_of({}) == Design(5, 20260418, Bounds())
    assert design_of({"bounds": None}) == Design(5, 20260418, Bounds())
    assert design_of({"per_stratum": 7, "seed": 3, "bounds": {"min_digits": 2, "max_c": 100}}) == Design(
        7, 3, Bounds(min_digits=2, max_c=100)
    )
    assert design_of({"from_csv": None, "seed": 9}) == Design(5, 9, Bounds())
    assert design_of({"from_csv": {"file": "x.csv"}, "seed": 9}) is None


def test_a_local_folder_named_like_a_hub_repo_is_read_from_disk(
    drawn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    def no_download(*args, **kwargs):
        raise AssertionError("a local build must not be downloaded")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_download)
    write_build(tmp_path / "someone" / "mmmult", drawn, None)
    monkeypatch.chdir(tmp_path)
    assert len(load_reference("someone/mmmult")) == sum(p["split"] == "test" for p in drawn)


def test_a_folder_without_problems_is_named_with_what_to_do(tmp_path: Path) -> None:
    for missing in (tmp_path, tmp_path / "no" / "such" / "build"):
        with pytest.raises(FileNotFoundError) as error:
            load_reference(missing)
        assert str(error.value) == f"no problems/test-*.parquet in {missing}: point the Space at an mmmult build"


def test_a_hub_build_downloads_only_the_test_and_mini_shards_and_the_manifest(
    drawn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    local = write_build(tmp_path / "snapshot", drawn, {"configs": {"text-words": {}}, "options": {"seed": 4}})
    calls = []

    def download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        return str(local)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", download)
    benchmark = load_reference("some-one/mm.mult")
    wanted = {"repo_type": "dataset",
              "allow_patterns": ["problems/test-*.parquet", "problems/mini-*.parquet", "manifest.json"]}  # fmt: skip
    assert calls == [("some-one/mm.mult", wanted)]
    assert benchmark.configs == ("text-words",) and benchmark.seed == 4
    assert len(benchmark) == sum(p["split"] == "test" for p in drawn)


def test_a_hub_repo_that_cannot_be_downloaded_names_the_repo_the_error_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import huggingface_hub

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(FileNotFoundError) as error:
        load_reference("someone/mmmult")
    assert str(error.value) == (
        "could not read the problems of the dataset repo someone/mmmult (ConnectionError): "
        "check the repo id, or point MMMULT_DATA at a local mmmult build"
    )


def test_a_fresh_draw_holds_the_test_problems_a_build_with_that_seed_holds() -> None:
    from dataset_builder.dataset.pipeline import BuildOptions, load_problems
    from dataset_builder.problems import Bounds
    from mmmult.leaderboard.intake.benchmark import Benchmark, Design

    bounds = Bounds(max_digits=3, limit=60)

    def built(seed: int) -> dict[str, dict]:  # what `mmmult build --seed SEED` writes to problems/test
        problems = load_problems(BuildOptions(configs=("text-words",), seed=seed, per_stratum=4, bounds=bounds))
        return {p.problem_id: p.as_dict() for p in problems if p.split == "test"}

    published = Benchmark(built(20260418), ("text-words",), Design(4, 20260418, bounds))
    fresh = published.fresh(11)
    assert dict(fresh) == built(11) != dict(published)
    assert fresh.design == Design(4, 11, bounds) and fresh.seed == 11 and fresh.configs == ("text-words",)
    assert published.fresh(11) is fresh  # drawn once per seed
    assert published.fresh(20260418) is published


# Re-scoring: what a verdict records, and each reason a run is refused.


def test_each_item_records_the_answer_read_and_whether_it_was_right(reference) -> None:
    first, second = list(reference)[:2]

    def respond(task, problem):
        pid = problem["problem_id"]
        if pid == first:
            return "Numbers: 3, 12" if task.kind.name == "perceive" else "Final Answer: 12"
        if pid == second:
            return "I cannot tell."
        return right(task, problem)

    run = lm_eval_files(reference, ["mmmult_text_words", "mmmult_perceive_text_words"], respond, "m")
    verdict = check(read_upload(run), reference)
    items = {(i.task, i.problem_id): i for i in verdict.items}
    assert len(items) == len(verdict.items) == 2 * len(reference)
    p, q = reference[first], reference[second]
    assert vars(items["mmmult_text_words", first]) == {
        "task": "mmmult_text_words",
        "config": "text-words",
        "regime": "worked",
        "kind": "multiply",
        "problem_id": first,
        "C": p["C"],
        "answer": "12",
        "correct": int(p["product"] == 12),
        "a": p["a"],
        "b": p["b"],
        "response_length": len("Final Answer: 12"),
    }
    assert vars(items["mmmult_perceive_text_words", first]) == {
        "task": "mmmult_perceive_text_words",
        "config": "text-words",
        "regime": "worked",
        "kind": "perceive",
        "problem_id": first,
        "C": p["C"],
        "answer": "3,12",
        "correct": int((p["a"], p["b"]) == (3, 12)),
        "a": p["a"],
        "b": p["b"],
        "response_length": len("Numbers: 3, 12"),
    }
    assert (items["mmmult_text_words", second].answer, items["mmmult_text_words", second].correct) == ("", 0)
    assert (items["mmmult_perceive_text_words", second].answer, items["mmmult_perceive_text_words", second].C) == (
        ",",
        q["C"],
    )
    right_ones = len(reference) - 2 + int(p["product"] == 12)
    (words, read) = verdict.tasks
    assert (words.task, words.config, words.regime, words.kind, words.verified, words.n) == (
        "mmmult_text_words",
        "text-words",
        "worked",
        "multiply",
        True,
        len(reference),
    )
    assert words.score == right_ones / len(reference)
    assert (read.kind, read.score) == (
        "perceive",
        (len(reference) - 2 + int((p["a"], p["b"]) == (3, 12))) / len(reference),
    )
    assert verdict.log == [f"re-scored: 2 task(s), {2 * len(reference)} samples re-scored"]
    # the multiplication answers are read as worked answers too (the Procedures view's traces)
    traces = {p.problem_id: p for p in verdict.procedures}
    assert len(verdict.procedures) == len(traces) == len(reference)
    assert {(p.task, p.group) for p in verdict.procedures} == {("mmmult_text_words", "text-words")}
    assert (
        traces[first].metrics["exact_match"] == int(p["product"] == 12) and traces[second].metrics["exact_match"] == 0
    )
    assert {t.metrics["exact_match"] for pid, t in traces.items() if pid not in (first, second)} == {1}
    assert {t.metrics["trace_target"] for t in traces.values()} == {None}  # the benchmark's problems have no target
    assert verdict.model_name == "m"


def test_a_task_s_regime_and_config_as_lm_eval_records_them_must_be_the_task_table_s(reference) -> None:
    tasks = ["mmmult_text_numerals", "mmmult_direct_text_numerals"]
    run = lm_eval_files(reference, tasks, right, "m")

    def recorded(aliases: dict[str, str], config: str = "text-numerals") -> list[tuple[str, bytes]]:
        """The run with lm-eval's `configs` record of each task: its alias and the config it loaded."""

        def apply(results: dict) -> None:
            results["configs"] = {t: {"task": t, "task_alias": a, "dataset_kwargs": {"config": config}}
                                  for t, a in aliases.items()}  # fmt: skip

        return edited(run, "results_", apply)

    verdict = check(
        read_upload(recorded(dict(zip(tasks, ["text-numerals", "direct-text-numerals"], strict=True)))), reference
    )
    assert [(t.task, t.regime) for t in verdict.tasks] == [(tasks[0], "worked"), (tasks[1], "direct")]
    assert {(i.task, i.regime) for i in verdict.items} == {(tasks[0], "worked"), (tasks[1], "direct")}
    assert reason(recorded({tasks[1]: "text-numerals"}), reference) == (
        "mmmult_direct_text_numerals: results.json says it ran the worked regime (task_alias 'text-numerals'), but "
        "mmmult_direct_text_numerals is a task of the direct regime: run the benchmark's own task files unchanged"
    )
    assert reason(recorded({tasks[0]: "text-numerals"}, "text-words"), reference) == (
        "mmmult_text_numerals: results.json says it ran config 'text-words', but mmmult_text_numerals is the "
        "text-numerals task: run the benchmark's own task files (eval/mmmult/) unchanged"
    )


def test_a_run_that_is_always_wrong_is_re_scored_at_zero(reference) -> None:
    verdict = check(read_upload(lm_eval_files(reference, ["mmmult_text_numerals"], lambda t, p: "no idea")), reference)
    assert [(t.task, t.score, t.n) for t in verdict.tasks] == [("mmmult_text_numerals", 0.0, len(reference))]
    assert verdict.status == "re-scored"


def test_a_run_without_a_model_name_is_named_empty_and_self_reported_tasks_are_logged(run_files, reference) -> None:
    def unnamed(results: dict) -> None:
        results["model_name"] = None
        results["results"]["mmmult_text_words"]["exact_match,final-integer"] = 0.25

    files = [(n, d) for n, d in edited(run_files, "results_", unnamed) if "samples_mmmult_text_words" not in n]
    verdict = check(read_upload(files), reference)
    assert verdict.model_name == ""
    words = [t for t in verdict.tasks if t.task == "mmmult_text_words"]
    assert [(t.config, t.kind, t.verified, t.score, t.n) for t in words] == [("text-words", "multiply", False, 0.25, 0)]
    assert verdict.log == [
        "mmmult_text_words: no samples uploaded; exact_match 0.2500 is self-reported",
        f"self-reported: 3 task(s), {2 * len(reference)} samples re-scored",
    ]


def test_the_samples_hash_is_the_sha256_of_every_task_problem_and_sample_line(run_files, reference) -> None:
    """Duplicates are found by this hash across versions of the board: its definition is fixed."""
    lines = []
    for name, data in run_files:
        if name.startswith("samples_"):
            task = name.removeprefix("samples_").rsplit("_", 1)[0]
            for line in data.splitlines():
                pid = json.loads(line)["doc"]["problem_id"]
                lines.append(f"{task},{pid},{hashlib.sha256(line.strip()).hexdigest()}")
    expected = hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()
    assert check(read_upload(run_files), reference).samples_hash == expected

    def shuffled(lines_: list[dict]) -> None:
        lines_.reverse()

    reordered = edited(run_files, "samples_mmmult_text_words", shuffled)  # the same samples in another order
    assert check(read_upload(reordered), reference).samples_hash == expected
    without = [(n, d) for n, d in run_files if n.startswith("results_")]
    assert check(read_upload(without), reference).samples_hash is None


def test_sample_lines_skip_blank_lines_count_every_line_and_cap_each_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmmult.leaderboard.intake import rescore

    path = tmp_path / "samples.jsonl"
    path.write_bytes(b'{"a": 1}\n\n  \n{"b": 2}\n{"c": 3}')
    assert list(rescore.sample_lines("s", path)) == [(1, b'{"a": 1}\n'), (4, b'{"b": 2}\n'), (5, b'{"c": 3}')]
    monkeypatch.setattr(rescore, "MAX_LINE_BYTES", 10)
    path.write_bytes(b"123456789\n" + b"1234567890\n")  # 10 bytes, then 11
    lines = rescore.sample_lines("s", path)
    assert next(lines) == (1, b"123456789\n")
    with pytest.raises(Rejected) as error:
        next(lines)
    assert str(error.value) == "s, line 2 is over 0 MB; no sample is that long"


def test_a_line_over_2_mb_is_refused_with_its_number(tmp_path: Path) -> None:
    from mmmult.leaderboard.intake.rescore import sample_lines

    path = tmp_path / "samples.jsonl"
    path.write_bytes(b"{}\n" + b"x" * (2 * 2**20 - 1) + b"\n" + b"y" * (2 * 2**20) + b"\n")
    lines = sample_lines("samples_x.jsonl", path)
    assert [number for number, _ in (next(lines), next(lines))] == [1, 2]  # exactly 2 MB with its newline
    with pytest.raises(Rejected) as error:
        next(lines)
    assert str(error.value) == "samples_x.jsonl, line 3 is over 2 MB; no sample is that long"


NUMERALS_FILE = "samples_mmmult_text_numerals_2026-11-29T00-00-00.000000.jsonl"
PERCEIVE_FILE = "samples_mmmult_perceive_text_numerals_2026-11-29T00-00-00.000000.jsonl"


def first_line(edit, name: str = NUMERALS_FILE):
    def apply(lines: list[dict]) -> None:
        edit(lines[0])

    return lambda files: edited(files, name, apply)


def reason(files, reference) -> str:
    with pytest.raises(Rejected) as error:
        check(read_upload(files), reference)
    return str(error.value)


def test_each_sample_check_refuses_with_the_file_line_problem_and_what_to_do(run_files, reference) -> None:
    first = json.loads(dict(run_files)[NUMERALS_FILE].splitlines()[0])["doc"]
    pid, a, b, product = first["problem_id"], first["a"], first["b"], first["product"]
    where = f"{NUMERALS_FILE}, line 1"

    def changed(key, value):
        return first_line(lambda s: s["doc"].__setitem__(key, value))(run_files)

    assert reason(changed("problem_id", "p99999"), reference) == (
        f"{where}: problem 'p99999' is not in this benchmark's test split: run on the published data"
    )
    assert reason(changed("a", a + 1), reference) == f"{where}: problem {pid} has a {a + 1}, not {a}"
    assert reason(changed("b", b + 2), reference) == f"{where}: problem {pid} has b {b + 2}, not {b}"
    assert reason(changed("product", 7), reference) == f"{where}: problem {pid} has product 7, not {product}"
    assert reason(changed("stimulus", "2 x 2"), reference) == (
        f"{where}: problem {pid} was asked as text numerals ('2 x 2'), but mmmult_text_numerals asks it as "
        "text-numerals: upload each task's own samples"
    )
    assert reason(changed("representation", "words"), reference).startswith(
        f"{where}: problem {pid} was asked as text words ("
    )
    assert reason(first_line(lambda s: s.__setitem__("target", "7"))(run_files), reference) == (
        f"{where}: the target of problem {pid} was changed to 7"
    )

    def twice(lines: list[dict]) -> None:
        lines.append(lines[0])

    assert reason(edited(run_files, NUMERALS_FILE, twice), reference) == (
        f"{NUMERALS_FILE}, line {len(reference) + 1}: "
        f"problem {pid} appears twice in the samples of mmmult_text_numerals"
    )

    def padded(lines: list[dict]) -> None:
        lines[0]["pad"] = "x" * 2 * 2**20

    assert reason(edited(run_files, NUMERALS_FILE, padded), reference) == (
        f"{where} is over 2 MB; no sample is that long"
    )

    def two_fewer(lines: list[dict]) -> None:
        del lines[:2]

    assert reason(edited(run_files, NUMERALS_FILE, two_fewer), reference) == (
        f"mmmult_text_numerals: 2 of {len(reference)} test problems have no sample: run without --limit"
    )


def test_a_perception_sample_is_scored_on_its_reading_whatever_its_target(run_files, reference) -> None:
    """Only the multiplication tasks score the target; a perception task reads the operands."""
    retargeted = first_line(lambda s: s.__setitem__("target", "7"), PERCEIVE_FILE)(run_files)
    verdict = check(read_upload(retargeted), reference)
    assert {t.task: t.score for t in verdict.tasks}["mmmult_perceive_text_numerals"] == 1.0


def test_a_claim_that_disagrees_with_the_samples_is_refused_however_small_the_gap(run_files, reference) -> None:
    def claim(value: float):
        def apply(results: dict) -> None:
            results["results"]["mmmult_text_numerals"]["exact_match,final-integer"] = value

        return edited(run_files, "results_", apply)

    assert reason(claim(0.0), reference) == (
        "mmmult_text_numerals: results.json reports exact_match 0.0 but its samples score 1.000000: "
        "upload the unmodified lm-eval output"
    )
    assert "but its samples score" in reason(claim(1 - 1e-6), reference)
    assert check(read_upload(claim(1 - 1e-12)), reference).status == "re-scored"  # float noise is not a lie
    never = lm_eval_files(reference, ["mmmult_text_numerals"], lambda task, problem: "no idea")

    def claimed_of_never(value: float):
        def apply(results: dict) -> None:
            results["results"]["mmmult_text_numerals"]["exact_match,final-integer"] = value

        return edited(never, "results_", apply)

    assert check(read_upload(claimed_of_never(1e-9)), reference).status == "re-scored"  # 0 within the tolerance of 1e-9
    assert "reports exact_match 2e-09 but its samples score 0.000000" in reason(claimed_of_never(2e-9), reference)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", 1.0000001),
            "mmmult_text_words: results.json reports exact_match 1.0000001, not a share from 0 to 1",
        ),
        (
            lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", -1e-9),
            "mmmult_text_words: results.json reports exact_match -1e-09, not a share from 0 to 1",
        ),
        (
            lambda r: r["versions"].__setitem__("mmmult_text_words", 2),
            "mmmult_text_words is version 2; this board takes version 1.0: update mmmult and rerun",
        ),
        (
            lambda r: r["results"].__setitem__("gsm8k", {}) or r["results"].__setitem__("arc", {}),
            "unknown task(s) gsm8k, arc: submit runs of the mmmult tasks only",
        ),
        (lambda r: r.__setitem__("results", {"mmmult_text": {}}), "results.json holds no mmmult task"),
        (
            lambda r: r["results"].pop("mmmult_text_words"),
            "samples for task(s) mmmult_text_words that results.json does not report: upload one run",
        ),
        (
            lambda r: [r["results"].pop(task) for task in ("mmmult_text_words", "mmmult_perceive_text_numerals")],
            "samples for task(s) mmmult_perceive_text_numerals, mmmult_text_words that results.json does not "
            "report: upload one run",  # in the order of the files' names
        ),
    ],
)
def test_each_results_check_refuses_with_the_task_and_what_to_do(edit, message, run_files, reference) -> None:
    assert reason(edited(run_files, "results_", edit), reference) == message


def test_a_run_of_configs_the_board_lacks_names_each_task(run_files, reference) -> None:
    from mmmult.leaderboard.intake.benchmark import Benchmark

    images_only = Benchmark(dict(reference), ("image-numerals",))
    assert reason(run_files, images_only) == (
        "this board's benchmark has no config for "
        "mmmult_text_numerals, mmmult_text_words, mmmult_perceive_text_numerals"
    )
    assert check(read_upload(run_files), Benchmark(dict(reference), ("text-numerals", "text-words"))).status == (
        "re-scored"
    )


# The schema: bounded JSON, and the field each refusal names.


def test_integers_of_up_to_40_digits_are_read_and_longer_ones_refused() -> None:
    from mmmult.leaderboard.intake.schema import SchemaError, parse_json

    assert parse_json(f"[{'9' * 40}, -{'9' * 40}]", "w") == [10**40 - 1, -(10**40 - 1)]
    with pytest.raises(SchemaError) as error:
        parse_json(b"[" + b"1" * 41 + b"]", "results.json")
    assert str(error.value) == "results.json: a number of 41 digits (at most 40 are read)"


def test_non_finite_numbers_are_refused_and_nan_only_where_lm_eval_writes_it() -> None:
    from mmmult.leaderboard.intake.schema import SchemaError, parse_json

    with pytest.raises(SchemaError) as error:
        parse_json(b"[" + b"9" * 400 + b".5]", "w")
    assert str(error.value) == f"w: the number {'9' * 20}... is out of range"
    assert math.isnan(parse_json(b"[NaN]", "results.json", allow_nan=True)[0])
    for text, allow_nan in ((b"[NaN]", False), (b"[Infinity]", True), (b"[-Infinity]", False)):
        with pytest.raises(SchemaError) as error:
            parse_json(text, "w", allow_nan)
        assert str(error.value) == f"w: {text[1:-1].decode()} is not a number lm-eval writes here"


def test_json_that_is_not_plain_utf_8_is_refused_with_the_place() -> None:
    from mmmult.leaderboard.intake.schema import SchemaError, parse_json

    assert parse_json('{"a": [1, 2.5, "x"]}', "w") == {"a": [1, 2.5, "x"]}  # text is read as it is
    cases = {
        '{"a": 1}'.encode("utf-16"): "w is not UTF-8 text",
        b'\xef\xbb\xbf{"a": 1}': (
            "w is not valid JSON (Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1, column 1)"
        ),
        b'{"a":\n }': "w is not valid JSON (Expecting value at line 2, column 2)",
    }
    for data, message in cases.items():
        with pytest.raises(SchemaError) as error:
            parse_json(data, "w")
        assert str(error.value) == message


def test_a_refusal_names_the_field_pydantic_s_reason_and_what_was_given() -> None:
    from pydantic import ValidationError

    from mmmult.leaderboard.intake.schema import Sample, SchemaError, validate

    for value, field, got in (
        ([1], "the top level", "list"),
        ({"doc_id": 0}, "doc", "nothing"),
        ({"doc_id": "0"}, "doc_id", "str"),
    ):
        with pytest.raises(ValidationError) as raw:
            Sample.model_validate(value)
        reason = raw.value.errors()[0]["msg"]
        with pytest.raises(SchemaError) as error:
            validate(Sample, value, "samples_x.jsonl, line 3")
        assert str(error.value) == f"samples_x.jsonl, line 3, field {field}: {reason.lower()} (got {got})"


# The heuristic probe: re-scored from the logged log-likelihoods and answers, against the published sets.

PROBE_RUN = ["mmmult_probe_text", "mmmult_steps_text", "mmmult_hds_text", "mmmult_traps_text"]
ALL_RIGHT = dict.fromkeys(PROBE_RUN, 1.0)


@pytest.fixture(scope="module")
def probed(reference):
    from dataset_builder.configs import PROBE_CONFIGS, STIMULUS_CONFIGS
    from mmmult.leaderboard.intake.benchmark import Benchmark
    from tests.probe_runs import probe_sets

    return Benchmark(dict(reference), (*STIMULUS_CONFIGS, *PROBE_CONFIGS), probe=probe_sets())


def test_a_probe_run_is_re_scored_from_its_logged_likelihoods_and_answers(probed) -> None:
    from tests.probe_runs import probe_files

    files = probe_files(probed.probe, PROBE_RUN, ALL_RIGHT)
    verdict = check(read_upload(files), probed)
    hds, traps = list(probed.probe["hds"].values()), list(probed.probe["traps"].values())
    assert [(t.task, t.config, t.kind, t.verified, t.score, t.n) for t in verdict.tasks] == [
        ("mmmult_probe_text", "hds-text", "probe", True, 1.0, len(hds)),
        ("mmmult_steps_text", "hds-text", "steps", True, 1.0, len(hds)),
        ("mmmult_hds_text", "hds-text", "fingerprint", True, 1.0, len(hds)),
        ("mmmult_traps_text", "traps-text", "fingerprint", True, 1.0, len(traps)),
    ]
    assert [(p.task, p.problem_id, p.group) for p in verdict.procedures] == [
        *((task, item["problem_id"], item["design_family"]) for task in PROBE_RUN[:3] for item in hds),
        *(("mmmult_traps_text", trap["problem_id"], trap["trap_type"]) for trap in traps),
    ]
    first = {p.task: p.metrics for p in reversed(verdict.procedures)}  # each task's first item
    canonical = hds[0]["canonical_target_heuristic"]
    assert (first["mmmult_probe_text"]["match"], first["mmmult_probe_text"][f"prefers_{canonical}"]) == (1, 1)
    assert first["mmmult_probe_text"]["neutral_loss"] == pytest.approx(1.5)
    assert (first["mmmult_steps_text"]["prefers_correct"], first["mmmult_steps_text"]["gap"]) == (1.0, 1.0)
    assert first["mmmult_traps_text"]["exact_match"] == 1 and verdict.items == []
    assert verdict.log == ["re-scored: 4 task(s), 0 samples re-scored"] and verdict.status == "re-scored"
    lines = []
    for name, data in files[1:]:
        task = name.removeprefix("samples_").rsplit("_", 1)[0]
        lines += [f"{task},{json.loads(line)['doc']['problem_id']},{hashlib.sha256(line).hexdigest()}"
                  for line in data.splitlines()]  # fmt: skip
    assert verdict.samples_hash == hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def test_a_run_of_both_halves_keeps_the_multiplication_traces_and_the_probe(probed, run_files) -> None:
    from tests.probe_runs import probe_files

    probe = probe_files(probed.probe, ["mmmult_traps_text"], {"mmmult_traps_text": 1.0})
    results = json.loads(run_files[0][1])
    results["results"] |= json.loads(probe[0][1])["results"]
    results["versions"] |= json.loads(probe[0][1])["versions"]
    both = [(run_files[0][0], json.dumps(results).encode()), *run_files[1:], *probe[1:]]
    verdict = check(read_upload(both), probed)
    n, traps = len(probed), len(probed.probe["traps"])
    assert len(verdict.items) == 3 * n and len(verdict.procedures) == 2 * n + traps  # two multiplication tasks
    assert {p.task for p in verdict.procedures} == {"mmmult_text_numerals", "mmmult_text_words", "mmmult_traps_text"}
    parts = [check(read_upload(files), probed).samples_hash for files in (run_files, both)]
    assert parts[0] != parts[1]  # the probe's samples count toward the hash too


def test_a_probe_task_is_refused_without_samples_on_a_fresh_draw_and_when_its_claim_is_off(probed) -> None:
    from mmmult.leaderboard.intake.benchmark import Benchmark
    from tests.probe_runs import probe_files

    files = probe_files(probed.probe, PROBE_RUN, ALL_RIGHT)
    without = [(n, d) for n, d in files if not n.startswith("samples_mmmult_steps_text")]
    assert reason(without, probed) == (
        "mmmult_steps_text: the board re-scores the probe from its samples; upload samples_mmmult_steps_text_*.jsonl"
    )
    assert reason(files, probed.fresh(11)) == (
        "mmmult_probe_text: probe runs are checked against the published sets; submit them without a seed"
    )
    unset = Benchmark(dict(probed), probed.configs, probe={"hds": probed.probe["hds"]})  # no traps set
    assert reason(files, unset).startswith("mmmult_traps_text: probe runs are checked against the published sets")
    off = probe_files(probed.probe, PROBE_RUN, {**ALL_RIGHT, "mmmult_steps_text": 1 - 1e-6})
    assert reason(off, probed) == (
        "mmmult_steps_text: results.json reports prefers_correct 0.999999 but its samples score 1.000000: "
        "upload the unmodified lm-eval output"
    )
    name = files[1][0]  # samples_mmmult_probe_text_<date>.jsonl
    first = json.loads(files[1][1].splitlines()[0])
    pid, a, b = first["doc"]["problem_id"], first["doc"]["a"], first["doc"]["b"]

    def first_line_of_probe(edit) -> list[tuple[str, bytes]]:
        lines = [json.loads(line) for line in files[1][1].splitlines()]
        edit(lines[0])
        return [files[0], (name, "\n".join(json.dumps(line) for line in lines).encode()), *files[2:]]

    assert reason(first_line_of_probe(lambda s: s["doc"].__setitem__("a", a + 1)), probed) == (
        f"{name}, line 1: item {pid} is {a} x {b}, not {a + 1} x {b}"
    )
    assert reason(first_line_of_probe(lambda s: s.__setitem__("pad", "x" * 2 * 2**20)), probed) == (
        f"{name}, line 1 is over 2 MB; no sample is that long"
    )
    noise = probe_files(probed.probe, PROBE_RUN, {**ALL_RIGHT, "mmmult_steps_text": 1 - 1e-12})
    assert check(read_upload(noise), probed).status == "re-scored"


def test_a_probe_claim_is_checked_against_the_re_scored_share(probed) -> None:
    from tests.probe_runs import probe_files

    def contrarian(task, item, heuristic, correct) -> float:  # likeliest on a heuristic that is not the target
        return 1.0 if heuristic not in (item["canonical_target_heuristic"], "neutral") else 2.0

    never = probe_files(probed.probe, ["mmmult_probe_text"], {"mmmult_probe_text": 1e-9}, contrarian)
    verdict = check(read_upload(never), probed)  # 0, within the tolerance of 1e-9
    assert [(t.task, t.score) for t in verdict.tasks] == [("mmmult_probe_text", 0.0)]
    assert {p.metrics["match"] for p in verdict.procedures} == {0}
    off = probe_files(probed.probe, ["mmmult_probe_text"], {"mmmult_probe_text": 2e-9}, contrarian)
    assert reason(off, probed).startswith("mmmult_probe_text: results.json reports match 2e-09 but its samples")


def test_a_build_s_probe_sets_are_read_from_the_first_config_of_each_set(drawn, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.probe_runs import probe_sets

    sets = probe_sets()
    build = write_build(tmp_path / "build", drawn, {"configs": {"hds-image": {}, "traps-text": {}}, "options": {}})
    for config, rows in (("hds-image", sets["hds"]), ("traps-text", sets["traps"])):
        (build / config).mkdir()
        media = [{**row, "image": b"\x89PNG"} for row in rows.values()]  # a media column the board does not read
        pq.write_table(pa.Table.from_pylist(media), build / config / "test-00000-of-00001.parquet")
    wrong = [{**row, "a": 1} for row in sets["hds"].values()]  # a later config of the same set is not read
    (build / "hds-audio").mkdir()
    pq.write_table(pa.Table.from_pylist(wrong), build / "hds-audio" / "test-00000-of-00001.parquet")
    benchmark = load_reference(build)
    assert benchmark.probe == sets
    assert benchmark.configs == ("hds-image", "traps-text")
    assert load_reference(write_build(tmp_path / "plain", drawn, None)).probe == {}
