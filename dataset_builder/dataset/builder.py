"""The `datasets` builder: one BuilderConfig per dataset config, rows rendered in shards.

`datasets` no longer runs loading scripts, so this builder is not shipped with the data: `build`
runs it once to write Parquet files in the layout of a Hub dataset repository, which
`load_dataset` then reads like any other Parquet dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import datasets
import pyarrow as pa
from datasets.builder import Key

from dataset_builder.configs import CONFIGS
from dataset_builder.dataset.features import features
from dataset_builder.dataset.rows import Renderers, render_row
from dataset_builder.problems import split_order

SHARD_SIZE = 100
"""Problems per generation shard: the unit that worker processes share out."""


@dataclass
class MMMultConfig(datasets.BuilderConfig):
    """A dataset config plus what this build needs to render it."""

    items_file: str = ""
    """A JSON list of the config's item rows (problems, or a probe set), written by `write_items`."""
    renderers: Renderers = field(default_factory=Renderers)


class MMMult(datasets.ArrowBasedBuilder):
    """Paired multiplication problems as text, images and speech."""

    BUILDER_CONFIG_CLASS = MMMultConfig
    BUILDER_CONFIGS: ClassVar[list[MMMultConfig]] = [MMMultConfig(name=name) for name in CONFIGS]
    config: MMMultConfig

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Paired multimodal multiplication problems with their arithmetic load C.",
            features=features(CONFIGS[self.config.name]),
            citation="arXiv:2604.18203",
            license="cc-by-4.0",
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        by_split: dict[str, list[dict[str, Any]]] = {}
        for item in json.loads(Path(self.config.items_file).read_text()):
            by_split.setdefault(item["split"], []).append(item)
        ordered = sorted(by_split, key=split_order)
        return [
            datasets.SplitGenerator(
                name=split,
                gen_kwargs={
                    "shards": [by_split[split][i : i + SHARD_SIZE] for i in range(0, len(by_split[split]), SHARD_SIZE)]
                },
            )
            for split in ordered
        ]

    def _generate_tables(self, shards: list[list[dict[str, Any]]]) -> Iterator[tuple[Key, pa.Table]]:
        spec = CONFIGS[self.config.name]
        schema = self.info.features.arrow_schema
        for shard_id, shard in enumerate(shards):
            rows = [render_row(spec, item, self.config.renderers) for item in shard]
            yield Key(shard_id, 0), pa.Table.from_pylist(rows, schema=schema)


def write_items(items: list[dict[str, Any]], path: Path) -> None:
    """Store an item set of a build where every builder (and worker) reads it."""
    path.write_text(json.dumps(items))
