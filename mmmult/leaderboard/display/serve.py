"""`mmmult space`: serve the leaderboard locally, optionally ingesting an lm-eval run first."""

from __future__ import annotations

import os
from pathlib import Path

from dataset_builder.errors import UserError
from dataset_builder.settings import DEFAULT_RESULTS, EXTENDED_DATA_ENV, RESULTS_ENV, setting

OWNER = "mmmult space"
"""The submitter of the runs `mmmult space --ingest` stores: the board's owner."""


class SpaceSetupError(UserError):
    """The board's inputs are missing or its port is taken; the message says what to do."""


def serve(
    data: str,
    db: str,
    port: int | None,
    ingest: list[tuple[str, str, str]],
    queue: str | None = None,
    extended: str | None = None,
    results: str | None = None,
) -> None:
    """Submit each (lm-eval output folder, model, family) of `ingest`, then serve the board (with its evaluation
    requests in `queue`, default: beside the store). With `extended` (default: EXTENDED_DATA_ENV), a build of the
    extended set whose runs the board checks and ranks too, as a problem set of its own: a build holds one set, so
    the board takes one build of each, and each is refused at start if it holds the other. The published runs in
    `results` (default: RESULTS_ENV, else ./results) are stored first (mmmult/leaderboard/published.py)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from mmmult.leaderboard.display.app import serve_app
    from mmmult.leaderboard.intake.benchmark import load_reference
    from mmmult.leaderboard.intake.names import InvalidField, check_name
    from mmmult.leaderboard.published import load_published
    from mmmult.leaderboard.storage.persistence import PersistenceError, restore_and_schedule
    from mmmult.leaderboard.storage.store import Entry, Store
    from mmmult.leaderboard.submissions import submit_owned

    extended = extended or setting(EXTENDED_DATA_ENV)
    try:
        reference = load_reference(data, extended)
    except FileNotFoundError as error:
        raise SpaceSetupError(f"{error} (build one with `mmmult build --out {data}`)") from None
    try:
        restore_and_schedule(Path(db))  # only when MMMULT_SPACE_REPO is set
    except PersistenceError as error:
        raise SpaceSetupError(str(error)) from None
    if results is not None and not Path(results).is_dir():
        raise SpaceSetupError(f"--results {results} is not a folder: give the folder of published run folders")
    runs = []
    for folder, model, family in ingest:
        files = sorted(str(p) for p in Path(folder).rglob("*.json*"))
        if not files:
            raise SpaceSetupError(f"no results_*.json or samples_*.jsonl under {folder}")
        try:
            runs.append((files, Entry(check_name(model, "model"), check_name(family, "family"), OWNER, True)))
        except InvalidField as error:
            raise SpaceSetupError(f"--ingest {folder}: {error}") from None
    store = Store(db)
    for line in load_published(store, reference, Path(results or setting(RESULTS_ENV, DEFAULT_RESULTS))):
        print(f"published runs: {line}")
    for files, entry in runs:
        print(f"{entry.model}: {submit_owned(store, reference, files, entry)}")
    try:
        serve_app(store, reference, port, queue)
    except OSError:
        where = f"port {port}" if port else "a port from 7860 up"
        raise SpaceSetupError(f"cannot listen on {where}: it is in use or not allowed; pass a free --port") from None
