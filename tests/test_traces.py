"""The traces config: worked training solutions of the train and validation problems, one per heuristic."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import datasets
import pytest

from dataset_builder.answers import extract_answer
from dataset_builder.configs import PROBLEM_TYPES, TRACE_TYPES
from dataset_builder.prompts import multiply_prompt
from mmmult.probe_scoring.traces import trace_class
from tests.commands import assert_user_error, mmmult, mmmult_here


@pytest.fixture(scope="module")
def traces_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mmmult build --configs traces,problems,text-numerals` as a user runs it: 60 problems of up to 5 digits."""
    out = tmp_path_factory.mktemp("traces") / "build"
    result = mmmult("build", "--out", str(out), "--configs", "traces,problems,text-numerals", "--max-digits", "5",
                    "--limit", "60")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def rows(build: Path, config: str) -> list[dict]:
    return [row for split in datasets.load_dataset(str(build), config).values() for row in split]


def test_traces_load_with_load_dataset_train_and_validation_only(traces_build: Path) -> None:
    train = datasets.load_dataset(str(traces_build), "traces", split="train")
    assert list(train.features) == list(TRACE_TYPES)
    assert set(datasets.load_dataset(str(traces_build), "traces")) == {"train", "validation"}
    problems = rows(traces_build, "problems")
    assert len(train) == 3 * sum(p["split"] == "train" for p in problems)


def test_every_train_and_validation_problem_has_one_trace_per_heuristic_and_no_test_problem_has_any(
    traces_build: Path,
) -> None:
    problems = {p["problem_id"]: p for p in rows(traces_build, "problems") if p["split"] != "mini"}
    traces = rows(traces_build, "traces")
    test_ids = {pid for pid, p in problems.items() if p["split"] == "test"}
    assert test_ids and not test_ids & {t["problem_id"] for t in traces}
    counts = Counter(t["problem_id"] for t in traces)
    assert counts == {pid: 3 for pid, p in problems.items() if p["split"] in ("train", "validation")}
    assert Counter((t["problem_id"], t["heuristic"]) for t in traces).most_common(1)[0][1] == 1
    for trace in traces:
        assert {name: trace[name] for name in PROBLEM_TYPES} == problems[trace["problem_id"]]


def test_each_solution_is_exact_and_reads_as_its_own_heuristic(traces_build: Path) -> None:
    traces = rows(traces_build, "traces")
    assert [extract_answer(t["solution"]) for t in traces] == [t["product"] for t in traces]
    assert [trace_class(t["solution"]) for t in traces] == [t["heuristic"] for t in traces]
    assert Counter(t["heuristic"] for t in traces) == dict.fromkeys(("OT", "DD", "RC"), len(traces) // 3)


def test_the_prompt_is_the_text_numerals_task_s_question(traces_build: Path) -> None:
    asked = {row["problem_id"]: multiply_prompt(row) for row in rows(traces_build, "text-numerals")}
    traces = rows(traces_build, "traces")
    assert [t["prompt"] for t in traces] == [asked[t["problem_id"]] for t in traces]


def test_a_build_whose_problems_are_all_test_has_no_traces_to_write(tmp_path: Path) -> None:
    source = tmp_path / "test-only.csv"
    source.write_text("a,b,split\n47,36,test\n12,34,test\n")
    result = mmmult_here("build", "--out", str(tmp_path / "out"), "--configs", "traces", "--from-csv", str(source))
    assert_user_error(result, "the traces config needs train or validation problems")
