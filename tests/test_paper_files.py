"""The paper's released files import as they are: its grid, HDS and traps CSVs, with `val` and CRLF.

Each file is written here in the paper's format (its columns, its split names, Windows line ends),
from problems whose facts the test computes itself.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from pathlib import Path

import datasets
import pytest

from dataset_builder.probe.sets import (
    HDS_COLUMNS,
    TRAP_COLUMNS,
    generate_hds,
    generate_traps,
    read_hds_csv,
    read_traps_csv,
)
from dataset_builder.problems import C_BANDS, ProblemError, generate, read_csv
from tests.commands import assert_user_error, mmmult

GRID_COLUMNS = ("id", "a", "b", "a_times_b", "digits_a", "digits_b", "nonzero_a", "nonzero_b", "digit_total",
                "nonzero_total", "complexity_c", "text_file", "image_file", "audio_file", "split")  # fmt: skip
"""The paper's grid: 15 columns, of which the benchmark reads id, a, b, a_times_b (checked) and split."""
PAPER_SPLITS = {"train": 7026, "val": 1416, "test": 1558}
"""The split counts of the paper's 10,000-row grid, under its own names."""


def grid_row(number: int, a: int, b: int, split: str) -> dict[str, object]:
    digits = f"{a}{b}"
    nonzero = sum(d != "0" for d in digits)
    item = f"mm_{number:05d}"
    return {"id": item, "a": a, "b": b, "a_times_b": a * b, "digits_a": len(str(a)), "digits_b": len(str(b)),
            "nonzero_a": sum(d != "0" for d in str(a)), "nonzero_b": sum(d != "0" for d in str(b)),
            "digit_total": len(digits), "nonzero_total": nonzero, "complexity_c": len(digits) * nonzero,
            "text_file": f"TextFiles/{item}.txt", "image_file": f"Images/{item}.png",
            "audio_file": f"AudioFiles/{item}.mp3", "split": split}  # fmt: skip


def write_crlf(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> Path:
    """A CSV as the paper's files are written: every line ends in CRLF."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    assert path.read_bytes().count(b"\r\n") == len(rows) + 1
    return path


@pytest.fixture(scope="module")
def paper_grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 distinct problems, dealt to train, val and test in the paper's counts, in a repeating order."""
    pairs = [(p.a, p.b) for p in generate()][:10_000]
    splits = [name for name, count in PAPER_SPLITS.items() for _ in range(count)]
    splits = splits[0::3] + splits[1::3] + splits[2::3]  # interleaved, as a shuffled file is
    rows = [grid_row(i, a, b, split) for i, ((a, b), split) in enumerate(zip(pairs, splits, strict=True))]
    return write_crlf(tmp_path_factory.mktemp("paper") / "SharedMultimodalGrid.csv", GRID_COLUMNS, rows)


def test_the_paper_s_grid_reads_with_its_split_counts(paper_grid: Path) -> None:
    problems = read_csv(paper_grid)
    assert len(problems) == 10_000
    assert Counter(p.split for p in problems) == {"train": 7026, "validation": 1416, "test": 1558}
    with paper_grid.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for problem, row in zip(problems, rows, strict=True):
        assert (problem.problem_id, problem.a, problem.b) == (row["id"], int(row["a"]), int(row["b"]))
        assert int(row["complexity_c"]) == problem.C
        assert problem.split == {"val": "validation"}.get(row["split"], row["split"])


def test_mmmult_build_imports_the_paper_s_grid(paper_grid: Path, tmp_path: Path) -> None:
    result = mmmult(
        "build", "--out", str(tmp_path / "grid"), "--from-csv", str(paper_grid), "--configs", "text-numerals"
    )
    assert result.returncode == 0, result.stderr
    built = datasets.load_dataset(str(tmp_path / "grid"), "text-numerals")
    rows = list(csv.DictReader(paper_grid.open(newline="")))
    bands = Counter(
        next(b for b in C_BANDS if b[0] <= int(r["complexity_c"]) <= b[1]) for r in rows if r["split"] == "test"
    )
    mini = sum(min(30, count) for count in bands.values())  # 30 test problems per C band, all of a smaller band
    assert min(bands.values()) < 30 < max(bands.values())  # one band has fewer: mini holds all of it
    counts = {"train": 7026, "validation": 1416, "test": 1558, "mini": mini}
    assert {split: len(rows) for split, rows in built.items()} == counts
    assert set(built["mini"]["problem_id"]) <= set(built["test"]["problem_id"])
    first_val = next(row for row in csv.DictReader(paper_grid.open(newline="")) if row["split"] == "val")
    (item,) = built["validation"].filter(lambda row: row["problem_id"] == first_val["id"])
    assert (item["a"], item["b"], item["C"]) == (int(first_val["a"]), int(first_val["b"]),
                                                 int(first_val["complexity_c"]))  # fmt: skip


@pytest.mark.parametrize("split", ["dev", "Val", "valid", "VAL", "validate", "tst", ""])
def test_any_other_split_name_is_still_refused(split: str, tmp_path: Path) -> None:
    rows = [grid_row(0, 47, 36, "train"), grid_row(1, 8004004, 500, split)]
    path = write_crlf(tmp_path / "grid.csv", GRID_COLUMNS, rows)
    with pytest.raises(ProblemError) as error:
        read_csv(path)
    assert str(error.value) == (
        f"{path}, line 3: split must be one of train, validation, test, val (for validation), got {split!r}"
    )


def test_the_cli_names_a_refused_split(tmp_path: Path) -> None:
    path = write_crlf(tmp_path / "grid.csv", GRID_COLUMNS, [grid_row(0, 47, 36, "dev")])
    result = mmmult("build", "--out", str(tmp_path / "out"), "--from-csv", str(path), "--configs", "text-numerals")
    assert_user_error(result, f"{path}, line 2: split must be one of train, validation, test, val (for validation)")
    assert not (tmp_path / "out").exists()


def test_the_paper_s_hds_file_reads_with_val(tmp_path: Path) -> None:
    hds = generate_hds(size=60)
    rows = [dataclasses.asdict(item) | {"split": "val" if item.split == "validation" else item.split} for item in hds]
    assert {row["split"] for row in rows} == {"train", "val", "test"}
    assert read_hds_csv(write_crlf(tmp_path / "HDSv2.csv", HDS_COLUMNS, rows)) == hds
    rows[4]["split"] = "dev"
    with pytest.raises(ProblemError, match=r"HDSv2.csv, line 6: design_family must be one of .* and split one of "
                       r"train, validation, test, val \(for validation\); got '.*', 'dev'"):  # fmt: skip
        read_hds_csv(write_crlf(tmp_path / "HDSv2.csv", HDS_COLUMNS, rows))


def test_the_paper_s_traps_file_reads_with_or_without_a_split_column(tmp_path: Path) -> None:
    traps = generate_traps()
    rows = [dataclasses.asdict(trap) for trap in traps]
    assert read_traps_csv(write_crlf(tmp_path / "Trapsv2.csv", TRAP_COLUMNS, rows)) == traps
    with_split = [row | {"split": "test"} for row in rows]
    assert read_traps_csv(write_crlf(tmp_path / "Trapsv2.csv", (*TRAP_COLUMNS, "split"), with_split)) == traps
    with_split[2]["split"] = "val"
    with pytest.raises(ProblemError) as error:
        read_traps_csv(write_crlf(tmp_path / "Trapsv2.csv", (*TRAP_COLUMNS, "split"), with_split))
    assert str(error.value) == (
        f"{tmp_path / 'Trapsv2.csv'}, line 4: split is 'val', but traps are test items only; write test "
        "(or drop the split column)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,a,b,split\r\nq1,47,36,val\r\nq2,12,34\r\n", "line 3: 3 fields, but the header names 4; quote a field"),
        (b"id,a,b,split\r\nq1,47,36,val,extra\r\n", "line 2: 5 fields, but the header names 4; quote a field"),
        (b"id,a,b,split\r\nq1,4,7,36,val\r\n", "line 2: 5 fields, but the header names 4"),
        ("id,a,b,split\r\nq1,47,36,val\r\nq2,5,6,tr\xe9s\r\n".encode("latin-1"), "not UTF-8 text; save it as a UTF-8"),
        (b"id,a,b,split\r\nq1,47,36,val\r\nq2,5\x00,6,test\r\n", "line 3: column a must be a positive integer"),
        (b'id,a,b,split\r\nq1,47,36,val\r\nq2,5,6,"' + b"t" * 200_000 + b'"\r\n', "not CSV (field larger than"),
        ("id,a,b,split\r\nq1,47,36,val\r\n".encode("utf-16"), "not UTF-8 text"),
    ],
    ids=["short row", "long row", "unquoted comma", "latin-1", "NUL", "huge field", "UTF-16"],
)
def test_a_damaged_grid_is_refused_with_the_file_and_line(content: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "grid.csv"
    path.write_bytes(content)
    with pytest.raises(ProblemError) as error:
        read_csv(path)
    assert str(error.value).startswith(f"{path}") and message in str(error.value)


def test_a_cut_row_of_the_hds_file_is_refused_with_its_line(tmp_path: Path) -> None:
    rows = [dataclasses.asdict(item) for item in generate_hds(size=6)]
    path = write_crlf(tmp_path / "HDSv2.csv", HDS_COLUMNS, rows)
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = lines[3].rsplit(b",", 4)[0]  # the row of line 4 loses its last four fields
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ProblemError) as error:
        read_hds_csv(path)
    assert str(error.value) == (
        f"{path}, line 4: {len(HDS_COLUMNS) - 4} fields, but the header names {len(HDS_COLUMNS)}; quote a field that "
        "holds a comma"
    )
