"""`mmmult-reference`: an lm-eval model that reads the problem and answers with the exact product.

It measures perception alone (the arithmetic is Python's), so its accuracy on a config is the
share of stimuli that its reader gets exactly right; 100% on text proves the task wiring. Text is
parsed from the prompt, images are read with tesseract, audio with faster-whisper (the `asr`
extra; model_args `asr_model=PATH` picks another faster-whisper model folder).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from tqdm.auto import tqdm

from ..media.readers import PerceptionUnavailable, Transcriber, read_audio, read_image
from ..stimulus import parse_stimulus
from . import REFERENCE_MODEL

NAME = REFERENCE_MODEL
NO_ANSWER = "I could not read the problem."


class ReferenceCannotRead(RuntimeError):
    """The reference system has no reader for this channel; the message says what to run instead."""


@register_model(NAME)
class ReferenceLM(LM):
    """Reads the operands from the request's text, image or audio; multiplies them exactly.

    Its answer carries both the transcription ("Numbers: a, b") and the product, so it serves the
    perception tasks and the multiplication tasks alike.
    """

    MULTIMODAL = True

    def __init__(self, asr_model: str | None = None, **_: object) -> None:
        super().__init__()
        self.transcriber = Transcriber(asr_model)
        self._heard: dict[bytes, tuple[int, int]] = {}
        """What each medium read as, by its digest: the perception and multiplication tasks share media."""

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        return [self.answer(request) for request in tqdm(requests, disable=disable_tqdm, desc=NAME)]

    def answer(self, request: Instance) -> str:
        context, *rest = request.args
        media = rest[1] if len(rest) > 1 else {}
        try:
            if media.get("audio"):
                clip = media["audio"][0]
                key = hashlib.sha256(np.ascontiguousarray(clip["array"]).tobytes()).digest()
                a, b = self._read(key, lambda: read_audio(clip["array"], clip["sampling_rate"], self.transcriber))
            elif media.get("visual"):
                image = media["visual"][0]
                key = hashlib.sha256(f"{image.mode}{image.size}".encode() + image.tobytes()).digest()
                a, b = self._read(key, lambda: read_image(image))
            else:
                a, b = parse_stimulus(context)
        except PerceptionUnavailable as error:
            raise ReferenceCannotRead(f"{NAME} cannot read this task's input: {error}") from None
        except ValueError:
            return NO_ANSWER
        return f"Numbers: {a}, {b}\n{a} x {b} = {a * b}\nFinal Answer: {a * b}"

    def _read(self, key: bytes, reader: Callable[[], tuple[int, int]]) -> tuple[int, int]:
        if key not in self._heard:
            self._heard[key] = reader()
        return self._heard[key]

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        raise NotImplementedError(f"{NAME} only answers generate_until tasks such as mmmult")

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        raise NotImplementedError(f"{NAME} only answers generate_until tasks such as mmmult")
