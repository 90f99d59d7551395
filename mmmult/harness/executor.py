"""`mmmult-executor`: a simulated model that multiplies by one heuristic, step by step, slipping at a known rate.

model_args `heuristic=OT|DD|RC` (columnar, decomposition, rounding), `step_error=p` (the probability of
a slip at each elementary operation, 0 to 1) and `seed`. It reads the problem as the reference system
does (the prompt's text; tesseract for images; Whisper for audio; the readings the reference system
kept in the readers' cache are reused), carries out its heuristic on what it read (probe/worked.py),
and writes the worked solution in that heuristic's words (in the direct regime only the answer that
solution reaches), so its accuracy on a problem is (1 - p) ** step_count exactly in both regimes: a
known truth for the board's accuracy curves, C50 and per-step error, and for the probe's heuristic
recovery. For the loss probe its own heuristic's prefixes have the lowest loss; for the step probe its
own heuristic's correct step is likelier than the wrong ones, and the other heuristics' steps are all
alike. Each request's slips are drawn from the seed, the task and the operands read, so a run is
reproducible and the same problem slips independently in each task.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.registry import register_model

from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.probe.worked import Hand, Solution, solve
from mmmult.harness import EvalSetupError
from mmmult.harness.reference import ReferenceLM, probe_choice
from mmmult.probe_scoring.scores import NEUTRAL

NAME = "mmmult-executor"
OWN_LOSS, OTHER_LOSS, NEUTRAL_LOSS = 1.0, 2.0, 1.5
"""Loss per byte the executor gives its own heuristic's prefixes, the others', and the neutral one."""


class ExecutorArgsError(EvalSetupError):
    """The executor's model_args cannot be used; the message names the argument and what it takes."""


def executor_args(heuristic: object, step_error: object, seed: object) -> tuple[str, float, int]:
    """The executor's model_args checked: (heuristic, step error, seed)."""
    chosen = str(heuristic).upper()
    if chosen not in HEURISTICS:
        raise ExecutorArgsError(f"{NAME}: unknown heuristic {heuristic!r}; use heuristic=OT, DD or RC")
    try:
        p = float(str(step_error))
    except ValueError:
        raise ExecutorArgsError(
            f"{NAME}: step_error={step_error!r} is not a number; use a probability from 0 to 1"
        ) from None
    if not 0.0 <= p <= 1.0:  # also refuses nan
        raise ExecutorArgsError(f"{NAME}: step_error={step_error!r} is outside [0, 1]; use a probability from 0 to 1")
    try:
        return chosen, p, int(str(seed))
    except ValueError:
        raise ExecutorArgsError(f"{NAME}: seed={seed!r} is not a whole number") from None


@register_model(NAME)
class ExecutorLM(ReferenceLM):
    """Reads like the reference system; computes like a schoolchild who slips with probability p per operation."""

    NAME = NAME

    def __init__(
        self,
        heuristic: str = "OT",
        step_error: float = 0.0,
        seed: int = 0,
        asr_model: str | None = None,
        **_: object,
    ) -> None:
        self.heuristic, self.step_error, self.seed = executor_args(heuristic, step_error, seed)
        super().__init__(asr_model=asr_model)

    def solution(self, a: int, b: int, request: Instance) -> Solution:
        """The worked solution by its heuristic, slipping with the draws of its seed, the task and the operands."""
        hand = Hand(self.step_error, seed=f"{self.seed}:{request.task_name}:{a}:{b}")
        return solve(a, b, self.heuristic, hand)

    def work(self, a: int, b: int, request: Instance) -> str:
        return self.solution(a, b, request).text

    def direct(self, a: int, b: int, request: Instance) -> str:
        """The answer its worked solution reaches, alone: it works (and slips) in its head."""
        return self.solution(a, b, request).direct

    UNREAD_LOSS = NEUTRAL_LOSS

    def loss(self, a: int, b: int, continuation: str) -> float:
        """The executor's loss per byte for a continuation of the probe's tasks on a x b."""
        heuristic, step = probe_choice(a, b, continuation, NAME)
        if heuristic == NEUTRAL or (step is not None and heuristic != self.heuristic):
            return NEUTRAL_LOSS
        if heuristic != self.heuristic:
            return OTHER_LOSS
        return OWN_LOSS if step is None or step.correct else OTHER_LOSS

    def get_model_info(self) -> dict[str, Any]:
        return {"heuristic": self.heuristic, "step_error": self.step_error, "seed": self.seed}
