"""`mmmult space`: serve the leaderboard Space from this checkout, optionally ingesting an lm-eval run first."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parent.parent / "space"


class SpaceSetupError(RuntimeError):
    """The Space's files or its inputs are missing; the message says what to do."""


def serve(data: str, db: str, port: int, ingest: str | None, model: str, family: str) -> None:
    """Ingest `ingest` (an lm-eval output folder) as `model` if given, then serve on 127.0.0.1:`port`."""
    if not (SPACE_DIR / "app.py").is_file():
        raise SpaceSetupError(f"the Space is not at {SPACE_DIR}: run mmmult from its repository (pip install -e .)")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.path.insert(0, str(SPACE_DIR))
    from app import serve_app
    from ingest import load_reference
    from persistence import PersistenceError, restore_and_schedule
    from store import Store
    from submission import submit

    try:
        reference = load_reference(data)
    except FileNotFoundError as error:
        raise SpaceSetupError(f"{error} (build one with `mmmult build --out {data}`)") from None
    try:
        restore_and_schedule(Path(db))  # only when MMMULT_SPACE_REPO is set
    except PersistenceError as error:
        raise SpaceSetupError(str(error)) from None
    store = Store(db)
    if ingest:
        files = sorted(str(p) for p in Path(ingest).rglob("*.json*"))
        if not files:
            raise SpaceSetupError(f"no results_*.json or samples_*.jsonl under {ingest}")
        print(submit(store, reference, files, model, family, None, True, "mmmult space", None))
    serve_app(store, reference, port)
