"""Re-scoring the heuristic probe's samples: what an upload's probe tasks logged, checked and scored again.

A probe sample is re-scored from what lm-eval logged, with the project's own scoring
(mmmult.probe_scoring.scores): for the loss and step tasks, the log-likelihood of each
continuation, after checking that the logged continuations are the ones the task offers, in its
order (a reordered or edited bank would credit the wrong heuristic); for the fingerprint tasks,
the worked answer. The Procedures view's tables are statistics/procedures.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dataset_builder.configs import CONFIGS
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import FINGERPRINT, PROBE, STEPS, Task
from mmmult.leaderboard.intake.schema import ChoiceSample, ProbeDoc, Sample, SchemaError, parse_json, validate
from mmmult.leaderboard.intake.upload import Rejected
from mmmult.probe_scoring.scores import PROBE_CHOICES, score_probe, score_steps, score_trace, step_choices


@dataclass
class ProcedureItem:
    """One re-scored probe sample: its item, the item's group (design family or trap type), its metrics."""

    task: str
    problem_id: str
    group: str
    metrics: dict[str, float | int | None]


def rescore_procedure(
    task: Task, file: str, lines: Iterable[tuple[int, bytes]], items: dict[str, dict[str, Any]]
) -> tuple[list[ProcedureItem], list[tuple[str, str, str]]]:
    """Every sample of one probe task re-scored, and (task, item, sha256 of the line) for duplicate detection."""
    scored: list[ProcedureItem] = []
    digests: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for number, line in lines:
        where = f"{file}, line {number}"
        try:
            sample = validate(Sample if task.kind is FINGERPRINT else ChoiceSample, parse_json(line, where), where)
        except SchemaError as error:
            raise Rejected(str(error)) from None
        item = _item_of(sample.doc, items, task, where, seen)
        if task.kind is FINGERPRINT:
            if sample.doc.product != int(item["product"]) or sample.target != str(item["product"]):
                raise Rejected(f"{where}: the product or target of {item['problem_id']} was changed")
            metrics = score_trace(item, sample.response)
        else:
            lls, tokens = _log_likelihoods(sample, _continuations(task, item), where)
            metrics = score_probe(item, lls, tokens) if task.kind is PROBE else score_steps(item, lls)
        group = str(item.get("design_family") or item.get("trap_type"))
        scored.append(ProcedureItem(task.name, item["problem_id"], group, metrics))
        digests.append((task.name, item["problem_id"], hashlib.sha256(line.strip()).hexdigest()))
    absent = len(items) - len(seen)
    if absent:
        raise Rejected(f"{task.name}: {absent} of {len(items)} test items have no sample: run without --limit")
    return scored, digests


def _item_of(doc: ProbeDoc, items: dict[str, dict[str, Any]], task: Task, where: str, seen: set[str]) -> dict[str, Any]:
    """The probe item a sample's doc names, checked: same operands, asked in the task's channel and form."""
    item = items.get(doc.problem_id)
    if item is None:
        raise Rejected(f"{where}: {doc.problem_id!r} is not a test item of this board's {task.config} set")
    if doc.problem_id in seen:
        raise Rejected(f"{where}: item {doc.problem_id} appears twice in the samples of {task.name}")
    seen.add(doc.problem_id)
    if (doc.a, doc.b) != (int(item["a"]), int(item["b"])):
        raise Rejected(f"{where}: item {doc.problem_id} is {item['a']} x {item['b']}, not {doc.a} x {doc.b}")
    config = CONFIGS[task.config]
    if (doc.modality, doc.representation, doc.stimulus) != (
        config.modality, config.representation, stimulus(doc.a, doc.b, str(config.representation))):  # fmt: skip
        raise Rejected(
            f"{where}: item {doc.problem_id} was not asked as {task.config} asks it: upload each task's own samples"
        )
    return item


def _continuations(task: Task, item: dict[str, Any]) -> list[str]:
    if task.kind is STEPS:
        return [step.text for _, step in step_choices(int(item["a"]), int(item["b"]))]
    return [prefix for _, prefix in PROBE_CHOICES]


def _log_likelihoods(sample: ChoiceSample, expected: list[str], where: str) -> tuple[list[float], list[int] | None]:
    """The logged log-likelihoods, once the logged continuations are shown to be `expected`, in order, and the
    continuations' token counts where the model logged them for every one."""
    if len(sample.resps) != len(expected):
        raise Rejected(f"{where}: {len(sample.resps)} log-likelihoods for the task's {len(expected)} continuations")
    lls, tokens = [], []
    for index, (text, resp) in enumerate(zip(expected, sample.resps, strict=True)):
        request = sample.arguments.get(f"gen_args_{index}")
        if request is None or request.arg_1.strip() != text:
            got = None if request is None else request.arg_1.strip()
            raise Rejected(
                f"{where}: continuation {index} is {got!r}, not {text!r}: upload the unmodified lm-eval output"
            )
        try:
            value = float(resp[0][0])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value > 0:
            raise Rejected(
                f"{where}: log-likelihood {resp[0][0][:30]!r} of continuation {index} is not a finite number <= 0"
            )
        lls.append(value)
        if len(resp[0]) > 2:
            tokens.append(_token_count(resp[0][2], len(text.encode()), f"{where}: continuation {index}"))
    if tokens and len(tokens) != len(lls):
        raise Rejected(f"{where}: {len(tokens)} of {len(lls)} continuations report a token count: all or none do")
    return lls, tokens or None


def _token_count(logged: str, size: int, where: str) -> int:
    """A logged token count: a whole number from 1 to the continuation's bytes (a token covers one byte or more,
    and the delimiter space may add one)."""
    if not re.fullmatch(r"[0-9]{1,6}", logged) or not 1 <= int(logged) <= size + 1:  # str.isdigit takes '²'
        raise Rejected(f"{where}: token count {logged[:30]!r} is not a whole number from 1 to {size + 1}")
    return int(logged)


def headline(items: list[ProcedureItem], task: Task) -> float:
    """The task's headline (match, prefers_correct or exact_match) over its re-scored items."""
    values = [float(item.metrics[task.headline] or 0.0) for item in items]
    return sum(values) / len(values)


def metrics_json(item: ProcedureItem) -> str:
    return json.dumps(item.metrics, sort_keys=True)
