"""What a submitter may type: model, family and submitter names, a link, a parameter count.

Names follow Hub ids: letters, digits, space and ._-/:+() only, 1 to 100 characters, at least
one letter or digit. That leaves no room for markup, formulas that start with =, control or
invisible characters; every place that shows a name still escapes it (display/formatting.py), and the CSV
guards cells that a spreadsheet would read as a formula.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

NAME_CHARACTERS = "letters, digits, space and ._-/:+()"
MAX_NAME = 100
NAME = re.compile(rf"[A-Za-z0-9 ._\-/:+()]{{1,{MAX_NAME}}}")
NAME_RULE = f"{NAME_CHARACTERS} only, 1 to {MAX_NAME} characters"
"""The rule a name breaks, as the form and its refusals state it."""
MAX_LINK = 300
MAX_PARAMS_B = 100_000.0
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InvalidField(ValueError):
    """A form field that breaks its rule; the message names the field and the rule."""


def check_name(value: str | None, field: str) -> str:
    """A model, family or submitter name, trimmed; refused with the rule when it breaks it.

    >>> check_name("  Qwen/Qwen2.5-VL-7B-Instruct ", "model")
    'Qwen/Qwen2.5-VL-7B-Instruct'
    >>> check_name("<b>x</b>", "family")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mmmult.leaderboard.intake.names.InvalidField: family: use letters, digits, space and ._-/:+() only, ...
    """
    text = (value or "").strip()
    if not text:
        raise InvalidField(f"{field}: please fill it in")
    if not NAME.fullmatch(text) or not any(c.isalnum() for c in text):
        raise InvalidField(f"{field}: use {NAME_RULE}")
    return text


def check_link(value: str | None) -> str | None:
    """An optional http(s) link to the model or run; None when left empty."""
    text = (value or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if (
        len(text) > MAX_LINK
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() or not c.isprintable() for c in text)
    ):
        raise InvalidField(f"link: an http:// or https:// address of at most {MAX_LINK} characters, or nothing")
    return text


def check_params(value: str | float | None) -> float | None:
    """Parameters in billions, or None when unknown (never 0 for unknown)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidField(f"parameters: a number of billions such as 7 or 0.5, or nothing; got {value!r}") from None
    if not math.isfinite(number) or not 0 < number <= MAX_PARAMS_B:
        raise InvalidField(f"parameters: more than 0 and at most {MAX_PARAMS_B:,.0f} billion, or nothing")
    return number


MAX_SEED = 2**32


def check_seed(value: str | int | None) -> int | None:
    """The seed of a fresh draw a run was evaluated on (mmmult build --seed S), or None for the published one."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if not text.isdigit() or not text.isascii() or int(text) >= MAX_SEED:
        raise InvalidField(f"seed: a whole number from 0 to {MAX_SEED - 1} (mmmult build --seed), or nothing")
    return int(text)


def csv_cell(value: object) -> object:
    """A value safe to put in a CSV a spreadsheet opens: text that starts a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
