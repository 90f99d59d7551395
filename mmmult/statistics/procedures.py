"""The heuristic probe on the board: the numbers of the Procedures view, from re-scored probe items
(intake/probe.py).

Shares come with Wilson intervals (items are independent draws, one sample each); mean losses and gaps
with a normal interval from their standard error.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dataset_builder.configs import CONFIGS
from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.tasks import FINGERPRINT, MULTIPLY, PROBE, STEPS
from mmmult.probe_scoring.scores import PER_TOKEN, SHAPE_METRICS
from mmmult.statistics.analysis import Z95, wilson


def share(values: pd.Series) -> tuple[float, float, float, int]:
    """Mean of 0/1 values that are present, its Wilson 95% interval, and how many there are."""
    present = values.dropna()
    n, k = len(present), float(present.sum())
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    low, high = wilson(k, n)
    return k / n, low, high, n


def mean_interval(values: pd.Series) -> tuple[float, float, float, int]:
    """Mean, its normal 95% interval (mean +/- 1.96 SE), and how many values."""
    present = values.dropna().astype(float)
    n = len(present)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(present.mean())
    half = Z95 * float(present.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return mean, mean - half, mean + half, n


def _cell(value: tuple[float, float, float, int], percent: bool = True) -> str:
    mean, low, high, n = value
    if n == 0:
        return ""
    if percent:
        return f"{mean:.1%} [{low:.1%}, {high:.1%}] (n={n})"
    bounds = "" if math.isnan(low) else f" [{low:+.3f}, {high:+.3f}]"
    return f"{mean:+.3f}{bounds} (n={n})"


def _channel(config: str) -> str:
    return str(CONFIGS[config].modality)


def loss_units(metrics: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The loss probe's metrics per normalisation of the losses: ("byte", all of them), and ("token", the metrics
    suffixed PER_TOKEN, renamed as the per-byte ones) where the model logged its token counts; a unit without
    items is left out."""
    per_token = metrics.filter(like=PER_TOKEN).rename(columns=lambda name: name.removesuffix(PER_TOKEN))
    return [
        (unit, losses) for unit, losses in (("byte", metrics), ("token", per_token.dropna(how="all"))) if len(losses)
    ]


def preference_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Loss probe per model and channel: preference shares, detection per family, match, delta-losses; from
    losses per byte, and in a second row per token where the model reported its token counts."""
    rows = []
    for (model, config), group in frame[frame["kind"] == PROBE.name].groupby(["model", "config"], sort=True):
        for unit, losses in loss_units(pd.DataFrame(list(group["metrics"]))):
            rows.append({"model": model, "channel": _channel(config), "loss per": unit} | _preferences(losses))
    return pd.DataFrame(rows)


def _preferences(metrics: pd.DataFrame) -> dict[str, str]:
    row = {f"prefers {h}": _cell(share(metrics[f"prefers_{h}"])) for h in HEURISTICS}
    row |= {f"detects {h}": _cell(share(metrics[f"detect_{h}"])) for h in HEURISTICS}
    row["matches the cost models"] = _cell(share(metrics["match"]))
    row |= {f"delta {h}": _cell(mean_interval(metrics[f"delta_{h}"]), percent=False) for h in HEURISTICS}
    return row | {"neutral loss": f"{metrics['neutral_loss'].mean():.3f}"}


def steps_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Step probe per model and channel: how often the correct step is likelier, and the loss gap."""
    rows = []
    for (model, config), group in frame[frame["kind"] == STEPS.name].groupby(["model", "config"], sort=True):
        metrics = pd.DataFrame(list(group["metrics"]))
        row: dict[str, Any] = {"model": model, "channel": _channel(config)}
        row |= {f"prefers correct {h}": _cell(share(metrics[f"prefers_correct_{h}"])) for h in HEURISTICS}
        row["gap (wrong - correct loss)"] = _cell(mean_interval(metrics["gap"]), percent=False)
        rows.append(row)
    return pd.DataFrame(rows)


def traces_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Worked answers per model, item set and config: accuracy, trace classes, and the shapes of wrong answers
    (the probe's fingerprint tasks, and the benchmark's multiplication tasks read the same way)."""
    rows = []
    worked = frame[frame["kind"].isin((FINGERPRINT.name, MULTIPLY.name))]
    for (model, config), group in worked.groupby(["model", "config"]):
        metrics = pd.DataFrame(list(group["metrics"]))
        row: dict[str, Any] = {"model": model, "set": str(CONFIGS[config].items), "config": config}
        row["exact"] = _cell(share(metrics["exact_match"]))
        row |= {f"trace {h}": _cell(share(metrics[f"trace_{h}"])) for h in (*HEURISTICS, "unknown")}
        wrong = metrics[list(SHAPE_METRICS)].dropna(how="all")
        row |= {name.removeprefix("shape_").replace("_", " "): f"{wrong[name].mean():.0%}" if len(wrong) else ""
                for name in SHAPE_METRICS}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


PAPER_FIGURES = pd.DataFrame(
    [
        ("Qwen3-VL-30B-A3B", "text", 7.53, "-0.506 / -0.440 / -0.444", "68.2 / 23.5 / 14.3%", "34.0%"),
        ("Qwen3-VL-30B-A3B", "image", 4.50, "+0.916 / +0.978 / +1.652", "90.9 / 15.7 / 0%", "33.3%"),
        ("Qwen3-VL-235B-A22B", "text", 4.91, "+1.473 / +2.341 / +1.879", "93.2 / 0 / 0%", "28.5%"),
        ("Qwen3-VL-235B-A22B", "image", 4.19, "+1.459 / +2.272 / +2.211", "100 / 0 / 0%", "30.6%"),
    ],
    columns=["model", "channel", "neutral loss", "delta DD / OT / RC", "detects DD / OT / RC", "matches"],
)
"""The loss probe as arXiv:2604.18203 reports it (HDS test, 144 items; per-token losses, so its deltas
compare with the board's per-token rows, not its per-byte ones; its text runs also scored the end-of-turn
token)."""
