"""`mmmult build --with-mini`: a subset build that holds every problem of the full build's mini split within its
digit and C bounds, whatever --limit samples, so that its mini split is the full build's (the published runs')."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dataset_builder.dataset.pipeline import BuildOptions, build, fingerprint
from dataset_builder.probe.sets import generate_hds
from dataset_builder.problems import (
    DEFAULT_SEED,
    EXTENDED,
    Bounds,
    Problem,
    ProblemError,
    design_mini,
    generate,
    generate_extended,
    mini_selection,
    problem_set,
)
from mmmult.leaderboard.intake.benchmark import design_of
from tests.commands import assert_user_error, mmmult_here

CONFIGS = "text-numerals,problems"


def ids(problems: list[Problem]) -> list[str]:
    return [p.problem_id for p in problems]


def rows(path: Path, config: str, split: str) -> list[dict]:
    (shard,) = (path / config).glob(f"{split}-*.parquet")
    return pq.read_table(shard).to_pylist()


@pytest.fixture(scope="module")
def mini() -> list[Problem]:
    """The full default build's mini split."""
    return mini_selection(generate(), DEFAULT_SEED)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full") / "data"
    return build(out, BuildOptions(configs=tuple(CONFIGS.split(","))))


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("limited") / "data"
    result = mmmult_here("build", "--out", str(out), "--configs", CONFIGS, "--limit", "50", "--with-mini")
    assert result.returncode == 0, result.stderr
    return out


def test_a_limited_build_with_mini_holds_every_mini_problem_in_test_and_mini(limited: Path, mini) -> None:
    expected = ids(mini)
    assert len(expected) == 150
    test = {row["problem_id"]: row for row in rows(limited, "text-numerals", "test")}
    assert set(expected) <= test.keys()
    assert [row["problem_id"] for row in rows(limited, "text-numerals", "mini")] == expected
    for config in ("text-numerals", "problems"):
        assert [row["problem_id"] for row in rows(limited, config, "mini")] == expected


def test_its_mini_split_is_the_full_build_s_row_for_row(limited: Path, full: Path) -> None:
    for config in CONFIGS.split(","):
        (ours,), (theirs,) = (list((path / config).glob("mini-*.parquet")) for path in (limited, full))
        assert ours.read_bytes() == theirs.read_bytes()
        assert pq.read_table(ours).to_pylist() == pq.read_table(theirs).to_pylist()
        mini_ids = {row["problem_id"] for row in pq.read_table(ours).to_pylist()}
        full_test = {row["problem_id"]: row for row in rows(full, config, "test") if row["problem_id"] in mini_ids}
        ours_test = {row["problem_id"]: row for row in rows(limited, config, "test") if row["problem_id"] in mini_ids}
        assert ours_test == full_test and len(ours_test) == 150


def test_it_holds_the_sample_plus_the_mini_problems_not_sampled(limited: Path, mini) -> None:
    sampled = set(ids(problem_set(5, DEFAULT_SEED, Bounds(limit=50))))
    with_mini = problem_set(5, DEFAULT_SEED, Bounds(limit=50, with_mini=True))
    assert set(ids(with_mini)) == sampled | set(ids(mini))
    assert len(with_mini) == 50 + len(set(ids(mini)) - sampled) == 199  # one mini problem is in the sample
    manifest = json.loads((limited / "manifest.json").read_text())
    assert manifest["num_problems"] == 199
    assert manifest["configs"]["text-numerals"] == {"train": 30, "validation": 11, "test": 158, "mini": 150}
    assert manifest["fingerprint"] == fingerprint([p.as_dict() for p in with_mini])
    order = [p.problem_id for p in generate()]
    assert ids(with_mini) == sorted(ids(with_mini), key=order.index)  # the design's order, as every subset


def test_the_manifest_and_the_card_state_it(limited: Path) -> None:
    bounds = json.loads((limited / "manifest.json").read_text())["options"]["bounds"]
    assert bounds == {"min_digits": None, "max_digits": None, "min_c": None, "max_c": None, "limit": 50,
                      "problem_set": "base", "with_mini": True}  # fmt: skip
    assert ("199 problems (fingerprint `f1ee3e9b27e33b2d`). A subset: a seeded sample of 50 plus every problem of "
            "the mini split of the whole set (the bounds leave ids, operands and splits unchanged).") in (
        limited / "README.md"
    ).read_text()  # fmt: skip


def test_with_max_digits_it_holds_exactly_the_mini_problems_within_them(mini) -> None:
    bounds = Bounds(max_digits=5, limit=400, with_mini=True)
    admitted = [p for p in mini if p.digits_a <= 5 and p.digits_b <= 5]
    held = set(ids(problem_set(5, DEFAULT_SEED, bounds)))
    assert {p.problem_id for p in mini if p.problem_id in held} == set(ids(admitted)) and len(admitted) == 38
    assert ids(design_mini(5, DEFAULT_SEED, bounds)) == ids(admitted)
    without = set(ids(problem_set(5, DEFAULT_SEED, Bounds(max_digits=5, limit=400))))
    assert held == without | set(ids(admitted)) and len(held) == 430 and len(without & set(ids(admitted))) == 8


@pytest.mark.parametrize(
    "bounds, digest",
    [
        (Bounds(limit=50), "50826a70cf10fbb0c8b0378358221f5e8009e83b33d1002355e4c7ba770e9b0a"),
        (Bounds(max_digits=5, limit=400), "6b03920c557c12440f0642a0c5b4f6c5e2e09a4e96452c9859883a836de45beb"),
    ],
)
def test_without_the_flag_the_sample_is_the_one_it_always_was(bounds: Bounds, digest: str) -> None:
    """The digests are those of the sample drawn before --with-mini existed."""
    assert fingerprint([p.as_dict() for p in problem_set(5, DEFAULT_SEED, bounds)]) == digest


def test_without_the_flag_the_manifest_does_not_name_it(tmp_path: Path) -> None:
    out = build(tmp_path / "data", BuildOptions(configs=("problems",), bounds=Bounds(max_digits=2, limit=20)))
    bounds = json.loads((out / "manifest.json").read_text())["options"]["bounds"]
    assert bounds == {"min_digits": None, "max_digits": 2, "min_c": None, "max_c": None, "limit": 20,
                      "problem_set": "base"}  # fmt: skip
    assert "mini split of the whole set" not in (out / "README.md").read_text()


def test_without_a_limit_the_flag_changes_nothing() -> None:
    """The bounds alone keep every problem they admit, the mini ones among them."""
    assert problem_set(5, DEFAULT_SEED, Bounds(max_c=40, with_mini=True)) == problem_set(
        5, DEFAULT_SEED, Bounds(max_c=40)
    )


def test_the_board_s_design_draws_the_same_problems_again(limited: Path, mini) -> None:
    design = design_of(json.loads((limited / "manifest.json").read_text())["options"])
    assert design is not None and design.bounds == Bounds(limit=50, with_mini=True)
    built = {row["problem_id"]: row for row in rows(limited, "problems", "test")}
    assert design.test_problems(DEFAULT_SEED) == built
    fresh = design.test_problems(DEFAULT_SEED + 1)
    fresh_mini = ids(mini_selection(generate(seed=DEFAULT_SEED + 1), DEFAULT_SEED + 1))
    assert set(fresh_mini) <= fresh.keys() and len(fresh_mini) == 150 and set(fresh_mini) != set(ids(mini))


def test_the_extended_set_holds_its_own_mini_split() -> None:
    whole = generate_extended()
    extended_mini = ids(mini_selection(whole, DEFAULT_SEED, problem_set=EXTENDED))
    bounds = Bounds(limit=30, problem_set=EXTENDED, with_mini=True)
    held = set(ids(problem_set(5, DEFAULT_SEED, bounds)))
    assert set(extended_mini) <= held and len(extended_mini) == 180
    assert ids(design_mini(5, DEFAULT_SEED, bounds)) == extended_mini


def test_with_mini_and_a_csv_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("a,b\n12,34\n")
    result = mmmult_here("build", "--out", str(tmp_path / "out"), "--from-csv", str(csv), "--with-mini")
    assert_user_error(
        result,
        "--with-mini keeps the default design's mini split in a sample of it, and --from-csv builds the problems "
        "of a CSV, whose mini split is drawn from the problems it keeps: drop one of the two",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_manifest_whose_with_mini_is_not_a_boolean_is_refused(value) -> None:
    options = {"seed": DEFAULT_SEED, "per_stratum": 5, "bounds": {"limit": 50, "with_mini": value}}
    with pytest.raises(ProblemError, match=rf"^with_mini must be true or false, got {value!r}$"):
        design_of(options)


def test_with_mini_the_probe_sets_are_whole_whatever_the_limit(tmp_path: Path) -> None:
    """The published probe runs answer every test item of the HDS set: a build with --with-mini holds them all, while
    --limit alone keeps a balanced subset."""
    for flags, name in ((["--with-mini"], "whole"), ([], "limited")):
        result = mmmult_here("build", "--out", str(tmp_path / name), "--configs", "hds-text,traps-text",
                             "--limit", "50", *flags)  # fmt: skip
        assert result.returncode == 0, result.stderr
    rows = {
        name: {split: pd.read_parquet(next((tmp_path / name / "hds-text").glob(f"{split}-*.parquet")))
               for split in ("train", "validation", "test")}
        for name in ("whole", "limited")
    }  # fmt: skip
    whole = [item.row()["problem_id"] for item in generate_hds(seed=DEFAULT_SEED) if item.row()["split"] == "test"]
    assert rows["whole"]["test"]["problem_id"].tolist() == whole and len(whole) == 150
    assert sum(len(frame) for frame in rows["whole"].values()) == 1000
    assert sum(len(frame) for frame in rows["limited"].values()) == 50
    assert len(pd.read_parquet(next((tmp_path / "whole" / "traps-text").glob("test-*.parquet")))) == 30
