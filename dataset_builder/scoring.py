"""Scoring one model response against one problem: the metrics the tasks report and the Space re-computes.

exact_match is 1 when the extracted integer equals the product. digit_match is NUPA-style
partial credit: the share of digit positions, aligned from the right, where the answer's digit
equals the product's, over the longer of the two lengths (0 without an answer); a minus sign is
one more position, which never matches, since every product is positive. length_error is
the absolute difference in digit count (the product's length without an answer).

>>> score_response("Final Answer: 1692", 1692)["exact_match"]
1
>>> score_response("Final Answer: 1682", 1692)["digit_match"]
0.75
"""

from __future__ import annotations

from dataset_builder.answers import extract_answer
from dataset_builder.problems import ALL_BANDS, C_BANDS, EXTENDED_MAX_DIGITS, MAX_C, MAX_DIGITS, band_of

DIGIT_TOTALS: tuple[int, ...] = tuple(range(2, 2 * MAX_DIGITS + 1))
SCORES: tuple[str, ...] = ("exact_match", "digit_match", "length_error")
LOWER_IS_BETTER = frozenset({"length_error"})


def c_band_metric(C: int) -> str:
    """Name of the accuracy metric of the C band that holds C: c_band_metric(40) == 'acc_C_26_50'; the extended
    set's bands too: c_band_metric(400) == 'acc_C_325_625'."""
    low, high = band_of(C, ALL_BANDS)
    return f"acc_C_{low}_{high}"


def digit_total_metric(digit_total: int) -> str:
    return f"acc_digits_{digit_total}"


BAND_METRICS: tuple[str, ...] = tuple(c_band_metric(low) for low, _ in C_BANDS) + tuple(
    digit_total_metric(d) for d in DIGIT_TOTALS
)
METRICS: tuple[str, ...] = SCORES + BAND_METRICS
EXTENDED_BAND_METRICS: tuple[str, ...] = tuple(c_band_metric(low) for low, _ in ALL_BANDS) + tuple(
    digit_total_metric(d) for d in range(2, 2 * EXTENDED_MAX_DIGITS + 1)
)
"""The band metrics of the extended set's tasks: every C band, the base set's and the extended ones, and every
digit total up to 60 (a CSV of the extended set may hold problems of any C)."""


def digit_match(answer: int | None, product: int) -> float:
    if answer is None:
        return 0.0
    got, want = str(answer), str(product)
    width = max(len(got), len(want))
    same = sum(g == w for g, w in zip(got.rjust(width), want.rjust(width), strict=True))
    return same / width


def length_error(answer: int | None, product: int) -> int:
    return len(str(product)) if answer is None else abs(len(str(abs(answer))) - len(str(product)))


def score_answer(answer: int | None, product: int) -> dict[str, float]:
    """exact_match, digit_match and length_error of an already extracted answer."""
    return {
        "exact_match": int(answer == product),
        "digit_match": digit_match(answer, product),
        "length_error": length_error(answer, product),
    }


def score_response(response: str | None, product: int) -> dict[str, float]:
    """Scores of a raw model response: extraction, then :func:`score_answer`."""
    return score_answer(extract_answer(response), product)


def response_length(response: str) -> int:
    """How long a response is: its characters, surrounding whitespace stripped. Not a score: it shows whether a
    model worked in the direct regime, where it was asked for the product alone. Characters rather than tokens,
    so that one number compares runs of every harness and tokenizer (a token count depends on the model's
    tokenizer, which an API does not always report), and the board computes it from the logged response alone.

    >>> response_length("  Final Answer: 1692\\n"), response_length("47 x 36 = 1692\\nFinal Answer: 1692")
    (18, 33)
    """
    return len(response.strip())


def band_scores(exact: int, C: int, digit_total: int) -> dict[str, int | None]:
    """Every band metric for one item: its correctness in its own bands, None in the others (the base set's
    metrics, or the extended set's for an item beyond the base set's C and digits)."""
    within_base = C <= MAX_C and digit_total <= 2 * MAX_DIGITS
    scores: dict[str, int | None] = dict.fromkeys(BAND_METRICS if within_base else EXTENDED_BAND_METRICS)
    scores[c_band_metric(C)] = exact
    scores[digit_total_metric(digit_total)] = exact
    return scores


PERCEPTION_METRICS: tuple[str, ...] = ("perceive_both", "perceive_a", "perceive_b")


def score_perception(read: tuple[int | None, int | None], a: int, b: int) -> dict[str, int]:
    """Whether a transcription reproduced each operand, and both, exactly (in order)."""
    return {
        "perceive_both": int(read == (a, b)),
        "perceive_a": int(read[0] == a),
        "perceive_b": int(read[1] == b),
    }
