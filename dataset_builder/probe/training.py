"""The training traces of the heuristic adapters: every train and validation problem worked by each heuristic.

One row per problem and heuristic: the problem's fields, the heuristic, the prompt exactly as the text-numerals
task asks it (the task's own prompt function on the core's stimulus sentence) and the exact worked solution
(worked.solve), which ends "Final Answer: <product>". Test problems are never traces: an adapter trained on
them would be graded on what it saw.

>>> row = trace_rows([{"problem_id": "p1", "a": 47, "b": 36, "split": "train"}])[1]
>>> row["heuristic"], row["solution"].splitlines()[0]
('DD', 'Break 47 into 40 + 7.')
>>> row["prompt"].endswith("What is 47 times 36?")
True
>>> trace_rows([{"problem_id": "p2", "a": 47, "b": 36, "split": "test"}])
[]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.probe.worked import solve
from dataset_builder.prompts import multiply_prompt
from dataset_builder.stimulus import stimulus

TRACE_SPLITS: tuple[str, ...] = ("train", "validation")
"""The splits whose problems are traces (the test split never is)."""
MODALITY, REPRESENTATION = "text", "numerals"
"""The task whose question a trace answers: text-numerals."""


def prompt(a: int, b: int) -> str:
    """The question of a x b as the text-numerals task asks it (its instruction, then the stimulus)."""
    return multiply_prompt(
        {"modality": MODALITY, "representation": REPRESENTATION, "stimulus": stimulus(a, b, REPRESENTATION)}
    )


def trace_rows(problems: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The traces of the train and validation problems, in their order, each by OT, DD and RC in turn."""
    rows = []
    for problem in problems:
        if problem["split"] not in TRACE_SPLITS:
            continue
        a, b = int(problem["a"]), int(problem["b"])
        question = prompt(a, b)
        for heuristic in HEURISTICS:
            rows.append(
                dict(problem) | {"heuristic": heuristic, "prompt": question, "solution": solve(a, b, heuristic).text}
            )
    return rows
