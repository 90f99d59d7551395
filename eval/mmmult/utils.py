"""Functions named after the YAML keys they serve; everything they compute comes from the mmmult core."""

from __future__ import annotations

import io
import math
from typing import Any

import datasets
from PIL import Image

from dataset_builder.answers import extract_answer, extract_operands, operands_text, parse_operands_text
from dataset_builder.configs import CONFIGS, config_of, data_file_pattern
from dataset_builder.dataset.features import undecoded_media
from dataset_builder.media.codec import decode_audio
from dataset_builder.problems import MINI
from dataset_builder.prompts import direct_prompt, fingerprint_prompt, multiply_prompt, perceive_prompt, probe_context
from dataset_builder.scoring import band_scores, score_answer, score_perception
from dataset_builder.shards import deal, parse_shard
from mmmult.harness.evaluate import EvalSetupError, data_source
from mmmult.probe_scoring.scores import (
    PROBE_CHOICES,
    score_probe,
    score_steps,
    score_trace,
    split_results,
    step_choices,
)

_media: dict[str, dict[str, _MediaColumn]] = {}
"""Media by config and split: kept out of the docs so that logged samples stay small."""


def load(
    config: str, data: str | None = None, split: str = "test", shard: str | None = None, **_: object
) -> datasets.DatasetDict:
    """One split of the config (test, or mini for the mmmult_mini_* tasks) without its media column, from a
    build folder or a Hub repo id.

    Only that split's files are read (the task evaluates on it), which keeps set-up fast.

    The source is `data` (task metadata: `--metadata '{"data": "..."}'`), else $MMMULT_DATA, else
    ./mmmult-data, the folder `./run build` writes. `shard` ("I/N", task metadata that `mmmult eval --shard I/N`
    sets) keeps shard I's documents of the split (dataset_builder.shards.deal), in the split's order.
    """
    source = data_source(data)
    try:
        splits = datasets.load_dataset(source, config, data_files={split: data_file_pattern(config, split)})
    except datasets.exceptions.DataFilesNotFoundError:
        raise EvalSetupError(
            f"{source} has no {split} split of {config}: the tasks evaluate on {split}; build the config "
            f"(mmmult build --configs {config}) with problems in the {split} split"
            + (" (a build made before the mini split existed has none: build it again)" if split == MINI else "")
        ) from None
    if shard is not None:
        splits = datasets.DatasetDict({name: _shard_of(rows, shard) for name, rows in splits.items()})
    spec = CONFIGS[config]
    column = spec.media_column
    if column is None:
        return splits
    undecoded = splits.cast_column(column, undecoded_media(spec))
    _media.setdefault(config, {}).update({name: _MediaColumn(rows, column) for name, rows in undecoded.items()})
    return splits.remove_columns(column)


def _shard_of(rows: datasets.Dataset, shard: str) -> datasets.Dataset:
    wanted = parse_shard(shard)
    dealt = deal(list(zip(rows["problem_id"], rows["C"], strict=True)), wanted.count)
    return rows.select([i for i, index in enumerate(dealt) if index == wanted.index])


class _MediaColumn:
    """One split's media bytes, read on demand from the memory-mapped Arrow table by problem_id."""

    def __init__(self, split: datasets.Dataset, column: str) -> None:
        self.column = split.select_columns([column])
        self.rows = {pid: i for i, pid in enumerate(split["problem_id"])}

    def bytes_of(self, problem_id: str) -> bytes:
        return self.column[self.rows[problem_id]][self.column.column_names[0]]["bytes"]


def _media_bytes(doc: dict[str, Any]) -> bytes:
    return _media[config_of(doc)][doc["split"]].bytes_of(doc["problem_id"])


doc_to_text = multiply_prompt
doc_to_text_direct = direct_prompt
doc_to_text_perceive = perceive_prompt
doc_to_text_fingerprint = fingerprint_prompt
doc_to_text_probe = probe_context


def doc_to_image(doc: dict[str, Any]) -> list[Image.Image]:
    return [Image.open(io.BytesIO(_media_bytes(doc))).convert("RGB")]


def doc_to_audio(doc: dict[str, Any]) -> list[dict[str, Any]]:
    samples, rate = decode_audio(_media_bytes(doc), "float32")
    return [{"array": samples, "sampling_rate": rate}]


def extract_final_integers(resps: list[list[str]], docs: list[dict[str, Any]]) -> list[list[str]]:
    """The `final-integer` filter: each response reduced to its final integer ('' when none)."""
    return [[_as_text(extract_answer(r)) for r in doc_resps] for doc_resps in resps]


def _as_text(answer: int | None) -> str:
    return "" if answer is None else str(answer)


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float | int | None]:
    answer = int(results[0]) if results[0] else None
    scores = score_answer(answer, int(doc["product"]))
    return scores | band_scores(scores["exact_match"], doc["C"], doc["digit_total"])


def mean_of_present(values: list[float | None]) -> float:
    """Mean over the items of one band (the others report None); NaN when the band is empty."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else math.nan


def extract_operand_pairs(resps: list[list[str]], docs: list[dict[str, Any]]) -> list[list[str]]:
    """The `numbers` filter: each response reduced to 'A,B' (an unread operand is left empty)."""
    return [[operands_text(extract_operands(r)) for r in doc_resps] for doc_resps in resps]


def process_results_perceive(doc: dict[str, Any], results: list[str]) -> dict[str, int]:
    return score_perception(parse_operands_text(results[0]), int(doc["a"]), int(doc["b"]))


def process_results_fingerprint(doc: dict[str, Any], results: list[str]) -> dict[str, float | int | None]:
    return score_trace(doc, results[0])


def doc_to_choice_probe(doc: dict[str, Any]) -> list[str]:
    return [prefix for _, prefix in PROBE_CHOICES]


def doc_to_target_probe(doc: dict[str, Any]) -> int:
    """The first prefix of the cost-model optimum (lm-eval needs a target; the metrics do not use it)."""
    return [h for h, _ in PROBE_CHOICES].index(doc["canonical_target_heuristic"])


def process_results_probe(doc: dict[str, Any], results: list[tuple]) -> dict[str, float | int | None]:
    """Per-byte metrics always; per-token ones too when the model reports token counts (mmmult's classes)."""
    return score_probe(doc, *split_results(results))


def doc_to_choice_steps(doc: dict[str, Any]) -> list[str]:
    return [step.text for _, step in step_choices(int(doc["a"]), int(doc["b"]))]


def doc_to_target_steps(doc: dict[str, Any]) -> int:
    """The correct first step of the first heuristic (lm-eval needs a target; the metrics do not use it)."""
    return 0


def process_results_steps(doc: dict[str, Any], results: list[tuple]) -> dict[str, float | int]:
    return score_steps(doc, split_results(results)[0])
