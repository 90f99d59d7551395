"""Re-scoring: check an lm-eval output against the benchmark (benchmark.py) and re-score every sample.

Every sample is re-scored from the model's raw response with the project's own extraction and
scoring (dataset_builder.answers and .scoring); which tasks exist, and their filters, headline
metrics and versions, come from the core's task table (dataset_builder.tasks). Each sample must
answer one of the benchmark's test problems in the channel its task claims: the same operands,
product and target, and the stimulus of the task's config. Tasks whose samples were uploaded are
"re-scored from samples"; tasks that appear only in results.json are "self-reported". Anything
else is rejected with the file, the line, the field and what to do.

A run is of one split: the test split, or the base set's mini split (its tasks mmmult_mini_*, each sample one of
the build's mini problems and every one of them answered), which the board ranks apart from test runs. The
probe's tasks, which have no mini split, may sit beside either. The extended set's mini split is not ranked.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataset_builder.answers import extract_answer, extract_operands, operands_text
from dataset_builder.configs import CONFIGS
from dataset_builder.problems import BASE, EXTENDED, MINI
from dataset_builder.scoring import response_length, score_answer, score_perception
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import (
    EXTENDED_GROUPS,
    EXTENDED_TASKS,
    GROUP_NAMES,
    MINI_GROUPS,
    MINI_TASKS,
    MULTIPLY,
    PROBE_GROUPS,
    PROBE_TASKS,
    TASKS,
    Task,
)
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.probe import ProcedureItem, headline, rescore_procedure
from mmmult.leaderboard.intake.schema import MAX_LINE_BYTES, Sample, SchemaError, TaskConfig, parse_json, validate
from mmmult.leaderboard.intake.schema import sample_lines as checked_lines
from mmmult.leaderboard.intake.status import Status
from mmmult.leaderboard.intake.upload import Rejected, Upload
from mmmult.probe_scoring.scores import score_trace

RANKED_TASKS: dict[str, Task] = TASKS | {name: task for name, task in EXTENDED_TASKS.items() if task.split == "test"}
"""The tasks whose runs the board ranks: the base set's and the extended set's, on their test splits (the extended
set's checked against the extended build the board serves beside the base one, benchmark.load_reference)."""
TEST = "test"
SPLITS = (TEST, MINI)
"""The splits the board ranks, each apart from the other: a submission is a run of one of them."""
EXTENDED_MINI = frozenset(
    [t.name for t in EXTENDED_TASKS.values() if t.split == MINI]
    + [group.name for group in EXTENDED_GROUPS if "_mini_" in f"{group.name}_"]
)
"""The tasks and groups of the extended set's mini split, which the board does not rank."""


@dataclass
class ItemResult:
    """One re-scored sample: which problem, in which regime, how it was answered, whether it was right."""

    task: str
    config: str
    regime: str
    """The task's regime (dataset_builder.tasks.REGIMES): the board never pools items of two regimes."""
    kind: str  # "multiply" or "perceive"
    problem_id: str
    C: int
    answer: str
    correct: int
    a: int
    b: int
    response_length: int
    """The raw response's characters (scoring.response_length): whether a model worked where asked not to."""


@dataclass
class TaskResult:
    task: str
    config: str
    regime: str
    kind: str  # "multiply" or "perceive"
    verified: bool
    score: float
    n: int


@dataclass
class Verdict:
    model_name: str
    tasks: list[TaskResult]
    items: list[ItemResult]
    procedures: list[ProcedureItem] = field(default_factory=list)
    """The re-scored samples of the heuristic probe's tasks (see probe.py)."""
    samples_hash: str | None = None
    """sha256 over every sample, independent of file names and of loose files or a zip; None without samples."""
    log: list[str] = field(default_factory=list)
    split: str = TEST
    """The split the run's tasks evaluate on (SPLITS): the board ranks it among runs of that split alone."""

    @property
    def status(self) -> Status:
        return Status.RESCORED if self.tasks and all(t.verified for t in self.tasks) else Status.SELF_REPORTED


def check(upload: Upload, benchmark: Benchmark) -> Verdict:
    """Validate an upload against the benchmark's test problems (or its mini split) and re-score every sample."""
    reported = upload.results.results
    extended_mini = [t for t in reported if t in EXTENDED_MINI]
    if extended_mini:
        raise Rejected(f"{', '.join(extended_mini)}: runs of the mini split are not ranked for the extended set (its "
                       "rows are full test runs); run the extended tasks without mini")  # fmt: skip
    groups = GROUP_NAMES | {group.name for group in (*PROBE_GROUPS, *EXTENDED_GROUPS, *MINI_GROUPS)}
    leaf_tasks = [t for t in reported if t not in groups]
    known = RANKED_TASKS | MINI_TASKS | PROBE_TASKS
    unknown = [t for t in leaf_tasks if t not in known]
    if unknown:
        raise Rejected(f"unknown task(s) {', '.join(unknown)}: submit runs of the mmmult tasks only")
    if not leaf_tasks:
        raise Rejected("results.json holds no mmmult task")
    stray = [t for t in upload.samples if t not in leaf_tasks]
    if stray:
        raise Rejected(f"samples for task(s) {', '.join(stray)} that results.json does not report: upload one run")
    missing = [t for t in leaf_tasks if known[t].config not in benchmark.configs]
    extended = [t for t in missing if CONFIGS[known[t].config].problem_set == EXTENDED]
    if extended and benchmark.extended is None:
        raise Rejected(f"{', '.join(extended)}: this board does not serve the extended set's build, so it cannot check "
                       "runs of it (its owner adds one with --extended-data)")  # fmt: skip
    if missing:
        raise Rejected(f"this board's benchmark has no config for {', '.join(missing)}")
    verdict = Verdict(upload.results.model_name or "", [], [], split=_split_of(leaf_tasks, benchmark))
    digests: list[tuple[str, str, str]] = []
    for name in leaf_tasks:
        task = known[name]
        version = upload.results.versions.get(name)
        if not isinstance(version, (int, float)) or float(version) != task.version:
            raise Rejected(
                f"{name} is version {version}; this board takes version {task.version}: update mmmult and rerun"
            )
        _check_declared(task, upload.results.configs.get(name))
        claimed = reported[name].get(task.headline_key)
        if not isinstance(claimed, (int, float)) or not 0 <= claimed <= 1:
            raise Rejected(f"{name}: results.json reports {task.headline} {claimed!r}, not a share from 0 to 1")
        if name in PROBE_TASKS:
            rescored = _rescore_probe(task, upload, claimed, benchmark)
        elif name in upload.samples:
            rescored = _rescore(task, upload.samples[name], upload.files[upload.samples[name]], claimed, benchmark)
        else:
            verdict.tasks.append(TaskResult(name, task.config, task.regime, task.kind.name, False, float(claimed), 0))
            verdict.log.append(f"{name}: no samples uploaded; {task.headline} {claimed:.4f} is self-reported")
            continue
        verdict.tasks.append(rescored.task)
        verdict.items += rescored.items
        verdict.procedures += rescored.procedures
        digests += rescored.digests
    if digests:
        verdict.samples_hash = hashlib.sha256("\n".join(map(",".join, sorted(digests))).encode()).hexdigest()
    verdict.log.append(f"{verdict.status}: {len(verdict.tasks)} task(s), {len(verdict.items)} samples re-scored")
    if verdict.split == MINI:
        verdict.log.append(f"a run of the mini split ({len(benchmark.mini)} problems): ranked among mini runs, "
                           "apart from test runs")  # fmt: skip
    return verdict


def _split_of(leaf_tasks: list[str], benchmark: Benchmark) -> str:
    """The one split a run's tasks evaluate on (probe tasks, which have no mini split, go with either)."""
    mini = [t for t in leaf_tasks if t in MINI_TASKS]
    test = [t for t in leaf_tasks if t in RANKED_TASKS]
    if mini and test:
        raise Rejected(f"the run mixes the test split ({test[0]}) and the mini split ({mini[0]}): the board ranks "
                       "the two apart; upload each split's run on its own")  # fmt: skip
    if mini and not benchmark.mini:
        raise Rejected(f"{', '.join(mini)}: this board's benchmark has no mini split to check them against (a fresh "
                       "draw has none, nor a build made before the mini split existed): submit a run of the test "
                       "tasks, without mini")  # fmt: skip
    return MINI if mini else TEST


def sample_lines(name: str, path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a samples file, each at most MAX_LINE_BYTES, never the whole file at once; a longer
    line rejects the upload."""
    try:
        yield from checked_lines(name, path, MAX_LINE_BYTES)
    except SchemaError as error:
        raise Rejected(str(error)) from None


@dataclass
class Rescored:
    """One task's samples re-scored: its result, its items and probe items, and (task, item, sha256 of the line)
    of each sample for duplicate detection."""

    task: TaskResult
    items: list[ItemResult] = field(default_factory=list)
    procedures: list[ProcedureItem] = field(default_factory=list)
    digests: list[tuple[str, str, str]] = field(default_factory=list)


def _rescore(task: Task, file: str, path: Path, claimed: float, benchmark: Benchmark) -> Rescored:
    """A multiplication or perception task re-scored from its samples file."""
    multiply = task.kind is MULTIPLY
    seen: set[str] = set()
    correct_total = 0
    items: list[ItemResult] = []
    procedures: list[ProcedureItem] = []
    digests: list[tuple[str, str, str]] = []
    for number, line in sample_lines(file, path):
        where = f"{file}, line {number}"
        try:
            sample = validate(Sample, parse_json(line, where), where)
        except SchemaError as error:
            raise Rejected(str(error)) from None
        pid = sample.doc.problem_id
        problem = benchmark.get(pid)
        if task.split == MINI and pid not in benchmark.mini:
            raise Rejected(f"{where}: problem {pid!r} is not in this benchmark's mini split: run on the published data")
        if problem is None or problem.get("problem_set", BASE) != CONFIGS[task.config].problem_set:
            raise Rejected(f"{where}: problem {pid!r} is not in this benchmark's test split: run on the published data")
        if pid in seen:
            raise Rejected(f"{where}: problem {pid} appears twice in the samples of {task.name}")
        seen.add(pid)
        _check_against(sample, problem, task, where)
        if multiply:
            answer = extract_answer(sample.response)
            correct = score_answer(answer, int(problem["product"]))["exact_match"]
            shown = "" if answer is None else str(answer)
            procedures.append(ProcedureItem(task.name, pid, task.config, score_trace(problem, sample.response)))
        else:
            read = extract_operands(sample.response)
            correct = score_perception(read, int(problem["a"]), int(problem["b"]))["perceive_both"]
            shown = operands_text(read)
        correct_total += int(correct)
        item = ItemResult(task.name, task.config, task.regime, task.kind.name, pid, int(problem["C"]), shown,
                          int(correct), int(problem["a"]), int(problem["b"]),
                          response_length(sample.response))  # fmt: skip
        items.append(item)
        digests.append((task.name, pid, hashlib.sha256(line.strip()).hexdigest()))
    tested = len(benchmark.mini) if task.split == MINI else benchmark.tested(task.config)
    absent = tested - len(seen)
    if absent:
        raise Rejected(f"{task.name}: {absent} of {tested} {task.split} problems have no sample: run without --limit")
    score = _as_claimed(task, claimed, correct_total / len(seen))
    result = TaskResult(task.name, task.config, task.regime, task.kind.name, True, score, len(seen))
    return Rescored(result, items, procedures, digests)


def _as_claimed(task: Task, claimed: float, score: float) -> float:
    """The re-scored headline, once results.json's claim is shown to be it."""
    if math.isnan(claimed) or abs(claimed - score) > 1e-9:
        raise Rejected(
            f"{task.name}: results.json reports {task.headline} {claimed} but its samples score {score:.6f}: "
            "upload the unmodified lm-eval output"
        )
    return score


def _rescore_probe(task: Task, upload: Upload, claimed: float, benchmark: Benchmark) -> Rescored:
    """A probe task re-scored from its samples (the board takes no self-reported probe figures)."""
    if task.name not in upload.samples:
        raise Rejected(
            f"{task.name}: the board re-scores the probe from its samples; upload samples_{task.name}_*.jsonl"
        )
    items = benchmark.probe.get(str(CONFIGS[task.config].items))
    if items is None:  # a fresh draw: its problems are drawn again, the probe's sets are not
        raise Rejected(f"{task.name}: probe runs are checked against the published sets; submit them without a seed")
    file = upload.samples[task.name]
    scored, lines = rescore_procedure(task, file, sample_lines(file, upload.files[file]), items)
    score = _as_claimed(task, claimed, headline(scored, task))
    return Rescored(
        TaskResult(task.name, task.config, task.regime, task.kind.name, True, score, len(scored)), [], scored, lines
    )


def _check_declared(task: Task, declared: TaskConfig | None) -> None:
    """lm-eval's record of the task (results.json's `configs`), where it has one, runs the config and regime that
    the task table gives the task's name: the config it loaded (dataset_kwargs), and for a multiplication task the
    regime its alias names (Task.alias, which the task files are written with)."""
    if declared is None:
        return
    config = (declared.dataset_kwargs or {}).get("config")
    if config is not None and config != task.config:
        raise Rejected(
            f"{task.name}: results.json says it ran config {config!r}, but {task.name} is the {task.config} task: "
            "run the benchmark's own task files (eval/mmmult/) unchanged"
        )
    if task.kind is not MULTIPLY or declared.task_alias in (None, task.alias):
        return
    twins = {
        t.alias: t.regime
        for t in (*TASKS.values(), *MINI_TASKS.values(), *EXTENDED_TASKS.values())
        if (t.config, t.split) == (task.config, task.split) and t.kind is MULTIPLY
    }
    regime = twins.get(declared.task_alias)
    if regime is None:
        raise Rejected(
            f"{task.name}: results.json names it {declared.task_alias!r}, not {task.alias!r}: run the benchmark's own "
            "task files unchanged"
        )
    raise Rejected(
        f"{task.name}: results.json says it ran the {regime} regime (task_alias {declared.task_alias!r}), but "
        f"{task.name} is a task of the {task.regime} regime: run the benchmark's own task files unchanged"
    )


def _check_against(sample: Sample, problem: dict[str, Any], task: Task, where: str) -> None:
    """The sample answers this benchmark problem, asked in the channel and form of the task's config."""
    doc, config = sample.doc, CONFIGS[task.config]
    for key in ("a", "b", "product"):
        if getattr(doc, key) != int(problem[key]):
            raise Rejected(f"{where}: problem {doc.problem_id} has {key} {getattr(doc, key)}, not {problem[key]}")
    asked = (doc.modality, doc.representation, doc.stimulus)
    if asked != (config.modality, config.representation, stimulus(doc.a, doc.b, str(config.representation))):
        raise Rejected(
            f"{where}: problem {doc.problem_id} was asked as {doc.modality} {doc.representation} "
            f"({doc.stimulus!r}), but {task.name} asks it as {task.config}: upload each task's own samples"
        )
    if task.kind is MULTIPLY and str(sample.target) != str(problem["product"]):
        raise Rejected(f"{where}: the target of problem {doc.problem_id} was changed to {sample.target}")
