"""The typed `datasets` features of each config, built from the column lists in configs.py."""

from __future__ import annotations

import datasets

from dataset_builder.configs import AUDIO_COLUMNS, SAMPLING_RATE, STIMULUS_TYPES, ConfigSpec


def features(spec: ConfigSpec) -> datasets.Features:
    """Every column of the config with its type: Image and Audio for the media, Values for the rest."""
    columns: dict[str, datasets.features.FeatureType] = {
        name: datasets.Value(dtype) for name, dtype in spec.item_types.items()
    }
    if spec.modality is None:
        return datasets.Features(columns)
    columns |= {name: datasets.Value(dtype) for name, dtype in STIMULUS_TYPES.items()}
    if spec.modality == "image":
        columns["image"] = datasets.Image()
    elif spec.modality == "audio":
        columns["audio"] = datasets.Audio(sampling_rate=SAMPLING_RATE)
        columns |= {name: datasets.Value(dtype) for name, dtype in AUDIO_COLUMNS.items()}
    return datasets.Features(columns)


def undecoded_media(spec: ConfigSpec) -> datasets.Image | datasets.Audio:
    """The media feature with decoding off: raw PNG, Opus or FLAC bytes, readable without torch."""
    if spec.modality == "image":
        return datasets.Image(decode=False)
    if spec.modality == "audio":
        return datasets.Audio(sampling_rate=SAMPLING_RATE, decode=False)
    raise ValueError(f"config {spec.name} has no media column")
