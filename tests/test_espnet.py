"""The ESPnet backend's plumbing, with a tiny randomly initialised VITS built from a config.

Runs where the espnet extra is installed (`scripts/install-espnet`; CI does); skipped elsewhere.
No pretrained ESPnet model can be downloaded here, so this proves the wiring, not speech quality.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml

pytest.importorskip("espnet2.bin.tts_inference", reason="needs the espnet extra: scripts/install-espnet")
pytestmark = pytest.mark.espnet

from dataset_builder.configs import SAMPLING_RATE  # noqa: E402
from dataset_builder.dataset.pipeline import BuildOptions, build  # noqa: E402
from dataset_builder.media.codec import AudioCodec, decode_audio  # noqa: E402
from dataset_builder.media.espnet import EspnetTTS  # noqa: E402
from dataset_builder.media.tts import TTSSettings  # noqa: E402
from dataset_builder.problems import Bounds  # noqa: E402

CONFIG = Path(__file__).parent / "data" / "tiny_vits.yaml"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    import torch
    from espnet2.tasks.tts import TTSTask

    folder = tmp_path_factory.mktemp("vits")
    args = argparse.Namespace(**yaml.safe_load(CONFIG.read_text()))
    torch.manual_seed(0)
    model = TTSTask.build_model(args)
    torch.save(model.state_dict(), folder / "model.pth")
    return str(CONFIG), str(folder / "model.pth")


def test_synthesis_is_16khz_int16_and_seeded(tiny_model: tuple[str, str]) -> None:
    tts = EspnetTTS(train_config=tiny_model[0], model_file=tiny_model[1])
    clip = tts.synthesize("What is seven times eight?")
    assert clip.dtype == np.int16 and clip.ndim == 1 and len(clip) > 0
    assert np.array_equal(clip, tts.synthesize("What is seven times eight?"))
    fresh = EspnetTTS(train_config=tiny_model[0], model_file=tiny_model[1])
    assert np.array_equal(clip, fresh.synthesize("What is seven times eight?"))
    samples, rate = decode_audio(AudioCodec("flac").encode(clip))
    assert rate == SAMPLING_RATE and np.array_equal(samples, clip)
    info = tts.info()
    assert (info.backend, info.voice) == ("espnet", "model.pth")


def test_build_with_the_espnet_backend(tiny_model: tuple[str, str], tmp_path: Path) -> None:
    tts = TTSSettings(backend_name="espnet", espnet_train_config=tiny_model[0], espnet_model_file=tiny_model[1])
    out = build(
        tmp_path / "data", BuildOptions(configs=("audio-words",), bounds=Bounds(max_digits=2, limit=4), tts=tts)
    )
    rows = datasets.load_dataset(str(out), "audio-words", split="train").cast_column(
        "audio", datasets.Audio(decode=False)
    )
    assert set(rows["tts_backend"]) == {"espnet"}
    assert all(decode_audio(r["bytes"])[1] == SAMPLING_RATE for r in rows["audio"])
