"""The leaderboard table and the data behind the plots, read from the store's summaries.

The headline score of a scope is the accuracy over all of its configs that the board's build holds, so
a model is ranked in a scope only when it was run on every one of them; `coverage` says how many it has. Ranks tie where
accuracy intervals overlap (rank = 1 + the number of models whose interval lies wholly above).
By default the board shows runs it evaluated itself (from an evaluation request) and submissions
whose every task was re-scored from its samples, a model's row preferring its latest evaluated run;
with `self_reported`, it adds submissions that uploaded results.json alone, whose cells are marked. Runs whose
generation settings differ from what their tasks declare (intake/provenance.py) are left out unless `differing`.

The table, the curves and the fits are those of one regime (worked or direct; dataset_builder.tasks.REGIMES):
a model appears once per regime it ran, ranked among the runs of that regime, and the two are never pooled. The
same holds for the problem set (base, or extended where the board serves its build): a table ranks the runs of
one set's configs, with that set's C bands, and a run of both sets is a row in each. And for the split: a table
ranks the runs of the test split or those of the mini split (a stratified 150 of the test problems), never both.

`Board` caches what it reads until the store changes, so filtering and switching plots only
re-shape small frames in memory.
"""

from __future__ import annotations

import json
import math
from contextlib import closing
from functools import lru_cache

import pandas as pd

from dataset_builder.configs import STIMULUS_CONFIGS
from dataset_builder.problems import BASE
from dataset_builder.tasks import WORKED
from mmmult.leaderboard.display.columns import COLUMNS
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.provenance import UNKNOWN, Provenance, differs
from mmmult.leaderboard.intake.rescore import TEST
from mmmult.leaderboard.intake.status import TRUSTED, Status
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.storage.summary import ALL, RANKED_CONFIGS, scope_configs, scope_name, stored_fit
from mmmult.statistics.analysis import ranks
from mmmult.statistics.step_error import StepError

ITEM_FIELDS = ("C", "digit_total", "nonzero_total", "digits_a", "digits_b", "nonzero_a", "nonzero_b")


class Board:
    """Everything the Space shows, for one store and one benchmark build."""

    def __init__(self, store: Store, reference: Benchmark) -> None:
        self.store = store
        self.reference = reference
        store.summarise_missing({pid: (int(p["C"]), int(p["a"]), int(p["b"])) for pid, p in reference.items()})
        self._table = lru_cache(maxsize=64)(self._compute_table)
        self._cells = lru_cache(maxsize=16)(self._read_cells)
        self._bins = lru_cache(maxsize=16)(self._read_bins)
        self._procedures = lru_cache(maxsize=2)(self._read_procedures)
        self._problem_stats = pd.DataFrame(
            [{"problem_id": pid, **{f: p[f] for f in ITEM_FIELDS}} for pid, p in reference.items()]
        )

    def table(
        self,
        every_submission: bool = False,
        modality: str = ALL,
        representation: str = ALL,
        self_reported: bool = False,
        regime: str = WORKED,
        differing: bool = False,
        problem_set: str = BASE,
        split: str = TEST,
    ) -> pd.DataFrame:
        """One row per model (its latest re-scored submission of the regime, problem set and split), or per
        submission, best first.

        `score`, its interval, `rank`, the fit columns, the accuracy per C band and the median response length cover
        the configs of the chosen modality and representation of the problem set in the chosen regime;
        `perception` is the run's (the perception tasks serve both regimes).
        """
        return self._table(
            self.store.version(), every_submission, modality, representation, self_reported, regime, differing,
            problem_set, split,
        )  # fmt: skip

    def cells(
        self, submission_ids: list[int], configs: tuple[str, ...] = STIMULUS_CONFIGS, regime: str = WORKED
    ) -> pd.DataFrame:
        """The load cells (counts per config and C) of the given submissions in the given configs and regime."""
        cells = self._cells(self.store.version(), tuple(configs))
        return cells[cells["submission_id"].isin(submission_ids) & (cells["regime"] == regime)]

    def bins(self, submission_ids: list[int], scope: str, regime: str = WORKED) -> pd.DataFrame:
        """Accuracy per C band of the given submissions in one scope and regime (with intervals and mean C)."""
        bins = self._bins(self.store.version(), scope)
        return bins[bins["submission_id"].isin(submission_ids) & (bins["regime"] == regime)]

    def fits(self, submission_ids: list[int], scope: str, regime: str | None = WORKED) -> pd.DataFrame:
        """The stored scope summaries (accuracy, fit, R^2, per-step error, median response length) of the given
        submissions in one regime, or in every regime with `regime` None (a row per regime)."""
        with closing(self.store.connect()) as db:
            fits = pd.read_sql_query("SELECT * FROM fits WHERE scope = ?", db, params=(scope,))
        chosen = fits["submission_id"].isin(submission_ids)
        return fits[chosen if regime is None else chosen & (fits["regime"] == regime)]

    def draws(self, model: str, regime: str = WORKED) -> pd.DataFrame:
        """A model's latest re-scored run on the published problems and its runs on fresh draws (seed set) in one
        regime, all of the test split: submission_id, seed (None: published), config, correct, n of each
        multiplication task."""
        with closing(self.store.connect()) as db:
            runs = pd.read_sql_query(
                "SELECT s.id AS submission_id, s.seed, t.config, t.score, t.n FROM submissions s JOIN task_results t"
                " ON t.submission_id = s.id WHERE s.model = ? AND s.status IN (?, ?) AND t.kind = 'multiply'"
                " AND t.verified = 1 AND t.regime = ? AND s.split = ? ORDER BY s.id DESC",
                db,
                params=(model, *TRUSTED, regime, TEST),
            )
        public = runs[runs["seed"].isna()]
        latest = public[public["submission_id"] == public["submission_id"].max()] if len(public) else public
        fresh = runs[runs["seed"].notna()]
        out = pd.concat([latest, fresh])
        return out.assign(correct=(out["score"] * out["n"]).round().astype(int))

    def procedures(self) -> pd.DataFrame:
        """The re-scored probe items of each model's latest submission of each probe task (published sets):
        model, task, kind, config, problem_id, item_group and metrics (a dict per item)."""
        return self._procedures(self.store.version())

    def _read_procedures(self, version: tuple[int, int]) -> pd.DataFrame:
        with closing(self.store.connect()) as db:
            frame = pd.read_sql_query(
                "SELECT s.id AS submission_id, s.model, p.task, t.kind, t.config, p.problem_id, p.item_group,"
                " p.metrics FROM procedure_items p JOIN submissions s ON s.id = p.submission_id"
                " JOIN task_results t ON t.submission_id = p.submission_id AND t.task = p.task"
                " WHERE s.status IN (?, ?) AND s.seed IS NULL",
                db,
                params=TRUSTED,
            )
        latest = frame.groupby(["model", "task"])["submission_id"].transform("max")
        frame = frame[frame["submission_id"] == latest].copy()
        frame["metrics"] = [json.loads(text) for text in frame["metrics"]]
        return frame

    def items(self, submission_id: int) -> pd.DataFrame:
        """The re-scored items of one submission, of every regime (the column `regime` tells them apart), with
        their problem statistics."""
        with closing(self.store.connect()) as db:
            frame = pd.read_sql_query(
                "SELECT i.submission_id, i.task, t.config, t.regime, t.kind, i.problem_id, i.correct FROM items i "
                "JOIN task_results t ON t.submission_id = i.submission_id AND t.task = i.task "
                "WHERE i.submission_id = ?",
                db,
                params=(submission_id,),
            )
        return frame.merge(self._problem_stats, on="problem_id", how="left")

    def _read_cells(self, version: tuple[int, int], configs: tuple[str, ...]) -> pd.DataFrame:
        marks = ",".join("?" * len(configs))
        with closing(self.store.connect()) as db:
            return pd.read_sql_query(f"SELECT * FROM load_cells WHERE config IN ({marks})", db, params=configs)

    def _read_bins(self, version: tuple[int, int], scope: str) -> pd.DataFrame:
        with closing(self.store.connect()) as db:
            return pd.read_sql_query("SELECT * FROM bins WHERE scope = ?", db, params=(scope,))

    def _compute_table(
        self, version: tuple[int, int], every: bool, modality: str, representation: str, self_reported: bool,
        regime: str, differing: bool, problem_set: str, split: str,
    ) -> pd.DataFrame:  # fmt: skip
        configs = tuple(c for c in scope_configs(modality, representation, problem_set) if c in self.reference.configs)
        scope = scope_name(modality, representation, problem_set)
        statuses = (*TRUSTED, Status.SELF_REPORTED) if self_reported else TRUSTED
        with closing(self.store.connect()) as db:
            subs = pd.read_sql_query(
                f"SELECT id, model, family, params_b, open_weights, status, submitter, link, settings, provenance"
                f" FROM submissions"
                f" WHERE status IN ({','.join('?' * len(statuses))}) AND seed IS NULL AND split = ? ORDER BY id DESC",
                db,
                params=(*statuses, split),
            )
            results = pd.read_sql_query(
                "SELECT submission_id, config, regime, kind, verified, score, n FROM task_results", db
            )
            fits = pd.read_sql_query(
                "SELECT * FROM fits WHERE scope = ? AND regime = ?",
                db,
                params=(scope, regime),
            )
            bins = pd.read_sql_query(
                "SELECT submission_id, band, n, correct FROM bins WHERE scope = ? AND regime = ?",
                db,
                params=(scope, regime),
            )
        perceived = results[results["kind"] == "perceive"]
        mine = results[results["config"].isin(RANKED_CONFIGS[problem_set])]
        subs = subs[subs["id"].isin(_runs_of(mine, regime))]  # a model's row: its latest run of the regime and set
        results = results[results["regime"] == regime]
        if not differing:  # runs whose generation settings differ from their tasks' are not ranked by default
            subs = subs[~subs["settings"].map(differs)]
        if subs.empty or not configs:
            return pd.DataFrame(columns=COLUMNS)
        counts = subs.groupby("model").size()
        if not every:  # a model's latest re-scored submission, else (with self_reported) its latest one
            trust = subs["status"].map(lambda status: Status(status).trust)  # then, with differing, one that conforms
            order = subs.assign(trust=trust, differs=subs["settings"].map(differs))
            subs = order.sort_values(["model", "trust", "differs", "id"], ascending=[True, True, True, False])
            subs = subs.groupby("model").head(1)
        results = results[results["config"].isin(configs) & results["submission_id"].isin(subs["id"])]
        table = pd.DataFrame(
            {
                "model": subs["model"],
                "family": subs["family"],
                "params_b": subs["params_b"].astype(float),
                "open": subs["open_weights"].astype(bool),
                "status": subs["status"],
                "submissions": subs["model"].map(counts).astype(int),
                "submitter": subs["submitter"],
                "link": subs["link"],
                "submission_id": subs["id"].astype(int),
                "regime": regime,
                "problem_set": problem_set,
                "split": split,
                **_provenance_columns(subs),
            }
        ).set_index("submission_id", drop=False)
        multiply = results[results["kind"] == "multiply"]
        wide = multiply.pivot_table(index="submission_id", columns="config", values="score", aggfunc="first")
        perceived = perceived[perceived["config"].isin(configs) & perceived["submission_id"].isin(subs["id"])]
        read = perceived.pivot_table(index="submission_id", columns="config", values="score", aggfunc="first")
        unrescored = multiply[multiply["verified"] == 0].pivot_table(
            index="submission_id", columns="config", values="verified", aggfunc="count"
        )
        table = table.join(wide.reindex(columns=list(configs)))
        table = table.join(read.reindex(columns=list(configs)).add_suffix(" read"))
        table = table.join(unrescored.reindex(columns=list(configs)).notna().add_suffix(" self-reported"))
        rescored = multiply[multiply["verified"] == 1].groupby("submission_id")["config"].nunique()
        table["coverage"] = [f"{int(rescored.get(sid, 0))}/{len(configs)}" for sid in table.index]
        table["perception"] = _weighted(perceived)
        table = table.join(_band_accuracy(bins))
        table = table[table.index.isin(results["submission_id"])]
        table = self._scores(table, fits.set_index("submission_id"), rescored, len(configs))
        return (
            table.reindex(columns=COLUMNS)
            .sort_values(["score", "model"], ascending=[False, True], na_position="last")
            .reset_index(drop=True)
        )

    @staticmethod
    def _scores(table: pd.DataFrame, fits: pd.DataFrame, rescored: pd.Series, needed: int) -> pd.DataFrame:
        """Score, interval, rank and fit columns of the submissions that cover every config of the scope."""
        table = table.copy()
        for column in ("score", "score_low", "score_high", "slope", "slope_se", "lpm_r2", "aggregate_r2", "pseudo_r2",
                       "median_response"):  # fmt: skip
            table[column] = math.nan
        table["C50"] = "n/a"
        table["step_error"] = ""
        for sid in table.index:
            if sid not in fits.index:
                continue
            row = fits.loc[sid]
            if int(rescored.get(sid, 0)) == needed:
                table.loc[sid, ["score", "score_low", "score_high"]] = [
                    row["accuracy"],
                    row["acc_low"],
                    row["acc_high"],
                ]
            table.loc[sid, "step_error"] = StepError(row["step_heuristic"], row["step_p"], row["step_low"],
                                                     row["step_high"], math.nan, int(row["n"])).text  # fmt: skip
            table.loc[sid, ["lpm_r2", "aggregate_r2", "pseudo_r2", "median_response"]] = [
                row["lpm_r2"], row["aggregate_r2"], row["pseudo_r2"], row["median_response"]]  # fmt: skip
            fit = stored_fit(row)
            if fit is not None:
                table.loc[sid, ["slope", "slope_se"]] = [fit.slope, fit.slope_se]
                table.loc[sid, "C50"] = fit.c50().text
        ranked = table["score"].notna()
        table["rank"] = pd.array([pd.NA] * len(table), dtype="Int64")
        if ranked.any():
            table.loc[ranked, "rank"] = ranks(table.loc[ranked, "score_low"], table.loc[ranked, "score_high"])
        return table


def _provenance_columns(subs: pd.DataFrame) -> dict[str, pd.Series]:
    """Each run's settings label, harness version, budgets and, for a cascade, its parts (a run stored before
    provenance: unknown, empty)."""
    records = subs["provenance"].map(lambda text: Provenance.model_validate_json(text or "{}"))
    return {
        "settings": subs["settings"].fillna(UNKNOWN),
        "harness": records.map(lambda record: record.harness or ""),
        "system": records.map(lambda record: record.system or ""),
        "max_gen_toks": records.map(lambda record: record.budgets),
    }


def _band_accuracy(bins: pd.DataFrame) -> pd.DataFrame:
    """Each submission's accuracy per C band of the scope (stored bins), in columns "C low-high"."""
    if bins.empty:
        return pd.DataFrame()
    shares = bins.assign(share=bins["correct"] / bins["n"], band="C " + bins["band"])
    return shares.pivot_table(index="submission_id", columns="band", values="share", aggfunc="first")


def _runs_of(results: pd.DataFrame, regime: str) -> set[int]:
    """The submissions with a multiplication task of the regime, and, in the worked regime, those with none at all
    (a run of the perception tasks alone, which take the worked regime as their default)."""
    multiply = results[results["kind"] == "multiply"]
    runs = set(multiply.loc[multiply["regime"] == regime, "submission_id"])
    return runs | (set(results["submission_id"]) - set(multiply["submission_id"]) if regime == WORKED else set())


def _weighted(results: pd.DataFrame) -> pd.Series:
    """Accuracy per submission over its tasks, weighted by their sample counts (self-reported: a plain mean)."""
    grouped = results.assign(weighted=results["score"] * results["n"]).groupby("submission_id")
    sums = grouped[["weighted", "n"]].sum()
    return (sums["weighted"] / sums["n"]).where(sums["n"] > 0, grouped["score"].mean())
