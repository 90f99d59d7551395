from __future__ import annotations

import random

import pytest

from dataset_builder.numbers import digits_to_words, int_to_words, words_to_int
from dataset_builder.problems import generate
from dataset_builder.stimulus import stimulus


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (691, "six hundred ninety-one"),
        (8004004, "eight million four thousand four"),
        (500, "five hundred"),
        (1000000000, "one billion"),
        (10**15 + 1, "one quadrillion one"),
        (
            10**18 - 1,
            "nine hundred ninety-nine quadrillion nine hundred ninety-nine trillion nine hundred "
            "ninety-nine billion nine hundred ninety-nine million nine hundred ninety-nine thousand nine hundred "
            "ninety-nine",
        ),
        (10**18, "one quintillion"),
        (10**29, "one hundred octillion"),
        (
            123_456_789_012_345_678_901_234_567_890,
            "one hundred twenty-three octillion four hundred fifty-six septillion seven hundred eighty-nine sextillion "
            "twelve quintillion three hundred forty-five quadrillion six hundred seventy-eight trillion nine hundred "
            "one billion two hundred thirty-four million five hundred sixty-seven thousand eight hundred ninety",
        ),
        (10**30 + 1, "one nonillion one"),
        (7 * 10**33 + 5 * 10**36, "five undecillion seven decillion"),
        (10**39 + 10**42 + 10**45, "one quattuordecillion one tredecillion one duodecillion"),
        (2 * 10**48 + 3 * 10**51, "three sexdecillion two quindecillion"),
        (10**54 + 10**57, "one octodecillion one septendecillion"),
        (10**63 - 10**60, "nine hundred ninety-nine novemdecillion"),
    ],
)
def test_words_in_standard_american_style(n: int, words: str) -> None:
    assert int_to_words(n) == words
    assert words_to_int(words) == n


def test_round_trip_of_every_operand_and_product_of_the_default_set() -> None:
    for p in generate():
        for n in (p.a, p.b, p.product):
            assert words_to_int(int_to_words(n)) == n


def test_round_trip_and_agreement_with_inflect_on_100000_random_integers() -> None:
    import inflect  # 3.7 s to import (typeguard instruments it): only the worker that runs this test pays

    rng = random.Random(2026)
    engine = inflect.engine()
    for i in range(100_000):
        n = rng.randrange(10 ** rng.randint(1, 18))
        words = int_to_words(n)
        assert words_to_int(words) == n
        if i % 20 == 0:  # an independent implementation of the same style, on a sample
            assert words == engine.number_to_words(n, andword="", comma="")


@pytest.mark.parametrize(
    ("text", "n"),
    [("Six hundred and ninety one", 691), ("eight million, four thousand and four", 8004004), ("twenty-one", 21)],
)
def test_words_to_int_tolerates_common_variants(text: str, n: int) -> None:
    assert words_to_int(text) == n


@pytest.mark.parametrize(
    "text",
    ["", "twenty thirty", "five four", "thousand", "one thousand one million", "seven apples", "zero one"],
)
def test_words_to_int_refuses_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError):
        words_to_int(text)


@pytest.mark.parametrize("bad", [-1, 10**63, 1.5])
def test_int_to_words_refuses_out_of_range(bad: object) -> None:
    with pytest.raises(ValueError, match=r"\[0, 10\*\*63\)"):
        int_to_words(bad)  # type: ignore[arg-type]


def test_digits_are_spoken_one_by_one() -> None:
    assert digits_to_words(8004004) == "eight zero zero four zero zero four"


def test_one_stimulus_per_representation() -> None:
    assert stimulus(8004004, 500, "numerals") == "What is 8004004 times 500?"
    assert stimulus(8004004, 500, "words") == "What is eight million four thousand four times five hundred?"
    assert stimulus(47, 36, "digits") == "What is four seven times three six?"
    with pytest.raises(ValueError, match="unknown representation 'roman'"):
        stimulus(1, 2, "roman")


@pytest.mark.parametrize(
    ("text", "n"),
    [
        # "<tens or below> hundred" is how people say round hundreds above a thousand
        ("nineteen hundred", 1900),
        ("twenty hundred", 2000),
        ("forty-five hundred", 4500),
        ("twelve hundred thirty-four", 1234),
    ],
)
def test_words_to_int_reads_hundreds_of_a_number_below_one_hundred(text: str, n: int) -> None:
    assert words_to_int(text) == n


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no number words found"),
        ("   ,  ", "no number words found"),
        ("twelve five", "unexpected 'five' after a number word in 'twelve five'"),
        ("five four", "unexpected 'four' after a number word in 'five four'"),
        ("twenty twelve", "unexpected 'twelve' after a number word in 'twenty twelve'"),
        ("twenty ten", "unexpected 'ten' after a number word in 'twenty ten'"),
        ("zero one", "'zero' cannot be part of a longer number in 'zero one'"),
        ("zero thousand", "'zero' cannot be part of a longer number in 'zero thousand'"),
        ("twenty zero", "'zero' cannot be part of a longer number in 'twenty zero'"),
        ("twenty thirty", "unexpected 'thirty' in 'twenty thirty'"),
        ("hundred", "'hundred' must follow a number below one hundred in 'hundred'"),
        ("five hundred hundred", "'hundred' must follow a number below one hundred in 'five hundred hundred'"),
        (
            "one hundred five hundred",
            "'hundred' must follow a number below one hundred in 'one hundred five hundred'",
        ),
        ("thousand", "scale word 'thousand' out of place in 'thousand'"),
        ("ten hundred thousand", "scale word 'thousand' out of place in 'ten hundred thousand'"),
        ("twenty hundred thousand", "scale word 'thousand' out of place in 'twenty hundred thousand'"),
        ("one thousand two thousand", "scale word 'thousand' out of place in 'one thousand two thousand'"),
        ("one thousand one million", "scale word 'million' out of place in 'one thousand one million'"),
        ("seven apples", "'apples' is not a number word (in 'seven apples')"),
    ],
)
def test_words_to_int_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        words_to_int(text)
    assert str(error.value) == message


@pytest.mark.parametrize("bad", [-1, True, 1.5, "7"])
def test_digits_to_words_refuses_what_is_not_a_non_negative_integer(bad: object) -> None:
    with pytest.raises(ValueError) as error:
        digits_to_words(bad)  # type: ignore[arg-type]
    assert str(error.value) == f"digits_to_words takes a non-negative integer, got {bad!r}"


def test_digits_to_words_speaks_zero_and_every_digit() -> None:
    assert digits_to_words(0) == "zero"
    assert digits_to_words(1234567890) == "one two three four five six seven eight nine zero"


@pytest.mark.parametrize("bad", [True, False, "12"])
def test_int_to_words_refuses_what_is_not_an_integer(bad: object) -> None:
    with pytest.raises(ValueError) as error:
        int_to_words(bad)  # type: ignore[arg-type]
    assert str(error.value) == f"int_to_words takes an integer in [0, 10**63), got {bad!r}"


def test_every_product_of_two_30_digit_operands_has_words_that_read_back() -> None:
    largest = (10**30 - 1) ** 2
    assert int_to_words(largest).startswith("nine hundred ninety-nine octodecillion nine hundred ninety-nine ")
    for n in (largest, 10**59, 10**60 + 10**30 + 1, 80_040_040_000_000_000_000_000_000_000_500):
        assert words_to_int(int_to_words(n)) == n


def test_scale_words_must_fall_in_order_across_the_long_names() -> None:
    with pytest.raises(ValueError, match="scale word 'octillion' out of place"):
        words_to_int("one septillion two octillion")
