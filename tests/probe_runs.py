"""Simulated runs of the heuristic probe's tasks in the files lm-eval writes, for the board's in-process tests.

The loss and step tasks log one log-likelihood per continuation (multiple choice), the fingerprint
tasks a worked answer (as the multiplication tasks do). tests/test_procedures.py checks the
board against a real lm-eval run of the probe; these runs need neither lm-eval nor a media build.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dataset_builder.configs import CONFIGS
from dataset_builder.probe.sets import generate_hds, generate_traps
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import FINGERPRINT, PROBE, PROBE_TASKS, STEPS, Task
from mmmult.probe_scoring.scores import PROBE_CHOICES, step_choices
from tests.simulate import DATE

LossPerByte = Callable[[Task, dict[str, Any], str, bool], float]
"""A model of the loss tasks: the loss per byte it gives one continuation (its heuristic, or whether the
step is correct) of one item."""


def probe_sets(hds: int = 6, traps: int = 4) -> dict[str, dict[str, dict[str, Any]]]:
    """The first test items of the published probe sets, as a board holds them (Benchmark.probe)."""
    hds_rows = [item.row() for item in generate_hds() if item.split == "test"][:hds]
    trap_rows = [trap.row() for trap in generate_traps()][:traps]
    return {"hds": {r["problem_id"]: r for r in hds_rows}, "traps": {r["problem_id"]: r for r in trap_rows}}


def oracle(task: Task, item: dict[str, Any], heuristic: str, correct: bool) -> float:
    """Likeliest on the item's canonical heuristic and on correct steps (1 nat per byte), 2 elsewhere,
    1.5 on the neutral prefix."""
    if task.kind is STEPS:
        return 1.0 if correct else 2.0
    return {item["canonical_target_heuristic"]: 1.0, "neutral": 1.5}.get(heuristic, 2.0)


Tokens = Callable[[dict[str, Any], str, str], int]
"""A tokenizer of the loss tasks: how many tokens a continuation (item, its heuristic, its text) took."""


def probe_line(
    task: Task, item: dict[str, Any], doc_id: int, loss: LossPerByte, answer: str, tokens: Tokens | None = None
) -> dict[str, Any]:
    config = CONFIGS[task.config]
    a, b = int(item["a"]), int(item["b"])
    doc = {**item, "modality": config.modality, "representation": config.representation,
           "stimulus": stimulus(a, b, str(config.representation))}  # fmt: skip
    if task.kind is FINGERPRINT:
        return {"doc_id": doc_id, "doc": doc, "target": str(item["product"]), "resps": [[answer]]}
    if task.kind is PROBE:
        choices = [(heuristic, prefix, False) for heuristic, prefix in PROBE_CHOICES]
    else:
        choices = [(heuristic, step.text, step.correct) for heuristic, step in step_choices(a, b)]
    arguments, resps = {}, []
    for index, (heuristic, text, correct) in enumerate(choices):
        arguments[f"gen_args_{index}"] = {"arg_0": f"{doc['stimulus']}\nWorking:", "arg_1": f" {text}"}
        resp = [str(-loss(task, item, heuristic, correct) * len(text.encode())), "False"]
        resps.append([resp if tokens is None else [*resp, str(tokens(item, heuristic, text))]])
    return {"doc_id": doc_id, "doc": doc, "target": 0, "arguments": arguments, "resps": resps}


def probe_files(
    sets: dict[str, dict[str, dict[str, Any]]],
    tasks: list[str],
    claims: dict[str, float],
    loss: LossPerByte = oracle,
    answer: Callable[[dict[str, Any]], str] = lambda item: f"Final Answer: {item['a'] * item['b']}",
    tokens: Tokens | None = None,
) -> list[tuple[str, bytes]]:
    """results_*.json (claiming `claims[task]` as each task's headline) and samples_<task>_*.jsonl of a run
    (with token counts after each log-likelihood, as mmmult's model classes log them, when `tokens` is given)."""
    files, results = [], {}
    for name in tasks:
        task = PROBE_TASKS[name]
        items = sets[str(CONFIGS[task.config].items)].values()
        lines = [probe_line(task, item, i, loss, answer(item), tokens) for i, item in enumerate(items)]
        files.append((f"samples_{name}_{DATE}.jsonl", "".join(json.dumps(line) + "\n" for line in lines).encode()))
        results[name] = {"alias": name, task.headline_key: claims[name]}
    summary = {"results": results, "versions": {name: PROBE_TASKS[name].version for name in tasks},
               "model_name": "probed", "date": 1764374400.0}  # fmt: skip
    return [(f"results_{DATE}.json", json.dumps(summary).encode()), *files]
