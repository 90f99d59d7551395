"""`mmmult merge SHARD_DIR... --output_path OUT`: the output folders of `mmmult eval --shard I/N`, one per shard,
joined into one lm-eval output folder, as if one run had evaluated every document.

The merged samples are the shards' samples in problem-id order (the order of a generated build), numbered again;
the results are recomputed from them with the tasks' own aggregations (their YAML's metric_list: mean,
mean_of_present; lm-eval's standard errors) and the groups' size-weighted means, not averaged over shards. The
results file says `"mmmult_shards": N`, which the board shows in the run's provenance.

Shards that do not belong together are refused before anything is written, with the shard named: another model,
model or generation arguments, task versions or configs, or another build; a missing or repeated shard; a document
in two shards, or in a shard that is not its own (dataset_builder.shards.deal); a folder with files lm-eval does
not write. OUT is written in a temporary folder beside it and renamed: never half-merged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dataset_builder.errors import UserError
from dataset_builder.shards import Shard, ShardError, deal, parse_shard

SHARDS_FIELD = "mmmult_shards"
"""The results file's field that says how many shards a merged run was evaluated in."""
LM_EVAL_FILE = re.compile(r"results_[^/]+\.json|samples_[^/]+\.jsonl")
SAME_RUN = ("model", "model_args", "gen_kwargs", "limit")
"""The fields of a results file's config that every shard must share."""
SAME_RESULTS = ("versions", "n-shot", "chat_template_sha", "system_instruction_sha", "fewshot_as_multiturn")
WHERE = ("shard", "data", "config_source")
"""Task metadata that may differ between the shards of one run: the shard, and where each machine keeps the build
and the task folder (the build's fingerprint, "build", must be the same)."""
ADDRESS = re.compile(r" at 0x[0-9a-f]+")
"""lm-eval writes some functions of a task's config as their repr, with the address of this process."""


class MergeError(UserError):
    """Shards that cannot be merged; the message names the shard and why."""


@dataclass
class ShardRun:
    """One shard's output folder as lm-eval wrote it."""

    folder: Path
    model_dir: str
    """The subfolder lm-eval wrote into (the sanitized model name), kept in the merged folder."""
    results: dict[str, Any]
    samples: dict[str, list[dict[str, Any]]]
    shard: Shard

    def __str__(self) -> str:
        return f"{self.folder} (shard {self.shard})"


def merge(folders: Sequence[str | Path], out: str | Path) -> Path:
    """Merge the shards' output folders into `out` (new, or an empty folder); returns the results file written."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MergeError(f"{out} exists and is not an empty folder: merge writes a new output folder")
    runs = [read_shard(Path(folder)) for folder in folders]
    check_together(runs)
    return write_atomically(out, merged_samples(runs), runs)


def read_shard(folder: Path) -> ShardRun:
    """A shard's results file and samples, refused when the folder holds anything else or no shard."""
    if not folder.is_dir():
        raise MergeError(f"{folder}: no such folder; give the --output_path of each `mmmult eval --shard I/N`")
    files = sorted(path for path in folder.rglob("*") if not path.is_dir())
    foreign = [str(path.relative_to(folder)) for path in files if not LM_EVAL_FILE.fullmatch(path.name)]
    if foreign:
        raise MergeError(
            f"{folder}: {', '.join(foreign)} not written by lm-eval: a shard's folder holds its results_*.json and "
            "samples_*.jsonl only"
        )
    results_files = [path for path in files if path.name.startswith("results_")]
    if len(results_files) != 1:
        raise MergeError(f"{folder}: {len(results_files)} results_*.json files; a shard's folder holds one run")
    (results_file,) = results_files
    results = _json(results_file, folder)
    shard = _shard_of(results, folder)
    stamp = results_file.stem.removeprefix("results_")
    paths = {task: results_file.parent / f"samples_{task}_{stamp}.jsonl" for task in results["configs"]}
    stray = sorted(str(path.relative_to(folder)) for path in set(files) - {results_file, *paths.values()})
    if stray:
        raise MergeError(f"{folder}: {', '.join(stray)} not of the run in {results_file.name}")
    samples = {task: _samples(path, folder) for task, path in paths.items()}
    return ShardRun(folder, results_file.parent.name, results, samples, shard)


def _parsed(text: str, what: str) -> Any:  # noqa: ANN401 (any JSON value)
    """JSON, or a MergeError naming `what`: damaged, nested past Python's recursion, or a number past int's digits."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        raise MergeError(f"{what} is not lm-eval's JSON ({str(error)[:200] or type(error).__name__})") from None


def _json(path: Path, folder: Path) -> dict[str, Any]:
    try:
        data = _parsed(path.read_text(), f"{folder}: {path.name}")
    except UnicodeDecodeError:
        raise MergeError(f"{folder}: {path.name} is not UTF-8 text") from None
    configs = data.get("configs") if isinstance(data, dict) else None
    if not isinstance(configs, dict) or not configs or not all(isinstance(c, dict) for c in configs.values()):
        raise MergeError(f"{folder}: {path.name} is not an lm-eval results file (no task configs)")
    return data


def _shard_of(results: dict[str, Any], folder: Path) -> Shard:
    """The shard every task of the run was cut to (task metadata "shard", which `mmmult eval --shard` sets)."""
    shards = {(config.get("metadata") or {}).get("shard") for config in results["configs"].values()}
    if len(shards) != 1 or None in shards:
        raise MergeError(f"{folder}: not a shard of a run; make each shard with `mmmult eval --shard I/N`")
    try:
        return parse_shard(str(shards.pop()))
    except ShardError as error:
        raise MergeError(f"{folder}: {error}") from None


def _samples(path: Path, folder: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise MergeError(f"{folder}: no {path.name}; run each shard with --log_samples")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise MergeError(f"{folder}: {path.name} is not UTF-8 text") from None
    samples = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            sample = _parsed(line, f"{folder}: {path.name}, line {number},")
            doc = sample.get("doc") if isinstance(sample, dict) else None
            if not isinstance(doc, dict) or not isinstance(doc.get("problem_id"), str) or type(doc.get("C")) is not int:
                where = f"{folder}: {path.name}, line {number},"
                raise MergeError(f"{where} is not an mmmult sample (no doc problem_id, C)")
            samples.append(sample)
    return samples


def check_together(runs: list[ShardRun]) -> None:
    """Refuse shards that are not the N shards of one run, naming the shard."""
    if not runs:
        raise MergeError("no shard to merge: give the output folder of each shard")
    first = runs[0]
    for run in runs[1:]:
        if run.shard.count != first.shard.count:
            raise MergeError(f"{run} is one of {run.shard.count} shards, {first} one of {first.shard.count}")
        difference = _difference(identity(first), identity(run))
        if difference:
            raise MergeError(f"{run} is not of the same run as {first}: its {difference}")
    by_index: dict[int, ShardRun] = {}
    for run in runs:
        if run.shard.index in by_index:
            raise MergeError(f"{by_index[run.shard.index].folder} and {run.folder} are both shard {run.shard}")
        by_index[run.shard.index] = run
    missing = [str(Shard(i, first.shard.count)) for i in range(first.shard.count) if i not in by_index]
    if missing:
        raise MergeError(f"shard {', '.join(missing)} missing: merge needs all {first.shard.count} shards")
    for task in first.results["configs"]:
        _check_documents(task, runs)


def identity(run: ShardRun) -> dict[str, Any]:
    """What every shard of one run shares: model, arguments, tasks and their configs (less the shard), the build."""
    config = run.results.get("config") or {}
    return {
        **{f"config.{key}": config.get(key) for key in SAME_RUN},
        **{key: run.results.get(key) for key in SAME_RESULTS},
        "tasks": sorted(run.results["configs"]),
        **{f"configs.{task}": _unsharded(task_config) for task, task_config in run.results["configs"].items()},
    }


def _unsharded(task_config: dict[str, Any]) -> Any:  # noqa: ANN401 (a task's config as lm-eval dumps it)
    metadata = {k: v for k, v in (task_config.get("metadata") or {}).items() if k not in WHERE}
    return json.loads(ADDRESS.sub("", json.dumps({**task_config, "metadata": metadata}, sort_keys=True)))


def _difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first field where b differs from a, with both values where they are short: "model_args.seed is 2, not 1"."""
    for key in sorted(a.keys() | b.keys()):
        theirs, ours = b.get(key), a.get(key)
        if theirs != ours:
            if isinstance(theirs, dict) and isinstance(ours, dict):
                return f"{key}.{_difference(ours, theirs)}"
            shown = f"{key} is {theirs!r}, not {ours!r}"
            return shown if len(shown) <= 300 else f"{key} differs"
    return None


def _check_documents(task: str, runs: list[ShardRun]) -> None:
    """Each document in one shard only, and in its own (the deal of every document the shards hold)."""
    held: dict[str, ShardRun] = {}
    documents = []
    for run in runs:
        for sample in run.samples[task]:
            problem_id = sample["doc"]["problem_id"]
            if problem_id in held:
                raise MergeError(f"{problem_id} of {task} is in two shards: {held[problem_id]} and {run}")
            held[problem_id] = run
            documents.append((problem_id, sample["doc"]["C"]))
    count = runs[0].shard.count
    for (problem_id, _), index in zip(documents, deal(documents, count), strict=True):
        if held[problem_id].shard.index != index:
            raise MergeError(
                f"{held[problem_id]} holds {problem_id} of {task}, a document of shard {Shard(index, count)}: "
                "the shards were not cut from the same data"
            )


def merged_samples(runs: list[ShardRun]) -> dict[str, list[dict[str, Any]]]:
    """Every task's samples of all shards in problem-id order, numbered from 0."""
    merged = {}
    for task in runs[0].results["configs"]:
        samples = sorted((s for run in runs for s in run.samples[task]), key=lambda s: s["doc"]["problem_id"])
        merged[task] = [{**sample, "doc_id": i} for i, sample in enumerate(samples)]
    return merged


def merged_results(runs: list[ShardRun], samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Shard 0's results file with every task's and group's results recomputed from the merged samples."""
    runs = sorted(runs, key=lambda run: run.shard.index)
    results = json.loads(json.dumps(runs[0].results))
    bootstrap = int((results.get("config") or {}).get("bootstrap_iters") or 0)
    for task, task_samples in samples.items():
        config = results["configs"][task]
        config["metadata"] = {k: v for k, v in (config.get("metadata") or {}).items() if k != "shard"}
        results["results"][task] = task_results(task, config, task_samples, bootstrap)
        results["n-samples"][task] = {
            "original": sum(run.results["n-samples"][task]["original"] for run in runs),
            "effective": results["results"][task]["sample_len"],
        }
    _recompute_groups(results)
    from lm_eval.utils import hash_string

    results["task_hashes"] = {
        task: hash_string("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in task_samples))
        for task, task_samples in samples.items()
    }
    times = [float(run.results.get("total_evaluation_time_seconds") or 0) for run in runs]
    results["total_evaluation_time_seconds"] = str(sum(times))
    results[SHARDS_FIELD] = len(runs)
    return results


def task_results(task: str, config: dict[str, Any], samples: list[dict[str, Any]], bootstrap: int) -> dict[str, Any]:
    """A task's row of results, as lm-eval computes it from the samples' metrics (its evaluator_utils)."""
    from lm_eval.api.metrics import mean, stderr_for_metric

    aggregations = task_aggregations(task)
    values: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for sample in samples:
        for metric in sample["metrics"]:
            values[(metric, sample["filter"])].append(sample[metric])
    row: dict[str, Any] = {"name": task, "alias": config.get("task_alias", task), "sample_len": 0}
    for (metric, filter_name), items in values.items():
        aggregate = aggregations.get(metric, mean)
        row[f"{metric},{filter_name}"] = aggregate(items)
        stderr = stderr_for_metric(metric=aggregate, bootstrap_iters=bootstrap) if bootstrap > 0 else None
        row[f"{metric}_stderr,{filter_name}"] = stderr(items) if stderr and len(items) > 1 else "N/A"
        row["sample_len"] = max(row["sample_len"], len(items))
    return row


def task_aggregations(task: str) -> dict[str, Callable[[list[Any]], float]]:
    """The aggregation of each metric of an mmmult task, from its YAML as lm-eval reads it."""
    from lm_eval.api.registry import get_aggregation
    from lm_eval.tasks._yaml_loader import load_yaml

    from mmmult.harness.evaluate import tasks_dir

    path = tasks_dir() / f"{task}.yaml"
    if not path.is_file():
        raise MergeError(f"{task} is not an mmmult task: merge joins shards of mmmult's tasks")
    aggregations = {}
    for entry in load_yaml(path).get("metric_list", []):
        aggregation = entry.get("aggregation", "mean")
        aggregations[entry["metric"]] = get_aggregation(aggregation) if isinstance(aggregation, str) else aggregation
    return aggregations


def _recompute_groups(results: dict[str, Any]) -> None:
    """Each group's size-weighted mean of its tasks' results (every mmmult group weights by size), children first."""
    from lm_eval.api.metrics import aggregate_subtask_metrics, pooled_sample_stderr

    subtasks: dict[str, list[str]] = results.get("group_subtasks") or {}

    def leaves(name: str) -> list[str]:
        return [leaf for child in subtasks[name] for leaf in leaves(child)] if name in subtasks else [name]

    for group in results.get("groups") or {}:
        tasks = [results["results"][task] for task in leaves(group)]
        old = results["results"][group]
        row = {"alias": old.get("alias", group), "name": group, "sample_len": sum(t["sample_len"] for t in tasks)}
        counts = {}
        for key in (k for k in old if "," in k and "_stderr," not in k):
            present = [t for t in tasks if key in t]
            sizes = [t["sample_len"] for t in present]
            row[key] = aggregate_subtask_metrics([t[key] for t in present], sizes, True)
            stderr_key = key.replace(",", "_stderr,", 1)
            stderrs = [t.get(stderr_key) for t in present]
            pooled = "N/A" not in stderrs and None not in stderrs
            row[stderr_key] = float(pooled_sample_stderr(stderrs, sizes)) if pooled else "N/A"
            counts[key] = sum(sizes)
        results["results"][group] = results["groups"][group] = row | ({"sample_count": counts} if counts else {})


def write_atomically(out: Path, samples: dict[str, list[dict[str, Any]]], runs: list[ShardRun]) -> Path:
    """Write the merged folder beside `out` and rename it to `out`: a failure leaves no part of it."""
    results = merged_results(runs, samples)
    stamp = datetime.now().isoformat().replace(":", "-")
    staging = out.parent / f".{out.name}.merging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        folder = staging / runs[0].model_dir
        folder.mkdir(parents=True)
        for task, task_samples in samples.items():
            lines = "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in task_samples)
            (folder / f"samples_{task}_{stamp}.jsonl").write_text(lines)
        (folder / f"results_{stamp}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        if out.is_dir():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / runs[0].model_dir / f"results_{stamp}.json"
