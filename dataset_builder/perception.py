"""Reading a problem back from its stimulus: from text directly, from an image with tesseract OCR."""

from __future__ import annotations

import io
import shutil
import subprocess

from PIL import Image

from .stimulus import parse_stimulus

TESSERACT_HINT = "install it with `sudo apt-get install tesseract-ocr` (Debian/Ubuntu)"


class PerceptionUnavailable(RuntimeError):
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
