"""The sha256 of every test item's medium, as stored in the build (the PNG or the Opus bytes), by config and problem.

The build records them in its manifest (MEDIA_DIGESTS), so that a board reading only the problems and the manifest
(a Space reading the build from the Hub) can check the digests an lmms-eval or inspect-ai log carries of the medium
each sample was sent. The mini split's items are test problems rendered again, byte for byte the same, so the test
split's digests stand for both.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dataset_builder.configs import CONFIGS, EXTENDED_CONFIGS, STIMULUS_CONFIGS, data_file_pattern

MEDIA_DIGESTS = "media_sha256"
"""The manifest's key: {config: {problem_id: sha256 of the stored medium}} for each image and audio config."""
TASK_CONFIGS = frozenset((*STIMULUS_CONFIGS, *EXTENDED_CONFIGS))
"""The configs whose tasks lmms-eval and inspect-ai run (the probe's sets are lm-eval's alone)."""


def media_digests(folder: Path, configs: list[str] | tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The digests of the test items' media of each image or audio config of `configs` found in `folder`."""
    import pyarrow.parquet as pq  # here, not at the top: the core stays cheap to import for the Space

    digests = {}
    for config in (c for c in configs if c in TASK_CONFIGS):
        column = CONFIGS[config].media_column
        files = sorted(folder.glob(data_file_pattern(config, "test")))
        if column is not None and files:
            rows = pq.ParquetDataset(files).read(columns=["problem_id", column]).to_pylist()
            digests[config] = {row["problem_id"]: hashlib.sha256(row[column]["bytes"]).hexdigest() for row in rows}
    return digests
