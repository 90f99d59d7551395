"""Each re-scored item records its response's length, and a store from before lengths gains the column."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from dataset_builder.tasks import DIRECT, Task
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from tests.simulate import lm_eval_files

TASKS = ("mmmult_text_numerals", "mmmult_direct_text_numerals")
OLD_ITEMS = """CREATE TABLE items (submission_id INTEGER NOT NULL, task TEXT NOT NULL, problem_id TEXT NOT NULL,
answer TEXT NOT NULL, correct INTEGER NOT NULL, PRIMARY KEY (submission_id, task, problem_id))"""
"""The items table as stores wrote it before lengths were recorded."""


def verbose(task: Task, problem: Mapping[str, Any]) -> str:
    """Works in both regimes, padded: 'Numbers: a, b' and the product, surrounded by blank lines."""
    a, b = int(problem["a"]), int(problem["b"])
    working = f"Numbers: {a}, {b}\n{a} x {b} = {a * b}" if task.regime != DIRECT else f"{a} x {b} = {a * b}"
    return f"\n\n{working}\nFinal Answer: {a * b}  \n"


def test_each_item_stores_its_response_s_characters_and_an_earlier_store_keeps_its_items(reference, tmp_path: Path):
    path = tmp_path / "board.sqlite"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(OLD_ITEMS)
        db.execute("INSERT INTO items VALUES (99, 'mmmult_text_numerals', 'p1', '1692', 1)")
    store = Store(path)
    upload = read_upload(lm_eval_files(reference, TASKS, verbose))
    verdict = check(upload, reference)
    expected = {}
    for pid, problem in reference.items():
        a, b = int(problem["a"]), int(problem["b"])
        expected[TASKS[0], pid] = len(f"Numbers: {a}, {b}\n{a} x {b} = {a * b}\nFinal Answer: {a * b}")
        expected[TASKS[1], pid] = len(f"{a} x {b} = {a * b}\nFinal Answer: {a * b}")
    assert {(i.task, i.problem_id): i.response_length for i in verdict.items} == expected
    sid = store.add(Entry("m", "F", "s", True), upload, verdict)
    with closing(store.connect()) as db:
        rows = db.execute("SELECT submission_id, task, problem_id, response_length FROM items").fetchall()
    stored = {(row["task"], row["problem_id"]): row["response_length"] for row in rows if row["submission_id"] == sid}
    assert stored == expected
    assert [tuple(row) for row in rows if row["submission_id"] == 99] == [(99, "mmmult_text_numerals", "p1", None)]
