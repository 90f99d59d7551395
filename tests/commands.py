"""Running `mmmult` as a user does, and what a user error must look like."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

from mmmult.cli import main


def mmmult(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmmult.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
        check=False,
    )


def mmmult_here(*args: str) -> subprocess.CompletedProcess[str]:
    """`mmmult ARGS` in this process: for refusals, which need no interpreter of their own (a subprocess costs
    a second of imports). An exception that escapes would fail the test with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    handler = signal.getsignal(signal.SIGINT)  # main() installs its own
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exit_:  # argparse's refusals
                status = exit_.code
    finally:
        signal.signal(signal.SIGINT, handler)
    return subprocess.CompletedProcess(["mmmult", *args], status, out.getvalue(), err.getvalue())


def assert_user_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit status 2, the message on stderr, and no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
