"""The `mmmult` command as a user runs it: clear errors, exit status 2, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import datasets
import pytest
from commands import assert_user_error, mmmult

from dataset_builder.build.push import upload_plan
from dataset_builder.media.codec import decode_audio


def test_build_then_list_the_upload(tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = mmmult(
        "build", "--out", str(out), "--configs", "text-numerals,problems", "--max-digits", "2", "--limit", "9"
    )
    assert result.returncode == 0, result.stderr
    assert "configs: 100%" in result.stderr  # the progress bar
    listed = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(out), "--dry-run")
    assert listed.stdout.split() == upload_plan(out)
    assert listed.stdout.split()[:2] == ["README.md", "manifest.json"]
    assert "text-numerals/test-00000-of-00001.parquet" in listed.stdout.split()


def test_missing_espeak_is_explained(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    result = mmmult(
        "build", "--out", str(tmp_path / "d"), "--configs", "audio-words", "--limit", "2", env={"PATH": str(bare)}
    )
    assert_user_error(result, "espeak-ng is not installed: install it with `sudo apt-get install espeak-ng`")


def test_csv_row_with_a_non_integer(tmp_path: Path) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("a,b\n12,34\n5,6.5\n")
    result = mmmult("build", "--out", str(tmp_path / "d"), "--from-csv", str(grid))
    assert_user_error(result, f"{grid}, line 3: column b must be a positive integer, got '6.5'")


def test_csv_row_with_an_operand_above_nine_digits(tmp_path: Path) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("a,b\n1234567890,2\n")
    result = mmmult("build", "--out", str(tmp_path / "d"), "--from-csv", str(grid))
    assert_user_error(result, f"{grid}, line 2: column a is 1234567890, outside 1 to 999999999")


def test_output_folder_that_holds_something_else(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("keep me")
    result = mmmult("build", "--out", str(tmp_path), "--configs", "problems")
    assert_user_error(result, "holds other files and is not an mmmult build")
    assert (tmp_path / "thesis.tex").read_text() == "keep me"


def test_unknown_config(tmp_path: Path) -> None:
    result = mmmult("build", "--out", str(tmp_path / "d"), "--configs", "text-numerals,video-words")
    assert_user_error(result, "unknown config(s) video-words; choose from text-numerals, text-words")


def test_push_of_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    result = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(tmp_path))
    assert_user_error(result, "is not a complete mmmult build")


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("push") / "data"
    assert mmmult("build", "--out", str(out), "--configs", "problems", "--limit", "3").returncode == 0
    return out


def test_push_offline_fails_fast(tiny_build: Path) -> None:
    started = time.monotonic()
    result = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(tiny_build), env={"HF_TOKEN": "hf_test"})
    assert_user_error(result, "HF_HUB_OFFLINE is set")
    assert time.monotonic() - started < 30


def test_push_without_network_fails_with_the_cause(tiny_build: Path) -> None:
    env = {"HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_test", "HF_ENDPOINT": "http://127.0.0.1:9"}
    result = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(tiny_build), env=env)
    assert_user_error(result, "upload to someone/mmmult failed")


def test_push_needs_a_token_and_a_valid_repo_id(tiny_build: Path) -> None:
    no_token = {"HF_HUB_OFFLINE": "0", "HF_TOKEN": ""}
    assert_user_error(
        mmmult("push", "--repo-id", "a/b", "--dir", str(tiny_build), env=no_token), "no Hugging Face token"
    )
    assert_user_error(mmmult("push", "--repo-id", "nobody", "--dir", str(tiny_build), env=no_token), "needs an owner")


def test_space_without_a_build_says_how_to_make_one(tmp_path: Path) -> None:
    result = mmmult("space", "--data", str(tmp_path / "none"), "--db", str(tmp_path / "board.sqlite"))
    assert_user_error(result, "no problems/test-*.parquet in")
    assert "mmmult build --out" in result.stderr


def test_space_with_an_unreadable_persistence_repo_stops_with_the_reason(small_build: Path, tmp_path: Path) -> None:
    env = {"MMMULT_SPACE_REPO": "me/board", "HF_HUB_OFFLINE": "1"}
    result = mmmult("space", "--data", str(small_build), "--db", str(tmp_path / "board.sqlite"), env=env)
    assert_user_error(result, "could not restore the board from the dataset repo me/board")
    assert not (tmp_path / "board.sqlite").exists()


def test_audio_bitrate_outside_what_opus_accepts(tmp_path: Path) -> None:
    result = mmmult("build", "--out", str(tmp_path / "d"), "--audio-kbps", "3")
    assert_user_error(result, "argument --audio-kbps: the Opus bitrate must be 6 to 256 kbps, got 3")
    result = mmmult("build", "--out", str(tmp_path / "d"), "--audio-kbps", "fourteen")
    assert_user_error(result, "argument --audio-kbps: not an integer: 'fourteen'")


def test_a_bitrate_for_lossless_flac_is_refused(tmp_path: Path) -> None:
    result = mmmult("build", "--out", str(tmp_path / "d"), "--audio-codec", "flac", "--audio-kbps", "14")
    assert_user_error(result, "--audio-kbps sets the Opus bitrate; FLAC is lossless and has none")
    assert not (tmp_path / "d").exists()


def test_flac_build_stores_lossless_clips(tmp_path: Path) -> None:
    out = tmp_path / "d"
    result = mmmult("build", "--out", str(out), "--configs", "audio-digits", "--max-digits", "1", "--limit", "3")
    assert result.returncode == 0, result.stderr
    flac = mmmult(
        "build",
        "--out",
        str(tmp_path / "f"),
        "--configs",
        "audio-digits",
        "--max-digits",
        "1",
        "--limit",
        "3",
        "--audio-codec",
        "flac",
    )
    assert flac.returncode == 0, flac.stderr
    opus_rows, flac_rows = (
        datasets.load_dataset(str(folder), "audio-digits", split="train").cast_column(
            "audio", datasets.Audio(decode=False)
        )
        for folder in (out, tmp_path / "f")
    )
    assert set(flac_rows["audio_codec"]) == {"flac"} and set(flac_rows["audio_kbps"]) == {None}
    assert set(opus_rows["audio_codec"]) == {"opus"}
    assert "stored as lossless 16-bit FLAC." in (tmp_path / "f" / "README.md").read_text()
    for o, f in zip(opus_rows["audio"], flac_rows["audio"], strict=True):
        assert f["bytes"][:4] == b"fLaC" and o["bytes"][:4] == b"OggS"
        assert len(decode_audio(o["bytes"])[0]) == len(decode_audio(f["bytes"])[0])
        assert len(o["bytes"]) < len(f["bytes"]) / 3
