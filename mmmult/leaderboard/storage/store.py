"""The Space's store: SQLite (WAL), one transaction per submission, raw uploads kept by content hash.

Submissions are never overwritten. An upload whose samples equal an earlier submission's is
recorded as a duplicate of it and adds no rows to the board. Beside the re-scored items, each
submission's summary (counts per config and C, fits per scope, each per regime; see summary.py) is
written in the same transaction, so the board never has to read items to draw its table. A task's regime
(worked or direct) is stored with its result; a store from before regimes holds the worked regime alone. A
submission's split (test, or the mini split, ranked apart) is stored with it; a store from before the board took
mini runs holds test runs alone.
"""

from __future__ import annotations

import math
import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dataset_builder.tasks import WORKED
from mmmult.leaderboard.intake.probe import metrics_json
from mmmult.leaderboard.intake.provenance import Provenance, settings_line
from mmmult.leaderboard.intake.rescore import TEST, Verdict
from mmmult.leaderboard.intake.status import LEGACY, Status
from mmmult.leaderboard.intake.upload import Upload, sha256_file
from mmmult.leaderboard.storage.summary import (
    BIN_COLUMNS,
    CELL_COLUMNS,
    FIT_COLUMNS,
    SUMMARY_VERSION,
    load_cells,
    scope_summaries,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    model TEXT NOT NULL,
    family TEXT NOT NULL,
    params_b REAL,
    open_weights INTEGER NOT NULL,
    submitter TEXT NOT NULL,
    link TEXT,
    status TEXT NOT NULL,
    log TEXT NOT NULL,
    samples_hash TEXT,
    duplicate_of INTEGER REFERENCES submissions(id),
    seed INTEGER,
    settings TEXT,
    provenance TEXT,
    split TEXT NOT NULL DEFAULT 'test'
);
CREATE INDEX IF NOT EXISTS submissions_by_hash ON submissions(samples_hash);
CREATE INDEX IF NOT EXISTS submissions_by_submitter ON submissions(submitter, created);
CREATE TABLE IF NOT EXISTS task_results (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    task TEXT NOT NULL,
    config TEXT NOT NULL,
    kind TEXT NOT NULL,
    verified INTEGER NOT NULL,
    score REAL NOT NULL,
    n INTEGER NOT NULL,
    regime TEXT NOT NULL DEFAULT 'worked',
    PRIMARY KEY (submission_id, task)
);
CREATE TABLE IF NOT EXISTS items (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    task TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    correct INTEGER NOT NULL,
    response_length INTEGER,
    PRIMARY KEY (submission_id, task, problem_id)
);
CREATE TABLE IF NOT EXISTS evaluated_requests (
    request_id TEXT PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id)
);
CREATE TABLE IF NOT EXISTS procedure_items (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    task TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    item_group TEXT NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (submission_id, task, problem_id)
);
CREATE TABLE IF NOT EXISTS load_cells (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    regime TEXT NOT NULL,
    config TEXT NOT NULL,
    C INTEGER NOT NULL,
    n INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    read_n INTEGER NOT NULL,
    read INTEGER NOT NULL,
    read_correct INTEGER NOT NULL,
    PRIMARY KEY (submission_id, regime, config, C)
);
CREATE TABLE IF NOT EXISTS fits (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    regime TEXT NOT NULL,
    scope TEXT NOT NULL,
    configs TEXT NOT NULL,
    n INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    accuracy REAL NOT NULL,
    acc_low REAL NOT NULL,
    acc_high REAL NOT NULL,
    b0 REAL,
    b1 REAL,
    v00 REAL,
    v01 REAL,
    v11 REAL,
    c_min REAL NOT NULL,
    c_max REAL NOT NULL,
    pseudo_r2 REAL,
    lpm_r2 REAL,
    aggregate_r2 REAL,
    step_heuristic TEXT NOT NULL,
    step_p REAL NOT NULL,
    step_low REAL NOT NULL,
    step_high REAL NOT NULL,
    median_response REAL,
    PRIMARY KEY (submission_id, regime, scope)
);
CREATE TABLE IF NOT EXISTS bins (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    regime TEXT NOT NULL,
    scope TEXT NOT NULL,
    band TEXT NOT NULL,
    n INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    effective_n REAL NOT NULL,
    mean_C REAL NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    PRIMARY KEY (submission_id, regime, scope, band)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    """What the submitter says about the model."""

    model: str
    family: str
    submitter: str
    open_weights: bool
    params_b: float | None = None
    link: str | None = None
    seed: int | None = None
    """The seed of the build the run was evaluated on; None for the public one."""


@dataclass(frozen=True)
class RateLimit:
    """At most `count` accepted submissions (duplicates included, refusals not) per submitter in `seconds`."""

    count: int
    seconds: float


class OverLimit(Exception):
    """A submission that its submitter's rate limit does not allow; nothing of it was stored."""


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.files = self.path.parent / "files"
        self.files.mkdir(exist_ok=True)
        with closing(self.connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            self._migrate(db)

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Bring a store written by an earlier version up to date; summaries of another version are dropped
        (the board recomputes them from the items when it opens). Task results from before regimes are the worked
        regime's (the only tasks there were), and submissions from before the mini split was ranked are test runs."""
        for old, status in LEGACY.items():
            db.execute("UPDATE submissions SET status = ? WHERE status = ?", (status, old))
        if "seed" not in _columns(db, "submissions"):
            db.execute("ALTER TABLE submissions ADD COLUMN seed INTEGER")
        if "response_length" not in _columns(db, "items"):
            db.execute("ALTER TABLE items ADD COLUMN response_length INTEGER")  # NULL: stored before it was recorded
        for column in ("settings", "provenance"):  # NULL: stored before the board read a run's provenance
            if column not in _columns(db, "submissions"):
                db.execute(f"ALTER TABLE submissions ADD COLUMN {column} TEXT")
        if "split" not in _columns(db, "submissions"):
            db.execute(f"ALTER TABLE submissions ADD COLUMN split TEXT NOT NULL DEFAULT '{TEST}'")
        if "regime" not in _columns(db, "task_results"):
            db.execute(f"ALTER TABLE task_results ADD COLUMN regime TEXT NOT NULL DEFAULT '{WORKED}'")
        row = db.execute("SELECT value FROM meta WHERE key = 'summary_version'").fetchone()
        if row is None or int(row["value"]) != SUMMARY_VERSION:
            db.executescript("DROP TABLE IF EXISTS fits; DROP TABLE IF EXISTS bins; DROP TABLE IF EXISTS load_cells;")
            db.executescript(SCHEMA)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('summary_version', ?)", (str(SUMMARY_VERSION),))

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def keep_files(self, upload: Upload) -> dict[str, str]:
        """Copy each raw file once, named by its sha256; returns name -> sha256."""
        kept = {}
        for name, path in upload.files.items():
            digest = sha256_file(path)
            target = self.files / digest
            if not target.exists():
                with tempfile.NamedTemporaryFile(dir=self.files, suffix=".partial", delete=False) as partial:
                    pass
                shutil.copyfile(path, partial.name)
                os.replace(partial.name, target)  # atomic; concurrent writers of one hash write the same bytes
            kept[name] = digest
        return kept

    def add(
        self,
        entry: Entry,
        upload: Upload,
        verdict: Verdict,
        request_id: str | None = None,
        limit: RateLimit | None = None,
    ) -> int:
        """Record one accepted submission in a single transaction; returns its id.

        With `request_id`, the run is the board's own evaluation of that request: labelled so, and
        recorded once (a second board process that ingests it too gets the first one's id). With `limit`,
        the submitter's recent submissions are counted in the same transaction that records this one (it
        holds SQLite's write lock from the count to the commit), so that of N submissions at once exactly
        min(N, allowance) are stored; the others raise OverLimit."""
        with closing(self.connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if limit is not None and _recent(db, entry.submitter, limit.seconds) >= limit.count:
                    raise OverLimit(entry.submitter)
                kept = self.keep_files(upload)
                earlier = None if request_id is None else _evaluated_as(db, request_id)
                if earlier is not None:
                    db.execute("ROLLBACK")
                    return earlier
                duplicate = None if request_id else self._duplicate_of(db, verdict.samples_hash)
                sid = _insert_submission(db, entry, verdict, request_id, duplicate, upload.provenance)
                db.executemany("INSERT INTO files VALUES (?, ?, ?)", [(sid, n, h) for n, h in kept.items()])
                if not duplicate:
                    self._insert_results(db, sid, verdict)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return sid

    @classmethod
    def _insert_results(cls, db: sqlite3.Connection, sid: int, verdict: Verdict) -> None:
        """A counted submission's task results, items, probe items and summary."""
        db.executemany(
            "INSERT INTO task_results (submission_id, task, config, kind, verified, score, n, regime)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(sid, t.task, t.config, t.kind, int(t.verified), t.score, t.n, t.regime) for t in verdict.tasks],
        )
        db.executemany(
            "INSERT INTO items (submission_id, task, problem_id, answer, correct, response_length)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(sid, i.task, i.problem_id, i.answer, i.correct, i.response_length) for i in verdict.items],
        )
        db.executemany(
            "INSERT INTO procedure_items VALUES (?, ?, ?, ?, ?)",
            [(sid, p.task, p.problem_id, p.group, metrics_json(p)) for p in verdict.procedures],
        )
        if verdict.items:  # a run of the probe alone has no multiplication items to summarise
            cls._write_summary(db, sid, pd.DataFrame([vars(i) for i in verdict.items]))

    def reject(self, entry: Entry, reason: str, request_id: str | None = None) -> int:
        """Record a rejected submission with its reason, so the submitter can see it (and, for the board's
        own run of a request, so that the request is not ingested again)."""
        with closing(self.connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                "INSERT INTO submissions (created, model, family, params_b, open_weights, submitter, link, status, log)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), entry.model, entry.family, entry.params_b, int(entry.open_weights), entry.submitter,
                 entry.link, Status.REJECTED, reason),
            )  # fmt: skip
            sid = int(cursor.lastrowid)
            if request_id is not None:
                db.execute("INSERT OR IGNORE INTO evaluated_requests VALUES (?, ?)", (request_id, sid))
            db.execute("COMMIT")
            return sid

    def evaluated(self) -> dict[str, dict[str, Any]]:
        """The board's own runs by request id: the submission each became (its id, status and log)."""
        with closing(self.connect()) as db:
            rows = db.execute(
                "SELECT e.request_id, s.id, s.status, s.log FROM evaluated_requests e JOIN submissions s"
                " ON s.id = e.submission_id"
            ).fetchall()
        return {row[0]: {"submission_id": row[1], "status": row[2], "log": row[3]} for row in rows}

    @staticmethod
    def _write_summary(db: sqlite3.Connection, sid: int, items: pd.DataFrame) -> None:
        cells = load_cells(items)
        fits, bins = scope_summaries(items)
        for table, frame, columns in (("load_cells", cells, CELL_COLUMNS), ("fits", fits, FIT_COLUMNS),
                                      ("bins", bins, BIN_COLUMNS)):  # fmt: skip
            db.executemany(
                f"INSERT INTO {table} VALUES (?, {', '.join('?' * len(columns))})",
                [(sid, *(None if _missing(v) else v for v in row)) for row in frame[columns].itertuples(index=False)],
            )

    def summarise_missing(self, problems: dict[str, tuple[int, int, int]]) -> list[int]:
        """Write the summary of accepted submissions stored without one (by an older version of the Space).

        `problems` maps problem_id to (C, a, b) (the items table holds no problem statistics). Returns the ids.
        """
        with closing(self.connect()) as db:
            missing = [
                int(r[0])
                for r in db.execute(
                    "SELECT DISTINCT t.submission_id FROM task_results t WHERE t.verified = 1"
                    " AND t.kind IN ('multiply', 'perceive') AND NOT EXISTS"
                    " (SELECT 1 FROM fits f WHERE f.submission_id = t.submission_id)"
                )
            ]
            for sid in missing:
                items = pd.read_sql_query(
                    "SELECT t.regime, t.config, t.kind, i.problem_id, i.correct, i.response_length FROM items i"
                    " JOIN task_results t"
                    " ON t.submission_id = i.submission_id AND t.task = i.task WHERE i.submission_id = ?",
                    db,
                    params=(sid,),
                )
                stats = pd.DataFrame.from_dict(problems, orient="index", columns=["C", "a", "b"])
                items = items.join(stats, on="problem_id")
                db.execute("BEGIN IMMEDIATE")
                try:
                    if db.execute("SELECT 1 FROM fits WHERE submission_id = ?", (sid,)).fetchone() is None:
                        for table in ("load_cells", "fits", "bins"):  # a partial summary is written anew
                            db.execute(f"DELETE FROM {table} WHERE submission_id = ?", (sid,))
                        self._write_summary(db, sid, items)  # unless another process got there first
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        return missing

    def version(self) -> tuple[int, int]:
        """Changes whenever a submission is stored: (highest id, number of submissions)."""
        with closing(self.connect()) as db:
            row = db.execute("SELECT COALESCE(MAX(id), 0), COUNT(*) FROM submissions").fetchone()
        return int(row[0]), int(row[1])

    def original_of(self, samples_hash: str | None) -> int | None:
        """The stored run (not a duplicate, not refused) with these samples, if any."""
        with closing(self.connect()) as db:
            return self._duplicate_of(db, samples_hash)

    @staticmethod
    def _duplicate_of(db: sqlite3.Connection, samples_hash: str | None) -> int | None:
        if samples_hash is None:
            return None
        row = db.execute(
            "SELECT id FROM submissions WHERE samples_hash = ? AND duplicate_of IS NULL AND status != ?"
            " ORDER BY id LIMIT 1",
            (samples_hash, Status.REJECTED),
        ).fetchone()
        return int(row["id"]) if row else None

    def submission(self, sid: int) -> dict[str, Any]:
        with closing(self.connect()) as db:
            row = db.execute("SELECT * FROM submissions WHERE id = ?", (sid,)).fetchone()
        if row is None:
            raise KeyError(f"no submission #{sid}")
        return dict(row)

    def provenance(self, sid: int) -> Provenance | None:
        """How a submission's run was made (None for one stored before the board read provenance)."""
        with closing(self.connect()) as db:
            row = db.execute("SELECT provenance FROM submissions WHERE id = ?", (sid,)).fetchone()
        return None if row is None or row[0] is None else Provenance.model_validate_json(row[0])

    def recent_submissions(self, submitter: str, seconds: float) -> int:
        """Accepted submissions (duplicates included, refusals not) of one submitter in the last `seconds`."""
        with closing(self.connect()) as db:
            return _recent(db, submitter, seconds)

    def counts(self) -> dict[str, int]:
        with closing(self.connect()) as db:
            return {
                table: int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("submissions", "task_results", "items", "procedure_items", "load_cells", "fits", "files")
            }


def _evaluated_as(db: sqlite3.Connection, request_id: str) -> int | None:
    """The submission the board's run of a request became, if it was ingested already."""
    row = db.execute("SELECT submission_id FROM evaluated_requests WHERE request_id = ?", (request_id,)).fetchone()
    return None if row is None else int(row[0])


def _insert_submission(
    db: sqlite3.Connection,
    entry: Entry,
    verdict: Verdict,
    request_id: str | None,
    duplicate: int | None,
    provenance: Provenance,
) -> int:
    """The submission's row, with its status, log and provenance (and, for the board's own run, the request it
    answers)."""
    log = [*verdict.log, settings_line(provenance.settings)]
    log += [f"duplicate of submission #{duplicate}: not counted again"] if duplicate else []
    status = Status.DUPLICATE if duplicate else Status.EVALUATED if request_id else verdict.status
    cursor = db.execute(
        "INSERT INTO submissions (created, model, family, params_b, open_weights, submitter, link, status, log,"
        " samples_hash, duplicate_of, seed, settings, provenance, split)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (time.time(), entry.model, entry.family, entry.params_b, int(entry.open_weights), entry.submitter,
         entry.link, status, "\n".join(log), verdict.samples_hash, duplicate, entry.seed, provenance.settings,
         provenance.model_dump_json(), verdict.split),
    )  # fmt: skip
    sid = int(cursor.lastrowid)
    if request_id is not None:
        db.execute("INSERT INTO evaluated_requests VALUES (?, ?)", (request_id, sid))
    return sid


def _recent(db: sqlite3.Connection, submitter: str, seconds: float) -> int:
    row = db.execute(
        "SELECT COUNT(*) AS n FROM submissions WHERE submitter = ? AND created > ? AND status != ?",
        (submitter, time.time() - seconds, Status.REJECTED),
    ).fetchone()
    return int(row["n"])


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}


def _missing(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)
