"""The task table and the lm-eval YAMLs written from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dataset_builder.configs import STIMULUS_CONFIGS
from dataset_builder.tasks import (
    GROUP_NAMES,
    GROUPS,
    MINI_GROUPS,
    MINI_TASKS,
    MULTIPLY,
    PERCEIVE,
    PROBE_GROUPS,
    PROBE_TASKS,
    TASKS,
    _slug,
    tasks_of,
)
from mmmult.harness.evaluate import tasks_dir

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "eval/mmmult/_generate_configs.py"


def test_the_committed_yamls_are_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True, capture_output=True)
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_text() for p in tasks_dir().iterdir() if p.name.endswith(("yaml", "_yaml"))}
    assert sorted(written) == sorted(committed)
    changed = [name for name in written if written[name] != committed[name]]
    assert changed == [], f"rerun {GENERATOR.relative_to(ROOT)}: these differ"


def test_one_task_of_each_kind_per_config() -> None:
    assert [t.config for t in tasks_of(MULTIPLY)] == list(STIMULUS_CONFIGS)
    assert [t.config for t in tasks_of(PERCEIVE)] == list(STIMULUS_CONFIGS)
    assert TASKS["mmmult_audio_digits"].headline_key == "exact_match,final-integer"
    assert TASKS["mmmult_perceive_text_words"].headline_key == "perceive_both,numbers"
    assert TASKS["mmmult_image_numerals"].group == "mmmult_image"


def test_groups_cover_every_task_once() -> None:
    members = [m for g in GROUPS for m in g.members if m not in GROUP_NAMES]
    assert sorted(members) == sorted(TASKS)
    assert dict((g.name, g.members) for g in GROUPS)["mmmult"] == ("mmmult_text", "mmmult_image", "mmmult_audio")


def test_lm_eval_sees_exactly_the_table() -> None:
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    assert set(manager.all_subtasks) == set(TASKS) | set(MINI_TASKS) | set(PROBE_TASKS)
    assert set(manager.all_groups) == GROUP_NAMES | {group.name for group in (*MINI_GROUPS, *PROBE_GROUPS)}


def test_every_task_has_its_mini_twin_on_the_mini_split() -> None:
    assert {name: (task.config, task.kind, task.group, task.split) for name, task in MINI_TASKS.items()} == {
        name.replace("mmmult_", "mmmult_mini_", 1): (task.config, task.kind, task.group.replace("mmmult", "mmmult_mini",
                                                                                                1), "mini")
        for name, task in TASKS.items()
    }  # fmt: skip
    groups = {group.name: group.members for group in MINI_GROUPS}
    assert groups["mmmult_mini"] == ("mmmult_mini_text", "mmmult_mini_image", "mmmult_mini_audio")
    assert groups["mmmult_mini_text"] == ("mmmult_mini_text_numerals", "mmmult_mini_text_words")
    assert len(groups["mmmult_mini_perceive"]) == 6 and all(t.split == "test" for t in TASKS.values())


def test_the_probe_s_tasks_cover_each_channel_of_its_sets() -> None:
    expected = {f"mmmult_{kind}_{channel}": f"{items}-{channel}"
                for kind, items in (("probe", "hds"), ("steps", "hds"), ("hds", "hds"), ("traps", "traps"))
                for channel in ("text", "image", "audio")}  # fmt: skip
    assert {name: task.config for name, task in PROBE_TASKS.items()} == expected
    assert {group.name: group.members for group in PROBE_GROUPS}["mmmult_steps"] == (
        "mmmult_steps_text", "mmmult_steps_image", "mmmult_steps_audio")  # fmt: skip


MULTIPLY_TASKS = [
    "mmmult_text_numerals",
    "mmmult_text_words",
    "mmmult_image_numerals",
    "mmmult_image_words",
    "mmmult_audio_words",
    "mmmult_audio_digits",
]
PERCEIVE_TASKS = [
    "mmmult_perceive_text_numerals",
    "mmmult_perceive_text_words",
    "mmmult_perceive_image_numerals",
    "mmmult_perceive_image_words",
    "mmmult_perceive_audio_words",
    "mmmult_perceive_audio_digits",
]


def test_tasks_of_a_kind_are_exactly_its_tasks_in_table_order() -> None:
    assert [t.name for t in tasks_of(MULTIPLY)] == MULTIPLY_TASKS
    assert [t.name for t in tasks_of(PERCEIVE)] == PERCEIVE_TASKS
    assert all(t.kind is MULTIPLY for t in tasks_of(MULTIPLY))
    assert all(t.kind is PERCEIVE for t in tasks_of(PERCEIVE))


def test_a_config_name_becomes_a_task_name_with_underscores() -> None:
    # lm-eval task names use underscores where config names use hyphens
    assert [_slug(c) for c in STIMULUS_CONFIGS] == [name.removeprefix("mmmult_") for name in MULTIPLY_TASKS]
    assert _slug("problems") == "problems"
