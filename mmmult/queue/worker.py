"""`mmmult worker`: take requests from the evaluation queue and run `mmmult eval` for each.

A worker is one stateless command, so any job runner scales it out (a Slurm array, a Kubernetes
Job with N completions, Hugging Face Jobs, or `--workers N` on one machine): workers share nothing
but the queue. With --slurm, a worker hands each request to Slurm as one job array of shards and merges
them when the array is done (run_on_slurm), so one worker on a login node keeps a cluster's GPUs busy with a
request at a time. While a run lasts, its worker renews the lease; a worker that dies stops renewing,
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
from dataclasses import replace
from pathlib import Path

from dataset_builder.errors import UserError
from mmmult.harness.slurm import POLL_SECONDS, SlurmOptions, submit
from mmmult.queue.failures import failure_reason
from mmmult.queue.request import API_MODEL_TYPES, DONE, FAILED, EvalRequest, Queue, QueueError

LOG_TAIL_LINES = 20
LOG_END_BYTES = 256 * 2**10


def eval_command(request: EvalRequest, out: Path) -> list[str]:
    """The `mmmult eval` command line of a request."""
    return [sys.executable, "-m", "mmmult.cli", "eval", *eval_arguments(request, out)]


def eval_arguments(request: EvalRequest, out: Path) -> list[str]:
    """The arguments of `mmmult eval` that run a request into `out`."""
    arguments = ["--model", request.model_type, "--model_args", request.model_args()]
    arguments += ["--tasks", ",".join(request.tasks()), "--log_samples", "--output_path", str(out), *request.eval_args]
    if request.model_type in API_MODEL_TYPES:  # chat servers take turns
        arguments.append("--apply_chat_template")
    return arguments


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    with path.open(errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines)).strip()


def log_end(path: Path, size: int = LOG_END_BYTES) -> str:
    """The end of a log, where a failed run's cause is (the whole log can be large)."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode(errors="replace")


def run_request(
    queue: Queue, request: EvalRequest, worker: str, lease_seconds: float, slurm: SlurmOptions | None = None
) -> EvalRequest | None:
    """Run one claimed request to done or failed; None when the lease was lost (another worker has it).
    The output folder starts empty: a dead worker's partial output must not mix with this run's."""
    out, log = queue.results_dir(request.id), queue.log_path(request.id)
    shutil.rmtree(out, ignore_errors=True)
    if slurm is not None:
        return run_on_slurm(queue, request, worker, lease_seconds, slurm)
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


def run_on_slurm(
    queue: Queue, request: EvalRequest, worker: str, lease_seconds: float, slurm: SlurmOptions
) -> EvalRequest | None:
    """Run a claimed request as a Slurm array of shards, renewing the lease while Slurm holds any, and merge them
    into the request's output folder: the run the board ingests. Each claim of the request has a Slurm folder of
    its own (attempt-K), so an array left by a worker that died never mixes with this one's. The worker's log says
    what was submitted, and the end of each shard's log that did not finish (where failure_reason finds the cause).
    """
    out, log = queue.results_dir(request.id), queue.log_path(request.id)
    folder = slurm.folder / request.id if slurm.folder else out.with_name(out.name + ".slurm")
    options = replace(slurm, folder=folder / f"attempt-{request.attempts}")
    shutil.rmtree(options.folder, ignore_errors=True)
    with log.open("w") as handle:
        try:
            array = submit(eval_arguments(request, out), options)
            handle.write(f"{worker}: submitted Slurm array job {array.job}, {array.shards} shards in {array.folder}\n")
            handle.flush()

            def still_ours() -> bool:
                return _renewed(queue, request.id, worker, lease_seconds)

            if not array.wait(min(lease_seconds / 4, POLL_SECONDS), still_ours):
                array.cancel()
                return None
            array.merge()
        except UserError as error:
            # as `mmmult eval` writes its errors, where failure_reason reads the first: the shards' own, if any
            text = str(error)
            handle.write(f"{text}\n" if "mmmult: error: " in text else f"mmmult: error: {text}\n")
            handle.flush()
            return queue.finish(request, FAILED, failure_reason(request, 1, log_end(log), log_tail(log)))
    return queue.finish(request, DONE)


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


def work(
    queue: Queue, worker: str, lease_seconds: float, once: bool, poll: float, slurm: SlurmOptions | None = None
) -> int:
    """Run requests until there are none (with `once`) or forever, on Slurm with `slurm`; returns how many this
    worker finished.
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
        outcome = run_request(queue, request, worker, lease_seconds, slurm)
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
