"""`mmmult verify`: read every rendered stimulus back and check that it carries its two operands.

Images go through tesseract, audio through the ASR backend, text through the stimulus parser.
A config passes when the share of items read back exactly reaches the threshold.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from tqdm.auto import tqdm

from dataset_builder.configs import CONFIGS
from dataset_builder.dataset.features import undecoded_media
from dataset_builder.media.codec import decode_audio
from dataset_builder.media.readers import Transcriber, read_audio, read_image
from dataset_builder.stimulus import parse_stimulus


@dataclass(frozen=True)
class Failure:
    """An item whose medium did not read back as its operands."""

    problem_id: str
    expected: tuple[int, int]
    read: str


@dataclass
class ConfigReport:
    config: str
    checked: int = 0
    exact: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.exact / self.checked if self.checked else 0.0


def verifiable(config: str) -> bool:
    """Whether a config carries a stimulus to read back (every config but `problems`)."""
    return CONFIGS[config].modality is not None


def verify_config(
    folder: str | Path, config: str, sample: int | None, transcriber: Transcriber, seed: int = 0
) -> ConfigReport:
    """Read back `sample` seeded random items (all when None) of one config, over all its splits."""
    spec = CONFIGS[config]
    rows = datasets.concatenate_datasets(list(datasets.load_dataset(str(folder), config).values()))
    if spec.media_column:
        rows = rows.cast_column(spec.media_column, undecoded_media(spec))
    indices = list(range(len(rows)))
    if sample is not None and sample < len(indices):
        indices = sorted(random.Random(seed).sample(indices, sample))
    reader = _reader(spec.modality, transcriber)
    report = ConfigReport(config)
    for i in tqdm(indices, desc=f"verify {config}", unit="item"):
        row = rows[i]
        expected = (int(row["a"]), int(row["b"]))  # the extended configs hold operands as strings
        try:
            read = reader(row)
        except ValueError as error:
            read = f"unreadable ({error})"
        report.checked += 1
        if read == expected:
            report.exact += 1
        else:
            report.failures.append(Failure(row["problem_id"], expected, str(read)))
    return report


def _reader(modality: str | None, transcriber: Transcriber) -> Callable[[dict[str, Any]], tuple[int, int]]:
    if modality == "image":
        return lambda row: read_image(row["image"]["bytes"])
    if modality == "audio":
        return lambda row: read_audio(*decode_audio(row["audio"]["bytes"]), transcriber)
    return lambda row: parse_stimulus(row["stimulus"])
