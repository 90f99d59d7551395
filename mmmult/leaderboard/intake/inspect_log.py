"""An inspect-ai log (.eval or .json) read as the lm-eval output it stands for, which the board then checks and
re-scores exactly as an lm-eval run (rescore.py), labelled with its harness and version (provenance.py).

The log names its task by the parameters of eval/inspect/task.py (dataset_builder.inspect_tasks); each of its
samples becomes a line of the lm-eval task's samples file: the problem (the sample's metadata) and the raw
response, which the board extracts and scores itself. Before that, each sample must have been asked the task's
own prompt of its problem, and carry the medium the board's build records (media.py): an image must be the build's
PNG, byte for byte; a clip goes as a WAV of the build's Opus samples, which the board cannot decode without the
media, so the digest of the stored clip the sample names (metadata.media_sha256) must be the build's. A log of a
format version or a harness version this board does not know, of a task that is not mmmult's, or with a sample
that fails those checks is refused, naming the harness, its version and the field.

No inspect-ai here (the Space has none): a .json log is one JSON document; a .eval log is a zip of JSON members
(header.json, samples/<id>_epoch_<n>.json, ...), compressed with zstd by inspect-ai on Python before 3.14. Every
member is read once, in blocks, counting the bytes it really decompresses, and parsed with the board's bounded JSON
reading; the fields the board reads are then validated by the pydantic models below, as lm-eval's are (schema.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from dataset_builder.configs import CONFIGS
from dataset_builder.errors import UserError
from dataset_builder.inspect_tasks import PARAMETERS, TASK_NAME, chat_prompt, table_task
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import Task
from mmmult.leaderboard.intake.media import MediaDigests, expected_digest
from mmmult.leaderboard.intake.schema import Count, Response, SchemaError, Text, parse_json, validate

HARNESS = "inspect-ai"
LOG_VERSIONS = (2,)
"""The inspect-ai log format versions (the log's `version`) this board reads."""
HARNESS_VERSIONS = re.compile(r"0\.3\.\d{1,4}")
"""The inspect-ai releases whose logs this board reads (eval.packages.inspect_ai): 0.3.x."""
MEDIA_DIGEST = "media_sha256"
"""The sample metadata key that holds the sha256 of the medium as stored (mmmult/harness/inspect_task.py)."""
MAX_LOG_MEMBERS = 20_000
MAX_LOG_BYTES = 500 * 2**20
BLOCK = 2**20
HEADER = "header.json"
"""The .eval member that holds the log's header (its version, status, task, plan and results)."""
SAMPLES = "samples/"
"""The folder of a .eval log's sample members."""
ZSTANDARD = 93
"""The zip method of inspect-ai's .eval members: zstd, which Python's zipfile reads from 3.14 only."""
LOCAL_HEADER = struct.Struct("<4s22xHH")
"""A zip member's local header: its signature, then (22 bytes on) the lengths of its name and extra field."""
ATTACHMENT = "attachment://"
"""How inspect-ai refers a long string of a sample (an image's data URI, a long text) to its `attachments`."""
MEDIA_PARTS = ("image", "audio", "video")
JSON_LOG = re.compile(rb'\A\s*\{\s*"version"\s*:')
"""How an inspect-ai .json log begins; lm-eval's results file begins with "results"."""
ARCHIVE_FAULTS = (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError, KeyError,
                  struct.error)  # fmt: skip


class LogRefused(ValueError):
    """An inspect-ai log the board cannot take; the message names the harness, its version and the field."""


class Part(BaseModel):
    """One content part of a message: text, or a medium as a data URI."""

    model_config = ConfigDict(extra="ignore")
    type: Text
    text: StrictStr | None = None
    image: StrictStr | None = None
    audio: StrictStr | None = None
    video: StrictStr | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Text
    content: StrictStr | Annotated[list[Part], Field(max_length=64)]

    @property
    def text(self) -> str:
        """The message's text as inspect-ai's ChatMessage.text gives it: its text parts, one per line."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text or "" for part in self.content if part.type == "text")

    @property
    def media(self) -> list[Part]:
        return [] if isinstance(self.content, str) else [part for part in self.content if part.type in MEDIA_PARTS]

    def resolved(self, attachments: dict[str, str]) -> Message:
        """The message with its attachment:// references replaced by what they refer to."""

        def resolve(value: str | None) -> str | None:
            if value is None or not value.startswith(ATTACHMENT):
                return value
            return attachments.get(value.removeprefix(ATTACHMENT), value)

        if isinstance(self.content, str):
            return self.model_copy(update={"content": resolve(self.content)})
        fields = ("text", *MEDIA_PARTS)
        parts = [part.model_copy(update={key: resolve(getattr(part, key)) for key in fields}) for part in self.content]
        return self.model_copy(update={"content": parts})


class Output(BaseModel):
    model_config = ConfigDict(extra="ignore")
    completion: Response = ""


class LogSample(BaseModel):
    """One sample of the log (EvalSample): what the board reads of it."""

    model_config = ConfigDict(extra="ignore")
    id: Annotated[StrictStr, Field(max_length=64)] | StrictInt
    epoch: Count = 1
    input: StrictStr | Annotated[list[Message], Field(max_length=64)]
    target: Annotated[StrictStr, Field(max_length=64)]
    output: Output = Field(default_factory=Output)
    metadata: Annotated[dict[Text, Any], Field(max_length=64)] = {}
    attachments: dict[StrictStr, StrictStr] = {}

    @property
    def order(self) -> tuple[int, str]:
        """Where inspect-ai puts the sample when it reads a log (log._log.sort_samples)."""
        return self.epoch, self.id if isinstance(self.id, str) else str(self.id).zfill(20)


class Metric(BaseModel):
    model_config = ConfigDict(extra="ignore")
    value: StrictFloat | StrictInt | None = None


class EvalScore(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Text
    metrics: Annotated[dict[Text, Metric], Field(max_length=32)] = {}


class EvalResults(BaseModel):
    model_config = ConfigDict(extra="ignore")
    scores: Annotated[list[EvalScore], Field(max_length=64)] = []


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    epochs: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None


class EvalSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")
    task: Text
    task_version: StrictInt | Text = 0
    task_args: Annotated[dict[Text, Any], Field(max_length=64)] = {}
    created: datetime
    model: Text
    config: EvalConfig = Field(default_factory=EvalConfig)


class Generation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    max_tokens: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    temperature: Annotated[StrictFloat | StrictInt, Field(ge=0, le=100)] | None = None


class Plan(BaseModel):
    model_config = ConfigDict(extra="ignore")
    config: Generation = Field(default_factory=Generation)


class Header(BaseModel):
    """The log's header (EvalLog without its samples): what the board reads of it."""

    model_config = ConfigDict(extra="ignore")
    status: Text
    eval: EvalSpec
    plan: Plan = Field(default_factory=Plan)
    results: EvalResults | None = None


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


def as_lm_eval_files(
    files: list[tuple[str, bytes | Path]], media: MediaDigests | None = None
) -> list[tuple[str, bytes | Path]]:
    """The upload as lm-eval's files: unchanged without an inspect-ai log; else the one log's results_*.json and
    samples_<task>_*.jsonl, its media checked against the board's build's `media` (None: unchecked)."""
    logs = [(name, data) for name, data in files if is_inspect_log(name, data)]
    if not logs:
        return files
    if len(files) > 1:
        raise LogRefused(f"upload one {HARNESS} log alone (got {len(files)} files): one run at a time")
    name, data = logs[0]
    return lm_eval_files(name, *read_log(name, data), media)


def read_log(name: str, data: bytes | Path) -> tuple[Header, list[LogSample], str]:
    """The log's header, its samples in inspect-ai's order, and the release that wrote it, after a bounded read of
    every part of it and a check of its format version and harness version."""
    raw = data if isinstance(data, bytes) else Path(data).read_bytes()
    is_eval = PurePosixPath(name).suffix.lower() == ".eval"
    try:
        header, samples = _read_archive(name, raw) if is_eval else _read_document(name, raw)
    except SchemaError as error:
        raise LogRefused(f"{HARNESS} log {error}") from None
    version = check_header(name, header)
    where = f"{name} ({HARNESS} {version})"
    try:
        parsed = validate(Header, header, where)
        logged = [validate(LogSample, sample, f"{where}, {label}") for label, sample in samples]
    except SchemaError as error:
        raise LogRefused(str(error)) from None
    return parsed, sorted(logged, key=lambda sample: sample.order), version


def _read_document(name: str, raw: bytes) -> tuple[Any, list[tuple[str, Any]]]:
    """A .json log: the header's fields and its samples (field samples), each with where it is."""
    log = parse_json(raw, name, allow_nan=True)
    samples = log.get("samples") if isinstance(log, dict) else None
    if not isinstance(samples, list | None):
        raise LogRefused(f"{name}: field samples of an {HARNESS} log is a list, not {type(samples).__name__}")
    return log, [(f"samples.{i}", sample) for i, sample in enumerate(samples or [])]


def _read_archive(name: str, raw: bytes) -> tuple[Any, list[tuple[str, Any]]]:
    """A .eval log: every member read once, within MAX_LOG_BYTES of what it really decompresses to; its header and
    its samples (a sample logged again supersedes the earlier member of its name, as inspect-ai reads it)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
        if len(members) > MAX_LOG_MEMBERS:
            raise LogRefused(f"{name} holds {len(members)} members; an {HARNESS} log of this benchmark holds fewer")
        budget, kept = [MAX_LOG_BYTES], {}
        for info in members:
            if info.flag_bits & 0x1 or info.filename.startswith("/") or ".." in PurePosixPath(info.filename).parts:
                raise LogRefused(f"{name}: member {info.filename!r} is encrypted or has an absolute or parent path")
            data = _read_member(name, archive, raw, info, budget)
            if info.filename == HEADER or (info.filename.startswith(SAMPLES) and info.filename.endswith(".json")):
                kept[info.filename] = data
        header = parse_json(kept.pop(HEADER), f"{name}: {HEADER}", allow_nan=True) if HEADER in kept else None
        return header, [
            (member, parse_json(data, f"{name}: {member}", allow_nan=True)) for member, data in kept.items()
        ]
    except (LogRefused, SchemaError):
        raise
    except ARCHIVE_FAULTS as error:
        raise LogRefused(f"{name} is not a readable {HARNESS} .eval log ({type(error).__name__})") from None


def _read_member(name: str, archive: zipfile.ZipFile, raw: bytes, info: zipfile.ZipInfo, budget: list[int]) -> bytes:
    """A member's bytes, charged to the log's budget block by block; kept only for the header and the samples."""
    kept = info.filename == HEADER or info.filename.startswith(SAMPLES)
    blocks = []
    for block in _member_blocks(archive, raw, info):
        budget[0] -= len(block)
        if budget[0] < 0:
            raise LogRefused(f"{name} unpacks to more than {MAX_LOG_BYTES // 2**20} MB")
        if kept:
            blocks.append(block)
    return b"".join(blocks)


def _member_blocks(archive: zipfile.ZipFile, raw: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    if info.compress_type == ZSTANDARD:
        yield from _zstd_blocks(raw, info)
        return
    with archive.open(info) as member:
        yield from _blocks(member)


def _blocks(member: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: member.read(BLOCK), b"")


def _zstd_blocks(raw: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A zstd member decompressed in blocks from its bytes in the archive, its CRC checked as zipfile checks it."""
    try:
        import zstandard
    except ImportError:
        raise LogRefused(f"this board cannot read zstd {HARNESS} .eval logs: install mmmult's space extra") from None
    signature, name_length, extra_length = LOCAL_HEADER.unpack_from(raw, info.header_offset)
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    start = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
    crc = 0
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(
            raw[start : start + info.compress_size], read_across_frames=True
        )
        for block in _blocks(reader):
            crc = zlib.crc32(block, crc)
            yield block
    except zstandard.ZstdError:
        raise zipfile.BadZipFile(f"{info.filename} is not zstd data") from None
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC of {info.filename}")


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


def lm_eval_files(
    name: str, log: Header, samples: list[LogSample], version: str, media: MediaDigests | None = None
) -> list[tuple[str, bytes]]:
    """The log's run as lm-eval writes one: its results file and its task's samples file."""
    harness = f"{HARNESS} {version}"
    if log.status != "success":
        raise LogRefused(
            f"{name}: the {harness} run did not finish (field status: {log.status}): upload a finished run"
        )
    task = task_of(name, log, harness)
    if (log.eval.config.epochs or 1) != 1:
        raise LogRefused(f"{name}: {harness} ran {log.eval.config.epochs} epochs (field eval.config.epochs): run one")
    lines = [json.dumps(_sample_line(i, sample, task, media, f"{name}: {harness}, sample {sample.id!r}"))
             for i, sample in enumerate(samples)]  # fmt: skip
    stamp = re.sub(r"[^0-9A-Za-z-]", "-", log.eval.created.isoformat())[:32]
    results = json.dumps(_results(name, log, task, harness, version))
    return [
        (f"results_{stamp}.json", results.encode()),
        (f"samples_{task.name}_{stamp}.jsonl", "\n".join(lines).encode()),
    ]


def task_of(name: str, log: Header, harness: str) -> Task:
    """The task of the table that the log's task and parameters name."""
    task_name = log.eval.task.rpartition("/")[2]
    if task_name != TASK_NAME:
        raise LogRefused(f"{name}: {harness} task {log.eval.task!r} (field eval.task) is not mmmult's task "
                         f"{TASK_NAME!r}: run eval/inspect/task.py")  # fmt: skip
    args = log.eval.task_args
    if "config" not in args:
        raise LogRefused(f"{name}: {harness} task arguments name no config (field eval.task_args.config)")
    split = "mini" if args.get("mini") is True else args.get("split", "test")
    chosen = {key: args[key] for key in PARAMETERS if key in args and key != "split"} | {"split": split}
    try:
        return table_task(**{key: str(value) for key, value in chosen.items()})
    except UserError as error:
        raise LogRefused(f"{name}: {harness} task arguments (field eval.task_args): {error}") from None


def _sample_line(index: int, sample: LogSample, task: Task, media: MediaDigests | None, where: str) -> dict[str, Any]:
    """One sample as a line of lm-eval's samples file, once its prompt and medium are shown to be the task's."""
    doc = dict(sample.metadata)
    if doc.get("problem_id") != sample.id:
        raise LogRefused(f"{where}: field metadata.problem_id is {doc.get('problem_id')!r}, not the sample's id")
    config = CONFIGS[task.config]
    try:
        asked = {"modality": config.modality, "stimulus": stimulus(int(doc["a"]), int(doc["b"]), config.representation)}
    except (KeyError, TypeError, ValueError):
        raise LogRefused(f"{where}: field metadata holds no problem (a, b)") from None
    messages = sample.input if isinstance(sample.input, list) else []
    users = [message.resolved(sample.attachments) for message in messages if message.role == "user"]
    if len(users) != 1 or users[0].text != chat_prompt(task, asked):
        raise LogRefused(f"{where}: field input is not the prompt {task.name} makes of problem {sample.id}")
    _check_media(users[0], doc, task, expected_digest(media, task.config, str(sample.id)), where)
    doc.pop(MEDIA_DIGEST, None)
    return {"doc_id": index, "doc": doc, "target": sample.target, "resps": [[sample.output.completion]]}


def _check_media(message: Message, doc: dict[str, Any], task: Task, expected: str | None, where: str) -> None:
    """The message carries the config's one medium (none for text), and where the board's build records its digest
    (`expected`), the image sent is the build's, or the clip the sample names is."""
    column = CONFIGS[task.config].media_column
    kinds = [part.type for part in message.media]
    if kinds != ([column] if column else []):
        raise LogRefused(f"{where}: field input carries {kinds or 'no medium'}, not the {column or 'text'} of its task")
    if column is None or expected is None:
        return
    problem = f"the {task.config} {column} of problem {doc['problem_id']} in this board's build"
    if column == "audio":
        if doc.get(MEDIA_DIGEST) != expected:
            raise LogRefused(f"{where}: field metadata.{MEDIA_DIGEST} is not the digest of {problem}")
        return
    uri = str(message.media[0].image)
    try:
        data = base64.b64decode(uri.split("base64,", 1)[1], validate=True)
    except (IndexError, binascii.Error):
        raise LogRefused(f"{where}: field input's {column} is not base64 data") from None
    if hashlib.sha256(data).hexdigest() != expected:
        raise LogRefused(f"{where}: the {column} sent (field input) is not {problem}")


def _results(name: str, log: Header, task: Task, harness: str, version: str) -> dict[str, Any]:
    """lm-eval's results file for the run: the headline the log reports, the task's record and the provenance."""
    scores = {score.name: score.metrics for score in (log.results.scores if log.results else [])}
    mean = scores.get(task.headline, {}).get("mean")
    if mean is None or mean.value is None:
        raise LogRefused(f"{name}: {harness} reports no {task.headline} (field results.scores)")
    config = log.plan.config
    provider, _, model = log.eval.model.partition("/")
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
        "date": log.eval.created.timestamp(),
        "harness": HARNESS,
        "harness_version": version,
    }
