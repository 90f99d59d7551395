"""ESPnet's `Text2Speech` as a TTS backend (optional extra: `pip install -e '.[espnet]'`).

No pretrained ESPnet model ships with the project: the user names one, either a model tag
(fetched by espnet_model_zoo, which needs network access) or a local `train_config` plus
`model_file`. Output is resampled to 16 kHz mono like the default backend. Generation is seeded
per sentence, so stochastic models (VITS) give the same audio for the same sentence.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dataset_builder.media.speech import TTSInfo, TTSUnavailable, to_16k_int16

if TYPE_CHECKING:
    from espnet2.bin.tts_inference import Text2Speech

INSTALL_HINT = "install the extra with `pip install -e '.[espnet]'`"


@dataclass(frozen=True)
class EspnetTTS:
    """A user-supplied ESPnet TTS model, loaded once per process on the CPU."""

    model_tag: str | None = None
    train_config: str | None = None
    model_file: str | None = None

    def __post_init__(self) -> None:
        if self.model_tag is None and (self.train_config is None or self.model_file is None):
            raise TTSUnavailable(
                "the ESPnet backend needs a model: --espnet-model-tag, "
                "or --espnet-train-config with --espnet-model-file"
            )
        for path in (self.train_config, self.model_file):
            if path is not None and not Path(path).is_file():
                raise TTSUnavailable(f"ESPnet model file {path} does not exist")

    @cached_property
    def engine(self) -> Text2Speech:
        try:
            from espnet2.bin.tts_inference import Text2Speech
        except ImportError as error:
            raise TTSUnavailable(f"ESPnet is not installed ({error}): {INSTALL_HINT}") from None
        if self.model_tag is not None:
            return Text2Speech.from_pretrained(model_tag=self.model_tag, device="cpu")
        return Text2Speech(train_config=self.train_config, model_file=self.model_file, device="cpu")

    def info(self) -> TTSInfo:
        import espnet

        voice = self.model_tag or Path(str(self.model_file)).name
        return TTSInfo("espnet", espnet.__version__, voice, 0, 0)

    def synthesize(self, sentence: str) -> np.ndarray:
        import torch

        engine = self.engine  # loading draws random numbers: load first, then seed
        torch.manual_seed(zlib.crc32(sentence.encode()))
        with torch.no_grad():
            wav = engine(sentence)["wav"]
        return to_16k_int16(wav.view(-1).cpu().numpy(), int(engine.fs))
