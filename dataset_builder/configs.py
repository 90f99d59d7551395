"""The dataset's configs and columns: one list that the builder, the card, the tasks and the board read.

No `datasets` here: the typed features are built from these lists in dataset/features.py, so that
the lm-eval tasks' helpers and the leaderboard can know the configs without importing `datasets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SAMPLING_RATE = 16_000
"""Every clip in the dataset is mono at this rate, whatever its TTS engine produced."""

PROBLEM_TYPES: dict[str, str] = {  # every Problem field, in order (tests check)
    "problem_id": "string",
    "a": "int64",
    "b": "int64",
    "product": "int64",
    "digits_a": "int32",
    "digits_b": "int32",
    "nonzero_a": "int32",
    "nonzero_b": "int32",
    "digit_total": "int32",
    "nonzero_total": "int32",
    "C": "int32",
    "template_a": "string",
    "template_b": "string",
    "stratum": "string",
    "split": "string",
}

EXTENDED_PROBLEM_TYPES: dict[str, str] = PROBLEM_TYPES | {  # the extended set's problems (operands up to 30 digits)
    "a": "string",
    "b": "string",
    "product": "string",
    "problem_set": "string",
}
"""Operands of up to 30 digits and products of up to 60 overflow 64-bit integers: the extended configs hold them as
decimal strings (int(row["a"]) reads one back), and name their problem set, which tells their rows apart."""

PROBE_ITEM_TYPES: dict[str, str] = {  # what every item of the probe's sets starts with
    "problem_id": "string",
    "a": "int64",
    "b": "int64",
    "product": "int64",
    "digit_total": "int32",
    "nonzero_total": "int32",
    "C": "int32",
}
HDS_TYPES: dict[str, str] = {  # a heuristic-disagreement item's fields (probe/sets.py writes them, tests check)
    **PROBE_ITEM_TYPES,
    "design_family": "string",
    "target_heuristic": "string",
    "canonical_target_heuristic": "string",
    "canonical_target_margin": "float64",
    "ot_cost": "float64",
    "dd_cost": "float64",
    "rc_cost": "float64",
    "category": "string",
    "notes": "string",
    "split": "string",
}

TRAP_TYPES: dict[str, str] = {  # a trap item's fields
    **PROBE_ITEM_TYPES,
    "trap_type": "string",
    "target_heuristic": "string",
    "expected_error_type": "string",
    "notes": "string",
    "split": "string",
}

TRACE_TYPES: dict[str, str] = PROBLEM_TYPES | {  # a training trace: a problem worked by one heuristic
    "heuristic": "string",
    "prompt": "string",
    "solution": "string",
}

ITEM_TYPES: dict[str, dict[str, str]] = {
    "problems": PROBLEM_TYPES,
    "hds": HDS_TYPES,
    "traps": TRAP_TYPES,
    "traces": TRACE_TYPES,
}
"""The item sets a config can draw from: the factorial problems, one of the heuristic probe's sets, or the
worked training traces of the train and validation problems (probe/training.py)."""

STIMULUS_TYPES: dict[str, str] = {  # what every media config adds to the problem's fields
    "representation": "string",
    "modality": "string",
    "stimulus": "string",
}

AUDIO_COLUMNS: dict[str, str] = {  # what spoke and stored each clip
    "tts_backend": "string",
    "tts_engine_version": "string",
    "tts_voice": "string",
    "tts_rate": "int32",
    "tts_word_gap": "int32",
    "audio_codec": "string",
    "audio_kbps": "int32",
}


DIGITS_WORD_GAP = 10
"""The word gap (100 ms) of the extended set's spoken digits, twice the default: Whisper tiny.en loses count of a run
of zeros, or leaves out a repeated digit, less often when the digits stand further apart. 45 of 60 seeded test clips
read back against 36 at the default gap and 42 for as many base-set clips; on two other seeds 39, 29 and 36 (README,
"Speech backends", long clips)."""


@dataclass(frozen=True)
class ConfigSpec:
    """One dataset config: which items it holds, which channel carries them and how numbers are written."""

    name: str
    modality: str | None
    representation: str | None
    items: str = "problems"
    """"problems" (the factorial set), "hds" or "traps" (the heuristic probe's sets), or "traces" (worked
    solutions of the train and validation problems, one per heuristic, for training adapters)."""
    problem_set: str = "base"
    """The factorial set its problems come from (problems.PROBLEM_SETS): "base", or "extended" (operands up to 30
    digits, configs named extended-*, built only when asked for)."""
    speech_pauses: bool = False
    """Whether its clips pause between number groups (media/speech.with_pauses): the extended set's audio
    configs do, so that a reader can cut their long clips between groups; the base set's clips do not."""
    speech_word_gap: int | None = None
    """The espeak-ng pause between words (10 ms units) its clips are spoken with, in place of the build's
    (`--word-gap`), recorded on each row as tts_word_gap; None: the build's. Another backend ignores it."""

    @property
    def item_types(self) -> dict[str, str]:
        """Its items' columns and their types."""
        return EXTENDED_PROBLEM_TYPES if self.problem_set == "extended" else ITEM_TYPES[self.items]

    @property
    def media_column(self) -> str | None:
        """The column that holds the medium ("image" or "audio"), None for text and problems."""
        return {"image": "image", "audio": "audio"}.get(self.modality or "")


CONFIGS: dict[str, ConfigSpec] = {
    spec.name: spec
    for spec in (
        ConfigSpec("text-numerals", "text", "numerals"),
        ConfigSpec("text-words", "text", "words"),
        ConfigSpec("image-numerals", "image", "numerals"),
        ConfigSpec("image-words", "image", "words"),
        ConfigSpec("audio-words", "audio", "words"),
        ConfigSpec("audio-digits", "audio", "digits"),
        ConfigSpec("problems", None, None),
        # The heuristic probe's sets, paired across channels like the problems: numerals where they
        # are seen, words where they are heard (a probe asks how a model computes, not how it reads).
        ConfigSpec("hds-text", "text", "numerals", "hds"),
        ConfigSpec("hds-image", "image", "numerals", "hds"),
        ConfigSpec("hds-audio", "audio", "words", "hds"),
        ConfigSpec("traps-text", "text", "numerals", "traps"),
        ConfigSpec("traps-image", "image", "numerals", "traps"),
        ConfigSpec("traps-audio", "audio", "words", "traps"),
        # Training text, not a benchmark: never a test problem (probe/training.py).
        ConfigSpec("traces", None, None, "traces"),
        # The extended set: the six channels of the factorial problems, operands up to 30 digits.
        *(
            ConfigSpec(
                f"extended-{modality}-{representation}",
                modality,
                representation,
                problem_set="extended",
                speech_pauses=modality == "audio",
                speech_word_gap=DIGITS_WORD_GAP if representation == "digits" else None,
            )
            for modality, representation in (
                ("text", "numerals"),
                ("text", "words"),
                ("image", "numerals"),
                ("image", "words"),
                ("audio", "words"),
                ("audio", "digits"),
            )
        ),
    )
}
CONFIG_NAMES: tuple[str, ...] = tuple(name for name, spec in CONFIGS.items() if spec.problem_set == "base")
"""The configs of the base set: what a build makes by default (`mmmult build --configs all`)."""
EXTENDED_CONFIGS: tuple[str, ...] = tuple(name for name, spec in CONFIGS.items() if spec.problem_set == "extended")
"""The extended set's configs, built with `mmmult build --set extended` into a build of their own."""
STIMULUS_CONFIGS: tuple[str, ...] = tuple(
    name
    for name, spec in CONFIGS.items()
    if spec.modality is not None and spec.items == "problems" and spec.problem_set == "base"
)
"""The six configs of the factorial problems that carry a stimulus, in table order: what the board ranks."""
PROBE_CONFIGS: tuple[str, ...] = tuple(name for name, spec in CONFIGS.items() if spec.items in ("hds", "traps"))
"""The heuristic probe's configs (HDS and traps in each channel)."""
MODALITIES: tuple[str, ...] = tuple(dict.fromkeys(CONFIGS[c].modality for c in STIMULUS_CONFIGS))
REPRESENTATIONS: tuple[str, ...] = tuple(dict.fromkeys(CONFIGS[c].representation for c in STIMULUS_CONFIGS))


def config_of(row: Mapping[str, Any]) -> str:
    """The config a media row (or an lm-eval doc) belongs to: its item set, modality and representation.

    >>> config_of({"modality": "image", "representation": "words", "C": 16})
    'image-words'
    >>> config_of({"modality": "audio", "representation": "words", "design_family": "DD"})
    'hds-audio'
    >>> config_of({"modality": "text", "representation": "words", "problem_set": "extended"})
    'extended-text-words'
    """
    items = "hds" if "design_family" in row else "traps" if "trap_type" in row else "problems"
    key = (items, row["modality"], row["representation"], row.get("problem_set", "base"))
    return next(
        name
        for name, spec in CONFIGS.items()
        if (spec.items, spec.modality, spec.representation, spec.problem_set) == key
    )


def configs_of_set(problem_set: str) -> tuple[str, ...]:
    """The configs a build of a problem set makes by default: every base config, or every extended one."""
    return EXTENDED_CONFIGS if problem_set == "extended" else CONFIG_NAMES


def data_file_pattern(config: str, split: str) -> str:
    """Where a split's Parquet shards live inside a build or Hub repo: '<config>/<split>-*.parquet'."""
    return f"{config}/{split}-*.parquet"
