"""The evaluation queue's overhead per request, with two local workers.

    .venv/bin/python -m benchmarks.eval_queue                  # 4 requests of the reference system, text configs
    .venv/bin/python -m benchmarks.eval_queue --requests 8 --limit 400

Builds the text configs into a temporary folder, queues requests of the reference system (it reads
and multiplies exactly, so the eval itself is short and the queue's share shows), runs
`mmmult worker --workers 2 --once`, then ingests the finished runs as the board does. Prints, per
request: seconds from the request to the start of its eval (a worker's pick-up, including the
workers' start, or the wait for a free worker), the eval's own seconds, and the seconds from its
end to its row on the board. A board ingests finished runs on its next page load; here it ingests
once every run is done, so early runs wait for the last, and the last line gives the ingest's own
time per run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmmult.leaderboard.display.requests import ingest_finished
from mmmult.leaderboard.intake.benchmark import load_reference
from mmmult.leaderboard.storage.store import Store
from mmmult.queue.folder import LocalQueue
from mmmult.queue.request import EvalRequest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4, help="requests to queue (default %(default)s)")
    parser.add_argument("--limit", type=int, default=200, help="problems in the build (default %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cli = [sys.executable, "-m", "mmmult.cli"]
        build = [*cli, "build", "--out", str(root / "data"), "--configs", "text-numerals,text-words,problems"]
        subprocess.run([*build, "--limit", str(args.limit)], check=True, capture_output=True)
        queue = LocalQueue(root / "queue")
        for i in range(args.requests):  # revisions tell the requests apart; the reference has one
            queue.submit(EvalRequest("mmmult-reference", "mmmult-reference", ("text",), revision=f"r{i}"))
        started = time.perf_counter()
        subprocess.run([*cli, "worker", "--queue", str(queue.root), "--data", str(root / "data"), "--workers", "2",
                        "--once"], check=True, capture_output=True)  # fmt: skip
        workers = time.perf_counter() - started
        store, reference = Store(root / "board.sqlite"), load_reference(root / "data")
        ingest_started = time.time()
        stored = ingest_finished(queue, store, reference)
        ingested = time.time()
        statuses = sorted({store.submission(sid)["status"] for sid in stored})
        print(f"{args.requests} requests, 2 workers, reference system on 2 text configs of {args.limit} problems")
        print(f"{'request':28} {'request to start s':>19} {'eval s':>8} {'end to board row s':>19}")
        for request in queue.requests():
            to_board = ingested - request.finished
            print(f"{request.id:28} {request.started - request.submitted:19.2f} "
                  f"{request.finished - request.started:8.2f} {to_board:19.2f}")  # fmt: skip
        per_request = (ingested - ingest_started) / args.requests
        stored_as = ", ".join(statuses)
        print(
            f"workers ran {workers:.1f} s; the board ingested each run in {per_request:.2f} s (stored as {stored_as})"
        )


if __name__ == "__main__":
    main()
