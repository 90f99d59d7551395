"""Write every YAML of this folder from the core's task table (dataset_builder/tasks.py).

    python eval/mmmult/_generate_configs.py            # rewrite the YAMLs here
    python eval/mmmult/_generate_configs.py --out DIR  # write them elsewhere (the tests compare)

Like lm-eval's own mmlu/_generate_configs.py: the files are committed, and a test fails when a
committed file differs from what this script writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from dataset_builder.configs import CONFIGS
from dataset_builder.scoring import BAND_METRICS, EXTENDED_BAND_METRICS, LOWER_IS_BETTER, PERCEPTION_METRICS, SCORES
from dataset_builder.tasks import (
    DIRECT_TEMPLATE,
    EXTENDED_DIRECT_BUDGET,
    EXTENDED_DIRECT_TEMPLATE,
    EXTENDED_GROUPS,
    EXTENDED_TASKS,
    EXTENDED_TEMPLATE,
    FINGERPRINT,
    GROUPS,
    MINI_GROUPS,
    MINI_TASKS,
    MULTIPLY,
    PERCEIVE,
    PERCEIVE_BUDGET,
    PROBE,
    PROBE_GROUPS,
    PROBE_TASKS,
    STEPS,
    TASKS,
    VERSION,
    WORKED_BUDGET,
    Group,
    Kind,
    Task,
    direct_budget,
)
from mmmult.probe_scoring import scores as probe

HEADER = "# Written by _generate_configs.py from dataset_builder/tasks.py: edit those, then rerun it.\n"
MEDIA_FUNCTIONS = {"image": "doc_to_image", "audio": "doc_to_audio"}


class Function(str):
    """A value lm-eval reads as `!function utils.<name>`."""


class Dumper(yaml.SafeDumper):
    """Block style with indented lists, as lm-eval's own task files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        """`!function utils.load`, unquoted, as in lm-eval's own files."""
        return "" if self.event.tag == "!function" else super().choose_scalar_style()


Dumper.add_representer(Function, lambda dumper, value: dumper.represent_scalar("!function", f"utils.{value}"))


def metric(name: str, aggregation: str | Function = "mean") -> dict[str, Any]:
    lower = name in LOWER_IS_BETTER | probe.LOWER_IS_BETTER
    return {"metric": name, "aggregation": aggregation, "higher_is_better": not lower}


def present(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Metrics that only some items report (a band, a family, wrong answers): averaged over those."""
    return [metric(name, Function("mean_of_present")) for name in names]


def generation(max_gen_toks: int) -> dict[str, Any]:
    return {"until": ["<|endoftext|>"], "do_sample": False, "temperature": 0.0, "max_gen_toks": max_gen_toks}


def filters(kind: Kind, function: str) -> list[dict[str, Any]]:
    steps = [{"function": "custom", "filter_fn": Function(function)}, {"function": "take_first"}]
    return [{"name": kind.filter, "filter": steps}]


def templates() -> dict[str, tuple[str, dict[str, Any]]]:
    """The two shared templates, with a comment each: multiplication, and perception on top of it."""
    multiply = {
        "custom_dataset": Function("load"),
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": Function("doc_to_text"),
        "doc_to_target": "product",
        "generation_kwargs": generation(WORKED_BUDGET),
        "filter_list": filters(MULTIPLY, "extract_final_integers"),
        "process_results": Function("process_results"),
        "metric_list": [metric(m) for m in SCORES] + present(BAND_METRICS),
    }
    direct = {
        "include": MULTIPLY.template,
        "doc_to_text": Function("doc_to_text_direct"),
        "generation_kwargs": generation(direct_budget()),
    }
    perceive = {
        "include": MULTIPLY.template,
        "doc_to_text": Function("doc_to_text_perceive"),
        "generation_kwargs": generation(PERCEIVE_BUDGET),
        "filter_list": filters(PERCEIVE, "extract_operand_pairs"),
        "process_results": Function("process_results_perceive"),
        "metric_list": [metric(m) for m in PERCEPTION_METRICS],
    }
    loss_probe = {
        "custom_dataset": Function("load"),
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": Function("doc_to_text_probe"),
        "doc_to_choice": Function("doc_to_choice_probe"),
        "doc_to_target": Function("doc_to_target_probe"),
        "process_results": Function("process_results_probe"),
        "metric_list": [metric(m) for m in (*probe.PROBE_METRICS, *probe.PROBE_METRICS_PER_TOKEN)]
        + present((*probe.DETECTION_METRICS, *probe.DETECTION_METRICS_PER_TOKEN)),
    }
    steps = {
        "include": PROBE.template,
        "doc_to_choice": Function("doc_to_choice_steps"),
        "doc_to_target": Function("doc_to_target_steps"),
        "process_results": Function("process_results_steps"),
        "metric_list": [metric(m) for m in probe.STEP_METRICS],
    }
    fingerprint = {
        "custom_dataset": Function("load"),
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": Function("doc_to_text_fingerprint"),
        "doc_to_target": "product",
        "generation_kwargs": generation(4096),
        "process_results": Function("process_results_fingerprint"),
        "metric_list": [metric(m) for m in probe.TRACE_METRICS] + present(probe.SHAPE_METRICS),
    }
    return {
        PROBE.template: (
            "# The heuristic probe's loss task: the problem alone in its channel, then every prefix of the bank\n"
            "# (dataset_builder/probe/bank.py) as a continuation; scored per byte, and per token\n"
            "# where the model reports token counts (the classes `mmmult eval` runs).\n",
            loss_probe,
        ),
        STEPS.template: (
            "# The step probe: each heuristic's correct first step and its wrong versions as continuations.\n",
            steps,
        ),
        FINGERPRINT.template: (
            "# Worked answers on the HDS and traps: exact accuracy, the procedure the words follow, error shapes.\n",
            fingerprint,
        ),
        MULTIPLY.template: (
            "# Shared by every multiplication task; each task file names its config. The data: a build folder or\n"
            "# Hub repo id from --metadata '{\"data\": ...}', else $MMMULT_DATA, else ./mmmult-data. Band metrics\n"
            "# (acc_C_*, acc_digits_*) average only the items of their band.\n",
            multiply,
        ),
        DIRECT_TEMPLATE: (
            "# The direct regime: the same multiplication tasks and scoring, but the product alone, with a budget\n"
            "# for the longest product and no working (dataset_builder/tasks.py: direct_budget).\n",
            direct,
        ),
        EXTENDED_TEMPLATE: (
            "# The extended set (operands up to 30 digits, C 101 to 3600; configs extended-*): the multiplication\n"
            "# tasks with every C band and digit total up to 60. Its build is a folder of its own: name it with\n"
            "# --metadata '{\"data\": ...}' or $MMMULT_DATA.\n",
            {"include": MULTIPLY.template, "metric_list": [metric(m) for m in SCORES] + present(EXTENDED_BAND_METRICS)},
        ),
        EXTENDED_DIRECT_TEMPLATE: (
            "# The extended set in the direct regime: the product alone, with a budget for 60-digit products.\n",
            {
                "include": EXTENDED_TEMPLATE,
                "doc_to_text": Function("doc_to_text_direct"),
                "generation_kwargs": generation(EXTENDED_DIRECT_BUDGET),
            },
        ),
        PERCEIVE.template: (
            '# Matched perception: the same items, but the model only writes the two numbers ("Numbers: A, B").\n',
            perceive,
        ),
    }


def task_config(task: Task) -> dict[str, Any]:
    config: dict[str, Any] = {"task": task.name, "include": task.template}
    if task.split == "test":
        config |= {"dataset_kwargs": {"config": task.config}, "task_alias": task.alias}
    else:  # the mini split
        config |= {"dataset_kwargs": {"config": task.config, "split": task.split}, "test_split": task.split,
                   "task_alias": task.alias}  # fmt: skip
    medium = CONFIGS[task.config].modality
    if medium in MEDIA_FUNCTIONS:
        config[MEDIA_FUNCTIONS[medium]] = Function(MEDIA_FUNCTIONS[medium])
    return config | {"metadata": {"version": task.version}}


def group_config(group: Group) -> dict[str, Any]:
    return {
        "group": group.name,
        "task": list(group.members),
        "aggregate_metric_list": [{"metric": m, "aggregation": "mean", "weight_by_size": True} for m in group.metrics],
        "metadata": {"version": group.version},
    }


def render(config: dict[str, Any], comment: str = "") -> str:
    return HEADER + comment + yaml.dump(config, Dumper=Dumper, sort_keys=False, width=120)


def configs() -> dict[str, str]:
    """Every file this folder's YAMLs consist of, by name."""
    files = {name: render(config, comment) for name, (comment, config) in templates().items()}
    tasks = (*TASKS.values(), *MINI_TASKS.values(), *PROBE_TASKS.values(), *EXTENDED_TASKS.values())
    files |= {f"{task.name}.yaml": render(task_config(task)) for task in tasks}
    groups = (*GROUPS, *MINI_GROUPS, *PROBE_GROUPS, *EXTENDED_GROUPS)
    files |= {f"_{group.name}.yaml": render(group_config(group)) for group in groups}
    assert all(task.version == VERSION for task in tasks)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="folder to write (default: here)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, text in configs().items():
        (out / name).write_text(text)
    print(f"wrote {len(configs())} files to {out}")


if __name__ == "__main__":
    main()
