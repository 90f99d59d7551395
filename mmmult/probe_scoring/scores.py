"""Scoring the probe's three tasks from what lm-eval logs: the log-likelihoods of the choices (the loss
probe, the step probe) or the response (the fingerprint). The tasks and the Space both call these.

Losses are per byte of the continuation (the choice as written, without lm-eval's delimiter, as
lm-eval's own `acc_bytes` counts it): a model's tokenizer does not enter, so figures compare across
model families. The paper averaged per token; lm-eval passes a task no token counts, so the loss
probe's metrics are also given per token (suffix `_per_token`) where the model reports them (the
classes `mmmult eval` runs: harness/loglikelihood.py), and left out where it does not.

>>> lls = [-8.0 * len(prefix.encode()) if h == "DD" else -9.0 * len(prefix.encode()) for h, prefix in PROBE_CHOICES]
>>> scores = score_probe({"design_family": "DD", "canonical_target_heuristic": "DD"}, lls)
>>> scores["prefers_DD"], scores["detect_DD"], scores["detect_OT"], scores["match"], scores["delta_DD"]
(1, 1, None, 1, -1.0)
>>> "match_per_token" in scores
False
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dataset_builder.answers import extract_answer
from dataset_builder.probe.bank import PREFIXES
from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.probe.steps import Step, first_steps
from mmmult.probe_scoring.traces import ERROR_SHAPES, error_shape, trace_class

NEUTRAL = "neutral"
PROBE_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (h, prefix) for h, prefixes in PREFIXES.items() for prefix in prefixes
)
"""The loss probe's continuations, in the order every item offers them: (heuristic or "neutral", prefix)."""

PROBE_METRICS: tuple[str, ...] = (
    *(f"prefers_{h}" for h in HEURISTICS),
    "match",
    "support",
    "neutral_loss",
    *(f"delta_{h}" for h in HEURISTICS),
)
"""Means over every item: the share whose lowest-loss heuristic is h; agreement of that argmin with the
cost-model optimum; softmax(-loss) mass on the item's family; the neutral prefix's loss; h's loss minus
the neutral loss (negative: h is likelier than a generic start)."""
DETECTION_METRICS: tuple[str, ...] = tuple(f"detect_{h}" for h in HEURISTICS)
"""Means over the items of one design family only: the share whose argmin is that family."""
PER_TOKEN = "_per_token"
"""The suffix of the same metrics from losses per token, where the model reports its token counts."""
PROBE_METRICS_PER_TOKEN = tuple(name + PER_TOKEN for name in PROBE_METRICS)
DETECTION_METRICS_PER_TOKEN = tuple(name + PER_TOKEN for name in DETECTION_METRICS)
LOWER_IS_BETTER = frozenset(
    name + suffix for name in ("neutral_loss", *(f"delta_{h}" for h in HEURISTICS)) for suffix in ("", PER_TOKEN)
)
"""Losses: lower means likelier, which lm-eval's higher_is_better should not call worse."""

STEP_METRICS: tuple[str, ...] = ("prefers_correct", *(f"prefers_correct_{h}" for h in HEURISTICS), "gap",
                                 *(f"gap_{h}" for h in HEURISTICS))  # fmt: skip
"""Per item and heuristic, the correct first step is preferred when its loss is below the mean loss of
its wrong versions; the gap is that mean wrong loss minus the correct loss. Unsuffixed: over the three."""

TRACE_METRICS: tuple[str, ...] = ("exact_match", *(f"trace_{h}" for h in (*HEURISTICS, "unknown")), "trace_target")
"""Exact accuracy, the share of responses whose words follow each procedure, and the share that follow
the item's target heuristic."""
SHAPE_METRICS: tuple[str, ...] = tuple(f"shape_{shape.replace(' ', '_')}" for shape in ERROR_SHAPES)
"""Means over wrong answers only: the share of each error shape."""


def byte_losses(lls: Sequence[float], continuations: Sequence[str]) -> list[float]:
    """Per-byte loss of each continuation from its total log-likelihood."""
    return [-ll / len(text.encode()) for ll, text in zip(lls, continuations, strict=True)]


def heuristic_losses(lls: Sequence[float], lengths: Sequence[int] | None = None) -> dict[str, float]:
    """The mean loss of each heuristic's prefixes, and of the neutral prefix(es): per byte, or per unit of
    `lengths` (the continuations' token counts) when given."""
    texts = [prefix for _, prefix in PROBE_CHOICES]
    units = [len(text.encode()) for text in texts] if lengths is None else lengths
    by_heuristic: dict[str, list[float]] = {}
    for (heuristic, _), ll, unit in zip(PROBE_CHOICES, lls, units, strict=True):
        by_heuristic.setdefault(heuristic, []).append(-ll / unit)
    return {h: sum(values) / len(values) for h, values in by_heuristic.items()}


def split_results(results: Sequence[Sequence[Any]]) -> tuple[list[float], list[int] | None]:
    """lm-eval's results for one item's continuations, (log-likelihood, is-greedy[, token count]), as the
    log-likelihoods and, when every continuation reports one, the token counts."""
    lls = [float(result[0]) for result in results]
    if all(len(result) > 2 for result in results):
        return lls, [int(result[2]) for result in results]
    return lls, None


def score_probe(
    doc: dict[str, Any], lls: Sequence[float], tokens: Sequence[int] | None = None
) -> dict[str, float | int | None]:
    """The loss probe's metrics for one item from the log-likelihoods of PROBE_CHOICES (and, given the
    continuations' token counts, the same metrics per token)."""
    if len(lls) != len(PROBE_CHOICES):
        raise ValueError(f"the loss probe scores {len(PROBE_CHOICES)} continuations per item, got {len(lls)}")
    scores = _loss_scores(doc, heuristic_losses(lls))
    if tokens is None:
        return scores
    per_token = _loss_scores(doc, heuristic_losses(lls, tokens))
    return scores | {name + PER_TOKEN: value for name, value in per_token.items()}


def _loss_scores(doc: dict[str, Any], losses: dict[str, float]) -> dict[str, float | int | None]:
    preferred = min(HEURISTICS, key=lambda h: losses[h])
    weights = {h: math.exp(-(losses[h] - losses[preferred])) for h in HEURISTICS}
    family = doc["design_family"]
    scores: dict[str, float | int | None] = {f"prefers_{h}": int(preferred == h) for h in HEURISTICS}
    scores |= {
        "match": int(preferred == doc["canonical_target_heuristic"]),
        "support": weights[family] / sum(weights.values()),
        "neutral_loss": losses[NEUTRAL],
    }
    scores |= {f"delta_{h}": losses[h] - losses[NEUTRAL] for h in HEURISTICS}
    return scores | {f"detect_{h}": int(preferred == h) if family == h else None for h in HEURISTICS}


def step_choices(a: int, b: int) -> list[tuple[str, Step]]:
    """The step probe's continuations for a x b: each heuristic's correct first step, then its wrong ones."""
    return [(heuristic, step) for heuristic, steps in first_steps(a, b).items() for step in steps]


def score_steps(doc: dict[str, Any], lls: Sequence[float]) -> dict[str, float | int]:
    """The step probe's metrics for one item from the log-likelihoods of its step_choices, in order."""
    choices = step_choices(int(doc["a"]), int(doc["b"]))
    if len(lls) != len(choices):
        raise ValueError(f"item {doc['problem_id']} has {len(choices)} steps to score, got {len(lls)}")
    losses = byte_losses(lls, [step.text for _, step in choices])
    scores: dict[str, float | int] = {}
    for heuristic in HEURISTICS:
        mine = [(step, loss) for (h, step), loss in zip(choices, losses, strict=True) if h == heuristic]
        right = next(loss for step, loss in mine if step.correct)
        wrong = [loss for step, loss in mine if not step.correct]
        gap = sum(wrong) / len(wrong) - right
        scores |= {f"prefers_correct_{heuristic}": int(gap > 0), f"gap_{heuristic}": gap}
    return scores | {
        "prefers_correct": sum(scores[f"prefers_correct_{h}"] for h in HEURISTICS) / len(HEURISTICS),
        "gap": sum(scores[f"gap_{h}"] for h in HEURISTICS) / len(HEURISTICS),
    }


def score_trace(doc: dict[str, Any], response: str) -> dict[str, float | int | None]:
    """The fingerprint's metrics for one worked answer: exactness, trace class, and a wrong answer's shape.

    The board runs it on the multiplication tasks' responses too, where there is no target heuristic."""
    answer, a, b = extract_answer(response), int(doc["a"]), int(doc["b"])
    traced = trace_class(response)
    scores: dict[str, float | int | None] = {"exact_match": int(answer == a * b)}
    scores |= {f"trace_{h}": int(traced == h) for h in (*HEURISTICS, "unknown")}
    target = doc.get("target_heuristic")  # the benchmark's own problems have none
    scores["trace_target"] = None if target is None else int(traced == target)
    shape = None if answer is None or answer == a * b else error_shape(a, b, answer)
    return scores | {metric: None if shape is None else int(shape == name)
                     for metric, name in zip(SHAPE_METRICS, ERROR_SHAPES, strict=True)}  # fmt: skip
