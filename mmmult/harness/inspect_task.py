"""The mmmult task for inspect-ai (eval/inspect/task.py is its thin entry): the lm-eval task's items, prompt,
budget and scoring, with the image or clip as a content part of the user's message.

Which task of the table a run is comes from its parameters (dataset_builder.inspect_tasks); the prompt is
the lm-eval task's, from dataset_builder.prompts; the scorer reads the answer with dataset_builder.answers and
scores it with dataset_builder.scoring, so a response scores here exactly as in lm-eval. Images go as the
build's PNG bytes unchanged; clips as the 16-bit PCM WAV that the chat models of `mmmult eval` send
(chat_audio.wav_base64: chat APIs take WAV or MP3, not the build's Opus). Each sample's metadata holds its
problem and the sha256 of its medium as the build stores it (as lmms-eval's item records do), which the board checks
against the build's record (mmmult/leaderboard/intake/inspect_log.py).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import datasets
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser, Content, ContentAudio, ContentImage, ContentText, GenerateConfig
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate

from dataset_builder.answers import extract_answer, extract_operands, operands_text
from dataset_builder.configs import CONFIGS, data_file_pattern
from dataset_builder.dataset.features import undecoded_media
from dataset_builder.inspect_tasks import TASK_NAME, budget, chat_prompt, table_task
from dataset_builder.media.codec import decode_audio
from dataset_builder.problems import MINI
from dataset_builder.scoring import PERCEPTION_METRICS, SCORES, score_answer, score_perception
from dataset_builder.shards import deal, parse_shard
from dataset_builder.tasks import MULTIPLY
from dataset_builder.tasks import Task as TableTask
from mmmult.harness import EvalSetupError
from mmmult.harness.chat_audio import wav_base64
from mmmult.harness.evaluate import data_source

MEDIA_DIGEST = "media_sha256"
"""The sample metadata key of the sha256 of the medium's bytes as stored in the build (the PNG sent, or the Opus
whose samples the WAV sent holds)."""
LM_EVAL_TASK = "lm_eval_task"
"""The task metadata key of the lm-eval task the run is, by name."""


@task(name=TASK_NAME)
def mmmult_task(
    config: str = "text-numerals",
    kind: str = "multiply",
    regime: str = "worked",
    split: str = "test",
    mini: bool = False,
    data: str | None = None,
    shard: str | None = None,
) -> Task:
    """The inspect-ai task of one config, kind and regime on one split (mini=true: the mini split) of the build at
    `data` (a folder or Hub repo id; else $MMMULT_DATA, else ./mmmult-data); `shard` "I/N" keeps shard I."""
    task = table_task(config, kind, regime, MINI if mini else split)
    return Task(
        dataset=MemoryDataset(samples_of(task, data, shard), name=f"mmmult/{task.config}", location=data_source(data)),
        solver=generate(),
        scorer=multiply_scorer() if task.kind is MULTIPLY else perceive_scorer(),
        config=GenerateConfig(temperature=0.0, max_tokens=budget(task)),
        version=int(task.version) if float(task.version).is_integer() else str(task.version),
        name=TASK_NAME,
        metadata={LM_EVAL_TASK: task.name},
    )


def rows_of(task: TableTask, data: str | None, shard: str | None) -> datasets.Dataset:
    """The task's split of its config, media undecoded (the bytes as built), in the split's order."""
    source = data_source(data)
    try:
        rows = datasets.load_dataset(
            source, task.config, data_files={task.split: data_file_pattern(task.config, task.split)}, split=task.split
        )
    except datasets.exceptions.DataFilesNotFoundError:
        raise EvalSetupError(
            f"{source} has no {task.split} split of {task.config}: build the config "
            f"(mmmult build --configs {task.config}) with problems in the {task.split} split"
        ) from None
    spec = CONFIGS[task.config]
    if spec.media_column is not None:
        rows = rows.cast_column(spec.media_column, undecoded_media(spec))
    if shard is None:
        return rows
    wanted = parse_shard(shard)
    dealt = deal(list(zip(rows["problem_id"], rows["C"], strict=True)), wanted.count)
    return rows.select([i for i, index in enumerate(dealt) if index == wanted.index])


def samples_of(task: TableTask, data: str | None, shard: str | None) -> list[Sample]:
    column = CONFIGS[task.config].media_column
    return [sample_of(task, row, column) for row in rows_of(task, data, shard)]


def sample_of(task: TableTask, row: dict[str, Any], column: str | None) -> Sample:
    """One problem as an inspect sample: the medium (if any), then the prompt's text; the problem as metadata."""
    doc = {key: value for key, value in row.items() if key != column}
    content: list[Content] = []
    if column is not None:
        content.append(media_part(row["modality"], row[column]["bytes"]))
        doc[MEDIA_DIGEST] = hashlib.sha256(row[column]["bytes"]).hexdigest()
    content.append(ContentText(text=chat_prompt(task, doc)))
    target = str(row["product"]) if task.kind is MULTIPLY else operands_text((int(row["a"]), int(row["b"])))
    return Sample(input=[ChatMessageUser(content=content)], target=target, id=row["problem_id"], metadata=doc)


def media_part(modality: str, data: bytes) -> ContentImage | ContentAudio:
    """The content part of an image (the PNG as built) or a clip (WAV of its samples)."""
    if modality == "image":
        return ContentImage(image=f"data:image/png;base64,{base64.b64encode(data).decode()}")
    samples, rate = decode_audio(data, "float32")
    return ContentAudio(
        audio=f"data:audio/wav;base64,{wav_base64({'array': samples, 'sampling_rate': rate})}", format="wav"
    )


@scorer(metrics={name: [mean(), stderr()] for name in SCORES})
def multiply_scorer() -> Scorer:
    """exact_match, digit_match and length_error of the response's final integer (dataset_builder.scoring)."""

    async def score(state: TaskState, target: Target) -> Score:
        answer = extract_answer(state.output.completion)
        shown = "" if answer is None else str(answer)
        return Score(value=score_answer(answer, int(target.text)), answer=shown)

    return score


@scorer(metrics={name: [mean(), stderr()] for name in PERCEPTION_METRICS})
def perceive_scorer() -> Scorer:
    """perceive_both, perceive_a and perceive_b of the operands the response read (dataset_builder.scoring)."""

    async def score(state: TaskState, target: Target) -> Score:
        read = extract_operands(state.output.completion)
        a, b = (int(part) for part in target.text.split(","))
        return Score(value=score_perception(read, a, b), answer=operands_text(read))

    return score
