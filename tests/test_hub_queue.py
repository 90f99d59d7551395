"""The evaluation queue in a Hub dataset repo, against a Hub-compatible server on 127.0.0.1 (hub_server.py):
requests round trip, one worker wins a race because the Hub refuses a commit on a stale parent, leases pass
on when they expire, a finished request stays finished, and a run's output reaches the board."""

from __future__ import annotations

import json
import math
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from huggingface_hub import constants

from mmmult.leaderboard.display.requests import ingest_finished, requests_table
from mmmult.leaderboard.storage.store import Store
from mmmult.queue import worker
from mmmult.queue.hub_repo import Head, HubQueue, open_queue, request_file
from mmmult.queue.request import (
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    EvalRequest,
    QueueError,
    request_json,
)
from tests.commands import assert_user_error, mmmult
from tests.hub_server import HubServer
from tests.simulate import lm_eval_files, right

REPO = "owner/queue"
SPEC = f"hf://datasets/{REPO}"
TEXT = EvalRequest("mmmult-reference", "mmmult-reference", ("text",))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest keeps the real Hub off; this one is local
    with HubServer() as server:
        server.create_dataset(REPO)
        yield server


def stored(hub: HubServer, request_id: str) -> dict:
    """The request's file as the repo holds it."""
    return json.loads(hub.files(REPO)[f"requests/{request_id}.json"])


def head(hub: HubServer) -> str:
    return hub.repos[REPO].head


def test_a_request_goes_into_the_repo_and_comes_back(hub: HubServer) -> None:
    board, other = HubQueue(SPEC, hub.url), HubQueue(SPEC, hub.url)
    first = board.submit(EvalRequest("org/model-7B", "hf", ("text", "text"), precision="bfloat16"))
    second = board.submit(replace(TEXT, submitter="alice"))
    assert stored(hub, first.id) == {**request_json(first), "lease_expires": None}
    assert other.get(first.id) == first and other.get("no-such-request") is None
    assert other.requests() == [first, second]
    fetched = len(hub.downloads)
    assert other.requests() == [first, second] and len(hub.downloads) == fetched  # unchanged files: not fetched
    with pytest.raises(QueueError, match="is already pending as request org_model-7B__main__bfloat16__text"):
        other.submit(EvalRequest("org/model-7B", "hf", ("text",), precision="bfloat16"))
    with pytest.raises(QueueError, match="model type 'bert' is not one a worker runs"):
        other.submit(replace(TEXT, model_type="bert"))
    assert set(hub.files(REPO)) == {".gitattributes", f"requests/{first.id}.json", f"requests/{second.id}.json"}


def test_of_two_workers_that_read_the_same_head_only_one_takes_the_request(hub: HubServer) -> None:
    queued = HubQueue(SPEC, hub.url).submit(TEXT)
    seen = head(hub)
    hub.hold_commits(2)  # both workers read `seen` before either commit lands
    got: dict[str, EvalRequest | None] = {}

    def claim(name: str) -> None:
        got[name] = HubQueue(SPEC, hub.url).claim(name, 60)

    before = time.time()
    threads = [threading.Thread(target=claim, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (winner,) = [name for name, request in got.items() if request is not None]
    assert hub.refused == [seen]  # the loser's commit, parented on the head both read
    assert (got[winner].id, got[winner].worker, got[winner].attempts) == (queued.id, winner, 1)
    held = stored(hub, queued.id)
    assert (held["status"], held["worker"], held["attempts"]) == (RUNNING, winner, 1)
    assert before + 60 <= held["lease_expires"] <= time.time() + 60


def test_of_many_workers_claiming_at_once_exactly_one_gets_each_request(hub: HubServer) -> None:
    board = HubQueue(SPEC, hub.url)
    for name in ("one", "two", "three"):
        board.submit(replace(TEXT, model=name))
    got: list[str] = []
    barrier = threading.Barrier(6)

    def claim(name: str) -> None:
        queue = HubQueue(SPEC, hub.url)
        barrier.wait()
        request = queue.claim(name, 60)
        if request is not None:
            got.append(request.model)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == ["one", "three", "two"]
    assert {r.status for r in board.requests()} == {RUNNING}


def test_an_expired_lease_passes_on_and_the_first_worker_records_nothing(hub: HubServer, clock) -> None:
    a, b, c = (HubQueue(SPEC, hub.url, clock) for _ in range(3))
    queued = a.submit(TEXT)
    mine = a.claim("a", 60)
    clock.advance(59.9)
    assert b.claim("b", 60) is None  # not yet expired
    clock.advance(0.2)
    taken = b.claim("b", 60)
    assert (taken.id, taken.worker, taken.attempts) == (queued.id, "b", 2)
    assert not a.renew(queued.id, "a", 60)
    commit = head(hub)
    assert b.renew(queued.id, "b", 60) and head(hub) == commit  # more than half the lease left: no commit
    assert a.finish(mine, DONE) is None  # a's run ended after its lease did: nothing recorded
    a.release(queued.id, "a")  # not a's to give back
    held = stored(hub, queued.id)
    assert (held["status"], held["worker"], head(hub)) == (RUNNING, "b", commit)
    b.release(queued.id, "b")
    assert c.claim("c", 60).attempts == 3


def test_a_lease_is_renewed_by_a_commit_once_half_of_it_is_gone(hub: HubServer, clock) -> None:
    queue = HubQueue(SPEC, hub.url, clock)
    queued = queue.submit(TEXT)
    queue.claim("a", 60)
    clock.advance(29)
    commit = head(hub)
    assert queue.renew(queued.id, "a", 60) and head(hub) == commit  # more than half left: no commit
    clock.advance(2)
    assert queue.renew(queued.id, "a", 60) and head(hub) != commit
    assert stored(hub, queued.id)["lease_expires"] == clock() + 60


def test_a_finished_request_is_never_claimed_again_and_a_failed_one_may_be_asked_again(hub: HubServer) -> None:
    board, runner = HubQueue(SPEC, hub.url), HubQueue(SPEC, hub.url)
    done = board.submit(TEXT)
    finished = runner.finish(runner.claim("a", 60), DONE)
    assert (finished.status, stored(hub, done.id)["status"], stored(hub, done.id)["lease_expires"]) == (
        DONE,
        DONE,
        None,
    )
    assert runner.claim("b", 60) is None
    with pytest.raises(QueueError, match=f"is already done as request {done.id}"):
        board.submit(TEXT)
    failed = board.submit(replace(TEXT, model="broken"))
    runner.finish(runner.claim("a", 60), FAILED, "mmmult eval exited with status 1")
    assert (board.get(failed.id).status, board.get(failed.id).reason) == (FAILED, "mmmult eval exited with status 1")
    again = board.submit(replace(TEXT, model="broken"))
    assert (again.status, again.attempts, again.reason) == (PENDING, 0, None)
    assert runner.claim("b", 60).attempts == 1


def test_a_done_run_s_output_goes_up_with_it_and_the_board_ingests_it(reference, run_tasks, hub: HubServer,
                                                                       store: Store) -> None:  # fmt: skip
    board, runner = HubQueue(SPEC, hub.url), HubQueue(SPEC, hub.url)
    queued = board.submit(EvalRequest("org/model-7B", "hf", ("text",), family="Org", submitter="alice"))
    claimed = runner.claim("worker-1", 60)
    folder = runner.results_dir(claimed.id) / "org__model-7B"
    folder.mkdir(parents=True)
    files = lm_eval_files(reference, run_tasks, right, "org/model-7B")
    for name, data in files:
        (folder / name).write_bytes(data)
    runner.log_path(claimed.id).write_text("evaluating org/model-7B\n")
    runner.finish(claimed, DONE)
    assert not runner.results_dir(claimed.id).exists() and not runner.log_path(claimed.id).exists()
    repo = hub.files(REPO)
    assert repo[f"logs/{queued.id}.log"] == b"evaluating org/model-7B\n"
    assert {name: repo[f"results/{queued.id}/org__model-7B/{name}"] for name, _ in files} == dict(files)
    assert [path.name for path in board.result_files(queued.id)] == sorted(name for name, _ in files)
    (sid,) = ingest_finished(board, store, reference)
    assert ingest_finished(board, store, reference) == []  # once
    assert store.submission(sid)["status"] == "evaluated"
    page = requests_table(board, store).set_index("model").loc["org/model-7B"]
    assert (page["status"], page["on the board"], page["submitter"]) == ("done", f"#{sid} evaluated", "alice")


def fake_eval(code: str):
    """An eval_command that runs `code` (with the output folder as argv[1]) instead of lm-eval."""
    return lambda request, out: [sys.executable, "-c", code, str(out)]


def test_a_worker_runs_requests_from_the_repo(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = ("import pathlib, sys; out = pathlib.Path(sys.argv[1]) / 'm'; out.mkdir(parents=True); "
              "(out / 'results_1.json').write_text('{}'); print('ran', flush=True)")  # fmt: skip
    monkeypatch.setattr(worker, "eval_command", fake_eval(writes))
    queue = HubQueue(SPEC, hub.url)
    good = queue.submit(TEXT)
    stale = queue.results_dir(good.id) / "dead-run.json"  # a partial output left on this machine
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    assert worker.work(queue, "w1", 60, once=True, poll=1) == 1
    repo = hub.files(REPO)
    assert (stored(hub, good.id)["status"], repo[f"logs/{good.id}.log"]) == (DONE, b"ran\n")
    assert sorted(path for path in repo if path.startswith("results/")) == [f"results/{good.id}/m/results_1.json"]
    monkeypatch.setattr(worker, "eval_command", fake_eval("import sys; print('no such model'); sys.exit(3)"))
    bad = queue.submit(replace(TEXT, model="broken"))
    assert worker.work(queue, "w1", 60, once=True, poll=1) == 1
    failed = queue.get(bad.id)
    assert (failed.status, failed.reason) == (FAILED, "mmmult eval of broken exited with status 3; see the log below\n"
                                                      "no such model")  # fmt: skip
    assert not any(path.startswith(f"results/{bad.id}") for path in hub.files(REPO))


def test_a_worker_keeps_running_when_a_renewal_cannot_reach_the_hub(hub: HubServer, monkeypatch) -> None:
    writes = ("import pathlib, sys, time; time.sleep(0.5); out = pathlib.Path(sys.argv[1]); out.mkdir(); "
              "(out / 'results_1.json').write_text('{}')")  # fmt: skip
    monkeypatch.setattr(worker, "eval_command", fake_eval(writes))
    queue = HubQueue(SPEC, hub.url)
    queued = queue.submit(TEXT)
    renewals = []

    def renew(request_id: str, name: str, lease_seconds: float) -> bool:
        renewals.append(request_id)
        if len(renewals) == 1:
            raise QueueError("cannot reach the queue")
        return HubQueue.renew(queue, request_id, name, lease_seconds)

    monkeypatch.setattr(queue, "renew", renew)
    assert worker.work(queue, "w1", 0.4, once=True, poll=1) == 1
    assert len(renewals) >= 2 and stored(hub, queued.id)["status"] == DONE


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("spec", ["hf://models/owner/queue", "hf://datasets/owner", "hf://datasets/owner/queue@dev",
                                  "hf://datasets/owner/queue/requests", "hf://"])  # fmt: skip
def test_a_spec_that_is_not_a_dataset_repo_is_refused(spec: str) -> None:
    with pytest.raises(QueueError) as refused:
        open_queue(spec)
    assert str(refused.value) == (f"--queue {spec!r} is not a Hub queue: write hf://datasets/OWNER/NAME (a dataset "
                                  "repo, its main branch), or give a folder path")  # fmt: skip


def test_a_hub_that_cannot_be_used_is_named_with_what_to_do(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    with pytest.raises(QueueError) as refused:
        HubQueue(SPEC, f"http://127.0.0.1:{port}").requests()
    assert str(refused.value) == (f"cannot reach the queue {SPEC} (at http://127.0.0.1:{port}) (ConnectError): "
                                  "check the network connection, or HF_ENDPOINT if you set it")  # fmt: skip
    with pytest.raises(QueueError) as refused:
        HubQueue("hf://datasets/owner/missing", hub.url).requests()
    assert str(refused.value) == (
        f"the queue hf://datasets/owner/missing (at {hub.url}): the dataset repo owner/missing does not exist, or the "
        "token cannot use it; create it (private is fine) and set HF_TOKEN to a token that may write to it"
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(QueueError, match=r"cannot be reached while HF_HUB_OFFLINE is set; unset it$"):
        HubQueue(SPEC, hub.url).requests()


def test_a_write_without_the_token_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with HubServer(write_token="hf_secret") as hub:
        hub.create_dataset(REPO)
        queue = HubQueue(SPEC, hub.url)
        with pytest.raises(QueueError, match=r"set HF_TOKEN to a token that may write to it$"):
            queue.submit(TEXT)
        assert queue.requests() == []  # reading needs no token
        monkeypatch.setenv("HF_TOKEN", "hf_secret")
        assert queue.submit(TEXT).status == PENDING


def test_the_commands_take_a_hub_queue(hub: HubServer) -> None:
    env = {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"}
    result = mmmult(
        "request", "--queue", SPEC, "--model", "org/m", "--model-type", "hf", "--channels", "image", env=env
    )
    assert result.returncode == 0 and result.stdout == "queued org_m__main__auto__image\n", result.stderr
    assert stored(hub, "org_m__main__auto__image")["status"] == PENDING
    assert_user_error(
        mmmult("worker", "--queue", "hf://datasets/owner", "--once", env=env),
        "--queue 'hf://datasets/owner' is not a Hub queue",
    )


def test_a_hand_made_request_file_in_the_repo_is_set_aside_and_not_run(hub: HubServer) -> None:
    queue = HubQueue(SPEC, hub.url)
    queued = queue.submit(TEXT)
    forged = {**json.loads(hub.files(REPO)[f"requests/{queued.id}.json"]), "id": "../../logs/x"}
    hub.commit(REPO, {f"requests/{queued.id}.json": json.dumps(forged).encode()}, [], "a hand-made file")
    before = head(hub)
    worker_queue = HubQueue(SPEC, hub.url)
    assert worker_queue.claim("w", 60) is None and head(hub) == before  # nothing committed
    (aside,) = worker_queue.set_aside()
    assert (aside.file, aside.name) == (f"{SPEC}/requests/{queued.id}.json", queued.id)
    assert "its id '../../logs/x' is not the one" in aside.reason
    with pytest.raises(QueueError, match=rf"{SPEC}/requests/{queued.id}\.json is not a request of this queue"):
        worker_queue.submit(TEXT)
    assert head(hub) == before


def test_a_worker_sets_a_damaged_file_in_the_repo_aside_and_runs_the_rest(hub: HubServer, monkeypatch, capsys) -> None:
    writes = ("import pathlib, sys; out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True); "
              "(out / 'results_1.json').write_text('{}')")  # fmt: skip
    monkeypatch.setattr(worker, "eval_command", fake_eval(writes))
    queue = HubQueue(SPEC, hub.url)
    hub.commit(REPO, {"requests/broken.json": b"{not json"}, [], "a damaged file")
    good = [queue.submit(TEXT), queue.submit(replace(TEXT, model="other"))]
    assert worker.work(queue, "w1", 60, once=True, poll=1) == 2
    assert [stored(hub, request.id)["status"] for request in good] == [DONE, DONE]
    named = [line for line in capsys.readouterr().out.splitlines() if "set aside" in line]
    assert named == [
        f"w1: set aside {SPEC}/requests/broken.json is not a request of this queue (Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1)); fix or remove it; no worker runs it"
    ]
    assert hub.files(REPO)["requests/broken.json"] == b"{not json"


def test_an_oversize_file_among_the_repo_s_requests_is_set_aside_undownloaded(hub: HubServer) -> None:
    queue = HubQueue(SPEC, hub.url)
    good = queue.submit(TEXT)
    hub.commit(REPO, {"requests/huge.json": b" " * (65 * 2**10)}, [], "a large file")
    fetched = len(hub.downloads)
    assert queue.claim("w", 60).id == good.id
    assert [(aside.name, aside.reason) for aside in queue.set_aside()] == [("huge", "over 64 KiB")]
    assert len(hub.downloads) == fetched + 1  # the request file, changed by the claim; never huge.json


# A lease at its expiry, as in tests/test_queue.py (the same table): a lease holds while the clock reads less
# than its expiry; from the expiry on another worker may take the request; until one does, its holder may
# still renew it or finish.
def _at(expires: float, when: str) -> float:
    return {"a second before": expires - 1.0, "just before": math.nextafter(expires, -math.inf), "at": expires,
            "just after": math.nextafter(expires, math.inf), "a second after": expires + 1.0}[when]  # fmt: skip


LEASE_EDGE = {"a second before": False, "just before": False, "at": True, "just after": True, "a second after": True}


def _claimed_by_a(hub: HubServer, clock) -> tuple[HubQueue, EvalRequest, float]:
    queue = HubQueue(SPEC, hub.url, clock)
    queue.submit(TEXT)
    mine = queue.claim("a", 60)
    expires = stored(hub, mine.id)["lease_expires"]
    assert expires == clock() + 60
    return queue, mine, expires


@pytest.mark.parametrize("when", sorted(LEASE_EDGE))
def test_another_worker_takes_a_lease_from_its_expiry_on(hub: HubServer, clock, when: str) -> None:
    a, mine, expires = _claimed_by_a(hub, clock)
    b = HubQueue(SPEC, hub.url, clock)
    clock.now = _at(expires, when)
    commit = head(hub)
    taken = b.claim("b", 60)
    held = stored(hub, mine.id)
    if LEASE_EDGE[when]:
        assert (taken.id, taken.worker, taken.attempts, taken.started) == (mine.id, "b", 2, clock.now)
        assert (held["worker"], held["attempts"], held["lease_expires"]) == ("b", 2, clock.now + 60)
        assert not a.renew(mine.id, "a", 60) and a.finish(mine, DONE) is None
        assert (stored(hub, mine.id)["status"], stored(hub, mine.id)["worker"]) == (RUNNING, "b")
    else:
        assert taken is None and head(hub) == commit  # nothing committed
        assert (held["worker"], held["attempts"], held["lease_expires"]) == ("a", 1, expires)


@pytest.mark.parametrize("when", sorted(LEASE_EDGE))
def test_the_holder_renews_its_lease_around_its_expiry_until_another_takes_it(hub: HubServer, clock, when) -> None:
    queue, mine, expires = _claimed_by_a(hub, clock)
    clock.now = _at(expires, when)
    commit = head(hub)
    assert queue.renew(mine.id, "a", 60) and head(hub) != commit  # less than half left: a commit
    assert stored(hub, mine.id)["lease_expires"] == clock.now + 60
    other = HubQueue(SPEC, hub.url, clock)
    clock.now = math.nextafter(clock.now + 60, -math.inf)
    assert other.claim("b", 60) is None  # the renewed lease holds to its new expiry
    clock.now = _at(clock.now, "just after")
    assert other.claim("b", 60).worker == "b"


@pytest.mark.parametrize("when", sorted(LEASE_EDGE))
def test_the_holder_finishes_around_its_lease_s_expiry_until_another_takes_it(hub: HubServer, clock, when) -> None:
    queue, mine, expires = _claimed_by_a(hub, clock)
    clock.now = _at(expires, when)
    finished = queue.finish(mine, DONE)
    assert (finished.status, finished.worker, finished.finished) == (DONE, "a", clock.now)
    held = stored(hub, mine.id)
    assert (held["status"], held["finished"], held["lease_expires"]) == (DONE, clock.now, None)
    assert HubQueue(SPEC, hub.url, clock).claim("b", 60) is None


@pytest.mark.parametrize(("when", "commits"), [("a second before", False), ("just before", False), ("at", True),
                                               ("just after", True), ("a second after", True)])  # fmt: skip
def test_a_renewal_commits_once_half_the_lease_or_more_is_gone(hub: HubServer, clock, when: str, commits) -> None:
    """`when` is around the lease's half-way point, 30 s before its expiry."""
    queue, mine, expires = _claimed_by_a(hub, clock)
    clock.now = _at(expires - 30, when)
    commit = head(hub)
    assert queue.renew(mine.id, "a", 60)
    assert (head(hub) != commit, stored(hub, mine.id)["lease_expires"]) == (
        commits,
        clock.now + 60 if commits else expires,
    )


# A request file that changes in the repo after a worker read the head it decides from: its commit, parented on
# that head, is refused (412); it reads the new head and decides again, so it neither fails nor takes the
# changed file, takes the next request, and a file that is no longer a request is set aside with why.
CHANGED = {
    "removed": (None, None),
    "emptied": (b"", "Expecting value: line 1 column 1 (char 0)"),
    "garbage": (b"\x89PNG\r\n\x1a\n", "'utf-8' codec can't decode byte 0x89 in position 0: invalid start byte"),
    "oversize": (b" " * (65 * 2**10), "over 64 KiB"),
}


@pytest.mark.parametrize("case", sorted(CHANGED))
def test_a_request_file_changed_after_the_head_was_read_is_not_claimed_and_the_next_one_is(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    content, reason = CHANGED[case]
    queue = HubQueue(SPEC, hub.url)
    first, second = queue.submit(TEXT), queue.submit(replace(TEXT, model="other"))
    name = f"requests/{first.id}.json"
    read, changed = HubQueue._head, []

    def head_then_change(self: HubQueue) -> Head:
        seen = read(self)
        if not changed:
            hub.commit(REPO, {} if content is None else {name: content}, [name] if content is None else [], case)
            changed.append(seen.sha)
        return seen

    monkeypatch.setattr(HubQueue, "_head", head_then_change)
    claimed = queue.claim("w", 60)
    assert hub.refused == changed  # the claim decided on the head before the change: refused, decided again
    assert (claimed.id, claimed.worker, claimed.attempts) == (second.id, "w", 1)
    assert hub.files(REPO).get(name) == content  # never written over
    assert [(aside.file, aside.name, aside.reason) for aside in queue.set_aside()] == (
        [] if reason is None else [(f"{SPEC}/{name}", first.id, reason)]
    )
    assert [r.id for r in queue.requests()] == [second.id]
    assert HubQueue(SPEC, hub.url).claim("v", 60) is None


def test_a_request_finished_after_the_head_was_read_is_not_claimed_again(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = HubQueue(SPEC, hub.url)
    first, second = queue.submit(TEXT), queue.submit(replace(TEXT, model="other"))
    done = replace(first, status=DONE, worker="x", attempts=1, finished=1.0)
    read, changed = HubQueue._head, []

    def head_then_finish(self: HubQueue) -> Head:
        seen = read(self)
        if not changed:
            hub.commit(REPO, {f"requests/{first.id}.json": request_file(done, None).path_or_fileobj}, [], "x done")
            changed.append(seen.sha)
        return seen

    monkeypatch.setattr(HubQueue, "_head", head_then_finish)
    assert queue.claim("w", 60).id == second.id
    assert hub.refused == changed
    assert queue.get(first.id) == done and queue.set_aside() == []
