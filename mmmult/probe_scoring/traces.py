"""Reading a worked answer: which procedure its words follow, and what shape a wrong product has.

>>> trace_class("Break 47 into 40 + 7. Partial products: 40 x 36 = 1440 and 7 x 36 = 252.")
'DD'
>>> trace_class("The answer is 1692.")
'unknown'
>>> error_shape(47, 36, 1692 - 100)
'power of ten'
>>> error_shape(47, 36, 1692 - 252)
'partial product'
"""

from __future__ import annotations

import re

from dataset_builder.probe.costs import place_parts
from dataset_builder.probe.steps import nearest_base

TRACE_CUES: dict[str, tuple[str, ...]] = {
    "OT": ("carry", "ones place", "tens place", "column", "digit by digit"),
    "DD": ("decompose", "break into", "break", "distributive", "partial product"),
    "RC": ("round", "compensat", "close to", "adjust", "difference of squares"),
}
ERROR_SHAPES = ("power of ten", "partial product", "base", "offset", "sign", "other")


def cue_counts(text: str) -> dict[str, int]:
    """How often each heuristic's cues appear in the text (any case, as word starts)."""
    lowered = text.lower()
    return {h: sum(len(re.findall(rf"\b{re.escape(c)}", lowered)) for c in cues) for h, cues in TRACE_CUES.items()}


def trace_class(text: str | None) -> str:
    """The heuristic whose cues the trace names most (the first of OT, DD, RC on a tie), or "unknown"."""
    counts = cue_counts(text or "")
    best = max(counts, key=lambda h: counts[h])
    return best if counts[best] else "unknown"


def error_shape(a: int, b: int, answer: int) -> str:
    """How a wrong answer differs from a x b: by 10^k or 9 x 10^k (a lost carry), by one partial product
    (a dropped term), by the round base, by the compensation's offset term, or by twice it (a sign slip)."""
    diff = abs(answer - a * b)
    if diff == 0:
        return "none"
    if re.fullmatch(r"[19]0*", str(diff)):
        return "power of ten"
    if any(diff == part * other for x, other in ((a, b), (b, a)) for part in place_parts(x)):
        return "partial product"
    for near, other in ((a, b), (b, a)):
        base = nearest_base(near)
        offset = abs(base - near) * other
        if diff in (base, base * other):
            return "base"
        if offset and diff == offset:
            return "offset"
        if offset and diff == 2 * offset:
            return "sign"
    return "other"
