"""lm-eval's chat-completions models with audio; `mmmult eval --model local-chat-completions` (or openai-) runs them.

lm-eval 0.4.13 sends images to OpenAI-compatible chat servers (`local-chat-completions`,
`openai-chat-completions`) as `image_url` parts, but drops audio: the audio configs could not reach
GPT-4o-audio, Gemini's OpenAI-compatible endpoint or a vLLM-served Qwen2-Audio. These subclasses
put each clip into the user turn as an `input_audio` part (base64 16-bit PCM WAV at the clip's rate,
a format every such server takes) and leave everything else (retries, concurrency, caching, images)
to lm-eval. As for images, the chat template is required (`--apply_chat_template`).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from typing import Any

import numpy as np
import soundfile
from lm_eval.api.instance import Instance
from lm_eval.api.registry import register_model
from lm_eval.models.api_models import JsonChatStr
from lm_eval.models.openai_completions import LocalChatCompletion, OpenAIChatCompletion

from mmmult.harness import EvalSetupError, repaired

LOCAL, OPENAI = "local-chat-completions", "openai-chat-completions"

AUDIO_PLACEHOLDER = "<audio>"


def wav_base64(clip: dict[str, Any]) -> str:
    """A clip ({"array": float samples, "sampling_rate": Hz}) as base64 of a 16-bit PCM WAV file."""
    buffer = io.BytesIO()
    soundfile.write(
        buffer, np.asarray(clip["array"], dtype=np.float32), int(clip["sampling_rate"]), "PCM_16", format="WAV"
    )
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def with_audio(prompt: str | JsonChatStr, clips: list[dict[str, Any]]) -> JsonChatStr:
    """The chat with the clips as `input_audio` parts before the last user turn's text (placeholders removed)."""
    if not isinstance(prompt, JsonChatStr):
        raise EvalSetupError("chat servers take audio inside a chat: add --apply_chat_template to the command")
    chat = json.loads(prompt.prompt)
    parts = [{"type": "input_audio", "input_audio": {"data": wav_base64(clip), "format": "wav"}} for clip in clips]
    content = chat[-1]["content"]
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    for part in content:
        if part.get("type") == "text":
            part["text"] = part["text"].replace(AUDIO_PLACEHOLDER, "").strip()
    chat[-1]["content"] = parts + content
    return JsonChatStr(json.dumps(chat, ensure_ascii=False))


class AudioChatMixin:
    """generate_until that turns audio requests into chats with their clips, then runs lm-eval's own."""

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Audio requests become text-only chats that hold their clips; lm-eval runs them apart from the
        rest (it reads the first request to decide how to treat a whole batch)."""
        heard = [i for i, r in enumerate(requests) if len(r.args) > 2 and "audio" in r.args[2]]
        if not heard:
            return super().generate_until(requests, disable_tqdm=disable_tqdm)  # type: ignore[misc]
        chats = [replace(requests[i], arguments=(with_audio(requests[i].args[0], requests[i].args[2]["audio"]),
                                                 requests[i].args[1])) for i in heard]  # fmt: skip
        rest = [i for i in range(len(requests)) if i not in set(heard)]
        answers = dict(zip(heard, super().generate_until(chats, disable_tqdm=disable_tqdm), strict=True))  # type: ignore[misc]
        if rest:
            others = super().generate_until([requests[i] for i in rest], disable_tqdm=disable_tqdm)  # type: ignore[misc]
            answers |= dict(zip(rest, others, strict=True))
        return [answers[i] for i in range(len(requests))]


@register_model(repaired(LOCAL))
class LocalAudioChat(AudioChatMixin, LocalChatCompletion):
    """`local-chat-completions` (any OpenAI-compatible server: vLLM, Gemini's endpoint) with audio."""


@register_model(repaired(OPENAI))
class OpenAIAudioChat(AudioChatMixin, OpenAIChatCompletion):
    """`openai-chat-completions` (GPT-4o-audio and its kin) with audio."""
