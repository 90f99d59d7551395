"""The lm-eval tasks end to end, offline: the reference system, a tiny transformer, a chat API."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest
from PIL import Image

from dataset_builder.answers import extract_answer
from dataset_builder.media.readers import read_image
from dataset_builder.stimulus import parse_stimulus
from dataset_builder.tasks import DIRECT, GROUPS, MULTIPLY, TASKS, direct_budget, tasks_of
from tests.openai_server import Endpoint, serving
from tests.simulate import lm_eval_files, right


def _as_text(answer: int | None) -> str:
    return "" if answer is None else str(answer)


def mmmult_eval(data: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MMMULT_DATA": str(data)}
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--output_path", str(out), "--log_samples", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)


def outputs(out: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """results_*.json and samples_<task>_*.jsonl of one lm-eval run."""
    (results_file,) = out.rglob("results_*.json")
    samples = {}
    for path in out.rglob("samples_*.jsonl"):
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        samples[task] = [json.loads(line) for line in path.read_text().splitlines()]
    return json.loads(results_file.read_text()), samples


def transcription(response: str) -> tuple[int, int] | None:
    """The two numbers the reference system says it read ("Numbers: a, b"), parsed here independently."""
    match = re.search(r"Numbers: (\d+), (\d+)", response)
    return (int(match[1]), int(match[2])) if match else None


def read_right(sample: dict[str, Any]) -> bool:
    return transcription(sample["resps"][0][0]) == (sample["doc"]["a"], sample["doc"]["b"])


@pytest.mark.xdist_group("reference_run")  # one worker makes the run and reads it
def test_reference_system_answers_every_task_by_what_it_read(reference_run: Path, reference: dict) -> None:
    results, samples = outputs(reference_run)
    assert results["model_name"] == "mmmult-reference"
    assert set(samples) == set(TASKS)
    for name, task in TASKS.items():
        if task.regime == DIRECT:
            continue  # the product alone, no transcription: the next test
        logged = samples[name]
        assert sorted(s["doc"]["problem_id"] for s in logged) == sorted(reference), name
        share = sum(map(read_right, logged)) / len(logged)
        assert results["results"][name][task.headline_key] == pytest.approx(share), name
        if task.modality in ("text", "image"):  # text is parsed, images are read by tesseract: all exact
            assert share == 1.0, name
    assert sum(read_right(s) for name in TASKS if TASKS[name].modality == "audio" for s in samples[name]) >= 20


@pytest.mark.xdist_group("reference_run")  # one worker makes the run and reads it
def test_reference_system_answers_the_direct_tasks_with_the_product_alone(reference_run: Path) -> None:
    """Asked for the product alone, the reference gives the final answer of its worked response to the same item
    and nothing else: 100% on text and images, on audio the same share as the worked task, within the budget."""
    results, samples = outputs(reference_run)
    for direct, worked in zip(tasks_of(MULTIPLY, DIRECT), tasks_of(MULTIPLY), strict=True):
        assert direct.config == worked.config
        answers = {s["doc"]["problem_id"]: s["resps"][0][0].splitlines()[-1] for s in samples[worked.name]}
        logged = samples[direct.name]
        assert {s["doc"]["problem_id"]: s["resps"][0][0] for s in logged} == answers, direct.name
        asked = [s["arguments"]["gen_args_0"] for s in logged]
        assert {args["arg_1"]["max_gen_toks"] for args in asked} == {direct_budget()}
        assert not [args for args in asked if "step by step" in args["arg_0"] or "Do not show any working" not in
                    args["arg_0"]]  # fmt: skip
        assert not [s for s in logged if "Numbers:" in s["resps"][0][0]]
        score = results["results"][direct.name]["exact_match,final-integer"]
        assert score == results["results"][worked.name]["exact_match,final-integer"], direct.name
        if direct.modality in ("text", "image"):
            assert score == 1.0, direct.name
            assert all(s["resps"][0][0] == f"Final Answer: {s['doc']['product']}" for s in logged)
    assert results["results"]["mmmult_direct"]["exact_match,final-integer"] == pytest.approx(
        results["results"]["mmmult"]["exact_match,final-integer"]
    )


def leaf_tasks(name: str) -> list[str]:
    group = {g.name: g for g in GROUPS}.get(name)
    return [name] if group is None else [task for member in group.members for task in leaf_tasks(member)]


@pytest.mark.xdist_group("reference_run")  # one worker makes the run and reads it
def test_groups_report_the_size_weighted_mean_of_their_tasks(reference_run: Path) -> None:
    results, samples = outputs(reference_run)
    assert leaf_tasks("mmmult") == [t.name for t in TASKS.values() if t.kind.name == "multiply" and t.regime != DIRECT]
    assert leaf_tasks("mmmult_direct") == [t.name for t in TASKS.values() if t.regime == DIRECT]
    for group in GROUPS:
        tasks = leaf_tasks(group.name)
        for metric in group.metrics:
            values = [s[metric] for task in tasks for s in samples[task]]
            reported = results["results"][group.name][f"{metric},{TASKS[tasks[0]].filter}"]
            assert reported == pytest.approx(sum(values) / len(values)), (group.name, metric)
        assert not [key for key in results["results"][group.name] if key.startswith("acc_")]


@pytest.mark.xdist_group("reference_run")  # one worker makes the run and reads it
def test_the_board_s_simulated_runs_have_the_shape_of_a_real_one(reference_run: Path, reference) -> None:
    results, samples = outputs(reference_run)
    tasks = ("mmmult_text_words", "mmmult_perceive_image_numerals")
    files = dict(lm_eval_files(reference, tasks, right))
    simulated = json.loads(next(data for name, data in files.items() if name.startswith("results_")))
    for task in tasks:
        metrics = {k for k in results["results"][task] if "," in k}
        assert {k for k in simulated["results"][task] if "," in k} == metrics
        assert simulated["versions"][task] == results["versions"][task]
        real = samples[task][0]
        fake = json.loads(next(d for n, d in files.items() if n.startswith(f"samples_{task}_")).splitlines()[0])
        assert set(fake) == set(real)
        assert {k: type(v) for k, v in fake["doc"].items()} == {k: type(v) for k, v in real["doc"].items()}
        assert fake["filter"] == real["filter"] and fake["metrics"] == real["metrics"]


@pytest.mark.xdist_group("reference_run")  # one worker makes the run and reads it
def test_the_board_takes_a_real_run_with_its_groups(reference_run: Path, small_build: Path) -> None:
    """lm-eval writes group rows (mmmult, mmmult_text, ...) with a sample_count record beside the tasks."""
    from mmmult.leaderboard.intake.benchmark import load_reference
    from mmmult.leaderboard.intake.rescore import check
    from mmmult.leaderboard.intake.upload import read_upload

    files = [(path.name, path) for path in reference_run.rglob("*.json*")]
    results = json.loads(next(path for name, path in files if name.startswith("results_")).read_text())
    assert isinstance(results["results"]["mmmult_text"]["sample_count"], dict)
    verdict = check(read_upload(files), load_reference(small_build))
    assert {task.task for task in verdict.tasks} == set(TASKS) and all(task.verified for task in verdict.tasks)
    _, samples = outputs(reference_run)
    logged = {(name, s["doc"]["problem_id"]): len(s["resps"][0][0].strip()) for name in TASKS for s in samples[name]}
    assert {(i.task, i.problem_id): i.response_length for i in verdict.items} == logged
    direct = [i for i in verdict.items if TASKS[i.task].regime == DIRECT and i.correct]
    assert direct and all(i.response_length == len(f"Final Answer: {i.a * i.b}") for i in direct)


@pytest.mark.xdist_group("reference_run")  # one worker makes the run and reads it
def test_docs_carry_the_problem_and_the_log_no_media(reference_run: Path) -> None:
    _, samples = outputs(reference_run)
    sample = samples["mmmult_image_words"][0]
    assert {"problem_id", "a", "b", "C", "digits_a", "nonzero_b", "representation", "modality"} <= set(sample["doc"])
    assert "image" not in sample["doc"]
    assert "audio" not in samples["mmmult_audio_digits"][0]["doc"]
    assert max(len(json.dumps(s)) for name in TASKS for s in samples[name]) < 5000  # no image or audio bytes
    perceived = samples["mmmult_perceive_text_words"][0]
    assert perceived["filtered_resps"] == [f"{perceived['doc']['a']},{perceived['doc']['b']}"]


def test_a_missing_build_is_named_with_what_to_do_before_lm_eval_starts(tmp_path: Path) -> None:
    from mmmult.lm_eval_tasks.utils import load

    from mmmult.harness.evaluate import EvalSetupError

    expected = f"no mmmult dataset at '{tmp_path / 'none'}': build one with `mmmult build --out {tmp_path / 'none'}`"
    result = mmmult_eval(tmp_path / "none", tmp_path, "--model", "mmmult-reference", "--tasks", "mmmult_text_numerals")
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "lm_eval" not in result.stderr  # stopped before lm-eval logged a line
    with pytest.raises(EvalSetupError, match=re.escape(expected)):  # lm-eval's own CLI, given the task folder
        load("text-numerals", str(tmp_path / "none"))


def test_reference_system_without_an_asr_model_says_so(small_build: Path, tmp_path: Path) -> None:
    """A real run on the audio task with a Whisper folder that is not there: lm-eval loads the task and the
    model, the reference meets its first clip, and mmmult eval ends with the reason (status 2), no traceback."""
    from lm_eval.api.instance import Instance

    from mmmult.harness.reference import ReferenceCannotRead, ReferenceLM

    missing = tmp_path / "no-whisper"
    clip = {"array": np.zeros(1600, dtype=np.float32), "sampling_rate": 16000}
    request = Instance("generate_until", {}, ("<audio>", {}, {"audio": [clip]}), 0)
    with pytest.raises(ReferenceCannotRead, match="cannot read this task's input: no faster-whisper model folder at"):
        ReferenceLM(asr_model=str(missing)).answer(request)
    result = mmmult_eval(small_build, tmp_path / "out", "--model", "mmmult-reference", "--model_args",
                         f"asr_model={missing}", "--tasks", "mmmult_audio_words", "--limit", "1")  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert (
        f"mmmult: error: mmmult-reference cannot read this task's input: no faster-whisper model folder at {missing}\n"
        in result.stderr
    )
    assert "Running generate_until requests" in result.stderr  # lm-eval got as far as the model's first request


BANDS = ((4, 25), (26, 50), (51, 100), (101, 200), (201, 324))  # the C bands the README documents


def recompute(samples: list[dict[str, Any]]) -> dict[str, float]:
    """Every task metric from the logged final integers, by the metrics' definitions (not the core's code)."""
    values: dict[str, list[float]] = {}
    for sample in samples:
        a, b = sample["doc"]["a"], sample["doc"]["b"]
        got, want = sample["filtered_resps"][0].lstrip("-"), str(a * b)
        width = max(len(got), len(want))
        same = sum(got[-i] == want[-i] for i in range(1, min(len(got), len(want)) + 1))
        digits = len(str(a)) + len(str(b))
        load = digits * sum(d != "0" for d in f"{a}{b}")
        exact = int(sample["filtered_resps"][0] == want)
        (band,) = [f"acc_C_{low}_{high}" for low, high in BANDS if low <= load <= high]
        for name, value in (
            ("exact_match", exact),
            ("digit_match", same / width if got else 0.0),
            ("length_error", abs(len(got) - len(want)) if got else len(want)),
            (band, exact),
            (f"acc_digits_{digits}", exact),
        ):
            values.setdefault(name, []).append(value)
    return {name: sum(v) / len(v) for name, v in values.items()}


@pytest.mark.xdist_group("tiny_lm_run")  # one worker makes the run and reads it
def test_hf_model_run_is_logged_and_rescorable(tiny_lm_run: Path) -> None:
    results, samples = outputs(tiny_lm_run)
    shown = {name for name in results["results"] if name.startswith("mmmult_text")}
    assert shown == {"mmmult_text", "mmmult_text_numerals", "mmmult_text_words"}
    assert results["configs"]["mmmult_text_numerals"]["generation_kwargs"]["max_gen_toks"] == 8
    for task in ("mmmult_text_numerals", "mmmult_text_words"):
        assert len(samples[task]) == 4
        assert all(s["filter"] == "final-integer" for s in samples[task])
        metrics = {k.split(",")[0]: v for k, v in results["results"][task].items() if k.endswith(",final-integer")}
        reported = {k: v for k, v in metrics.items() if "_stderr" not in k and not math.isnan(v)}  # NaN: empty band
        assert reported == pytest.approx(recompute(samples[task]))
        assert [s["filtered_resps"][0] for s in samples[task]] == [
            _as_text(extract_answer(s["resps"][0][0])) for s in samples[task]
        ]
    group = results["results"]["mmmult_text"]  # the size-weighted mean of its tasks, of two metrics only
    for metric in ("exact_match", "digit_match"):
        both = [s[metric] for task in ("mmmult_text_numerals", "mmmult_text_words") for s in samples[task]]
        assert group[f"{metric},final-integer"] == pytest.approx(sum(both) / len(both)), metric
    assert not [key for key in group if key.startswith(("acc_", "length_error"))]


def assert_probe_shares_recompute(metrics: dict[str, Any], samples: list[dict[str, Any]]) -> None:
    """The loss probe's shares equal each item's preferred heuristic recomputed from the logged
    log-likelihoods (loss per byte of the prefix, or per logged token, mean per heuristic): the medium
    reached the scoring."""
    from mmmult.probe_scoring.scores import PROBE_CHOICES

    for suffix, unit in (("", lambda prefix, resp: len(prefix.encode())), ("_per_token", lambda _, resp: int(resp[2]))):
        preferred = []
        for sample in samples:
            losses: dict[str, list[float]] = {}
            for (heuristic, prefix), resp in zip(PROBE_CHOICES, sample["resps"], strict=True):
                losses.setdefault(heuristic, []).append(-float(resp[0][0]) / unit(prefix, resp[0]))
            preferred.append(min(("OT", "DD", "RC"), key=lambda h: sum(losses[h]) / len(losses[h])))
        assert preferred
        for h in ("OT", "DD", "RC"):
            assert metrics[f"prefers_{h}{suffix},none"] == pytest.approx(preferred.count(h) / len(preferred)), h


def test_hf_multimodal_model_runs_the_image_tasks(small_build: Path, tiny_vlm: Path, tmp_path: Path) -> None:
    result = mmmult_eval(
        small_build,
        tmp_path,
        "--model", "hf-multimodal",
        "--model_args", f"pretrained={tiny_vlm},max_images=1",
        "--tasks", "mmmult_image,mmmult_probe_image",
        "--apply_chat_template",
        "--limit", "2",
        "--gen_kwargs", "max_gen_toks=4",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results, samples = outputs(tmp_path)
    assert {"mmmult_image_numerals", "mmmult_image_words"} <= set(results["results"])
    assert_probe_shares_recompute(results["results"]["mmmult_probe_image"], samples["mmmult_probe_image"])
    images = datasets.load_dataset(str(small_build), "image-words", split="test")
    by_id = dict(zip(images["problem_id"], images["image"], strict=True))
    for sample in samples["mmmult_image_words"]:
        (visual,) = sample["arguments"]["gen_args_0"]["arg_2"]["visual"]
        png = io.BytesIO()  # lm-eval logs the sha256 of the image it sent, saved as PNG
        by_id[sample["doc"]["problem_id"]].convert("RGB").save(png, format="PNG")
        assert visual == hashlib.sha256(png.getvalue()).hexdigest()  # this problem's own image reached the model
        assert "shown in the image" in sample["arguments"]["gen_args_0"]["arg_0"]
        assert len(sample["resps"][0][0].split()) <= 4  # generated by the model, cut at max_gen_toks


def test_hf_audiolm_qwen_runs_the_audio_tasks_on_the_cpu(
    small_build: Path, tiny_audio_lm: Path, tmp_path: Path
) -> None:
    result = mmmult_eval(
        small_build,
        tmp_path,
        "--model", "hf-audiolm-qwen",
        "--model_args", f"pretrained={tiny_audio_lm}",
        "--device", "cpu",
        "--tasks", "mmmult_audio,mmmult_probe_audio",
        "--batch_size", "2",
        "--limit", "3",
        "--gen_kwargs", "max_gen_toks=4",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results, samples = outputs(tmp_path)
    assert {"mmmult_audio_words", "mmmult_audio_digits"} <= set(results["results"])
    assert_probe_shares_recompute(results["results"]["mmmult_probe_audio"], samples["mmmult_probe_audio"])
    for sample in samples["mmmult_audio_digits"]:
        assert "<audio>" in sample["arguments"]["gen_args_0"]["arg_0"]  # the clip's place in the prompt
        assert "audio" not in sample["doc"]  # the log keeps no audio
        assert len(sample["resps"][0][0].split()) <= 4  # generated by the model, cut at max_gen_toks


def test_a_run_of_mmmult_tasks_only_indexes_only_mmmult_s_task_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """lm-eval's own ~14,000 task files took most of every run's start; they are skipped when not needed."""
    import lm_eval.tasks

    from mmmult.harness.evaluate import asks_only_for_mmmult_tasks, index_only_included_tasks, tasks_dir

    assert asks_only_for_mmmult_tasks(["run", "--tasks", "mmmult,mmmult_probe_text,mmmult_perceive_audio_words"])
    assert asks_only_for_mmmult_tasks(["run", "--tasks=mmmult_text_words"])
    assert not asks_only_for_mmmult_tasks(["run", "--tasks", "mmmult_text,hellaswag"])
    assert not asks_only_for_mmmult_tasks(["run", "--tasks", "mmmult_texts"])
    assert not asks_only_for_mmmult_tasks(["ls", "--tasks", "mmmult"]) and not asks_only_for_mmmult_tasks(["run"])
    monkeypatch.setattr(lm_eval.tasks, "TaskManager", lm_eval.tasks.TaskManager)  # restored after the test
    index_only_included_tasks()
    indexed = set(lm_eval.tasks.TaskManager(include_path=str(tasks_dir())).all_tasks)
    assert indexed >= {*TASKS, *(group.name for group in GROUPS)} and "hellaswag" not in indexed


def test_mmmult_eval_runs_the_repaired_classes_registered_through_lm_eval_s_public_registry() -> None:
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import model_registry

    from mmmult.harness import repaired
    from mmmult.harness.evaluate import REPAIRED_MODELS, register_repaired_models, with_repaired_model

    register_repaired_models()
    register_repaired_models()  # twice, as two runs in one process would: the registry refuses a clash
    resolved = model_registry.get(repaired("hf-audiolm-qwen"))
    assert (resolved.__module__, resolved.__name__) == ("mmmult.harness.audio_lm", "Qwen2AudioLM")
    for alias in REPAIRED_MODELS:  # lm-eval's own classes keep their names
        assert model_registry.get(alias).__module__.startswith("lm_eval.models.")
    argv = ["--model", "hf", "--tasks", "mmmult_text", "--model_args", "pretrained=hf"]
    assert with_repaired_model(argv) == ["--model", "mmmult-hf", *argv[2:]]
    assert with_repaired_model(["--model=hf-multimodal"]) == ["--model=mmmult-hf-multimodal"]
    assert with_repaired_model(["--model", "vllm"]) == ["--model", "vllm"]


class ChatServer(Endpoint):
    """OpenAI-compatible chat and completions endpoints that answer 42 and keep every request's body."""

    def answer(self, body: dict[str, Any]) -> str:
        return "Final Answer: 42"

    def record(self, body: dict[str, Any]) -> None:
        self.received.append(body)


@pytest.fixture
def chat_server() -> Iterator[str]:
    with serving(ChatServer) as url:
        yield url


def test_chat_completions_receive_images_as_png_and_clips_as_wav(
    small_build: Path, tmp_path: Path, chat_server: str
) -> None:
    """lm-eval sends images as image_url parts; it drops audio, which the class `mmmult eval` registers
    sends as input_audio: each request carries its own problem's medium, and the prompt names it."""
    import soundfile

    from dataset_builder.media.codec import decode_audio

    result = mmmult_eval(
        small_build,
        tmp_path,
        "--model", "local-chat-completions",
        "--model_args", f"model=test-vlm,base_url={chat_server}/chat/completions,num_concurrent=1",
        "--tasks", "mmmult_image_numerals,mmmult_audio_words",
        "--apply_chat_template",
        "--limit", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    _, samples = outputs(tmp_path)
    assert len(ChatServer.received) == 4
    by_kind: dict[str, list[list[dict[str, Any]]]] = {"image_url": [], "input_audio": []}
    for request in ChatServer.received:
        content = request["messages"][-1]["content"]
        (kind,) = {part["type"] for part in content} - {"text"}
        by_kind[kind].append(content)
    for content, sample in zip(by_kind["image_url"], samples["mmmult_image_numerals"], strict=True):
        images = [part["image_url"]["url"] for part in content if part["type"] == "image_url"]
        assert len(images) == 1 and images[0].startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(images[0].split(",", 1)[1])))
        assert image.format == "PNG"
        assert read_image(image) == (sample["doc"]["a"], sample["doc"]["b"])
        assert parse_stimulus(sample["doc"]["stimulus"]) == (sample["doc"]["a"], sample["doc"]["b"])
        text = " ".join(part.get("text", "") for part in content)
        assert "Final Answer:" in text and "shown in the image" in text
    clips = datasets.load_dataset(str(small_build), "audio-words", split="test")
    clips = {
        row["problem_id"]: row["audio"]["bytes"] for row in clips.cast_column("audio", datasets.Audio(decode=False))
    }
    for content, sample in zip(by_kind["input_audio"], samples["mmmult_audio_words"], strict=True):
        (audio,) = [part["input_audio"] for part in content if part["type"] == "input_audio"]
        assert audio["format"] == "wav"
        heard, rate = soundfile.read(io.BytesIO(base64.b64decode(audio["data"])), dtype="float32")
        clip, clip_rate = decode_audio(clips[sample["doc"]["problem_id"]], "float32")
        assert rate == clip_rate == 16_000 and heard.shape == clip.shape
        assert np.abs(heard - np.clip(clip, -1, 1)).max() <= 1 / 32_768 + 1e-7  # 16-bit PCM of the same samples
        text = " ".join(part.get("text", "") for part in content)
        assert "spoken in the audio" in text and "Final Answer:" in text and "<audio>" not in text


def test_chat_audio_needs_the_chat_template() -> None:
    from mmmult.harness.chat_audio import with_audio
    from mmmult.harness.evaluate import EvalSetupError

    clip = {"array": np.zeros(160, dtype=np.float32), "sampling_rate": 16_000}
    with pytest.raises(EvalSetupError, match="chat servers take audio inside a chat: add --apply_chat_template"):
        with_audio("<audio>\nCompute the exact product", [clip])


def test_completions_api_receives_the_text_prompt(small_build: Path, tmp_path: Path, chat_server: str) -> None:
    result = mmmult_eval(
        small_build,
        tmp_path,
        "--model", "local-completions",
        "--model_args", f"model=test-lm,base_url={chat_server}/completions,tokenizer_backend=none,num_concurrent=1",
        "--tasks", "mmmult_text_words",
        "--limit", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results, samples = outputs(tmp_path)
    prompts = [request["prompt"] for request in ChatServer.received]
    logged = samples["mmmult_text_words"]
    assert sorted(prompts) == sorted(sample["arguments"]["gen_args_0"]["arg_0"] for sample in logged)
    assert sorted(p.rsplit("\n", 1)[1] for p in prompts) == sorted(sample["doc"]["stimulus"] for sample in logged)
    assert all(request["max_tokens"] == 4096 and request["temperature"] == 0.0 for request in ChatServer.received)
    assert results["results"]["mmmult_text_words"]["exact_match,final-integer"] == 0.0
