"""`mmmult-reference`: an lm-eval model that reads the problem and answers with the exact product.

It measures perception alone (the arithmetic is Python's), so its accuracy on a config is the
share of stimuli that its reader gets exactly right, in both regimes; 100% on text proves the task
wiring. It answers as the prompt asks: a prompt with the direct instruction (prompts.asks_direct)
gets the product alone, "Final Answer: N"; any other gets what it read and the product. Text is
parsed from the prompt, images are read with tesseract, audio with faster-whisper (the `asr`
extra; model_args `asr_model=PATH` picks another faster-whisper model folder). Every reading is
kept in the readers' cache (MMMULT_CACHE), so a second run, or an executor's, reads no medium again.

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

from dataset_builder.media.readers import PerceptionUnavailable, Transcriber, read_audio, read_image
from dataset_builder.probe.costs import HEURISTICS, costs
from dataset_builder.probe.steps import Step
from dataset_builder.prompts import asks_direct, final_answer, numbers_answer
from dataset_builder.stimulus import parse_stimulus
from dataset_builder.tasks import REFERENCE_MODEL
from mmmult.probe_scoring.scores import NEUTRAL, PROBE_CHOICES, step_choices

NAME = REFERENCE_MODEL
NO_ANSWER = "I could not read the problem."


class ReferenceCannotRead(RuntimeError):
    """The reference system has no reader for this channel; the message says what to run instead."""


@register_model(NAME)
class ReferenceLM(LM):
    """Reads the operands from the request's text, image or audio; multiplies them exactly.

    Its answer carries both the transcription ("Numbers: a, b") and the product, so it serves the
    perception tasks and the worked multiplication tasks alike; the direct tasks get the product alone.
    """

    MULTIMODAL = True
    NAME = NAME
    """The name it is registered under, which its progress bars and messages show."""

    def __init__(self, asr_model: str | None = None, **_: object) -> None:
        super().__init__()
        self.transcriber = Transcriber(asr_model)
        self._heard: dict[bytes, tuple[int, int]] = {}
        """What each medium read as in this run, by its digest: the perception and multiplication tasks share media.
        Across runs and processes the readers' own cache (readers.ReadingCache) keeps every reading."""

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        return [self.answer(request) for request in tqdm(requests, disable=disable_tqdm, desc=self.NAME)]

    def answer(self, request: Instance) -> str:
        context, *rest = request.args
        operands = self.operands(context, rest[1] if len(rest) > 1 else {})
        if operands is None:
            return NO_ANSWER
        a, b = operands
        if asks_direct(context):
            return self.direct(a, b, request)
        return f"{numbers_answer(a, b)}\n{self.work(a, b, request)}"

    def work(self, a: int, b: int, request: Instance) -> str:
        """The multiplication of what it read, to its final answer."""
        return f"{a} x {b} = {a * b}\n{final_answer(a * b)}"

    def direct(self, a: int, b: int, request: Instance) -> str:
        """The product of what it read alone, as the direct regime asks: no working, no transcription."""
        return final_answer(a * b)

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

    UNREAD_LOSS = 1.0
    """The loss of every continuation of a problem it could not read: no preference."""

    def score(self, request: Instance) -> tuple[float, bool]:
        """The log-likelihood of a probe continuation: minus its loss per byte times its bytes."""
        context, continuation, *rest = request.args
        text = continuation.strip()
        operands = self.operands(context, rest[0] if rest else {})
        loss = self.UNREAD_LOSS if operands is None else self.loss(*operands, text)
        return -loss * len(text.encode()), False

    def loss(self, a: int, b: int, continuation: str) -> float:
        """The loss per byte it gives a continuation of the probe's tasks on a x b: the cost-model oracle's."""
        return oracle_loss(a, b, continuation)

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        raise NotImplementedError(f"{self.NAME} scores the probe's continuations and answers generate_until tasks only")


PREFIX_HEURISTIC = {prefix: heuristic for heuristic, prefix in PROBE_CHOICES}
"""The heuristic (or "neutral") of each loss-probe prefix."""


def probe_choice(a: int, b: int, continuation: str, model: str = NAME) -> tuple[str, Step | None]:
    """What a continuation of the probe's tasks on a x b is: a prefix, (its heuristic or "neutral", None), or a
    first step, (its heuristic, the step); refused for any other text."""
    if continuation in PREFIX_HEURISTIC:
        return PREFIX_HEURISTIC[continuation], None
    for heuristic, step in step_choices(a, b):
        if step.text == continuation:
            return heuristic, step
    raise ReferenceCannotRead(
        f"{model} scores only the heuristic probe's continuations (mmmult_probe, mmmult_steps); got {continuation!r}"
    )


def oracle_loss(a: int, b: int, continuation: str) -> float:
    """The cost-model oracle's loss per byte for a continuation of the probe's tasks on a x b."""
    heuristic, step = probe_choice(a, b, continuation)
    if step is not None:
        return 1.0 if step.correct else 2.0
    cost = costs(a, b)
    if heuristic == NEUTRAL:
        return (cost.OT + cost.DD + cost.RC) / len(HEURISTICS)
    return cost.of(heuristic)
