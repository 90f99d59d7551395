"""Shared fixtures: a small build made once per session, and an offline Hugging Face stack."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from dataset_builder.build import BuildOptions, build  # noqa: E402
from dataset_builder.problems import Bounds  # noqa: E402

SMALL = BuildOptions(bounds=Bounds(max_digits=4, limit=40), num_proc=1)
"""40 problems with operands of up to 4 digits, every config: a build of a few seconds."""


@pytest.fixture(scope="session")
def small_options() -> BuildOptions:
    return SMALL


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("builds") / "small", SMALL)
