"""The board's request form and its Requests page.

A request goes to the evaluation queue (mmmult/queue/request.py); workers run it, and each finished run
arrives on the board through mmmult/leaderboard/submissions.py (checked and re-scored like an upload). A run
that the checks refuse is recorded as refused with the reason, and the Requests page shows it, as it shows a
failed run's last log lines: nothing fails silently.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.names import InvalidField, check_name, check_params
from mmmult.leaderboard.intake.status import Status
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.submissions import ingest_finished
from mmmult.queue.request import (
    HUB_MODEL_TYPES,
    ApiModel,
    EvalRequest,
    Queue,
    QueueError,
    api_model_request,
    check_on_hub,
)

SET_ASIDE = "set aside"
"""The status the Requests page shows for a file in the queue that is not a request (mmmult.queue.request.SetAside)."""
REQUEST_COLUMNS = ["model", "revision", "precision", "model type", "channels", "regimes", "submitter", "status",
                   "submitted", "finished", "on the board", "reason"]  # fmt: skip


@dataclass(frozen=True)
class RequestForm:
    """What the request form sends."""

    model: str | None
    model_type: str
    channels: list[str]
    family: str | None
    revision: str | None = "main"
    precision: str = "auto"
    params_b: str | float | None = None
    submitter: str | None = None
    regimes: list[str] | None = None
    """The regimes to run (dataset_builder.tasks.REGIMES); None: the worked one, as before requests named them."""


def request_evaluation(
    queue: Queue, form: RequestForm, account: str | None = None, api_models: Mapping[str, ApiModel] | None = None
) -> str:
    """Queue one request; the returned text is shown to the requester. An API model must be one of
    `api_models` (the board owner's list, mmmult.queue.request.load_api_models), whose entry adds its --model_args."""
    try:
        model = check_name(form.model, "model")
        family = check_name(form.family, "family")
        submitter = account or check_name(form.submitter, "submitter")
        params_b = check_params(form.params_b)
        request = EvalRequest(model, form.model_type, tuple(form.channels or ()), (form.revision or "main").strip(),
                              form.precision, submitter, family, params_b)  # fmt: skip
        if form.regimes is not None:
            request = replace(request, regimes=tuple(form.regimes))
        request = api_model_request(request, api_models or {})
        if request.model_type in HUB_MODEL_TYPES:
            check_on_hub(request.model, request.revision)
        queued = queue.submit(request)
    except (InvalidField, QueueError) as error:
        return f"request refused: {error}"
    return f"request {queued.id} queued: a worker will run {', '.join(queued.tasks())}"


def requests_table(queue: Queue, store: Store) -> pd.DataFrame:
    """Every request, newest first, with its status, what it became on the board, and why it failed; first, the
    files among the requests that are not requests, with why (no worker runs them)."""
    stored, requests = store.evaluated(), queue.requests()
    rows = [["", "", "", "", "", "", "", SET_ASIDE, "", "", "", f"{aside}; no worker runs it"]
            for aside in queue.set_aside()]  # fmt: skip
    for request in reversed(requests):
        board = stored.get(request.id)
        shown = "" if board is None else f"#{board['submission_id']} {board['status']}"
        reason = request.reason or (board["log"] if board and board["status"] == Status.REJECTED else "")
        rows.append([request.model, request.revision, request.precision, request.model_type,
                     ", ".join(request.channels), ", ".join(request.regimes), request.submitter, request.status,
                     _time(request.submitted),
                     _time(request.finished), shown, reason])  # fmt: skip
    return pd.DataFrame(rows, columns=REQUEST_COLUMNS)


def requests_page(queue: Queue, store: Store, benchmark: Benchmark) -> pd.DataFrame:
    """The Requests tab: finished runs ingested, then every request; a queue that cannot be read (an unreachable
    repo) shows why in place of the table, not as an error page."""
    try:
        ingest_finished(queue, store, benchmark)
        return requests_table(queue, store)
    except QueueError as error:
        return pd.DataFrame([[""] * (len(REQUEST_COLUMNS) - 1) + [f"the queue cannot be read: {error}"]],
                            columns=REQUEST_COLUMNS)  # fmt: skip


def _time(stamp: float | None) -> str:
    return "" if not stamp else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stamp))
