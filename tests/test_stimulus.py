"""The question sentence and reading it back: what OCR and speech recognisers hand over."""

from __future__ import annotations

import pytest

from dataset_builder.stimulus import parse_stimulus, read_operand, stimulus, write_operand


@pytest.mark.parametrize(
    ("n", "representation", "written"),
    [
        (8004004, "numerals", "8004004"),
        (8004004, "words", "eight million four thousand four"),
        (8004004, "digits", "eight zero zero four zero zero four"),
        (10, "digits", "one zero"),
    ],
)
def test_write_operand_in_each_representation(n: int, representation: str, written: str) -> None:
    assert write_operand(n, representation) == written


def test_an_unknown_representation_names_the_known_ones() -> None:
    with pytest.raises(ValueError) as error:
        write_operand(5, "roman")
    assert str(error.value) == "unknown representation 'roman'; known: numerals, words, digits"


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("12", 12),
        ("8,004,004", 8004004),
        ("8 004 004", 8004004),
        (" 8,004,004 ", 8004004),
        # digit by digit, as an ASR or OCR may hand the audio-digits or spaced numerals back
        ("4 7", 47),
        ("8 0 0 4 0 0 4", 8004004),
        ("four seven", 47),
        ("four 7", 47),
        ("eight zero zero four zero zero four", 8004004),
        ("seven", 7),
        ("twelve", 12),
        ("eight million four thousand four", 8004004),
    ],
)
def test_read_operand_reads_every_form(text: str, n: int) -> None:
    assert read_operand(text) == n


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # two numerals that are not thousands groups are not one operand
        ("47 36", "'47' is not a number word (in '47 36')"),
        ("4 12", "'4' is not a number word (in '4 12')"),
        ("seven apples", "'apples' is not a number word (in 'seven apples')"),
    ],
)
def test_read_operand_refuses_what_is_not_one_operand(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        read_operand(text)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("sentence", "operands"),
    [
        ("What is 47 times 36?", (47, 36)),
        ("what is 4 7 time 3 6", (47, 36)),
        ("What is 8 004 004 times 500?", (8004004, 500)),
        ("WHAT IS FORTY-SEVEN TIMES THIRTY-SIX!", (47, 36)),
    ],
)
def test_parse_stimulus_tolerates_reader_noise(sentence: str, operands: tuple[int, int]) -> None:
    assert parse_stimulus(sentence) == operands


def test_parse_stimulus_refuses_another_sentence() -> None:
    with pytest.raises(ValueError) as error:
        parse_stimulus("Hello there")
    assert str(error.value) == "not a stimulus sentence: 'Hello there'"


def test_stimulus_is_the_one_question_sentence() -> None:
    assert stimulus(7, 8, "numerals") == "What is 7 times 8?"
    assert stimulus(10, 20, "digits") == "What is one zero times two zero?"
