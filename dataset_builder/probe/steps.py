"""The contrastive step probe: for each heuristic, the correct first step of a x b and wrong versions
in identical wording (only the numbers differ), by exact arithmetic.

>>> [s.text for s in first_steps(47, 36)["OT"][:2]]
['7 x 6 = 42, write 2, carry 4.', '7 x 6 = 41, write 1, carry 4.']
>>> first_steps(47, 36)["DD"][0].text, first_steps(47, 36)["DD"][3].text
('40 x 36 = 1440.', '40 x 36 = 144.')
>>> first_steps(47, 36)["RC"][0].text
'Round 47 to 50; the adjustment is 3 x 36 = 108.'
"""

from __future__ import annotations

from dataclasses import dataclass

from dataset_builder.probe.costs import bases


@dataclass(frozen=True)
class Step:
    """One first step, right or wrong, and the kind of slip a wrong one makes."""

    text: str
    correct: bool
    slip: str = ""


def _ot(a: int, b: int) -> list[Step]:
    x, y = a % 10, b % 10
    p = x * y

    def say(value: int) -> str:
        return f"{x} x {y} = {value}, write {value % 10}, carry {value // 10}."

    wrong = [(p - 1, "product off by one"), (p + 1, "product off by one"), (p + 10, "carry slip"),
             (p - 10 if p >= 10 else p + 20, "carry slip")]  # fmt: skip
    return [Step(say(p), True)] + [Step(say(v), False, slip) for v, slip in wrong if v >= 0 and v != p]


def _dd(a: int, b: int) -> list[Step]:
    big, other = (a, b) if a >= b else (b, a)
    head = int(str(big)[0]) * 10 ** (len(str(big)) - 1)
    p = head * other
    unit = 10 ** max(len(str(p)) - 3, 1)

    def say(value: int) -> str:
        return f"{head} x {other} = {value}."

    wrong = [(p - unit, "arithmetic slip"), (p + unit, "arithmetic slip"), (p // 10, "place-value slip"),
             (p * 10, "place-value slip")]  # fmt: skip
    return [Step(say(p), True)] + [Step(say(v), False, slip) for v, slip in wrong if v != p]


def nearest_base(x: int) -> int:
    """The round base closest to x (the smaller on a tie)."""
    return min(bases(), key=lambda base: (abs(base - x), base))


def _rc(a: int, b: int) -> list[Step]:
    near, other = (a, b) if abs(nearest_base(a) - a) <= abs(nearest_base(b) - b) else (b, a)
    base = nearest_base(near)
    offset = abs(base - near)

    def say(off: int, value: int) -> str:
        return f"Round {near} to {base}; the adjustment is {off} x {other} = {value}."

    p = offset * other
    wrong = [(offset, p - 1, "product off by one"), (offset, p + 1, "product off by one"),
             (offset + 1, (offset + 1) * other, "wrong compensation"),
             (offset - 1 if offset > 1 else offset + 2, (offset - 1 if offset > 1 else offset + 2) * other,
              "wrong compensation")]  # fmt: skip
    return [Step(say(offset, p), True)] + [Step(say(o, v), False, slip) for o, v, slip in wrong if 0 <= v != p]


def first_steps(a: int, b: int) -> dict[str, list[Step]]:
    """Per heuristic: the correct first step, then four wrong ones worded the same way."""
    return {"OT": _ot(a, b), "DD": _dd(a, b), "RC": _rc(a, b)}
