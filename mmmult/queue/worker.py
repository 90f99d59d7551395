"""`mmmult worker`: take requests from the evaluation queue and run `mmmult eval` for each.

A worker is one stateless command, so any job runner scales it out (a Slurm array, a Kubernetes
Job with N completions, Hugging Face Jobs, or `--workers N` on one machine): workers share nothing
but the queue. While a run lasts, its worker renews the lease; a worker that dies stops renewing,
and another takes the request over once the lease expires. A worker that finds its lease taken
(it stalled past the expiry) stops its run and leaves the request to the new holder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from mmmult.queue.failures import failure_reason
from mmmult.queue.request import API_MODEL_TYPES, DONE, FAILED, EvalRequest, Queue, QueueError

LOG_TAIL_LINES = 20
LOG_END_BYTES = 256 * 2**10


def eval_command(request: EvalRequest, out: Path) -> list[str]:
    """The `mmmult eval` command line of a request."""
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", request.model_type]
    command += ["--model_args", request.model_args(), "--tasks", ",".join(request.tasks())]
    command += ["--log_samples", "--output_path", str(out), *request.eval_args]
    if request.model_type in API_MODEL_TYPES:  # chat servers take turns
        command.append("--apply_chat_template")
    return command


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    with path.open(errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines)).strip()


def log_end(path: Path, size: int = LOG_END_BYTES) -> str:
    """The end of a log, where a failed run's cause is (the whole log can be large)."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode(errors="replace")


def run_request(queue: Queue, request: EvalRequest, worker: str, lease_seconds: float) -> EvalRequest | None:
    """Run one claimed request to done or failed; None when the lease was lost (another worker has it).
    The output folder starts empty: a dead worker's partial output must not mix with this run's."""
    out, log = queue.results_dir(request.id), queue.log_path(request.id)
    shutil.rmtree(out, ignore_errors=True)
    with log.open("w") as handle:
        process = subprocess.Popen(eval_command(request, out), stdout=handle, stderr=subprocess.STDOUT)
        while not _ended(process, min(lease_seconds / 4, 5.0)):
            if not _renewed(queue, request.id, worker, lease_seconds):
                process.kill()
                process.wait()
                return None
    if process.returncode == 0 and any(out.rglob("results_*.json")):
        return queue.finish(request, DONE)
    return queue.finish(request, FAILED, failure_reason(request, process.returncode, log_end(log), log_tail(log)))


def _renewed(queue: Queue, request_id: str, worker: str, lease_seconds: float) -> bool:
    """Renew the lease; False when it is lost. A queue that cannot be reached now is asked again at the next
    look: should the lease expire meanwhile and another worker take it, that renewal says so."""
    try:
        return queue.renew(request_id, worker, lease_seconds)
    except QueueError as error:
        print(f"{worker}: the lease of {request_id} was not renewed this time: {error}", flush=True)
        return True


def _ended(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def work(queue: Queue, worker: str, lease_seconds: float, once: bool, poll: float) -> int:
    """Run requests until there are none (with `once`) or forever; returns how many this worker finished.
    Files among the requests that are not requests are named once each in the log, and never run."""
    finished, named = 0, set()
    while True:
        request = queue.claim(worker, lease_seconds)
        for aside in queue.set_aside():
            if aside not in named:
                named.add(aside)
                print(f"{worker}: set aside {aside}; no worker runs it", flush=True)
        if request is None:
            if once:
                return finished
            time.sleep(poll)
            continue
        print(f"{worker}: running {request.id} (attempt {request.attempts})", flush=True)
        outcome = run_request(queue, request, worker, lease_seconds)
        if outcome is None:
            print(f"{worker}: lost the lease of {request.id}; another worker runs it", flush=True)
        else:
            finished += 1
            print(f"{worker}: {request.id} {outcome.status}", flush=True)


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def pool(argv: list[str], workers: int) -> int:
    """Run `workers` worker processes with the same options; Ctrl-C stops them all."""
    children = [subprocess.Popen([sys.executable, "-m", "mmmult.cli", "worker", *argv, "--workers", "1"])
                for _ in range(workers)]  # fmt: skip
    try:
        return max(child.wait() for child in children)
    except KeyboardInterrupt:
        for child in children:
            child.send_signal(signal.SIGINT)
        for child in children:
            child.wait()
        raise
