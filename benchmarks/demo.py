"""Seconds from `./run demo` to its board's first page: on a fresh copy of the tree, then again.

    .venv/bin/python -m benchmarks.demo
    .venv/bin/python -m benchmarks.demo --cache ~/.cache/mmmult     # a first run with the readings kept so far

Copies the files git knows (tracked, and untracked ones it does not ignore, as they are in the
working tree) into a temporary folder, links this checkout's .venv into it, and runs `./run demo`
there with MMMULT_SKIP_SETUP=1 (the set-up would point the editable install at the copy; set-up
time is not counted), PYTHONPATH set to the copy (so the copy's code runs; the lm-eval task folder
still comes through the editable install, from this checkout's eval/), a reading cache of its own
(MMMULT_CACHE in the temporary folder, empty, so the first run reads every image) and a free port
(GRADIO_SERVER_PORT). It polls the board until it answers HTTP 200, prints the seconds, stops the
demo's process group, and runs `./run demo` again in the same copy: the build, the finished evals
and the readings are reused. The second figure is the one a user sees on a restart.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_tree(target: Path) -> None:
    """The working tree's files that git knows (tracked or not ignored), without .git, into `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())
    (target / ".venv").symlink_to(ROOT / ".venv")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def time_to_serve(copy: Path, env: dict[str, str], log: Path, limit: float) -> float:
    """Seconds from `./run demo` to HTTP 200 on its port; the demo is stopped after."""
    url = f"http://127.0.0.1:{env['GRADIO_SERVER_PORT']}/"
    started = time.perf_counter()
    with log.open("w") as output:
        demo = subprocess.Popen(
            ["./run", "demo"], cwd=copy, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        while not serves(url):
            if demo.poll() is not None:
                raise SystemExit(f"./run demo exited with {demo.returncode} before serving; its log:\n{tail(log)}")
            if time.perf_counter() - started > limit:
                raise SystemExit(f"./run demo did not serve within {limit:.0f} s; its log:\n{tail(log)}")
            time.sleep(0.5)
        return time.perf_counter() - started
    finally:
        stop(demo)


def stop(demo: subprocess.Popen[bytes]) -> None:
    """Ends the demo's process group (the script, its evals, the server)."""
    try:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="the reading cache folder for both runs (default: a new, empty one)")
    parser.add_argument("--limit", type=float, default=1800, help="seconds to wait for a serve (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy and print where it is")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mmmult-demo-"))
    try:
        copy = folder / "tree"
        copy_tree(copy)
        env = {
            **os.environ,
            "MMMULT_SKIP_SETUP": "1",
            "PYTHONPATH": str(copy),
            "MMMULT_CACHE": args.cache or str(folder / "cache"),
            "GRADIO_SERVER_PORT": str(free_port()),
        }
        cores, load = os.cpu_count(), os.getloadavg()[0]
        print(f"./run demo on a copy of {ROOT} ({cores} cores, load average {load:.2f} at the start)")
        first = time_to_serve(copy, env, folder / "first.log", args.limit)
        print(f"first demo (fresh build, evals, {'given' if args.cache else 'empty'} reading cache): {first:.1f} s")
        second = time_to_serve(copy, env, folder / "second.log", args.limit)
        print(f"second demo (build, evals and readings reused): {second:.1f} s")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
