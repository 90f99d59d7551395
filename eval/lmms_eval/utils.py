"""lmms-eval's view of the mmmult tasks: functions named after the YAML keys they serve; the prompts, the answer's
extraction and the scoring all come from the mmmult core (dataset_builder), as in eval/mmmult/utils.py.

lmms-eval loads this file once per `!function`, so it keeps no state. The medium reaches a chat model as a content
part of doc_to_messages: the image as a PIL image (lmms-eval sends it as PNG), the clip as a data URL of the dataset's
own Opus bytes (lmms-eval's OpenAI client sends it as is, as an audio_url part). doc_to_visual serves lmms-eval's
simple models the decoded image or clip. Each sample's `item` record names the problem and the sha256 of the prompt
and of the medium as stored in the dataset, which the board checks (mmmult/leaderboard/intake/lmms_log.py).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from collections.abc import Callable, Mapping
from importlib.metadata import version
from typing import Any

import datasets
from PIL import Image

from dataset_builder.answers import extract_answer, extract_operands
from dataset_builder.configs import CONFIGS, config_of
from dataset_builder.dataset.features import undecoded_media
from dataset_builder.media.codec import decode_audio
from dataset_builder.prompts import PLACEHOLDERS, direct_prompt, multiply_prompt, perceive_prompt
from dataset_builder.scoring import band_scores, score_answer, score_perception

AUDIO_MIME = "audio/ogg"
"""The dataset's clips are Opus in Ogg (dataset_builder/media/codec.py)."""
ITEM = "item"
"""The metric whose per-sample value names the problem and the digests of what was sent."""
HARNESS = f"lmms-eval {version('lmms-eval')}"
"""The harness and its release, which lmms-eval's own files do not record (its results name a git commit)."""


def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    """The split with its medium left as stored (PNG or Opus bytes): decoded on demand, digested as is."""
    column = next((name for name in ("image", "audio") if name in dataset.column_names), None)
    if column is None:
        return dataset
    config = config_of(dataset.remove_columns(column)[0])  # a row read without decoding its medium
    return dataset.cast_column(column, undecoded_media(CONFIGS[config]))


def medium(doc: Mapping[str, Any]) -> bytes | None:
    """The item's image or clip, the bytes of the dataset (None for text)."""
    column = CONFIGS[config_of(doc)].media_column
    return None if column is None else doc[column]["bytes"]


def _text(ask: Callable[[Mapping[str, Any]], str]) -> Callable[..., str]:
    """The core's prompt without the placeholder lm-eval's processors need: here the medium is a content part."""

    def doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: object = None) -> str:
        return ask(doc).removeprefix(PLACEHOLDERS[doc["modality"]])

    return doc_to_text


doc_to_text = _text(multiply_prompt)
doc_to_text_direct = _text(direct_prompt)
doc_to_text_perceive = _text(perceive_prompt)


def doc_to_visual(doc: Mapping[str, Any], lmms_eval_specific_kwargs: object = None) -> list[Any]:
    """The decoded medium for lmms-eval's simple models: a PIL image, or a clip as {array, sampling_rate}."""
    data = medium(doc)
    if data is None:
        return []
    if doc["modality"] == "image":
        return [Image.open(io.BytesIO(data)).convert("RGB")]
    samples, rate = decode_audio(data, "float32")
    return [{"array": samples, "sampling_rate": rate}]


def _part(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    data = medium(doc)
    if data is None:
        return []
    if doc["modality"] == "image":
        return [{"type": "image", "url": Image.open(io.BytesIO(data)).convert("RGB")}]
    return [{"type": "audio", "url": f"data:{AUDIO_MIME};base64,{base64.b64encode(data).decode()}"}]


def _messages(text: Callable[..., str]) -> Callable[..., list[dict[str, Any]]]:
    def doc_to_messages(doc: Mapping[str, Any], lmms_eval_specific_kwargs: object = None) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [*_part(doc), {"type": "text", "text": text(doc)}]}]

    return doc_to_messages


doc_to_messages = _messages(doc_to_text)
doc_to_messages_direct = _messages(doc_to_text_direct)
doc_to_messages_perceive = _messages(doc_to_text_perceive)


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def item(doc: Mapping[str, Any], prompt: str) -> dict[str, Any]:
    """What the board checks a sample against: the problem as asked, and the digests of the prompt and medium."""
    data = medium(doc)
    return {
        "harness": HARNESS,
        "problem_id": doc["problem_id"],
        **{key: doc[key] for key in ("a", "b", "product", "modality", "representation", "stimulus")},
        "prompt_sha256": sha256(prompt),
        "media_sha256": None if data is None else sha256(data),
    }


def _multiply(text: Callable[..., str]) -> Callable[..., dict[str, Any]]:
    def process_results(doc: Mapping[str, Any], results: list[str]) -> dict[str, Any]:
        scores = score_answer(extract_answer(results[0]), int(doc["product"]))
        return scores | band_scores(scores["exact_match"], doc["C"], doc["digit_total"]) | {ITEM: item(doc, text(doc))}

    return process_results


process_results = _multiply(doc_to_text)
process_results_direct = _multiply(doc_to_text_direct)


def process_results_perceive(doc: Mapping[str, Any], results: list[str]) -> dict[str, Any]:
    read = extract_operands(results[0])
    return score_perception(read, int(doc["a"]), int(doc["b"])) | {ITEM: item(doc, doc_to_text_perceive(doc))}


def mean_of_present(values: list[float | None]) -> float:
    """Mean over the items of one band (the others report None); NaN when the band is empty."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else math.nan


def count(values: list[Any]) -> int:
    """The `item` metric's aggregate: how many items were answered."""
    return len(values)
