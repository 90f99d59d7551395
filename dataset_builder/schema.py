"""The dataset's configs and columns: one list that the builder, the card and the tasks read."""

from __future__ import annotations

from dataclasses import dataclass

import datasets

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
        return {"image": "image", "audio": "audio"}.get(self.modality or "")

    def undecoded_media(self) -> datasets.Image | datasets.Audio:
        """The media feature with decoding off: raw PNG, Opus or FLAC bytes, readable without torch."""
        if self.modality == "image":
            return datasets.Image(decode=False)
        if self.modality == "audio":
            return datasets.Audio(sampling_rate=SAMPLING_RATE, decode=False)
        raise ValueError(f"config {self.name} has no media column")

    def features(self) -> datasets.Features:
        columns: dict[str, datasets.features.FeatureType] = {
            name: datasets.Value(dtype) for name, dtype in PROBLEM_TYPES.items()
        }
        if self.modality is None:
            return datasets.Features(columns)
        columns |= {
            "representation": datasets.Value("string"),
            "modality": datasets.Value("string"),
            "stimulus": datasets.Value("string"),
        }
        if self.modality == "image":
            columns["image"] = datasets.Image()
        elif self.modality == "audio":
            columns["audio"] = datasets.Audio(sampling_rate=SAMPLING_RATE)
            columns |= {name: datasets.Value(dtype) for name, dtype in AUDIO_COLUMNS.items()}
        return datasets.Features(columns)


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


def data_file_pattern(config: str, split: str) -> str:
    """Where a split's Parquet shards live inside a build or Hub repo: '<config>/<split>-*.parquet'."""
    return f"{config}/{split}-*.parquet"
