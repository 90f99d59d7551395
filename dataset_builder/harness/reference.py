"""`mmmult-reference`: an lm-eval model that reads the problem and answers with the exact product.

It measures perception alone (the arithmetic is Python's), so its accuracy on a config is the
share of stimuli that its reader gets exactly right; 100% on text proves the task wiring. Text is
parsed from the prompt, images are read with tesseract, audio with faster-whisper (the `asr`
extra; model_args `asr_model=PATH` picks another faster-whisper model folder).

For the heuristic probe it is a cost-model oracle: the loss it gives a heuristic's prefix is that
heuristic's cost for the item it read (the neutral prefix: the mean of the three), so its preferred
heuristic is always the cost-model optimum, and detection on the HDS is 100% by construction; a
correct first step costs 1 per byte and a wrong one 2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from tqdm.auto import tqdm

from ..media.readers import PerceptionUnavailable, Transcriber, read_audio, read_image
from ..probe.costs import HEURISTICS, costs
from ..probe.scores import NEUTRAL, PROBE_CHOICES, step_choices
from ..stimulus import parse_stimulus
from ..tasks import REFERENCE_MODEL

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
    NAME = NAME
    """The name it is registered under, which its progress bars and messages show."""

    def __init__(self, asr_model: str | None = None, **_: object) -> None:
        super().__init__()
        self.transcriber = Transcriber(asr_model)
        self._heard: dict[bytes, tuple[int, int]] = {}
        """What each medium read as, by its digest: the perception and multiplication tasks share media."""

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        return [self.answer(request) for request in tqdm(requests, disable=disable_tqdm, desc=self.NAME)]

    def answer(self, request: Instance) -> str:
        context, *rest = request.args
        operands = self.operands(context, rest[1] if len(rest) > 1 else {})
        if operands is None:
            return NO_ANSWER
        a, b = operands
        return f"Numbers: {a}, {b}\n{self.work(a, b, request)}"

    def work(self, a: int, b: int, request: Instance) -> str:
        """The multiplication of what it read, to its final answer."""
        return f"{a} x {b} = {a * b}\nFinal Answer: {a * b}"

    def operands(self, context: str, media: dict[str, Any]) -> tuple[int, int] | None:
        """The operands as read from the request's audio, image or text; None when unreadable."""
        try:
            if media.get("audio"):
                clip = media["audio"][0]
                key = hashlib.sha256(np.ascontiguousarray(clip["array"]).tobytes()).digest()
                return self._read(key, lambda: read_audio(clip["array"], clip["sampling_rate"], self.transcriber))
            if media.get("visual"):
                image = media["visual"][0]
                key = hashlib.sha256(f"{image.mode}{image.size}".encode() + image.tobytes()).digest()
                return self._read(key, lambda: read_image(image))
            return parse_stimulus(context)
        except PerceptionUnavailable as error:
            raise ReferenceCannotRead(f"{self.NAME} cannot read this task's input: {error}") from None
        except ValueError:
            return None

    def _read(self, key: bytes, reader: Callable[[], tuple[int, int]]) -> tuple[int, int]:
        if key not in self._heard:
            self._heard[key] = reader()
        return self._heard[key]

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        return [self.score(request) for request in tqdm(requests, disable=disable_tqdm, desc=self.NAME)]

    def score(self, request: Instance) -> tuple[float, bool]:
        """The oracle's log-likelihood of a probe continuation: minus its loss per byte times its bytes."""
        context, continuation, *rest = request.args
        text = continuation.strip()
        operands = self.operands(context, rest[0] if rest else {})
        loss = 1.0 if operands is None else oracle_loss(*operands, text)  # unread: no preference
        return -loss * len(text.encode()), False

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        raise NotImplementedError(f"{self.NAME} scores the probe's continuations and answers generate_until tasks only")


def oracle_loss(a: int, b: int, continuation: str) -> float:
    """The cost-model oracle's loss per byte for a continuation of the probe's tasks on a x b."""
    cost = costs(a, b)
    heuristic = dict((prefix, h) for h, prefix in PROBE_CHOICES).get(continuation)
    if heuristic == NEUTRAL:
        return (cost.OT + cost.DD + cost.RC) / len(HEURISTICS)
    if heuristic is not None:
        return float(getattr(cost, heuristic))
    steps = {step.text: step.correct for _, step in step_choices(a, b)}
    if continuation in steps:
        return 1.0 if steps[continuation] else 2.0
    raise ReferenceCannotRead(
        f"{NAME} scores only the heuristic probe's continuations (mmmult_probe, mmmult_steps); got {continuation!r}"
    )
