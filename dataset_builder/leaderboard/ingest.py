"""Submissions: read an lm-eval output (files or one zip), check it against the benchmark, re-score it.

Every sample is re-scored from the model's raw response with the project's own extraction and
scoring (dataset_builder.answers and .scoring); which tasks exist, and their filters, headline
metrics and versions, come from the core's task table (dataset_builder.tasks). Tasks whose
samples were uploaded become "verified" rows; tasks that appear only in results.json are
"self-reported". A sample whose problem or target differs from the benchmark, a results.json
metric that its samples do not reproduce, an unknown task or version, or an incomplete task is
rejected with the reason and what to do.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq

from ..answers import extract_answer, extract_operands, operands_text
from ..configs import data_file_pattern
from ..scoring import score_answer, score_perception
from ..tasks import GROUP_NAMES, MULTIPLY, TASKS

MAX_UPLOAD_BYTES = 50 * 2**20
MAX_ZIP_MEMBERS = 200
MAX_UNPACKED_BYTES = 400 * 2**20


def load_reference(build: str | Path) -> dict[str, dict[str, Any]]:
    """The benchmark's test problems by problem_id, from the `problems` config of a build folder or Hub repo.

    A value that is not a local folder but looks like USER/NAME is read from that dataset repo
    (only the problems' test shards are downloaded), so a Space needs no local build.
    """
    pattern = data_file_pattern("problems", "test")
    if not Path(build).is_dir() and re.fullmatch(r"[\w.-]+/[\w.-]+", str(build)):
        build = _download_problems(str(build), pattern)
    files = sorted(Path(build).glob(pattern))
    if not files:
        raise FileNotFoundError(f"no problems/test-*.parquet in {build}: point the Space at an mmmult build")
    rows = pq.ParquetDataset(files).read().to_pylist()
    return {row["problem_id"]: row for row in rows}


def _download_problems(repo_id: str, pattern: str) -> str:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, repo_type="dataset", allow_patterns=[pattern, "manifest.json"])
    except Exception as error:  # noqa: BLE001 (network, auth and missing-repo errors all mean the same here)
        raise FileNotFoundError(
            f"could not read the problems of the dataset repo {repo_id} ({type(error).__name__}): "
            "check the repo id, or point MMMULT_DATA at a local mmmult build"
        ) from None


class Rejected(ValueError):
    """A submission that cannot be accepted; the message names the problem and what to do."""


@dataclass
class Upload:
    """The parsed content of one submission: results.json and the samples of each task."""

    results: dict[str, Any]
    samples: dict[str, list[dict[str, Any]]]
    files: dict[str, bytes]

    @property
    def samples_hash(self) -> str:
        """sha256 over every task's samples, independent of file names and upload form."""
        digest = hashlib.sha256()
        for task in sorted(self.samples):
            for sample in sorted(self.samples[task], key=lambda s: str(s.get("doc", {}).get("problem_id"))):
                digest.update(json.dumps([task, sample], sort_keys=True).encode())
        return digest.hexdigest()


def read_upload(files: list[tuple[str, bytes]]) -> Upload:
    """Parse uploaded files: results_*.json and samples_<task>_*.jsonl, loose or inside one .zip."""
    total = sum(len(data) for _, data in files)
    if total > MAX_UPLOAD_BYTES:
        raise Rejected(f"the upload is {total / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    members: dict[str, bytes] = {}
    for name, data in files:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix == ".zip":
            members.update(_unzip(name, data))
        elif suffix in (".json", ".jsonl"):
            members[PurePosixPath(name).name] = data
        else:
            raise Rejected(f"{name}: only .json, .jsonl and .zip files are accepted")
    results_files = [n for n in members if n.startswith("results") and n.endswith(".json")]
    if len(results_files) != 1:
        raise Rejected(f"expected exactly one results_*.json from lm-eval, found {len(results_files)}")
    results = _json(results_files[0], members[results_files[0]])
    samples: dict[str, list[dict[str, Any]]] = {}
    for name, data in members.items():
        if name.startswith("samples_") and name.endswith(".jsonl"):
            task = name.removeprefix("samples_").rsplit("_", 1)[0]
            samples[task] = [_json(name, line) for line in data.splitlines() if line.strip()]
    return Upload(results, samples, members)


def _unzip(name: str, data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Rejected(f"{name} is not a valid zip file") from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_ZIP_MEMBERS:
        raise Rejected(f"{name} holds {len(infos)} files; the limit is {MAX_ZIP_MEMBERS}")
    for info in infos:
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or info.filename.startswith("\\"):
            raise Rejected(f"{name}: member {info.filename!r} has an absolute or parent path")
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise Rejected(f"{name} unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB")
    wanted = [i for i in infos if PurePosixPath(i.filename).suffix in (".json", ".jsonl")]
    return {PurePosixPath(i.filename).name: archive.read(i) for i in wanted}


def _json(name: str, data: bytes) -> Any:  # noqa: ANN401 (any JSON value)
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Rejected(f"{name} is not valid JSON ({error})") from None


@dataclass
class ItemResult:
    """One re-scored sample: which problem, how it was answered, whether it was right."""

    task: str
    config: str
    kind: str  # "multiply" or "perceive"
    problem_id: str
    C: int
    answer: str
    correct: int


@dataclass
class TaskResult:
    task: str
    config: str
    kind: str  # "multiply" or "perceive"
    verified: bool
    score: float
    n: int


@dataclass
class Verdict:
    model_name: str
    tasks: list[TaskResult]
    items: list[ItemResult]
    log: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "verified" if self.tasks and all(t.verified for t in self.tasks) else "self-reported"


def check(upload: Upload, reference: dict[str, dict[str, Any]]) -> Verdict:
    """Validate an upload against the benchmark's test problems and re-score every sample."""
    results = upload.results
    reported = results.get("results")
    if not isinstance(reported, dict):
        raise Rejected("results.json has no 'results' section: upload the results_*.json that lm-eval wrote")
    leaf_tasks = [t for t in reported if t not in GROUP_NAMES]
    unknown = [t for t in leaf_tasks if t not in TASKS]
    if unknown:
        raise Rejected(f"unknown task(s) {', '.join(unknown)}: submit runs of the mmmult tasks only")
    if not leaf_tasks:
        raise Rejected("results.json holds no mmmult task")
    stray = [t for t in upload.samples if t not in TASKS]
    if stray:
        raise Rejected(f"samples for unknown task(s) {', '.join(stray)}")
    model = str(results.get("model_name") or "")
    verdict = Verdict(model, [], [])
    for name in leaf_tasks:
        task = TASKS[name]
        version = results.get("versions", {}).get(name)
        if version is None or float(version) != task.version:
            raise Rejected(
                f"{name} is version {version}; this board takes version {task.version}: update mmmult and rerun"
            )
        claimed = reported[name].get(task.headline_key)
        if name in upload.samples:
            verdict.tasks.append(_rescore(name, upload.samples[name], claimed, reference, verdict))
        elif isinstance(claimed, (int, float)):
            verdict.tasks.append(TaskResult(name, task.config, task.kind.name, False, float(claimed), 0))
            verdict.log.append(f"{name}: no samples uploaded; {task.headline} {claimed:.4f} is self-reported")
        else:
            raise Rejected(f"{name}: results.json reports no {task.headline}")
    verdict.log.append(f"{verdict.status}: {len(verdict.tasks)} task(s), {len(verdict.items)} samples re-scored")
    return verdict


def _rescore(
    name: str,
    samples: list[dict[str, Any]],
    claimed: object,
    reference: dict[str, dict[str, Any]],
    verdict: Verdict,
) -> TaskResult:
    task = TASKS[name]
    multiply = task.kind is MULTIPLY
    seen: set[str] = set()
    correct_total = 0
    for sample in samples:
        doc = sample.get("doc") or {}
        pid = str(doc.get("problem_id"))
        problem = reference.get(pid)
        if problem is None:
            raise Rejected(
                f"{name}: problem {pid} is not in this benchmark's test split: rerun on the published dataset"
            )
        if pid in seen:
            raise Rejected(f"{name}: problem {pid} appears twice in the samples")
        seen.add(pid)
        for key in ("a", "b", "product"):
            if int(doc.get(key, -1)) != int(problem[key]):
                raise Rejected(
                    f"{name}: problem {pid} has {key} = {doc.get(key)} but the benchmark's is {problem[key]}"
                )
        if multiply and str(sample.get("target")) != str(problem["product"]):
            raise Rejected(f"{name}: the target of problem {pid} was changed to {sample.get('target')}")
        response = _response(sample)
        if multiply:
            answer = extract_answer(response)
            correct = score_answer(answer, int(problem["product"]))["exact_match"]
            shown = "" if answer is None else str(answer)
        else:
            read = extract_operands(response)
            correct = score_perception(read, int(problem["a"]), int(problem["b"]))["perceive_both"]
            shown = operands_text(read)
        correct_total += correct
        verdict.items.append(ItemResult(name, task.config, task.kind.name, pid, int(problem["C"]), shown, int(correct)))
    missing = len(reference) - len(seen)
    if missing:
        raise Rejected(f"{name}: {missing} of {len(reference)} test problems have no sample: run without --limit")
    score = correct_total / len(samples)
    if not isinstance(claimed, (int, float)) or math.isnan(claimed) or abs(claimed - score) > 1e-9:
        raise Rejected(
            f"{name}: results.json reports {task.headline} {claimed} but its samples score {score:.6f}: "
            "upload the unmodified lm-eval output"
        )
    return TaskResult(name, task.config, task.kind.name, True, score, len(samples))


def _response(sample: dict[str, Any]) -> str:
    responses = sample.get("resps") or [[""]]
    first = responses[0]
    return str(first[0] if isinstance(first, list) and first else first)
