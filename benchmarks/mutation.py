"""Mutation score per module: how many small planted bugs (mutants) the tests catch.

    .venv/bin/python -m benchmarks.mutation                  # every module of [tool.mutmut] in pyproject.toml
    .venv/bin/python -m benchmarks.mutation --max-children 2 --survivors 40

mutmut (3.x) copies the package into mutants/, plants one change at a time (an operator, a
constant, a comparison, a dropped argument) and runs the tests that cover the changed function.
A mutant is caught when a test fails or times out. Prints, per module, the mutants and the share
caught, then the diffs of surviving mutants. The modules and the tests are set in pyproject.toml
([tool.mutmut]): the modules whose bugs would corrupt results, and the fast in-process tests.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]
CAUGHT = {"killed", "timeout"}
STATUS = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


def module_of(mutant: str) -> str:
    """dataset_builder.problems.x_select__mutmut_3 -> dataset_builder.problems (methods: xǁClassǁname)."""
    return re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]


def results() -> dict[str, str]:
    out = subprocess.run(
        [*MUTMUT, "results", "--all", "true"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout
    return {m["name"]: m["status"].strip() for m in map(STATUS.match, out.splitlines()) if m}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant runs (default 2)")
    parser.add_argument("--survivors", type=int, default=30, help="surviving mutants to show as diffs")
    parser.add_argument("--target", type=float, default=0.85, help="share to meet per module (default 0.85)")
    parser.add_argument("--no-run", action="store_true", help="report the last run's results only")
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.no_run:
        subprocess.run([*MUTMUT, "run", "--max-children", str(args.max_children)], cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    statuses = results()
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        by_module[module_of(name)][status] += 1
    print(f"{'module':40} {'mutants':>8} {'caught':>8} {'score':>7}  other")
    below = []
    for module, counts in sorted(by_module.items()):
        total, caught = sum(counts.values()), sum(counts[s] for s in CAUGHT)
        other = ", ".join(f"{n} {s}" for s, n in counts.items() if s not in CAUGHT)
        print(f"{module:40} {total:8} {caught:8} {caught / total:7.1%}  {other}")
        if caught / total < args.target:
            below.append(module)
    print(
        f"{len(statuses)} mutants in {time.perf_counter() - started:.0f} s; below {args.target:.0%}: {below or 'none'}"
    )
    survivors = [name for name, status in statuses.items() if status not in CAUGHT]
    for name in survivors[: args.survivors]:
        shown = subprocess.run([*MUTMUT, "show", name], capture_output=True, text=True, cwd=ROOT, check=False).stdout
        print("\n" + "\n".join(line for line in shown.splitlines() if line.startswith(("#", "-", "+")) and
                                not line.startswith(("---", "+++"))))  # fmt: skip
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
