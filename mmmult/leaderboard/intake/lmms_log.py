"""lmms-eval runs on the board: its results file and per-sample logs, checked and written in lm-eval's shape, which
rescore.py then checks against the benchmark and re-scores exactly as an lm-eval run.

lmms-eval writes `<date>_results.json` and `<date>_samples_<task>.jsonl` (lm-eval: results_<date>.json,
samples_<task>_<date>.jsonl). Its sample lines keep no doc: the mmmult tasks (eval/lmms_eval/) log each sample's
`item`, the problem as asked with the sha256 of the prompt and of the medium, and the harness's release, which
lmms-eval's own files do not record. Two formats are known, told apart by the results file:

- 0.6: no `lmms_eval_version`; a sample's `filtered_resps` is a list of one response.
- 0.7: `lmms_eval_version` (a git branch and commit); `filtered_resps` is the response itself (0.7 unwraps the
  one-request lists), and `resps`, when kept, the list of raw responses.

A run of another release, a sample whose prompt or medium is not the dataset's, or a task that does not exist is
refused, naming the harness, its release and the field. The media digests are checked against those the board's
build records (media.py), whether the board reads its build from a folder or from the Hub.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from dataset_builder.prompts import PLACEHOLDERS, direct_prompt, multiply_prompt, perceive_prompt
from dataset_builder.tasks import (
    DIRECT,
    EXTENDED_GROUPS,
    EXTENDED_TASKS,
    GROUP_NAMES,
    MINI_GROUPS,
    MINI_TASKS,
    MULTIPLY,
    TASKS,
    Task,
)
from mmmult.leaderboard.intake.media import MediaDigests, expected_digest
from mmmult.leaderboard.intake.schema import Count, Response, SchemaError, Text, parse_json, sample_lines, validate

HARNESS = "lmms-eval"
FORMATS = ("0.6", "0.7")
"""The releases (major.minor) whose files the board reads."""
RESULTS_SUFFIX, SAMPLES_PART = "_results.json", "_samples_"
ITEM_METRIC = "item"
NO_FILTER = "none"
"""lmms-eval's name for the absent filter: the mmmult tasks extract the answer in process_results."""
ALL_TASKS: dict[str, Task] = {**TASKS, **MINI_TASKS, **EXTENDED_TASKS}
GROUPS = GROUP_NAMES | {group.name for group in (*MINI_GROUPS, *EXTENDED_GROUPS)}
Hash = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]


class Item(BaseModel):
    """A sample's `item` record (eval/lmms_eval/utils.py: item)."""

    model_config = ConfigDict(extra="ignore")
    harness: Text
    problem_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    a: StrictInt
    b: StrictInt
    product: StrictInt
    modality: Text
    representation: Text
    stimulus: Annotated[StrictStr, Field(max_length=1000)]
    prompt_sha256: Hash
    media_sha256: Hash | None = None


class Sample06(BaseModel):
    """One line of lmms-eval 0.6's samples file, as the mmmult tasks write it."""

    model_config = ConfigDict(extra="ignore")
    doc_id: Count
    target: Annotated[StrictStr, Field(max_length=64)]
    input: Response
    filtered_resps: Annotated[list[Response], Field(min_length=1, max_length=1)]
    item: Item

    @property
    def response(self) -> str:
        return self.filtered_resps[0]


class Sample07(Sample06):
    """lmms-eval 0.7's: the one response unwrapped."""

    filtered_resps: Response  # type: ignore[assignment]

    @property
    def response(self) -> str:
        return self.filtered_resps


SAMPLES = {"0.6": Sample06, "0.7": Sample07}


class Generation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    max_new_tokens: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None
    temperature: Annotated[StrictFloat | StrictInt, Field(ge=0, le=100)] | None = None
    do_sample: StrictBool | None = None


class TaskRecord(BaseModel):
    """lmms-eval's record of one task (results.json's `configs`)."""

    model_config = ConfigDict(extra="ignore")
    task_alias: Text | None = None
    dataset_name: Text | None = None
    output_type: Text | None = None
    num_fewshot: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None
    generation_kwargs: Generation | None = None


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: Text | None = None
    model_args: (
        Annotated[StrictStr, Field(max_length=4000)] | Annotated[dict[Text, Any], Field(max_length=64)] | None
    ) = None


class Results(BaseModel):
    """The parts of lmms-eval's <date>_results.json the board reads."""

    model_config = ConfigDict(extra="ignore")
    results: Annotated[dict[Text, dict[Text, Any]], Field(min_length=1, max_length=256)]
    versions: Annotated[dict[Text, StrictFloat | StrictInt | Text], Field(max_length=256)] = {}
    configs: Annotated[dict[Text, TaskRecord], Field(max_length=256)] = {}
    config: RunConfig | None = None
    model_name: Text | None = None
    lmms_eval_version: Text | None = None
    git_hash: Text | None = None


def is_lmms_run(names: Mapping[str, Path]) -> bool:
    """Whether an upload's files are lmms-eval's (a `<date>_results.json`) rather than lm-eval's."""
    return any(name.endswith(RESULTS_SUFFIX) for name in names)


def as_lm_eval(kept: dict[str, Path], folder: Path, media: MediaDigests | None = None) -> dict[str, Path]:
    """An lmms-eval run's files, checked (the media against the board's build's `media`), written into `folder` as
    the lm-eval files rescore.py reads (results that name the harness and its release, samples with their docs);
    other uploads as they are. SchemaError names what is refused."""
    if not is_lmms_run(kept):
        return kept
    results_names = [name for name in kept if name.endswith(RESULTS_SUFFIX)]
    if len(results_names) != 1:
        raise SchemaError(f"expected exactly one <date>{RESULTS_SUFFIX} from {HARNESS}, found {len(results_names)}")
    (results_name,) = results_names
    raw = parse_json(kept[results_name].read_bytes(), results_name, True)
    run: Results = validate(Results, raw, results_name)
    release = _format(run)
    where = f"{results_name} ({HARNESS} {release})"
    tasks = _tasks(run, where)
    samples = {name.split(SAMPLES_PART, 1)[1].removesuffix(".jsonl"): name for name in kept if SAMPLES_PART in name}
    stray = sorted(set(kept) - {results_name, *samples.values()})
    if stray:
        raise SchemaError(f"{', '.join(stray)}: not a <date>_results.json or <date>_samples_<task>.jsonl of {HARNESS}")
    harnesses: set[str] = set()
    out: dict[str, Path] = {}
    for task_name, file in samples.items():
        if task_name not in tasks:
            raise SchemaError(f"{file} ({HARNESS} {release}), field task: {task_name!r} is not a task of this run")
        lines = _translate(ALL_TASKS[task_name], file, kept[file], release, harnesses, media)
        out[f"samples_{task_name}_lmms.jsonl"] = _write(folder / f"lmms-samples_{task_name}.jsonl", lines)
    if len(harnesses) > 1:
        raise SchemaError(f"{where}, field item.harness: samples of {len(harnesses)} releases ({sorted(harnesses)})")
    translated = _results(run, tasks, harnesses.pop() if harnesses else release)
    out["results_lmms.json"] = _write(folder / "lmms-results.json", [json.dumps(translated)])
    return out


def _format(run: Results) -> str:
    """The format of the run's files: 0.7 records `lmms_eval_version`, 0.6 does not."""
    return "0.7" if run.lmms_eval_version is not None else "0.6"


def _tasks(run: Results, where: str) -> dict[str, Task]:
    """The run's mmmult tasks; a name that is neither a task nor a group of the benchmark is refused."""
    unknown = [name for name in run.results if name not in ALL_TASKS and name not in GROUPS]
    if unknown:
        raise SchemaError(f"{where}, field results.{unknown[0]}: no mmmult task or group has that name")
    tasks = {name: ALL_TASKS[name] for name in run.results if name in ALL_TASKS}
    if not tasks:
        raise SchemaError(f"{where}, field results: no mmmult task")
    return tasks


def _translate(
    task: Task, file: str, path: Path, release: str, harnesses: set[str], media: MediaDigests | None
) -> Iterator[str]:
    """Each sample checked (its release's shape, its prompt, its medium) and written as lm-eval's sample."""
    for number, line in sample_lines(file, path):
        where = f"{file}, line {number} ({HARNESS} {release})"
        sample = validate(SAMPLES[release], parse_json(line, where), where)
        item = sample.item
        harnesses.add(_release(item.harness, release, where))
        prompt = lmms_prompt(task, item.model_dump())
        if sample.input != prompt or item.prompt_sha256 != hashlib.sha256(prompt.encode()).hexdigest():
            field = "input" if sample.input != prompt else "item.prompt_sha256"
            raise SchemaError(f"{where}, field {field}: not the prompt {task.name} asks of problem {item.problem_id}")
        expected = expected_digest(media, task.config, item.problem_id)
        if expected is not None and item.media_sha256 != expected:
            raise SchemaError(f"{where}, field item.media_sha256: not the {task.config} medium of problem "
                              f"{item.problem_id} in this board's build")  # fmt: skip
        doc = item.model_dump(include={"problem_id", "a", "b", "product", "modality", "representation", "stimulus"})
        yield json.dumps({"doc_id": sample.doc_id, "doc": doc, "target": sample.target, "resps": [[sample.response]]})


def _release(named: str, release: str, where: str) -> str:
    """The version a sample's item names (`lmms-eval 0.7.3`): a release of FORMATS, the one the results file is."""
    name, _, version = named.partition(" ")
    minor = ".".join(version.split(".")[:2])
    if name != HARNESS or minor not in FORMATS:
        raise SchemaError(
            f"{where}, field item.harness: {named!r} is not a release whose log format this board knows "
            f"({', '.join(f'{HARNESS} {f}' for f in FORMATS)})"
        )
    if minor != release:
        raise SchemaError(f"{where}, field item.harness: {named} wrote this sample, but the results file is {release}")
    return version


def _results(run: Results, tasks: dict[str, Task], version: str) -> dict[str, Any]:
    """results.json as lm-eval writes it, for the intake: headline keys, configs, versions, model, harness."""
    config = run.config or RunConfig()
    return {
        "results": {name: _reported(task, run.results[name]) for name, task in tasks.items()},
        "versions": {name: run.versions[name] for name in tasks if name in run.versions},
        "configs": {name: _record(run.configs[name]) for name in tasks if name in run.configs},
        "config": {"model": config.model, "model_args": config.model_args},
        "model_name": run.model_name,
        "harness": HARNESS,
        "harness_version": version,
        "git_hash": run.git_hash,
    }


def _reported(task: Task, reported: dict[str, Any]) -> dict[str, Any]:
    """The task's headline under lm-eval's key (its filter's name), as lmms-eval reported it without a filter."""
    return {task.headline_key: reported.get(f"{task.headline},{NO_FILTER}")}


def _record(record: TaskRecord) -> dict[str, Any]:
    gen = record.generation_kwargs or Generation()
    generation = {
        "max_gen_toks": gen.max_new_tokens,  # lm-eval's name for the budget, which provenance.py compares
        "temperature": None if gen.temperature is None else float(gen.temperature),
        "do_sample": gen.do_sample,
    }
    return {
        "task_alias": record.task_alias,
        "dataset_kwargs": {"config": record.dataset_name},
        "output_type": record.output_type,
        "num_fewshot": record.num_fewshot,
        "generation_kwargs": {key: value for key, value in generation.items() if value is not None},
    }


def _write(path: Path, lines: Iterator[str] | list[str]) -> Path:
    with path.open("w") as out:
        for line in lines:
            out.write(line + "\n")
    return path


def lmms_prompt(task: Task, doc: Mapping[str, Any]) -> str:
    """The prompt the lmms-eval task sends (eval/lmms_eval/utils.py): the core's, the medium a content part."""
    ask = perceive_prompt if task.kind is not MULTIPLY else direct_prompt if task.regime == DIRECT else multiply_prompt
    return ask(doc).removeprefix(PLACEHOLDERS[doc["modality"]])
