"""Log-likelihoods after an image or a clip (mmmult/harness/loglikelihood.py): each equals an
independent full forward pass computed here, and the medium is encoded once per item. (The repaired
classes run the probe's image and audio tasks through `mmmult eval` in tests/test_eval.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lm_eval.api.instance import Instance  # noqa: E402
from PIL import Image  # noqa: E402

from mmmult.harness import repaired  # noqa: E402
from mmmult.harness.evaluate import register_repaired_models  # noqa: E402
from mmmult.harness.loglikelihood import SharedContextScorer, split_continuation  # noqa: E402
from mmmult.probe_scoring.scores import PROBE_CHOICES  # noqa: E402

CONTINUATIONS = [" " + PROBE_CHOICES[0][1], " " + PROBE_CHOICES[4][1], " Round"]  # a one-token one too


def lm_eval_model(name: str, folder: Path) -> Any:
    import lm_eval.models  # noqa: F401

    register_repaired_models()
    from lm_eval.api.registry import get_model

    return get_model(repaired(name))(pretrained=str(folder), device="cpu", batch_size=1)


def full_pass(model: Any, context: dict[str, Any], whole: dict[str, Any]) -> float:
    """The continuation's log-probability from one forward pass over context + continuation."""
    with torch.no_grad():
        logprobs = torch.log_softmax(model(**whole).logits[0].float(), dim=-1)
    ids, start = whole["input_ids"][0], context["input_ids"].shape[1]
    return sum(float(logprobs[t - 1, ids[t]]) for t in range(start, len(ids)))


def requests(context: str, media: dict[str, Any], task: str = "mmmult_probe_image") -> list[Instance]:
    return [Instance("loglikelihood", {}, (context, c, media), i, (task, 0, 1)) for i, c in enumerate(CONTINUATIONS)]


def test_hf_reports_token_counts_to_mmmult_s_tasks_only(tiny_lm: Path) -> None:
    """The per-token probe loss needs each continuation's token count, which lm-eval does not pass on;
    `mmmult eval`'s hf appends it for mmmult's tasks, and other tasks keep lm-eval's pair."""
    from transformers import AutoTokenizer

    lm = lm_eval_model("hf", tiny_lm)
    context = "What is 47 times 36?"
    asked = [Instance("loglikelihood", {}, (context, c), i, (task, 0, 1))
             for i, c in enumerate(CONTINUATIONS) for task in ("mmmult_probe_text", "arc_easy")]  # fmt: skip
    got = lm.loglikelihood(asked)
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    counts = [len(tokenizer(context + c).input_ids) - len(tokenizer(context).input_ids) for c in CONTINUATIONS]
    assert [score[2] for score in got[::2]] == counts
    assert counts[-1] == 1 and all(len(score) == 2 for score in got[1::2])
    assert [score[:2] for score in got[::2]] == got[1::2]


def test_a_shared_context_scores_text_as_lm_eval_s_hf_does(tiny_lm: Path) -> None:
    """Text only: the cached context repeated for three continuations gives lm-eval's own numbers."""
    lm = lm_eval_model("hf", tiny_lm)
    context = "What is 47 times 36?"
    expected = lm.loglikelihood([Instance("loglikelihood", {}, (context, c), i) for i, c in enumerate(CONTINUATIONS)])
    scorer = SharedContextScorer(lm.model, lm.eot_token_id)
    inputs = {"input_ids": torch.tensor([lm.tok_encode(context)])}
    got = scorer.score(inputs, [split_continuation(lm.tok_encode, context, c) for c in CONTINUATIONS])
    assert [ll for ll, _ in got] == pytest.approx([ll for ll, _ in expected], abs=1e-4)
    assert [greedy for _, greedy in got] == [greedy for _, greedy in expected]
    assert (scorer.counts.context_passes, scorer.counts.continuation_passes) == (1, 1)


def test_hf_multimodal_scores_continuations_after_the_image(tiny_vlm: Path) -> None:
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    lm = lm_eval_model("hf-multimodal", tiny_vlm)
    image = Image.new("RGB", (80, 40), "white")
    got = lm.loglikelihood(requests("<image>", {"visual": [image]}))
    assert (lm.scorer.counts.context_passes, lm.scorer.counts.items, lm.scorer.counts.requests) == (1, 1, 3)
    processor = AutoProcessor.from_pretrained(tiny_vlm)
    model = LlavaForConditionalGeneration.from_pretrained(tiny_vlm).eval()
    context = processor(text="<image>", images=[image], return_tensors="pt")
    for continuation, (ll, _, count) in zip(CONTINUATIONS, got, strict=True):
        whole = processor(text="<image>" + continuation, images=[image], return_tensors="pt")
        assert ll == pytest.approx(full_pass(model, context, whole), abs=1e-4), continuation
        assert count == whole["input_ids"].shape[1] - context["input_ids"].shape[1]
    assert all(len(score) == 2 for score in lm.loglikelihood(requests("<image>", {"visual": [image]}, "arc_easy")))


def test_hf_multimodal_given_audio_says_which_model_to_use(tiny_vlm: Path) -> None:
    from mmmult.harness.evaluate import EvalSetupError

    lm = lm_eval_model("hf-multimodal", tiny_vlm)
    clip = {"array": np.zeros(16_000, dtype=np.float32), "sampling_rate": 16_000}
    with pytest.raises(
        EvalSetupError, match="sees images, not audio: run the audio tasks with --model hf-audiolm-qwen"
    ):
        lm.loglikelihood(requests("<audio>", {"audio": [clip]}))


def test_multimodal_rotary_positions_hold_across_the_cache() -> None:
    """Qwen2-VL places image and text tokens by 3-D rotary positions; the cached continuations must
    land where a full pass puts them."""
    from tests.models import tiny_qwen2_vl

    model, tokenizer, images = tiny_qwen2_vl()
    pixels = images(images=[Image.new("RGB", (80, 40), "white")], return_tensors="pt")
    slots = int(pixels["image_grid_thw"].prod()) // 4  # merged 2 x 2 patches

    def inputs(text: str) -> dict[str, Any]:
        image = ["<|vision_start|>", *["<|image_pad|>"] * slots, "<|vision_end|>"]
        ids = torch.tensor(
            [tokenizer.convert_tokens_to_ids(image) + tokenizer(text, add_special_tokens=False).input_ids]
        )
        kinds = (ids == model.config.image_token_id).long()
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "mm_token_type_ids": kinds, **pixels}

    encode = lambda text: tokenizer(text, add_special_tokens=False).input_ids  # noqa: E731
    got = SharedContextScorer(model, tokenizer.pad_token_id).score(inputs(""), [encode(c) for c in CONTINUATIONS])
    for continuation, (ll, _) in zip(CONTINUATIONS, got, strict=True):
        model.model.rope_deltas = None  # as a fresh generate() would start
        assert ll == pytest.approx(full_pass(model, inputs(""), inputs(continuation)), abs=1e-4), continuation


def test_hf_audiolm_qwen_scores_continuations_after_the_clip(tiny_audio_lm: Path) -> None:
    from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

    from mmmult.harness.audio_lm import AUDIO_TOKENS

    lm = lm_eval_model("hf-audiolm-qwen", tiny_audio_lm)
    clip = np.sin(np.linspace(0, 600, 16_000)).astype(np.float32)
    got = lm.loglikelihood(
        requests("<audio>", {"audio": [{"array": clip, "sampling_rate": 16_000}]}, "mmmult_probe_audio")
    )
    assert (lm.scorer.counts.context_passes, lm.scorer.counts.requests) == (1, 3)
    processor = AutoProcessor.from_pretrained(tiny_audio_lm)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_audio_lm).eval()

    def encode(text: str) -> dict[str, Any]:
        return processor(text=text, audio=[clip], sampling_rate=16_000, return_tensors="pt")

    for continuation, (ll, _, count) in zip(CONTINUATIONS, got, strict=True):
        expected = full_pass(model, encode(AUDIO_TOKENS), encode(AUDIO_TOKENS + continuation))
        assert ll == pytest.approx(expected, abs=1e-4), continuation
        assert (
            count
            == encode(AUDIO_TOKENS + continuation)["input_ids"].shape[1] - encode(AUDIO_TOKENS)["input_ids"].shape[1]
        )
