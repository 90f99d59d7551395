"""The base model and the training traces of the adapters, and what identifies each in a manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataset_builder.dataset.pipeline import MANIFEST, is_complete_build
from dataset_builder.dataset.versions import package_version
from dataset_builder.probe.costs import HEURISTICS
from mmmult.adapters import AdapterError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

LIBRARIES = ("mmmult", "torch", "transformers", "peft")
UNIDENTIFYING = ("transformers_version", "_name_or_path", "_commit_hash", "dtype", "torch_dtype")
"""Config entries that say how a model was saved or loaded, not which model it is."""
log = logging.getLogger(__name__)


def check_heuristics(heuristics: Sequence[str]) -> tuple[str, ...]:
    """The heuristics asked for, each one of OT, DD and RC."""
    unknown = [h for h in heuristics if h not in HEURISTICS]
    if unknown or not heuristics:
        raise AdapterError(f"unknown heuristic(s) {', '.join(map(repr, unknown)) or '(none given)'}: "
                           f"choose from {', '.join(HEURISTICS)}")  # fmt: skip
    return tuple(dict.fromkeys(heuristics))


def load_base(base: str, gguf_file: str | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A causal LM and its tokenizer as transformers loads them (from a GGUF file in the folder when
    `gguf_file` is given), in float32 on the CPU, in eval mode (no dropout)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not Path(base).is_dir():
        raise AdapterError(f"cannot load the base model {base}: no such folder (give the folder of a model "
                           "that transformers loads, with --gguf-file FILE for a GGUF file in it)")  # fmt: skip
    if gguf_file and not (Path(base) / gguf_file).is_file():
        raise AdapterError(f"cannot load the base model {base}: it holds no GGUF file {gguf_file}")
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(base, **extra)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, **extra)
    except (OSError, ValueError, KeyError, ImportError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AdapterError(f"cannot load the base model {base}: {reason}") from None
    return model.eval(), tokenizer


def base_identity(base: str, gguf_file: str | None, model: PreTrainedModel) -> dict[str, Any]:
    """What names the base model in a manifest: where it was read, its revision where transformers knows one,
    and the sha256 of its config (without the entries of UNIDENTIFYING), which adapters of one base share."""
    config = {k: v for k, v in model.config.to_dict().items() if k not in UNIDENTIFYING}
    canonical = json.dumps(config, sort_keys=True, default=str)
    return {
        "base": str(Path(base).resolve()),
        "gguf_file": gguf_file,
        "model_type": model.config.model_type,
        "revision": getattr(model.config, "_commit_hash", None),
        "config_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
    }


def same_base(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two identities name one base model: the same config, revision and GGUF file (a moved folder
    is the same model)."""
    keys = ("config_sha256", "revision", "gguf_file")
    return all(first.get(k) == second.get(k) for k in keys)


def library_versions() -> dict[str, str]:
    return {name: package_version(name) for name in LIBRARIES} | {"python": platform.python_version()}


def load_traces(data: str, heuristics: Sequence[str], limit: int | None = None, seed: int = 0) -> dict[str, list]:
    """The traces config's train rows of each heuristic, in build order, or a seeded sample of `limit` of them."""
    import random

    import datasets

    folder = Path(data)
    if not is_complete_build(folder):
        raise AdapterError(f"{data} is not a complete mmmult build: make one with "
                           f"`mmmult build --out {data} --configs traces,hds-text,text-numerals`")  # fmt: skip
    built = json.loads((folder / MANIFEST).read_text())["configs"]
    if "traces" not in built:
        raise AdapterError(f"the build {data} has no traces config (it holds {', '.join(built)}): rebuild it "
                           "with traces among --configs")  # fmt: skip
    table = datasets.load_dataset(str(folder), "traces", split="train")
    rows = table.select_columns(["problem_id", "heuristic", "prompt", "solution"]).to_list()
    chosen = {}
    for heuristic in heuristics:
        mine = [row for row in rows if row["heuristic"] == heuristic]
        if limit is not None and limit < len(mine):
            keep = set(random.Random(f"{seed}:{heuristic}").sample(range(len(mine)), limit))
            mine = [row for i, row in enumerate(mine) if i in keep]
        chosen[heuristic] = mine
    return chosen


def data_sha256(rows: Sequence[dict[str, Any]]) -> str:
    """sha256 over the trace rows used, in order: equal hashes mean an adapter saw the same text."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True).encode() + b"\n")
    return digest.hexdigest()
