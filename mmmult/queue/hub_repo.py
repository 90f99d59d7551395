"""The evaluation queue in a Hub dataset repository, for workers that share no filesystem (Hugging Face Jobs).

    requests/<id>.json   the request and its status; while it runs, also until when its worker's lease lasts
    results/<id>/        lm-eval's output folder (results and samples) of a done request
    logs/<id>.log        the run's log

Every change is one commit parented on the head commit from which it was decided
(`create_commit(parent_commit=...)`). The Hub refuses it (412) when another commit came first; the
queue then reads the new head and decides again. So a worker takes a request by committing it as
running with its lease's expiry, parented on a commit in which it was pending or its lease had
expired: of two workers that read the same head, one commit lands and the other worker then sees
the request running. A run's outcome, results and log go up in one commit, made only from a head
in which the request still names that worker and attempt: a request is finished once, and a
finished one is never taken again. A lease is renewed by a commit only once half of it or more is
gone (no one can take it before it expires), so a worker commits once per half lease. A lease holds
while the clock reads less than its expiry: from the expiry on (now == expires included) another worker
may take the request; until one does, the holder may still renew or finish (as in LocalQueue).

A worker runs lm-eval into a temporary folder of its machine (results_dir, log_path), uploaded
when it finishes; the board downloads a done request's files (result_files) to ingest them.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import TypeVar

import httpx2
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import (
    HfHubHTTPError,
    HfUriError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import parse_hf_uri

from mmmult.queue.folder import LocalQueue
from mmmult.queue.request import (
    DONE,
    MAX_REQUEST_BYTES,
    PENDING,
    RUNNING,
    Clock,
    EvalRequest,
    NotARequest,
    Queue,
    QueueError,
    SetAside,
    age,
    check_request,
    queued,
    read_request,
    request_json,
)

REPO_TYPE = "dataset"
STALE_PARENT = 412
"""The Hub's answer to a commit whose parent is no longer the head."""
COMMIT_TRIES = 10
T = TypeVar("T")


@dataclass(frozen=True)
class Held:
    """A request as the repo holds it, with its worker's lease expiry (None when no worker holds it)."""

    request: EvalRequest
    expires: float | None


@dataclass(frozen=True)
class Head:
    """The repo at one commit: the commit's sha, every request in it by id, and the files that are not requests."""

    sha: str
    requests: dict[str, Held]
    set_aside: tuple[SetAside, ...] = ()


def open_queue(spec: str | Path, endpoint: str | None = None) -> Queue:
    """The queue a --queue value names: `hf://datasets/OWNER/NAME` (a Hub dataset repo, token from HF_TOKEN),
    else a folder. `endpoint` is the Hub's address (default: huggingface_hub's, which HF_ENDPOINT sets)."""
    if str(spec).startswith("hf://"):
        return HubQueue(str(spec), endpoint)
    return LocalQueue(spec)


def repo_of(spec: str) -> str:
    """The dataset repo id of a queue spec `hf://datasets/OWNER/NAME`."""
    try:
        uri = parse_hf_uri(spec)
    except HfUriError:
        uri = None
    if uri is None or uri.type != REPO_TYPE or uri.revision or uri.path_in_repo:
        raise QueueError(f"--queue {spec!r} is not a Hub queue: write hf://datasets/OWNER/NAME (a dataset repo, "
                         "its main branch), or give a folder path")  # fmt: skip
    return uri.id


class HubQueue:
    """The queue in a Hub dataset repo (see the module's docstring); the same interface as LocalQueue."""

    def __init__(self, spec: str, endpoint: str | None = None, clock: Clock = time.time) -> None:
        self.spec, self.repo_id = spec, repo_of(spec)
        self.clock = clock
        self.api = HfApi(endpoint=endpoint)  # the token: HF_TOKEN, or the stored login
        self.work = Path(tempfile.mkdtemp(prefix="mmmult-queue-"))
        weakref.finalize(self, shutil.rmtree, self.work, ignore_errors=True)
        for folder in ("results", "logs"):
            (self.work / folder).mkdir()
        self._parsed: dict[str, Held | SetAside] = {}
        """Request files read, by blob id: each content is downloaded once."""
        self._last: Head | None = None
        """The head this queue read last."""
        self._leases: dict[tuple[str, str], float] = {}
        """(request id, worker): the lease expiry this queue last committed."""

    def submit(self, request: EvalRequest) -> EvalRequest:
        """Queue a checked request; refused while the same one is pending, running or done."""
        request = check_request(request)

        def enter(head: Head) -> tuple[EvalRequest, list[CommitOperationAdd]]:
            for aside in head.set_aside:
                if aside.name == request.id:
                    raise NotARequest(aside)
            held = head.requests.get(request.id)
            entered = queued(request, held.request if held else None, self.clock())
            return entered, [request_file(entered, None)]

        return self._commit(f"Queue {request.id}", enter)

    def get(self, request_id: str) -> EvalRequest | None:
        held = self._head().requests.get(request_id)
        return held.request if held else None

    def requests(self) -> list[EvalRequest]:
        """Every request, oldest first; files that are not requests are left out (set_aside names them)."""
        return sorted((held.request for held in self._head().requests.values()), key=age)

    def set_aside(self) -> list[SetAside]:
        """The files that are not requests, in the head this queue read last (read now if it read none)."""
        return list((self._last or self._head()).set_aside)

    def claim(self, worker: str, lease_seconds: float) -> EvalRequest | None:
        """Take the oldest request that is pending, or running under an expired lease; None when there is none."""

        def take(head: Head) -> tuple[Held, list[CommitOperationAdd]] | None:
            now = self.clock()
            for held in sorted(head.requests.values(), key=lambda held: age(held.request)):
                request, expires = held.request, now + lease_seconds
                if request.status == PENDING or (request.status == RUNNING and (held.expires or 0.0) <= now):
                    running = replace(
                        request, status=RUNNING, started=now, worker=worker, attempts=request.attempts + 1
                    )
                    return Held(running, expires), [request_file(running, expires)]
            return None

        taken = self._commit(f"{worker} runs a request", take)
        if taken is None:
            return None
        self._leases[taken.request.id, worker] = float(taken.expires or 0.0)
        return taken.request

    def renew(self, request_id: str, worker: str, lease_seconds: float) -> bool:
        """Extend our lease; False when it is no longer ours. No commit while more than half of it is left."""
        if self._leases.get((request_id, worker), 0.0) - self.clock() > lease_seconds / 2:
            return True

        def extend(head: Head) -> tuple[float, list[CommitOperationAdd]] | None:
            held = head.requests.get(request_id)
            if held is None or not runs(held.request, worker):
                return None
            expires = self.clock() + lease_seconds
            return expires, [request_file(held.request, expires)]

        expires = self._commit(f"{worker} renews its lease of {request_id}", extend)
        if expires is None:
            self._leases.pop((request_id, worker), None)
            return False
        self._leases[request_id, worker] = expires
        return True

    def finish(self, request: EvalRequest, status: str, reason: str | None = None) -> EvalRequest | None:
        """Record the outcome with the log (and a done run's results) in one commit; None when the lease was
        lost (another worker runs the request now: nothing is recorded). Then the local copies are removed
        (kept when the repo could not be reached, for a look at what ran)."""
        uploads = self._outputs(request.id, status)

        def record(head: Head) -> tuple[EvalRequest, list[CommitOperationAdd]] | None:
            held = head.requests.get(request.id)
            if held is None or not runs(held.request, str(request.worker), request.attempts):
                return None
            finished = replace(request, status=status, finished=self.clock(), reason=reason)
            return finished, [request_file(finished, None), *uploads]

        finished = self._commit(f"{request.id}: {status}", record)
        self._leases.pop((request.id, str(request.worker)), None)
        shutil.rmtree(self.results_dir(request.id), ignore_errors=True)
        self.log_path(request.id).unlink(missing_ok=True)
        return finished

    def release(self, request_id: str, worker: str) -> None:
        """Give our lease back (it expires now), so that any worker may take the request."""

        def give_back(head: Head) -> tuple[None, list[CommitOperationAdd]] | None:
            held = head.requests.get(request_id)
            if held is None or not runs(held.request, worker):
                return None
            return None, [request_file(held.request, 0.0)]

        self._commit(f"{worker} gives {request_id} back", give_back)
        self._leases.pop((request_id, worker), None)

    def results_dir(self, request_id: str) -> Path:
        return self.work / "results" / request_id

    def log_path(self, request_id: str) -> Path:
        return self.work / "logs" / f"{request_id}.log"

    def result_files(self, request_id: str) -> list[Path]:
        """A done request's results and samples, downloaded from the repo."""
        with self._hub_errors():
            sha = self.api.dataset_info(self.repo_id, expand=["sha"]).sha
            try:
                tree = self.api.list_repo_tree(
                    self.repo_id, f"results/{request_id}", recursive=True, revision=sha, repo_type=REPO_TYPE
                )
                paths = sorted(f.path for f in tree if isinstance(f, RepoFile))
            except RemoteEntryNotFoundError:
                return []
            return [self._download(path, sha) for path in paths if fnmatch(PurePosixPath(path).name, "*.json*")]

    def _outputs(self, request_id: str, status: str) -> list[CommitOperationAdd]:
        """The run's log, and a done run's lm-eval output: a failed run's partial output is not kept, so that
        the output of a later, done run of the same request is all the repo holds for it."""
        log, results = self.log_path(request_id), self.results_dir(request_id)
        uploads = [CommitOperationAdd(f"logs/{request_id}.log", log)] if log.is_file() else []
        if status == DONE:
            files = sorted(path.relative_to(results).as_posix() for path in results.rglob("*") if path.is_file())
            uploads += [CommitOperationAdd(f"results/{request_id}/{name}", results / name) for name in files]
        return uploads

    def _commit(self, message: str, decide: Callable[[Head], tuple[T, list[CommitOperationAdd]] | None]) -> T | None:
        """Read the head, let `decide` choose a change (None: no change), and commit it parented on that head;
        when another commit came first, read again and decide again. Returns what `decide` returned with it."""
        for attempt in range(COMMIT_TRIES):
            head = self._head()
            decided = decide(head)
            if decided is None:
                return None
            value, operations = decided
            with self._hub_errors():
                try:
                    self.api.create_commit(self.repo_id, operations, commit_message=message, repo_type=REPO_TYPE,
                                           parent_commit=head.sha)  # fmt: skip
                    return value
                except HfHubHTTPError as error:
                    if error.response.status_code != STALE_PARENT:
                        raise
            time.sleep(random.uniform(0, min(0.05 * 2**attempt, 2.0)))  # workers that collided spread out
        raise QueueError(f"{self._where()} changed under each of {COMMIT_TRIES} tries to commit to it (many workers "
                         "at once); run the command again")  # fmt: skip

    def _head(self) -> Head:
        """The head commit and every request in it (request files are read once per content)."""
        with self._hub_errors():
            sha = self.api.dataset_info(self.repo_id, expand=["sha"]).sha
            try:
                tree = self.api.list_repo_tree(self.repo_id, "requests", revision=sha, repo_type=REPO_TYPE)
                files = [f for f in tree if isinstance(f, RepoFile) and f.path.endswith(".json")]
            except RemoteEntryNotFoundError:
                files = []  # no request yet
            self._parsed = {f.blob_id: self._parsed.get(f.blob_id) or self._read(f, sha) for f in files}
        read = {PurePosixPath(f.path).stem: self._parsed[f.blob_id] for f in files}
        self._last = Head(sha, {name: held for name, held in read.items() if isinstance(held, Held)},
                          tuple(aside for aside in read.values() if isinstance(aside, SetAside)))  # fmt: skip
        return self._last

    def _read(self, file: RepoFile, sha: str) -> Held | SetAside:
        """A request file's request, or why it is set aside (a file too large for a request is not downloaded)."""
        where, name = f"{self.spec}/{file.path}", PurePosixPath(file.path).stem
        if file.size > MAX_REQUEST_BYTES:
            return SetAside(where, name, f"over {MAX_REQUEST_BYTES // 2**10} KiB")
        try:
            return Held(*read_request(self._download(file.path, sha).read_bytes(), where, name))
        except NotARequest as refused:
            return refused.aside

    def _download(self, path: str, sha: str) -> Path:
        return Path(self.api.hf_hub_download(self.repo_id, path, repo_type=REPO_TYPE, revision=sha,
                                             cache_dir=self.work / "downloads"))  # fmt: skip

    def _where(self) -> str:
        return f"the queue {self.spec} (at {self.api.endpoint})"

    @contextmanager
    def _hub_errors(self) -> Iterator[None]:
        """The Hub's failures as QueueErrors that say what to do."""
        try:
            yield
        except OfflineModeIsEnabled:
            raise QueueError(f"{self._where()} cannot be reached while HF_HUB_OFFLINE is set; unset it") from None
        except (httpx2.TransportError, LocalEntryNotFoundError) as error:
            raise QueueError(f"cannot reach {self._where()} ({error.__class__.__name__}): check the network "
                             "connection, or HF_ENDPOINT if you set it") from None  # fmt: skip
        except RepositoryNotFoundError:
            raise QueueError(f"{self._where()}: the dataset repo {self.repo_id} does not exist, or the token cannot "
                             "use it; create it (private is fine) and set HF_TOKEN to a token that may write to "
                             "it") from None  # fmt: skip
        except HfHubHTTPError as error:
            status = error.response.status_code
            fix = "set HF_TOKEN to a token that may write to it" if status in (401, 403) else "try again later"
            raise QueueError(f"{self._where()} answered {status} ({error.server_message or 'no reason given'}); "
                             f"{fix}") from None  # fmt: skip


def request_file(request: EvalRequest, expires: float | None) -> CommitOperationAdd:
    """The request's file, with its lease's expiry (None: no worker holds it)."""
    values = {**request_json(request), "lease_expires": expires}
    return CommitOperationAdd(f"requests/{request.id}.json", json.dumps(values, indent=2).encode())


def runs(request: EvalRequest, worker: str, attempt: int | None = None) -> bool:
    """Whether `worker` runs the request (in that attempt, when given)."""
    return request.status == RUNNING and request.worker == worker and attempt in (None, request.attempts)
