"""The task table and the lm-eval YAMLs written from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dataset_builder.configs import STIMULUS_CONFIGS
from dataset_builder.errors import UserError
from dataset_builder.prompts import asks_direct, direct_prompt, fingerprint_prompt, multiply_prompt, perceive_prompt
from dataset_builder.tasks import (
    DIRECT,
    EXTENDED_GROUPS,
    EXTENDED_TASKS,
    GROUP_NAMES,
    GROUPS,
    MINI_GROUPS,
    MINI_TASKS,
    MULTIPLY,
    PERCEIVE,
    PROBE_GROUPS,
    PROBE_TASKS,
    TASKS,
    WORKED,
    WORKED_BUDGET,
    UnknownRegime,
    _slug,
    direct_budget,
    regime_of,
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
    assert set(manager.all_subtasks) == set(TASKS) | set(MINI_TASKS) | set(PROBE_TASKS) | set(EXTENDED_TASKS)
    others = (*MINI_GROUPS, *PROBE_GROUPS, *EXTENDED_GROUPS)
    assert set(manager.all_groups) == GROUP_NAMES | {group.name for group in others}


def test_every_task_has_its_mini_twin_on_the_mini_split() -> None:
    assert {name: (task.config, task.kind, task.group, task.split, task.regime)
            for name, task in MINI_TASKS.items()} == {
        name.replace("mmmult_", "mmmult_mini_", 1): (task.config, task.kind, task.group.replace("mmmult", "mmmult_mini",
                                                                                                1), "mini", task.regime)
        for name, task in TASKS.items()
    }  # fmt: skip
    groups = {group.name: group.members for group in MINI_GROUPS}
    assert groups["mmmult_mini"] == ("mmmult_mini_text", "mmmult_mini_image", "mmmult_mini_audio")
    assert groups["mmmult_mini_text"] == ("mmmult_mini_text_numerals", "mmmult_mini_text_words")
    assert groups["mmmult_mini_direct"] == ("mmmult_mini_direct_text", "mmmult_mini_direct_image",
                                            "mmmult_mini_direct_audio")  # fmt: skip
    assert groups["mmmult_mini_direct_audio"] == ("mmmult_mini_direct_audio_words", "mmmult_mini_direct_audio_digits")
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


DIRECT_TASKS = [name.replace("mmmult_", "mmmult_direct_", 1) for name in MULTIPLY_TASKS]


def test_every_config_has_a_direct_task_in_its_channel_s_direct_group() -> None:
    direct = tasks_of(MULTIPLY, DIRECT)
    assert [t.name for t in direct] == DIRECT_TASKS
    assert [t.config for t in direct] == list(STIMULUS_CONFIGS)
    assert [t.group for t in direct] == ["mmmult_direct_text"] * 2 + ["mmmult_direct_image"] * 2 + [
        "mmmult_direct_audio"] * 2  # fmt: skip
    assert {t.regime for t in tasks_of(MULTIPLY)} == {t.regime for t in tasks_of(PERCEIVE)} == {WORKED}
    groups = {group.name: group.members for group in GROUPS}
    assert groups["mmmult_direct"] == ("mmmult_direct_text", "mmmult_direct_image", "mmmult_direct_audio")
    assert groups["mmmult"] == ("mmmult_text", "mmmult_image", "mmmult_audio")  # never pooled with the worked tasks
    assert TASKS["mmmult_direct_image_words"].headline_key == "exact_match,final-integer"


def test_a_regime_that_does_not_exist_is_refused_with_the_ones_that_do() -> None:
    assert [regime_of(name) for name in ("worked", "direct")] == ["worked", "direct"]
    for name in ("Direct", "cot", ""):
        with pytest.raises(UnknownRegime, match=f"^unknown regime {name!r}: use one of worked, direct$"):
            regime_of(name)
    with pytest.raises(UserError, match="unknown regime 'fast'"):
        tasks_of(MULTIPLY, "fast")


def _yaml(name: str) -> dict:
    return yaml.safe_load((tasks_dir() / name).read_text().replace("!function ", ""))


def test_the_direct_yamls_ask_for_the_product_alone_within_the_direct_budget() -> None:
    """52 tokens: two per digit of the longest product (18 digits, of two 9-digit operands) and 16 for the closing
    marker; the worked tasks keep 4096."""
    template = _yaml("_direct_template_yaml")
    assert template["include"] == "_default_template_yaml"
    assert template["doc_to_text"] == "utils.doc_to_text_direct"
    assert template["generation_kwargs"]["max_gen_toks"] == direct_budget() == 52
    assert _yaml("_default_template_yaml")["generation_kwargs"]["max_gen_toks"] == WORKED_BUDGET == 4096
    for name in DIRECT_TASKS:
        assert _yaml(f"{name}.yaml")["include"] == "_direct_template_yaml"
        assert _yaml(f"{name.replace('mmmult_', 'mmmult_mini_', 1)}.yaml")["include"] == "_direct_template_yaml"
    assert _yaml("mmmult_text_words.yaml")["include"] == "_default_template_yaml"


@pytest.mark.parametrize("modality", ["text", "image", "audio"])
def test_only_the_direct_prompt_asks_for_the_product_alone(modality: str) -> None:
    doc = {"modality": modality, "stimulus": "What is 47 times 36?"}
    direct = direct_prompt(doc)
    assert "step by step" not in direct and "Do not show any working" in direct and "Final Answer:" in direct
    assert asks_direct(direct)
    assert not [ask for ask in (multiply_prompt, perceive_prompt, fingerprint_prompt) if asks_direct(ask(doc))]
