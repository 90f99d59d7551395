"""The heuristic probe's definitions: cost models, the HDS and traps, the prefix bank, steps and traces."""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from dataset_builder.probe.bank import PREFIXES, check_bank
from dataset_builder.probe.costs import costs
from dataset_builder.probe.sets import (
    HDS_COLUMNS,
    TRAP_COLUMNS,
    generate_hds,
    generate_traps,
    read_hds_csv,
    read_traps_csv,
)
from dataset_builder.probe.steps import first_steps
from dataset_builder.problems import ProblemError
from mmmult.probe_scoring.traces import error_shape, trace_class


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (47, 36, {"OT": 4.25, "DD": 5.0, "RC": 8.4}),  # the probe notes' worked examples
        (49, 51, {"OT": 4.125, "DD": 5.0, "RC": 2.4}),
        (999, 1001, {"OT": 12.0, "DD": 7.0, "RC": 2.004}),  # no pair carries; DD splits 1001; 1000 -/+ 1 at scale 100
        (7725, 39, {"OT": 8 + 0.25 * 7 / 8, "DD": 6.0}),  # 7 of the 8 digit pairs carry (not 2 x 3)
    ],
)
def test_costs_follow_the_definitions(a: int, b: int, expected: dict[str, float]) -> None:
    cost = costs(a, b)
    for heuristic, value in expected.items():
        assert cost.of(heuristic) == pytest.approx(value), heuristic


def test_the_ot_cost_counts_carrying_digit_pairs_by_hand() -> None:
    pairs = [(x, y) for x in (9, 0, 8) for y in (7, 5)]  # 908 x 75: six pairs, zeros included
    carrying = sum(x * y >= 10 for x, y in pairs)
    assert pytest.approx(6 + 0.25 * carrying / 6) == costs(908, 75).OT


def test_labels_and_margins() -> None:
    assert (costs(47, 36).label, costs(47, 36).margin) == ("OT", 0.75)
    assert (costs(49, 51).label, costs(49, 51).margin) == ("RC", pytest.approx(1.725))
    assert (costs(47, 36).decisive and not costs(48, 36).decisive) or costs(48, 36).margin >= 0.75


@pytest.fixture(scope="module")
def hds():
    return generate_hds()


def test_the_hds_holds_a_third_per_family_each_won_by_its_family(hds) -> None:
    assert Counter(i.design_family for i in hds) == {"RC": 334, "DD": 333, "OT": 333}
    for item in hds:
        cost = costs(item.a, item.b)
        assert (cost.label, item.canonical_target_heuristic) == (item.design_family, item.design_family)
        assert cost.margin >= 0.75 and item.canonical_target_margin == pytest.approx(cost.margin)
        assert all(2 <= len(str(x)) <= 9 for x in (item.a, item.b))
        load = (len(str(item.a)) + len(str(item.b))) * sum(d != "0" for d in f"{item.a}{item.b}")
        assert 12 <= load <= 324 and item.complexity_c == load and item.product == item.a * item.b
    assert len({(min(i.a, i.b), max(i.a, i.b)) for i in hds}) == len(hds)


def test_the_hds_is_split_70_15_15_within_each_family_and_seeded(hds) -> None:
    for family, size in (("RC", 334), ("DD", 333), ("OT", 333)):
        splits = Counter(i.split for i in hds if i.design_family == family)
        for split, share in (("train", 0.7), ("validation", 0.15), ("test", 0.15)):
            assert abs(splits[split] - share * size) <= 1
    assert generate_hds(seed=3) == generate_hds(seed=3) != hds
    assert [i.id for i in hds[:2]] == ["hds-0000", "hds-0001"]


def test_traps_are_thirty_test_items_of_four_types() -> None:
    traps = generate_traps()
    assert Counter(t.trap_type for t in traps) == {"carry_bomb": 8, "missing_term": 8, "anti_round": 7, "sign_trap": 7}
    assert {t.trap_type: t.target_heuristic for t in traps} == {
        "carry_bomb": "OT", "missing_term": "DD", "anti_round": "RC", "sign_trap": "RC"
    }  # fmt: skip
    for trap in traps:
        assert trap.product == trap.a * trap.b
    signs = [t for t in traps if t.trap_type == "sign_trap"]
    assert all(min(t.a, t.b) < max(t.a, t.b) for t in signs)


def write(path: Path, columns: tuple[str, ...], rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_paper_s_columns_read_back_and_every_derived_field_is_checked(hds, tmp_path: Path) -> None:
    rows = [dataclasses.asdict(i) for i in hds[:20]]
    assert read_hds_csv(write(tmp_path / "hds.csv", HDS_COLUMNS, rows)) == hds[:20]
    rows[3]["rc_cost"] = str(float(rows[3]["rc_cost"]) + 0.5)
    with pytest.raises(ProblemError, match=r"bad.csv, line 5: rc_cost is '.*', but the definitions give"):
        read_hds_csv(write(tmp_path / "bad.csv", HDS_COLUMNS, rows))
    rows[3] = dataclasses.asdict(hds[3]) | {
        "canonical_target_heuristic": "OT" if hds[3].design_family != "OT" else "DD"
    }
    with pytest.raises(ProblemError, match=r"line 5: canonical_target_heuristic is"):
        read_hds_csv(write(tmp_path / "bad.csv", HDS_COLUMNS, rows))
    with pytest.raises(ProblemError, match=r"missing column\(s\) rc_cost"):
        read_hds_csv(write(tmp_path / "short.csv", HDS_COLUMNS[:9], [{}]))


def test_traps_read_back_and_their_product_is_checked(tmp_path: Path) -> None:
    traps = generate_traps()
    rows = [dataclasses.asdict(t) for t in traps]
    assert read_traps_csv(write(tmp_path / "traps.csv", TRAP_COLUMNS, rows)) == traps
    rows[0]["product"] = str(int(rows[0]["product"]) + 1)
    with pytest.raises(ProblemError, match=r"bad.csv, line 2: product is"):
        read_traps_csv(write(tmp_path / "bad.csv", TRAP_COLUMNS, rows))


def test_the_bank_passes_its_checks_and_the_checks_catch_a_bad_bank() -> None:
    assert check_bank() == []
    assert {h: len(p) for h, p in PREFIXES.items()} == {"OT": 4, "DD": 4, "RC": 4, "neutral": 1}
    bad = {**PREFIXES, "DD": ("Split it in 2 parts.", "Round the parts.", "Split.", "Decompose the digits.")}
    problems = check_bank(bad)
    assert "'Split it in 2 parts.' holds a number" in problems
    assert any(p.startswith("'Round the parts.' holds RC cues") for p in problems)
    assert any(p.startswith("'Decompose the digits.' holds OT cues") for p in problems)
    assert any(p.startswith("lengths run from 1 to 10 words") for p in problems)


@pytest.mark.parametrize(("a", "b"), [(47, 36), (49, 51), (8004004, 500), (12, 34), (999, 1001)])
def test_steps_differ_from_the_correct_one_only_in_their_numbers(a: int, b: int) -> None:
    for heuristic, steps in first_steps(a, b).items():
        right, *wrong = steps
        assert right.correct and len(wrong) >= 3 and not any(s.correct for s in wrong), heuristic
        shape = re.sub(r"\d+", "#", right.text)
        assert all(re.sub(r"\d+", "#", s.text) == shape and s.text != right.text for s in wrong), heuristic
        numbers = [int(n) for n in re.findall(r"\d+", right.text)]
        if heuristic == "OT":
            x, y, p, write_, carry = numbers
            assert (x, y, p, write_, carry) == (a % 10, b % 10, (a % 10) * (b % 10), p % 10, p // 10)
        elif heuristic == "DD":
            head, other, p = numbers
            assert p == head * other and head * other <= a * b
        else:
            near, base, offset, other, p = numbers
            assert abs(base - near) == offset and p == offset * other and {near, other} == {a, b}


def test_traces_and_error_shapes() -> None:
    assert trace_class("Carry the 4 into the tens place, column by column.") == "OT"
    assert trace_class("Round 49 up to 50, then compensate: 50 x 51 - 51.") == "RC"
    assert trace_class("") == "unknown"
    assert error_shape(47, 36, 1692) == "none"
    assert error_shape(47, 36, 1692 + 900) == "power of ten"
    assert error_shape(47, 36, 1692 - 40 * 36) == "partial product"
    assert error_shape(49, 51, 49 * 51 - 2 * 51) == "sign"  # 50 x 51 + 51 instead of - 51
    assert error_shape(49, 51, 49 * 51 + 51) == "offset"
    assert error_shape(47, 36, 1692 + 13) == "other"
