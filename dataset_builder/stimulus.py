"""The one question sentence that every modality of a problem carries.

>>> stimulus(8004004, 500, "numerals")
'What is 8004004 times 500?'
>>> stimulus(8004004, 500, "words")
'What is eight million four thousand four times five hundred?'
>>> stimulus(47, 36, "digits")
'What is four seven times three six?'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .numbers import ONES, digits_to_words, int_to_words, words_to_int

WRITERS: dict[str, Callable[[int], str]] = {
    "numerals": str,
    "words": int_to_words,
    "digits": digits_to_words,
}
REPRESENTATIONS: tuple[str, ...] = tuple(WRITERS)
QUESTION = "What is {a} times {b}?"
DIGIT_WORDS = {word: digit for digit, word in enumerate(ONES[:10])}


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


QUESTION_PATTERN = re.compile(r"What is (?P<a>.+?) times (?P<b>.+?)\?", re.IGNORECASE | re.DOTALL)


def read_operand(text: str) -> int:
    """An operand as any representation writes it: '8004004', 'eight million four thousand four',
    or digit by digit 'eight zero zero four zero zero four'.

    >>> read_operand("four seven")
    47
    """
    text = " ".join(text.split())
    if text.isdigit():
        return int(text)
    words = text.lower().split()
    if len(words) > 1 and all(w in DIGIT_WORDS for w in words):
        return int("".join(str(DIGIT_WORDS[w]) for w in words))
    return words_to_int(text)


def parse_stimulus(sentence: str) -> tuple[int, int]:
    """The operands of a stimulus sentence, the inverse of :func:`stimulus` for every representation.

    >>> parse_stimulus("What is eight million four thousand four times five hundred?")
    (8004004, 500)
    """
    match = QUESTION_PATTERN.search(sentence)
    if match is None:
        raise ValueError(f"not a stimulus sentence: {sentence!r}")
    return read_operand(match.group("a")), read_operand(match.group("b"))
