"""An inspect-ai log (.eval or .json) read as the lm-eval output it stands for, which the board then checks and
re-scores exactly as an lm-eval run (rescore.py), labelled with its harness and version (provenance.py).

The log names its task by the parameters of eval/inspect/task.py (dataset_builder.inspect_tasks); each of its
samples becomes a line of the lm-eval task's samples file: the problem (the sample's metadata) and the raw
response, which the board extracts and scores itself. Before that, each sample must have been asked the task's
own prompt of its problem, and the medium it carried must be the one the task recorded (its sha256). A log of a
format version or a harness version this board does not know, of a task that is not mmmult's, or with a sample
that fails those checks is refused, naming the harness, its version and the field.

A .eval log is a zip: it is read once member by member, counting the bytes it really decompresses, before
inspect-ai reads it, so that a hostile archive costs no more than an honest one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from dataset_builder.configs import CONFIGS
from dataset_builder.errors import UserError
from dataset_builder.inspect_tasks import PARAMETERS, TASK_NAME, chat_prompt, table_task
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import Task
from mmmult.leaderboard.intake.schema import SchemaError, parse_json

HARNESS = "inspect-ai"
LOG_VERSIONS = (2,)
"""The inspect-ai log format versions (the log's `version`) this board reads."""
HARNESS_VERSIONS = re.compile(r"0\.3\.\d{1,4}")
"""The inspect-ai releases whose logs this board reads (eval.packages.inspect_ai): 0.3.x."""
MEDIA_DIGEST = "media_sha256"
"""The sample metadata key that holds the sha256 of the medium sent (mmmult/harness/inspect_task.py)."""
MAX_LOG_MEMBERS = 20_000
MAX_LOG_BYTES = 500 * 2**20
BLOCK = 2**20
HEADER = "header.json"
"""The .eval member that holds the log's header (its version, task and packages)."""
JSON_LOG = re.compile(rb'\A\s*\{\s*"version"\s*:')
"""How an inspect-ai .json log begins; lm-eval's results file begins with "results"."""
ARCHIVE_FAULTS = (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError, KeyError)


class LogRefused(ValueError):
    """An inspect-ai log the board cannot take; the message names the harness, its version and the field."""


def is_inspect_log(name: str, data: bytes | Path) -> bool:
    """Whether an uploaded file is an inspect-ai log: a .eval file, or a .json one that begins as inspect's do."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".eval":
        return True
    if suffix != ".json":
        return False
    if isinstance(data, bytes):
        return bool(JSON_LOG.match(data[:64]))
    with Path(data).open("rb") as handle:
        return bool(JSON_LOG.match(handle.read(64)))


def as_lm_eval_files(files: list[tuple[str, bytes | Path]]) -> list[tuple[str, bytes | Path]]:
    """The upload as lm-eval's files: unchanged without an inspect-ai log; else the one log's results_*.json and
    samples_<task>_*.jsonl."""
    logs = [(name, data) for name, data in files if is_inspect_log(name, data)]
    if not logs:
        return files
    if len(files) > 1:
        raise LogRefused(f"upload one {HARNESS} log alone (got {len(files)} files): one run at a time")
    name, data = logs[0]
    return lm_eval_files(name, *read_log(name, data))


def read_log(name: str, data: bytes | Path) -> tuple[Any, str]:
    """The log as inspect-ai reads it and the release that wrote it, after a bounded read of every part of it and a
    check of its format version and harness version."""
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise LogRefused(f"this board cannot read {HARNESS} logs: install mmmult's inspect extra") from None
    raw = data if isinstance(data, bytes) else Path(data).read_bytes()
    is_eval = PurePosixPath(name).suffix.lower() == ".eval"
    try:
        header = _check_archive(name, raw) if is_eval else parse_json(raw, name, allow_nan=True)
    except SchemaError as error:
        raise LogRefused(f"{HARNESS} log {error}") from None
    version = check_header(name, header)
    try:
        return read_eval_log(io.BytesIO(raw), resolve_attachments=True, format="eval" if is_eval else "json"), version
    except (*ARCHIVE_FAULTS, TypeError, AttributeError, RecursionError) as error:
        raise LogRefused(f"{name} is not an {HARNESS} log this board can read ({type(error).__name__})") from None


def _check_archive(name: str, raw: bytes) -> Any:  # noqa: ANN401 (the header's JSON)
    """Every member of a .eval zip read once, within MAX_LOG_BYTES of what it really decompresses to; its header."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
        if len(members) > MAX_LOG_MEMBERS:
            raise LogRefused(f"{name} holds {len(members)} members; an {HARNESS} log of this benchmark holds fewer")
        budget, header = MAX_LOG_BYTES, None
        for info in members:
            if info.flag_bits & 0x1 or info.filename.startswith("/") or ".." in PurePosixPath(info.filename).parts:
                raise LogRefused(f"{name}: member {info.filename!r} is encrypted or has an absolute or parent path")
            with archive.open(info) as member:
                blocks = []
                for block in _blocks(member):
                    budget -= len(block)
                    if budget < 0:
                        raise LogRefused(f"{name} unpacks to more than {MAX_LOG_BYTES // 2**20} MB")
                    if info.filename == HEADER:
                        blocks.append(block)
            if info.filename == HEADER:
                header = parse_json(b"".join(blocks), f"{name}: {HEADER}", allow_nan=True)
        return header
    except (LogRefused, SchemaError):
        raise
    except ARCHIVE_FAULTS as error:
        raise LogRefused(f"{name} is not a readable {HARNESS} .eval log ({type(error).__name__})") from None


def _blocks(member: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: member.read(BLOCK), b"")


def check_header(name: str, header: Any) -> str:  # noqa: ANN401 (the log's header, parsed)
    """The inspect-ai release that wrote the log, once it and the log's format version are shown to be known."""
    header = header if isinstance(header, dict) else {}
    spec = header.get("eval") if isinstance(header.get("eval"), dict) else {}
    packages = spec.get("packages") if isinstance(spec.get("packages"), dict) else {}
    version = packages.get("inspect_ai")
    if not isinstance(version, str) or not HARNESS_VERSIONS.fullmatch(version):
        raise LogRefused(
            f"{name}: {HARNESS} version {version!r} (field eval.packages.inspect_ai) is not one whose logs this board "
            "reads (0.3.x)"
        )
    if header.get("version") not in LOG_VERSIONS:
        raise LogRefused(f"{name}: {HARNESS} {version} wrote log format version {header.get('version')!r} (field "
                         f"version); this board reads version {', '.join(map(str, LOG_VERSIONS))}: upload a log of a "
                         "supported release")  # fmt: skip
    return version


def lm_eval_files(name: str, log: Any, version: str) -> list[tuple[str, bytes]]:  # noqa: ANN401 (inspect's EvalLog)
    """The log's run as lm-eval writes one: its results file and its task's samples file."""
    harness = f"{HARNESS} {version}"
    if log.status != "success":
        raise LogRefused(
            f"{name}: the {harness} run did not finish (field status: {log.status}): upload a finished run"
        )
    task = task_of(name, log, harness)
    if (log.eval.config.epochs or 1) != 1:
        raise LogRefused(f"{name}: {harness} ran {log.eval.config.epochs} epochs (field eval.config.epochs): run one")
    lines = [json.dumps(_sample_line(i, sample, task, f"{name}: {harness}, sample {sample.id!r}"))
             for i, sample in enumerate(log.samples or [])]  # fmt: skip
    stamp = re.sub(r"[^0-9A-Za-z-]", "-", str(log.eval.created))[:32]
    results = json.dumps(_results(name, log, task, harness, version))
    return [
        (f"results_{stamp}.json", results.encode()),
        (f"samples_{task.name}_{stamp}.jsonl", "\n".join(lines).encode()),
    ]


def task_of(name: str, log: Any, harness: str) -> Task:  # noqa: ANN401
    """The task of the table that the log's task and parameters name."""
    task_name = str(log.eval.task).rpartition("/")[2]
    if task_name != TASK_NAME:
        raise LogRefused(f"{name}: {harness} task {log.eval.task!r} (field eval.task) is not mmmult's task "
                         f"{TASK_NAME!r}: run eval/inspect/task.py")  # fmt: skip
    args = log.eval.task_args or {}
    if "config" not in args:
        raise LogRefused(f"{name}: {harness} task arguments name no config (field eval.task_args.config)")
    split = "mini" if args.get("mini") is True else args.get("split", "test")
    chosen = {key: args[key] for key in PARAMETERS if key in args and key != "split"} | {"split": split}
    try:
        return table_task(**{key: str(value) for key, value in chosen.items()})
    except UserError as error:
        raise LogRefused(f"{name}: {harness} task arguments (field eval.task_args): {error}") from None


def _sample_line(index: int, sample: Any, task: Task, where: str) -> dict[str, Any]:  # noqa: ANN401
    """One sample as a line of lm-eval's samples file, once its prompt and medium are shown to be the task's."""
    doc = dict(sample.metadata or {})
    if doc.get("problem_id") != sample.id:
        raise LogRefused(f"{where}: field metadata.problem_id is {doc.get('problem_id')!r}, not the sample's id")
    config = CONFIGS[task.config]
    try:
        asked = {"modality": config.modality, "stimulus": stimulus(int(doc["a"]), int(doc["b"]), config.representation)}
    except (KeyError, TypeError, ValueError):
        raise LogRefused(f"{where}: field metadata holds no problem (a, b)") from None
    (message,) = [m for m in sample.input if m.role == "user"] if isinstance(sample.input, list) else [None]
    if message is None or message.text != chat_prompt(task, asked):
        raise LogRefused(f"{where}: field input is not the prompt {task.name} makes of problem {sample.id}")
    _check_media(message, doc, config.media_column, where)
    doc.pop(MEDIA_DIGEST, None)
    return {"doc_id": index, "doc": doc, "target": sample.target, "resps": [[sample.output.completion]]}


def _check_media(message: Any, doc: dict[str, Any], column: str | None, where: str) -> None:  # noqa: ANN401
    """The message carries the config's one medium (none for text), whose bytes hash to the recorded digest."""
    parts = [part for part in message.content if part.type in ("image", "audio", "video")] if message.content else []
    kinds = [part.type for part in parts]
    if kinds != ([column] if column else []):
        raise LogRefused(f"{where}: field input carries {kinds or 'no medium'}, not the {column or 'text'} of its task")
    if not parts:
        return
    uri = getattr(parts[0], column)
    try:
        data = base64.b64decode(uri.split("base64,", 1)[1], validate=True)
    except (IndexError, binascii.Error):
        raise LogRefused(f"{where}: field input's {column} is not base64 data") from None
    if hashlib.sha256(data).hexdigest() != doc.get(MEDIA_DIGEST):
        raise LogRefused(
            f"{where}: the {column} sent does not match its dataset digest (field metadata.{MEDIA_DIGEST})"
        )


def _results(name: str, log: Any, task: Task, harness: str, version: str) -> dict[str, Any]:  # noqa: ANN401
    """lm-eval's results file for the run: the headline the log reports, the task's record and the provenance."""
    scores = {score.name: score.metrics for score in (log.results.scores if log.results else [])}
    mean = scores.get(task.headline, {}).get("mean")
    if mean is None:
        raise LogRefused(f"{name}: {harness} reports no {task.headline} (field results.scores)")
    config = log.plan.config
    provider, _, model = str(log.eval.model).partition("/")
    return {
        "results": {task.name: {"alias": task.alias, task.headline_key: mean.value}},
        "versions": {task.name: log.eval.task_version},
        "n-shot": {task.name: 0},
        "configs": {
            task.name: {
                "task_alias": task.alias,
                "dataset_kwargs": {"config": task.config},
                "output_type": "generate_until",
                "generation_kwargs": {"max_gen_toks": config.max_tokens, "temperature": config.temperature},
            }
        },
        "config": {"model": provider, "model_args": {"model": model}},
        "model_name": log.eval.model,
        "date": datetime.fromisoformat(str(log.eval.created)).timestamp(),
        "harness": HARNESS,
        "harness_version": version,
    }
