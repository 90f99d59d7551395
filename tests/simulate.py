"""Simulated submissions with a known truth, in exactly the files lm-eval writes.

The board's statistics are checked by simulation (benchmarks/statistics.py, the tests): a model
whose chance of a right answer is a known function of C answers the benchmark's real test
problems, its run is written as results_*.json and samples_*.jsonl files, and those files go
through the same ingest path as any upload. No `datasets` or lm-eval is needed.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dataset_builder.answers import extract_operands
from dataset_builder.configs import CONFIGS
from dataset_builder.problems import C_EDGES, Problem, band_of
from dataset_builder.scoring import band_scores, score_perception, score_response
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import MULTIPLY, TASKS, Task

Responder = Callable[[Task, Mapping[str, Any]], str]
"""A model: the response it gives to one problem in one task."""
DATE = "2026-11-29T00-00-00.000000"


def right(task: Task, problem: Mapping[str, Any]) -> str:
    """The response of a model that reads and multiplies every problem correctly."""
    a, b = int(problem["a"]), int(problem["b"])
    return f"Numbers: {a}, {b}\n{a} x {b} = {a * b}\nFinal Answer: {a * b}"


def wrong(task: Task, problem: Mapping[str, Any]) -> str:
    """A response that is wrong in both ways: a misread operand and a product off by one."""
    a, b = int(problem["a"]), int(problem["b"])
    return f"Numbers: {a}, {b + 1}\nFinal Answer: {a * b + 1}"


def logistic_accuracy(C: float, c50: float, slope: float) -> float:
    """P(correct) = 1 / (1 + exp(slope * (C - c50))): 1/2 at C = c50, falling with C when slope > 0."""
    return 1.0 / (1.0 + math.exp(min(700.0, slope * (C - c50))))


def logistic_model(c50: float, slope: float, seed: int, read: float = 1.0) -> Responder:
    """A model right with probability logistic_accuracy(C), and reading both operands with probability `read`.

    The draw of each (task, problem) is seeded by both, so the same model answers the same item
    the same way in every run and the outcomes of different tasks are independent.
    """

    def respond(task: Task, problem: Mapping[str, Any]) -> str:
        draw = random.Random(f"{seed}:{task.name}:{problem['problem_id']}").random()
        chance = logistic_accuracy(float(problem["C"]), c50, slope) if task.kind is MULTIPLY else read
        return right(task, problem) if draw < chance else wrong(task, problem)

    return respond


def sample(task: Task, problem: Mapping[str, Any], doc_id: int, response: str) -> dict[str, Any]:
    """One samples line as lm-eval writes it for this benchmark's tasks."""
    config = CONFIGS[task.config]
    doc = dict(problem) | {
        "representation": config.representation,
        "modality": config.modality,
        "stimulus": stimulus(int(problem["a"]), int(problem["b"]), str(config.representation)),
    }
    if task.kind is MULTIPLY:
        scores = score_response(response, int(problem["product"]))
        metrics = scores | band_scores(int(scores["exact_match"]), int(problem["C"]), int(problem["digit_total"]))
    else:
        metrics = score_perception(extract_operands(response), int(problem["a"]), int(problem["b"]))
    target = str(problem["product"])
    prompt = f"({task.name}) {doc['stimulus']}"
    return {
        "doc_id": doc_id,
        "doc": doc,
        "target": target,
        "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {"until": ["<|endoftext|>"], "do_sample": False}}},
        "resps": [[response]],
        "filtered_resps": [response],
        "filter": task.filter,
        "metrics": list(metrics),
        "doc_hash": hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest(),
        "prompt_hash": hashlib.sha256(prompt.encode()).hexdigest(),
        "target_hash": hashlib.sha256(target.encode()).hexdigest(),
        **metrics,
    }


def lm_eval_files(
    problems: Mapping[str, Mapping[str, Any]],
    tasks: Sequence[str],
    respond: Responder,
    model_name: str = "simulated",
) -> list[tuple[str, bytes]]:
    """The results_*.json and samples_<task>_*.jsonl of one run of `respond` on every problem of `tasks`."""
    files, results = [], {}
    for name in tasks:
        task = TASKS[name]
        lines = [sample(task, p, i, respond(task, p)) for i, p in enumerate(problems.values())]
        metrics: dict[str, list[float]] = {}
        for line in lines:
            for metric in line["metrics"]:
                if line[metric] is not None:
                    metrics.setdefault(metric, []).append(float(line[metric]))
        entry: dict[str, Any] = {"alias": task.config, "name": name, "sample_len": len(lines)}
        for metric in lines[0]["metrics"]:
            values = metrics.get(metric, [])
            entry[f"{metric},{task.filter}"] = sum(values) / len(values) if values else math.nan
            entry[f"{metric}_stderr,{task.filter}"] = "N/A"
        results[name] = entry
        body = "".join(json.dumps(line) + "\n" for line in lines)
        files.append((f"samples_{name}_{DATE}.jsonl", body.encode()))
    summary = {
        "results": results,
        "versions": {name: TASKS[name].version for name in tasks},
        "n-samples": {name: {"original": len(problems), "effective": len(problems)} for name in tasks},
        "model_name": model_name,
        "date": 1764374400.0,
    }
    files.insert(0, (f"results_{DATE}.json", json.dumps(summary, indent=2).encode()))
    return files


@dataclass(frozen=True)
class Truth:
    """A model's true chance of a right answer: logistic in C, 1/2 at `c50`, falling by `slope` per unit of C."""

    c50: float
    slope: float

    def accuracy(self, C: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(np.clip(self.slope * (C - self.c50), -700, 700)))

    @property
    def coefficients(self) -> tuple[float, float]:
        """(b0, b1) of the board's parametrisation 1 / (1 + exp(-(b0 + b1 C)))."""
        return self.slope * self.c50, -self.slope


@dataclass(frozen=True)
class DoublingTruth:
    """A model whose accuracy falls from 90% to 10% over a doubling of C around `c50` (logistic in log C).

    Its curve is not the board's logistic in C, so its slope has no true value; C50 has.
    """

    c50: float

    def accuracy(self, C: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(np.clip(2 * math.log(9) * np.log2(np.asarray(C) / self.c50), -700, 700)))


def outcomes(
    loads: np.ndarray, truth: Truth | DoublingTruth, configs: int, shared: float, rng: np.random.Generator
) -> pd.DataFrame:
    """One simulated run: each problem answered in `configs` configs, right with the truth's chance.

    With `shared` = 1 every config of a problem has the same outcome, with 0 they are independent;
    each outcome keeps its marginal chance either way.
    """
    n = len(loads)
    common = rng.random(n)
    own = rng.random((configs, n))
    use_common = rng.random((configs, n)) < shared
    draws = np.where(use_common, common, own)
    chance = truth.accuracy(loads)
    return pd.DataFrame(
        {
            "problem_id": np.tile(np.arange(n), configs),
            "config": np.repeat(np.arange(configs), n),
            "C": np.tile(loads, configs),
            "correct": (draws < chance).astype(int).ravel(),
        }
    )


def coverage(
    loads: np.ndarray,
    truth: Truth | DoublingTruth,
    configs: int,
    shared: float,
    reps: int,
    seed: int,
    clustered: bool = True,
) -> dict[str, float]:
    """How often the board's intervals contain the truth over `reps` simulated runs (scope = all configs).

    slope: the slope's Wald interval (clustered by problem unless `clustered` is False); C50:
    Fieller's interval, among runs where C50 is stated as a number; accuracy: the clustered Wilson
    interval of the scope's accuracy against the expected accuracy on these problems; bins: the
    same for every C band against its problems' expected accuracy; C50 width: the median width of
    the stated intervals.
    """
    from mmmult.statistics.analysis import (
        Z95,
        NotEstimable,
        binned,
        clustered_proportion,
        fit_logistic,
    )

    rng = np.random.default_rng(seed)
    b1 = truth.coefficients[1] if isinstance(truth, Truth) else math.nan
    hits = {"slope": 0, "C50": 0, "C50 stated": 0, "accuracy": 0, "bins": 0, "bins checked": 0, "fits": 0}
    widths: list[float] = []
    for _ in range(reps):
        run = outcomes(loads, truth, configs, shared, rng)
        groups = run["problem_id"].to_numpy() if clustered else np.arange(len(run))
        accuracy = clustered_proportion(run["correct"], groups)
        hits["accuracy"] += accuracy.low <= truth.accuracy(loads).mean() <= accuracy.high
        for bin_ in binned(run["C"], run["correct"], groups, C_EDGES):
            low, high = band_of(round(bin_.mean_x))
            inside = loads[(loads >= low) & (loads <= high)]
            hits["bins"] += bin_.low <= truth.accuracy(inside).mean() <= bin_.high
            hits["bins checked"] += 1
        try:
            fit = fit_logistic(run["C"], run["correct"], groups=groups)
        except NotEstimable:
            continue
        hits["fits"] += 1
        hits["slope"] += abs(fit.slope - b1) <= Z95 * fit.slope_se
        c50 = fit.c50()
        if c50.status == "estimate":
            hits["C50 stated"] += 1
            low = -math.inf if c50.low is None else c50.low
            high = math.inf if c50.high is None else c50.high
            hits["C50"] += low <= truth.c50 <= high
            widths.append(high - low)
    return {
        "slope": hits["slope"] / max(1, hits["fits"]) if isinstance(truth, Truth) else math.nan,
        "C50": hits["C50"] / max(1, hits["C50 stated"]),
        "C50 stated": hits["C50 stated"] / reps,
        "accuracy": hits["accuracy"] / reps,
        "bins": hits["bins"] / max(1, hits["bins checked"]),
        "C50 width": float(np.median(widths)) if widths else math.nan,
    }


def executor_model(heuristic: str, step_error: float, seed: int) -> Responder:
    """The responses of `mmmult-executor` with these model_args, reading every problem right (its text reader
    does): the worked solution by `heuristic`, slipping per operation with `step_error`, seeded per task and
    problem."""
    from dataset_builder.probe.worked import Hand, solve

    def respond(task: Task, problem: Mapping[str, Any]) -> str:
        a, b = int(problem["a"]), int(problem["b"])
        hand = Hand(step_error, seed=f"{seed}:{task.name}:{problem['problem_id']}")
        return f"Numbers: {a}, {b}\n{solve(a, b, heuristic, hand).text}"

    return respond


def executor_coverage(
    problems: Sequence[Problem], heuristic: str, step_error: float, configs: int, reps: int, seed: int
) -> dict[str, Any]:
    """How often the board's intervals contain an executor's truth over `reps` simulated runs of `configs`
    configs (scope = all configs), and which heuristic the per-step error fit picks.

    Each item is right with chance (1 - p) ** steps, independently per config, as the executor is
    (tests/test_executor.py). The truth: p itself; the expected accuracy of the scope and of each C band;
    for C50, the value the board's logistic fit converges to on these problems (the fit of the expected
    outcomes; the executor's curve is not logistic in C), checked where it lies inside their C range.
    """
    from dataset_builder.probe.costs import HEURISTICS
    from mmmult.statistics.analysis import NotEstimable, binned, clustered_proportion, fit_logistic
    from mmmult.statistics.step_error import likeliest_step_error, steps_of

    rng = np.random.default_rng(seed)
    loads = np.array([p.C for p in problems], dtype=float)
    operands = [(p.a, p.b) for p in problems]
    steps = np.array([steps_of(a, b)[HEURISTICS.index(heuristic)] for a, b in operands], dtype=float)
    chance = (1.0 - step_error) ** steps
    limit = fit_logistic(np.tile(loads, 2), np.repeat([1.0, 0.0], len(loads)), np.concatenate([chance, 1 - chance]))
    true_c50 = limit.c50()
    hits = {"accuracy": 0, "bins": 0, "bins checked": 0, "C50": 0, "C50 stated": 0, "step error": 0}
    picked = dict.fromkeys(HEURISTICS, 0)
    for _ in range(reps):
        correct = (rng.random((configs, len(problems))) < chance).astype(float).ravel()
        x, groups = np.tile(loads, configs), np.tile(np.arange(len(problems)), configs)
        accuracy = clustered_proportion(correct, groups)
        hits["accuracy"] += accuracy.low <= chance.mean() <= accuracy.high
        for bin_ in binned(x, correct, groups, C_EDGES):
            low, high = band_of(round(bin_.mean_x))
            inside = chance[(loads >= low) & (loads <= high)]
            hits["bins"] += bin_.low <= inside.mean() <= bin_.high
            hits["bins checked"] += 1
        fit = likeliest_step_error(operands * configs, correct, groups)
        picked[fit.heuristic] += 1
        hits["step error"] += fit.heuristic == heuristic and fit.low <= step_error <= fit.high
        try:
            c50 = fit_logistic(x, correct, groups=groups).c50()
        except NotEstimable:
            continue
        if c50.status == "estimate" and true_c50.status == "estimate":
            hits["C50 stated"] += 1
            low = -math.inf if c50.low is None else c50.low
            high = math.inf if c50.high is None else c50.high
            hits["C50"] += low <= true_c50.value <= high
    return {
        "accuracy": hits["accuracy"] / reps,
        "bins": hits["bins"] / max(1, hits["bins checked"]),
        "C50": hits["C50"] / max(1, hits["C50 stated"]),
        "C50 stated": hits["C50 stated"] / reps,
        "step error": hits["step error"] / reps,
        "picked": picked,
        "true C50": true_c50.value,
        "C50 checked": true_c50.status == "estimate",
    }


def executor_chance(problems: Sequence[Problem], heuristic: str, step_error: float) -> np.ndarray:
    """Each problem's chance of a right answer from an executor: (1 - p) ** steps under its heuristic, the step
    counts the board's per-step fit uses (step_error.steps_of)."""
    from dataset_builder.probe.costs import HEURISTICS
    from mmmult.statistics.step_error import steps_of

    column = HEURISTICS.index(heuristic)
    return (1.0 - step_error) ** np.array([steps_of(p.a, p.b)[column] for p in problems], dtype=float)


def limit_c50(problems: Sequence[Problem], chance: np.ndarray) -> float:
    """The C50 the board's logistic fit converges to on these problems: -b0 / b1 of the fit to the expected outcomes
    (each problem counted right with weight `chance`, wrong with 1 - chance), the root of the fit's expected score.

    The executor's curve (1 - p) ** steps is not logistic in C, so its C50 is this projection, the large-sample
    limit of what the board estimates on a fixed set of problems; it may fall outside their C range (the set then
    cannot state it). NaN where the projection does not fall with C.
    """
    from mmmult.statistics.analysis import fit_logistic

    loads = np.array([p.C for p in problems], dtype=float)
    limit = fit_logistic(np.tile(loads, 2), np.repeat([1.0, 0.0], len(loads)), np.concatenate([chance, 1 - chance]))
    return -limit.intercept / limit.slope if limit.slope < 0 else math.nan


@dataclass(frozen=True)
class Headroom:
    """What the board states of one executor on one problem set over simulated runs of one config.

    true_c50: limit_c50; inside: whether it lies in the set's C range; finite: the share of runs whose C50 the board
    states with a two-sided interval inside that range (C50.interval reads "low, high"); c50: the share of runs
    with a stated C50 whose Fieller interval contains true_c50 (NaN when it lies outside the range); p: the share
    whose per-step fit, the likeliest heuristic's as the board shows it, names the executor's heuristic and an
    interval that contains p; named: the share naming the heuristic; mean_p: the mean fitted p.
    """

    true_c50: float
    c_min: float
    c_max: float
    finite: float
    c50: float
    p: float
    named: float
    mean_p: float

    @property
    def inside(self) -> bool:
        return self.c_min <= self.true_c50 <= self.c_max


def headroom(problems: Sequence[Problem], heuristic: str, step_error: float, reps: int, seed: int) -> Headroom:
    """`reps` runs of an executor on `problems` in one config, each problem right with chance (1 - p) ** steps
    (independently, as the executor is: tests/test_executor.py), summarised by the board's own path
    (summary.scope_fit, then stored_fit(...).c50() as the table shows it)."""
    from mmmult.leaderboard.storage.summary import scope_fit, stored_fit

    rng = np.random.default_rng(seed)
    chance = executor_chance(problems, heuristic, step_error)
    truth = limit_c50(problems, chance)
    items = pd.DataFrame({"problem_id": [p.problem_id for p in problems], "C": [p.C for p in problems],
                          "a": [p.a for p in problems], "b": [p.b for p in problems]})  # fmt: skip
    c_min, c_max = float(items["C"].min()), float(items["C"].max())
    hits = {"finite": 0, "stated": 0, "c50": 0, "p": 0, "named": 0}
    fitted = []
    for _ in range(reps):
        row = scope_fit(items.assign(correct=(rng.random(len(problems)) < chance).astype(int)))
        fitted.append(row["step_p"])
        named = row["step_heuristic"] == heuristic
        hits["named"] += named
        hits["p"] += named and row["step_low"] <= step_error <= row["step_high"]
        fit = stored_fit(row)
        c50 = fit.c50() if fit is not None else None
        if c50 is None or c50.status != "estimate":
            continue
        hits["stated"] += 1
        hits["finite"] += c50.low is not None and c50.high is not None and c_min <= c50.low and c50.high <= c_max
        hits["c50"] += (
            (-math.inf if c50.low is None else c50.low) <= truth <= (math.inf if c50.high is None else c50.high)
        )
    inside = c_min <= truth <= c_max
    return Headroom(
        true_c50=truth,
        c_min=c_min,
        c_max=c_max,
        finite=hits["finite"] / reps,
        c50=hits["c50"] / hits["stated"] if inside and hits["stated"] else math.nan,
        p=hits["p"] / reps,
        named=hits["named"] / reps,
        mean_p=float(np.mean(fitted)),
    )
