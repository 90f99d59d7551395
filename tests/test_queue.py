"""The evaluation queue and its workers: requests checked and queued once, leases that only one worker
holds and that pass on when a worker dies, and workers that run real models to done or failed."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mmmult.queue import worker
from mmmult.queue.folder import LocalQueue
from mmmult.queue.request import DONE, FAILED, PENDING, RUNNING, EvalRequest, QueueError, request_json
from tests.commands import assert_user_error, mmmult

TEXT = EvalRequest("mmmult-reference", "mmmult-reference", ("text",))


def test_a_request_is_checked_and_queued_once(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path)
    queued = queue.submit(EvalRequest("org/model-7B", "hf", ("text", "text"), precision="bfloat16"))
    assert (queued.id, queued.status, queued.channels) == ("org_model-7B__main__bfloat16__text", PENDING, ("text",))
    assert queued.tasks() == ["mmmult_text", "mmmult_perceive_text_numerals", "mmmult_perceive_text_words"]
    assert queued.model_args() == "pretrained=org/model-7B,revision=main,dtype=bfloat16"
    with pytest.raises(QueueError, match="is already pending as request org_model-7B__main__bfloat16__text"):
        queue.submit(EvalRequest("org/model-7B", "hf", ("text",), precision="bfloat16"))
    assert [r.id for r in queue.requests()] == [queued.id]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (EvalRequest("m", "gpt-5-magic", ("text",)), "model type 'gpt-5-magic' is not one a worker runs"),
        (EvalRequest("m", "hf", ("smell",)), "channels must be some of text, image, audio; got smell"),
        (EvalRequest("m", "hf", ()), "got none"),
        (EvalRequest("m", "hf", ("text",), precision="int3"), "precision must be one of"),
        (EvalRequest("../../etc/passwd", "hf", ("text",)), "a Hub id USER/NAME or an API model name"),
        (EvalRequest("m", "hf", ("text",), revision="main;rm -rf"), "a branch, tag or commit"),
    ],
)
def test_a_bad_request_is_refused_with_the_field(tmp_path: Path, request_: EvalRequest, message: str) -> None:
    with pytest.raises(QueueError, match=message):
        LocalQueue(tmp_path).submit(request_)
    assert not list((tmp_path / "requests").iterdir())


def test_the_oldest_request_is_claimed_and_a_finished_one_never_again(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path)
    first = queue.submit(TEXT)
    second = queue.submit(replace(TEXT, model="other-model"))
    claimed = queue.claim("a", 60)
    assert (claimed.id, claimed.status, claimed.worker, claimed.attempts) == (first.id, RUNNING, "a", 1)
    assert queue.claim("b", 60).id == second.id
    assert queue.claim("c", 60) is None  # both are held
    queue.finish(claimed, DONE)
    assert queue.get(first.id).status == DONE and queue.claim("c", 60) is None
    queue.submit(replace(TEXT, model="third"))
    assert queue.claim("c", 60).model == "third"


def test_an_expired_lease_passes_to_another_worker_and_the_first_loses_it(tmp_path: Path, clock) -> None:
    queue = LocalQueue(tmp_path, clock)
    queued = queue.submit(TEXT)
    assert queue.claim("a", 60).worker == "a"
    clock.advance(59.9)
    assert queue.claim("b", 60) is None  # not yet expired
    clock.advance(0.2)
    taken = queue.claim("b", 60)
    assert (taken.id, taken.worker, taken.attempts) == (queued.id, "b", 2)
    assert not queue.renew(queued.id, "a", 60) and queue.renew(queued.id, "b", 60)
    queue.release(queued.id, "a")  # not a's to give back
    assert queue.claim("c", 60) is None
    late = replace(taken, worker="a", attempts=1)  # a's run ends after all: b's run is the one recorded
    assert queue.finish(late, FAILED, "a's log") is None
    assert (queue.get(queued.id).status, queue.get(queued.id).worker) == (RUNNING, "b")
    assert queue.finish(taken, DONE).status == DONE and queue.get(queued.id).reason is None


DAMAGED = {
    "not JSON": (b"{not json", "Expecting property name"),
    "a list": (b"[1, 2]", "a JSON list, not an object"),
    "missing fields": (b'{"model": "m"}', "it has no field 'channels'"),
    "not UTF-8": (b"\xff\xfe", "Expecting value"),
    "empty": (b"", "Expecting value"),
}
HAND_MADE = {
    "an id that names another path": ({"id": "../../outside"}, "its id '../../outside' is not the one its model"),
    "channels as a string": ({"channels": "text"}, "channels must be some of text, image, audio; got t, e, x, t"),
    "an unknown status": ({"status": "hacked"}, "status 'hacked'"),
    "a time in words": ({"submitted": "yesterday"}, "time 'yesterday'"),
    "markup for a model": ({"model": "<img src=x onerror=alert(1)>"}, "a Hub id USER/NAME or an API model name"),
    "a number among eval_args": ({"eval_args": ["--limit", 5]}, "eval_args must be strings"),
    "a lease in words": ({"lease_expires": "never"}, "lease_expires 'never' is not a time"),
    "an unknown field": ({"owner": "me"}, "unexpected keyword argument 'owner'"),
    "an unknown regime": ({"regimes": ["cot"]}, "unknown regime 'cot': regimes must be some of worked, direct"),
    "markup for a regime": ({"regimes": ["worked", "<img src=x onerror=alert(1)>"]},
                            "unknown regime '<img src=x onerror=alert(1)>': regimes must be some of worked, direct"),
    "a regime as an object": ({"regimes": [{"$ne": "worked"}]}, "unknown regime {'$ne': 'worked'}: regimes must be"),
    "no regime": ({"regimes": []}, "regimes must be some of worked, direct; got none"),
    "a regime of another request": ({"regimes": ["direct"]}, "is not the one its model, revision, precision, channels"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_request_file_is_set_aside_and_the_good_requests_run(tmp_path: Path, case: str) -> None:
    content, reason = DAMAGED[case]
    queue = LocalQueue(tmp_path)
    good = queue.submit(TEXT)
    path = tmp_path / "requests" / "broken.json"
    path.write_bytes(content)
    assert queue.requests() == [good]
    (aside,) = queue.set_aside()
    assert (aside.file, aside.name) == (str(path), "broken") and reason in aside.reason
    assert str(aside) == f"{path} is not a request of this queue ({aside.reason}); fix or remove it"
    assert queue.claim("w", 60).id == good.id and queue.claim("w", 60) is None
    assert [p.name for p in (tmp_path / "leases").iterdir()] == [good.id] and path.read_bytes() == content


@pytest.mark.parametrize("case", sorted(HAND_MADE))
def test_a_hand_made_request_file_is_set_aside_and_nothing_is_run(tmp_path: Path, case: str) -> None:
    """A request's id names the paths a worker writes (results/<id>/, logs/<id>.log): it must be the one
    its fields make, like every other field a worker acts on."""
    change, reason = HAND_MADE[case]
    queue = LocalQueue(tmp_path)
    queued = queue.submit(TEXT)
    path = tmp_path / "requests" / f"{queued.id}.json"
    path.write_text(json.dumps({**request_json(queued), **change}))
    assert queue.claim("w", 60) is None and queue.requests() == []
    (aside,) = queue.set_aside()
    assert aside.file == str(path) and reason in aside.reason
    assert not list((tmp_path / "leases").iterdir()) and not (tmp_path / "outside").exists()
    with pytest.raises(QueueError, match=f"{re.escape(str(path))} is not a request of this queue"):
        queue.submit(TEXT)  # the same request again: its file is the owner's to fix or remove first


def test_a_folder_or_an_oversize_file_among_the_requests_is_set_aside_unread(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path)
    good = queue.submit(TEXT)
    (tmp_path / "requests" / "folder.json").mkdir()
    (tmp_path / "requests" / "huge.json").write_bytes(b" " * (65 * 2**10))
    assert {(aside.name, aside.reason) for aside in queue.set_aside()} == {
        ("folder", "it cannot be read: Is a directory"),
        ("huge", "over 64 KiB"),
    }
    assert queue.claim("w", 60).id == good.id


@pytest.mark.parametrize(
    "lease",
    [
        b"[1, 2]",
        b'{"worker": "w0", "expires": "never"}',
        b'{"worker": 7, "expires": 1e99}',
        b'{"worker": "w0", "expires": true}',
        b'{"worker": "w0", "exp',  # cut off by a worker that died while it wrote
    ],
)
def test_a_damaged_lease_passes_the_request_on(tmp_path: Path, lease: bytes, clock) -> None:
    """A lease file that holds no lease half a minute after it was written is expired (before that, it may be
    being written): the request is not stuck behind it."""
    queue = LocalQueue(tmp_path, clock)
    queued = queue.submit(TEXT)
    folder = tmp_path / "leases" / queued.id
    folder.mkdir()
    (folder / "1.json").write_bytes(lease)
    os.utime(folder / "1.json", (clock(),) * 2)  # written now
    (folder / "\u00b2.json").write_text("{}")  # a name that is a digit to str.isdigit, not to int()
    clock.advance(29)
    assert queue.claim("w", 60) is None  # it may still be being written
    clock.advance(2)
    taken = queue.claim("w", 60)
    assert taken is not None and taken.id == queued.id
    assert json.loads((folder / "2.json").read_text())["worker"] == "w"


def test_a_lease_being_written_is_left_to_its_writer(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path)
    queued = queue.submit(TEXT)
    (tmp_path / "leases" / queued.id).mkdir()
    (tmp_path / "leases" / queued.id / "1.json").write_bytes(b"")
    assert queue.claim("w", 60) is None


def test_a_failed_run_s_reason_leads_with_the_cause_and_what_to_do(small_build: Path, tmp_path: Path) -> None:
    """A real run of a model that is not in the worker's cache, offline (conftest sets HF_HUB_OFFLINE)."""
    queue = LocalQueue(tmp_path / "queue")
    queued = queue.submit(EvalRequest("org/not-cached", "hf", ("text",), perceive=False))
    result = mmmult("worker", "--queue", str(queue.root), "--data", str(small_build), "--once")
    assert result.returncode == 0, result.stderr[-2000:]
    failed = queue.get(queued.id)
    first, log = failed.reason.split("\n", 1)
    assert (failed.status, first) == (
        FAILED,
        "org/not-cached could not be loaded: its files are not in this worker's local cache and the Hub cannot be "
        "reached; download it where the worker runs (hf download org/not-cached --revision main) or let the worker "
        "reach the Hub",
    )
    last_lines = queue.log_path(queued.id).read_text().splitlines()[-20:]
    assert log == "\n".join(last_lines).strip() and "couldn't find them in the cached files" in log


def test_a_request_file_under_another_request_s_name_is_set_aside(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path)
    queued = queue.submit(TEXT)
    copy = tmp_path / "requests" / "org_other__main__auto__text.json"
    copy.write_text(json.dumps(request_json(queued)))
    (aside,) = queue.set_aside()
    assert aside.reason == f"its id {queued.id!r} is not its file's name 'org_other__main__auto__text'"
    assert [r.id for r in queue.requests()] == [queued.id]


def test_a_worker_names_a_set_aside_file_and_runs_the_good_requests(small_build: Path, tmp_path: Path) -> None:
    """Before, one damaged file made `mmmult worker` exit 2 before it ran anything: the queue stalled."""
    queue = LocalQueue(tmp_path / "queue")
    good = queue.submit(replace(TEXT, perceive=False, eval_args=("--limit", "2")))
    (queue.root / "requests" / "broken.json").write_text('{"model": "<b>hand-made</b>"}')
    result = mmmult("worker", "--queue", str(queue.root), "--data", str(small_build), "--once")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("set aside") == 1
    assert f"set aside {queue.root / 'requests' / 'broken.json'} is not a request of this queue (" in result.stdout
    assert "finished 1 request(s)" in result.stdout and queue.get(good.id).status == DONE


def test_of_many_workers_claiming_at_once_exactly_one_gets_each_request(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path)
    for name in ("one", "two", "three"):
        queue.submit(replace(TEXT, model=name))
    got: list[str] = []
    barrier = threading.Barrier(12)

    def claim(worker: str) -> None:
        barrier.wait()
        request = queue.claim(worker, 60)
        if request is not None:
            got.append(request.model)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == ["one", "three", "two"]


def test_the_request_command_queues_and_refuses_with_a_reason(tmp_path: Path) -> None:
    result = mmmult(
        "request", "--queue", str(tmp_path), "--model", "org/m", "--model-type", "hf", "--channels", "text,image"
    )
    assert result.returncode == 0 and "queued org_m__main__auto__text-image" in result.stdout, result.stderr
    assert_user_error(
        mmmult("request", "--queue", str(tmp_path), "--model", "org/m", "--model-type", "bert"),
        "model type 'bert' is not one a worker runs",
    )


def test_the_request_command_takes_api_models_from_the_owner_s_list(tmp_path: Path) -> None:
    api = (
        "request",
        "--queue",
        str(tmp_path / "queue"),
        "--model",
        "gpt-4o",
        "--model-type",
        "openai-chat-completions",
    )
    assert_user_error(mmmult(*api), "gpt-4o (openai-chat-completions) is not an API model this board runs; its "
                                    "owner lists none (MMMULT_API_MODELS)")  # fmt: skip
    listed = [{"name": "gpt-4o", "model_type": "openai-chat-completions", "model_args": {"num_concurrent": 8}}]
    (tmp_path / "api-models.json").write_text(json.dumps(listed))
    result = mmmult(*api, env={"MMMULT_API_MODELS": str(tmp_path / "api-models.json")})
    assert result.returncode == 0, result.stderr
    (request,) = LocalQueue(tmp_path / "queue").requests()
    assert (request.extra, request.model_args()) == ({"num_concurrent": 8}, "model=gpt-4o,num_concurrent=8")


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_killed_worker_s_request_is_run_by_another(small_build: Path, tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path / "queue")
    queued = queue.submit(TEXT)
    command = [sys.executable, "-m", "mmmult.cli", "worker", "--queue", str(queue.root), "--data",
               str(small_build), "--lease-seconds", "3", "--once"]  # fmt: skip
    first = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: queue.get(queued.id).status == RUNNING)
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its eval, mid-run
    first.wait()
    time.sleep(3.5)  # the lease expires
    second = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    finished = queue.get(queued.id)
    assert (finished.status, finished.attempts) == (DONE, 2)
    assert finished.worker in second.stdout and "finished 1 request(s)" in second.stdout
    (results,) = queue.results_dir(queued.id).rglob("results_*.json")
    assert set(json.loads(results.read_text())["results"]) >= {"mmmult_text_numerals", "mmmult_text_words"}


@pytest.mark.slow
def test_two_workers_finish_five_requests_each_once(
    small_build: Path, tiny_lm: Path, tiny_vlm: Path, tiny_audio_lm: Path, tmp_path: Path
) -> None:
    """Tiny random text, vision and audio models on the CPU, the reference system, and one that fails."""
    queue = LocalQueue(tmp_path / "queue")
    quick = ("--limit", "2", "--gen_kwargs", "max_gen_toks=4")
    requests = [
        queue.submit(TEXT),
        queue.submit(EvalRequest(str(tiny_lm), "hf", ("text",), precision="float32", perceive=False, eval_args=quick)),
        queue.submit(
            EvalRequest(
                str(tiny_vlm), "hf-multimodal", ("image",), precision="float32", perceive=False, eval_args=quick
            )
        ),
        queue.submit(
            EvalRequest(
                str(tiny_audio_lm), "hf-audiolm-qwen", ("audio",), precision="float32", perceive=False, eval_args=quick
            )
        ),
        queue.submit(EvalRequest(str(tmp_path / "no-such-model"), "hf", ("text",), eval_args=quick)),
    ]
    result = mmmult("worker", "--queue", str(queue.root), "--data", str(small_build), "--workers", "2", "--once")
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = {r.id: queue.get(r.id) for r in requests}
    for request in requests[:4]:
        assert (outcomes[request.id].status, outcomes[request.id].attempts) == (DONE, 1), outcomes[request.id].reason
        assert list(queue.results_dir(request.id).rglob("results_*.json"))
    failed = outcomes[requests[4].id]
    assert (failed.status, failed.attempts) == (FAILED, 1)
    assert failed.reason.splitlines()[0] == (
        f"{tmp_path / 'no-such-model'} is not a model this worker can find (no such local folder, no such Hub repo, "
        "or a private one): check the name, or give the worker a token (HF_TOKEN) that can read it"
    )
    assert len({outcome.worker for outcome in outcomes.values()}) == 2  # both workers took requests


# A lease at its expiry. A lease holds while the clock reads less than its expiry: from the expiry on another
# worker may take the request; until one does, its holder may still renew it or finish (HubQueue agrees:
# tests/test_hub_queue.py runs the same table).
def _at(expires: float, when: str) -> float:
    return {"a second before": expires - 1.0, "just before": math.nextafter(expires, -math.inf), "at": expires,
            "just after": math.nextafter(expires, math.inf), "a second after": expires + 1.0}[when]  # fmt: skip


LEASE_EDGE = {"a second before": False, "just before": False, "at": True, "just after": True, "a second after": True}
"""Whether the lease has expired (another worker may take the request) at each moment around its expiry."""


def _claimed_by_a(tmp_path: Path, clock) -> tuple[LocalQueue, EvalRequest, float]:
    queue = LocalQueue(tmp_path, clock)
    queue.submit(TEXT)
    mine = queue.claim("a", 60)
    expires = json.loads((tmp_path / "leases" / mine.id / "1.json").read_text())["expires"]
    assert expires == clock() + 60
    return queue, mine, expires


@pytest.mark.parametrize("when", sorted(LEASE_EDGE))
def test_another_worker_takes_a_lease_from_its_expiry_on(tmp_path: Path, clock, when: str) -> None:
    queue, mine, expires = _claimed_by_a(tmp_path, clock)
    clock.now = _at(expires, when)
    taken = queue.claim("b", 60)
    if LEASE_EDGE[when]:
        assert (taken.id, taken.worker, taken.attempts, taken.started) == (mine.id, "b", 2, clock.now)
        lease = json.loads((tmp_path / "leases" / mine.id / "2.json").read_text())
        assert lease == {"worker": "b", "expires": clock.now + 60}
        assert not queue.renew(mine.id, "a", 60) and queue.finish(mine, DONE) is None
        assert (queue.get(mine.id).status, queue.get(mine.id).worker) == (RUNNING, "b")
    else:
        assert taken is None
        assert sorted(p.name for p in (tmp_path / "leases" / mine.id).iterdir()) == ["1.json"]
        assert queue.get(mine.id) == mine


@pytest.mark.parametrize("when", sorted(LEASE_EDGE))
def test_the_holder_renews_its_lease_around_its_expiry_until_another_takes_it(tmp_path: Path, clock, when) -> None:
    queue, mine, expires = _claimed_by_a(tmp_path, clock)
    clock.now = _at(expires, when)
    assert queue.renew(mine.id, "a", 60)
    lease = json.loads((tmp_path / "leases" / mine.id / "1.json").read_text())
    assert lease == {"worker": "a", "expires": clock.now + 60}
    clock.now = math.nextafter(clock.now + 60, -math.inf)
    assert queue.claim("b", 60) is None  # the renewed lease holds to its new expiry
    clock.now = _at(clock.now, "just after")
    assert queue.claim("b", 60).worker == "b"


@pytest.mark.parametrize("when", sorted(LEASE_EDGE))
def test_the_holder_finishes_around_its_lease_s_expiry_until_another_takes_it(tmp_path: Path, clock, when) -> None:
    queue, mine, expires = _claimed_by_a(tmp_path, clock)
    clock.now = _at(expires, when)
    finished = queue.finish(mine, DONE)
    assert (finished.status, finished.worker, finished.finished) == (DONE, "a", clock.now)
    assert queue.get(mine.id) == finished and queue.claim("b", 60) is None
    assert list((tmp_path / "leases" / mine.id).iterdir()) == []  # given back


# A request file that changes between the queue's scan and its claim: the claim must neither fail nor run it,
# and takes the next request; a file that is no longer a request is set aside with why (and the worker says so).
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
_unreadable: set[Path] = set()
"""Files that cannot be read (the `unreadable` fixture): as root, chmod 000 stops no read."""
CHANGED = {
    "removed": (lambda path: path.unlink(), None),
    "emptied": (lambda path: path.write_bytes(b""), "Expecting value: line 1 column 1 (char 0)"),
    "cut short": (
        lambda path: path.write_bytes(path.read_bytes()[:40]),
        "Unterminated string starting at: line 3 column 3 (char 35)",
    ),
    "garbage": (
        lambda path: path.write_bytes(PNG),
        "'utf-8' codec can't decode byte 0x89 in position 0: invalid start byte",
    ),
    "oversize": (lambda path: path.write_bytes(b" " * (65 * 2**10)), "over 64 KiB"),
    "a folder": (lambda path: (path.unlink(), path.mkdir()), "it cannot be read: Is a directory"),
    "unreadable": (_unreadable.add, "it cannot be read: Permission denied"),
    "another request's": (
        lambda path: path.write_text(json.dumps(request_json(replace(TEXT, model="x", id="x__main__auto__text")))),
        "its id 'x__main__auto__text' is not its file's name 'mmmult-reference__main__auto__text'",
    ),
}


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch):
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path in _unreadable:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    yield
    _unreadable.clear()


def _raw(path: Path) -> bytes | None:
    """The file's bytes, read past the `unreadable` fixture's refusal; None when it is not a file."""
    if not path.is_file():
        return None
    with open(path, "rb") as handle:  # not Path.read_bytes, which the fixture may have made refuse
        return handle.read()


def _change_after(
    queue: LocalQueue, monkeypatch: pytest.MonkeyPatch, step: str, request_id: str, change
) -> list[bytes | None]:
    """Change the request's file once, right after the scan (`requests`) or right after its lease is taken; the
    list returned receives what the file holds then (None: no file)."""
    path, done = queue.root / "requests" / f"{request_id}.json", []

    def apply() -> None:
        change(path)
        done.append(_raw(path))

    def after_scan() -> list[EvalRequest]:
        found = LocalQueue.requests(queue)
        if not done:
            apply()
        return found

    def after_lease(lease_id: str, worker: str, lease_seconds: float) -> bool:
        took = LocalQueue._take_lease(queue, lease_id, worker, lease_seconds)
        if took and lease_id == request_id and not done:
            apply()
        return took

    if step == "scan":
        monkeypatch.setattr(queue, "requests", after_scan)
    else:
        monkeypatch.setattr(queue, "_take_lease", after_lease)
    return done


@pytest.mark.parametrize("step", ["scan", "lease"])
@pytest.mark.parametrize("case", sorted(CHANGED))
def test_a_request_file_changed_after_the_scan_is_not_claimed_and_the_next_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unreadable, case: str, step: str
) -> None:
    change, reason = CHANGED[case]
    queue = LocalQueue(tmp_path)
    first, second = queue.submit(TEXT), queue.submit(replace(TEXT, model="other"))
    path = tmp_path / "requests" / f"{first.id}.json"
    left = _change_after(queue, monkeypatch, step, first.id, change)
    claimed = queue.claim("w", 60)
    assert (claimed.id, claimed.worker, claimed.attempts) == (second.id, "w", 1)
    assert list((tmp_path / "leases" / first.id).glob("*")) == []  # no lease left on it
    if reason is None:
        assert not path.exists() and queue.set_aside() == []
    else:
        (aside,) = queue.set_aside()
        assert (aside.file, aside.name, aside.reason) == (str(path), first.id, reason)
    assert left == [_raw(path)]  # left as the change made it: never written over
    assert path.is_dir() == (case == "a folder")
    assert [r.id for r in queue.requests()] == [second.id]
    assert LocalQueue(tmp_path).claim("v", 60) is None  # nor does any other worker take it


@pytest.mark.parametrize("step", ["scan", "lease"])
def test_a_request_finished_after_the_scan_is_not_claimed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    queue = LocalQueue(tmp_path)
    first, second = queue.submit(TEXT), queue.submit(replace(TEXT, model="other"))
    done = replace(first, status=DONE, worker="x", attempts=1, finished=1.0)
    _change_after(queue, monkeypatch, step, first.id, lambda path: path.write_text(json.dumps(request_json(done))))
    assert queue.claim("w", 60).id == second.id
    assert queue.get(first.id) == done and queue.set_aside() == []
    assert list((tmp_path / "leases" / first.id).glob("*")) == []


@pytest.mark.parametrize("case", sorted(CHANGED))
def test_a_worker_names_a_file_damaged_after_its_scan_and_runs_the_next_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, unreadable, case: str
) -> None:
    writes = ("import pathlib, sys; out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True); "
              "(out / 'results_1.json').write_text('{}')")  # fmt: skip
    monkeypatch.setattr(worker, "eval_command", lambda request, out: [sys.executable, "-c", writes, str(out)])
    change, reason = CHANGED[case]
    queue = LocalQueue(tmp_path)
    first, second = queue.submit(TEXT), queue.submit(replace(TEXT, model="other"))
    _change_after(queue, monkeypatch, "scan", first.id, change)
    assert worker.work(queue, "w1", 60, once=True, poll=1) == 1
    assert queue.get(second.id).status == DONE
    path = tmp_path / "requests" / f"{first.id}.json"
    lines = capsys.readouterr().out.splitlines()
    named = [] if reason is None else [f"w1: set aside {path} is not a request of this queue ({reason}); fix or "
                                       "remove it; no worker runs it"]  # fmt: skip
    assert lines == [*named, f"w1: running {second.id} (attempt 1)", f"w1: {second.id} done"]


def test_a_request_runs_the_tasks_of_the_regimes_it_names(tmp_path: Path) -> None:
    """Worked alone by default, as before requests named regimes (same id, same tasks); direct, or both, when asked."""
    queue = LocalQueue(tmp_path)
    worked = queue.submit(EvalRequest("org/m", "hf", ("text",)))
    direct = queue.submit(EvalRequest("org/m", "hf", ("text", "image"), regimes=("direct",)))
    both = queue.submit(EvalRequest("org/m", "hf", ("audio",), regimes=("direct", "worked", "direct")))
    assert [(r.id, r.regimes) for r in (worked, direct, both)] == [
        ("org_m__main__auto__text", ("worked",)),
        ("org_m__main__auto__text-image__direct", ("direct",)),
        ("org_m__main__auto__audio__worked-direct", ("worked", "direct")),
    ]
    perceive_text = ["mmmult_perceive_text_numerals", "mmmult_perceive_text_words"]
    assert worked.tasks() == ["mmmult_text", *perceive_text]
    assert direct.tasks() == ["mmmult_direct_text", "mmmult_direct_image", *perceive_text,
                              "mmmult_perceive_image_numerals", "mmmult_perceive_image_words"]  # fmt: skip
    assert both.tasks() == ["mmmult_audio", "mmmult_direct_audio", "mmmult_perceive_audio_words",
                            "mmmult_perceive_audio_digits"]  # fmt: skip
    command = worker.eval_command(queue.get(direct.id), tmp_path / "out")
    assert command[command.index("--tasks") + 1] == ",".join(direct.tasks())
    assert json.loads((tmp_path / "requests" / f"{direct.id}.json").read_text())["regimes"] == ["direct"]


def test_a_request_from_before_regimes_is_read_as_the_worked_regime(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path)
    queued = queue.submit(EvalRequest("org/m", "hf", ("text",)))
    path = tmp_path / "requests" / f"{queued.id}.json"
    old = {key: value for key, value in request_json(queued).items() if key != "regimes"}
    path.write_text(json.dumps(old))
    assert queue.get(queued.id) == queued and queue.set_aside() == []


@pytest.mark.parametrize(
    ("regimes", "message"),
    [
        (("cot",), "unknown regime 'cot': regimes must be some of worked, direct"),
        (("worked", "Direct"), "unknown regime 'Direct': regimes must be some of worked, direct"),
        (("direct; rm -rf /" * 50,), "unknown regime 'direct; rm -rf /direct; rm -rf /direct;...: regimes must be "
                                     "some of worked, direct"),
        ((), "regimes must be some of worked, direct; got none"),
        ("direct", "regimes must be some of worked, direct; got direct"),
    ],
)  # fmt: skip
def test_an_unknown_regime_is_refused_with_the_choices_and_nothing_is_stored(
    tmp_path: Path, regimes: tuple[str, ...], message: str
) -> None:
    with pytest.raises(QueueError) as error:
        LocalQueue(tmp_path).submit(EvalRequest("org/m", "hf", ("text",), regimes=regimes))
    assert str(error.value) == message
    assert not list((tmp_path / "requests").iterdir())


def test_the_request_command_names_the_regimes(tmp_path: Path) -> None:
    queue = str(tmp_path)
    result = mmmult("request", "--queue", queue, "--model", "org/m", "--model-type", "hf", "--regimes", "direct")
    assert result.returncode == 0 and "queued org_m__main__auto__text__direct" in result.stdout, result.stderr
    assert [r.regimes for r in LocalQueue(tmp_path).requests()] == [("direct",)]
    assert_user_error(
        mmmult("request", "--queue", queue, "--model", "org/m", "--model-type", "hf", "--regimes", "worked,cot"),
        "unknown regime 'cot': regimes must be some of worked, direct",
    )
    assert [r.regimes for r in LocalQueue(tmp_path).requests()] == [("direct",)]
