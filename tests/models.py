"""Tiny models made on the spot (random weights from a config, a tokenizer trained here), for lm-eval runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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

    from dataset_builder.probe.scores import PROBE_CHOICES

    corpus = [
        "Compute the exact product of the multiplication problem below. You may reason step by step.",
        'End with the final answer as an integer on its own line, in the form "Final Answer: <integer>".',
        "What is 47 times 36? 1692 eight million four thousand four times five hundred",
        *(prefix for _, prefix in PROBE_CHOICES),
    ]
    fast = word_tokenizer(corpus)
    config = GPT2Config(vocab_size=len(fast), n_positions=256, n_embd=16, n_layer=1, n_head=2)
    return save_random_model(folder, fast, GPT2LMHeadModel, config)
