"""The Model analysis tab's tables for one model, which model the tab opens on, and why a table is empty.

A table that cannot be estimated for a model (the reference system is right everywhere: no measure of load
can tell its right answers from wrong ones) is replaced on the page by one line from `why_empty`.
"""

from __future__ import annotations

import math

import pandas as pd

from dataset_builder.configs import CONFIGS, STIMULUS_CONFIGS
from mmmult.leaderboard.intake.provenance import Provenance, TaskSettings
from mmmult.leaderboard.storage.summary import ALL, stored_fit
from mmmult.statistics.analysis import (
    PREDICTOR_COLUMNS,
    channel_gap_growth,
    compare_predictors,
    holm,
    independent_difference,
    lpm,
    paired_gap,
)
from mmmult.statistics.step_error import StepError


def informative_model(table: pd.DataFrame) -> str | None:
    """The model the tab opens on: the best-ranked one (first in the table) with both right and wrong re-scored
    answers in some config, since a model right (or wrong) everywhere leaves every measure of load empty; the
    top model when no model has both; None on an empty board."""
    mixed = pd.Series(False, index=table.index)
    for config in (c for c in STIMULUS_CONFIGS if c in table.columns):
        accuracy = pd.to_numeric(table[config], errors="coerce")
        claimed = table.get(f"{config} self-reported", pd.Series(False, index=table.index)).eq(True)
        mixed |= accuracy.gt(0) & accuracy.lt(1) & ~claimed
    models = table.loc[mixed, "model"] if mixed.any() else table["model"]
    return str(models.iloc[0]) if len(models) else None


def model_items(detail: pd.DataFrame) -> pd.DataFrame:
    """The multiplication items among one submission's items."""
    return detail[detail["kind"] == "multiply"]


REGIME_COLUMNS = ["regime", "configs", "n", "accuracy", "acc_low", "acc_high", "C50", "step_error",
                  "median_response"]  # fmt: skip


def regime_table(fits: pd.DataFrame) -> pd.DataFrame:
    """One row per regime the model ran, from its stored fits over all its configs (Board.fits, scope "all"):
    accuracy with its interval, C50, the per-step error and the median response length (characters), so that
    the two regimes read side by side and a model that works where asked not to shows a long direct response."""
    rows = []
    for row in fits.to_dict("records"):
        fit = stored_fit(row)
        step = StepError(row["step_heuristic"], row["step_p"], row["step_low"], row["step_high"], math.nan,
                         int(row["n"]))  # fmt: skip
        rows.append({key: row[key] for key in ("regime", "configs", "n", "accuracy", "acc_low", "acc_high")}
                    | {"C50": "n/a" if fit is None else fit.c50().text, "step_error": step.text,
                       "median_response": row["median_response"]})  # fmt: skip
    return pd.DataFrame(rows, columns=REGIME_COLUMNS)


PERCEPTION_COLUMNS = ["config", "problems", "accuracy", "perception", "accuracy_given_read", "accuracy_given_misread"]


def perception_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Per config: multiplication accuracy, perception accuracy, and accuracy split by correct reading."""
    rows = []
    for config in STIMULUS_CONFIGS:
        mine = cells[cells["config"] == config]
        n, correct, read_n, read, both = (
            int(mine[c].sum()) for c in ("n", "correct", "read_n", "read", "read_correct")
        )
        if not n and not read_n:
            continue
        paired = n and read_n
        rows.append(
            {
                "config": config,
                "problems": max(n, read_n),
                "accuracy": correct / n if n else math.nan,
                "perception": read / read_n if read_n else math.nan,
                "accuracy_given_read": both / read if paired and read else math.nan,
                "accuracy_given_misread": (correct - both) / (n - read) if paired and n > read else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=PERCEPTION_COLUMNS)


def predictor_table(detail: pd.DataFrame) -> pd.DataFrame:
    """How well each load measure predicts this model's correctness (AIC, delta-AIC, pseudo-R^2; best first)."""
    rows = model_items(detail)
    if rows.empty:
        return pd.DataFrame(columns=PREDICTOR_COLUMNS)
    return compare_predictors(rows, rows["correct"].to_numpy())


GAP_COLUMNS = ["first", "second", "n", "accuracy_first", "accuracy_second", "gap", "gap_low", "gap_high",
               "only_first", "only_second", "mcnemar_p", "holm_p"]  # fmt: skip


def paired_gaps(detail: pd.DataFrame) -> pd.DataFrame:
    """Every pair of this model's configs on the same problems: the gap with its paired interval, McNemar's
    p-value and Holm's adjustment over the model's pairs."""
    rows = model_items(detail)
    if rows.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    wide = rows.pivot_table(index="problem_id", columns="config", values="correct", aggfunc="first")
    out = []
    configs = [c for c in STIMULUS_CONFIGS if c in wide.columns]
    for i, first in enumerate(configs):
        for second in configs[i + 1 :]:
            both = wide[[first, second]].dropna()
            if both.empty:
                continue
            gap = paired_gap(both[first].to_numpy(), both[second].to_numpy())
            out.append({"first": first, "second": second, "n": gap.n, "accuracy_first": both[first].mean(),
                        "accuracy_second": both[second].mean(), "gap": gap.accuracy_gap, "gap_low": gap.low,
                        "gap_high": gap.high, "only_first": gap.only_first, "only_second": gap.only_second,
                        "mcnemar_p": gap.p_value})  # fmt: skip
    table = pd.DataFrame(out, columns=GAP_COLUMNS)
    table["holm_p"] = holm(table["mcnemar_p"].to_numpy())
    return table


LPM_COLUMNS = ["config", "n", "r2_C", "r2_three", "b_digit_total", "se_digit_total", "b_nonzero_total",
               "se_nonzero_total", "b_C", "se_C"]  # fmt: skip


def lpm_table(detail: pd.DataFrame) -> pd.DataFrame:
    """The paper's linear probability models per config and over all of them (errors clustered by problem):
    R^2 on C alone, and on total digits, total non-zero digits and C with robust standard errors."""
    rows = model_items(detail)
    out = []
    for config in [*(c for c in STIMULUS_CONFIGS if c in set(rows["config"])), ALL]:
        mine = rows if config == ALL else rows[rows["config"] == config]
        if len(mine) < 5 or mine["correct"].nunique() < 2:
            continue
        groups = "problem_id" if config == ALL else None
        alone, three = lpm(mine, ["C"], groups), lpm(mine, ["digit_total", "nonzero_total", "C"], groups)
        out.append({"config": config, "n": three.n, "r2_C": alone.r2, "r2_three": three.r2,
                    "b_digit_total": three.coef[1], "se_digit_total": three.se[1], "b_nonzero_total": three.coef[2],
                    "se_nonzero_total": three.se[2], "b_C": three.coef[3], "se_C": three.se[3]})  # fmt: skip
    return pd.DataFrame(out, columns=LPM_COLUMNS)


INTERACTION_COLUMNS = ["term", "estimate", "low", "high", "p_value"]


def interactions_table(detail: pd.DataFrame) -> pd.DataFrame:
    """Does the gap between channels grow with load? The GEE's channel x C terms with 95% intervals."""
    rows = model_items(detail)
    if rows.empty:
        return pd.DataFrame(columns=INTERACTION_COLUMNS)
    channel = rows["config"].map(lambda c: (CONFIGS[c].modality, CONFIGS[c].representation))
    terms = channel_gap_growth(rows.assign(modality=channel.str[0], representation=channel.str[1]))
    return pd.DataFrame([vars(t) for t in terms], columns=INTERACTION_COLUMNS)


COMPARISON_COLUMNS = ["config", "n", "accuracy_first", "accuracy_second", "gap", "gap_low", "gap_high", "mcnemar_p",
                      "holm_p"]  # fmt: skip


def model_comparison(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Two models on the problems both answered, config by config: the paired gap (first - second) with its
    interval, McNemar's p and Holm's adjustment over the configs compared."""
    left, right = model_items(first), model_items(second)
    out = []
    for config in STIMULUS_CONFIGS:
        a = left[left["config"] == config].set_index("problem_id")["correct"]
        b = right[right["config"] == config].set_index("problem_id")["correct"]
        shared = a.index.intersection(b.index)
        if not len(shared):
            continue
        gap = paired_gap(a[shared].to_numpy(), b[shared].to_numpy())
        out.append({"config": config, "n": gap.n, "accuracy_first": float(a[shared].mean()),
                    "accuracy_second": float(b[shared].mean()), "gap": gap.accuracy_gap, "gap_low": gap.low,
                    "gap_high": gap.high, "mcnemar_p": gap.p_value})  # fmt: skip
    table = pd.DataFrame(out, columns=COMPARISON_COLUMNS)
    table["holm_p"] = holm(table["mcnemar_p"].to_numpy())
    return table


DRAW_COLUMNS = ["seed", "config", "n", "accuracy_published", "accuracy_fresh", "gap", "gap_low", "gap_high"]


def fresh_draw_table(draws: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on the published problems against a fresh draw of the same design, config by config:
    a gap well above zero hints that the model has seen the published test set. The two runs answer
    different problems, so the interval is Newcombe's for two independent proportions."""
    published = draws[draws["seed"].isna()].set_index("config")
    rows = []
    for row in draws[draws["seed"].notna()].itertuples():
        if row.config not in published.index:
            continue
        mine = published.loc[row.config]
        gap, low, high = independent_difference(int(mine["correct"]), int(mine["n"]), int(row.correct), int(row.n))
        rows.append({"seed": int(row.seed), "config": row.config, "n": int(row.n),
                     "accuracy_published": mine["correct"] / mine["n"], "accuracy_fresh": row.correct / row.n,
                     "gap": gap, "gap_low": low, "gap_high": high})  # fmt: skip
    return pd.DataFrame(rows, columns=DRAW_COLUMNS)


PROVENANCE_COLUMNS = ["field", "value"]


def provenance_table(record: Provenance | None) -> pd.DataFrame:
    """How the model's run was made, as its results file says (secrets scrubbed at intake), one field a row, then
    one row per task: version, hash, few-shot count, budget, decoding, stop sequences and its settings label."""
    if record is None:
        return pd.DataFrame(columns=PROVENANCE_COLUMNS)
    shown = {True: "yes", False: "no", None: None}
    template = {True: f"applied (sha256 {(record.chat_template_sha or '')[:12]})", False: "not applied"}
    instruction = record.system_instruction
    instruction = instruction and f"{instruction[:200]} (sha256 {(record.system_instruction_sha or '')[:12]})"
    libraries = {"transformers": record.transformers_version, "torch": record.torch_version}
    rows = {
        "settings": record.settings,
        "harness": record.harness,
        "model": record.model_name and f"{record.model_name} ({record.model_type or 'model type not stated'})",
        "system": record.system,
        "revision": ", ".join(v for v in (record.revision, record.model_sha) if v) or None,
        "dtype": record.dtype,
        "model_args": _pairs(record.model_args),
        "reasoning": _pairs(record.reasoning),
        "chat template": template.get(record.chat_template_applied),
        "system instruction": instruction,
        "few-shot as multi-turn": shown[record.fewshot_as_multiturn],
        "date": record.date_text,
        "shards": record.shards and f"{record.shards} shards, merged",
        "libraries": _pairs({k: v for k, v in libraries.items() if v}, " "),
        **{name: _task_text(task) for name, task in record.tasks.items()},
    }
    return pd.DataFrame([(k, v) for k, v in rows.items() if v], columns=PROVENANCE_COLUMNS)


def _pairs(values: dict[str, object], joiner: str = "=") -> str:
    return ", ".join(f"{key}{joiner}{value}" for key, value in values.items())


def _task_text(task: TaskSettings) -> str:
    """One task's settings in a line: "v1.0, hash 85b9918795e4, 0-shot, max_gen_toks 256, greedy, until ...; label"."""
    decoding = {True: "sampling", False: "greedy", None: None}[task.do_sample]
    parts = [
        task.version and f"v{task.version}",
        task.hash and f"hash {task.hash[:12]}",
        None if task.num_fewshot is None else f"{task.num_fewshot}-shot",
        None if task.max_gen_toks is None else f"max_gen_toks {task.max_gen_toks}",
        None if task.temperature is None else f"temperature {task.temperature:g}",
        decoding,
        task.until and "until " + " ".join(repr(stop) for stop in task.until),
    ]
    return ", ".join(p for p in parts if p) + f"; {task.settings}"


WHY_EMPTY = {
    "provenance": "No model on the board yet.",
    "regimes": "No re-scored multiplication results for this model in either regime.",
    "perception": "No multiplication or reading results for this model.",
    "gaps": "Nothing to pair: this model ran fewer than two configs on the same problems.",
    "predictors": "No load measure could be fitted: the answers separate perfectly by every measure.",
    "lpm": "No config has 5 or more items with both right and wrong answers.",
    "interactions": "No channel x C terms: they need configs of more than one modality or representation.",
    "comparison": "No comparison: choose a model that answered problems in a config this model ran.",
    "draws": "No run of this model on a fresh draw (a submission with its seed) to compare with.",
}
"""Why each table of the tab is empty, where the model's answers are not the reason."""
NEEDS_BOTH_OUTCOMES = ("predictors", "lpm", "interactions")
"""The tables that measure how load predicts right against wrong answers."""


def why_empty(table: str, detail: pd.DataFrame) -> str:
    """One line for the page in place of the empty `table` (a key of WHY_EMPTY) of the model whose items are
    `detail`."""
    rows = model_items(detail)
    if table in NEEDS_BOTH_OUTCOMES and rows["correct"].nunique() < 2:
        answers = ("no multiplication results" if rows.empty else
                   "every answer is right" if rows["correct"].all() else "every answer is wrong")  # fmt: skip
        return f"Cannot be estimated: {answers}, so no measure of load can tell right answers from wrong ones."
    return WHY_EMPTY[table]
