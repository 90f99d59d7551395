"""Submissions to the Space: parsing, validation against the benchmark, re-scoring, and the store."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

import dataset_builder.leaderboard.upload as upload_module
from dataset_builder.leaderboard.ingest import Rejected, check, load_reference, read_upload
from dataset_builder.leaderboard.simulate import lm_eval_files, right
from dataset_builder.leaderboard.store import Entry, Store

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
from dataset_builder.leaderboard.store import Store
store = Store({path!r})
db = store.connect()
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO submissions (created, model, family, open_weights, submitter, status, log)"
           " VALUES (0, 'half', 'x', 1, 'x', 're-scored', '')")
db.execute("INSERT INTO items VALUES (last_insert_rowid(), 't', 'p', '1', 1)")
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
    run_files, reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataset_builder.leaderboard import store as store_module
    from dataset_builder.leaderboard.submission import RATE_LIMIT, RATE_WINDOW_SECONDS, Form, submit

    store = Store(tmp_path / "board.sqlite")
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


def test_a_hub_repo_that_cannot_be_read_is_named_in_the_error() -> None:
    with pytest.raises(FileNotFoundError, match="could not read the problems of the dataset repo someone/mmmult"):
        load_reference("someone/mmmult")
