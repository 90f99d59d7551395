"""Shared fixtures: a small build made once per session, and an offline Hugging Face stack."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# load_dataset keys its Arrow cache of a local folder on the card's metadata (sizes, file patterns),
# not on the files: a rebuild whose bytes differ but whose sizes do not would read an earlier run's rows.
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="mmmult-tests-datasets-")

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from dataset_builder.build.pipeline import BuildOptions, build
from dataset_builder.leaderboard.ingest import load_reference
from dataset_builder.problems import Bounds

atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], ignore_errors=True)

if importlib.util.find_spec("espnet2") is None:
    collect_ignore = ["test_espnet.py"]  # run in .venv-espnet instead (./run test does), not counted as skipped here

RUN_TASKS = "mmmult_text_numerals,mmmult_text_words,mmmult_perceive_text_numerals"
"""The tasks of the reference run that the Space's tests submit."""

SMALL = BuildOptions(bounds=Bounds(max_digits=4, limit=40), num_proc=1)
"""40 problems with operands of up to 4 digits, every config: a build of a few seconds."""


@pytest.fixture(scope="session")
def small_options() -> BuildOptions:
    return SMALL


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("builds") / "small", SMALL)


@pytest.fixture(scope="session")
def run_files(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    """The files of a complete lm-eval run of the reference system on the small build."""
    out = tmp_path_factory.mktemp("run")
    command = [sys.executable, "-m", "dataset_builder.cli", "eval", "--model", "mmmult-reference", "--tasks", RUN_TASKS]
    command += ["--log_samples", "--output_path", str(out)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "MMMULT_DATA": str(small_build)}, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [(p.name, p.read_bytes()) for p in sorted(out.rglob("*.json*"))]


@pytest.fixture(scope="session")
def run_tasks() -> list[str]:
    return RUN_TASKS.split(",")


@pytest.fixture(scope="session")
def reference(small_build: Path) -> dict:
    return load_reference(small_build)
