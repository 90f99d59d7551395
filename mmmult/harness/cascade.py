"""`mmmult-cascade`: a recogniser, then a text model: the standard baseline of speech and document benchmarks.

The reader is the reference system's (tesseract for images, Whisper for speech, with the same
readings cache); what it reads becomes the typed problem (the text-numerals prompt of the same
task: the same instruction, the same regime), and a text model behind any OpenAI-compatible
endpoint (a local llama.cpp server, vLLM, an API) answers it. Perception tasks are answered by the
reader alone, so a cascade's perception score is its reader's accuracy and its multiplication
score is the text model's on what the reader read: the board's perception-versus-computation split
is real for it. Text tasks go to the text model as they are.

    mmmult eval --model mmmult-cascade \\
        --model_args model=qwen2.5-coder-0.5b,base_url=http://127.0.0.1:8080/v1,num_concurrent=4 \\
        --tasks mmmult_direct_image,mmmult_direct_audio --log_samples --output_path OUT

model_args: `model` and `base_url` (the endpoint's root, ending in /v1), `chat` (true: the chat
endpoint, which applies the model's chat template; false: the completions endpoint, for a base
model), `num_concurrent` (requests in flight at once), `timeout` (seconds per request),
`max_retries`, `asr_model` (as the reference's). The key is read from $OPENAI_API_KEY, never from
model_args, so it is never written into a results file. The OpenAI client (a well-kept library)
does the retries with backoff; an endpoint that stays down, or a reply that is not a completion,
stops the run with a reason naming the endpoint and the item, before lm-eval writes anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
from lm_eval.api.instance import Instance
from lm_eval.api.registry import register_model
from tqdm.auto import tqdm

from dataset_builder.prompts import PERCEIVE_INSTRUCTION, instruction_of, numbers_answer, prompt
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import CASCADE_MODEL
from mmmult.harness import EvalSetupError
from mmmult.harness.reference import NO_ANSWER, ReferenceLM

MEDIA = ("visual", "audio")
"""The keys under which lm-eval hands a request its image or clip; the reader of each: tasks.CASCADE_READERS."""


class CascadeError(EvalSetupError):
    """The text model's endpoint failed on an item; the message names the endpoint and the item."""


def _flag(value: object) -> bool:
    """A model_args boolean, typed as true/false (lm-eval passes model_args through as they were typed)."""
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise EvalSetupError(f"mmmult-cascade: chat={value!r} is not a boolean: use chat=true or chat=false")
    return text in ("true", "1", "yes")


@register_model(CASCADE_MODEL)
class CascadeLM(ReferenceLM):
    """The reference's reader, then a text model behind an OpenAI-compatible endpoint."""

    NAME = CASCADE_MODEL

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        chat: object = True,
        num_concurrent: int | str = 1,
        timeout: float | str = 600,
        max_retries: int | str = 3,
        asr_model: str | None = None,
        **_: object,
    ) -> None:
        super().__init__(asr_model=asr_model)
        if not model or not base_url:
            raise EvalSetupError(
                "mmmult-cascade needs the text model and its endpoint: "
                "--model_args model=NAME,base_url=http://HOST:PORT/v1"
            )
        self.model, self.base_url, self.chat = model, base_url.rstrip("/"), _flag(chat)
        self.num_concurrent = int(num_concurrent)
        if self.num_concurrent < 1:
            raise EvalSetupError(f"mmmult-cascade: num_concurrent={num_concurrent} must be 1 or more")
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=os.environ.get("OPENAI_API_KEY") or "none",
            timeout=float(timeout),
            max_retries=int(max_retries),
        )

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Each request read first (one at a time: the readers are the costly, cached part), then the typed
        problems sent `num_concurrent` at a time, answers kept in the requests' order."""
        plans = [self.plan(request) for request in tqdm(requests, disable=disable_tqdm, desc=f"{self.NAME}: reading")]
        with ThreadPoolExecutor(self.num_concurrent) as pool:
            answers = pool.map(lambda plan: plan(), plans)
            return list(tqdm(answers, total=len(plans), disable=disable_tqdm, desc=f"{self.NAME}: {self.model}"))

    def plan(self, request: Instance) -> Callable[[], str]:
        """What answers one request: the reader's reading alone (perception), or the text model on the typed
        problem (multiplication), or the text model on the prompt as it is (a text task)."""
        context, gen_kwargs, *rest = request.args
        media: dict[str, Any] = rest[0] if rest else {}
        if not any(media.get(kind) for kind in MEDIA):
            return lambda: self.complete(context, gen_kwargs, request)
        instruction = instruction_of(context)
        if instruction is None:
            raise CascadeError(f"{self.NAME}: the prompt of {_item(request)} carries none of mmmult's instructions")
        operands = self.operands(context, media)
        if operands is None:
            return lambda: NO_ANSWER
        if instruction == PERCEIVE_INSTRUCTION:
            return lambda: numbers_answer(*operands)
        typed = prompt(instruction, {"modality": "text", "stimulus": stimulus(*operands, "numerals")})
        return lambda: self.complete(typed, gen_kwargs, request)

    def complete(self, prompt: str, gen_kwargs: dict[str, Any], request: Instance) -> str:
        """The text model's answer to `prompt`, greedy unless the task says otherwise, within the task's budget."""
        settings: dict[str, Any] = {
            "model": self.model,
            "max_tokens": int(gen_kwargs.get("max_gen_toks", 256)),
            "temperature": float(gen_kwargs.get("temperature", 0.0)) if gen_kwargs.get("do_sample") else 0.0,
        }
        if stop := [s for s in gen_kwargs.get("until", []) if s][:4]:
            settings["stop"] = stop
        try:
            if self.chat:
                reply = self.client.chat.completions.create(messages=[{"role": "user", "content": prompt}], **settings)
                text = reply.choices[0].message.content
            else:
                text = self.client.completions.create(prompt=prompt, **settings).choices[0].text
        except openai.APIError as error:
            raise CascadeError(f"{self.NAME}: {self.base_url} failed on {_item(request)}: {error}") from None
        except (AttributeError, IndexError, TypeError, ValueError) as error:
            raise CascadeError(
                f"{self.NAME}: {self.base_url} answered {_item(request)} with something that is not a "
                f"{'chat ' if self.chat else ''}completion ({error})"
            ) from None
        if not isinstance(text, str):
            raise CascadeError(f"{self.NAME}: {self.base_url} answered {_item(request)} without text")
        return text

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        raise EvalSetupError(
            f"{self.NAME} answers generation tasks only: the probe's log-likelihoods need the text model itself "
            "(run the probe with --model hf)"
        )


def _item(request: Instance) -> str:
    """The task and problem of a request, as a reason names them."""
    doc = request.doc or {}
    return f"{request.task_name} item {doc.get('problem_id', request.doc_id)}"
