"""Tiny models made on the spot (random weights from a config, a tokenizer trained here), for lm-eval runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmmult.probe_scoring.scores import PROBE_CHOICES

PROBE_TEXTS = [prefix for _, prefix in PROBE_CHOICES] + ["Round to the adjustment is x = write carry"]
"""The probe's words, so that the tiny models' tokenizers know its continuations."""


def word_tokenizer(corpus: list[str], extra_special: tuple[str, ...] = (), **kwargs: str):
    """A word-level tokenizer trained here on `corpus`, with <unk>, <|endoftext|> and `extra_special` tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    special = ["<unk>", "<|endoftext|>", *extra_special]
    tokenizer.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=special))
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        eos_token="<|endoftext|>",
        additional_special_tokens=list(extra_special),
        **kwargs,
    )


def save_random_model(folder: Path, preprocessor: Any, model_class: type, config: Any) -> Path:
    """Seeded random weights from `config` and their tokenizer or processor, where from_pretrained finds them."""
    import torch

    torch.manual_seed(0)
    preprocessor.save_pretrained(folder)
    model_class(config).save_pretrained(folder)
    return folder


def tiny_lm(folder: Path) -> Path:
    """A randomly initialised GPT-2 with a word-level tokenizer trained here on the prompts' words."""
    from transformers import GPT2Config, GPT2LMHeadModel

    corpus = [
        "Compute the exact product of the multiplication problem below. You may reason step by step.",
        'End with the final answer as an integer on its own line, in the form "Final Answer: <integer>".',
        "What is 47 times 36? 1692 eight million four thousand four times five hundred",
        *PROBE_TEXTS,
    ]
    fast = word_tokenizer(corpus)
    config = GPT2Config(vocab_size=len(fast), n_positions=256, n_embd=16, n_layer=1, n_head=2)
    return save_random_model(folder, fast, GPT2LMHeadModel, config)


def tiny_vlm(folder: Path, image_size: int = 56) -> Path:
    """A randomly initialised LLaVA (CLIP vision tower, Llama text model) with a processor made here."""
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    corpus = ["Compute the exact product of the multiplication problem shown in the image. Final Answer: 1692",
              *PROBE_TEXTS]  # fmt: skip
    fast = word_tokenizer(corpus, ("<image>",))
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=14,
        ),
        text_config=LlamaConfig(
            vocab_size=len(fast),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            eos_token_id=fast.eos_token_id,
        ),
        image_token_index=fast.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    chat_template = (
        "{% for m in messages %}{{ m['role'].upper() }}: {% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
        "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        ),
        tokenizer=fast,
        patch_size=14,
        vision_feature_select_strategy="default",
        image_token="<image>",
        num_additional_image_tokens=1,
        chat_template=chat_template,
    )
    return save_random_model(folder, processor, LlavaForConditionalGeneration, config)


def tiny_audio_lm(folder: Path) -> Path:
    """A randomly initialised Qwen2-Audio (Whisper-style encoder, Qwen2 text model) with a processor made here."""
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioEncoderConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        Qwen2Config,
        WhisperFeatureExtractor,
    )

    corpus = ["Compute the exact product of the multiplication problem spoken in the audio. Final Answer: 1692",
              *PROBE_TEXTS]  # fmt: skip
    fast = word_tokenizer(corpus, ("<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"), pad_token="<|endoftext|>")
    config = Qwen2AudioConfig(
        audio_config=Qwen2AudioEncoderConfig(
            num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32, d_model=16
        ),
        text_config=Qwen2Config(
            vocab_size=len(fast), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            num_key_value_heads=1, eos_token_id=fast.eos_token_id,
        ),
        audio_token_index=fast.convert_tokens_to_ids("<|AUDIO|>"),
    )  # fmt: skip
    processor = Qwen2AudioProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=fast)
    return save_random_model(folder, processor, Qwen2AudioForConditionalGeneration, config)


def tiny_qwen2_vl() -> tuple[Any, Any, Any]:
    """A randomly initialised Qwen2-VL (multimodal rotary positions), its tokenizer and image processor.

    No processor: transformers' Qwen2VLProcessor needs torchvision for videos, whose wheels here are
    CUDA builds that do not load with the CPU torch; tests build the model inputs themselves.
    """
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessorPil

    special = ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>")
    fast = word_tokenizer(["Compute the exact product", *PROBE_TEXTS], special, pad_token="<|endoftext|>")
    ids = dict(zip(("vision_start_token_id", "image_token_id", "vision_end_token_id", "video_token_id"),
                   fast.convert_tokens_to_ids(list(special)), strict=True))  # fmt: skip
    config = Qwen2VLConfig(
        vision_config={"depth": 1, "embed_dim": 32, "hidden_size": 32, "num_heads": 2, "mlp_ratio": 2,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2},
        text_config={"vocab_size": len(fast), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "num_key_value_heads": 1, "eos_token_id": fast.eos_token_id,
                     "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}},
        **ids,
    )  # fmt: skip
    torch.manual_seed(0)
    model = Qwen2VLForConditionalGeneration(config).eval()
    return model, fast, Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112)


def tiny_trace_lm(folder: Path, corpus: list[str], n_embd: int = 16) -> Path:
    """A randomly initialised GPT-2 whose word-level tokenizer knows `corpus` (a build's traces and probe texts),
    with room for a worked solution of 3-digit operands; `n_embd` makes another base model of the same kind."""
    from transformers import GPT2Config, GPT2LMHeadModel

    fast = word_tokenizer([*corpus, *PROBE_TEXTS])
    config = GPT2Config(vocab_size=len(fast), n_positions=1024, n_embd=n_embd, n_layer=1, n_head=2,
                        bos_token_id=fast.eos_token_id, eos_token_id=fast.eos_token_id)  # fmt: skip
    return save_random_model(folder, fast, GPT2LMHeadModel, config)
