"""The leaderboard table and the item-level data behind the plots, read from the store."""

from __future__ import annotations

import math
from contextlib import closing
from typing import Any

import pandas as pd
from analysis import NotEstimable, fit_logistic
from ingest import CONFIGS
from store import Store

ITEM_FIELDS = ("C", "digit_total", "nonzero_total", "digits_a", "digits_b", "nonzero_a", "nonzero_b")


def submissions(store: Store) -> pd.DataFrame:
    """Every accepted submission (not rejected, not a duplicate), newest first."""
    with closing(store.connect()) as db:
        rows = db.execute(
            "SELECT * FROM submissions WHERE status IN ('verified', 'self-reported') ORDER BY id DESC"
        ).fetchall()
    return pd.DataFrame([dict(r) for r in rows])


def items(store: Store, reference: dict[str, dict[str, Any]], submission_ids: list[int]) -> pd.DataFrame:
    """Re-scored items of the given submissions with their problem statistics."""
    if not submission_ids:
        return pd.DataFrame(columns=["submission_id", "task", "config", "kind", "problem_id", "correct", *ITEM_FIELDS])
    marks = ",".join("?" * len(submission_ids))
    with closing(store.connect()) as db:
        rows = db.execute(
            f"SELECT i.submission_id, i.task, t.config, t.kind, i.problem_id, i.correct FROM items i "
            f"JOIN task_results t ON t.submission_id = i.submission_id AND t.task = i.task "
            f"WHERE i.submission_id IN ({marks})",
            submission_ids,
        ).fetchall()
    frame = pd.DataFrame([dict(r) for r in rows])
    stats = pd.DataFrame([{"problem_id": pid, **{f: p[f] for f in ITEM_FIELDS}} for pid, p in reference.items()])
    return frame.merge(stats, on="problem_id", how="left")


def board(store: Store, reference: dict[str, dict[str, Any]], every_submission: bool = False) -> pd.DataFrame:
    """One row per model (its latest verified submission, else its latest one), or per submission."""
    subs = submissions(store)
    if subs.empty:
        return pd.DataFrame(columns=COLUMNS)
    counts = subs.groupby("model").size()
    if not every_submission:
        # "verified" sorts after "self-reported": descending puts a model's verified submissions first
        subs = subs.sort_values(["model", "status", "id"], ascending=[True, False, False]).groupby("model").head(1)
    with closing(store.connect()) as db:
        results = pd.DataFrame([dict(r) for r in db.execute("SELECT * FROM task_results").fetchall()])
    detail = items(store, reference, [int(i) for i in subs["id"]])
    rows = []
    for sub in subs.itertuples():
        mine = results[results["submission_id"] == sub.id]
        multiply = mine[mine["kind"] == "multiply"]
        perceive = mine[mine["kind"] == "perceive"]
        row: dict[str, Any] = {
            "model": sub.model,
            "family": sub.family,
            "params_b": sub.params_b,
            "open": bool(sub.open_weights),
            "status": sub.status,
            "submissions": int(counts[sub.model]),
            "submission_id": int(sub.id),
            "overall": _weighted(multiply),
            "perception": _weighted(perceive),
        }
        for config in CONFIGS:
            match = multiply[multiply["config"] == config]
            row[config] = float(match["score"].iloc[0]) if len(match) else math.nan
        row |= _fit_columns(detail[(detail["submission_id"] == sub.id) & (detail["kind"] == "multiply")])
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("overall", ascending=False, na_position="last")


def _weighted(results: pd.DataFrame) -> float:
    if results.empty:
        return math.nan
    if results["n"].sum() == 0:
        return float(results["score"].mean())
    return float((results["score"] * results["n"]).sum() / results["n"].sum())


def _fit_columns(rows: pd.DataFrame) -> dict[str, float]:
    empty = {"C50": math.nan, "C50_low": math.nan, "C50_high": math.nan, "slope": math.nan, "pseudo_r2": math.nan}
    if rows.empty:
        return empty
    try:
        fit = fit_logistic(rows["C"], rows["correct"])
    except NotEstimable:
        return empty
    return {
        "C50": fit.c50,
        "C50_low": fit.c50_low,
        "C50_high": fit.c50_high,
        "slope": fit.slope,
        "pseudo_r2": fit.pseudo_r2,
    }


COLUMNS = [
    "model",
    "family",
    "params_b",
    "open",
    "status",
    "submissions",
    "overall",
    *CONFIGS,
    "perception",
    "C50",
    "C50_low",
    "C50_high",
    "slope",
    "pseudo_r2",
    "submission_id",
]
