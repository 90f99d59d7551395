"""What one upload costs a running board: the server's peak memory growth and the time to an answer.

    .venv/bin/python -m benchmarks.uploads                 # builds the text configs into a temporary folder

Starts `mmmult space` as a user would, submits through its /submit endpoint (gradio_client), and
samples the server's resident memory every 20 ms. Cases: an honest run of the four text tasks on
every test problem with long responses, the same run zipped, a zip bomb that declares its size,
one whose header lies about it, a results file nested 100,000 deep, and a 50 MB file of one
JSON line. The board promises a reason for every refusal and at most 200 MB more memory for any
one upload.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import psutil

from mmmult.leaderboard.intake.benchmark import load_reference
from tests.simulate import lm_eval_files, right

TASKS = ["mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_numerals", "mmmult_perceive_text_words"]
LIMIT_MB = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def long_answer(task, problem) -> str:  # noqa: ANN001
    """A right answer after 2 KB of working, as reasoning models write."""
    return "Let me work this out carefully. " * 64 + right(task, problem)


def zip_of(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(f"run/{name}", data)
    return buffer.getvalue()


def bomb(lie: bool) -> bytes:
    """600 MB of zeros (about 600 KB zipped); with `lie`, the headers declare 1 KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("run/results_x.json", "w") as out:
        block = b"0" * 2**20
        for _ in range(600):
            out.write(block)
    data = buffer.getvalue()
    if lie:
        data = data.replace((600 * 2**20).to_bytes(4, "little"), (1024).to_bytes(4, "little"))
    return data


def measure(client, pid: int, files: list[Path]) -> tuple[str, float, float]:  # noqa: ANN001
    """Submit `files`; return the answer, the peak growth of the server's memory (MB) and the seconds."""
    from gradio_client import handle_file

    process = psutil.Process(pid)
    base = process.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.02)

    watcher = threading.Thread(target=sample)
    watcher.start()
    started = time.perf_counter()
    try:
        answer = client.predict([handle_file(str(f)) for f in files], "bench-model", "Bench", "", True, "bench", "",
                                "", api_name="/submit")  # fmt: skip
    finally:
        done.set()
        watcher.join()
    return answer, (peak[0] - base) / 2**20, time.perf_counter() - started


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # no options: --help only
    from gradio_client import Client

    with tempfile.TemporaryDirectory(prefix="mmmult-uploads-") as scratch:
        work = Path(scratch)
        build = work / "data"
        command = [sys.executable, "-m", "mmmult.cli", "build", "--out", str(build), "--configs",
                   "text-numerals,text-words,problems"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        benchmark = load_reference(build)
        honest = lm_eval_files(benchmark, TASKS, long_answer)
        cases: dict[str, list[tuple[str, bytes]]] = {
            "honest run, loose files": honest,
            "honest run, zipped": [("run.zip", zip_of(honest))],
            "zip bomb, 600 MB declared": [("bomb.zip", bomb(lie=False))],
            "zip bomb, header says 1 KB": [("bomb.zip", bomb(lie=True))],
            "results nested 100,000 deep": [("results_x.json", b"[" * 100_000 + b"]" * 100_000)],
            "one 50 MB line": [("results_x.json", b'{"a": "' + b"x" * (50 * 2**20 - 100) + b'"}')],
        }
        port = free_port()
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        server = subprocess.Popen(
            [sys.executable, "-m", "mmmult.cli", "space", "--data", str(build), "--db",
             str(work / "store/board.sqlite"), "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = None
            for _ in range(120):
                try:
                    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    time.sleep(0.5)
            assert client is not None, "the board did not start"
            print(f"{'case':30} {'upload MB':>9} {'peak +MB':>9} {'seconds':>8}  answer")
            worst = 0.0
            for i, (name, files) in enumerate(cases.items()):
                folder = work / f"case{i}"
                folder.mkdir()
                paths = []
                for file_name, data in files:
                    (folder / file_name).write_bytes(data)
                    paths.append(folder / file_name)
                size = sum(p.stat().st_size for p in paths) / 2**20
                answer, growth, seconds = measure(client, server.pid, paths)
                worst = max(worst, growth)
                print(f"{name:30} {size:9.1f} {growth:9.1f} {seconds:8.1f}  {answer.splitlines()[0][:90]}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"largest growth {worst:.0f} MB (limit {LIMIT_MB} MB)")
    return 0 if worst <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
