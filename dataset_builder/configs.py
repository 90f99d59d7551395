"""The dataset's configs and columns: one list that the builder, the card, the tasks and the board read.

No `datasets` here: the typed features are built from these lists in build/features.py, so that
the lm-eval tasks' helpers and the leaderboard can know the configs without importing `datasets`.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class ConfigSpec:
    """One dataset config: which channel carries the problem and how the numbers are written."""

    name: str
    modality: str | None
    representation: str | None

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
    )
}
CONFIG_NAMES: tuple[str, ...] = tuple(CONFIGS)
STIMULUS_CONFIGS: tuple[str, ...] = tuple(name for name, spec in CONFIGS.items() if spec.modality is not None)
"""The six configs that carry a stimulus (every config but `problems`), in table order."""
MODALITIES: tuple[str, ...] = tuple(dict.fromkeys(CONFIGS[c].modality for c in STIMULUS_CONFIGS))
REPRESENTATIONS: tuple[str, ...] = tuple(dict.fromkeys(CONFIGS[c].representation for c in STIMULUS_CONFIGS))


def data_file_pattern(config: str, split: str) -> str:
    """Where a split's Parquet shards live inside a build or Hub repo: '<config>/<split>-*.parquet'."""
    return f"{config}/{split}-*.parquet"
