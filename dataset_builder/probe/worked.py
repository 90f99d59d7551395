"""Worked solutions of a x b by each heuristic, step by step, with slips made at a known rate.

A worked solution is a few written lines in the words the trace classifier reads (traces.TRACE_CUES):
columnar multiplication (OT) multiplies digit by digit with carries, then adds the shifted rows;
distributive decomposition (DD) breaks one factor into its place-value parts, multiplies each, adds the
partial products; rounding and compensation (RC) moves both factors to the round base of the RC cost
model, multiplies there and compensates for the offsets. Each step holds a number of elementary
operations (its weight): one digit product in OT, one digit of the other factor per part in DD, one
digit of the offsets in RC, one per addition. `step_count` is their sum.

A `Hand` slips at each elementary operation with probability p: a slipped digit, a carry slip, a
misaligned partial product, a sign slip. Every slip moves the final result up, never down, so slips
never cancel: the answer is right exactly when no operation slipped, with probability
(1 - p) ** step_count(a, b, heuristic). That is the known truth the executors (harness/executor.py)
give the board's per-step error to recover.

>>> solution = solve(47, 36, "DD")
>>> print(solution.text)
Break 47 into 40 + 7.
Partial products: 40 x 36 = 1440 and 7 x 36 = 252.
Add the partial products: 1440 + 252 = 1692.
Final Answer: 1692
>>> solution.steps, step_count(47, 36, "OT"), step_count(47, 36, "RC")
(5, 5, 7)
>>> solution.direct  # the direct regime's response: the same answer, no working
'Final Answer: 1692'
>>> solve(47, 36, "OT", Hand(1.0, seed=3)).answer > 47 * 36
True
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from dataset_builder.numbers import SCALES
from dataset_builder.probe.costs import HEURISTICS, bases, length, nonzero, place_parts, rc_cost_at
from dataset_builder.prompts import final_answer


def place_name(place: int) -> str:
    """The name of a digit's place, counted from the ones (0), in the short scale of the number words.

    >>> [place_name(k) for k in (0, 1, 2, 3, 5, 9, 29)]
    ['ones', 'tens', 'hundreds', 'thousands', 'hundred thousands', 'billions', 'hundred octillions']
    """
    group, within = divmod(place, 3)
    if group == 0:
        return ("ones", "tens", "hundreds")[within]
    return ("", "ten ", "hundred ")[within] + SCALES[group] + "s"


SLIPS = ("slipped digit", "carry slip", "misaligned partial product", "sign slip")
"""The kinds of slip a Hand makes; each raises the final result."""


class Hand:
    """Who carries out the steps: slips at each elementary operation with probability `step_error`, drawn
    from its own seeded generator; counts the operations it did and records the slips it made."""

    def __init__(self, step_error: float = 0.0, seed: int | str = 0) -> None:
        if not 0.0 <= step_error <= 1.0:
            raise ValueError(f"a step error is a probability from 0 to 1, got {step_error}")
        self.step_error = step_error
        self.rng = random.Random(seed)
        self.steps = 0
        self.slips: list[str] = []

    def slip(self, weight: int, kinds: tuple[str, ...]) -> str | None:
        """One step of `weight` operations: the kind of slip made in it (one of `kinds`), or None."""
        self.steps += weight
        if self.step_error == 0.0 or self.rng.random() >= 1.0 - (1.0 - self.step_error) ** weight:
            return None
        kind = self.rng.choice(kinds)
        self.slips.append(kind)
        return kind


@dataclass(frozen=True)
class Solution:
    """A worked solution: its heuristic, its lines (the last one "Final Answer: N"), its answer, its step count
    and the slips made."""

    heuristic: str
    lines: tuple[str, ...]
    answer: int
    steps: int
    slips: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def direct(self) -> str:
        """The answer alone, as the direct regime asks: the product this solution reaches, its working (slips and
        all) done but not written, so a Hand is right with probability (1 - p) ** steps in both regimes."""
        return final_answer(self.answer)


def _unit(x: int) -> int:
    """One in the last significant place of x: 1440 -> 10 (a slipped digit there looks like a slip)."""
    x = abs(x)
    return 10 ** (len(str(x)) - len(str(x).rstrip("0"))) if x else 1


def _sum(hand: Hand, terms: list[int], lines: list[str], say: Callable[[int, int, int], str]) -> tuple[list[str], int]:
    """The terms added one by one, each addition written with `say(total, term, new)`; an addition may slip by
    one in the term's last significant place (a carry slip)."""
    total = terms[0]
    for term in terms[1:]:
        new = total + term + (_unit(term) if hand.slip(1, ("carry slip",)) else 0)
        lines.append(say(total, term, new))
        total = new
    return lines, total


def _columnar(a: int, b: int, hand: Hand) -> tuple[list[str], int]:
    top, bottom = (a, b) if length(a) >= length(b) else (b, a)
    lines = [f"Column method: multiply {top} by {bottom} digit by digit, carrying as needed."]
    rows = []
    for place, y in enumerate(int(d) for d in reversed(str(bottom))):
        carry, digits, said = 0, [], []
        for x in (int(d) for d in reversed(str(top))):
            value = x * y + carry
            kind = hand.slip(1, ("slipped digit", "carry slip"))
            value += kind == "slipped digit"
            plus = f" + {carry}" if carry else ""
            carry = value // 10 + (kind == "carry slip")
            said.append(f"{x} x {y}{plus} = {value}, write {value % 10}, carry {carry}")
            digits.append(value % 10)
        row = int(str(carry) + "".join(str(d) for d in reversed(digits)))
        rows.append(row)
        lines.append(f"Row for the {place_name(place)} place ({y}): {'; '.join(said)}; row {row}.")
    total = rows[0]
    for place, row in enumerate(rows[1:], start=1):
        kind = hand.slip(1, ("misaligned partial product", "carry slip") if row else ("carry slip",))
        shift = place + (kind == "misaligned partial product")
        shifted = row * 10**shift
        new = total + shifted + (10**place if kind == "carry slip" else 0)
        lines.append(f"Add the {place_name(place)} row, shifted {shift} column{'s' * (shift > 1)}: "
                     f"{total} + {shifted} = {new}.")  # fmt: skip
        total = new
    return lines, total


def _split(a: int, b: int) -> tuple[int, int]:
    """(factor to break, other): the orientation of fewer operations, the first factor on a tie."""
    return min((a, b), (b, a), key=lambda pair: nonzero(pair[0]) * length(pair[1]) + nonzero(pair[0]))


def _decomposition(a: int, b: int, hand: Hand) -> tuple[list[str], int]:
    factor, other = _split(a, b)
    parts = place_parts(factor)
    lines = [f"Break {factor} into {' + '.join(map(str, parts))}." if len(parts) > 1
             else f"Break {factor} into place-value parts: it is one part, {factor}."]  # fmt: skip
    products, said = [], []
    for part in parts:
        value = part * other
        kind = hand.slip(length(other), ("slipped digit", "misaligned partial product"))
        value = value * 10 if kind == "misaligned partial product" else value + (_unit(value) if kind else 0)
        products.append(value)
        said.append(f"{part} x {other} = {value}")
    lines.append(f"Partial product{'s' * (len(parts) > 1)}: {' and '.join(said)}.")
    return _sum(
        hand, products, lines, lambda total, value, new: f"Add the partial products: {total} + {value} = {new}."
    )


def rc_base(a: int, b: int) -> int:
    """The round base of the RC cost model for a x b (the smaller on a tie)."""
    return min(bases(), key=lambda base: (rc_cost_at(a, b, base), base))


def _offset_term(hand: Hand, value: int, weight: int) -> int:
    """A compensation term, which may slip upwards: a positive one by a digit or a place, a negative one by
    a digit towards zero or by its sign (added where it is subtracted)."""
    if value > 0:
        kind = hand.slip(weight, ("slipped digit", "misaligned partial product"))
        return value * 10 if kind == "misaligned partial product" else value + (_unit(value) if kind else 0)
    kind = hand.slip(weight, ("slipped digit", "sign slip"))
    return -value if kind == "sign slip" else value + (_unit(value) if kind else 0)


def _signed(x: int) -> str:
    return f"({x})" if x < 0 else str(x)


def _rounding(a: int, b: int, hand: Hand) -> tuple[list[str], int]:
    base = rc_base(a, b)
    oa, ob = a - base, b - base

    def offset(x: int, o: int) -> str:
        return f"{x} = {base}" if o == 0 else f"{x} = {base} {'+-'[o < 0]} {abs(o)}"

    lines = [f"Round both factors to {base}: {offset(a, oa)} and {offset(b, ob)}."]
    kind = hand.slip(1, ("misaligned partial product", "slipped digit"))
    square = base * base
    square = square * 10 if kind == "misaligned partial product" else square + (_unit(square) if kind else 0)
    lines.append(f"Base product: {base} x {base} = {square}.")
    terms = [square]
    if oa + ob:
        term = _offset_term(hand, base * (oa + ob), length(oa + ob))
        lines.append(f"Adjust for the sum of the offsets: {base} x {_signed(oa + ob)} = {term}.")
        terms.append(term)
    if oa and ob:
        term = _offset_term(hand, oa * ob, length(oa) * length(ob))
        lines.append(f"Compensate with the product of the offsets: {_signed(oa)} x {_signed(ob)} = {term}.")
        terms.append(term)
    return _sum(hand, terms, lines, lambda total, term, new: f"Combine: {total} {'+-'[term < 0]} {abs(term)} = {new}.")


PROCEDURES: dict[str, Callable[[int, int, Hand], tuple[list[str], int]]] = {
    "OT": _columnar,
    "DD": _decomposition,
    "RC": _rounding,
}


def solve(a: int, b: int, heuristic: str, hand: Hand | None = None) -> Solution:
    """The worked solution of a x b by `heuristic`, carried out by `hand` (exactly, without one)."""
    if heuristic not in PROCEDURES:
        raise ValueError(f"unknown heuristic {heuristic!r}: one of {', '.join(HEURISTICS)}")
    if a < 1 or b < 1:
        raise ValueError(f"a worked solution multiplies positive integers, got {a} x {b}")
    hand = hand or Hand()
    lines, answer = PROCEDURES[heuristic](a, b, hand)
    return Solution(heuristic, (*lines, final_answer(answer)), answer, hand.steps, tuple(hand.slips))


def step_count(a: int, b: int, heuristic: str) -> int:
    """The elementary operations of `heuristic` on a x b: a Hand with step error p is right with probability
    (1 - p) ** step_count."""
    return solve(a, b, heuristic).steps
