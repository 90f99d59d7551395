"""`mmmult adapters compare`: how the heuristic adapters differ from each other and from their base model.

(a) Weights: the cosine between the adapters' updates, delta W = B A x scaling (PEFT's own get_delta_weight),
    per adapted module and flattened over all of them (a module one adapter leaves alone counts as zero).
(b) Nudge: the heuristic probe on the hds-text config's test items, with each adapter and with none: the loss
    probe's preferences (prefers_OT/DD/RC) and the step probe's gaps, from log-likelihoods computed here
    (one context pass per item, harness/loglikelihood.py) and scored by probe/scores.py as the tasks score them.
(c) Accuracy: greedy answers to the text-numerals task's prompt (test or mini split), read with the core's
    extract_answer, per C band with Wilson intervals; each adapter against the base by McNemar's paired test,
    Holm-adjusted over the adapters within each band (leaderboard/analysis.py's functions).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
from tqdm.auto import tqdm

from dataset_builder import interrupts
from dataset_builder.answers import extract_answer
from dataset_builder.dataset.pipeline import MANIFEST, is_complete_build
from dataset_builder.probe.costs import HEURISTICS
from dataset_builder.problems import C_BANDS, MINI, band_of
from dataset_builder.prompts import multiply_prompt, probe_context
from mmmult.adapters import AdapterError
from mmmult.adapters.base import base_identity, check_heuristics, load_base, same_base
from mmmult.adapters.train import pad_id_of, read_manifest
from mmmult.harness.loglikelihood import SharedContextScorer, split_continuation
from mmmult.probe_scoring.scores import PROBE_CHOICES, score_probe, score_steps, step_choices
from mmmult.statistics.analysis import holm, paired_gap, wilson

if TYPE_CHECKING:
    import torch
    from peft import PeftModel
    from transformers import PreTrainedTokenizerBase

BASE = "base"
"""The name of the base model (no adapter) in every table."""
DELIMITER = " "
"""Between a probe item's context and each continuation: lm-eval's default target_delimiter, which the probe's
tasks keep (eval/mmmult/_probe_template_yaml sets none)."""
NUDGE_METRICS = (*(f"prefers_{h}" for h in HEURISTICS), "match", "gap", *(f"gap_{h}" for h in HEURISTICS))
PEFT_PREFIX = "base_model.model."
"""What PEFT puts before the base model's own module names."""
BANDS = (*(f"{low}-{high}" for low, high in C_BANDS), "all")


@dataclass(frozen=True)
class CompareOptions:
    probe_items: int | None = 60
    """hds-text test items for the nudge (a seeded sample; None: all)."""
    accuracy_items: int | None = None
    """text-numerals items for the accuracy (a seeded sample of the split; None: all)."""
    split: str = MINI
    """The text-numerals split whose problems the accuracy reads: mini (150) or test."""
    max_new_tokens: int = 512
    seed: int = 0


@dataclass(frozen=True)
class Comparison:
    """What `compare` finds: the tables that `mmmult adapters compare` prints, as rows."""

    cosines: list[dict[str, Any]]
    """One row per module and one for all modules ("all"), a column per pair of adapters: "OT-DD"."""
    nudge: list[dict[str, Any]]
    """One row per model (base, then each adapter): the means of NUDGE_METRICS over the items."""
    accuracy: list[dict[str, Any]]
    """One row per model and C band (and "all"): correct, n, accuracy, Wilson interval; for an adapter the
    paired gap to the base, McNemar's p and its Holm adjustment."""

    def as_json(self) -> str:
        return json.dumps({"cosines": self.cosines, "nudge": self.nudge, "accuracy": self.accuracy}, indent=2)


def adapter_folders(out: str | Path, heuristics: Sequence[str]) -> dict[str, Path]:
    """Each heuristic's complete adapter folder under `out` (what `mmmult adapters train --out` wrote)."""
    folders = {h: Path(out) / h for h in check_heuristics(heuristics)}
    for folder in folders.values():
        read_manifest(folder)
    return folders


def check_same_base(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The base all the adapters were trained on; adapters of different bases cannot be compared."""
    (first, reference), *rest = manifests.items()
    for name, manifest in rest:
        if not same_base(reference["base"], manifest["base"]):
            raise AdapterError(f"adapters of different base models cannot be compared: {first} was trained on "
                               f"{reference['base']['base']}, {name} on {manifest['base']['base']}; "
                               "train them on one base")  # fmt: skip
    return reference["base"]


def load_adapted(folders: dict[str, Path], base: str | None = None) -> tuple[PeftModel, PreTrainedTokenizerBase]:
    """The base model (from the adapters' manifests unless `base` is given) with every adapter loaded by name."""
    from peft import PeftModel

    manifests = {name: read_manifest(folder) for name, folder in folders.items()}
    identity = check_same_base(manifests)
    path, gguf_file = base or identity["base"], identity["gguf_file"]
    model, tokenizer = load_base(path, gguf_file)
    if not same_base(identity, base_identity(path, gguf_file, model)):
        raise AdapterError(f"the adapters were trained on another base model than {path} "
                           f"({identity['base']}): give that one with --base")  # fmt: skip
    (first, folder), *rest = folders.items()
    adapted = PeftModel.from_pretrained(model, str(folder), adapter_name=first)
    for name, other in rest:
        adapted.load_adapter(str(other), adapter_name=name)
    return adapted.eval(), tokenizer


def delta_weights(adapted: PeftModel, name: str) -> dict[str, torch.Tensor]:
    """Adapter `name`'s update of each module it adapts, B A x scaling, as PEFT computes it."""
    from peft.tuners.lora import LoraLayer

    return {
        module_name.removeprefix(PEFT_PREFIX): module.get_delta_weight(name).detach().float()
        for module_name, module in adapted.named_modules()
        if isinstance(module, LoraLayer) and name in module.lora_A
    }


def cosine_table(deltas: dict[str, dict[str, torch.Tensor]]) -> list[dict[str, Any]]:
    """Cosines between the adapters' updates: a row per module (sorted), then "all" (flattened over modules)."""
    import torch

    names = list(deltas)
    modules = sorted(set().union(*(d.keys() for d in deltas.values())))
    pairs = list(itertools.combinations(names, 2))
    rows = []
    dots = {pair: 0.0 for pair in pairs}
    norms = dict.fromkeys(names, 0.0)
    for module in modules:
        row: dict[str, Any] = {"module": module}
        for first, second in pairs:
            x, y = deltas[first].get(module), deltas[second].get(module)
            if x is None or y is None:
                row[f"{first}-{second}"] = 0.0
                continue
            dots[first, second] += float((x * y).sum())
            row[f"{first}-{second}"] = float(torch.nn.functional.cosine_similarity(x.flatten(), y.flatten(), dim=0))
        rows.append(row)
        for name in names:
            if module in deltas[name]:
                norms[name] += float((deltas[name][module] ** 2).sum())
    overall: dict[str, Any] = {"module": "all"}
    for first, second in pairs:
        overall[f"{first}-{second}"] = dots[first, second] / ((norms[first] * norms[second]) ** 0.5)
    return [*rows, overall]


def probe_scores(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, doc: dict[str, Any]) -> dict[str, float]:
    """The loss probe's and the step probe's metrics for one hds-text item, from log-likelihoods computed here."""
    import torch

    scorer = SharedContextScorer(model, pad_id_of(tokenizer))
    context = probe_context(doc)

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    inputs = {"input_ids": torch.tensor([encode(context)])}
    prefixes = [split_continuation(encode, context, DELIMITER + prefix) for _, prefix in PROBE_CHOICES]
    steps = [split_continuation(encode, context, DELIMITER + step.text) for _, step in step_choices(doc["a"], doc["b"])]
    probe_lls = [ll for ll, _ in scorer.score(inputs, prefixes)]
    step_lls = [ll for ll, _ in scorer.score(inputs, steps)]
    probe = score_probe(doc, probe_lls, [len(tokens) for tokens in prefixes])
    return {name: value for name, value in probe.items() if value is not None} | score_steps(doc, step_lls)


def nudge_table(
    adapted: PeftModel, tokenizer: PreTrainedTokenizerBase, docs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The probe's means over the items for the base (adapters off) and each adapter."""
    rows = []
    for name in _variants(adapted):
        scores = []
        with _active(adapted, name):
            for doc in tqdm(docs, desc=f"probe: {name}", unit="item"):
                scores.append(probe_scores(adapted.get_base_model(), tokenizer, doc))
                interrupts.check()
        rows.append({"model": name} | {m: sum(s[m] for s in scores) / len(scores) for m in NUDGE_METRICS})
    return rows


def answer(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, prompt: str, max_new_tokens: int) -> str:
    """The model's greedy response to the prompt, up to its end-of-text token or `max_new_tokens`."""
    import torch

    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad_id_of(tokenizer),
            eos_token_id=tokenizer.eos_token_id,
        )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def correctness(
    adapted: PeftModel, tokenizer: PreTrainedTokenizerBase, rows: list[dict[str, Any]], max_new_tokens: int
) -> dict[str, list[bool]]:
    """Whether each model's answer to each problem is its product, per model (base first)."""
    outcomes = {}
    for name in _variants(adapted):
        with _active(adapted, name):
            outcomes[name] = []
            for row in tqdm(rows, desc=f"multiply: {name}", unit="problem"):
                response = answer(adapted, tokenizer, multiply_prompt(row), max_new_tokens)
                outcomes[name].append(extract_answer(response) == row["product"])
                interrupts.check()
    return outcomes


def accuracy_table(rows: list[dict[str, Any]], outcomes: dict[str, list[bool]]) -> list[dict[str, Any]]:
    """Accuracy per model and C band with Wilson's interval; each adapter's paired gap to the base with
    McNemar's p, Holm-adjusted over the adapters within the band."""
    bands = [f"{low}-{high}" for low, high in (band_of(row["C"]) for row in rows)]
    table = []
    for band in BANDS:
        keep = [i for i, b in enumerate(bands) if band in (b, "all")]
        if not keep:
            continue
        base = [outcomes[BASE][i] for i in keep]
        gaps = {name: paired_gap([mine[i] for i in keep], base) for name, mine in outcomes.items() if name != BASE}
        adjusted = dict(zip(gaps, holm([gap.p_value for gap in gaps.values()]), strict=True))
        for name, mine in outcomes.items():
            correct = sum(mine[i] for i in keep)
            low, high = wilson(correct, len(keep))
            row = {"model": name, "band": band, "correct": correct, "n": len(keep), "accuracy": correct / len(keep),
                   "low": low, "high": high}  # fmt: skip
            if name in gaps:
                row |= {"gap": gaps[name].accuracy_gap, "p": gaps[name].p_value, "p_holm": float(adjusted[name])}
            table.append(row)
    return table


def read_split(data: str, config: str, split: str, limit: int | None, seed: int) -> list[dict[str, Any]]:
    """A config's split from a build (without media), or a seeded sample of `limit` of its rows."""
    folder = Path(data)
    if not is_complete_build(folder):
        raise AdapterError(f"{data} is not a complete mmmult build: make one with "
                           f"`mmmult build --out {data} --configs traces,hds-text,text-numerals`")  # fmt: skip
    built = json.loads((folder / MANIFEST).read_text())["configs"]
    if split not in built.get(config, {}):
        older = " (a build made before the mini split existed has none)" if split == MINI else ""
        raise AdapterError(f"the build {data} has no {split} split of {config}: rebuild it with {config} among "
                           f"--configs{older}")  # fmt: skip
    rows = datasets.load_dataset(str(folder), config, split=split).to_list()
    if limit is not None and limit < len(rows):
        keep = sorted(random.Random(f"{seed}:{config}").sample(range(len(rows)), limit))
        rows = [rows[i] for i in keep]
    return rows


def compare(
    out: str | Path, data: str, heuristics: Sequence[str] = HEURISTICS, options: CompareOptions | None = None,
    base: str | None = None,
) -> Comparison:  # fmt: skip
    """The three comparisons of the adapters under `out` (one per heuristic) with their base model."""
    options = options or CompareOptions()
    folders = adapter_folders(out, heuristics)
    docs = read_split(data, "hds-text", "test", options.probe_items, options.seed)
    problems = read_split(data, "text-numerals", options.split, options.accuracy_items, options.seed)
    adapted, tokenizer = load_adapted(folders, base)
    cosines = cosine_table({name: delta_weights(adapted, name) for name in folders})
    nudge = nudge_table(adapted, tokenizer, docs)
    outcomes = correctness(adapted, tokenizer, problems, options.max_new_tokens)
    return Comparison(cosines, nudge, accuracy_table(problems, outcomes))


def _variants(adapted: PeftModel) -> list[str]:
    return [BASE, *adapted.peft_config]


@contextlib.contextmanager
def _active(adapted: PeftModel, name: str) -> Iterator[None]:
    """Within it, the model runs with adapter `name` alone, or with none for BASE."""
    if name == BASE:
        with adapted.disable_adapter():
            yield
    else:
        adapted.set_adapter(name)
        yield


def tables(comparison: Comparison) -> str:
    """The three tables as `mmmult adapters compare` prints them."""
    import pandas as pd

    parts = [
        ("(a) cosine between the adapters' weight updates (delta W = B A x scaling)", comparison.cosines),
        ("(b) nudge: the loss probe's preferences and the step probe's gaps on hds-text test", comparison.nudge),
        ("(c) accuracy on text multiplication by C band (Wilson 95%; McNemar vs base, Holm)", comparison.accuracy),
    ]
    return "\n\n".join(f"{title}\n{pd.DataFrame(rows).to_string(index=False, float_format='{:.3f}'.format)}"
                        for title, rows in parts)  # fmt: skip
