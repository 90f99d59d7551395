"""LocalQueue: the evaluation queue in a folder.

    <queue>/requests/<id>.json    the request and its status: pending, running, done or failed
    <queue>/leases/<id>/<n>.json  who runs it, until when (renewed while it runs); n counts takeovers
    <queue>/results/<id>/         lm-eval's output folder (results and samples) of a finished request
    <queue>/logs/<id>.log         the run's log

A worker takes the oldest pending request, or a running one whose lease expired (its worker died), by
creating the next numbered lease file exclusively, which only one worker can do. After taking the lease
it reads the request again, so a request that finished meanwhile is never run twice. Every other write
is a new file moved into place.

A lease holds while the clock reads less than its expiry: from the expiry on (now == expires included)
another worker may take the request. Until one does, the holder may still renew its lease or finish,
even past the expiry (HubQueue keeps the same rule).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from mmmult.queue.request import (
    DONE,
    FAILED,
    MAX_REQUEST_BYTES,
    RUNNING,
    Clock,
    EvalRequest,
    NotARequest,
    SetAside,
    age,
    check_request,
    queued,
    read_request,
    request_json,
)

LEASE_WRITE_SECONDS = 30.0
"""A lease file that is not JSON this long after it was written was cut off (its worker died writing it)."""


def _lease_of(path: Path) -> dict[str, Any] | None:
    """A lease file's worker and expiry; None when it holds no lease (being written, cut off, or made by hand)."""
    try:
        lease = json.loads(path.read_bytes())
    except (IsADirectoryError, PermissionError, ValueError):
        return None
    if not isinstance(lease, dict) or not isinstance(lease.get("worker"), str):
        return None
    expires = lease.get("expires")
    return lease if isinstance(expires, int | float) and not isinstance(expires, bool) else None


class LocalQueue:
    """The queue in a folder (see the module's docstring)."""

    def __init__(self, root: str | Path, clock: Clock = time.time) -> None:
        self.root = Path(root)
        self.clock = clock
        for folder in ("requests", "leases", "results", "logs"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def submit(self, request: EvalRequest) -> EvalRequest:
        """Queue a checked request; refused while the same one is pending, running or done, or while its file
        is set aside (it is the owner's to fix or remove)."""
        request = check_request(request)
        entered = queued(request, self.get(request.id), self.clock())
        self._write(entered)
        return entered

    def get(self, request_id: str) -> EvalRequest | None:
        """The request of that id; None when there is none, NotARequest when its file is not a request."""
        path = self.root / "requests" / f"{request_id}.json"
        try:
            if path.stat().st_size > MAX_REQUEST_BYTES:
                raise NotARequest(SetAside(str(path), request_id, f"over {MAX_REQUEST_BYTES // 2**10} KiB"))
            return read_request(path.read_bytes(), str(path), request_id)[0]
        except FileNotFoundError:
            return None
        except OSError as error:  # a folder or a file that cannot be read
            raise NotARequest(SetAside(str(path), request_id, f"it cannot be read: {error.strerror}")) from None

    def requests(self) -> list[EvalRequest]:
        """Every request, oldest first; files that are not requests are left out (set_aside names them)."""
        return self._scan()[0]

    def set_aside(self) -> list[SetAside]:
        return self._scan()[1]

    def _scan(self) -> tuple[list[EvalRequest], list[SetAside]]:
        found, aside = [], []
        for path in sorted((self.root / "requests").glob("*.json")):
            try:
                request = self.get(path.stem)
            except NotARequest as refused:
                aside.append(refused.aside)
                continue
            if request is not None:  # None: removed since the folder was listed
                found.append(request)
        return sorted(found, key=age), aside

    def results_dir(self, request_id: str) -> Path:
        return self.root / "results" / request_id

    def log_path(self, request_id: str) -> Path:
        return self.root / "logs" / f"{request_id}.log"

    def result_files(self, request_id: str) -> list[Path]:
        return sorted(self.results_dir(request_id).rglob("*.json*"))

    def claim(self, worker: str, lease_seconds: float) -> EvalRequest | None:
        """Take the oldest request that is pending, or running under an expired lease; None when there is none."""
        for request in self.requests():
            if request.status in (DONE, FAILED) or not self._take_lease(request.id, worker, lease_seconds):
                continue
            try:
                current = self.get(request.id)
            except NotARequest:  # damaged since it was read: set aside, never run
                current = None
            if current is None or current.status in (DONE, FAILED):  # finished while we took the lease
                self.release(request.id, worker)
                continue
            running = replace(
                current, status=RUNNING, started=self.clock(), worker=worker, attempts=current.attempts + 1
            )
            self._write(running)
            return running
        return None

    def renew(self, request_id: str, worker: str, lease_seconds: float) -> bool:
        """Extend our lease; False when it is no longer ours (it expired and another worker took it)."""
        current = self._current_lease(request_id)
        if current is None or current[1].get("worker") != worker:
            return False
        self._replace_file(current[0], {"worker": worker, "expires": self.clock() + lease_seconds})
        return True

    def finish(self, request: EvalRequest, status: str, reason: str | None = None) -> EvalRequest | None:
        """Record the outcome (done or failed, with the reason), then give the lease back; None when the lease
        passed to another worker (it expired and was taken over): that worker's run is the one recorded."""
        current = self._current_lease(request.id)
        if current is None or current[1].get("worker") != request.worker:
            return None
        finished = replace(request, status=status, finished=self.clock(), reason=reason)
        self._write(finished)
        self.release(request.id, str(request.worker))
        return finished

    def release(self, request_id: str, worker: str) -> None:
        current = self._current_lease(request_id)
        if current is not None and current[1].get("worker") == worker:
            current[0].unlink(missing_ok=True)

    def _leases(self, request_id: str) -> Path:
        return self.root / "leases" / request_id

    def _current_lease(self, request_id: str) -> tuple[Path, dict[str, Any]] | None:
        """The newest lease of a request (leases are numbered 1, 2, ...: a takeover writes the next one)."""
        numbered = sorted(
            (int(path.stem), path)
            for path in self._leases(request_id).glob("*.json")
            if path.stem.isascii() and path.stem.isdigit()
        )
        if not numbered:
            return None
        path = numbered[-1][1]
        try:
            written, lease = path.stat().st_mtime, _lease_of(path)
        except FileNotFoundError:
            return path, {}  # just released: neither free nor ours
        if lease is not None:
            return path, lease
        if self.clock() - written < LEASE_WRITE_SECONDS:
            return path, {}  # being written: neither free nor ours
        return path, {"worker": None, "expires": 0.0}  # damaged, or cut off: expired, a worker takes the next one

    def _take_lease(self, request_id: str, worker: str, lease_seconds: float) -> bool:
        """Create the next lease exclusively, if there is none or the newest one expired: of two workers
        that both find it expired, only one can create its successor."""
        current = self._current_lease(request_id)
        if current is not None and (not current[1] or current[1].get("expires", 0.0) > self.clock()):
            return False
        number = 1 if current is None else int(current[0].stem) + 1
        self._leases(request_id).mkdir(exist_ok=True)
        try:
            descriptor = os.open(self._leases(request_id) / f"{number}.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"worker": worker, "expires": self.clock() + lease_seconds}, handle)
        return True

    def _write(self, request: EvalRequest) -> None:
        self._replace_file(self.root / "requests" / f"{request.id}.json", request_json(request))

    @staticmethod
    def _replace_file(path: Path, values: dict[str, Any]) -> None:
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        partial.write_text(json.dumps(values, indent=2))
        os.replace(partial, path)
