"""The one question sentence that every modality of a problem carries.

>>> stimulus(8004004, 500, "numerals")
'What is 8004004 times 500?'
>>> stimulus(8004004, 500, "words")
'What is eight million four thousand four times five hundred?'
>>> stimulus(47, 36, "digits")
'What is four seven times three six?'
"""

from __future__ import annotations

from collections.abc import Callable

from .numbers import digits_to_words, int_to_words

WRITERS: dict[str, Callable[[int], str]] = {
    "numerals": str,
    "words": int_to_words,
    "digits": digits_to_words,
}
REPRESENTATIONS: tuple[str, ...] = tuple(WRITERS)
QUESTION = "What is {a} times {b}?"


def write_operand(n: int, representation: str) -> str:
    """One operand as the representation writes it."""
    try:
        writer = WRITERS[representation]
    except KeyError:
        raise ValueError(f"unknown representation {representation!r}; known: {', '.join(REPRESENTATIONS)}") from None
    return writer(n)


def stimulus(a: int, b: int, representation: str) -> str:
    """The question sentence for a x b in one representation."""
    return QUESTION.format(a=write_operand(a, representation), b=write_operand(b, representation))
