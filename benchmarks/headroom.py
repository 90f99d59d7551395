"""Which per-step error rates each problem set resolves, checked by simulation with the known-truth executors.

    .venv/bin/python -m benchmarks.headroom                # 1,000 runs per row (663 s on 2 shared cores)
    .venv/bin/python -m benchmarks.headroom --reps 200     # a quicker look (104 s)

An executor multiplies by one heuristic (OT, DD, RC) and slips at each elementary operation with probability p,
so it answers a problem right with chance (1 - p) ** steps (dataset_builder/probe/worked.py, step_count; the worked
solutions and the executors work at 30 digits). Each simulated run answers every test problem of a set once (one
config) with that chance and goes through the board's own summary (summary.scope_fit, then C50 from stored_fit as
the table shows it). For each set, heuristic and p the table gives:

- true C50: the C50 the board's logistic fit converges to on that set's test problems (tests/simulate.py,
  limit_c50: the fit to the expected outcomes (1 - p) ** steps; the executor's curve is not logistic in C, so this
  projection is what the board estimates), and whether it lies inside the set's tested C range;
- finite: the share of runs whose C50 the board states with a two-sided interval inside that range;
- C50 cov.: the share of runs with a stated C50 whose Fieller interval contains the true C50;
- p cov.: the share whose per-step fit names the executor's heuristic with an interval containing p;
- named: the share naming the heuristic; mean p: the mean fitted p.

A set resolves p when for every heuristic the true C50 lies inside its range and the board states a finite
interval in at least 92% of runs; the coverages are then expected within 92-98% (the Monte Carlo error of a share
near 95% is 0.7 points over 1,000 runs and 1.5 over 200, so at 200 a cell may fall just outside by chance; each one
outside is flagged).
A scan over a wider grid of p then gives the range each set resolves.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence

from tqdm import tqdm

from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.problems import BASE, EXTENDED, Problem, generate, generate_extended
from tests.simulate import Headroom, headroom

STEP_ERRORS = (0.02, 0.005, 0.002, 0.0008)
SCAN = (0.05, 0.03, 0.02, 0.012, 0.008, 0.005, 0.003, 0.002, 0.0012, 0.0008, 0.0005, 0.0003)
"""The wider grid of p the scan checks, about a factor 1.6 apart."""
FINITE = 0.92
COVERAGE = (0.92, 0.98)


def test_problems() -> dict[str, list[Problem]]:
    """Each set's test split: what a run of its tasks answers."""
    generators = {BASE: generate, EXTENDED: generate_extended}
    return {name: [p for p in gen() if p.split == "test"] for name, gen in generators.items()}


def resolves(cell: Headroom) -> bool:
    """The board states this executor's C50 with a finite interval in at least 92% of runs, around a true C50
    inside the set's range."""
    return cell.inside and cell.finite >= FINITE


def share(value: float) -> str:
    """A coverage, flagged with ! outside 92-98%; '-' where there is nothing to cover."""
    if math.isnan(value):
        return "     -"
    return f"{value:5.3f}" + (" " if inside_target(value) else "!")


def table(sets: dict[str, list[Problem]], reps: int, seed: int) -> dict[tuple[str, str, float], Headroom]:
    """The coverage table, one row per set, heuristic and p."""
    cells = {}
    jobs = [(name, h, p) for name in sets for p in STEP_ERRORS for h in HEURISTICS]
    for i, (name, heuristic, p) in enumerate(tqdm(jobs, desc="table", leave=False)):
        cells[name, heuristic, p] = headroom(sets[name], heuristic, p, reps, seed + i)
    print(f"\nExecutors answering each set's test problems once (one config), {reps} runs per row (target 0.92-0.98)")
    print(f"{'set':9} {'heur.':5} {'p':>7} {'true C50':>9} {'inside':>11} {'finite':>7} {'C50 cov.':>9} "
          f"{'p cov.':>7} {'named':>6} {'mean p':>8}")  # fmt: skip
    for (name, heuristic, p), cell in cells.items():
        tested = f"{cell.c_min:.0f}-{cell.c_max:.0f}"
        inside = ("yes " if cell.inside else "no  ") + f"{tested:>7}"
        print(f"{name:9} {heuristic:5} {p:7.4f} {cell.true_c50:9.0f} {inside:>11} {cell.finite:7.3f} "
              f"{share(cell.c50):>9} {share(cell.p):>7} {cell.named:6.3f} {cell.mean_p:8.5f}")  # fmt: skip
    return cells


def verdicts(sets: Sequence[str], cells: dict[tuple[str, str, float], Headroom]) -> None:
    """One line per p: the sets that resolve it for every heuristic, or which heuristics each set resolves, with
    the share of finite intervals where the true C50 lies inside a set's range but the board states it too rarely,
    and the cells whose coverage falls outside 92-98%."""
    print()
    for p in STEP_ERRORS:
        parts, flagged = [], []
        for name in sets:
            mine = {h: cells[name, h, p] for h in HEURISTICS}
            done = [h for h, cell in mine.items() if resolves(cell)]
            short = [f"{h} finite {cell.finite:.3f}" for h, cell in mine.items() if cell.inside and not resolves(cell)]
            head = (
                f"resolved by the {name} set"
                if len(done) == len(mine)
                else f"{name} resolves {', '.join(done) or 'none'}"
            )
            parts.append(head + (f" ({', '.join(short)})" if short else ""))
            flagged += [f"{name} {h}" for h in done if not all(inside_target(v) for v in (mine[h].c50, mine[h].p))]
        note = f"; coverage outside 92-98%: {', '.join(flagged)}" if flagged else ""
        print(f"p = {p}: {'; '.join(parts)}{note}")


def inside_target(value: float) -> bool:
    return COVERAGE[0] <= value <= COVERAGE[1]


def scan(sets: dict[str, list[Problem]], reps: int, seed: int) -> None:
    """The p of the wider grid each set resolves, per heuristic and for all three."""
    jobs = [(name, h, p) for name in sets for h in HEURISTICS for p in SCAN]
    ok = {job: resolves(headroom(sets[job[0]], job[1], job[2], reps, seed + i))
          for i, job in enumerate(tqdm(jobs, desc="scan", leave=False))}  # fmt: skip
    print(f"\nThe p each set resolves on the grid {', '.join(map(str, SCAN))} ({reps} runs each):")
    for name in sets:
        rows = [(h, [p for p in SCAN if ok[name, h, p]]) for h in HEURISTICS]
        rows.append(("all", [p for p in SCAN if all(ok[name, h, p] for h in HEURISTICS)]))
        text = "; ".join(f"{h} {span(ps)}" for h, ps in rows)
        print(f"{name:9} {text}")


def span(values: Sequence[float]) -> str:
    """'0.008-0.05' for neighbours on the grid, '0.012, 0.005' where the grid skips some between, 'none' for none."""
    if not values:
        return "none"
    where = [SCAN.index(p) for p in values]
    if len(values) > 1 and where == list(range(where[0], where[-1] + 1)):
        return f"{values[-1]}-{values[0]}"
    return ", ".join(map(str, values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000, help="runs per row of the table (default 1000)")
    parser.add_argument("--scan-reps", type=int, default=50, help="runs per point of the scan (default 50)")
    parser.add_argument("--seed", type=int, default=2700, help="seed of the first row (default 2700)")
    args = parser.parse_args()
    started = time.perf_counter()
    sets = test_problems()
    print(", ".join(f"{name}: {len(problems):,} test problems" for name, problems in sets.items()))
    cells = table(sets, args.reps, args.seed)
    verdicts(list(sets), cells)
    scan(sets, args.scan_reps, args.seed + 1000)
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
