"""The README's tables of the published runs, computed with the board's own functions from results/<system>/<run>/.

    .venv/bin/python -m benchmarks.published_table                       # the repository's results/
    .venv/bin/python -m benchmarks.published_table --results /path/to/results

Every run folder (benchmarks/published.py writes them) is checked first as the board checks it before storing it
(mmmult/leaderboard/published.py: exactly the files its provenance.json lists, each with its sha256). Then four
markdown tables:

1. Multiplication: per system, regime and channel (text pools numerals and words as the board's "text" scope does),
   and per config where a channel has several: accuracy with its interval, accuracy per C band of the base set,
   C50 and the per-step error as the board states them, the LPM R^2 (mmmult/leaderboard/storage/summary.py); then
   the paper's figures.
2. Perception: per system and config, the share of problems whose two operands were read back exactly, with the
   board's interval (clustered by problem: Wilson's own with one reading per problem).
3. The probe: per model, channel and normalisation of the losses, each heuristic's share of the items it has the
   lowest loss on, the heuristic with the largest share, and the Findings view's verdict on the paper's claim; the
   samples are re-scored by the board's probe scoring (intake/probe.py).
4. Speed: per run, its items, wall time, items per second and the engine's settings (provenance.json).

Multiplication and perception items are read as benchmarks/real_models.py reads them (lm-eval's per-sample
scores, which the tasks compute with the core's scoring), each run's regime from the tasks its provenance names.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from benchmarks.published import RESULTS
from benchmarks.real_models import PAPER, all_tasks, read_samples
from dataset_builder.configs import CONFIGS, MODALITIES
from dataset_builder.errors import UserError
from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.problems import C_BANDS
from dataset_builder.tasks import MULTIPLY, PERCEIVE, PROBE, Task
from mmmult.leaderboard.intake.probe import rescore_procedure
from mmmult.leaderboard.intake.schema import SchemaError, parse_json, sample_lines, validate
from mmmult.leaderboard.intake.upload import Rejected
from mmmult.leaderboard.published import PROVENANCE, PublishedRun, read_run, run_folders
from mmmult.leaderboard.storage.summary import scope_name, scope_summaries, stored_fit
from mmmult.statistics.analysis import clustered_proportion
from mmmult.statistics.findings import HIGH_LOAD, Estimate, heuristic_shares, preference_verdict
from mmmult.statistics.procedures import loss_units
from mmmult.statistics.step_error import StepError

BANDS = [f"{low}-{high}" for low, high in C_BANDS]
"""The base set's C bands, as the board's summaries name them."""
MULTIPLICATION_COLUMNS = ["system", "regime", "scope", "n", "correct", "accuracy", *BANDS, "C50", "per-step error",
                          "LPM R²"]  # fmt: skip
PERCEPTION_COLUMNS = ["system", "run", "config", "n", "read both exactly", "accuracy"]
PROBE_COLUMNS = ["model", "channel", "loss per", "n", *(f"prefers {h}" for h in HEURISTICS), "preferred", "verdict",
                 "why"]  # fmt: skip


class PublishedError(UserError):
    """A results folder that cannot be tabulated: the message names the folder or file and what to do."""


class Engine(BaseModel):
    """The engine's settings as provenance.json records them."""

    model_config = ConfigDict(extra="ignore")
    threads: int
    slots: int
    slot_context: int
    repack: bool


class RunFacts(BaseModel):
    """What the tables read of a run's provenance.json beyond what the board reads (published.Provenance)."""

    model_config = ConfigDict(extra="ignore")
    model: str
    client: str
    tasks: list[str]
    engine: Engine | None
    max_gen_toks: int | str
    wall_s: float
    items: int
    items_per_s: float


@dataclass(frozen=True)
class TableRun:
    """One run folder, its files checked as the board checks them: its name (<system>/<run>) and its facts."""

    folder: Path
    name: str
    facts: RunFacts

    @property
    def tasks(self) -> list[Task]:
        return [all_tasks()[name] for name in self.facts.tasks]

    @cached_property
    def items(self) -> pd.DataFrame:
        """The run's multiplication and perception items (real_models.read_samples), with the run's regime."""
        try:
            items = read_samples(self.folder)[0]
        except (ValueError, KeyError, TypeError) as error:  # not JSON, a field missing or of another type
            raise PublishedError(f"{self.name}: a samples file is not lm-eval's ({type(error).__name__}: {error}); "
                                 "remake the run with benchmarks.published") from None  # fmt: skip
        return items.assign(regime=self.regime)

    @property
    def regime(self) -> str:
        """The regime of the run's multiplication tasks (a run of perception or probe tasks alone: the tasks'
        default, which its items never use)."""
        regimes = {task.regime for task in self.tasks if task.kind is MULTIPLY} or {task.regime for task in self.tasks}
        if len(regimes) > 1:
            raise PublishedError(f"{self.name}/{PROVENANCE}: its tasks mix the regimes {', '.join(sorted(regimes))}; "
                                 "publish each regime as a run of its own")  # fmt: skip
        return regimes.pop()


def read_runs(results: Path) -> list[TableRun]:
    """Every run folder under `results` (those holding a provenance.json), checked by the board's own reader, in
    name order."""
    if not results.is_dir():
        raise PublishedError(f"no results folder at {results}: publish runs with benchmarks.published first")
    try:
        runs = [read_run(folder, results) for folder in run_folders(results)]
    except Rejected as error:
        raise PublishedError(f"{results}: {error}; remake the run with benchmarks.published") from None
    if not runs:
        raise PublishedError(f"{results} holds no run: a run lives in {results}/<system>/<run>/ beside its "
                             f"{PROVENANCE}")  # fmt: skip
    return [table_run(run) for run in runs]


def table_run(run: PublishedRun) -> TableRun:
    """The run with the facts the tables need, checked: each named, of its type, its tasks mmmult's."""
    where = f"{run.name}/{PROVENANCE}"
    try:
        facts = validate(RunFacts, run.provenance.model_dump(), where)
    except SchemaError as error:
        raise PublishedError(f"{error}; remake the run with benchmarks.published") from None
    unknown = [name for name in facts.tasks if name not in all_tasks()]
    if unknown:
        raise PublishedError(f"{where}: unknown task(s) {', '.join(unknown)}; a run lists mmmult's tasks")
    return TableRun(run.folder, run.name, facts)


def share(value: float, low: float, high: float) -> str:
    """A share and its interval in percent, as the board's table writes its score: "40.0 [24.6, 57.7]"."""
    return f"{100 * value:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def multiplication_table(runs: Sequence[TableRun]) -> pd.DataFrame:
    """One row per run, regime and shown scope of its multiplication items, then the paper's figures."""
    rows = [row for run in runs for row in _multiplication_rows(run)]
    paper = {"system": "paper", "accuracy": PAPER["accuracy"], "LPM R²": PAPER["r2"]}
    paper |= {band: "near zero" for band, (low, _) in zip(BANDS, C_BANDS, strict=True) if low > HIGH_LOAD}
    return pd.DataFrame([*rows, paper], columns=MULTIPLICATION_COLUMNS, dtype=object)


def _multiplication_rows(run: TableRun) -> Iterator[dict[str, Any]]:
    fits, bins = scope_summaries(run.items)
    shown = {regime: shown_scopes(part) for regime, part in fits.groupby("regime")}
    for fit in fits.to_dict("records"):
        if fit["scope"] not in shown[fit["regime"]]:
            continue
        mine = bins[(bins["regime"] == fit["regime"]) & (bins["scope"] == fit["scope"])].set_index("band")
        row = {key: fit[key] for key in ("regime", "scope", "n", "correct")}
        row = {"system": run.facts.model, **row, "accuracy": share(fit["accuracy"], fit["acc_low"], fit["acc_high"])}
        row |= {band: _band(mine.loc[band]) for band in BANDS if band in mine.index}
        logistic = stored_fit(fit)
        step = StepError(
            fit["step_heuristic"], fit["step_p"], fit["step_low"], fit["step_high"], math.nan, int(fit["n"])
        )
        yield row | {"C50": "n/a" if logistic is None else logistic.c50().text, "per-step error": step.text,
                     "LPM R²": "n/a" if math.isnan(fit["lpm_r2"]) else f"{fit['lpm_r2']:.3f}"}  # fmt: skip


def shown_scopes(fits: pd.DataFrame) -> list[str]:
    """The scopes of one regime's fits that a row is shown for: each channel (modality) that has items, and its
    configs where it has several."""
    shown = []
    for modality in MODALITIES:
        channel = fits[fits["scope"] == scope_name(modality)]
        if channel.empty:
            continue
        configs = str(channel["configs"].iloc[0]).split(",")
        shown.append(scope_name(modality))
        if len(configs) > 1:
            shown += [scope_name(modality, CONFIGS[config].representation) for config in configs]
    return shown


def _band(row: pd.Series) -> str:
    return f"{row['correct']}/{row['n']}: {share(row['correct'] / row['n'], row['low'], row['high'])}"


def perception_table(runs: Sequence[TableRun]) -> pd.DataFrame:
    """One row per run and config of its perception items: the problems read back exactly, with the board's
    interval; then the paper's figure."""
    rows = []
    for run in runs:
        readings = run.items[run.items["kind"] == PERCEIVE.name]
        for config, mine in readings.groupby("config", sort=False):
            read = clustered_proportion(mine["correct"].to_numpy(dtype=float), mine["problem_id"].to_numpy())
            rows.append({"system": run.facts.model, "run": run.name, "config": config, "n": read.n,
                         "read both exactly": read.correct,
                         "accuracy": share(read.value, read.low, read.high)})  # fmt: skip
    paper = {"system": "paper", "accuracy": PAPER["perception"]}
    return pd.DataFrame([*rows, paper], columns=PERCEPTION_COLUMNS, dtype=object)


def probe_table(runs: Sequence[TableRun]) -> pd.DataFrame:
    """One row per model, probe task and normalisation (per byte; per token where the run logged token counts):
    each heuristic's share with its interval, the likeliest heuristic and the Findings view's verdict; then the
    paper's finding."""
    rows = []
    for run in runs:
        for task in (task for task in run.tasks if task.kind is PROBE):
            metrics = probe_metrics(run, task)
            for unit, losses in loss_units(metrics):
                row = {"model": run.facts.model, "channel": task.modality, "loss per": unit, "n": len(losses)}
                rows.append(row | preference_row(heuristic_shares(losses)))
    paper = {"model": "paper", "preferred": PAPER["probe"]}
    return pd.DataFrame([*rows, paper], columns=PROBE_COLUMNS, dtype=object)


def preference_row(shares: dict[str, Estimate]) -> dict[str, str]:
    """Each heuristic's share, the heuristic(s) with the largest share, and the Findings view's verdict."""
    best = max(estimate.value for estimate in shares.values())
    verdict = preference_verdict(shares)
    row = {f"prefers {h}": share(estimate.value, estimate.low, estimate.high) for h, estimate in shares.items()}
    preferred = " = ".join(h for h in HEURISTICS if shares[h].value == best)
    return row | {"preferred": preferred, "verdict": verdict.verdict, "why": verdict.why}


def probe_metrics(run: TableRun, task: Task) -> pd.DataFrame:
    """The task's samples re-scored by the board's probe scoring, one row of metrics per item; each sample is
    checked against the item its own doc logs (its continuations, their order, its log-likelihoods)."""
    files = sorted(run.folder.glob(f"samples_{task.name}_*.jsonl"))
    if len(files) != 1:
        raise PublishedError(f"{run.name}: {len(files)} samples files of {task.name}, which its {PROVENANCE} lists; "
                             "a run holds one per task (mmmult eval --log_samples)")  # fmt: skip
    path = files[0]
    try:
        docs = [
            parse_json(line, f"{path.name}, line {number}")["doc"] for number, line in sample_lines(path.name, path)
        ]
        items = {str(doc["problem_id"]): doc for doc in docs}
        scored, _ = rescore_procedure(task, path.name, sample_lines(path.name, path), items)
    except (SchemaError, Rejected) as error:
        raise PublishedError(f"{run.name}/{error}") from None
    except (KeyError, TypeError):
        raise PublishedError(f"{run.name}/{path.name}: a sample logs no doc with a problem_id; publish lm-eval's own "
                             "samples") from None  # fmt: skip
    return pd.DataFrame([item.metrics for item in scored])


def speed_table(runs: Sequence[TableRun]) -> pd.DataFrame:
    """One row per run: its items, wall time, items per second, and how it was run."""
    return pd.DataFrame([{"system": run.facts.model, "run": run.name, "items": run.facts.items,
                          "wall time (s)": f"{run.facts.wall_s:.0f}", "items/s": f"{run.facts.items_per_s:.3f}",
                          "engine": engine_text(run.facts), "max_gen_toks": run.facts.max_gen_toks}
                         for run in runs])  # fmt: skip


def engine_text(facts: RunFacts) -> str:
    """How a run was served: llama-server's settings, or lm-eval's client without a server (hf)."""
    engine = facts.engine
    if engine is None:
        return f"{facts.client} (no server)"
    return (f"llama-server, {engine.threads} thread(s), {engine.slots} slot(s) x {engine.slot_context} tokens, "
            f"repack {'on' if engine.repack else 'off'}; client {facts.client}")  # fmt: skip


def markdown(frame: pd.DataFrame) -> str:
    """A markdown table of the frame's cells as text ("|" escaped), a missing cell empty."""
    rows = [list(frame.columns), *frame.values.tolist()]
    cells = [["" if pd.isna(value) else str(value).replace("|", "\\|") for value in row] for row in rows]
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join([lines[0], "|" + "---|" * len(frame.columns), *lines[1:]])


TABLES = {
    "Multiplication": multiplication_table,
    "Perception": perception_table,
    "The probe": probe_table,
    "Speed": speed_table,
}
"""The tables in the order the README shows them, by heading."""


def tables(results: Path) -> str:
    """The README's tables of the runs under `results`, each under its heading."""
    runs = read_runs(results)
    return "\n\n".join(f"### {heading}\n\n{markdown(table(runs))}" for heading, table in TABLES.items()) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="the published results folder (%(default)s)")
    args = parser.parse_args(argv)
    try:
        print(tables(args.results), end="")
    except PublishedError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
