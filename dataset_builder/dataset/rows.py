"""Rows of the dataset: a problem rendered in one config's modality and representation."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from dataset_builder.configs import ConfigSpec
from dataset_builder.media.codec import AudioCodec
from dataset_builder.media.image import ImageRenderer
from dataset_builder.media.speech import TTSBackend, TTSInfo, with_pauses
from dataset_builder.media.tts import TTSSettings
from dataset_builder.stimulus import stimulus


@dataclass
class Renderers:
    """The media renderers of one build, created lazily so that worker processes build their own."""

    font_path: Path | None = None
    tts: TTSSettings = field(default_factory=TTSSettings)
    codec: AudioCodec = field(default_factory=AudioCodec)

    @cached_property
    def image(self) -> ImageRenderer:
        return ImageRenderer(self.font_path) if self.font_path else ImageRenderer.default()

    @cached_property
    def speech(self) -> TTSBackend:
        return self.tts.backend()

    @cached_property
    def speech_info(self) -> TTSInfo:
        return self.speech.info()

    def voice(self, spec: ConfigSpec) -> tuple[TTSBackend, TTSInfo]:
        """The engine that speaks a config's clips and what it records: the build's, with the config's word gap."""
        settings = self.tts.with_word_gap(spec.speech_word_gap)
        return (self.speech, self.speech_info) if settings == self.tts else _voice(settings)

    def __getstate__(self) -> dict[str, Any]:
        return {"font_path": self.font_path, "tts": self.tts, "codec": self.codec}


@cache
def _voice(settings: TTSSettings) -> tuple[TTSBackend, TTSInfo]:
    backend = settings.backend()
    return backend, backend.info()


def render_row(spec: ConfigSpec, item: dict[str, Any], renderers: Renderers) -> dict[str, Any]:
    """One dataset row: the item's fields (a problem's, or a probe item's) plus, for media configs,
    its stimulus and media."""
    row = dict(item)
    sentence = stimulus(row["a"], row["b"], spec.representation) if spec.representation else ""
    if spec.problem_set != "base":  # columns the extended set holds as strings (configs.EXTENDED_PROBLEM_TYPES)
        row |= {"a": str(row["a"]), "b": str(row["b"]), "product": str(row["product"]), "problem_set": spec.problem_set}
    if spec.modality is None or spec.representation is None:
        return row
    row |= {"representation": spec.representation, "modality": spec.modality, "stimulus": sentence}
    if spec.modality == "image":
        row["image"] = {"bytes": renderers.image.render(sentence), "path": f"{row['problem_id']}.png"}
    elif spec.modality == "audio":
        (speech, info), codec = renderers.voice(spec), renderers.codec
        row["audio"] = {
            "bytes": codec.encode(speech.synthesize(with_pauses(sentence) if spec.speech_pauses else sentence)),
            "path": f"{row['problem_id']}.{codec.extension}",
        }
        row |= {
            "tts_backend": info.backend,
            "tts_engine_version": info.engine_version,
            "tts_voice": info.voice,
            "tts_rate": info.rate,
            "tts_word_gap": info.word_gap,
            "audio_codec": codec.name,
            "audio_kbps": codec.bitrate,
        }
    return row
