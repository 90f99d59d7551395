"""Optional: keep the store in a Hugging Face dataset repo, so that a Space survives restarts.

Off unless MMMULT_SPACE_REPO names a dataset repo (the token comes from HF_TOKEN, a Space
secret). On start, a missing local store is restored from the repo's latest snapshot; then a
CommitScheduler uploads a consistent snapshot of the database (SQLite's online backup, never the
live WAL files) and the raw uploads every MMMULT_SPACE_SYNC_MINUTES (default 5).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from dataset_builder.settings import DEFAULT_SYNC_MINUTES, REPO_ENV, SYNC_ENV, setting

SNAPSHOT = "board.snapshot.db"
LIVE_FILES = ["*.sqlite", "*.sqlite-wal", "*.sqlite-shm", "*.partial", "*.tmp"]


class PersistenceError(RuntimeError):
    """The store could not be restored from or synced to the Hub; the message says what to do."""


def snapshot(db: Path, target: Path) -> None:
    """A consistent copy of a live database, written beside `target` and moved into place atomically."""
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as partial:
        pass
    try:
        with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(partial.name)) as copy:
            source.backup(copy)
        os.replace(partial.name, target)
    finally:
        Path(partial.name).unlink(missing_ok=True)


def restore(db: Path, repo_id: str) -> bool:
    """Download the repo's snapshot and raw uploads into the store's folder when there is no local store.

    Returns whether a snapshot was restored. A repo that cannot be reached is an error, not an empty
    board: starting empty would upload an empty snapshot over the real one.
    """
    if db.exists():
        return False
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(repo_id, repo_type="dataset", local_dir=db.parent)
    except Exception as error:  # noqa: BLE001 (network, auth and missing-repo errors all stop the start)
        raise PersistenceError(
            f"could not restore the board from the dataset repo {repo_id} ({type(error).__name__}: {error}); "
            f"check the repo id and the HF_TOKEN secret, or unset {REPO_ENV} to run without persistence"
        ) from None
    restored = db.parent / SNAPSHOT
    if not restored.exists():
        return False
    shutil.copyfile(restored, db)
    return True


def schedule(db: Path, repo_id: str, every_minutes: float):  # noqa: ANN201 (a CommitScheduler)
    """Upload a snapshot of the store and its raw uploads to `repo_id` every `every_minutes`."""
    from huggingface_hub import CommitScheduler

    class StoreScheduler(CommitScheduler):
        def push_to_hub(self):  # noqa: ANN202
            with self.lock:
                snapshot(db, db.parent / SNAPSHOT)
            return super().push_to_hub()

    return StoreScheduler(
        repo_id=repo_id, repo_type="dataset", folder_path=db.parent, every=every_minutes, ignore_patterns=LIVE_FILES
    )


def restore_and_schedule(db: Path):  # noqa: ANN201 (a CommitScheduler or None)
    """Persistence as the environment configures it: nothing unless MMMULT_SPACE_REPO is set."""
    repo_id = setting(REPO_ENV)
    if not repo_id:
        return None
    db.parent.mkdir(parents=True, exist_ok=True)
    restore(db, repo_id)
    return schedule(db, repo_id, float(setting(SYNC_ENV) or DEFAULT_SYNC_MINUTES))
