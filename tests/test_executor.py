"""The worked solutions and the executors: exact when they do not slip, wrong exactly when they do, read as
their heuristic, and run through lm-eval as `mmmult-executor`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from lm_eval.api.instance import Instance

from dataset_builder.probe.bank import PREFIXES
from dataset_builder.probe.costs import HEURISTICS, costs
from dataset_builder.probe.worked import Hand, solve, step_count
from dataset_builder.problems import generate
from dataset_builder.prompts import direct_prompt, multiply_prompt
from dataset_builder.stimulus import stimulus
from mmmult.harness.executor import ExecutorArgsError, ExecutorLM, executor_args
from mmmult.probe_scoring.scores import step_choices
from mmmult.probe_scoring.traces import trace_class
from tests.commands import assert_user_error, mmmult

PROBLEMS = generate()[::7]
"""About 1,500 problems of the default set, every digit length and sparsity."""


def test_every_heuristic_multiplies_every_problem_exactly_without_slips() -> None:
    for problem in PROBLEMS:
        for heuristic in HEURISTICS:
            solution = solve(problem.a, problem.b, heuristic)
            assert solution.answer == problem.product, (problem.a, problem.b, heuristic)
            assert solution.lines[-1] == f"Final Answer: {problem.product}"
            assert solution.slips == ()


def test_worked_solutions_reach_30_digit_operands_exactly_and_name_every_place() -> None:
    a, b = 987_654_321_098_765_432_109_876_543_210, 100_000_000_020_000_000_003_000_000_004
    for heuristic in HEURISTICS:
        solution = solve(a, b, heuristic)
        assert solution.answer == a * b and solution.slips == ()
        assert trace_class(solution.text) == heuristic
        slipped = solve(a, b, heuristic, Hand(1.0, seed=3))
        assert slipped.answer > a * b
    rows = [line for line in solve(a, b, "OT").lines if line.startswith("Row for the ")]
    places = [row.removeprefix("Row for the ").split(" place (")[0] for row in rows]
    assert len(places) == 30 and len(set(places)) == 30
    assert places[:4] == ["ones", "tens", "hundreds", "thousands"]
    assert places[9:11] == ["billions", "ten billions"]
    assert places[-3:] == ["octillions", "ten octillions", "hundred octillions"]


def test_step_counts_are_the_operations_each_procedure_does() -> None:
    # OT: every digit pair, then one addition per further row; DD: each part times every digit of the other
    # factor, then the additions; RC: the base product, the offsets' sum times the base, their product, additions
    assert [step_count(47, 36, h) for h in HEURISTICS] == [2 * 2 + 1, 2 * 2 + 1, 1 + 2 + 1 * 2 + 2]
    assert step_count(8004004, 500, "OT") == 7 * 3 + 2
    assert step_count(8004004, 500, "DD") == 1 * 7 + 0  # 500 is one part
    assert step_count(49, 51, "RC") == 1 + 1 + 1  # 50 x 50, (-1) x 1, one addition; the offsets cancel
    assert step_count(9, 7, "OT") == 1


def test_a_slip_always_raises_the_answer_so_it_is_right_exactly_when_nothing_slipped() -> None:
    wrong = 0
    for index, problem in enumerate(PROBLEMS):
        for heuristic in HEURISTICS:
            solution = solve(problem.a, problem.b, heuristic, Hand(0.05, seed=index))
            assert (solution.answer == problem.product) == (solution.slips == ())
            assert solution.answer >= problem.product
            wrong += solution.answer != problem.product
    assert wrong > 100
    for problem in PROBLEMS[:200]:
        for heuristic in HEURISTICS:
            assert solve(problem.a, problem.b, heuristic, Hand(1.0, seed=1)).answer > problem.product


def test_accuracy_is_one_minus_p_to_the_power_of_the_steps() -> None:
    """Over 4,500 worked solutions at p = 0.03 the number right is within 4 standard deviations of the sum of
    (1 - p) ** steps (the draws are seeded: this is one fixed outcome, not a flaky one)."""
    p = 0.03
    right, expected, variance = 0, 0.0, 0.0
    for index, problem in enumerate(PROBLEMS):
        for heuristic in HEURISTICS:
            chance = (1 - p) ** step_count(problem.a, problem.b, heuristic)
            right += solve(problem.a, problem.b, heuristic, Hand(p, seed=f"t{index}")).answer == problem.product
            expected += chance
            variance += chance * (1 - chance)
    assert abs(right - expected) < 4 * math.sqrt(variance)


def test_a_worked_solution_is_read_as_its_own_heuristic_slips_or_not() -> None:
    for index, problem in enumerate(PROBLEMS):
        for heuristic in HEURISTICS:
            text = solve(problem.a, problem.b, heuristic, Hand(0.1, seed=index)).text
            assert trace_class(text) == heuristic, text


def test_the_same_hand_seed_writes_the_same_solution() -> None:
    first = solve(987654, 123, "OT", Hand(0.2, seed="x"))
    assert solve(987654, 123, "OT", Hand(0.2, seed="x")) == first
    assert first.slips  # 18 + 2 operations at 0.2: a slip is all but certain, and this seed makes some


def test_bad_heuristics_step_errors_and_operands_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown heuristic 'XY': one of OT, DD, RC"):
        solve(4, 5, "XY")
    with pytest.raises(ValueError, match="positive integers, got 0 x 5"):
        solve(0, 5, "OT")
    for p in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="a step error is a probability from 0 to 1"):
            Hand(p)


@pytest.mark.parametrize(
    ("heuristic", "step_error", "seed", "message"),
    [
        ("XY", "0.1", "0", "unknown heuristic 'XY'; use heuristic=OT, DD or RC"),
        ("OT", "1.5", "0", "step_error='1.5' is outside [0, 1]"),
        ("OT", -0.1, "0", "step_error=-0.1 is outside [0, 1]"),
        ("OT", "nan", "0", "step_error='nan' is outside [0, 1]"),
        ("OT", "often", "0", "step_error='often' is not a number"),
        ("OT", "0.1", "x", "seed='x' is not a whole number"),
    ],
)
def test_the_executor_refuses_bad_model_args(heuristic: object, step_error: object, seed: object, message: str) -> None:
    with pytest.raises(ExecutorArgsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        executor_args(heuristic, step_error, seed)


def test_the_executor_accepts_its_args_in_any_case() -> None:
    assert executor_args("dd", "0.25", "7") == ("DD", 0.25, 7)
    model = ExecutorLM(heuristic="rc", step_error=0, seed=3)
    assert model.get_model_info() == {"heuristic": "RC", "step_error": 0.0, "seed": 3}


def test_the_executor_prefers_its_own_heuristic_and_its_own_correct_step() -> None:
    model = ExecutorLM(heuristic="RC")
    first_prefixes = {h: model.loss(47, 36, prefixes[0]) for h, prefixes in PREFIXES.items()}
    assert first_prefixes == {"OT": 2.0, "DD": 2.0, "RC": 1.0, "neutral": 1.5}
    losses = {(h, step.correct): model.loss(47, 36, step.text) for h, step in step_choices(47, 36)}
    assert losses == {("OT", True): 1.5, ("OT", False): 1.5, ("DD", True): 1.5, ("DD", False): 1.5,
                      ("RC", True): 1.0, ("RC", False): 2.0}  # fmt: skip


def test_a_bad_executor_argument_ends_mmmult_eval_with_the_reason(small_build: Path) -> None:
    data = json.dumps({"data": str(small_build)})
    model = ["--model", "mmmult-executor", "--model_args", "heuristic=OT,step_error=2"]
    result = mmmult("eval", *model, "--tasks", "mmmult_text_numerals", "--metadata", data)
    assert_user_error(result, "mmmult-executor: step_error=2 is outside [0, 1]; use a probability from 0 to 1")


def ask(model: ExecutorLM, a: int, b: int, task: str, prompt=direct_prompt) -> str:
    """The executor's response to one text request of `task` on a x b, as lm-eval would send it."""
    doc = {"modality": "text", "stimulus": stimulus(a, b, "numerals")}
    return model.answer(Instance("generate_until", doc, (prompt(doc), {}), 0, metadata=(task, 0, 1)))


def test_the_executor_without_slips_is_exact_in_both_regimes() -> None:
    for heuristic in HEURISTICS:
        model = ExecutorLM(heuristic=heuristic, step_error=0)
        for problem in PROBLEMS[::10]:
            a, b = problem.a, problem.b
            assert ask(model, a, b, "mmmult_direct_text_numerals") == f"Final Answer: {problem.product}"
            worked = ask(model, a, b, "mmmult_text_numerals", multiply_prompt)
            assert worked == f"Numbers: {a}, {b}\n{solve(a, b, heuristic).text}"


def test_the_direct_answer_is_the_one_its_worked_solution_reaches_slips_and_all() -> None:
    """Asked for the product alone, the executor still works (and slips) in its head: over 4,500 answers at
    p = 0.03 its direct answer is its slipped solution's, the last line only, and the number right is within
    4 standard deviations of the sum of (1 - p) ** steps, as in the worked regime."""
    p, right, expected, variance = 0.03, 0, 0.0, 0.0
    for heuristic in HEURISTICS:
        model = ExecutorLM(heuristic=heuristic, step_error=p, seed=9)
        for problem in PROBLEMS:
            a, b = problem.a, problem.b
            answer = ask(model, a, b, "mmmult_direct_text_numerals")
            solution = solve(a, b, heuristic, Hand(p, seed=f"9:mmmult_direct_text_numerals:{a}:{b}"))
            assert answer == solution.lines[-1] == f"Final Answer: {solution.answer}"
            right += answer == f"Final Answer: {problem.product}"
            chance = (1 - p) ** solution.steps
            expected += chance
            variance += chance * (1 - chance)
    assert abs(right - expected) < 4 * math.sqrt(variance)
    assert right < len(PROBLEMS) * len(HEURISTICS)


EXECUTOR_TASKS = (
    "mmmult_text_numerals,mmmult_direct_text_numerals,mmmult_perceive_text_words,mmmult_probe_text,"
    "mmmult_steps_text,mmmult_hds_text"
)


def test_the_executor_runs_through_lm_eval_as_its_heuristic(small_build: Path, tmp_path: Path) -> None:
    """A DD executor slipping at 0.1: its responses are the worked solutions of what it read, with the slips of
    its seed; it reads every problem, prefers DD on the loss probe, its correct DD step on the step probe, and
    its worked answers on the HDS are all read as DD."""
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-executor", "--model_args"]
    command += ["heuristic=DD,step_error=0.1,seed=5", "--tasks", EXECUTOR_TASKS, "--log_samples"]
    command += ["--metadata", json.dumps({"data": str(small_build)}), "--output_path", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    (results_file,) = tmp_path.rglob("results_*.json")
    report = json.loads(results_file.read_text())
    results = report["results"]
    assert report["config"]["heuristic"] == "DD"
    assert results["mmmult_perceive_text_words"]["perceive_both,numbers"] == 1.0
    assert results["mmmult_probe_text"]["prefers_DD,none"] == 1.0
    assert results["mmmult_steps_text"]["prefers_correct_DD,none"] == 1.0
    assert results["mmmult_hds_text"]["trace_DD,none"] == 1.0
    (samples_file,) = tmp_path.rglob("samples_mmmult_text_numerals_*.jsonl")
    samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
    right = 0
    for sample in samples:
        doc = sample["doc"]
        solution = solve(doc["a"], doc["b"], "DD", Hand(0.1, seed=f"5:mmmult_text_numerals:{doc['a']}:{doc['b']}"))
        assert sample["resps"][0][0] == f"Numbers: {doc['a']}, {doc['b']}\n{solution.text}"
        assert sample["exact_match"] == int(not solution.slips)
        right += not solution.slips
    assert results["mmmult_text_numerals"]["exact_match,final-integer"] == pytest.approx(right / len(samples))
    assert 0 < right < len(samples)
    (direct_file,) = tmp_path.rglob("samples_mmmult_direct_text_numerals_*.jsonl")
    right = 0
    for sample in map(json.loads, direct_file.read_text().splitlines()):
        a, b = sample["doc"]["a"], sample["doc"]["b"]
        solution = solve(a, b, "DD", Hand(0.1, seed=f"5:mmmult_direct_text_numerals:{a}:{b}"))
        assert sample["resps"][0][0] == f"Final Answer: {solution.answer}"
        assert sample["exact_match"] == int(not solution.slips)
        right += not solution.slips
    assert results["mmmult_direct_text_numerals"]["exact_match,final-integer"] == pytest.approx(right / len(samples))
    assert 0 < right < len(samples)
    assert any(costs(s["doc"]["a"], s["doc"]["b"]).label != "DD" for s in samples)  # it keeps to DD regardless
