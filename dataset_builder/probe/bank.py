"""The prefix bank of the forced-completion probe: how a model might begin to solve any product.

Four paraphrases per heuristic and a neutral one, each "<method>: <generic action>", 9 or 10 words,
with no number in them, so that the same bank fits every item. A model that finds the prefixes of
one heuristic likelier (lower loss) than the others is predisposed to that procedure.
`check_bank` holds the bank to that (tests/test_probe.py runs it).
"""

from __future__ import annotations

import re

from dataset_builder.numbers import ONES, SCALES, TENS

PREFIXES: dict[str, tuple[str, ...]] = {
    "OT": (
        "Column method: multiply digit by digit and carry over.",
        "Standard algorithm: work through each column, carrying as needed.",
        "Schoolbook multiplication: line up the columns and carry each digit.",
        "Digit by digit: multiply each column and carry the overflow.",
    ),
    "DD": (
        "Decomposition: break a factor into parts and multiply each.",
        "Partial products: split a factor by place value, then add.",
        "Distributive method: expand a factor into parts and sum them.",
        "Split and combine: separate each part, multiply, then add together.",
    ),
    "RC": (
        "Round and adjust: use a nearby round figure, then correct.",
        "Base approximation: round to a convenient base, then adjust it.",
        "Compensation method: round a factor, then compensate for the difference.",
        "Near-base strategy: work from a close round base, then adjust.",
    ),
    "neutral": ("Let me solve this step by step, carefully and clearly.",),
}
CUES: dict[str, tuple[str, ...]] = {
    "OT": ("column", "digit", "carry", "carrying", "standard algorithm", "schoolbook"),
    "DD": ("decompos", "break", "part", "distributive", "split", "expand"),
    "RC": ("round", "adjust", "base", "compensat", "near", "approximat"),
}
MAX_WORD_SPREAD = 3
NUMBER_WORDS = {w for w in (*ONES, *TENS, *SCALES, "hundred") if w and w != "_"}


def cues_in(text: str, heuristic: str) -> list[str]:
    """The cue words of `heuristic` that `text` holds (as word starts, any case)."""
    lowered = text.lower()
    return [cue for cue in CUES[heuristic] if re.search(rf"\b{re.escape(cue)}", lowered)]


def words(text: str) -> int:
    return len(text.split())


def check_bank(bank: dict[str, tuple[str, ...]] = PREFIXES) -> list[str]:
    """What is wrong with a bank (empty when nothing): cues, numbers, counts and the spread of lengths."""
    problems = []
    for heuristic, prefixes in bank.items():
        if heuristic != "neutral" and len(prefixes) < 4:
            problems.append(f"{heuristic} has {len(prefixes)} prefixes; at least 4 are needed")
        for prefix in prefixes:
            tokens = set(re.findall(r"[a-z]+", prefix.lower()))
            if re.search(r"\d", prefix) or tokens & NUMBER_WORDS:
                problems.append(f"{prefix!r} holds a number")
            for other in CUES:
                found = cues_in(prefix, other)
                if other == heuristic and not found:
                    problems.append(f"{prefix!r} names no cue of {heuristic}")
                if other != heuristic and found:
                    problems.append(f"{prefix!r} holds {other} cues {found}")
    lengths = [words(p) for prefixes in bank.values() for p in prefixes]
    if max(lengths) - min(lengths) > MAX_WORD_SPREAD:
        problems.append(f"lengths run from {min(lengths)} to {max(lengths)} words; at most {MAX_WORD_SPREAD} apart")
    return problems
