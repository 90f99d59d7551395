"""The dataset card of a build: `dataset_card.md` with this build's configs, features and counts, and the
`eval.yaml` beside it, in the Hub's specification, that runs the text configs' multiplication tasks with inspect-ai."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import datasets
import yaml
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard

from dataset_builder.citation import CITATION_MARKER, citation_markdown
from dataset_builder.configs import CONFIGS, data_file_pattern
from dataset_builder.inspect_tasks import GENERATING_TASKS, TASK_NAME
from dataset_builder.problems import split_order
from dataset_builder.prompts import direct_prompt, multiply_prompt
from dataset_builder.tasks import DIRECT, MULTIPLY, Task

MARKER = "<!-- build-summary -->"
TASK_CATEGORIES = {"text": "question-answering", "image": "visual-question-answering", "audio": "audio-text-to-text"}
SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(problems: int) -> str:
    """The Hub's size category of a build by its problems (rows per config).

    >>> size_category(400), size_category(10_125)
    ('n<1K', '10K<n<100K')
    """
    return next((name for bound, name in SIZES if problems < bound), "1M<n<10M")


def template() -> str:
    """The card text shipped with the package (the repository's dataset_card.md)."""
    return (files("dataset_builder") / "dataset_card.md").read_text(encoding="utf-8")


def data_files(folder: Path, config: str) -> list[dict[str, str]]:
    """The `data_files` entries of one config, one per split found on disk."""
    found = {p.name.split("-")[0] for p in (folder / config).glob("*.parquet")}
    splits = sorted(found, key=split_order)
    return [{"split": split, "path": data_file_pattern(config, split)} for split in splits]


def write_card(folder: Path, infos: dict[str, datasets.DatasetInfo], manifest: dict[str, Any]) -> None:
    """Write `<folder>/README.md`: YAML `configs` and `dataset_info` for exactly what was built."""
    card = DatasetCard(template())
    modalities = {CONFIGS[name].modality for name in infos}
    card.data["task_categories"] = [task for modality, task in TASK_CATEGORIES.items() if modality in modalities]
    card.data["size_categories"] = [size_category(manifest["num_problems"])]
    card.data["configs"] = []
    MetadataConfigs({name: {"data_files": data_files(folder, name)} for name in infos}).to_dataset_card_data(card.data)
    DatasetInfosDict(infos).to_dataset_card_data(card.data)
    card.text = card.text.replace(MARKER, summary(manifest)).replace(CITATION_MARKER, citation_markdown())
    card.save(str(folder / "README.md"))
    (folder / EVAL_YAML).write_text(eval_yaml(list(infos)), encoding="utf-8")


EVAL_YAML = "eval.yaml"
EVAL_FRAMEWORK = "inspect-ai"
INSPECT_TASK_FILE = "eval/inspect/task.py"
FINAL_ANSWER_PATTERN = r"(?s).*final answer:\s*(\d+)"
"""The digits right after the last "Final Answer:", which inspect-ai's `pattern` scorer compares with the product
as text. Its `match` scorer with numeric=True is no match for this benchmark: it compares numbers to 5 significant
digits (inspect-ai 0.3.285 scores 123457 right for 123456)."""


def eval_yaml(configs: list[str]) -> str:
    """The build's `eval.yaml` in the Hub's specification: inspect-ai as the framework and, for each multiplication
    task of a text config built, the columns, solvers and scorer that ask and score what the mmmult task does.

    The rest stay with the task file (eval/inspect/task.py): the image configs, because inspect's loader takes
    `input_image` as a data-URI string column and the image column is an Image feature (their `stimulus` column
    states the operands in words, so it cannot be the text input either); the audio configs, because the
    specification has no audio field; and the perception tasks, because no column holds their two-operand target.

    >>> print(eval_yaml(["text-words"]).split("tasks:")[0].strip())
    # Written by mmmult build (dataset_builder/dataset/card.py). Every config, kind and regime, media included,
    # runs with the inspect-ai task eval/inspect/task.py@mmmult of the mmmult repository.
    name: mmmult
    description: Paired multimodal multiplication problems; the same problem as numerals, words, an image or speech.
    evaluation_framework: inspect-ai
    >>> [task["id"] for task in yaml.safe_load(eval_yaml(["text-words", "image-words"]))["tasks"]]
    ['mmmult_text_words', 'mmmult_direct_text_words']
    """
    record = {
        "name": TASK_NAME,
        "description": "Paired multimodal multiplication problems; the same problem as numerals, words, an image or "
        "speech.",
        "evaluation_framework": EVAL_FRAMEWORK,
        "tasks": [hub_task(t) for t in GENERATING_TASKS.values() if t.config in configs and in_eval_yaml(t)],
    }
    head = (
        "# Written by mmmult build (dataset_builder/dataset/card.py). Every config, kind and regime, media included,\n"
        f"# runs with the inspect-ai task {INSPECT_TASK_FILE}@{TASK_NAME} of the mmmult repository.\n"
    )
    return head + yaml.safe_dump(record, sort_keys=False, width=120)


def in_eval_yaml(task: Task) -> bool:
    """Whether the Hub's specification can state the task: a multiplication task of a text config, on test."""
    return task.split == "test" and task.kind is MULTIPLY and CONFIGS[task.config].modality == "text"


def hub_task(task: Task) -> dict[str, Any]:
    """One task of eval.yaml: the stimulus as input under the task's instruction (prompt_template makes the same
    prompt as dataset_builder.prompts), the product as target, and its digits after "Final Answer:" scored.

    >>> hub_task(GENERATING_TASKS["mmmult_direct_text_numerals"])["field_spec"]
    {'input': 'stimulus', 'target': 'product'}
    """
    ask = direct_prompt if task.regime == DIRECT else multiply_prompt
    template = ask({"modality": "text", "stimulus": "{prompt}"})
    return {
        "id": task.name,
        "config": task.config,
        "split": task.split,
        "field_spec": {"input": "stimulus", "target": "product"},
        "solvers": [{"name": "prompt_template", "args": {"template": template}}, {"name": "generate"}],
        "scorers": [{"name": "pattern", "args": {"pattern": FINAL_ANSWER_PATTERN}}],
    }


def _own_gaps(manifest: dict[str, Any], audio: dict[str, Any]) -> str:
    """The configs of the build that espeak-ng speaks with a word gap of their own (configs.speech_word_gap).

    >>> _own_gaps({"configs": {"audio-digits": {}, "extended-audio-digits": {}}}, {"backend": "espeak-ng"})
    ' (extended-audio-digits: word gap 10)'
    >>> _own_gaps({"configs": {"extended-audio-digits": {}}}, {"backend": "espnet"})
    ''
    """
    if audio["backend"] != "espeak-ng":
        return ""
    own = {name: CONFIGS[name].speech_word_gap for name in manifest["configs"] if name in CONFIGS}
    return "".join(f" ({name}: word gap {gap})" for name, gap in own.items() if gap is not None)


def summary(manifest: dict[str, Any]) -> str:
    """Markdown for the card's "This build" section: options, rows per split, file hashes."""
    options = manifest["options"]
    source = f"CSV `{options['from_csv']['file']}`" if options.get("from_csv") else _design(options)
    lines = [
        f"Built by mmmult {manifest['mmmult_version']} from {source}, seed {options['seed']}, "
        f"{options['per_stratum']} per stratum: {manifest['num_problems']:,} problems "
        f"(fingerprint `{manifest['fingerprint'][:16]}`).{subset(options['bounds'])}",
        "",
        "| config | " + " | ".join(_split_names(manifest)) + " |",
        "|---|" + "---|" * len(_split_names(manifest)),
    ]
    for name, counts in manifest["configs"].items():
        lines.append(f"| {name} | " + " | ".join(f"{counts.get(s, 0):,}" for s in _split_names(manifest)) + " |")
    for name, facts in manifest.get("probe_sets", {}).items():
        splits = ", ".join(f"{n:,} {split}" for split, n in facts["splits"].items())
        lines += ["", f"Probe set `{name}`: {facts['items']:,} items ({splits}), {facts['source']}"
                  f" (fingerprint `{facts['fingerprint'][:16]}`)."]  # fmt: skip
    bands = manifest["test_per_band"]
    lines += ["", "Test problems per C band (each config holds all of them):", ""]
    lines += ["| C band | " + " | ".join(bands) + " |", "|---|" + "---|" * len(bands)]
    lines.append("| test problems | " + " | ".join(f"{n:,}" for n in bands.values()) + " |")
    renderers = manifest["renderers"]
    if "image" in renderers:
        image = renderers["image"]
        lines += [
            "",
            f"Images: {image['font']} ({image['font_file']}, sha256 `{image['font_sha256'][:16]}`)"
            f" at {image['font_size']} px.",
        ]
    if "audio" in renderers:
        audio = renderers["audio"]
        stored = f"Opus at {audio['kbps']} kbit/s" if audio["codec"] == "opus" else "lossless 16-bit FLAC"
        lines += [
            "",
            f"Audio: {audio['backend']} {audio['engine_version']}, voice {audio['voice']}, rate {audio['rate']},"
            f" word gap {audio['word_gap']}{_own_gaps(manifest, audio)}; stored as {stored}.",
        ]
    if "verification" in manifest:
        checked = next(iter(manifest["verification"].values()))["checked"]
        lines += ["", f"Read back ({checked:,} items per config; images by tesseract, audio by Whisper tiny.en):", ""]
        lines += ["| config | exact | share |", "|---|---|---|"]
        for name, figures in manifest["verification"].items():
            lines.append(f"| {name} | {figures['exact']:,} / {figures['checked']:,} | {figures['share']:.2%} |")
    lines += ["", "<details><summary>sha256 of every file</summary>", "", "| file | sha256 |", "|---|---|"]
    lines += [f"| {path} | `{digest}` |" for path, digest in manifest["files"].items()]
    lines += ["", "</details>"]
    return "\n".join(lines)


def subset(bounds: dict[str, int | None]) -> str:
    """How a build was narrowed from its source, as a sentence ('' for the whole set).

    >>> subset({"min_digits": None, "max_digits": 4, "min_c": None, "max_c": 40, "limit": 400})[:70]
    ' A subset: operands of at most 4 digits, C at most 40, a seeded sample'
    >>> subset({"min_digits": None, "max_digits": 5, "min_c": None, "max_c": None, "limit": 9, "with_mini": True})
    ' A subset: operands of at most 5 digits, a seeded sample of 9 plus every problem of the mini split of the whole \
set within these bounds (the bounds leave ids, operands and splits unchanged).'
    """
    parts = []
    for kind, noun in (("digits", "operands of"), ("c", "C")):
        low, high = bounds[f"min_{kind}"], bounds[f"max_{kind}"]
        unit = " digits" if kind == "digits" else ""
        if low is not None and high is not None:
            parts.append(f"{noun} {low} to {high}{unit}")
        elif low is not None:
            parts.append(f"{noun} at least {low}{unit}")
        elif high is not None:
            parts.append(f"{noun} at most {high}{unit}")
    if bounds["limit"] is not None:
        mini = " plus every problem of the mini split of the whole set" if bounds.get("with_mini") else ""
        within = " within these bounds" if mini and parts else ""
        parts.append(f"a seeded sample of {bounds['limit']:,}{mini}{within}")
    if not parts:
        return ""
    return f" A subset: {', '.join(parts)} (the bounds leave ids, operands and splits unchanged)."


def _design(options: dict[str, Any]) -> str:
    """The factorial set a build was drawn from, as the card names it."""
    if options.get("problem_set", "base") == "base":
        return "the default factorial set"
    return "the extended factorial set (operands of up to 30 digits, C from 101 to 3,600)"


def _split_names(manifest: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for counts in manifest["configs"].values():
        seen += [s for s in counts if s not in seen]
    return seen
