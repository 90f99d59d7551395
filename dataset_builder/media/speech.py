"""The stimulus spoken: TTS backends behind one interface, resampled to 16 kHz mono int16.

Resampling is a fixed polyphase filter in float64 followed by rounding, with no dither, so the
same engine output always gives the same samples. Why the default voice, rate and word gap:
README, "Speech backends".

scipy is imported where it is used: the readers import this module for resampling, and scipy
costs about a second of start-up.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from dataset_builder.configs import SAMPLING_RATE
from dataset_builder.errors import UserError
from dataset_builder.numbers import ONES, SCALES


class TTSUnavailable(UserError):
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


DEFAULT_VOICE, DEFAULT_RATE, DEFAULT_WORD_GAP = "en-us", 160, 5
"""espeak-ng's voice, words per minute and pause between words (units of 10 ms) unless a build says otherwise."""

SPOKEN_SCALES = frozenset(word for word in SCALES if word)
DIGIT_NAMES = frozenset(ONES[:10])


def with_pauses(sentence: str) -> str:
    """The sentence as a build that pauses between number groups speaks it: a comma after every scale word and
    after every third digit named from the operand's end, and before "times" (a TTS engine pauses at a comma).

    The extended set's audio configs speak this way (configs.ConfigSpec.speech_pauses): a reader can then cut
    a long clip at the pauses (readers.chunk_bounds) rather than inside a group, and hears a run of zeros as
    groups of three.

    >>> with_pauses("What is five septillion six hundred four thousand twelve times nine hundred?")
    'What is five septillion, six hundred four thousand, twelve, times nine hundred?'
    >>> with_pauses("What is one zero zero zero zero times four seven?")
    'What is one zero, zero zero zero, times four seven?'
    """
    match = re.fullmatch(r"(What is )(.+) times (.+)(\?)", sentence)
    if match is None:
        raise ValueError(f"not a stimulus sentence: {sentence!r}")
    opening, a, b, end = match.groups()
    return f"{opening}{_grouped(a)}, times {_grouped(b)}{end}"


def _grouped(operand: str) -> str:
    words = operand.split()
    if all(word in DIGIT_NAMES for word in words):
        head = len(words) % 3 or 3
        groups = [words[:head]] + [words[i : i + 3] for i in range(head, len(words), 3)]
        return ", ".join(" ".join(group) for group in groups)
    return " ".join(
        f"{word}," if word in SPOKEN_SCALES and i < len(words) - 1 else word for i, word in enumerate(words)
    )


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
