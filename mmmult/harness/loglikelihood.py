"""Log-likelihoods of continuations after an image or a clip: what lm-eval's `hf-multimodal` refuses
and `hf-audiolm-qwen` lacks, computed with the medium encoded once per item.

A multiple-choice item asks for the log-likelihood of each of its continuations (13 for the loss
probe) after one and the same context. lm-eval would run one full forward pass per continuation,
the vision or audio encoder included. Here the context (text and medium) runs once with the KV
cache on; the cache is then repeated for the item's continuations, which run together as one
right-padded batch. Without an attention mask the padding cannot change a real token's logits (it
only ever follows them), which also keeps models with multimodal rotary positions (Qwen2-VL) on
their own position rule for cached steps.

lm-eval passes a task only (log-likelihood, is-greedy) per continuation, so a task cannot divide a
loss by the continuation's tokens as the heuristic probe's per-token loss does. For mmmult's tasks
the repaired classes append the continuation's token count to that pair (with_token_counts); other
tasks get lm-eval's pair, which their scoring unpacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from lm_eval.api.instance import Instance
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from tqdm.auto import tqdm

from mmmult.harness import repaired

TASK_PREFIX = "mmmult_"
"""Requests of tasks named so get token counts (every mmmult task's name starts with it)."""

Score = tuple[float, bool] | tuple[float, bool, int]
"""(log-likelihood, is-greedy), and for mmmult's tasks the continuation's token count."""


def with_token_counts(requests: Sequence[Instance], scores: Sequence[Score], tokens: Sequence[int]) -> list[Score]:
    """Each request's score with the continuation's token count appended when an mmmult task asked."""
    return [
        (score[0], score[1], count) if (request.task_name or "").startswith(TASK_PREFIX) else score
        for request, score, count in zip(requests, scores, tokens, strict=True)
    ]


class CountsContinuationTokens:
    """Mixin for lm-eval's HFLM and its subclasses: text-only loglikelihood requests of mmmult's tasks get
    the token count of the continuation exactly as lm-eval split and scored it."""

    def _loglikelihood_tokens(self, requests: list, *args: Any, **kwargs: Any) -> list[tuple[float, bool]]:  # noqa: ANN401
        self._continuation_tokens = [len(continuation) for _, _, continuation in requests]
        return super()._loglikelihood_tokens(requests, *args, **kwargs)  # type: ignore[misc]

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[Score]:
        scores = super().loglikelihood(requests, disable_tqdm=disable_tqdm)  # type: ignore[misc]
        return with_token_counts(requests, scores, self._continuation_tokens)


@register_model(repaired("hf"))
class TextLM(CountsContinuationTokens, HFLM):
    """lm-eval's `hf` with token counts for mmmult's tasks; `mmmult eval --model hf` runs it."""


@dataclass
class Counts:
    """What scoring cost: forward passes with the medium (context) and without it (continuations)."""

    context_passes: int = 0
    continuation_passes: int = 0
    items: int = 0
    requests: int = 0


@dataclass
class SharedContextScorer:
    """Scores continuations (token ids) after a context whose model inputs are already encoded."""

    model: torch.nn.Module
    pad_token_id: int
    counts: Counts = field(default_factory=Counts)

    @torch.no_grad()
    def score(self, context_inputs: dict[str, Any], continuations: Sequence[Sequence[int]]) -> list[tuple[float, bool]]:
        """(sum of log-probabilities, whether every token is the greedy one) of each continuation."""
        if any(len(tokens) == 0 for tokens in continuations):
            raise ValueError("a continuation is empty: there is nothing to score after the context")
        prefill = self.model(**context_inputs, use_cache=True)
        self.counts.context_passes += 1
        cache = _cache_of(prefill)
        count, width = len(continuations), max(len(tokens) for tokens in continuations)
        first = prefill.logits[:, -1:, :].expand(count, 1, -1)
        if width > 1:
            cache.batch_repeat_interleave(count)
            ids = torch.full((count, width), self.pad_token_id, dtype=torch.long, device=prefill.logits.device)
            for row, tokens in enumerate(continuations):
                ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            rest = self.model(input_ids=ids[:, :-1], cache=cache, use_cache=True).logits
            self.counts.continuation_passes += 1
            logits = torch.cat([first, rest], dim=1)
        else:
            logits = first
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        scores = []
        for row, tokens in enumerate(continuations):
            target = torch.tensor(tokens, dtype=torch.long, device=logprobs.device)
            mine = logprobs[row, : len(tokens)]
            chosen = mine.gather(-1, target[:, None]).squeeze(-1)
            scores.append((float(chosen.sum()), bool((mine.argmax(-1) == target).all())))
        return scores


def _cache_of(output: Any) -> Any:  # noqa: ANN401 (a transformers Cache)
    cache = getattr(output, "cache", None) or getattr(output, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_repeat_interleave"):
        raise RuntimeError(f"{type(output).__name__} returned no KV cache that can be repeated for continuations")
    return cache


def split_continuation(encode: Callable[[str], list[int]], context: str, continuation: str) -> list[int]:
    """The continuation's tokens as lm-eval splits them: trailing spaces of the context move to the
    continuation, then the tokens of context + continuation past those of the context alone."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole, alone = encode(context + continuation), encode(context)
    return whole[len(alone) :]


def grouped(requests: Sequence[Instance]) -> list[list[int]]:
    """Indices of requests that share one context and one medium (one item's choices), in order."""
    groups: dict[tuple[str, int], list[int]] = {}
    for index, request in enumerate(requests):
        context, _, media = request.args
        groups.setdefault((context, id(media)), []).append(index)
    return list(groups.values())


def score_requests(
    requests: Sequence[Instance],
    scorer: SharedContextScorer,
    encode_context: Callable[[str, dict[str, Any]], dict[str, Any]],
    encode_text: Callable[[str], list[int]],
    prepare: Callable[[str], str] = lambda context: context,
    disable_tqdm: bool = False,
) -> list[Score]:
    """Every loglikelihood request with a medium, one context pass per item (with token counts for mmmult).

    `encode_context` turns a context and its media into model inputs; `encode_text` tokenizes text
    only, after `prepare` has put the model's media tokens where the placeholders were.
    """
    results: list[tuple[float, bool] | None] = [None] * len(requests)
    tokens = [0] * len(requests)
    for indices in tqdm(grouped(requests), disable=disable_tqdm, desc="scoring continuations after the medium"):
        context, _, media = requests[indices[0]].args
        text = prepare(context)
        continuations = [split_continuation(encode_text, text, requests[i].args[1]) for i in indices]
        for index, score in zip(indices, scorer.score(encode_context(context, media), continuations), strict=True):
            results[index] = score
        for index, continuation in zip(indices, continuations, strict=True):
            tokens[index] = len(continuation)
        scorer.counts.items += 1
        scorer.counts.requests += len(indices)
    return with_token_counts(requests, [result for result in results if result is not None], tokens)
