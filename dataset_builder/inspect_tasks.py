"""The inspect-ai task `mmmult` as a view of the task table: its parameters name one task of dataset_builder.tasks.

`inspect eval eval/inspect/task.py -T config=image-words -T regime=direct` runs the items, prompt, budget and
scoring of the lm-eval task mmmult_direct_image_words; the board reads an inspect log back to that task by the
same parameters (mmmult/leaderboard/intake/inspect_log.py). No inspect-ai here: the Space reads these names too.

>>> table_task("image-words", regime="direct").name
'mmmult_direct_image_words'
>>> table_task("audio-digits", kind="perceive", split="mini").name
'mmmult_mini_perceive_audio_digits'
>>> budget(table_task("text-numerals", regime="direct")), budget(table_task("extended-text-words", regime="direct"))
(52, 136)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataset_builder.configs import CONFIGS
from dataset_builder.errors import UserError
from dataset_builder.problems import EXTENDED
from dataset_builder.prompts import PLACEHOLDERS, direct_prompt, multiply_prompt, perceive_prompt
from dataset_builder.tasks import (
    DIRECT,
    EXTENDED_DIRECT_BUDGET,
    EXTENDED_TASKS,
    MINI_TASKS,
    MULTIPLY,
    PERCEIVE,
    PERCEIVE_BUDGET,
    TASKS,
    WORKED,
    WORKED_BUDGET,
    Task,
    direct_budget,
    regime_of,
)

TASK_NAME = "mmmult"
"""The inspect-ai task's name (its function in eval/inspect/task.py), which its logs record as eval.task."""
PARAMETERS = ("config", "kind", "regime", "split")
"""The task parameters (-T NAME=VALUE) that pick a task of the table; the log records them as eval.task_args."""
KINDS = {"multiply": MULTIPLY, "perceive": PERCEIVE}
"""What a run asks: the product (in either regime) or the operands read back. The probe's tasks score
log-likelihoods, which inspect-ai does not ask of a model: they stay lm-eval's."""
GENERATING_TASKS: dict[str, Task] = {
    task.name: task for task in (*TASKS.values(), *MINI_TASKS.values(), *EXTENDED_TASKS.values())
}


class UnknownInspectTask(UserError):
    """Task parameters that name no task of the table; the message lists what there is."""


def table_task(config: str, kind: str = "multiply", regime: str = WORKED, split: str = "test") -> Task:
    """The task of the table that the inspect-ai task runs with these parameters; UnknownInspectTask names the
    parameter that is wrong and the values it takes."""
    if kind not in KINDS:
        raise UnknownInspectTask(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    regime_of(regime)
    if kind == "perceive" and regime != WORKED:
        raise UnknownInspectTask("the perception tasks have one regime: leave regime out (or regime=worked)")
    wanted = (config, KINDS[kind], regime, split)
    for task in GENERATING_TASKS.values():
        if (task.config, task.kind, task.regime, task.split) == wanted:
            return task
    configs = sorted({t.config for t in GENERATING_TASKS.values()})
    if config not in configs:
        raise UnknownInspectTask(f"unknown config {config!r}: use one of {', '.join(configs)}")
    splits = sorted({t.split for t in GENERATING_TASKS.values() if t.config == config})
    raise UnknownInspectTask(f"config {config} has no {split!r} split task: use split={' or split='.join(splits)}")


def budget(task: Task) -> int:
    """The tokens a task's answer may take, as its lm-eval template declares (max_gen_toks)."""
    if task.kind is PERCEIVE:
        return PERCEIVE_BUDGET
    if task.regime == DIRECT:
        return EXTENDED_DIRECT_BUDGET if CONFIGS[task.config].problem_set == EXTENDED else direct_budget()
    return WORKED_BUDGET


def chat_prompt(task: Task, doc: Mapping[str, Any]) -> str:
    """The text of the task's prompt for a chat: the lm-eval task's prompt without the image or clip placeholder,
    since the medium is a content part of its own.

    >>> chat_prompt(table_task("image-words"), {"modality": "image"}).startswith("Compute the exact product")
    True
    """
    made = perceive_prompt if task.kind is PERCEIVE else direct_prompt if task.regime == DIRECT else multiply_prompt
    return made(doc).removeprefix(PLACEHOLDERS[doc["modality"]])
