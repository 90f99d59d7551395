"""Optional Hub persistence of the store: snapshots of a live database, and restores that fail loudly."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from dataset_builder.settings import REPO_ENV
from mmmult.leaderboard.storage.persistence import PersistenceError, restore, restore_and_schedule, snapshot
from mmmult.leaderboard.storage.store import Store


def test_persistence_is_off_unless_a_repo_is_configured(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(REPO_ENV, raising=False)
    assert restore_and_schedule(tmp_path / "board.sqlite") is None
    assert not (tmp_path / "board.sqlite").exists()


def test_a_snapshot_of_a_store_being_written_is_a_consistent_database(tmp_path: Path) -> None:
    store = Store(tmp_path / "live" / "board.sqlite")
    stop = threading.Event()
    committed = threading.Condition()
    commits = 0

    def writer() -> None:
        nonlocal commits
        with closing(store.connect()) as db:
            while not stop.is_set():
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT INTO submissions (created, model, family, open_weights, submitter, status, log)"
                    " VALUES (0, 'm', 'f', 1, 's', 'rejected', 'x')"
                )
                db.execute("INSERT INTO files VALUES (last_insert_rowid(), 'results.json', 'abc')")
                db.execute("COMMIT")
                with committed:
                    commits += 1
                    committed.notify_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for i in range(5):
            with committed:  # each snapshot starts after at least i + 1 whole transactions, while more are written
                assert committed.wait_for(lambda i=i: commits > i, timeout=60)
            target = tmp_path / f"snapshot-{i}.db"
            snapshot(store.path, target)
            with closing(sqlite3.connect(target)) as copy:
                assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                submissions, files = copy.execute(
                    "SELECT COUNT(*), (SELECT COUNT(*) FROM files) FROM submissions"
                ).fetchone()
            assert submissions == files  # every transaction is either wholly in the snapshot or not at all
            assert submissions > i
    finally:
        stop.set()
        thread.join()
    assert not list(tmp_path.glob("*.tmp"))


def test_an_unreachable_repo_stops_the_start_instead_of_starting_empty(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        PersistenceError, match=f"could not restore the board from the dataset repo me/board.*{REPO_ENV}"
    ):
        restore(tmp_path / "board.sqlite", "me/board")
    assert not (tmp_path / "board.sqlite").exists()


def test_an_existing_local_store_is_never_replaced(tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    assert restore(store.path, "me/board") is False  # returns before any network access
