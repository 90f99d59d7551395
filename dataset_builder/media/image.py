"""The stimulus drawn as a PNG: black text on white in a pinned font, wrapped to a maximum width.

The same sentence, font file and library versions always give the same bytes: Pillow writes no
timestamp into PNGs and nothing here depends on the machine beyond the font file, whose sha256
the manifest records.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from dataset_builder.errors import UserError

FONT_NAME = "DejaVu Sans"
FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
FONT_SIZE = 32
MAX_WIDTH = 1024
MARGIN = 16
LINE_SPACING = 12


class FontNotFound(UserError):
    """The pinned font is not installed."""


def find_font() -> Path:
    """Path of DejaVu Sans: a known Debian path first, then fontconfig's match."""
    for candidate in FONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", f"{FONT_NAME}:style=Book"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found.endswith("DejaVuSans.ttf") and Path(found).is_file():
            return Path(found)
    raise FontNotFound(
        f"the font {FONT_NAME} is not installed: on Debian/Ubuntu run `sudo apt-get install fonts-dejavu-core`"
    )


@dataclass(frozen=True)
class ImageRenderer:
    """Draws sentences with one font file at one size."""

    font_path: Path
    size: int = FONT_SIZE
    max_width: int = MAX_WIDTH

    @classmethod
    def default(cls) -> ImageRenderer:
        return cls(find_font())

    @cached_property
    def font(self) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(self.font_path), self.size)

    @cached_property
    def font_sha256(self) -> str:
        return hashlib.sha256(self.font_path.read_bytes()).hexdigest()

    def describe(self) -> dict[str, str | int]:
        return {
            "font": FONT_NAME,
            "font_file": self.font_path.name,
            "font_sha256": self.font_sha256,
            "font_size": self.size,
            "max_width": self.max_width,
        }

    def wrap(self, sentence: str) -> list[str]:
        """Greedy word wrap so that no line is wider than max_width minus the margins."""
        room = self.max_width - 2 * MARGIN
        lines: list[str] = []
        for word in sentence.split():
            candidate = f"{lines[-1]} {word}" if lines else word
            if lines and self.font.getlength(candidate) <= room:
                lines[-1] = candidate
            else:
                lines.append(word)
        return lines

    def render(self, sentence: str) -> bytes:
        """PNG bytes of the sentence (8-bit grayscale)."""
        lines = self.wrap(sentence)
        ascent, descent = self.font.getmetrics()
        line_height = ascent + descent
        width = max(int(self.font.getlength(line) + 0.999) for line in lines) + 2 * MARGIN
        height = len(lines) * line_height + (len(lines) - 1) * LINE_SPACING + 2 * MARGIN
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text((MARGIN, MARGIN + i * (line_height + LINE_SPACING)), line, font=self.font, fill=0)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
