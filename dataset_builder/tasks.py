"""The lm-eval task table: every task and group of the benchmark, in one place.

The YAML files under eval/mmmult/ are written from this table by eval/mmmult/_generate_configs.py
(a test fails when a committed file differs from what the script writes), and the leaderboard
reads the same table to know which tasks, filters, headline metrics and versions it accepts.

>>> TASKS["mmmult_image_words"].config
'image-words'
>>> TASKS["mmmult_perceive_audio_digits"].headline
'perceive_both'
>>> [group.name for group in GROUPS]
['mmmult_text', 'mmmult_image', 'mmmult_audio', 'mmmult', 'mmmult_perceive']
>>> PROBE_TASKS["mmmult_probe_image"].config, [group.name for group in PROBE_GROUPS]
('hds-image', ['mmmult_probe', 'mmmult_steps', 'mmmult_hds', 'mmmult_traps'])
>>> MINI_TASKS["mmmult_mini_perceive_audio_words"].split, MINI_TASKS["mmmult_mini_image_words"].group
('mini', 'mmmult_mini_image')
"""

from __future__ import annotations

from dataclasses import dataclass

from dataset_builder.configs import CONFIGS, MODALITIES, STIMULUS_CONFIGS
from dataset_builder.problems import MINI


@dataclass(frozen=True)
class Kind:
    """What a family of tasks asks of the model and how its answers are read and summarised."""

    name: str
    template: str
    """The shared YAML that the kind's task files include."""
    filter: str
    """The lm-eval filter that reads the answer; its name is half of every reported metric key."""
    headline: str
    """The metric a leaderboard cell shows."""
    group_metrics: tuple[str, ...]
    """What a group of these tasks aggregates (per-band metrics stay per task)."""


MULTIPLY = Kind("multiply", "_default_template_yaml", "final-integer", "exact_match", ("exact_match", "digit_match"))
PERCEIVE = Kind("perceive", "_perceive_template_yaml", "numbers", "perceive_both", ("perceive_both",))
# The heuristic probe (dataset_builder/probe/): which procedure a model follows, on the HDS and traps.
# Scored from the log-likelihoods or the whole response, so no filter ("none", lm-eval's default).
PROBE = Kind("probe", "_probe_template_yaml", "none", "match", ("prefers_OT", "prefers_DD", "prefers_RC", "match"))
STEPS = Kind("steps", "_steps_template_yaml", "none", "prefers_correct", ("prefers_correct", "gap"))
FINGERPRINT = Kind("fingerprint", "_fingerprint_template_yaml", "none", "exact_match",
                   ("exact_match", "trace_OT", "trace_DD", "trace_RC", "trace_unknown"))  # fmt: skip
KINDS: dict[str, Kind] = {kind.name: kind for kind in (MULTIPLY, PERCEIVE, PROBE, STEPS, FINGERPRINT)}
VERSION = 1.0
"""The tasks' `metadata.version`; a change of prompt, data or scoring bumps it."""
REFERENCE_MODEL = "mmmult-reference"
"""The reference system's lm-eval model name: `mmmult eval` registers it (harness/reference.py); the queue and
the Space, which ship without the harness, name it too."""


@dataclass(frozen=True)
class Task:
    """One lm-eval task: one config of the dataset, one kind of question."""

    name: str
    config: str
    kind: Kind
    group: str
    version: float = VERSION
    split: str = "test"
    """The split the task evaluates on: test, or mini (a stratified 150 of test for costly models)."""

    @property
    def filter(self) -> str:
        return self.kind.filter

    @property
    def headline(self) -> str:
        return self.kind.headline

    @property
    def headline_key(self) -> str:
        """The key under which lm-eval's results.json reports the headline: 'exact_match,final-integer'."""
        return f"{self.kind.headline},{self.kind.filter}"

    @property
    def modality(self) -> str:
        return str(CONFIGS[self.config].modality)


@dataclass(frozen=True)
class Group:
    """An lm-eval group: its members (tasks or groups) and the metrics it aggregates."""

    name: str
    members: tuple[str, ...]
    metrics: tuple[str, ...]
    version: float = VERSION


def _slug(config: str) -> str:
    return config.replace("-", "_")


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        *(Task(f"mmmult_{_slug(c)}", c, MULTIPLY, f"mmmult_{CONFIGS[c].modality}") for c in STIMULUS_CONFIGS),
        *(Task(f"mmmult_perceive_{_slug(c)}", c, PERCEIVE, "mmmult_perceive") for c in STIMULUS_CONFIGS),
    )
}
MODALITY_GROUPS = tuple(
    Group(f"mmmult_{m}", tuple(t.name for t in TASKS.values() if t.group == f"mmmult_{m}"), MULTIPLY.group_metrics)
    for m in MODALITIES
)
GROUPS: tuple[Group, ...] = (
    *MODALITY_GROUPS,
    Group("mmmult", tuple(g.name for g in MODALITY_GROUPS), MULTIPLY.group_metrics),
    Group("mmmult_perceive", tuple(t.name for t in TASKS.values() if t.kind is PERCEIVE), PERCEIVE.group_metrics),
)
GROUP_NAMES = frozenset(group.name for group in GROUPS)
"""The benchmark's groups; the board ranks the tasks of TASKS. The probe's tasks and groups follow."""

PROBE_TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        *(Task(f"mmmult_probe_{m}", f"hds-{m}", PROBE, "mmmult_probe") for m in MODALITIES),
        *(Task(f"mmmult_steps_{m}", f"hds-{m}", STEPS, "mmmult_steps") for m in MODALITIES),
        *(Task(f"mmmult_hds_{m}", f"hds-{m}", FINGERPRINT, "mmmult_hds") for m in MODALITIES),
        *(Task(f"mmmult_traps_{m}", f"traps-{m}", FINGERPRINT, "mmmult_traps") for m in MODALITIES),
    )
}
PROBE_GROUPS: tuple[Group, ...] = tuple(
    Group(name, tuple(t.name for t in PROBE_TASKS.values() if t.group == name), kind.group_metrics)
    for name, kind in (
        ("mmmult_probe", PROBE),
        ("mmmult_steps", STEPS),
        ("mmmult_hds", FINGERPRINT),
        ("mmmult_traps", FINGERPRINT),
    )
)


MINI_TASKS: dict[str, Task] = {
    name: Task(name, task.config, task.kind, task.group.replace("mmmult", "mmmult_mini", 1), split=MINI)
    for task in TASKS.values()
    for name in [task.name.replace("mmmult", "mmmult_mini", 1)]
}
"""Every task of TASKS on the mini split (problems.mini_selection), named mmmult_mini_*."""
MINI_MODALITY_GROUPS = tuple(
    Group(
        f"mmmult_mini_{m}",
        tuple(t.name for t in MINI_TASKS.values() if t.group == f"mmmult_mini_{m}"),
        MULTIPLY.group_metrics,
    )
    for m in MODALITIES
)
MINI_GROUPS: tuple[Group, ...] = (
    *MINI_MODALITY_GROUPS,
    Group("mmmult_mini", tuple(g.name for g in MINI_MODALITY_GROUPS), MULTIPLY.group_metrics),
    Group(
        "mmmult_mini_perceive", tuple(t.name for t in MINI_TASKS.values() if t.kind is PERCEIVE), PERCEIVE.group_metrics
    ),
)


def tasks_of(kind: Kind) -> tuple[Task, ...]:
    """The tasks of one kind, in table order."""
    return tuple(task for task in TASKS.values() if task.kind is kind)
