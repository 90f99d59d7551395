"""`mmmult adapters train`: one LoRA adapter per heuristic on the traces config, in PEFT's own format.

Each adapter learns the worked solutions of one heuristic: the model reads the prompt as the text-numerals
task asks it, then the solution (a newline, the worked lines, the end-of-text token); the loss is on the
solution's tokens only. OUT/<heuristic>/ holds PEFT's adapter_config.json and adapter_model.safetensors
and a manifest.json: the base model's identity, the sha256 of the traces used, the options and library
versions (the key), and what training gave (the result).

The batches are a function of the seed and the step alone and dropout is off, so a run resumed from its
checkpoint ends with the adapter an uninterrupted run gives. An adapter whose manifest holds the same key
is complete and skipped; one whose checkpoint holds it resumes there; anything else in its folder is
trained again from the start.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from dataset_builder import interrupts
from dataset_builder.probe.costs import HEURISTICS
from mmmult.adapters import AdapterError
from mmmult.adapters.base import base_identity, check_heuristics, data_sha256, library_versions, load_base, load_traces

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SEPARATOR = "\n"
"""Between the prompt and the solution."""
IGNORE = -100
"""The label of a token without loss (the prompt's, the padding's): what torch's cross entropy skips."""
MANIFEST = "manifest.json"
CHECKPOINT = "checkpoint.pt"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """What decides an adapter's weights (with the base model and the traces)."""

    heuristics: tuple[str, ...] = HEURISTICS
    target_modules: tuple[str, ...] | None = None
    """The modules LoRA adapts; None: PEFT's default for the architecture (Qwen2: q_proj, v_proj)."""
    rank: int = 8
    alpha: float = 16.0
    steps: int = 200
    lr: float = 2e-4
    batch_size: int = 4
    max_length: int = 512
    """Traces longer than this (prompt and solution, in tokens) are left out, and counted in the manifest."""
    seed: int = 0
    limit: int | None = None
    """Train on a seeded sample of this many traces per heuristic (None: all the train split holds)."""
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        check_heuristics(self.heuristics)
        for name in ("rank", "steps", "batch_size", "max_length", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise AdapterError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.alpha <= 0:
            raise AdapterError(f"--lr and --alpha must be positive, got {self.lr} and {self.alpha}")

    def key(self) -> dict[str, Any]:
        """The options in a manifest's key (how often a checkpoint is written does not change the weights)."""
        values = asdict(self)
        del values["heuristics"], values["checkpoint_every"]
        values["target_modules"] = list(self.target_modules) if self.target_modules else None
        return values


@dataclass(frozen=True)
class Example:
    """One trace as token ids: the prompt's `context` tokens, then the solution's."""

    ids: tuple[int, ...]
    context: int


def encode(tokenizer: PreTrainedTokenizerBase, prompt: str, solution: str) -> Example:
    """The prompt tokenized alone (as a model reads it before it answers), then the separator, the solution
    and the end-of-text token."""
    context = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target = tokenizer(SEPARATOR + solution, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return Example(tuple(context + target), len(context))


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded input ids, attention mask and labels (IGNORE on the prompt and the padding)."""
    import torch

    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, : len(example.ids)] = torch.tensor(example.ids)
        mask[row, : len(example.ids)] = 1
        labels[row, example.context : len(example.ids)] = torch.tensor(example.ids[example.context :])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def solution_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """The summed negative log-likelihood of the batch's solution tokens, and how many there are."""
    import torch

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    total = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=IGNORE, reduction="sum"
    )
    return total, int((labels != IGNORE).sum())


def trace_loss(model: torch.nn.Module, examples: Sequence[Example], pad_id: int, batch_size: int = 8) -> float:
    """Mean loss per solution token over the examples: what training lowers."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            loss, n = solution_loss(model, collate(examples[start : start + batch_size], pad_id))
            total, count = total + float(loss), count + n
    return total / count


def schedule(n: int, batch_size: int, steps: int, seed: int | str) -> list[list[int]]:
    """The examples of each step: seeded permutations of the n examples one after another, cut in batches."""
    rng, stream = random.Random(seed), []
    while len(stream) < steps * batch_size:
        order = list(range(n))
        rng.shuffle(order)
        stream += order
    return [stream[s * batch_size : (s + 1) * batch_size] for s in range(steps)]


def pad_id_of(tokenizer: PreTrainedTokenizerBase) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def train(base: str, data: str, out: str | Path, options: TrainOptions, gguf_file: str | None = None) -> dict[str, str]:
    """Train (or skip, or resume) the adapter of each heuristic into out/<heuristic>/; what happened to each:
    "trained", "resumed" or "skipped"."""
    traces = load_traces(data, options.heuristics, options.limit, options.seed)
    model, tokenizer = load_base(base, gguf_file)
    if tokenizer.eos_token_id is None:
        raise AdapterError(f"the tokenizer of {base} has no end-of-text token; a trace must end with one")
    identity, out = base_identity(base, gguf_file, model), Path(out)
    done = {}
    for heuristic in options.heuristics:
        examples = [encode(tokenizer, row["prompt"], row["solution"]) for row in traces[heuristic]]
        kept = [e for e in examples if len(e.ids) <= options.max_length]
        if not kept:
            raise AdapterError(f"every {heuristic} trace is longer than --max-length {options.max_length} tokens; "
                               "raise it, or build with smaller operands (--max-digits)")  # fmt: skip
        if len(kept) < len(examples):
            log.warning("%s: %d of %d traces are longer than %d tokens and left out",
                        heuristic, len(examples) - len(kept), len(examples), options.max_length)  # fmt: skip
        key = {
            "heuristic": heuristic,
            "base": identity,
            "data": {"build": str(Path(data).resolve()), "sha256": data_sha256(traces[heuristic]),
                     "traces": len(examples), "too_long": len(examples) - len(kept)},
            "options": options.key(),
            "versions": library_versions(),
        }  # fmt: skip
        done[heuristic], model = _train_one(model, tokenizer, kept, key, out / heuristic, options)
    return done


def _train_one(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: list[Example],
    key: dict[str, Any],
    folder: Path,
    options: TrainOptions,
) -> tuple[str, PreTrainedModel]:
    """One adapter; returns what happened and the base model without it (ready for the next)."""
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict

    if (folder / MANIFEST).is_file() and _key_of(json.loads((folder / MANIFEST).read_text())) == key:
        return "skipped", model
    state = torch.load(folder / CHECKPOINT, weights_only=False) if (folder / CHECKPOINT).is_file() else None
    if state is None or state["key"] != key:
        shutil.rmtree(folder, ignore_errors=True)
        state = None
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(options.seed)  # LoRA's A is drawn at random (B starts at zero)
    config = LoraConfig(
        r=options.rank,
        lora_alpha=options.alpha,
        lora_dropout=0.0,
        target_modules=list(options.target_modules) if options.target_modules else None,
        task_type="CAUSAL_LM",
    )
    try:
        adapted = get_peft_model(model, config)
    except ValueError as error:
        raise AdapterError(f"LoRA cannot adapt this base model: {str(error).splitlines()[0]} "
                           "(name its linear layers with --target-modules)") from None  # fmt: skip
    adapted.eval()  # no dropout: the steps are a function of the seed alone
    optimizer = torch.optim.AdamW([p for p in adapted.parameters() if p.requires_grad], lr=options.lr)
    losses: list[float] = []
    if state is not None:
        set_peft_model_state_dict(adapted, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        losses = state["losses"]
    pad_id = pad_id_of(tokenizer)
    batches = schedule(len(examples), options.batch_size, options.steps, f"{options.seed}:{key['heuristic']}")
    bar = tqdm(total=options.steps, initial=len(losses), desc=f"adapter {key['heuristic']}", unit="step")
    for step in range(len(losses), options.steps):
        total, count = solution_loss(adapted, collate([examples[i] for i in batches[step]], pad_id))
        optimizer.zero_grad()
        (total / count).backward()
        optimizer.step()
        losses.append(round(float(total.detach()) / count, 6))
        bar.update()
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if (step + 1) % options.checkpoint_every == 0 and step + 1 < options.steps:
            lora = get_peft_model_state_dict(adapted)
            _save_atomic({"key": key, "lora": lora, "optimizer": optimizer.state_dict(), "losses": losses}, folder)
        interrupts.check()
    bar.close()
    adapted.save_pretrained(str(folder))
    result = {
        "target_modules": sorted(adapted.peft_config["default"].target_modules),
        "trainable_parameters": sum(p.numel() for p in adapted.parameters() if p.requires_grad),
        "losses": losses,
    }
    (folder / MANIFEST).write_text(json.dumps(key | {"result": result}, indent=2) + "\n")
    (folder / CHECKPOINT).unlink(missing_ok=True)
    return ("resumed" if state is not None else "trained"), adapted.unload()


def _key_of(manifest: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in manifest.items() if name != "result"}


def _save_atomic(state: dict[str, Any], folder: Path) -> None:
    import torch

    partial = folder / (CHECKPOINT + ".partial")
    torch.save(state, partial)
    os.replace(partial, folder / CHECKPOINT)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a complete adapter folder."""
    path = folder / MANIFEST
    if not path.is_file():
        raise AdapterError(f"{folder} holds no complete adapter (no {MANIFEST}): train it with `mmmult adapters train`")
    return json.loads(path.read_text())
