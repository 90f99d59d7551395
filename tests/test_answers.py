"""Answer extraction on realistic model outputs: the expected integer, or None for no answer."""

from __future__ import annotations

import pytest

from dataset_builder.answers import extract_answer, extract_operands, find_numbers

CASES: list[tuple[str, int | None]] = [
    # explicit final answers
    ("Final Answer: 1692", 1692),
    ("47 x 36 = 1692\n\nFinal Answer: 1,692", 1692),
    ("**Final Answer:** 4,002,002,000", 4002002000),
    ("Final answer: **56**", 56),
    ("FINAL ANSWER: 691768239328166226", 691768239328166226),
    ("Final Answer: $1692$", 1692),
    ("Final Answer: 1692.", 1692),
    ("Final Answer:\n\n1692", 1692),
    ("Final Answer: 1692 (since 47 x 36 = 1692)", 1692),
    ("Final Answer: 47 x 36 = 1692", 1692),
    ("Final Answer: The product is 1692.", 1692),
    ("Final Answer: one thousand six hundred ninety-two", 1692),
    ("Final Answer: 4 002 002 000", 4002002000),
    ("Final Answer: 4.002.002.000", 4002002000),
    ("Let me try: 40 x 36 = 1440. Final Answer: 1692. Check: 1692 / 36 = 47.", 1692),
    ("First guess 1700. Final Answer: 1690\nWait, Final Answer: 1692", 1692),
    ("Final Answer: 999,999,998,000,000,001", 999999998000000001),
    ("The final answer is 56.", 56),
    ("Final Answer: -12", -12),
    # chain of thought with intermediate products
    (
        "Step 1: 47 x 30 = 1410\nStep 2: 47 x 6 = 282\nStep 3: 1410 + 282 = 1692\nFinal Answer: 1692",
        1692,
    ),
    (
        "We split 8004004 x 500 = 8004004 x 5 x 100. 8004004 x 5 = 40020020. Times 100 gives 4002002000.",
        4002002000,
    ),
    ("7 x 8 = 56", 56),
    # the multiplication sign (U+00D7) below is deliberate, as models print it: RUF001 is silenced there
    ("47 × 36 = 1,410 + 282 = 1,692", 1692),  # noqa: RUF001
    ("So the product is 1,692, as computed above.", 1692),
    ("The product of 47 and 36 is 1692.", 1692),
    ("The answer is 47 × 36 = 1692", 1692),  # noqa: RUF001
    ("Result: 56088", 56088),
    ("The result = 56088", 56088),
    # a closing check restates an operand: the answer is the number before it
    ("Thus, 123 × 456 = 56088. Let me double check: 56088 / 456 = 123. Yes.", 56088),  # noqa: RUF001
    ("123 x 456 = 56088\nVerification: 56088 / 123 = 456", 56088),
    ("Let me check each step. 47 x 30 = 1410, 47 x 6 = 282, so 1692", 1692),
    ("Therefore the answer is 56088, which I verified by dividing by 456.", 56088),
    ("I get 56 088 in the end", 56088),
    # boxed and LaTeX
    ("\\boxed{1692}", 1692),
    ("Thus $47 \\times 36 = \\boxed{1692}$.", 1692),
    ("$$\\boxed{1{,}692}$$", 1692),
    ("\\[ 8004004 \\times 500 = \\boxed{4\\,002\\,002\\,000} \\]", 4002002000),
    ("The answer is $\\boxed{\\text{56}}$", 56),
    ("\\boxed{4002002000} is my answer, though 4000000000 is close", 4002002000),
    ("$123 \\cdot 456 = 56088$", 56088),
    # markdown
    ("**1692**", 1692),
    ("The product is `1692`.", 1692),
    ("- partial: 1410\n- partial: 282\n- **total: 1692**", 1692),
    ("| a | b | product |\n|---|---|---|\n| 47 | 36 | 1692 |", 1692),
    # number words
    ("eight million four thousand four", 8004004),
    ("The product is eight million four thousand four.", 8004004),
    ("The answer is six hundred and ninety-one.", 691),
    ("The answer is six hundred ninety one", 691),
    ("The result is four billion, two million, two thousand.", 4002002000),
    ("Final Answer: 99 million eighty-eight thousand", 99088000),
    ("The product is a hundred and five.", 105),
    ("It comes to one thousand six hundred ninety-two.", 1692),
    ("Final Answer: Two Thousand And Twelve", 2012),
    ("fifty-six", 56),
    ("4 billion 2 million 2 thousand", 4002002000),
    # refusals and non-answers
    ("I cannot help with that.", None),
    ("I'm sorry, I can't do arithmetic on numbers this large.", None),
    ("", None),
    ("Final Answer:", None),
    ("The answer is approximately 3.5.", None),
    ("Final Answer: 1.5", None),
    # truncated answers
    ("Let's compute 123 x 456. First 123 x 400 = 49200, then 123 x 5", 5),
    ("Step 1: 47 x 30 = 1410\nStep 2: 47 x 6 =", 6),
    ("Final Answer: 16", 16),
    # multiple candidates: the marked one wins over the last number
    ("Final Answer: 1692\n\nNote: 47 + 36 = 83", 1692),
    ("The answer is 1692. (Not 1700, which would be 50 x 34.)", 1692),
    ("Either 1692 or 1693; the product is 1692.", 1692),
    ("56088.0", 56088),
    ("Final Answer: 56,088.00", 56088),
]


@pytest.mark.parametrize(("output", "expected"), CASES)
def test_extracts_the_final_integer(output: str, expected: int | None) -> None:
    assert extract_answer(output) == expected


def test_an_absurdly_long_answer_is_no_answer_not_an_error() -> None:
    assert extract_answer("Final Answer: " + "9" * 5000) is None
    assert extract_answer("9" * 81) is None
    assert extract_answer("9" * 80) == int("9" * 80)
    assert extract_answer("Final Answer: 1692." + "0" * 5000) == 1692
    assert extract_answer("Final Answer: 1692.0000000000000000001") is None


def test_integers_stay_exact_beyond_float_precision() -> None:
    n = 999999998000000001
    assert extract_answer(f"Final Answer: {n}") == n
    assert float(n) != n  # a float would have lost the last digit


def test_find_numbers_reads_positions_and_mixed_forms() -> None:
    numbers = find_numbers("47 x 36 is 99 million eighty-eight thousand, not 1,692")
    assert [(n.value, n.start) for n in numbers] == [(47, 0), (36, 5), (99088000, 11), (1692, 49)]


OPERAND_CASES: list[tuple[str, tuple[int | None, int | None]]] = [
    ("Numbers: 8004004, 500", (8004004, 500)),
    ("Numbers: 8,004,004 and 500", (8004004, 500)),
    ("**Numbers:** 47, 36", (47, 36)),
    ("Numbers: eight million four thousand four, five hundred", (8004004, 500)),
    ("I see two numbers.\nNumbers: 12, 7", (12, 7)),
    ("The numbers are 47 and 36.", (47, 36)),
    ("Numbers: 47", (47, None)),
    ("I cannot read the image.", (None, None)),
    ("", (None, None)),
]


@pytest.mark.parametrize(("output", "expected"), OPERAND_CASES)
def test_extracts_the_two_transcribed_operands(output: str, expected: tuple[int | None, int | None]) -> None:
    assert extract_operands(output) == expected


MORE_CASES: list[tuple[str, int | None]] = [
    # rule 1 beats a later "the result is"
    ("Final Answer: 1692\nThe result is not 1700.", 1692),
    # rule 3 reads the line of its own marker, not the first line of the text
    ("Step 1: 47 x 30 = 1410\nStep 2: 47 x 6 = 282\nSo the answer is 1692.", 1692),
    # a marker whose number sits on the next line, with other numbers after it
    ("The answer is:\n1692\n(47 + 36 = 83 would be the sum)", 1692),
    # rule 4: numerals win over number words when the text has both
    ("1692 is my best guess, but I could be off by one.", 1692),
    # a box inside a marked line: the box is the answer
    ("Final Answer: \\boxed{1692} is the product of 47 and 36", 1692),
    ("\\boxed{1692} is 47 \\times 36", 1692),
    ("\\boxed{\\textcolor{red}{1692}} = 47 \\times 36", 1692),
    # LaTeX spacing and markdown wrappers around the digits
    ("\\boxed{1\\!692}", 1692),
    ("Final Answer: $4\\ 002\\ 002\\ 000$", 4002002000),
    ("Final Answer: $4\\text{ billion}$", 4000000000),
    ("Final Answer: __1692__", 1692),
    ("Final Answer: _1692_", 1692),
    # numerals before scale words, and "and" between a scale and the rest
    ("Final Answer: 12 thousand", 12000),
    ("The answer is two thousand and 12", 2012),
    ("The answer is six hundred and", 600),
    ("Multiplying two 2-digit numbers: 47 x 36 = 1692", 1692),
    # not an integer, or no number at all
    ("The answer is approximately 1.5 million.", None),
    ("It is several thousand, I cannot say exactly.", None),
]


@pytest.mark.parametrize(("output", "expected"), MORE_CASES)
def test_extracts_the_final_integer_through_wrappers_and_markers(output: str, expected: int | None) -> None:
    assert extract_answer(output) == expected


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # positions counted by hand; numeral is True for a number written (even partly) in digits
        (
            "47 x 36 = 4 thousand or forty-two or a hundred",
            [(47, 0, True), (36, 5, True), (4000, 10, True), (42, 24, False), (100, 37, False)],
        ),
        ("two thousand and 12", [(2012, 0, True)]),
        # words that cannot form one number are read one by one
        ("four seven", [(4, 0, False), (7, 5, False)]),
        ("three thousand 2 thousand", [(3, 0, False), (2, 15, True)]),
        # an operator or a word between number words ends the number
        ("forty + two", [(40, 0, False), (2, 8, False)]),
        ("sixty times five", [(60, 0, False), (5, 12, False)]),
        ("several thousand", []),
        ("thousand", []),
    ],
)
def test_find_numbers_values_positions_and_kinds(text: str, numbers: list[tuple[int, int, bool]]) -> None:
    assert [(n.value, n.start, n.numeral) for n in find_numbers(text)] == numbers


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Numbers: $47\\times36$", (47, 36)),
        ("Numbers: 47, 36\nConfidence: 9 out of 10", (47, 36)),
        ("There are 2 numbers, 47 and 36.", (47, 36)),
    ],
)
def test_extract_operands_reads_the_marked_line_or_the_last_two(
    output: str, expected: tuple[int | None, int | None]
) -> None:
    assert extract_operands(output) == expected


def _mixed(text: str) -> str:
    """Every other letter upper case: "fInAl aNsWeR"."""
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


CASINGS = {"lower": str.lower, "upper": str.upper, "title": str.title, "sentence": str.capitalize, "mixed": _mixed}


def _cased(template: str, casing: str) -> str:
    """The template with each <marked> phrase in the given letter case (the rest, LaTeX included, as written)."""
    parts = template.replace(">", "<").split("<")
    return "".join(CASINGS[casing](part) if i % 2 else part for i, part in enumerate(parts))


# Each text's marked words carry a rule; were a rule to miss its words in some letter case, the answer
# would be the other number in the text (given after the expected one), never the expected one.
CASED_RULES: list[tuple[str, int | None]] = [
    # rule 1, "Final Answer": it wins over a later "the product is" (100) and over the last number
    ("<Final Answer>: 12\n(<The product is> not 100.)", 12),  # 100
    ("<Final Answer>\uff1a12\n(<The product is> not 100.)", 12),  # a full-width colon
    ("<Final answer> - 12 (from 3 x 4)\n<The result is> not 100.", 12),  # 100
    ("<Final answer is> 12\n<The result is> not 100.", 12),
    ("<The final answer is> 12.\n<The result is> not 100.", 12),
    ("**<Final Answer>**: 12\n(<The product is> not 100.)", 12),  # markdown bold around the marker
    ("**<Final Answer>:** **12**\n(<The product is> not 100.)", 12),
    ("__<Final Answer>:__ 12\n3 x 5 = 15", 12),  # 15
    # the last of repeated markers wins, whatever the letter case of each
    ("<Final Answer>: 11\nOn reflection, <final answer>: 12\nVerify: 12 / 4 = 3", 12),  # 11 or 3
    ("<FINAL ANSWER>: 11\n<final answer>: 13\n<Final Answer>: 12\n(<The product is> not 100.)", 12),
    # thousands separators after the marker, with other integers later in the text
    ("<Final Answer>: 1,234,567\nThat is 1234 x 1000 + 567 = 1234567.\n(<The product is> not 100.)", 1234567),
    ("<Final Answer>: 1 234 567\nChecked: 1234 x 1000 = 1234000, plus 567.", 1234567),  # 567
    ("<Final Answer>: 1.234.567\n(<The product is> not 100.)", 1234567),
    ("<Final Answer>: 12,345, and 3 x 5 = 15 is unrelated", 12345),
    ("<Final Answer>: 12\nCheck: 3 x 4 = 12 and 5 x 6 = 30.", 12),  # 30
    # a marker with no number passes to the next rule
    ("<Final Answer>: see below\n<The product is> 12, not 100", 12),
    # rule 2: a box, unless a final answer comes first
    ("<Final Answer>: 12\nEarlier I wrote \\boxed{13}.", 12),  # 13
    ("\\boxed{12}\n<The result is> not 100.", 12),  # 100
    # rule 3, "the answer / product / result is, =, :, equals"
    ("<The answer is> 12. 3 x 5 = 15 was a slip.", 12),  # 15
    ("<The product is> 12; 3 x 5 = 15 was a slip.", 12),
    ("<The result equals> 12, not 15", 12),
    ("<Answer:> 12 (3 x 5 = 15 was wrong)", 12),
    ("<Product => 12 (3 x 5 = 15 was wrong)", 12),
    ("<The result is> 12 and 3 x 5 = 15 is not", 12),  # an inner 'is' leads to its number: 12
    # rule 4: a closing check restates an operand; the answer is the number before it
    ("3 x 4 = 12. <Let me double-check>: 12 / 4 = 3.", 12),  # 3
    ("3 x 4 = 12. <Let me double check>: 12 / 4 = 3.", 12),
    ("3 x 4 = 12. <Checking>: 12 / 4 = 3.", 12),
    ("3 x 4 = 12. <Verify>: 12 / 4 = 3.", 12),
    ("3 x 4 = 12. <Verifying>: 12 / 4 = 3.", 12),
    ("3 x 4 = 12\n<Verification>: 12 / 3 = 4", 12),
    # inside a marked line: a cut ends the answer before a reason, a link leads to its number
    ("<Final Answer>: 12 <because> 2 x 5 = 10", 12),  # 10
    ("<Final Answer>: 12 <since> 2 x 5 = 10", 12),
    ("<Final Answer>: 12 <which> equals 3 x 4", 12),  # 3
    ("<Final Answer>: 12 <as computed>: 2 x 5 = 10", 12),
    ("<Final Answer>: 12 <as shown> by 2 x 5 = 10", 12),
    ("<Final Answer>: 12 <as calculated> from 2 x 5 = 10", 12),
    ("<Final Answer>: 3 x 4 <equals> 12", 12),  # 3
    ("<Final Answer>: 3 x 4 <is> 12", 12),
    # number words in any letter case
    ("<Final Answer>: <one thousand six hundred ninety-two>", 1692),
    ("<The product is> <a hundred and five>.", 105),
    ("<The answer is> <two thousand and twelve>", 2012),
    ("<The answer is> 12 <thousand>", 12000),
    ("<The answer is> <twelve thousand and> 5", 12005),
    ("<The answer is> <eight million four thousand four>", 8004004),
    ("It is <several thousand>, I cannot say exactly.", None),
]


@pytest.mark.parametrize("casing", sorted(CASINGS))
@pytest.mark.parametrize(("template", "expected"), CASED_RULES)
def test_every_rule_reads_its_words_in_any_letter_case(template: str, expected: int | None, casing: str) -> None:
    assert extract_answer(_cased(template, casing)) == expected


def test_the_cased_templates_put_the_marked_words_in_each_case() -> None:
    template = "<Final Answer>: 12 \\boxed{3}"
    assert [_cased(template, casing) for casing in sorted(CASINGS)] == [
        "final answer: 12 \\boxed{3}",
        "fInAl aNsWeR: 12 \\boxed{3}",
        "Final answer: 12 \\boxed{3}",
        "Final Answer: 12 \\boxed{3}",
        "FINAL ANSWER: 12 \\boxed{3}",
    ]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("FINAL ANSWER: 11\nfinal answer: 12", 12),
        ("final answer: 11\nFINAL ANSWER: 12", 12),
        ("Final Answer: 11\nfInAl AnSwEr: 12\n3 x 4 = 12, 5 x 6 = 30", 12),
        ("final answer: 12\nFINAL ANSWER:\nThe result is 12, not 100", 12),  # the last marker holds no number
        ("FINAL ANSWER: 1,692\nNote: 47 + 36 = 83", 1692),
        ("Final answer - 12", 12),
        ("Final answer -12", -12),
        ("FINAL ANSWER IS TWELVE", 12),
    ],
)
def test_repeated_final_answer_markers_in_mixed_case_the_last_wins(output: str, expected: int) -> None:
    assert extract_answer(output) == expected


# The perception extractor: the first two numbers after the last "Numbers:" marker, in any letter case; were the
# marker missed, the last two numbers of the text (9 and 10) would be read instead.
CASED_OPERANDS: list[tuple[str, tuple[int | None, int | None]]] = [
    ("<Numbers:> 47, 36\nConfidence: 9 of 10", (47, 36)),
    ("<Number:> 47, 36\nConfidence: 9 of 10", (47, 36)),
    ("<Numbers\uff1a> 47, 36\nConfidence: 9 of 10", (47, 36)),
    ("**<Numbers:>** 8,004,004, 500\nConfidence: 9 of 10", (8004004, 500)),
    ("<Numbers:> <forty-seven, thirty-six>\nConfidence: 9 of 10", (47, 36)),
    ("<Numbers:> <eight million four thousand four>, <five hundred>\nConfidence: 9 of 10", (8004004, 500)),
    ("<Numbers:> 47\nConfidence: 9 of 10", (47, None)),
    ("<Numbers:> 1, 2\n<Numbers:> 47, 36 (9 10)", (47, 36)),  # the last marker
]


@pytest.mark.parametrize("casing", sorted(CASINGS))
@pytest.mark.parametrize(("template", "expected"), CASED_OPERANDS)
def test_the_numbers_marker_is_read_in_any_letter_case(
    template: str, expected: tuple[int | None, int | None], casing: str
) -> None:
    assert extract_operands(_cased(template, casing)) == expected


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("numbers: 1, 2\nNUMBERS: 47, 36\nConfidence: 9 of 10", (47, 36)),
        ("NUMBERS: 1, 2\nnumbers: 47, 36\nConfidence: 9 of 10", (47, 36)),
        ("Numbers: 1, 2\nnUmBeRs: 47, 36 (9 10)", (47, 36)),
        ("I see numbers 4 and 5, then 6 and 7", (6, 7)),  # no colon: no marker, the last two numbers
    ],
)
def test_the_last_numbers_marker_wins_whatever_its_case(output: str, expected: tuple[int | None, int | None]) -> None:
    assert extract_operands(output) == expected
