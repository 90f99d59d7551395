"""How a run arrives on the board: a submitted upload (submit: check the form and the upload, store it or
record why not; returns the status text), or a finished evaluation request (ingest_finished), each checked and
re-scored the same way.

On the Hub (with `hf_oauth: true`) the submitter is the signed-in account and the form's name
field is not used; locally the form's name is the submitter, as the page says. The hourly limit
counts accepted submissions per submitter, so a refused attempt never uses up the allowance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.names import InvalidField, check_link, check_name, check_params, check_seed
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Rejected, read_upload
from mmmult.leaderboard.storage.store import Entry, OverLimit, RateLimit, Store
from mmmult.queue.request import DONE, Queue

RATE_LIMIT = 5
RATE_WINDOW_SECONDS = 3600
OVER_LIMIT = f"rejected: at most {RATE_LIMIT} accepted submissions per hour per submitter; try again later"
REFUSED = "(refused)"
T = TypeVar("T")


@dataclass(frozen=True)
class Form:
    """What the submit page sends, as typed."""

    model: str | None
    family: str | None
    params_b: str | float | None = None
    open_weights: bool = True
    submitter: str | None = None
    link: str | None = None
    seed: str | int | None = None
    """The seed of a fresh draw (mmmult build --seed S) the run was evaluated on; empty for the published set."""


def entry_of(form: Form, account: str | None) -> tuple[Entry, list[str]]:
    """The entry to store and the rule each bad field broke; a bad name is stored as REFUSED."""
    problems: list[str] = []

    def field(check: Callable[[], T], fallback: T) -> T:
        try:
            return check()
        except InvalidField as error:
            problems.append(str(error))
            return fallback

    model = field(lambda: check_name(form.model, "model"), REFUSED)
    family = field(lambda: check_name(form.family, "family"), REFUSED)
    submitter = account or field(lambda: check_name(form.submitter, "submitter"), REFUSED)
    params_b = field(lambda: check_params(form.params_b), None)
    link = field(lambda: check_link(form.link), None)
    seed = field(lambda: check_seed(form.seed), None)
    return Entry(model, family, submitter, bool(form.open_weights), params_b, link, seed), problems


def submit(store: Store, benchmark: Benchmark, paths: list[str], form: Form, account: str | None = None) -> str:
    """Ingest one submission; the returned text is shown to the submitter as plain text."""
    entry, problems = entry_of(form, account)
    if not problems and not paths:
        problems.append("files: upload the results_*.json and samples_*.jsonl files (or one .zip of the output folder)")
    if problems:
        sid = store.reject(entry, "; ".join(problems))
        return f"submission #{sid} rejected: " + "; ".join(problems)
    limit = RateLimit(RATE_LIMIT, RATE_WINDOW_SECONDS)
    if store.recent_submissions(entry.submitter, limit.seconds) >= limit.count:  # spares reading the upload
        return OVER_LIMIT
    try:
        drawn = benchmark if entry.seed is None else benchmark.fresh(entry.seed)
        if drawn is benchmark:  # the published seed, typed out
            entry = replace(entry, seed=None)
        upload = read_upload([(Path(p).name, Path(p)) for p in paths], drawn.media)
        verdict = check(upload, drawn)
    except Rejected as error:
        sid = store.reject(entry, str(error))
        return f"submission #{sid} rejected: {error}"
    try:
        sid = store.add(entry, upload, verdict, limit=limit)
    except OverLimit:  # others of the same submitter were stored while this one was checked
        return OVER_LIMIT
    stored = store.submission(sid)
    return f"submission #{sid} {stored['status']}\n{stored['log']}"


def submit_owned(store: Store, benchmark: Benchmark, paths: list[str], entry: Entry) -> str:
    """Ingest a run the board's owner names on the command line (`mmmult space --ingest`): checked and re-scored as
    an upload, but with no hourly limit, which is for the public's uploads; the returned text says what happened."""
    try:
        upload = read_upload([(Path(p).name, Path(p)) for p in paths], benchmark.media)
        verdict = check(upload, benchmark)
    except Rejected as error:
        sid = store.reject(entry, str(error))
        return f"submission #{sid} rejected: {error}"
    sid = store.add(entry, upload, verdict)
    stored = store.submission(sid)
    return f"submission #{sid} {stored['status']}\n{stored['log']}"


def ingest_finished(queue: Queue, store: Store, benchmark: Benchmark) -> list[int]:
    """Store every finished request not stored yet, checked and re-scored like an upload; returns the new ids."""
    stored = store.evaluated()
    new = []
    for request in queue.requests():
        if request.status != DONE or request.id in stored:
            continue
        entry = Entry(request.model, request.family or "unknown", request.submitter or "board", True, request.params_b)
        files = queue.result_files(request.id)
        try:
            upload = read_upload([(path.name, path) for path in files], benchmark.media)
            sid = store.add(entry, upload, check(upload, benchmark), request_id=request.id)
        except Rejected as error:
            sid = store.reject(entry, f"the board's run of request {request.id} was refused: {error}", request.id)
        new.append(sid)
    return new
