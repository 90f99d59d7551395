"""The model's final integer in free text: one extractor for the lm-eval tasks and the Space.

Rules, in order; the first that finds a number wins:

1. an explicit "Final Answer:" (the last one);
2. the last ``\\boxed{...}``;
3. the last "the answer / product / result is ...";
4. the last number anywhere (numerals first; number words when the text has no numerals), before
   a closing check ("Let me double check: 56088 / 456 = 123"): a check restates an operand, so
   its numbers are not the answer.

Inside the text that rules 1-3 point at, an "= x" chain or an inner "is" leads to its last
link, and the first number there is the answer. Numbers are read exactly (Python ints, never
floats) with thousands separators ("1,234,567", "1 234 567", "1.234.567"), LaTeX and markdown
wrappers, and number words in any common style ("eight million four thousand four", "six
hundred and ninety-one", "99 million eighty-eight thousand"). A number with a non-zero
fractional part is not an integer answer, nor is a numeral of more than MAX_ANSWER_DIGITS digits
(a product has at most 60, in the extended set): either is scored as no answer, never an error. The true answer is never
consulted.

>>> extract_answer("47 x 36 = 1692\\n\\nFinal Answer: 1,692")
1692
>>> extract_answer("The product is eight million four thousand four.")
8004004
>>> extract_answer("I cannot help with that.") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dataset_builder.numbers import ONES, SCALES, TENS, int_to_words, words_to_int

_SPACE = "[ \u00a0\u2009\u202f]"
NUMERAL = re.compile(
    r"(?<![\w.])(?P<sign>[-\u2212])?(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d{1,3}(?:" + _SPACE + r"\d{3})+(?!\d)"
    r"|\d{1,3}(?:\.\d{3}){2,}(?![\d.])|\d+)(?P<frac>\.\d+)?(?!\d)"
)
_SCALE_WORDS = {s for s in SCALES if s} | {"hundred"}
_WORD_VALUES = set(ONES) | (set(TENS) - {"_"}) | _SCALE_WORDS
TOKEN = re.compile(NUMERAL.pattern + r"|(?P<word>[A-Za-z]+)|(?P<comma>,)")
FINAL_ANSWER = re.compile(r"final\s+answer\s*(?:is)?\s*[:\uff1a]?", re.IGNORECASE)
ANSWER_IS = re.compile(r"\b(?:answer|product|result)\b\s*(?:is|=|:|equals)", re.IGNORECASE)
BOXED = re.compile(r"\\boxed\s*\{")
CUT = re.compile(r"\(|\.\s|\bbecause\b|\bsince\b|;|\bwhich\b|\bas\s+(?:shown|computed|calculated)\b", re.IGNORECASE)
INNER_LINK = re.compile(r"=|\bis\b|\bequals\b", re.IGNORECASE)
CHECK = re.compile(r"\b(?:double[- ]?check|check(?:ing)?|verify(?:ing)?|verification)\b", re.IGNORECASE)
MAX_ANSWER_DIGITS = 80


@dataclass(frozen=True)
class Number:
    """A number found in text: its value (None when it is not an integer) and where it starts."""

    value: int | None
    start: int
    numeral: bool


def extract_answer(text: str | None) -> int | None:
    """The model's final integer answer, or None when it gave none."""
    if not text:
        return None
    text = clean(text)
    for segment in _marked_segments(text):
        number = _answer_in(segment)
        if number is not None:
            return number.value
    numbers = find_numbers(_before_check(text))
    numerals = [n for n in numbers if n.numeral]
    pool = numerals or numbers
    return pool[-1].value if pool else None


def _before_check(text: str) -> str:
    """The text up to the first check that follows a number ("... = 56088. Let me double check: ...").

    >>> _before_check("123 x 456 = 56088. Let me double check: 56088 / 456 = 123. Yes.")
    '123 x 456 = 56088. Let me '
    """
    for check in CHECK.finditer(text):
        if find_numbers(text[: check.start()]):
            return text[: check.start()]
    return text


def clean(text: str) -> str:
    """Drop markdown and LaTeX wrappers that sit between a model and its number."""
    text = text.replace("{,}", ",").replace("\\,", ",").replace("\\!", "").replace("\\ ", " ")
    text = re.sub(r"\\(?:text|mathrm|mathbf|textbf)\s*\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\(?:times|cdot)", " x ", text)
    text = re.sub(r"[*_`$]|\\[()\[\]]", " ", text)
    return text


def _marked_segments(text: str) -> list[str]:
    """Text after the last "Final Answer", inside the last \\boxed{}, after the last "answer is"."""
    segments = []
    finals = list(FINAL_ANSWER.finditer(text))
    if finals:
        segments.append(_rest_of_line(text, finals[-1].end()))
    boxes = list(BOXED.finditer(text))
    if boxes:
        segments.append(_braced(text, boxes[-1].end()))
    answers = list(ANSWER_IS.finditer(text))
    if answers:
        segments.append(_rest_of_line(text, answers[-1].end()))
    return segments


def _rest_of_line(text: str, start: int) -> str:
    rest = text[start:].lstrip(" \t:")
    lines = [line for line in rest.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _braced(text: str, start: int) -> str:
    depth = 1
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return text[start:]


def _answer_in(segment: str) -> Number | None:
    """The answer inside a marked segment: the first number after its last '=' or 'is'."""
    boxes = list(BOXED.finditer(segment))
    if boxes:
        segment = _braced(segment, boxes[-1].end())
    cut = CUT.search(segment)
    if cut and find_numbers(segment[: cut.start()]):
        segment = segment[: cut.start()]
    links = list(INNER_LINK.finditer(segment))
    if links and find_numbers(segment[links[-1].end() :]):
        segment = segment[links[-1].end() :]
    numbers = find_numbers(segment)
    return numbers[0] if numbers else None


def find_numbers(text: str) -> list[Number]:
    """Every number in the text, numerals and number-word phrases, in order of position."""
    found: list[Number] = []
    phrase: list[tuple[str, int, bool]] = []  # (token as words, start, is numeral)

    def close_phrase() -> None:
        if phrase:
            found.extend(_phrase_numbers(phrase))
            phrase.clear()

    tokens = list(TOKEN.finditer(text))
    for i, match in enumerate(tokens):
        gap = text[tokens[i - 1].end() : match.start()] if i else ""
        if gap.strip(" -\u2010\u2011"):
            close_phrase()
        if match.group("int"):
            value = _numeral_value(match)
            after_scale = bool(phrase) and phrase[-1][0] in _SCALE_WORDS
            if value is not None and 0 <= value < 1000 and (after_scale or _next_is_scale(tokens, i)):
                if not after_scale:
                    close_phrase()
                phrase.append((int_to_words(value), match.start(), True))
            else:
                close_phrase()
                found.append(Number(value, match.start(), True))
        elif match.group("word"):
            word = match.group("word").lower()
            if word in _WORD_VALUES:
                phrase.append((word, match.start(), False))
            elif word == "and" and phrase and _next_is_word_number(tokens, i):
                continue
            elif word == "a" and _next_is_scale(tokens, i):
                close_phrase()
                phrase.append(("one", match.start(), False))
            else:
                close_phrase()
        elif match.group("comma") and not (phrase and phrase[-1][0] in _SCALE_WORDS):
            close_phrase()
    close_phrase()
    return sorted(found, key=lambda n: n.start)


def _numeral_value(match: re.Match[str]) -> int | None:
    """The integer a numeral writes; None for a non-zero fraction or more than MAX_ANSWER_DIGITS digits."""
    digits = re.sub(r"\D", "", match.group("int"))
    frac = match.group("frac")
    if (frac and frac.strip(".0")) or len(digits) > MAX_ANSWER_DIGITS:
        return None
    value = int(digits)
    return -value if match.group("sign") else value


def _next_is_scale(tokens: list[re.Match[str]], i: int) -> bool:
    return i + 1 < len(tokens) and (tokens[i + 1].group("word") or "").lower() in _SCALE_WORDS


def _next_is_word_number(tokens: list[re.Match[str]], i: int) -> bool:
    if i + 1 >= len(tokens):
        return False
    following = tokens[i + 1]
    return (following.group("word") or "").lower() in _WORD_VALUES or bool(following.group("int"))


def _phrase_numbers(phrase: list[tuple[str, int, bool]]) -> list[Number]:
    """A run of number words (and small numerals before scales) as one number, else word by word."""
    contains_numeral = any(numeral for _, _, numeral in phrase)
    try:
        return [Number(words_to_int(" ".join(w for w, _, _ in phrase)), phrase[0][1], contains_numeral)]
    except ValueError:
        if len(phrase) == 1:
            return []
        out = []
        for word, start, numeral in phrase:
            if word not in _SCALE_WORDS:
                out.append(Number(words_to_int(word), start, numeral))
        return out


NUMBERS_MARKER = re.compile(r"numbers?\s*[:\uff1a]", re.IGNORECASE)


def extract_operands(text: str | None) -> tuple[int | None, int | None]:
    """The two numbers a model transcribed, for the perception tasks ("Numbers: A, B").

    The first two numbers after the last "Numbers:" marker; without a marker, the last two
    numbers of the text. A missing number is None.

    >>> extract_operands("Numbers: 8004004, 500")
    (8004004, 500)
    >>> extract_operands("Numbers: eight million four thousand four, five hundred")
    (8004004, 500)
    """
    if not text:
        return None, None
    text = clean(text)
    markers = list(NUMBERS_MARKER.finditer(text))
    numbers = find_numbers(_rest_of_line(text, markers[-1].end()))[:2] if markers else find_numbers(text)[-2:]
    values = [n.value for n in numbers] + [None, None]
    return values[0], values[1]


def operands_text(read: tuple[int | None, int | None]) -> str:
    """A transcription as the perception tasks log it: 'A,B', an operand not read left empty.

    >>> operands_text((8004004, None))
    '8004004,'
    """
    return ",".join("" if v is None else str(v) for v in read)


def parse_operands_text(text: str) -> tuple[int | None, int | None]:
    """The inverse of :func:`operands_text`.

    >>> parse_operands_text("8004004,")
    (8004004, None)
    """
    first, second = (int(v) if v else None for v in text.split(","))
    return first, second
