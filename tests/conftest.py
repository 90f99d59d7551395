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
# The readings cache (OCR and ASR results by medium digest) of the tests' own, so no run reads a user's cache.
os.environ["MMMULT_CACHE"] = tempfile.mkdtemp(prefix="mmmult-tests-cache-")
# No board a test starts stores the repository's published runs (results/), which its small builds cannot check.
os.environ["MMMULT_RESULTS"] = os.path.join(os.environ["MMMULT_CACHE"], "no-published-runs")

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dataset_builder.dataset.pipeline import BuildOptions, build, load_problems
from dataset_builder.problems import Bounds

if TYPE_CHECKING:
    # The board's fixtures import them when used: the ESPnet venv runs its tests without the space extra.
    from mmmult.leaderboard.intake.benchmark import Benchmark
    from mmmult.leaderboard.storage.store import Store

atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], ignore_errors=True)
atexit.register(shutil.rmtree, os.environ["MMMULT_CACHE"], ignore_errors=True)

if importlib.util.find_spec("espnet2") is None:
    collect_ignore = ["test_espnet.py"]  # run in .venv-espnet instead (./run test does), not counted as skipped here

RUN_TASKS = ("mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_numerals")
"""The tasks of the reference run that the Space's tests submit."""


class Clock:
    """A clock for the queues that moves only when told to: lease tests wait by moving it, not by sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def small_options() -> BuildOptions:
    """40 problems with operands of up to 4 digits, every config: a build of a few seconds."""
    return BuildOptions(bounds=Bounds(max_digits=4, limit=40), num_proc=1)


@pytest.fixture(scope="session")
def small_build(small_options: BuildOptions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("builds") / "small", small_options)


@pytest.fixture(scope="session")
def reference_run(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one lm-eval run of the reference system on every task of the small build, both regimes.

    The build is named by --metadata while MMMULT_DATA points nowhere: the metadata must win.
    """
    out = tmp_path_factory.mktemp("reference-run")
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-reference"]
    command += ["--tasks", "mmmult,mmmult_perceive,mmmult_direct", "--metadata", json.dumps({"data": str(small_build)})]
    command += ["--log_samples", "--output_path", str(out)]
    env = {**os.environ, "MMMULT_DATA": str(out / "no-such-build")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def run_files(reference: Benchmark) -> list[tuple[str, bytes]]:
    """A complete run of RUN_TASKS by a model that is always right, in the files lm-eval writes.

    Simulated in-process (tests/test_eval.py checks the simulation against a real lm-eval run), so
    the board's tests need neither lm-eval nor a media build.
    """
    from tests.simulate import lm_eval_files, right

    return lm_eval_files(reference, RUN_TASKS, right, "mmmult-reference")


@pytest.fixture(scope="session")
def run_tasks() -> list[str]:
    return list(RUN_TASKS)


@pytest.fixture(scope="session")
def reference(small_options: BuildOptions) -> Benchmark:
    """The test problems of the small build, drawn in-process (no media): what the board checks against."""
    from mmmult.leaderboard.intake.benchmark import Benchmark

    return Benchmark({p.problem_id: p.as_dict() for p in load_problems(small_options) if p.split == "test"})


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh, empty board store in the test's own folder."""
    from mmmult.leaderboard.storage.store import Store

    return Store(tmp_path / "board.sqlite")


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised GPT-2 with a word-level tokenizer trained on the prompts (tests/models.py)."""
    pytest.importorskip("torch")
    from tests.models import tiny_lm

    return tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_lm_run(small_build: Path, tiny_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One lm-eval `hf` run of the tiny GPT-2: the text tasks and the probe's text tasks, 4 items each."""
    out = tmp_path_factory.mktemp("tiny-lm-run")
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "hf", "--model_args"]
    command += [f"pretrained={tiny_lm}", "--tasks", "mmmult_text,mmmult_probe_text,mmmult_steps_text", "--limit", "4"]
    command += ["--gen_kwargs", "max_gen_toks=8", "--metadata", json.dumps({"data": str(small_build)})]
    command += ["--log_samples", "--output_path", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised LLaVA (CLIP vision tower, Llama text model) with a processor made here."""
    pytest.importorskip("torch")
    from tests.models import tiny_vlm

    return tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"))


@pytest.fixture(scope="session")
def tiny_audio_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised Qwen2-Audio (Whisper-style encoder, Qwen2 text model) with a processor made here."""
    pytest.importorskip("torch")
    from tests.models import tiny_audio_lm

    return tiny_audio_lm(tmp_path_factory.mktemp("tiny-audio-lm"))


PROBE_RUN_TASKS = "mmmult_probe_text,mmmult_probe_image,mmmult_steps_text,mmmult_hds_text,mmmult_traps_text"
"""The probe's text tasks and its image loss probe, which the reference system answers as a cost-model oracle."""


@pytest.fixture(scope="session")
def probe_run(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one lm-eval run of the reference system on PROBE_RUN_TASKS."""
    out = tmp_path_factory.mktemp("probe-run")
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-reference", "--tasks"]
    command += [PROBE_RUN_TASKS, "--metadata", json.dumps({"data": str(small_build)})]
    command += ["--log_samples", "--output_path", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return out
