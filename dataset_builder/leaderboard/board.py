"""The leaderboard table and the data behind the plots, read from the store's summaries.

`Board` caches what it reads until the store changes, so filtering and switching plots only
re-shape small frames in memory.
"""

from __future__ import annotations

from contextlib import closing
from functools import lru_cache
from typing import Any

import pandas as pd

from ..configs import STIMULUS_CONFIGS
from .store import Store
from .summary import ALL, FIT_STATS, scope_configs, scope_name

ITEM_FIELDS = ("C", "digit_total", "nonzero_total", "digits_a", "digits_b", "nonzero_a", "nonzero_b")
READ_COLUMNS = [f"{config} read" for config in STIMULUS_CONFIGS]
COLUMNS = [
    "model",
    "family",
    "params_b",
    "open",
    "status",
    "submissions",
    "overall",
    *STIMULUS_CONFIGS,
    "perception",
    *READ_COLUMNS,
    *FIT_STATS,
    "submission_id",
]


class Board:
    """Everything the Space shows, for one store and one benchmark build."""

    def __init__(self, store: Store, reference: dict[str, dict[str, Any]]) -> None:
        self.store = store
        self.reference = reference
        store.summarise_missing({pid: int(p["C"]) for pid, p in reference.items()})
        self._table = lru_cache(maxsize=64)(self._compute_table)
        self._cells = lru_cache(maxsize=16)(self._read_cells)
        self._problem_stats = pd.DataFrame(
            [{"problem_id": pid, **{f: p[f] for f in ITEM_FIELDS}} for pid, p in reference.items()]
        )

    def table(self, every_submission: bool = False, modality: str = ALL, representation: str = ALL) -> pd.DataFrame:
        """One row per model (its latest verified submission, else its latest one), or per submission.

        `overall`, `perception` and the fit columns cover the configs of the chosen modality and
        representation; models with no result there are left out.
        """
        return self._table(self.store.version(), every_submission, modality, representation)

    def cells(self, submission_ids: list[int], configs: tuple[str, ...] = STIMULUS_CONFIGS) -> pd.DataFrame:
        """The load cells (counts per config and C) of the given submissions in the given configs."""
        cells = self._cells(self.store.version(), tuple(configs))
        return cells[cells["submission_id"].isin(submission_ids)]

    def items(self, submission_id: int) -> pd.DataFrame:
        """The re-scored items of one submission with their problem statistics."""
        with closing(self.store.connect()) as db:
            frame = pd.read_sql_query(
                "SELECT i.submission_id, i.task, t.config, t.kind, i.problem_id, i.correct FROM items i "
                "JOIN task_results t ON t.submission_id = i.submission_id AND t.task = i.task "
                "WHERE i.submission_id = ?",
                db,
                params=(submission_id,),
            )
        return frame.merge(self._problem_stats, on="problem_id", how="left")

    def _read_cells(self, version: tuple[int, int], configs: tuple[str, ...]) -> pd.DataFrame:
        marks = ",".join("?" * len(configs))
        with closing(self.store.connect()) as db:
            cursor = db.execute(f"SELECT * FROM load_cells WHERE config IN ({marks})", configs)
            return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])

    def _compute_table(
        self, version: tuple[int, int], every_submission: bool, modality: str, representation: str
    ) -> pd.DataFrame:
        configs = scope_configs(modality, representation)
        with closing(self.store.connect()) as db:
            subs = pd.read_sql_query(
                "SELECT id, model, family, params_b, open_weights, status FROM submissions"
                " WHERE status IN ('verified', 'self-reported') ORDER BY id DESC",
                db,
            )
            results = pd.read_sql_query("SELECT submission_id, config, kind, score, n FROM task_results", db)
            fits = pd.read_sql_query(
                "SELECT * FROM fits WHERE scope = ?", db, params=(scope_name(modality, representation),)
            )
        if subs.empty or not configs:
            return pd.DataFrame(columns=COLUMNS)
        counts = subs.groupby("model").size()
        if not every_submission:
            # "verified" sorts after "self-reported": descending puts a model's verified submissions first
            subs = subs.sort_values(["model", "status", "id"], ascending=[True, False, False]).groupby("model").head(1)
        results = results[results["config"].isin(configs) & results["submission_id"].isin(subs["id"])]
        scores = results.pivot_table(index="submission_id", columns=["kind", "config"], values="score", aggfunc="first")
        scores.columns = [config if kind == "multiply" else f"{config} read" for kind, config in scores.columns]
        table = pd.DataFrame(
            {
                "model": subs["model"],
                "family": subs["family"],
                "params_b": subs["params_b"].astype(float),
                "open": subs["open_weights"].astype(bool),
                "status": subs["status"],
                "submissions": subs["model"].map(counts).astype(int),
                "submission_id": subs["id"].astype(int),
            }
        ).set_index("submission_id", drop=False)
        accuracy = _weighted(results)
        table["overall"] = accuracy.get("multiply")
        table["perception"] = accuracy.get("perceive")
        table = table.join(scores).join(fits.set_index("submission_id")[FIT_STATS].astype(float))
        table = table[table.index.isin(results["submission_id"])].reindex(columns=COLUMNS)
        return table.sort_values("overall", ascending=False, na_position="last").reset_index(drop=True)


def _weighted(results: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per submission and kind over its tasks, weighted by their sample counts.

    Self-reported tasks have no samples (n = 0): they count only where no task has samples, as a plain mean.
    """
    grouped = results.assign(weighted=results["score"] * results["n"]).groupby(["submission_id", "kind"])
    sums = grouped[["weighted", "n"]].sum()
    plain = grouped["score"].mean()
    accuracy = (sums["weighted"] / sums["n"]).where(sums["n"] > 0, plain)
    return accuracy.unstack("kind").reindex(columns=["multiply", "perceive"])
