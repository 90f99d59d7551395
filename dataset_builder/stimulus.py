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

from dataset_builder.numbers import ONES, digits_to_words, int_to_words, words_to_int
from dataset_builder.problems import MAX_DIGITS

WRITERS: dict[str, Callable[[int], str]] = {
    "numerals": str,
    "words": int_to_words,
    "digits": digits_to_words,
}
QUESTION = "What is {a} times {b}?"
DIGIT_WORDS = {word: digit for digit, word in enumerate(ONES[:10])}


def write_operand(n: int, representation: str) -> str:
    """One operand as the representation writes it."""
    try:
        writer = WRITERS[representation]
    except KeyError:
        raise ValueError(f"unknown representation {representation!r}; known: {', '.join(WRITERS)}") from None
    return writer(n)


def stimulus(a: int, b: int, representation: str) -> str:
    """The question sentence for a x b in one representation."""
    return QUESTION.format(a=write_operand(a, representation), b=write_operand(b, representation))


QUESTION_PATTERN = re.compile(r"\bwhat is (?P<a>.+?) times? (?P<b>.+)", re.IGNORECASE | re.DOTALL)


def read_operand(text: str) -> int:
    """An operand as any representation writes it, or as a reader (OCR, ASR) hands it back:
    '8004004', '8,004,004', 'eight million four thousand four', or digit by digit
    'eight zero zero four zero zero four' / '8 0 0 4 0 0 4'.

    >>> read_operand("four seven")
    47
    >>> read_operand("8,004,004")
    8004004
    >>> read_operand("7588937494823 7079227243917166")
    75889374948237079227243917166
    """
    tokens = re.findall(r"[a-z]+|\d+", text.lower())
    if tokens and all(t.isdigit() for t in tokens) and (len(tokens) == 1 or _grouped(text) or _spaced(text)):
        return int("".join(tokens))
    if len(tokens) > 1 and all(t in DIGIT_WORDS or (t.isdigit() and len(t) == 1) for t in tokens):
        return int("".join(str(DIGIT_WORDS.get(t, t)) for t in tokens))
    return words_to_int(text)


def _spaced(text: str) -> bool:
    """A numeral longer than the base set's operands split by spaces alone, as tesseract splits about 3 in 100
    numerals of 25 to 30 digits: read as the number it split. Short runs ('47 36') stay refused: a reader does not
    split those, so they are more likely two numbers in one slot than one.

    >>> _spaced("7588937494823 7079227243917166"), _spaced("47 36"), _spaced("12, 34")
    (True, False, False)
    """
    spaced = re.fullmatch(r"\s*\d+(?:\s+\d+)+\s*", text) is not None
    return spaced and sum(c.isdigit() for c in text) > MAX_DIGITS


def _grouped(text: str) -> bool:
    """Digits in thousands groups: 8,004,004 or 8 004 004."""
    return re.fullmatch(r"\s*\d{1,3}(?:[, ]\d{3})+\s*", text) is not None


def parse_stimulus(sentence: str) -> tuple[int, int]:
    """The operands of a stimulus sentence, the inverse of :func:`stimulus` for every representation.

    Tolerates what OCR and speech recognisers do to the sentence: lost or extra punctuation,
    "time" for "times", commas between digits.

    >>> parse_stimulus("What is eight million four thousand four times five hundred?")
    (8004004, 500)
    >>> parse_stimulus("What is seven, two, four time one zero.")
    (724, 10)
    """
    match = QUESTION_PATTERN.search(re.sub(r"[?!;:]|\.(?!\d)", " ", sentence))
    if match is None:
        raise ValueError(f"not a stimulus sentence: {sentence!r}")
    return read_operand(match.group("a").strip()), read_operand(match.group("b").strip())
