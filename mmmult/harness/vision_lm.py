"""lm-eval's `hf-multimodal` with loglikelihood requests; `mmmult eval --model hf-multimodal` runs it.

lm-eval 0.4.13's class raises NotImplementedError for loglikelihood with images, so no
multiple-choice task can show a vision-language model an image. This subclass scores them with
the image encoded once per item (loglikelihood.py); text-only requests, generation, loading and
chat templates stay lm-eval's own.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.registry import register_model
from lm_eval.models.hf_vlms import DEFAULT_IMAGE_PLACEHOLDER, HFMultimodalLM
from lm_eval.models.utils import replace_placeholders

from mmmult.harness import EvalSetupError, repaired
from mmmult.harness.loglikelihood import CountsContinuationTokens, Score, SharedContextScorer, score_requests

ALIAS = "hf-multimodal"


@register_model(repaired(ALIAS))
class VisionLoglikelihoodLM(CountsContinuationTokens, HFMultimodalLM):
    """A vision-language model that also scores continuations after an image."""

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[Score]:
        if requests and len(requests[0].args) < 3:
            return super().loglikelihood(requests, disable_tqdm=disable_tqdm)
        if any("visual" not in request.args[2] for request in requests):
            raise EvalSetupError(
                f"{ALIAS} sees images, not audio: run the audio tasks with --model hf-audiolm-qwen, and give this "
                "model the text and image tasks (--tasks mmmult_probe_text,mmmult_probe_image)"
            )
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eot_token_id
        self.scorer = SharedContextScorer(self.model, pad)
        scores = score_requests(
            requests, self.scorer, self._context_inputs, self.tok_encode, self._with_image_tokens, disable_tqdm
        )
        for request, score in zip(requests, scores, strict=True):
            self.cache_hook.add_partial("loglikelihood", request.args[:2], score)
        return scores

    def _context_inputs(self, context: str, media: dict[str, Any]) -> dict[str, Any]:
        return self.tok_batch_multimodal_encode([context], [media["visual"]])

    def _with_image_tokens(self, context: str) -> str:
        """The context as tok_batch_multimodal_encode reads it: placeholders become the model's image token."""
        if self.chat_applied:
            return context
        return replace_placeholders(context, DEFAULT_IMAGE_PLACEHOLDER, self.image_token, self.max_images)
