"""Running `mmmult` as a user does, and what a user error must look like."""

from __future__ import annotations

import os
import subprocess
import sys


def mmmult(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dataset_builder.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
        check=False,
    )


def assert_user_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit status 2, the message on stderr, and no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
