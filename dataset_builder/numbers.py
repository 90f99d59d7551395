"""Integers as standard American English number words, and back.

The style is the one a careful American speaker reads aloud and the one espeak-ng speaks:
no "and", hyphenated tens, no commas, short-scale names up to the novemdecillions (10**60), so that
every operand of up to 30 digits and every product of two of them has words.

>>> int_to_words(8004004)
'eight million four thousand four'
>>> int_to_words(691)
'six hundred ninety-one'
>>> words_to_int('eight million four thousand four')
8004004
"""

from __future__ import annotations

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = (
    "", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion", "sextillion", "septillion",
    "octillion", "nonillion", "decillion", "undecillion", "duodecillion", "tredecillion", "quattuordecillion",
    "quindecillion", "sexdecillion", "septendecillion", "octodecillion", "novemdecillion",
)  # fmt: skip
"""The short scale: SCALES[k] names 1000**k."""
LIMIT = 1000 ** len(SCALES)
"""Every non-negative integer below LIMIT (10**63) has words; products of two 30-digit operands stay below 10**60."""

_UNITS = {word: value for value, word in enumerate(ONES)}
_TENS = {word: 10 * value for value, word in enumerate(TENS) if word != "_"}
_SCALE_VALUES = {word: 1000**power for power, word in enumerate(SCALES) if word}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(TENS[tens] + (f"-{ONES[units]}" if units else ""))
    elif rest:
        words.append(ONES[rest])
    return words


def int_to_words(n: int) -> str:
    """Spell a non-negative integer below LIMIT (10**63).

    >>> int_to_words(0)
    'zero'
    >>> int_to_words(999999998000000001)
    'nine hundred ninety-nine quadrillion nine hundred ninety-nine trillion nine hundred ninety-eight billion one'
    >>> int_to_words(4 * 10**29 + 7 * 10**27 + 16)
    'four hundred seven octillion sixteen'
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < LIMIT:
        raise ValueError(f"int_to_words takes an integer in [0, 10**63), got {n!r}")
    if n == 0:
        return "zero"
    words: list[str] = []
    for power in range(len(SCALES) - 1, -1, -1):
        group, n = divmod(n, 1000**power)
        if group:
            words += _below_thousand(group) + ([SCALES[power]] if power else [])
    return " ".join(words)


def digits_to_words(n: int) -> str:
    """Spell an integer digit by digit: 8004004 -> 'eight zero zero four zero zero four'.

    >>> digits_to_words(500)
    'five zero zero'
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"digits_to_words takes a non-negative integer, got {n!r}")
    return " ".join(ONES[int(d)] for d in str(n))


def words_to_int(text: str) -> int:
    """Read number words written in the style of :func:`int_to_words` back as an integer.

    Tolerates what people and models add around that style: "and", commas, hyphens or spaces
    between tens and units, any letter case. Raises ValueError on anything that is not a
    well-formed number (a scale out of order, two units in a row, an unknown word).

    >>> words_to_int('Six hundred and ninety one')
    691
    >>> words_to_int('nine hundred ninety-nine quadrillion one')
    999000000000000001
    """
    tokens = [t for t in text.lower().replace(",", " ").replace("-", " ").split() if t != "and"]
    if not tokens:
        raise ValueError("no number words found")
    total, group = 0, None
    last_scale = LIMIT
    state = "start"  # what the previous token was: start, unit, teen, tens, hundred, scale
    for token in tokens:
        if token in _UNITS:
            value = _UNITS[token]
            if state in ("unit", "teen") or (state == "tens" and value >= 10):
                raise ValueError(f"unexpected {token!r} after a number word in {text!r}")
            if value == 0 and (state != "start" or len(tokens) > 1):
                raise ValueError(f"'zero' cannot be part of a longer number in {text!r}")
            group = (group or 0) + value
            state = "teen" if value >= 10 else "unit"
        elif token in _TENS:
            if state in ("unit", "teen", "tens"):
                raise ValueError(f"unexpected {token!r} in {text!r}")
            group = (group or 0) + _TENS[token]
            state = "tens"
        elif token == "hundred":
            if state not in ("unit", "teen", "tens") or group is None or group >= 100:
                raise ValueError(f"'hundred' must follow a number below one hundred in {text!r}")
            group *= 100
            state = "hundred"
        elif token in _SCALE_VALUES:
            scale = _SCALE_VALUES[token]
            if group is None or group >= 1000 or scale >= last_scale:
                raise ValueError(f"scale word {token!r} out of place in {text!r}")
            total += group * scale
            group, last_scale, state = None, scale, "scale"
        else:
            raise ValueError(f"{token!r} is not a number word (in {text!r})")
    return total + (group or 0)
