"""Which procedure is cheapest for a x b: the cost models of columnar multiplication (OT), distributive
decomposition (DD) and rounding with compensation (RC), and the margin rule.

The definitions are those of the heuristic probe (the dataset card, "Heuristic probe", states them
for users). Worked examples:

>>> costs(47, 36)
Costs(OT=4.25, DD=5.0, RC=8.4)
>>> costs(49, 51)
Costs(OT=4.125, DD=5.0, RC=2.4)
>>> costs(47, 60).DD, costs(48, 25).DD, costs(69, 75).DD, costs(39, 7725).DD
(2.0, 3.0, 3.0, 6.0)
>>> costs(47, 36).label, costs(49, 51).label, costs(47, 60).label
('OT', 'RC', 'DD')
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

HEURISTICS: tuple[str, ...] = ("OT", "DD", "RC")
MIN_MARGIN = 0.75
"""An item labels a heuristic only when the runner-up costs at least this much more."""
CARRY_WEIGHT = 0.25
BASE_STEPS = (25, 50, 100, 200, 250, 500)
MAX_OPERAND = 999_999_999


def nonzero(x: int) -> int:
    """Non-zero decimal digits of |x|, floored at 1 (the k of the DD cost)."""
    return max(1, sum(d != "0" for d in str(abs(x))))


def length(x: int) -> int:
    return len(str(abs(x)))


def place_parts(x: int) -> list[int]:
    """The place-value parts of x >= 0, largest first: 8004004 -> [8000000, 4000, 4] (DD's k is how many)."""
    digits = str(x)
    return [int(d) * 10 ** (len(digits) - i - 1) for i, d in enumerate(digits) if d != "0"]


def ot_cost(a: int, b: int) -> float:
    """Every digit pair multiplied, plus a quarter of the share of pairs that carry (product >= 10).

    >>> ot_cost(99, 99)
    4.25
    >>> ot_cost(10, 10)
    4.0
    """
    pairs = [(int(x), int(y)) for x in str(a) for y in str(b)]
    carrying = sum(x * y >= 10 for x, y in pairs)
    return len(pairs) + CARRY_WEIGHT * carrying / len(pairs)


def _expand(factor: int, other: int) -> float:
    """DD with `factor` split into its place-value parts, each times `other`, the parts then added."""
    k = nonzero(factor)
    candidates = [k * length(other) + (k - 1)]
    if factor % 25 == 0:
        q = nonzero(factor // 25)
        candidates.append(q * length(other) + (q - 1) + 1.0)
    elif factor % 5 == 0:
        q = nonzero(factor // 5)
        candidates.append(q * length(other) + (q - 1) + 1.5)
    return float(min(candidates))


def dd_cost(a: int, b: int) -> float:
    """The cheaper orientation of `_expand`: split a against b, or b against a.

    >>> dd_cost(48, 25), dd_cost(300, 47)
    (3.0, 2.0)
    """
    return min(_expand(a, b), _expand(b, a))


@cache
def bases() -> tuple[int, ...]:
    """Round bases: {25, 50, 100, 200, 250, 500} x 10^k for k = 0..7, from 10 to 999,999,999."""
    return tuple(sorted({s * 10**k for s in BASE_STEPS for k in range(8) if 10 <= s * 10**k <= MAX_OPERAND}))


def rc_cost_at(a: int, b: int, base: int) -> float:
    """Move both operands to `base`, multiply there, then correct by the offsets.

    >>> rc_cost_at(49, 51, 50)
    2.4
    """
    oa, ob = a - base, b - base
    scale = 10 ** max(length(base) - 2, 0)
    cost = 1.0
    if oa + ob != 0:
        cost += length(oa + ob)
    if oa != 0 and ob != 0:
        cost += length(oa) * length(ob)
    return cost + (abs(oa) / scale + abs(ob) / scale) / 5


def rc_cost(a: int, b: int) -> float:
    """The cheapest round base for a x b.

    >>> rc_cost(47, 36)
    8.4
    """
    return min(rc_cost_at(a, b, base) for base in bases())


@dataclass(frozen=True)
class Costs:
    """The three costs of one problem, the cheapest heuristic and by how much it wins."""

    OT: float
    DD: float
    RC: float

    def __repr__(self) -> str:
        return f"Costs(OT={self.OT!r}, DD={self.DD!r}, RC={self.RC!r})"

    def of(self, heuristic: str) -> float:
        return float(getattr(self, heuristic))

    @property
    def label(self) -> str:
        """The cheapest heuristic (ties go to the first of OT, DD, RC)."""
        return min(HEURISTICS, key=self.of)

    @property
    def margin(self) -> float:
        """The runner-up's cost minus the winner's."""
        ordered = sorted(self.of(h) for h in HEURISTICS)
        return ordered[1] - ordered[0]

    @property
    def decisive(self) -> bool:
        """Whether the item labels its heuristic (margin of at least MIN_MARGIN)."""
        return self.margin >= MIN_MARGIN - 1e-9


def costs(a: int, b: int) -> Costs:
    """The three costs of a x b (rounded to 6 decimals, as the cost columns are written)."""
    return Costs(round(ot_cost(a, b), 6), round(dd_cost(a, b), 6), round(rc_cost(a, b), 6))
