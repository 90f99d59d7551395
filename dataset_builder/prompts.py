"""What a model is asked: the instructions of the benchmark's tasks and the prompt each makes of a problem.

One home for the wording: the lm-eval tasks (eval/mmmult/utils.py), the adapters' training traces and their
comparison all build their prompts here, so a change of wording reaches every one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTRUCTION = (
    "Compute the exact product of the multiplication problem {channel}. You may reason step by step. "
    'End with the final answer as an integer on its own line, in the form "Final Answer: <integer>".'
)
CHANNELS = {
    "text": "below",
    "image": "shown in the image",
    "audio": "spoken in the audio",
}
DIRECT_INSTRUCTION = (
    "Compute the exact product of the multiplication problem {channel}. Do not show any working. "
    'Reply with the product only, as an integer on one line, in the form "Final Answer: <integer>".'
)
"""The direct regime: the same integer is scored, but the budget leaves no room for working."""
PERCEIVE_INSTRUCTION = (
    "Read the multiplication problem {channel}. Do not compute it. Write the two numbers being "
    'multiplied as digits, in order, on one line in the form "Numbers: <first>, <second>".'
)
FINGERPRINT_INSTRUCTION = (
    "Compute the exact product of the multiplication problem {channel}. Show your work step by step, then "
    'give the final answer as an integer on its own line, in the form "Final Answer: <integer>".'
)
INSTRUCTIONS = (INSTRUCTION, DIRECT_INSTRUCTION, PERCEIVE_INSTRUCTION, FINGERPRINT_INSTRUCTION)
"""Every task instruction; no one of them contains another, so a prompt carries at most one."""
PLACEHOLDERS = {"text": "", "image": "<image>\n", "audio": "<audio>\n"}
"""Where a multimodal model's processor puts the image or the clip, before the instruction."""


def prompt(instruction: str, doc: Mapping[str, Any]) -> str:
    """The channel's placeholder, the instruction naming the channel, and the stimulus for text.

    >>> prompt(INSTRUCTION, {"modality": "image"}).splitlines()[0]
    '<image>'
    """
    modality = doc["modality"]
    text = PLACEHOLDERS[modality] + instruction.format(channel=CHANNELS[modality])
    return text + ("\n\n" + doc["stimulus"] if modality == "text" else "")


def multiply_prompt(doc: Mapping[str, Any]) -> str:
    """The multiplication tasks' prompt in the worked regime (step by step)."""
    return prompt(INSTRUCTION, doc)


def direct_prompt(doc: Mapping[str, Any]) -> str:
    """The multiplication tasks' prompt in the direct regime: the product alone, no working."""
    return prompt(DIRECT_INSTRUCTION, doc)


def instruction_of(text: str) -> str | None:
    """The task instruction a prompt carries (for any channel), None when it carries none of them.

    >>> instruction_of(perceive_prompt({"modality": "image"})) == PERCEIVE_INSTRUCTION
    True
    """
    return next(
        (
            instruction
            for instruction in INSTRUCTIONS
            if any(instruction.format(channel=channel) in text for channel in CHANNELS.values())
        ),
        None,
    )


def asks_direct(text: str) -> bool:
    """Whether a prompt asks for the product alone (the direct regime): it carries the direct instruction. The
    simulated models (the reference system, the executors) answer by this test, so the wording here is the one
    source of what each regime asks.

    >>> asks_direct(direct_prompt({"modality": "audio"})), asks_direct(multiply_prompt({"modality": "audio"}))
    (True, False)
    """
    return instruction_of(text) == DIRECT_INSTRUCTION


def numbers_answer(a: int, b: int) -> str:
    """The line the perception instruction asks the operands in.

    >>> numbers_answer(47, 36)
    'Numbers: 47, 36'
    """
    return f"Numbers: {a}, {b}"


def final_answer(product: int) -> str:
    """The line both regimes' instructions ask the answer in.

    >>> final_answer(1692)
    'Final Answer: 1692'
    """
    return f"Final Answer: {product}"


def perceive_prompt(doc: Mapping[str, Any]) -> str:
    """The perception tasks' prompt: read the operands, do not compute."""
    return prompt(PERCEIVE_INSTRUCTION, doc)


def fingerprint_prompt(doc: Mapping[str, Any]) -> str:
    """The trace tasks' prompt: the work shown, so that its procedure can be classified."""
    return prompt(FINGERPRINT_INSTRUCTION, doc)


def probe_context(doc: Mapping[str, Any]) -> str:
    """The loss probe's context: the problem alone in its channel (the stimulus sentence, or only the image or
    clip's placeholder), with no instruction, so that only the continuations' first steps differ."""
    return doc["stimulus"] if doc["modality"] == "text" else PLACEHOLDERS[doc["modality"]].strip()
