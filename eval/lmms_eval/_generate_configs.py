"""Write every YAML of this folder, the lmms-eval tasks, from the core's task table (dataset_builder/tasks.py).

    python eval/lmms_eval/_generate_configs.py                       # rewrite the YAMLs here
    python eval/lmms_eval/_generate_configs.py --out DIR             # write them elsewhere (the tests compare)
    python eval/lmms_eval/_generate_configs.py --out DIR --data SRC  # tasks that read another build or Hub repo

The same tasks, groups, names, prompts, budgets and metrics as eval/mmmult/ (lm-eval), in lmms-eval's keys: the
medium a content part of doc_to_messages, generation bounded by max_new_tokens, the data a dataset_path. lmms-eval
has no task metadata to name a build at run time, so the tasks read ./mmmult-data (as `./run build` writes it)
unless written with --data. The heuristic probe's tasks, scored from log-likelihoods, are lm-eval's only.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml
from mmmult.lm_eval_tasks._generate_configs import Dumper, Function, group_config, metric, present

from dataset_builder.configs import data_file_pattern
from dataset_builder.scoring import BAND_METRICS, EXTENDED_BAND_METRICS, PERCEPTION_METRICS, SCORES
from dataset_builder.settings import DEFAULT_DATA
from dataset_builder.tasks import (
    DIRECT_TEMPLATE,
    EXTENDED_DIRECT_BUDGET,
    EXTENDED_DIRECT_TEMPLATE,
    EXTENDED_GROUPS,
    EXTENDED_TASKS,
    EXTENDED_TEMPLATE,
    GROUPS,
    MINI_GROUPS,
    MINI_TASKS,
    MULTIPLY,
    PERCEIVE,
    PERCEIVE_BUDGET,
    TASKS,
    WORKED_BUDGET,
    Task,
    direct_budget,
)

HEADER = "# Written by _generate_configs.py from dataset_builder/tasks.py: edit those, then rerun it.\n"
ITEM = "item"


def generation(max_new_tokens: int) -> dict[str, Any]:
    """Greedy decoding within the task's budget, in lmms-eval's key."""
    return {"max_new_tokens": max_new_tokens, "temperature": 0, "do_sample": False}


def item_metric() -> dict[str, Any]:
    """Each sample's problem and digests (utils.item), aggregated as the number of items."""
    return {"metric": ITEM, "aggregation": Function("count"), "higher_is_better": True}


def templates(data: str) -> dict[str, tuple[str, dict[str, Any]]]:
    multiply = {
        "dataset_path": data,
        "test_split": "test",
        "output_type": "generate_until",
        "process_docs": Function("process_docs"),
        "doc_to_visual": Function("doc_to_visual"),
        "doc_to_text": Function("doc_to_text"),
        "doc_to_messages": Function("doc_to_messages"),
        "doc_to_target": "product",
        "generation_kwargs": generation(WORKED_BUDGET),
        "process_results": Function("process_results"),
        "process_results_use_image": True,  # the medium's bytes, which the item record digests
        "metric_list": [metric(m) for m in SCORES] + present(BAND_METRICS) + [item_metric()],
    }

    def direct(budget: int) -> dict[str, Any]:
        return {
            "doc_to_text": Function("doc_to_text_direct"),
            "doc_to_messages": Function("doc_to_messages_direct"),
            "generation_kwargs": generation(budget),
            "process_results": Function("process_results_direct"),
        }

    perceive = {
        "include": MULTIPLY.template,
        "doc_to_text": Function("doc_to_text_perceive"),
        "doc_to_messages": Function("doc_to_messages_perceive"),
        "generation_kwargs": generation(PERCEIVE_BUDGET),
        "process_results": Function("process_results_perceive"),
        "metric_list": [metric(m) for m in PERCEPTION_METRICS] + [item_metric()],
    }
    extended_metrics = [metric(m) for m in SCORES] + present(EXTENDED_BAND_METRICS) + [item_metric()]
    extended = {"include": MULTIPLY.template, "metric_list": extended_metrics}
    return {
        MULTIPLY.template: (
            "# Shared by every multiplication task; each task file names its config. The data: dataset_path, a build\n"
            "# folder or Hub repo id (rewrite the folder with _generate_configs.py --data for another).\n",
            multiply,
        ),
        DIRECT_TEMPLATE: (
            "# The direct regime: the product alone, with a budget for the longest product and no working.\n",
            {"include": MULTIPLY.template, **direct(direct_budget())},
        ),
        EXTENDED_TEMPLATE: (
            "# The extended set (configs extended-*): every C band, digit totals up to 60.\n",
            extended,
        ),
        EXTENDED_DIRECT_TEMPLATE: (
            "# The extended set in the direct regime: the product alone, with a budget for 60-digit products.\n",
            {"include": EXTENDED_TEMPLATE, **direct(EXTENDED_DIRECT_BUDGET)},
        ),
        PERCEIVE.template: (
            '# Matched perception: the same items, but the model only writes the two numbers ("Numbers: A, B").\n',
            perceive,
        ),
    }


def task_config(task: Task) -> dict[str, Any]:
    """Four keys beside the template, as lmms-eval's own task files: the task, its config, split and alias."""
    config: dict[str, Any] = {"task": task.name, "include": task.template, "dataset_name": task.config}
    config["dataset_kwargs"] = {"data_files": {task.split: data_file_pattern(task.config, task.split)}}
    if task.split != "test":
        config["test_split"] = task.split
    return config | {"task_alias": task.alias, "metadata": {"version": task.version}}


def render(config: dict[str, Any], comment: str = "") -> str:
    return HEADER + comment + yaml.dump(config, Dumper=Dumper, sort_keys=False, width=120)


def configs(data: str = DEFAULT_DATA) -> dict[str, str]:
    """Every file of this folder's YAMLs, by name."""
    files = {name: render(config, comment) for name, (comment, config) in templates(data).items()}
    tasks = (*TASKS.values(), *MINI_TASKS.values(), *EXTENDED_TASKS.values())
    files |= {f"{task.name}.yaml": render(task_config(task)) for task in tasks}
    groups = (*GROUPS, *MINI_GROUPS, *EXTENDED_GROUPS)
    files |= {f"_{group.name}.yaml": render(group_config(group)) for group in groups}
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="folder to write (default: here)")
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"the build the tasks read (default: {DEFAULT_DATA})")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    written = configs(args.data)
    for name, text in written.items():
        (args.out / name).write_text(text)
    if args.out.resolve() != Path(__file__).parent.resolve():
        (args.out / "utils.py").write_text((Path(__file__).parent / "utils.py").read_text())
    print(f"wrote {len(written)} files to {args.out}")


if __name__ == "__main__":
    main()
