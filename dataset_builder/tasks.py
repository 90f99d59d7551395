"""The lm-eval task table: every task and group of the benchmark, in one place.

The YAML files under eval/mmmult/ are written from this table by eval/mmmult/_generate_configs.py
(a test fails when a committed file differs from what the script writes), and the leaderboard
reads the same table to know which tasks, filters, headline metrics and versions it accepts.

>>> TASKS["mmmult_image_words"].config
'image-words'
>>> TASKS["mmmult_perceive_audio_digits"].headline
'perceive_both'
>>> [group.name for group in GROUPS][:5]
['mmmult_text', 'mmmult_image', 'mmmult_audio', 'mmmult', 'mmmult_perceive']
>>> PROBE_TASKS["mmmult_probe_image"].config, [group.name for group in PROBE_GROUPS]
('hds-image', ['mmmult_probe', 'mmmult_steps', 'mmmult_hds', 'mmmult_traps'])
>>> MINI_TASKS["mmmult_mini_perceive_audio_words"].split, MINI_TASKS["mmmult_mini_image_words"].group
('mini', 'mmmult_mini_image')
>>> TASKS["mmmult_direct_audio_words"].regime, TASKS["mmmult_direct_audio_words"].group
('direct', 'mmmult_direct_audio')
>>> [group.name for group in DIRECT_GROUPS]
['mmmult_direct_text', 'mmmult_direct_image', 'mmmult_direct_audio', 'mmmult_direct']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dataset_builder.configs import CONFIGS, EXTENDED_CONFIGS, MODALITIES, STIMULUS_CONFIGS
from dataset_builder.errors import UserError
from dataset_builder.problems import EXTENDED, EXTENDED_MAX_DIGITS, MAX_DIGITS, MINI


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
WORKED, DIRECT = "worked", "direct"
REGIMES: tuple[str, ...] = (WORKED, DIRECT)
"""How a multiplication task asks for the product: with worked steps (a generous budget; the tasks the benchmark
began with), or directly, the product alone with a budget too small for working. The two are separate
measurements: the board never pools them."""
WORKED_BUDGET = 4096
"""Tokens a worked answer may take."""
PERCEIVE_BUDGET = 256
"""Tokens a perception answer ("Numbers: A, B", digits) may take, in the base and the extended set alike: more than
the 136 of direct_budget(30), which counts two tokens a digit for 60 digits, as two 30-digit operands hold."""
DIRECT_TEMPLATE = "_direct_template_yaml"


class UnknownRegime(UserError):
    """A regime name that is not one of REGIMES."""


def regime_of(name: str) -> str:
    """The regime a user named, checked: refused with the names there are.

    >>> regime_of("direct")
    'direct'
    >>> regime_of("cot")
    Traceback (most recent call last):
    ...
    dataset_builder.tasks.UnknownRegime: unknown regime 'cot': use one of worked, direct
    """
    if name not in REGIMES:
        raise UnknownRegime(f"unknown regime {name!r}: use one of {', '.join(REGIMES)}")
    return name


def direct_budget(max_digits: int = MAX_DIGITS) -> int:
    """Tokens a direct answer may take: two per digit of the longest product (tokenizers that split digits one by
    one, with room for separators) and 16 for a closing marker such as "Final Answer:", not enough for working.

    >>> direct_budget()
    52
    """
    return 2 * (2 * max_digits) + 16


REFERENCE_MODEL = "mmmult-reference"
"""The reference system's lm-eval model name: `mmmult eval` registers it (harness/reference.py); the queue and
the Space, which ship without the harness, name it too."""
CASCADE_MODEL = "mmmult-cascade"
"""The cascades' lm-eval model name (a reader, then a text model: harness/cascade.py); the board labels its runs."""
CASCADE_READERS = {"image": "tesseract", "audio": "Whisper"}
"""The reader a cascade puts before its text model, by the medium it reads (the reference system's readers)."""


def cascade_label(model: str, modalities: Iterable[str]) -> str:
    """How the board names a cascade: its readers of the run's media, then its text model.

    >>> cascade_label("qwen2.5-coder-0.5b", ["text", "image", "audio", "image"])
    'cascade: tesseract, Whisper + qwen2.5-coder-0.5b'
    >>> cascade_label("qwen2.5-coder-0.5b", ["text"])
    'cascade: no reader (text only) + qwen2.5-coder-0.5b'
    """
    readers = [reader for medium, reader in CASCADE_READERS.items() if medium in set(modalities)]
    return f"cascade: {', '.join(readers) or 'no reader (text only)'} + {model}"


@dataclass(frozen=True)
class Task:
    """One lm-eval task: one config of the dataset, one kind of question."""

    name: str
    config: str
    kind: Kind
    group: str
    split: str = "test"
    """The split the task evaluates on: test, or mini (a stratified 150 of test for costly models)."""
    regime: str = WORKED
    """How a multiplication task asks for the product (REGIMES); the other kinds keep the default."""
    version: float = VERSION

    @property
    def template(self) -> str:
        """The shared YAML its file includes: the kind's, or the direct regime's for direct multiplication; the
        extended set's own (its band metrics, its direct budget) for its multiplication tasks (its perception tasks
        share the base set's: no band metrics, and PERCEIVE_BUDGET holds two 30-digit operands)."""
        if self.kind is MULTIPLY and CONFIGS[self.config].problem_set == EXTENDED:
            return EXTENDED_DIRECT_TEMPLATE if self.regime == DIRECT else EXTENDED_TEMPLATE
        return DIRECT_TEMPLATE if self.regime == DIRECT else self.kind.template

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

    @property
    def alias(self) -> str:
        """The name lm-eval shows for the task (its task_alias): the config, after the kind unless it multiplies, the
        regime if direct and the split unless test. lm-eval records it in results.json, where the board reads the
        regime a run was made in back from it (mmmult/leaderboard/intake/rescore.py).

        >>> TASKS["mmmult_direct_text_numerals"].alias, MINI_TASKS["mmmult_mini_perceive_image_words"].alias
        ('direct-text-numerals', 'mini-perceive-image-words')
        """
        alias = self.config if self.kind is MULTIPLY else f"{self.kind.name}-{self.config}"
        alias = f"{DIRECT}-{alias}" if self.regime == DIRECT else alias
        return alias if self.split == "test" else f"{self.split}-{alias}"


@dataclass(frozen=True)
class Group:
    """An lm-eval group: its members (tasks or groups) and the metrics it aggregates."""

    name: str
    members: tuple[str, ...]
    metrics: tuple[str, ...]
    version: float = VERSION


def _slug(config: str) -> str:
    return config.replace("-", "_")


def _members(tasks: dict[str, Task], group: str) -> tuple[str, ...]:
    return tuple(task.name for task in tasks.values() if task.group == group)


def _channel_groups(tasks: dict[str, Task], prefix: str) -> tuple[Group, ...]:
    """The multiplication groups `<prefix>_<modality>` of `tasks`, one per channel, then `<prefix>` of those."""
    channels = tuple(
        Group(f"{prefix}_{m}", _members(tasks, f"{prefix}_{m}"), MULTIPLY.group_metrics) for m in MODALITIES
    )
    return (*channels, Group(prefix, tuple(g.name for g in channels), MULTIPLY.group_metrics))


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        *(Task(f"mmmult_{_slug(c)}", c, MULTIPLY, f"mmmult_{CONFIGS[c].modality}") for c in STIMULUS_CONFIGS),
        *(Task(f"mmmult_perceive_{_slug(c)}", c, PERCEIVE, "mmmult_perceive") for c in STIMULUS_CONFIGS),
        *(
            Task(f"mmmult_direct_{_slug(c)}", c, MULTIPLY, f"mmmult_direct_{CONFIGS[c].modality}", regime=DIRECT)
            for c in STIMULUS_CONFIGS
        ),
    )
}
WORKED_GROUPS, DIRECT_GROUPS = _channel_groups(TASKS, "mmmult"), _channel_groups(TASKS, "mmmult_direct")
MODALITY_GROUPS = WORKED_GROUPS[:-1]
"""The worked regime's groups by channel (the queue's channels run these)."""
GROUPS: tuple[Group, ...] = (
    *WORKED_GROUPS,
    Group("mmmult_perceive", tuple(t.name for t in TASKS.values() if t.kind is PERCEIVE), PERCEIVE.group_metrics),
    *DIRECT_GROUPS,
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
    name: Task(
        name, task.config, task.kind, task.group.replace("mmmult", "mmmult_mini", 1), split=MINI, regime=task.regime
    )
    for task in TASKS.values()
    for name in [task.name.replace("mmmult", "mmmult_mini", 1)]
}
"""Every task of TASKS on the mini split (problems.mini_selection), named mmmult_mini_*."""
MINI_GROUPS: tuple[Group, ...] = (
    *_channel_groups(MINI_TASKS, "mmmult_mini"),
    Group(
        "mmmult_mini_perceive", tuple(t.name for t in MINI_TASKS.values() if t.kind is PERCEIVE), PERCEIVE.group_metrics
    ),
    *_channel_groups(MINI_TASKS, "mmmult_mini_direct"),
)


def tasks_of(kind: Kind, regime: str = WORKED) -> tuple[Task, ...]:
    """The tasks of one kind in one regime (the worked one unless named), in table order: one per config."""
    regime_of(regime)
    return tuple(task for task in TASKS.values() if task.kind is kind and task.regime == regime)


EXTENDED_TEMPLATE, EXTENDED_DIRECT_TEMPLATE = "_extended_template_yaml", "_extended_direct_template_yaml"
EXTENDED_DIRECT_BUDGET = direct_budget(EXTENDED_MAX_DIGITS)
"""The direct regime's budget for the extended set's products of up to 60 digits: 136 tokens."""


def _extended(split: str) -> tuple[Task, ...]:
    """The extended set's tasks on one split: multiplication in both regimes, mmmult[_mini]_extended_<config>
    and mmmult[_mini]_direct_extended_<config>, grouped by channel and regime; perception,
    mmmult[_mini]_perceive_extended_<config>, in one group as the base set's."""
    prefix = "mmmult" if split == "test" else f"mmmult_{split}"
    multiply = (
        Task(
            f"{prefix}{part}_{_slug(c)}",
            c,
            MULTIPLY,
            f"{prefix}{part}_extended_{CONFIGS[c].modality}",
            split=split,
            regime=regime,
        )
        for regime, part in ((WORKED, ""), (DIRECT, "_direct"))
        for c in EXTENDED_CONFIGS
    )
    perceive = (
        Task(f"{prefix}_perceive_{_slug(c)}", c, PERCEIVE, f"{prefix}_perceive_extended", split=split)
        for c in EXTENDED_CONFIGS
    )
    return (*multiply, *perceive)


EXTENDED_TASKS: dict[str, Task] = {task.name: task for split in ("test", MINI) for task in _extended(split)}
"""The extended set's tasks (configs extended-*, built with `mmmult build --set extended`): multiplication worked
and direct, and perception, on test and on its mini split. Kept out of TASKS, so that the default groups are
unchanged; the board ranks the test split's runs as a problem set of their own, checked against an extended build
served beside the base one (`mmmult space --extended-data`), never pooled with the base set's."""


def _extended_groups() -> tuple[Group, ...]:
    prefixes = ("mmmult", "mmmult_mini", "mmmult_direct", "mmmult_mini_direct")
    groups = [group for prefix in prefixes for group in _channel_groups(EXTENDED_TASKS, f"{prefix}_extended")]
    for prefix in ("mmmult", "mmmult_mini"):
        name = f"{prefix}_perceive_extended"
        groups.append(Group(name, _members(EXTENDED_TASKS, name), PERCEIVE.group_metrics))
    return tuple(groups)


EXTENDED_GROUPS: tuple[Group, ...] = _extended_groups()
"""mmmult_extended (its channels mmmult_extended_text, ...), mmmult_mini_extended, mmmult_direct_extended,
mmmult_mini_direct_extended, mmmult_perceive_extended and mmmult_mini_perceive_extended: never pooled with the base
set's groups or with the other regime."""
