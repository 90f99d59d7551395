"""The probe sets: a heuristic-disagreement set (HDS) and traps, generated with a seed or read from CSV.

HDS: a third of the items per design family (RC, DD, OT), each item's cost-model winner equal to its
family by a margin of at least 0.75, operands of 2 to 9 digits, C from 12 to 324, unique up to
commutativity, split 70/15/15 within each family. Traps: test-only items that stress one heuristic
(carry bombs, missing terms, anti-round, sign traps), named by the heuristic they stress rather
than by the cheapest one. The CSV readers take the columns of the paper's released files and
check every derived field against the definitions.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from dataset_builder.configs import HDS_TYPES, TRAP_TYPES
from dataset_builder.probe.costs import HEURISTICS, bases, costs
from dataset_builder.problems import Problem, ProblemError, assign_splits, csv_rows, split_choices, split_named

T = TypeVar("T")
HDS_SIZE = 1000
MIN_DIGITS, MAX_DIGITS = 2, 9
MIN_C, MAX_C = 12, 324
FAMILY_ORDER = ("RC", "DD", "OT")
"""When the set does not divide by three, the first families get one more (1,000: RC 334, DD 333, OT 333)."""


@dataclass(frozen=True)
class HDSItem:
    """One heuristic-disagreement problem, with the columns of the paper's released file."""

    id: str
    a: int
    b: int
    product: int
    design_family: str
    canonical_target_heuristic: str
    canonical_target_margin: float
    ot_cost: float
    dd_cost: float
    rc_cost: float
    target_heuristic: str
    category: str
    notes: str
    digit_total: int
    nonzero_total: int
    complexity_c: int
    split: str

    @classmethod
    def of(cls, item_id: str, a: int, b: int, family: str, category: str, split: str, notes: str = "") -> HDSItem:
        """An item from its operands; costs, label, margin and digit statistics are derived here."""
        problem, cost = Problem.of(item_id, a, b, split), costs(a, b)
        margin = round(cost.margin, 6)
        stats = (problem.digit_total, problem.nonzero_total, problem.C)
        return cls(item_id, a, b, problem.product, family, cost.label, margin, cost.OT, cost.DD, cost.RC, family,
                   category, notes, *stats, split)  # fmt: skip

    def row(self) -> dict[str, Any]:
        """The item as a dataset row (configs.HDS_TYPES), named like a problem's: problem_id, C."""
        return _row(asdict(self), HDS_TYPES)


@dataclass(frozen=True)
class Trap:
    """One trap item (test only), with the columns of the paper's released traps file."""

    id: str
    a: int
    b: int
    product: int
    trap_type: str
    target_heuristic: str
    expected_error_type: str
    notes: str
    digit_total: int
    nonzero_total: int
    complexity_c: int

    @classmethod
    def of(cls, item_id: str, a: int, b: int, trap_type: str, notes: str = "") -> Trap:
        problem = Problem.of(item_id, a, b, "test")
        heuristic, error = TRAP_KINDS[trap_type]
        return cls(item_id, a, b, problem.product, trap_type, heuristic, error, notes, problem.digit_total,
                   problem.nonzero_total, problem.C)  # fmt: skip

    def row(self) -> dict[str, Any]:
        """The trap as a dataset row (configs.TRAP_TYPES): traps are test items only."""
        return _row(asdict(self) | {"split": "test"}, TRAP_TYPES)


def _row(fields: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    """The paper's `id` and `complexity_c` under the names the problems use, in the config's column order."""
    fields = fields | {"problem_id": fields["id"], "C": fields["complexity_c"]}
    return {name: fields[name] for name in columns}


def balanced(items: Sequence[T], group: Callable[[T], str], limit: int | None) -> list[T]:
    """At most `limit` items, taken in turn from each group (family, trap type) in their order, so
    that a small build keeps every group; the items keep their order, ids and splits.

    >>> balanced(["a1", "a2", "a3", "b1", "c1", "c2"], lambda x: x[0], 4)
    ['a1', 'a2', 'b1', 'c1']
    """
    if limit is None or limit >= len(items):
        return list(items)
    queues: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        queues.setdefault(group(item), []).append(index)
    chosen: set[int] = set()
    while len(chosen) < limit:
        for queue in queues.values():
            if queue and len(chosen) < limit:
                chosen.add(queue.pop(0))
    return [item for index, item in enumerate(items) if index in chosen]


TRAP_KINDS: dict[str, tuple[str, str]] = {
    "carry_bomb": ("OT", "off by a power of ten (a lost carry)"),
    "missing_term": ("DD", "off by one partial product (a dropped term)"),
    "anti_round": ("RC", "off by the compensation (no useful base)"),
    "sign_trap": ("RC", "off by twice the correction (compensation with the wrong sign)"),
}


def _digits(rng: random.Random, count: int, pool: str = "123456789", first: str = "123456789") -> int:
    return int(rng.choice(first) + "".join(rng.choice(pool) for _ in range(count - 1)))


def _rc(rng: random.Random) -> tuple[int, int, str]:
    """Two operands symmetric about a round base: B + k1 s and B + k2 s, or 99...9 against 10...0 + k."""
    base = rng.choice([b for b in bases() if 2 <= len(str(b)) <= MAX_DIGITS])
    scale = 10 ** max(len(str(base)) - 2, 0) if rng.random() < 0.5 else 1
    k1, k2 = rng.choice([-3, -2, -1, 1, 2, 3]), rng.choice([-3, -2, -1, 1, 2, 3])
    return base + k1 * scale, base + k2 * scale, "near-base"


def _dd(rng: random.Random) -> tuple[int, int, str]:
    """One operand of few place-value parts (trailing zeros, a multiple of 25 or ending in 5), one generic."""
    shape = rng.choice(["trailing-zeros", "hundreds", "times-25", "ends-in-5"])
    length = rng.randint(MIN_DIGITS, MAX_DIGITS)
    if shape == "trailing-zeros":
        parts = rng.randint(1, 2)
        split = _digits(rng, min(parts, length)) * 10 ** (length - min(parts, length))
    elif shape == "hundreds":
        split = _digits(rng, max(1, length - 2)) * 100
    elif shape == "times-25":
        split = _digits(rng, max(1, length - 2)) * 25
    else:
        split = _digits(rng, length - 1) * 10 + 5
    other = _digits(rng, rng.randint(MIN_DIGITS, MAX_DIGITS))
    return (split, other, shape) if rng.random() < 0.5 else (other, split, shape)


def _ot(rng: random.Random) -> tuple[int, int, str]:
    """Carry-heavy digits from 6-9, or generic digits far from any base and not multiples of 5."""
    if rng.random() < 0.5:
        count = (rng.randint(MIN_DIGITS, 5), rng.randint(MIN_DIGITS, 5))
        return _digits(rng, count[0], "6789", "6789"), _digits(rng, count[1], "6789", "6789"), "carry-heavy"
    count = (rng.randint(MIN_DIGITS, MAX_DIGITS), rng.randint(MIN_DIGITS, MAX_DIGITS))
    return _digits(rng, count[0], "1234678", "1234678"), _digits(rng, count[1], "1234678", "1234678"), "generic"


CONSTRUCTIONS: dict[str, Callable[[random.Random], tuple[int, int, str]]] = {"RC": _rc, "DD": _dd, "OT": _ot}


def acceptable(a: int, b: int, family: str) -> bool:
    """An HDS item: 2-9 digit operands, C in range, and the family's heuristic cheapest by the margin."""
    if not all(MIN_DIGITS <= len(str(x)) <= MAX_DIGITS for x in (a, b)) or min(a, b) < 10:
        return False
    if not MIN_C <= Problem.of("x", a, b, "test").C <= MAX_C:
        return False
    cost = costs(a, b)
    return cost.label == family and cost.decisive


def family_sizes(size: int) -> dict[str, int]:
    """A third per family, the remainder to the first families of FAMILY_ORDER.

    >>> family_sizes(1000)
    {'RC': 334, 'DD': 333, 'OT': 333}
    """
    return {family: size // 3 + (i < size % 3) for i, family in enumerate(FAMILY_ORDER)}


def generate_hds(size: int = HDS_SIZE, seed: int = 20260418) -> list[HDSItem]:
    """The heuristic-disagreement set, drawn family by family with a seeded generator."""
    rng = random.Random(f"{seed}:hds")
    seen: set[tuple[int, int]] = set()
    items: list[HDSItem] = []
    for family, count in family_sizes(size).items():
        drawn: list[tuple[int, int, str]] = []
        while len(drawn) < count:
            a, b, category = CONSTRUCTIONS[family](rng)
            key = (min(a, b), max(a, b))
            if key not in seen and acceptable(a, b, family):
                seen.add(key)
                drawn.append((a, b, category))
        splits = assign_splits(count)
        rng.shuffle(splits)
        start = len(items)
        items += [HDSItem.of(f"hds-{start + i:04d}", a, b, family, f"{family.lower()}-{category}", split)
                  for i, ((a, b, category), split) in enumerate(zip(drawn, splits, strict=True))]  # fmt: skip
    return items


def _traps_of(rng: random.Random) -> Iterator[tuple[int, int, str]]:
    """Trap operands by type: carry bombs (all 8s and 9s), missing terms (interior zeros), anti-round
    (digits 3, 4, 6, 7: nowhere near a base), sign traps (just below and just above one base)."""
    for _ in range(8):
        yield _digits(rng, rng.randint(2, 6), "89", "9"), _digits(rng, rng.randint(2, 6), "89", "9"), "carry_bomb"
    for _ in range(8):
        parts = [rng.choice("123456789") + "0" * rng.randint(1, 2) for _ in range(rng.randint(2, 3))]
        yield int("".join(parts) + rng.choice("123456789")), _digits(rng, rng.randint(2, 4)), "missing_term"
    for _ in range(7):
        yield (
            _digits(rng, rng.randint(2, 5), "3467", "3467"),
            _digits(rng, rng.randint(2, 5), "3467", "3467"),
            "anti_round",
        )
    for _ in range(7):
        base = rng.choice([b for b in bases() if 2 <= len(str(b)) <= 8])
        yield base - rng.randint(1, 4), base + rng.randint(1, 4), "sign_trap"


def generate_traps(seed: int = 20260418) -> list[Trap]:
    """30 trap items (8 carry bombs, 8 missing terms, 7 anti-round, 7 sign traps), unique up to commutativity."""
    rng = random.Random(f"{seed}:traps")
    seen: set[tuple[int, int]] = set()
    traps: list[Trap] = []
    for a, b, kind in _traps_of(rng):
        if (min(a, b), max(a, b)) in seen or max(a, b) > 999_999_999:
            continue
        seen.add((min(a, b), max(a, b)))
        traps.append(Trap.of(f"trap-{len(traps):02d}", a, b, kind))
    return traps


HDS_COLUMNS = tuple(HDSItem.__dataclass_fields__)
TRAP_COLUMNS = tuple(Trap.__dataclass_fields__)


def _operand(path: Path, line: int, row: dict[str, str], column: str) -> int:
    raw = (row.get(column) or "").strip()
    if not raw.isdigit() or not raw.isascii() or not 1 <= int(raw) <= 999_999_999:
        raise ProblemError(f"{path}, line {line}: {column} must be an integer from 1 to 999999999, got {raw!r}")
    return int(raw)


def _check(path: Path, line: int, row: dict[str, str], derived: dict[str, object]) -> None:
    """Every derived column of the row equals its value from the definitions (costs to 1e-6)."""
    for column, value in derived.items():
        stated = (row.get(column) or "").strip()
        same = abs(float(stated) - float(value)) <= 1e-6 if isinstance(value, float) else stated == str(value)
        if not same:
            raise ProblemError(f"{path}, line {line}: {column} is {stated!r}, but the definitions give {value!r}")


def read_hds_csv(path: str | Path) -> list[HDSItem]:
    """The paper's released HDS file (or one like it), every derived column checked."""
    path = Path(path)
    items = []
    for line, row in csv_rows(path, HDS_COLUMNS, "--hds-csv takes the paper's HDS file or one like it")[1]:
        a, b = _operand(path, line, row, "a"), _operand(path, line, row, "b")
        family, split = row["design_family"].strip(), split_named(row["split"])
        if family not in HEURISTICS or split is None:
            raise ProblemError(f"{path}, line {line}: design_family must be one of {', '.join(HEURISTICS)} and "
                               f"split one of {split_choices()}; got {row['design_family']!r}, "
                               f"{row['split']!r}")  # fmt: skip
        item = HDSItem.of(row["id"].strip(), a, b, family, row["category"].strip(), split, row["notes"].strip())
        derived = {k: v for k, v in asdict(item).items() if k in ("product", "canonical_target_heuristic",
                   "canonical_target_margin", "ot_cost", "dd_cost", "rc_cost", "digit_total", "nonzero_total",
                   "complexity_c")}  # fmt: skip
        _check(path, line, row, derived)
        items.append(item)
    return items


def read_traps_csv(path: str | Path) -> list[Trap]:
    """The paper's released traps file (or one like it): product and digit statistics checked. A split column,
    where the file has one, must say test: traps are test items only."""
    path = Path(path)
    traps = []
    for line, row in csv_rows(path, TRAP_COLUMNS, "--traps-csv takes the paper's traps file or one like it")[1]:
        a, b = _operand(path, line, row, "a"), _operand(path, line, row, "b")
        if "split" in row and split_named(row["split"]) != "test":
            raise ProblemError(f"{path}, line {line}: split is {row['split']!r}, but traps are test items only; "
                               "write test (or drop the split column)")  # fmt: skip
        problem = Problem.of(row["id"].strip(), a, b, "test")
        _check(path, line, row, {"product": problem.product, "digit_total": problem.digit_total,
                                 "nonzero_total": problem.nonzero_total, "complexity_c": problem.C})  # fmt: skip
        traps.append(Trap(row["id"].strip(), a, b, problem.product, row["trap_type"].strip(),
                          row["target_heuristic"].strip(), row["expected_error_type"].strip(), row["notes"].strip(),
                          problem.digit_total, problem.nonzero_total, problem.C))  # fmt: skip
    return traps
