"""Evaluation requests: what a request is and how it is checked, its statuses, the queue's interface.

A queue keeps one JSON file per request with its status, and leases with an expiry: LocalQueue in a
folder (folder.py), HubQueue in a Hub dataset repository for workers that share no filesystem (hub.py);
hub.open_queue picks one from a --queue value. The layout follows the Open LLM Leaderboard's requests
dataset (one file per request with its status).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from dataset_builder.errors import UserError
from dataset_builder.settings import API_MODELS_ENV, setting
from dataset_builder.tasks import MODALITY_GROUPS, MULTIPLY, PERCEIVE, REFERENCE_MODEL, REGIMES, TASKS, WORKED

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
STATUSES = (PENDING, RUNNING, DONE, FAILED)
CHANNEL_TASKS = {group.name.removeprefix("mmmult_"): (group.name,) for group in MODALITY_GROUPS}
"""What a request for a channel runs in the worked regime: its multiplication tasks (perception comes with
`perceive`)."""
REGIME_TASKS = {
    regime: {
        channel: tuple(
            dict.fromkeys(
                task.group
                for task in TASKS.values()
                if task.kind is MULTIPLY and task.regime == regime and task.modality == channel
            )
        )
        for channel in CHANNEL_TASKS
    }
    for regime in REGIMES
}
"""What a request for a channel runs in each regime: the channel's group of that regime (mmmult_text,
mmmult_direct_text)."""
PERCEIVE_TASKS = {
    channel: tuple(task.name for task in TASKS.values() if task.kind is PERCEIVE and task.modality == channel)
    for channel in CHANNEL_TASKS
}
MODEL_TYPES = (
    "hf",
    "hf-multimodal",
    "hf-audiolm-qwen",
    "vllm",
    "vllm-vlm",
    "local-chat-completions",
    "openai-chat-completions",
    REFERENCE_MODEL,
)
"""The lm-eval model types a worker runs (vllm and vllm-vlm need a GPU)."""
API_MODEL_TYPES = ("local-chat-completions", "openai-chat-completions")
"""The model types of API models: only those the board's owner lists (API_MODELS_ENV) are run."""
HUB_MODEL_TYPES = tuple(t for t in MODEL_TYPES if t not in API_MODEL_TYPES and t != REFERENCE_MODEL)
"""The model types whose model is a Hub repository."""
PRECISIONS = ("auto", "bfloat16", "float16", "float32")
MAX_REQUEST_BYTES = 64 * 2**10
"""A request file is a few hundred bytes; a larger one is set aside unread."""
MODEL_NAME = re.compile(r"[A-Za-z0-9._/-]{1,96}")
SECRET_ARGS = ("api_key", "key", "token", "secret", "password")
"""--model_args an API model entry may not hold: keys come from the worker's environment (OPENAI_API_KEY)."""


class QueueError(UserError):
    """A request that cannot be queued or a queue that cannot be used; the message says why."""


@dataclass(frozen=True)
class SetAside:
    """A file among the queue's requests that is not a request of this queue (damaged, or made by hand with
    fields that do not agree): no worker acts on it, and workers and the Requests page say why."""

    file: str
    """Where it is: its path, or hf://datasets/OWNER/NAME/requests/<name>.json."""
    name: str
    """Its name without .json: the id of the request it would be."""
    reason: str

    def __str__(self) -> str:
        return f"{self.file} is not a request of this queue ({self.reason}); fix or remove it"


class NotARequest(QueueError):
    """A request file that is not a request of this queue (see SetAside)."""

    def __init__(self, aside: SetAside) -> None:
        super().__init__(str(aside))
        self.aside = aside


@dataclass(frozen=True)
class EvalRequest:
    """One evaluation request and what became of it."""

    model: str
    model_type: str
    channels: tuple[str, ...]
    revision: str = "main"
    precision: str = "auto"
    submitter: str = ""
    family: str = ""
    params_b: float | None = None
    perceive: bool = True
    regimes: tuple[str, ...] = (WORKED,)
    """The regimes whose multiplication tasks run (dataset_builder.tasks.REGIMES); the worked one unless asked."""
    id: str = ""
    status: str = PENDING
    submitted: float = 0.0
    started: float | None = None
    finished: float | None = None
    worker: str | None = None
    attempts: int = 0
    reason: str | None = None
    """Why a request failed: the last lines of its log."""
    extra: dict[str, Any] = field(default_factory=dict)
    """More --model_args of an API model (base_url, num_concurrent), set by the board's owner."""
    eval_args: tuple[str, ...] = ()
    """More lm-eval options, set by the board's owner (a test's --limit, a GPU's --batch_size)."""

    def tasks(self) -> list[str]:
        """Each regime's multiplication groups of the channels, then their perception tasks (once, whatever the
        regimes: perception asks for no product)."""
        tasks = [task for regime in self.regimes for channel in self.channels for task in REGIME_TASKS[regime][channel]]
        if self.perceive:
            tasks += [task for channel in self.channels for task in PERCEIVE_TASKS[channel]]
        return tasks

    def model_args(self) -> str:
        """lm-eval's --model_args for the request: a Hub id with revision and dtype, or an API model name."""
        if self.model_type in API_MODEL_TYPES:
            args = [f"model={self.model}", *(f"{k}={v}" for k, v in sorted(self.extra.items()))]
        elif self.model_type == REFERENCE_MODEL:
            args = [f"pretrained={self.model}"]
        else:
            args = [f"pretrained={self.model}", f"revision={self.revision}", f"dtype={self.precision}"]
        return ",".join(args)


def request_id(
    model: str, revision: str, precision: str, channels: tuple[str, ...], regimes: tuple[str, ...] = (WORKED,)
) -> str:
    """A file-safe id that names what runs: the same model, revision, precision, channels and regimes share one. A
    request of the worked regime alone keeps the id it had before requests named regimes.

    >>> request_id("org/m", "main", "auto", ("text",)), request_id("org/m", "main", "auto", ("text",), ("direct",))
    ('org_m__main__auto__text', 'org_m__main__auto__text__direct')
    """
    named = "" if regimes == (WORKED,) else f"__{'-'.join(regimes)}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model}__{revision}__{precision}__{'-'.join(channels)}{named}")
    return slug[:200]


def checked_regimes(regimes: object) -> tuple[str, ...]:
    """The regimes a request names, in REGIMES order, or a QueueError naming the choices (a value shown cut short:
    a hand-made request file may hold anything).

    >>> checked_regimes(["direct", "worked", "direct"])
    ('worked', 'direct')
    >>> checked_regimes(["cot"])
    Traceback (most recent call last):
    ...
    mmmult.queue.request.QueueError: unknown regime 'cot': regimes must be some of worked, direct
    """
    if not isinstance(regimes, tuple | list) or not regimes:
        got = str(regimes)[:40] if regimes else "none"
        raise QueueError(f"regimes must be some of {', '.join(REGIMES)}; got {got}")
    unknown = [regime for regime in regimes if regime not in REGIMES]
    if unknown:
        shown = repr(unknown[0]) if len(repr(unknown[0])) <= 40 else f"{repr(unknown[0])[:40]}..."
        raise QueueError(f"unknown regime {shown}: regimes must be some of {', '.join(REGIMES)}")
    return tuple(regime for regime in REGIMES if regime in regimes)


def check_request(request: EvalRequest) -> EvalRequest:
    """The request with its id, or a QueueError naming the field that is wrong."""
    if request.model_type not in MODEL_TYPES:
        raise QueueError(
            f"model type {request.model_type!r} is not one a worker runs; choose from {', '.join(MODEL_TYPES)}"
        )
    unknown = [c for c in request.channels if c not in CHANNEL_TASKS]
    if unknown or not request.channels:
        raise QueueError(
            f"channels must be some of {', '.join(CHANNEL_TASKS)}; got {', '.join(request.channels) or 'none'}"
        )
    if request.precision not in PRECISIONS:
        raise QueueError(f"precision must be one of {', '.join(PRECISIONS)}; got {request.precision!r}")
    if not MODEL_NAME.fullmatch(request.model) or ".." in request.model:
        raise QueueError(f"model {request.model!r}: a Hub id USER/NAME or an API model name (letters, digits, ._-/)")
    if not re.fullmatch(r"[A-Za-z0-9._/-]{1,64}", request.revision) or ".." in request.revision:
        raise QueueError(f"revision {request.revision!r}: a branch, tag or commit (letters, digits, ._-/)")
    channels = tuple(sorted(set(request.channels), key=list(CHANNEL_TASKS).index))
    regimes = checked_regimes(request.regimes)
    made = request_id(request.model, request.revision, request.precision, channels, regimes)
    return replace(request, channels=channels, regimes=regimes, id=made)


@dataclass(frozen=True)
class ApiModel:
    """An API model the board's owner lets requests name, with the --model_args its workers pass."""

    name: str
    model_type: str
    model_args: dict[str, str | int | float | bool] = field(default_factory=dict)


def load_api_models(path: str | Path | None = None) -> dict[str, ApiModel]:
    """The board owner's API models, by name, from a JSON list of {"name", "model_type", "model_args"}
    (default: the file API_MODELS_ENV names; none when it is unset)."""
    path = path or setting(API_MODELS_ENV)
    if not path:
        return {}
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise QueueError(f"the API model list {path} ({API_MODELS_ENV}) is not a readable JSON file: {error}") from None
    if not isinstance(entries, list):
        raise QueueError(f"the API model list {path} must be a JSON list of {{name, model_type, model_args}} objects")
    models: dict[str, ApiModel] = {}
    for number, entry in enumerate(entries, 1):
        model = api_model(entry, f"the API model list {path}, entry {number}")
        if model.name in models:
            raise QueueError(f"the API model list {path} names {model.name} twice")
        models[model.name] = model
    return models


def api_model(entry: object, where: str) -> ApiModel:
    """One entry of the API model list, checked; the message never repeats a value (it could be a key)."""
    if not isinstance(entry, dict) or not {"name", "model_type"} <= set(entry) <= {"name", "model_type", "model_args"}:
        raise QueueError(f"{where}: an object with name, model_type and (optionally) model_args")
    name, model_type, args = entry["name"], entry["model_type"], entry.get("model_args", {})
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name) or ".." in name:
        raise QueueError(f"{where}: the name must be 1 to 96 letters, digits or ._-/")
    if model_type not in API_MODEL_TYPES:
        raise QueueError(f"{where}: model_type must be one of {', '.join(API_MODEL_TYPES)}")
    if not isinstance(args, dict):
        raise QueueError(f"{where}: model_args must be an object of lm-eval --model_args (base_url, num_concurrent)")
    for key, value in args.items():
        if key.lower() in SECRET_ARGS:
            raise QueueError(f"{where}: model_args {key!r} would store a secret; remove it and set the key in the "
                             "workers' environment (OPENAI_API_KEY)")  # fmt: skip
        if key == "model" or not re.fullmatch(r"[A-Za-z_]\w*", key):
            raise QueueError(f"{where}: model_args {key!r} is not an lm-eval argument name (the name is the model)")
        if not isinstance(value, str | int | float) or "," in str(value):
            raise QueueError(f"{where}: model_args {key!r} must be a string or number without commas")
    return ApiModel(name, model_type, dict(args))


def api_model_request(request: EvalRequest, models: Mapping[str, ApiModel]) -> EvalRequest:
    """A request for an API model with its entry's --model_args; refused unless the board's owner lists the model
    with that type. Requests for other model types pass unchanged."""
    if request.model_type not in API_MODEL_TYPES:
        return request
    entry = models.get(request.model)
    if entry is None or entry.model_type != request.model_type:
        listed = ", ".join(f"{m.name} ({m.model_type})" for m in models.values())
        offer = f"choose one of {listed}" if listed else f"its owner lists none ({API_MODELS_ENV})"
        raise QueueError(f"{request.model} ({request.model_type}) is not an API model this board runs; {offer}")
    return replace(request, extra=dict(entry.model_args))


Clock = Callable[[], float]
"""What a queue reads the time from, in seconds since the epoch (time.time; the tests pass a clock they move)."""


def queued(request: EvalRequest, existing: EvalRequest | None, now: float) -> EvalRequest:
    """A checked request as it enters the queue at `now`; refused while the same one is pending, running or done."""
    if existing is not None and existing.status != FAILED:
        raise QueueError(f"{request.model} ({request.revision}, {request.precision}, {', '.join(request.channels)})"
                         f" is already {existing.status} as request {request.id}")  # fmt: skip
    return replace(request, status=PENDING, submitted=now, attempts=0, reason=None)


def request_json(request: EvalRequest) -> dict[str, Any]:
    values = asdict(request)
    values["channels"], values["eval_args"] = list(request.channels), list(request.eval_args)
    values["regimes"] = list(request.regimes)
    return values


def read_request(text: str | bytes, where: str, name: str) -> tuple[EvalRequest, float | None]:
    """The request and lease expiry (the Hub queue keeps it in the file; None: no lease there) of the request
    file `name`.json, or NotARequest naming the file: a queue that workers share (or a Hub repo's writers) can
    hold a damaged or hand-made file, and a request's id names the paths a worker writes to."""
    try:
        values = json.loads(text)
        if not isinstance(values, dict):
            raise TypeError(f"a JSON {type(values).__name__}, not an object")
        expires = values.pop("lease_expires", None)
        values |= {"channels": tuple(values["channels"]), "eval_args": tuple(values["eval_args"])}
        values["regimes"] = tuple(values.get("regimes", (WORKED,)))  # absent: a request from before regimes
        request = EvalRequest(**values)
        if request.status not in STATUSES or not isinstance(request.submitted, int | float):
            raise ValueError(f"status {request.status!r} or time {request.submitted!r} is not a request's")
        if not all(isinstance(arg, str) for arg in request.eval_args) or not isinstance(request.extra, dict):
            raise ValueError("eval_args must be strings and extra an object")
        if expires is not None and not isinstance(expires, int | float):
            raise ValueError(f"lease_expires {expires!r} is not a time")
        if check_request(request).id != request.id:
            raise ValueError(
                f"its id {request.id!r} is not the one its model, revision, precision, channels and regimes make"
            )
        if request.id != name:
            raise ValueError(f"its id {request.id!r} is not its file's name {name!r}")
    except KeyError as error:
        raise NotARequest(SetAside(where, name, f"it has no field {error.args[0]!r}")) from None
    except (ValueError, TypeError, QueueError) as error:
        raise NotARequest(SetAside(where, name, str(error))) from None
    return request, expires


def age(request: EvalRequest) -> tuple[float, str]:
    """The order of requests: oldest first."""
    return request.submitted, request.id


class Queue(Protocol):
    """What the board and the workers need of a queue: LocalQueue (a folder) or HubQueue (a Hub dataset repo)."""

    def submit(self, request: EvalRequest) -> EvalRequest: ...

    def get(self, request_id: str) -> EvalRequest | None: ...

    def requests(self) -> list[EvalRequest]:
        """Every request, oldest first; files that are not requests are left out (set_aside names them)."""

    def set_aside(self) -> list[SetAside]:
        """The files among the requests that are not requests of this queue, with why: never run."""

    def claim(self, worker: str, lease_seconds: float) -> EvalRequest | None:
        """Take the oldest request that is pending, or running under an expired lease; None when there is none."""

    def renew(self, request_id: str, worker: str, lease_seconds: float) -> bool:
        """Extend our lease; False when it is no longer ours."""

    def finish(self, request: EvalRequest, status: str, reason: str | None = None) -> EvalRequest | None:
        """Record the outcome with the run's output (results_dir, log_path); None when the lease was lost."""

    def release(self, request_id: str, worker: str) -> None:
        """Give our lease back without an outcome: any worker may take the request."""

    def results_dir(self, request_id: str) -> Path:
        """Where a worker on this machine has lm-eval write the run's results and samples."""

    def log_path(self, request_id: str) -> Path:
        """Where a worker on this machine writes the run's log."""

    def result_files(self, request_id: str) -> list[Path]:
        """The lm-eval output files (results and samples) of a finished request, on this machine."""


def check_on_hub(model: str, revision: str) -> None:
    """Refuse a Hub model or revision that does not exist; offline (HF_HUB_OFFLINE: huggingface_hub raises
    OfflineModeIsEnabled) or when the Hub cannot be reached, the request is queued unchecked and a worker's
    failure will say so."""
    import httpx2
    from huggingface_hub import model_info
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        model_info(model, revision=revision, timeout=10)
    except GatedRepoError:
        raise QueueError(f"{model} is gated: the board's workers cannot download it") from None
    except RevisionNotFoundError:
        raise QueueError(f"{model} has no revision {revision!r} on the Hub") from None
    except RepositoryNotFoundError:
        raise QueueError(f"{model} is not a model on the Hub (or it is private)") from None
    except (httpx2.TransportError, OfflineModeIsEnabled, HfHubHTTPError):
        return  # the Hub cannot be reached, or answered with an error of its own: the worker will find out
