"""The readers' cache: a medium is read once per reader and settings, by every process of the user."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dataset_builder.media import readers
from dataset_builder.media.readers import READINGS_FILE, Transcriber, ocr
from dataset_builder.settings import CACHE_ENV

FAKE_TESSERACT = """#!/bin/sh
# Counts its readings in $TESSERACT_CALLS; reads every image as "12 x 34".
if [ "$1" = "--version" ]; then echo "tesseract ${FAKE_TESSERACT_VERSION:-9.9.9}"; exit 0; fi
cat >/dev/null
echo read >>"$TESSERACT_CALLS"
echo "12 x  34"
"""


@pytest.fixture
def tesseract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A counting fake tesseract first on PATH and a fresh cache folder; the file it counts its readings in."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    fake = bin_folder / "tesseract"
    fake.write_text(FAKE_TESSERACT)
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TESSERACT_CALLS", str(calls))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    readers.tesseract_identity.cache_clear()
    return calls


def calls(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_a_second_reading_of_the_same_bytes_does_not_call_the_reader(tesseract: Path) -> None:
    assert [ocr(b"png one"), ocr(b"png one")] == ["12 x 34", "12 x 34"]
    assert calls(tesseract) == 1
    ocr(b"png two")
    assert calls(tesseract) == 2


def test_another_version_of_the_reader_misses(tesseract: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ocr(b"png one")
    monkeypatch.setenv("FAKE_TESSERACT_VERSION", "10.0.0")
    readers.tesseract_identity.cache_clear()
    ocr(b"png one")
    assert calls(tesseract) == 2


def test_the_cache_lies_in_the_cache_folder(tesseract: Path, tmp_path: Path) -> None:
    ocr(b"png one")
    assert (tmp_path / "cache" / READINGS_FILE).is_file()


READ_IN_A_PROCESS = """
import sys
from dataset_builder.media.readers import ocr
for i in range(int(sys.argv[1]), int(sys.argv[2])):
    assert ocr(f"png {i}".encode()) == "12 x 34"
"""


def read_in_processes(ranges: list[tuple[int, int]]) -> None:
    """Reads `png i` for i in each range, each range in its own process, all at once."""
    processes = [
        subprocess.Popen([sys.executable, "-c", READ_IN_A_PROCESS, str(start), str(end)], stderr=subprocess.PIPE)
        for start, end in ranges
    ]
    for process in processes:
        _, errors = process.communicate(timeout=120)
        assert (process.returncode, errors.decode()) == (0, "")


def test_processes_share_the_cache(tesseract: Path) -> None:
    read_in_processes([(0, 1)])
    read_in_processes([(0, 1)])
    assert calls(tesseract) == 1


def test_concurrent_processes_keep_every_reading(tesseract: Path) -> None:
    read_in_processes([(0, 40), (40, 80)])
    read_in_processes([(0, 80)])
    assert calls(tesseract) == 80


def test_a_damaged_cache_is_said_once_and_reading_goes_on(
    tesseract: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = tmp_path / "cache" / READINGS_FILE
    damaged.parent.mkdir()
    damaged.write_bytes(b"this is not an SQLite file, it is damaged" * 100)
    with caplog.at_level(logging.WARNING, logger=readers.__name__):
        assert [ocr(b"png one"), ocr(b"png one")] == ["12 x 34", "12 x 34"]
    assert calls(tesseract) == 2
    assert [record.getMessage() for record in caplog.records] == [
        f"the reading cache {damaged} cannot be used (file is not a database); reading afresh without it"
    ]


class CountingModel:
    """A stand-in for faster-whisper's model: hears every clip as "twelve times thirty-four"; counts them."""

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, audio: np.ndarray, **options: object) -> tuple[list[object], None]:
        self.calls += 1
        return [type("Segment", (), {"text": " twelve times thirty-four "})()], None


def transcriber(model_folder: Path, model: CountingModel, beam_size: int = 5) -> Transcriber:
    reader = Transcriber(str(model_folder), beam_size=beam_size)
    reader.__dict__["model"] = model  # the cached_property, filled
    return reader


@pytest.fixture
def model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"weights")
    return folder


CLIP = np.arange(1600, dtype=np.int16)


def test_a_clip_is_heard_once(model_folder: Path) -> None:
    model = CountingModel()
    heard = [transcriber(model_folder, model).transcribe(CLIP, 16000) for _ in range(2)]
    assert (heard, model.calls) == (["twelve times thirty-four"] * 2, 1)


def test_another_beam_size_misses(model_folder: Path) -> None:
    model = CountingModel()
    transcriber(model_folder, model).transcribe(CLIP, 16000)
    transcriber(model_folder, model, beam_size=1).transcribe(CLIP, 16000)
    assert model.calls == 2


def test_a_changed_model_misses(model_folder: Path) -> None:
    model = CountingModel()
    transcriber(model_folder, model).transcribe(CLIP, 16000)
    (model_folder / "model.bin").write_bytes(b"other weights")
    transcriber(model_folder, model).transcribe(CLIP, 16000)
    assert model.calls == 2


def test_the_same_samples_at_another_rate_are_another_clip(model_folder: Path) -> None:
    model = CountingModel()
    reader = transcriber(model_folder, model)
    reader.transcribe(CLIP, 16000)
    reader.transcribe(CLIP, 8000)
    assert model.calls == 2
