"""Does a change alter what `mmmult build` writes? Build at a git revision and from this tree, compare every file.

    .venv/bin/python -m benchmarks.same_build --against 0ec205e
    .venv/bin/python -m benchmarks.same_build --against HEAD~3 -- --configs text-numerals,problems --limit 50

The revision is checked out into a temporary worktree and run with this venv's libraries, so only
the code differs. Prints, per Parquet file, whether its sha256 is the same; exits 1 if any differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OPTIONS = ["--max-digits", "6", "--limit", "300", "--num-proc", "2"]


def build(source: Path, out: Path, options: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(source)}
    started = time.perf_counter()
    command = [sys.executable, "-m", "mmmult.cli", "build", "--out", str(out), *options]
    subprocess.run(command, env=env, cwd=source, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--against", required=True, help="a git revision to compare with (e.g. a commit before a change)"
    )
    parser.add_argument("options", nargs="*", help=f"mmmult build options (default: {' '.join(DEFAULT_OPTIONS)})")
    args = parser.parse_args()
    options = args.options or DEFAULT_OPTIONS
    with tempfile.TemporaryDirectory(prefix="mmmult-same-build-") as scratch:
        work = Path(scratch)
        old = work / "old-source"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.against], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            seconds_old = build(old, work / "old", options)
            seconds_new = build(ROOT, work / "new", options)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
        before = json.loads((work / "old/manifest.json").read_text())["files"]
        after = json.loads((work / "new/manifest.json").read_text())["files"]
    print(f"mmmult build {' '.join(options)}: {args.against} {seconds_old:.1f} s, this tree {seconds_new:.1f} s")
    differ = 0
    for name in sorted(set(before) | set(after)):
        same = before.get(name) == after.get(name)
        differ += not same
        print(f"{'same' if same else 'DIFFERS':8} {name}")
    print(f"{len(before)} files at {args.against}, {len(after)} in this tree, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
