"""The stimulus spoken: TTS backends behind one interface, resampled to 16 kHz mono, stored as Opus or FLAC.

Resampling is a fixed polyphase filter in float64 followed by rounding, with no dither, and the
encoders run without random or version-dependent header fields, so the same engine output always
gives the same samples and the same file bytes.

scipy and PyAV are imported where they are used: every `mmmult` command and every lm-eval task
that decodes a clip imports this module, and the two cost about a second of start-up.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import soundfile

from ..schema import SAMPLING_RATE


class TTSUnavailable(RuntimeError):
    """A TTS backend cannot run on this machine; the message says how to fix that."""


@dataclass(frozen=True)
class TTSInfo:
    """What produced a clip; recorded on every audio row and in the manifest."""

    backend: str
    engine_version: str
    voice: str
    rate: int
    word_gap: int


class TTSBackend(Protocol):
    """Anything that turns a sentence into 16 kHz mono int16 samples."""

    def info(self) -> TTSInfo: ...

    def synthesize(self, sentence: str) -> np.ndarray: ...


@lru_cache(maxsize=8)
def _filter(up: int, down: int) -> np.ndarray:
    """The anti-aliasing filter scipy's resample_poly would design, built once per rate pair."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    half_length = 10 * max_rate
    return firwin(2 * half_length + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def to_16k_int16(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample mono audio in [-1, 1] float or int16 to 16 kHz int16, deterministically."""
    x = samples.astype(np.float64)
    if samples.dtype == np.int16:
        x /= 32768.0
    if rate != SAMPLING_RATE:
        from scipy.signal import resample_poly

        g = math.gcd(SAMPLING_RATE, rate)
        up, down = SAMPLING_RATE // g, rate // g
        x = resample_poly(x, up, down, window=_filter(up, down))
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


CODECS = ("opus", "flac")
DEFAULT_CODEC, DEFAULT_KBPS = "opus", 16
"""How clips are stored unless a build says otherwise. Lossless 16-bit FLAC of the default set is
2.5 GB (about 121 KiB per ~7 s clip); Opus at 16 kbps is a tenth of that. Whisper tiny.en reads
300 clips of each config back about as well as from FLAC (words 98.7% vs 96.0%, digits 53.7% vs
57.7%) and no better at 24 kbps, but much worse at 12 kbps, where libopus narrows the band (87.3%,
35.0%): benchmarks/perception.py --codecs flac opus:12 opus:14 opus:16 opus:24."""

OPUS_KBPS_RANGE = (6, 256)
OPUS_COMPLEXITY = 1
"""libopus's encoder complexity (0-10): 1 encodes a second of speech in about 3 ms here, 10 in
about 10 ms, which would put the full build past ten minutes on two cores."""


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


DEFAULT_VOICE, DEFAULT_RATE, DEFAULT_WORD_GAP = "en-us", 160, 5
"""espeak-ng's voice, words per minute and pause between words (units of 10 ms) unless a build says
otherwise: of six settings, the one Whisper tiny.en read back best (benchmarks/perception.py, 500
clips each: words 95.8%, digits 57.6%; en-us at 130 wpm with espeak-ng's own gap, 92.2% and 46.8%)."""

ESPEAK_INSTALL_HINT = "install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu)"


@dataclass(frozen=True)
class EspeakNG:
    """The espeak-ng command-line synthesiser, run as a subprocess (it is GPL; we never link it)."""

    voice: str = DEFAULT_VOICE
    rate: int = DEFAULT_RATE
    word_gap: int = DEFAULT_WORD_GAP
    executable: str = "espeak-ng"

    def _path(self) -> str:
        path = shutil.which(self.executable)
        if path is None:
            raise TTSUnavailable(f"espeak-ng is not installed: {ESPEAK_INSTALL_HINT}")
        return path

    def info(self) -> TTSInfo:
        out = subprocess.run([self._path(), "--version"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"text-to-speech:\s*(\S+)", out)
        return TTSInfo("espeak-ng", match.group(1) if match else out.strip(), self.voice, self.rate, self.word_gap)

    def synthesize(self, sentence: str) -> np.ndarray:
        command = [self._path(), "-v", self.voice, "-s", str(self.rate), "-g", str(self.word_gap), "--stdout", sentence]
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0 or not result.stdout.startswith(b"RIFF"):
            error = result.stderr.decode(errors="replace").strip()
            raise TTSUnavailable(f"espeak-ng failed on {sentence!r} (voice {self.voice}): {error}")
        rate, pcm = _parse_wav(result.stdout)
        return to_16k_int16(pcm, rate)


def _parse_wav(data: bytes) -> tuple[int, np.ndarray]:
    """Rate and int16 samples of a mono 16-bit WAV stream whose size fields may be placeholders."""
    rate = int.from_bytes(data[24:28], "little")
    start = data.index(b"data", 12) + 8
    return rate, np.frombuffer(data[start : len(data) - (len(data) - start) % 2], dtype="<i2")
