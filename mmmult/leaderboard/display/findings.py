"""The Findings tab: the paper's claims, each set against every model's data on the board, read from the store.

One row per claim, model, split and scope (a regime, a channel, a normalisation of the probe's losses): the paper's
statement, this board's measurement with its 95% interval, a verdict and the rule or reason that reached it. The
measures and the rules are in mmmult/statistics/findings.py. Claims on products read one regime (the tab's choice)
of the base problem set's configs, a row for each split a model ran (test, mini), never pooled; the probe and the
adapters have neither regime nor split.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataset_builder.configs import CONFIGS, MODALITIES, STIMULUS_CONFIGS
from dataset_builder.tasks import PROBE, WORKED
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.intake.rescore import SPLITS
from mmmult.statistics.analysis import clustered_proportion
from mmmult.statistics.findings import (
    HIGH_LOAD,
    NEAR_PERFECT,
    NEAR_ZERO,
    NOT_ESTIMABLE,
    PAPER_HEURISTIC,
    R2_THRESHOLD,
    Estimate,
    Verdict,
    decimal,
    heuristic_shares,
    high_load_accuracy,
    lpm_r2,
    near_zero_verdict,
    percent,
    perception_verdict,
    preference_verdict,
    r2_verdict,
)
from mmmult.statistics.procedures import loss_units

FINDINGS_COLUMNS = ["claim", "model", "split", "scope", "paper", "this board", "verdict", "why"]
CLAIMS = {
    "high load": f"accuracy near zero past C {HIGH_LOAD}",
    "r2": "C explains accuracy",
    "perception": "perception near perfect while computation fails",
    "probe": "the probe prefers decomposition",
    "adapters": "heuristic adapters",
}
PAPER = {
    "high load": f"near zero once C > {HIGH_LOAD} (here: below {NEAR_ZERO:.0%})",
    "r2": f"LPM R² of correctness on C often above {R2_THRESHOLD}",
    "perception": f"operands read above {NEAR_PERFECT:.0%} while products fail",
    "probe": f"models prefer decomposition ({PAPER_HEURISTIC})",
    "adapters": "near-orthogonal updates; accuracy falls",
}
CHANNEL_OF = {config: CONFIGS[config].modality for config in STIMULUS_CONFIGS}
NO_ADAPTER_RUN = Verdict(NOT_ESTIMABLE, "no adapter run: the store holds none (`mmmult adapters compare` runs "
                                        "outside the board)")  # fmt: skip


def findings_table(board: Board, regime: str = WORKED) -> pd.DataFrame:
    """Every claim's rows: claims 1-3 for each model on the Leaderboard in `regime`, once per split it ran (its
    row's run, the base set's configs), the probe's and the adapters' for those models and every other model with a
    probe run."""
    tables = [board.table(regime=regime, split=split) for split in SPLITS]
    runs = [(row.model, split, _base_items(board.items(int(row.submission_id))))
            for split, table in zip(SPLITS, tables, strict=True) for row in table.itertuples()]  # fmt: skip
    probed = board.procedures()
    probed = probed[probed["kind"] == PROBE.name]
    ranked = list(dict.fromkeys(model for model, _, _ in runs))
    everyone = [*ranked, *sorted(set(probed["model"]) - set(ranked))]
    rows = [_high_load_row(model, split, mine, regime) for model, split, mine in runs]
    rows += [_r2_row(model, split, mine, regime) for model, split, mine in runs]
    rows += [row for model, split, mine in runs for row in _perception_rows(model, split, mine, regime)]
    rows += [row for model in everyone for row in _probe_rows(model, probed[probed["model"] == model])]
    rows += [_row("adapters", model, "", "", "", NO_ADAPTER_RUN) for model in everyone]
    return pd.DataFrame(rows, columns=FINDINGS_COLUMNS)


def _base_items(items: pd.DataFrame) -> pd.DataFrame:
    return items[items["config"].isin(STIMULUS_CONFIGS)]


def _row(claim: str, model: str, split: str, scope: str, measured: str, verdict: Verdict) -> dict[str, Any]:
    return {"claim": CLAIMS[claim], "model": model, "split": split, "scope": scope, "paper": PAPER[claim],
            "this board": measured, "verdict": verdict.verdict, "why": verdict.why}  # fmt: skip


def _products(items: pd.DataFrame, regime: str) -> pd.DataFrame:
    return items[(items["kind"] == "multiply") & (items["regime"] == regime)]


def _configs_scope(products: pd.DataFrame, regime: str) -> str:
    configs = [c for c in STIMULUS_CONFIGS if c in set(products["config"])]
    return f"{regime} regime: {', '.join(configs)}" if configs else f"{regime} regime"


def _high_load_row(model: str, split: str, items: pd.DataFrame, regime: str) -> dict[str, Any]:
    products = _products(items, regime)
    scope = _configs_scope(products, regime)
    if products.empty:
        return _row("high load", model, split, scope, "", Verdict(NOT_ESTIMABLE, f"no {regime} multiplication run"))
    accuracy = high_load_accuracy(products["correct"], products["C"], products["problem_id"])
    if accuracy is None:
        return _row("high load", model, split, scope, "", Verdict(NOT_ESTIMABLE, f"no item with C > {HIGH_LOAD}"))
    return _row("high load", model, split, scope, percent(accuracy), near_zero_verdict(accuracy))


def _r2_row(model: str, split: str, items: pd.DataFrame, regime: str) -> dict[str, Any]:
    products = _products(items, regime)
    scope = _configs_scope(products, regime)
    if products.empty:
        return _row("r2", model, split, scope, "", Verdict(NOT_ESTIMABLE, f"no {regime} multiplication run"))
    r2 = lpm_r2(products["C"], products["correct"], products["problem_id"])
    if r2 is None:
        return _row("r2", model, split, scope, "", Verdict(NOT_ESTIMABLE, _constant(products)))
    return _row("r2", model, split, scope, decimal(r2), r2_verdict(r2))


def _constant(products: pd.DataFrame) -> str:
    """Why R^2 cannot be computed on these items."""
    if products["correct"].nunique() < 2:
        answers = "right" if products["correct"].all() else "wrong"
        return f"every answer is {answers}: R² needs right and wrong answers"
    return "C does not vary: R² needs more than one C"


def _perception_rows(model: str, split: str, items: pd.DataFrame, regime: str) -> list[dict[str, Any]]:
    """One row per channel (modality) the model multiplied or read in: perception against multiplication over the
    channel's configs, both clustered by problem."""
    products = _products(items, regime)
    readings = items[items["kind"] == "perceive"]
    rows = []
    for channel in MODALITIES:
        mine = {name: frame[frame["config"].map(CHANNEL_OF).eq(channel)]
                for name, frame in (("products", products), ("readings", readings))}  # fmt: skip
        if mine["products"].empty and mine["readings"].empty:
            continue
        scope = f"{channel} ({regime} regime)"
        if mine["readings"].empty or mine["products"].empty:
            missing = "perception" if mine["readings"].empty else f"{regime} multiplication"
            rows.append(_row("perception", model, split, scope, "", Verdict(NOT_ESTIMABLE, f"no {missing} run")))
            continue
        read, product = (_share(mine[name]) for name in ("readings", "products"))
        measured = f"perception {percent(read)}; multiplication {percent(product)}"
        rows.append(_row("perception", model, split, scope, measured, perception_verdict(read, product)))
    return rows


def _share(items: pd.DataFrame) -> Estimate:
    share = clustered_proportion(items["correct"].to_numpy(dtype=float), items["problem_id"].to_numpy())
    return Estimate(share.value, share.low, share.high, share.n)


def _probe_rows(model: str, probed: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per channel of the loss probe and normalisation (per byte; per token where the run logged token
    counts)."""
    if probed.empty:
        return [_row("probe", model, "", "", "", Verdict(NOT_ESTIMABLE, "no probe run (mmmult_probe)"))]
    rows = []
    for config, group in probed.groupby("config", sort=True):
        for unit, losses in loss_units(pd.DataFrame(list(group["metrics"]))):
            shares = heuristic_shares(losses)
            measured = "; ".join(f"prefers {h} {percent(share)}" for h, share in shares.items())
            scope = f"{CONFIGS[config].modality}, loss per {unit}"
            rows.append(_row("probe", model, "", scope, measured, preference_verdict(shares)))
    return rows
