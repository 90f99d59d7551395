"""lm-eval 0.4.13's `hf-audiolm-qwen`, repaired; `mmmult eval --model hf-audiolm-qwen` runs it.

The original cannot run with transformers 5: its alias names a class that its module does not
define, it calls the processor with `audios=` where transformers 5
takes `audio=`, and it moves the inputs to "cuda" whatever device the model is on; it has no
loglikelihood with audio at all. This subclass replaces the encoding and the generation loop, and
scores continuations after a clip with the clip encoded once per item (loglikelihood.py); loading,
chat templates and stop criteria are lm-eval's own.
"""

from __future__ import annotations

import copy
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.registry import model_registry, register_model
from tqdm.auto import tqdm

from dataset_builder.configs import SAMPLING_RATE
from mmmult.harness import repaired
from mmmult.harness.loglikelihood import CountsContinuationTokens, Score, SharedContextScorer, score_requests

ALIAS = "hf-audiolm-qwen"
# lm-eval 0.4.13's lazy entry for this alias names lm_eval.models.hf_audiolm:HFAudioLM, but that module
# registers HFAUDIOLMQWEN under it, so importing the module raises "already registered". Point the entry at
# the class the module registers (what lm-eval means) before importing it; the registry's public API has no
# way to correct an entry.
model_registry._objs[ALIAS] = "lm_eval.models.hf_audiolm:HFAUDIOLMQWEN"

from lm_eval.models.hf_audiolm import DEFAULT_AUDIO_PLACEHOLDERS, HFAUDIOLMQWEN  # noqa: E402
from lm_eval.models.utils import replace_placeholders  # noqa: E402

AUDIO_TOKENS = "<|audio_bos|><|AUDIO|><|audio_eos|>"


@register_model(repaired(ALIAS))
class Qwen2AudioLM(CountsContinuationTokens, HFAUDIOLMQWEN):
    """Qwen2-Audio (or any model with its processor) on any device, with transformers 5."""

    def tok_batch_multimodal_encode(
        self,
        strings: list[str],
        audios: list[Any],
        padding_side: str = "left",
        left_truncate_len: int | None = None,
        truncation: bool = False,
    ) -> Any:  # noqa: ANN401 (a transformers BatchFeature)
        strings = [self._with_audio_tokens(s) for s in strings]
        self.processor.tokenizer.padding_side = padding_side
        encoding = self.processor(
            text=strings, audio=audios, sampling_rate=SAMPLING_RATE, padding=True, return_tensors="pt"
        )
        return encoding.to(self.device)

    def _with_audio_tokens(self, string: str) -> str:
        if self.chat_applied:
            return string
        for placeholder in DEFAULT_AUDIO_PLACEHOLDERS:
            string = replace_placeholders(string, placeholder, AUDIO_TOKENS, self.max_audios)
        return string

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[Score]:
        if requests and len(requests[0].args) < 3:
            return super().loglikelihood(requests, disable_tqdm=disable_tqdm)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eot_token_id
        self.scorer = SharedContextScorer(self.model, pad)
        scores = score_requests(
            requests, self.scorer, self._context_inputs, self.tok_encode, self._with_audio_tokens, disable_tqdm
        )
        for request, score in zip(requests, scores, strict=True):
            self.cache_hook.add_partial("loglikelihood", request.args[:2], score)
        return scores

    def _context_inputs(self, context: str, media: dict[str, Any]) -> dict[str, Any]:
        return self.tok_batch_multimodal_encode([context], [clip["array"] for clip in media["audio"]])

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Greedy or sampled generation in batches of `batch_size`, in request order."""
        results: list[str] = []
        bar = tqdm(total=len(requests), disable=disable_tqdm or self.rank != 0, desc="generating from text+audio")
        size = int(self.batch_size) if str(self.batch_size).isdigit() else 1
        for batch in _batches(requests, size):
            contexts = [request.args[0] for request in batch]
            gen_kwargs = copy.deepcopy(batch[0].args[1])
            audios = [audio["array"] for request in batch for audio in request.args[2]["audio"]]
            until = gen_kwargs.pop("until", None) or []
            until = [until] if isinstance(until, str) else list(until)
            until.append(self.tok_decode(self.eot_token_id, skip_special_tokens=False))
            max_gen_toks = gen_kwargs.pop("max_gen_toks", self.max_gen_toks)
            inputs = self.tok_batch_multimodal_encode(contexts, audios)
            context_length = inputs["input_ids"].shape[1]
            gen_kwargs.setdefault("max_length", context_length + max_gen_toks)
            output = self._model_multimodal_generate(inputs, stop=until, **gen_kwargs)
            for context, tokens in zip(contexts, output.tolist(), strict=True):
                text = self.tok_decode(tokens[context_length:])
                for stop in until:
                    text = text.split(stop)[0] if stop else text
                results.append(text)
                self.cache_hook.add_partial("generate_until", (context, batch[0].args[1]), text)
                bar.update(1)
        bar.close()
        return results


def _batches(requests: list[Instance], size: int) -> list[list[Instance]]:
    """Consecutive runs of at most `size` requests that share their generation arguments."""
    batches: list[list[Instance]] = []
    for request in requests:
        if batches and len(batches[-1]) < size and batches[-1][0].args[1] == request.args[1]:
            batches[-1].append(request)
        else:
            batches.append([request])
    return batches
