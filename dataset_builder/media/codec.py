"""How a clip is stored: Opus in Ogg at a target bitrate (the default) or lossless 16-bit FLAC.

The encoders run without random or version-dependent header fields, so the same samples always
give the same file bytes. Why Opus at 16 kbit/s and complexity 1: README, "Speech backends".

PyAV is imported where it is used: every lm-eval task that decodes a clip imports this module,
and only a build encodes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import soundfile

from dataset_builder.configs import SAMPLING_RATE

CODECS = ("opus", "flac")
DEFAULT_CODEC, DEFAULT_KBPS = "opus", 16
OPUS_KBPS_RANGE = (6, 256)
OPUS_COMPLEXITY = 1
"""libopus's encoder complexity (0-10); higher costs several times the encoding time for speech."""


@dataclass(frozen=True)
class AudioCodec:
    """How a clip's samples are stored: Opus in Ogg at a target bitrate, or lossless 16-bit FLAC."""

    name: str = DEFAULT_CODEC
    kbps: int = DEFAULT_KBPS
    """Opus's target bitrate in kbit/s; FLAC has none."""

    def __post_init__(self) -> None:
        if self.name not in CODECS:
            raise ValueError(f"unknown audio codec {self.name!r}; choose from {', '.join(CODECS)}")
        low, high = OPUS_KBPS_RANGE
        if self.name == "opus" and not low <= self.kbps <= high:
            raise ValueError(f"the Opus bitrate must be {low} to {high} kbps, got {self.kbps}")

    @property
    def extension(self) -> str:
        return self.name

    @property
    def bitrate(self) -> int | None:
        """kbit/s for Opus, None for lossless FLAC."""
        return self.kbps if self.name == "opus" else None

    def describe(self) -> dict[str, Any]:
        """The codec as the manifest records it (the library versions are beside it)."""
        if self.name == "flac":
            return {"codec": "flac", "bits": 16}
        return {"codec": "opus", "kbps": self.kbps, "complexity": OPUS_COMPLEXITY}

    def encode(self, samples: np.ndarray) -> bytes:
        """16 kHz mono int16 samples as the bytes of one audio file."""
        if samples.size == 0:
            raise ValueError("an empty clip cannot be stored: the TTS engine returned no samples")
        buffer = io.BytesIO()
        if self.name == "flac":
            soundfile.write(buffer, samples, SAMPLING_RATE, format="FLAC", subtype="PCM_16")
            return buffer.getvalue()
        import av

        # bitexact: no random Ogg serial number and no version string, so equal clips are equal bytes.
        with av.open(buffer, "w", format="ogg", options={"fflags": "+bitexact"}) as container:
            stream = container.add_stream("libopus", rate=SAMPLING_RATE, layout="mono")
            stream.bit_rate = self.kbps * 1000
            stream.codec_context.options = {"application": "voip", "compression_level": str(OPUS_COMPLEXITY)}
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            # Without a pts the muxer's last granule position misses the pre-skip: the decoded clip
            # grows by 104 samples, or libsndfile refuses the file as malformed.
            frame.sample_rate, frame.time_base, frame.pts = SAMPLING_RATE, Fraction(1, SAMPLING_RATE), 0
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)
        return buffer.getvalue()


def decode_audio(data: bytes, dtype: str = "int16") -> tuple[np.ndarray, int]:
    """Opus or FLAC bytes back to samples (int16, or float32 in [-1, 1]) and their rate (no torch needed)."""
    samples, rate = soundfile.read(io.BytesIO(data), dtype=dtype)
    return samples, rate
