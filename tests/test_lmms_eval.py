"""The lmms-eval tasks (eval/lmms_eval/) and the board's intake of lmms-eval runs (intake/lmms_log.py).

The end-to-end test runs lmms-eval in its own venv (scripts/install-lmms-eval makes .venv-lmms-eval) and is skipped
without it; the rest runs in the project's venv.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import datasets
import pytest
import yaml
from PIL import Image

from dataset_builder.configs import CONFIGS
from dataset_builder.media.codec import decode_audio
from dataset_builder.tasks import EXTENDED_TASKS, MINI_TASKS, MULTIPLY, TASKS, Task
from mmmult.leaderboard.intake import lmms_log
from mmmult.leaderboard.intake.benchmark import Benchmark, load_reference
from mmmult.leaderboard.intake.media import MediaDigests
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Rejected, read_upload
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.submissions import Form, submit
from tests.openai_server import Endpoint, completion, serving
from tests.simulate import lm_eval_files, right, wrong
from tests.test_hostile_submissions import assert_refused

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "eval/lmms_eval"
GENERATOR = FOLDER / "_generate_configs.py"
LMMS_PYTHON = ROOT / ".venv-lmms-eval/bin/python"
DATE = "20261206_120000"
TEXT_TASKS = ("mmmult_text_numerals", "mmmult_direct_text_words", "mmmult_perceive_text_numerals")


def test_the_committed_yamls_are_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True, capture_output=True)
    written = {p.name: p.read_text() for p in tmp_path.iterdir() if p.name != "utils.py"}
    committed = {p.name: p.read_text() for p in FOLDER.iterdir() if p.name.endswith(("yaml", "_yaml"))}
    assert sorted(written) == sorted(committed)
    assert [name for name in written if written[name] != committed[name]] == [], f"rerun {GENERATOR}"


def _yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((FOLDER / name).read_text().replace("!function ", ""))


def test_every_task_of_the_table_has_its_lmms_eval_task_with_its_config_alias_and_budget() -> None:
    tasks = {**TASKS, **MINI_TASKS, **EXTENDED_TASKS}
    assert sorted(p.name.removesuffix(".yaml") for p in FOLDER.glob("mmmult_*.yaml")) == sorted(tasks)
    budgets = {"_default_template_yaml": 4096, "_direct_template_yaml": 52, "_extended_direct_template_yaml": 136,
               "_perceive_template_yaml": 256}  # fmt: skip
    for name, budget in budgets.items():
        assert _yaml(name)["generation_kwargs"] == {"max_new_tokens": budget, "temperature": 0, "do_sample": False}
    mini = _yaml("mmmult_mini_direct_image_words.yaml")
    assert mini == {
        "task": "mmmult_mini_direct_image_words",
        "include": "_direct_template_yaml",
        "dataset_name": "image-words",
        "dataset_kwargs": {"data_files": {"mini": "image-words/mini-*.parquet"}},
        "test_split": "mini",
        "task_alias": "mini-direct-image-words",
        "metadata": {"version": 1.0},
    }
    assert _yaml("_default_template_yaml")["doc_to_messages"] == "utils.doc_to_messages"
    assert _yaml("_mmmult_direct.yaml")["task"] == ["mmmult_direct_text", "mmmult_direct_image", "mmmult_direct_audio"]


# --- the board's intake of lmms-eval runs ---------------------------------------------------------------------


def lmms_files(lm_eval: list[tuple[str, bytes]], release: str, media: dict[str, dict[str, str]] | None = None) -> (
        list[tuple[str, bytes]]):  # fmt: skip
    """An lm-eval run of tests/simulate.py written as lmms-eval `release` (0.6 or 0.7) writes it for our tasks."""
    results, samples = None, []
    for name, data in lm_eval:
        if name.startswith("results_"):
            results = json.loads(data)
        else:
            samples.append((name.removeprefix("samples_").rsplit("_", 1)[0], data))
    out_results: dict[str, Any] = {"results": {}, "versions": {}, "configs": {}, "model_name": "simulated",
                                   "config": {"model": "openai", "model_args": "model=simulated"}}  # fmt: skip
    if release == "0.7":
        out_results["lmms_eval_version"] = "main@0123abcd"
    files = []
    for name, data in samples:
        task = TASKS[name]
        lines = []
        for line in data.decode().splitlines():
            lm = json.loads(line)
            response = lm["resps"][0][0]
            lines.append(json.dumps(lmms_sample(task, lm, response, release, (media or {}).get(task.config, {}))))
        files.append((f"{DATE}_samples_{name}.jsonl", "\n".join(lines).encode() + b"\n"))
        reported = results["results"][name]
        headline = reported[task.headline_key]
        out_results["results"][name] = {"alias": task.alias, f"{task.headline},none": headline, "item,none": len(lines)}
        out_results["versions"][name] = task.version
        out_results["configs"][name] = {"task": name, "task_alias": task.alias, "dataset_name": task.config,
                                        "output_type": "generate_until", "num_fewshot": 0,
                                        "generation_kwargs": {"max_new_tokens": budget(task), "temperature": 0,
                                                              "do_sample": False}}  # fmt: skip
    return [(f"{DATE}_results.json", json.dumps(out_results).encode()), *files]


def budget(task: Task) -> int:
    return {"worked": 4096, "direct": 52}[task.regime] if task.kind is MULTIPLY else 256


def lmms_sample(task: Task, lm: dict[str, Any], response: str, release: str, media: dict[str, str]) -> dict[str, Any]:
    doc = lm["doc"]
    prompt = lmms_log.lmms_prompt(task, doc)
    item = {"harness": f"lmms-eval {release}.3", **{k: doc[k] for k in ("problem_id", "a", "b", "product", "modality",
            "representation", "stimulus")}, "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
            "media_sha256": media.get(doc["problem_id"])}  # fmt: skip
    sample = {"doc_id": lm["doc_id"], "target": str(lm["target"]), "filtered_resps": response, "input": prompt,
              "doc_hash": lm["doc_hash"], "item": item, task.headline: lm[task.headline]}  # fmt: skip
    if release == "0.6":
        sample["filtered_resps"] = [response]
    else:
        sample["token_counts"] = [{"input_tokens": 0, "output_tokens": 3, "reasoning_tokens": 0}]
    return sample


def half_right(task: Task, problem: dict[str, Any]) -> str:
    return right(task, problem) if int(problem["a"]) % 2 else wrong(task, problem)


@pytest.mark.parametrize("release", ["0.6", "0.7"])
def test_an_lmms_eval_run_is_rescored_item_for_item_as_the_same_run_through_lm_eval(
    reference: Benchmark, release: str
) -> None:
    lm_eval = lm_eval_files(reference.problems, TEXT_TASKS, half_right)
    through_lm_eval = check(read_upload(lm_eval), reference)
    upload = read_upload(lmms_files(lm_eval, release))
    through_lmms = check(upload, reference)
    assert through_lmms.status == through_lm_eval.status == "re-scored"
    assert through_lmms.items == through_lm_eval.items and len(through_lmms.items) == 3 * len(reference)
    assert [(t.task, t.score) for t in through_lmms.tasks] == [(t.task, t.score) for t in through_lm_eval.tasks]
    assert 0 < through_lmms.tasks[0].score < 1
    provenance = upload.provenance
    assert (provenance.harness_name, provenance.harness_version) == ("lmms-eval", f"{release}.3")
    assert provenance.harness is not None and provenance.harness.startswith(f"lmms-eval {release}.3")
    assert provenance.settings == "as declared" and provenance.model_type == "openai"


def edit_sample(files: list[tuple[str, bytes]], task: str, edit: Any) -> list[tuple[str, bytes]]:
    out = []
    for name, data in files:
        if name.endswith(f"_samples_{task}.jsonl"):
            lines = [json.loads(line) for line in data.decode().splitlines()]
            edit(lines[0])
            out.append((name, "\n".join(json.dumps(line) for line in lines).encode()))
        else:
            out.append((name, data))
    return out


def edit_results(files: list[tuple[str, bytes]], edit: Any) -> list[tuple[str, bytes]]:
    results = json.loads(files[0][1])
    edit(results)
    return [(files[0][0], json.dumps(results).encode()), *files[1:]]


def _unwrap(sample: dict[str, Any]) -> None:
    sample["filtered_resps"] = sample["filtered_resps"][0]


REFUSED = {
    "a release whose format is not known": (
        "0.7", lambda f: edit_sample(f, "mmmult_text_numerals", lambda s: s["item"].update(harness="lmms-eval 0.8.0")),
        r"samples_mmmult_text_numerals.jsonl, line 1 \(lmms-eval 0.7\), field item.harness: 'lmms-eval 0.8.0' is not a "
        r"release "
        r"whose log format this board knows \(lmms-eval 0.6, lmms-eval 0.7\)"),
    "samples of 0.7 beside a 0.6 results file": (
        "0.6", lambda f: edit_sample(f, "mmmult_text_numerals", _unwrap),
        r"samples_mmmult_text_numerals.jsonl, line 1 \(lmms-eval 0.6\), field filtered_resps: input should be a valid "
        r"list"),
    "a prompt that is not the task's": (
        "0.7", lambda f: edit_sample(f, "mmmult_text_numerals", lambda s: s.update(input=s["input"] + " Think.")),
        r"samples_mmmult_text_numerals.jsonl, line 1 \(lmms-eval 0.7\), field input: not the prompt "
        r"mmmult_text_numerals asks of problem p\d+"),
    "a prompt digest that is not the prompt's": (
        "0.6", lambda f: edit_sample(f, "mmmult_text_numerals", lambda s: s["item"].update(prompt_sha256="0" * 64)),
        r"line 1 \(lmms-eval 0.6\), field item.prompt_sha256: not the prompt mmmult_text_numerals asks"),
    "a task that does not exist": (
        "0.7", lambda f: edit_results(f, lambda r: r["results"].update(mmmult_text_roman={"exact_match,none": 1.0})),
        r"20261206_120000_results.json \(lmms-eval 0.7\), field results.mmmult_text_roman: no mmmult task or group "
        r"has that name"),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_an_lmms_eval_run_is_refused_naming_the_harness_its_release_and_the_field(
    reference: Benchmark, case: str
) -> None:
    release, edit, message = REFUSED[case]
    files = edit(lmms_files(lm_eval_files(reference.problems, TEXT_TASKS, half_right), release))
    with pytest.raises(Rejected, match=message):
        read_upload(files)


HOSTILE = {
    "a stimulus that is a nested list": (
        lambda f: edit_sample(f, "mmmult_text_numerals", lambda s: s["item"].update(stimulus=[[[[1]]]])),
        "samples_mmmult_text_numerals.jsonl, line 1 (lmms-eval 0.7), field item.stimulus: input should be a valid "
        "string"),
    "a results file nested 100,000 deep": (
        lambda f: [(f[0][0], b"[" * 100_000 + b"]" * 100_000), *f[1:]],
        "20261206_120000_results.json is nested too deeply to be lm-eval output"),
    "an operand of 60 digits": (
        lambda f: edit_sample(f, "mmmult_direct_text_words", lambda s: s["item"].update(a=10**60)),
        "a number of 61 digits (at most 40 are read)"),
    "bytes that are not UTF-8": (
        lambda f: [*f[:-1], (f[-1][0], b"\xff\xfe" + f[-1][1])],
        "line 1 (lmms-eval 0.7) is not UTF-8 text"),
    "a sample of another problem's item": (
        lambda f: edit_sample(f, "mmmult_text_numerals", lambda s: s["item"].update(product=s["item"]["product"] + 1)),
        "has product"),
}  # fmt: skip


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_lmms_eval_upload_is_refused_through_the_submit_flow_and_stores_nothing(
    reference: Benchmark, store: Store, tmp_path: Path, case: str
) -> None:
    edit, reason = HOSTILE[case]
    upload = edit(lmms_files(lm_eval_files(reference.problems, TEXT_TASKS, half_right), "0.7"))
    paths = []
    for name, data in upload:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    assert_refused(store, submit(store, reference, paths, Form("m", "Test", "7", True, "tester", None)), reason)


def served_from_hub(build: Path, folder: Path) -> MediaDigests:
    """The media digests of a board that reads `build` as a Space reads it from the Hub: the problems' test shards
    and the manifest, no media file (benchmark._download_problems)."""
    for path in [*build.glob("problems/test-*.parquet"), build / "manifest.json"]:
        (folder / path.relative_to(build)).parent.mkdir(parents=True, exist_ok=True)
        (folder / path.relative_to(build)).write_bytes(path.read_bytes())
    media = load_reference(folder).media
    assert media is not None and not list(folder.glob("image-*"))
    return media


def test_an_lmms_eval_sample_of_a_medium_that_is_not_the_board_s_build_s_is_refused_for_a_build_read_from_the_hub(
    small_build: Path, tmp_path: Path
) -> None:
    media = served_from_hub(small_build, tmp_path)
    problems = load_reference(tmp_path).problems
    files = lmms_files(lm_eval_files(problems, ["mmmult_image_words"], half_right), "0.7", media)
    assert list(read_upload(files, media).samples) == ["mmmult_image_words"]
    first = json.loads(files[1][1].splitlines()[0])["item"]["problem_id"]
    other = next(pid for pid in media["image-words"] if pid != first)
    changed = edit_sample(
        files, "mmmult_image_words", lambda s: s["item"].update(media_sha256=media["image-words"][other])
    )
    with pytest.raises(Rejected) as error:
        read_upload(changed, media)
    assert str(error.value) == (
        f"{DATE}_samples_mmmult_image_words.jsonl, line 1 (lmms-eval 0.7), field item.media_sha256: not the "
        f"image-words medium of problem {first} in this board's build"
    )


# --- end to end: lmms-eval's OpenAI client against the reference system served -----------------------------


class ReferenceServer(Endpoint):
    """OpenAI-compatible chat completions answered by the reference system, recording the media it receives."""

    received: ClassVar[list[dict[str, Any]]] = []
    model: ClassVar[Any] = None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text, media, sent = "", {}, None
        for part in body["messages"][-1]["content"]:
            if part["type"] == "text":
                text += part["text"]
            elif part["type"] == "image_url":
                sent = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                media["visual"] = [Image.open(io.BytesIO(sent)).convert("RGB")]
            elif part["type"] == "audio_url":
                header, data = part["audio_url"]["url"].split(",", 1)
                assert header == "data:audio/ogg;base64"
                sent = base64.b64decode(data)
                samples, rate = decode_audio(sent, "float32")
                media["audio"] = [{"array": samples, "sampling_rate": rate}]
        self.received.append({"text": text, "media": sent, "body": body})
        answer = self.model.answer(SimpleNamespace(args=(text, {}, media)))
        self.send_body(json.dumps(completion(self.path, body["model"], answer)).encode())


@pytest.fixture
def reference_server() -> Iterator[str]:
    from mmmult.harness.reference import ReferenceLM

    ReferenceServer.model = ReferenceLM()
    with serving(ReferenceServer) as url:
        yield url


E2E_TASKS = ("mmmult_text_words", "mmmult_image_numerals", "mmmult_direct_image_words", "mmmult_audio_digits",
             "mmmult_perceive_audio_words")  # fmt: skip
LIMIT = 3


def lmms_samples(out: Path) -> dict[str, list[dict[str, Any]]]:
    """<date>_samples_<task>.jsonl of one lmms-eval run, by task."""
    return {path.name.split("_samples_", 1)[1].removesuffix(".jsonl"): [json.loads(line) for line in
            path.read_text().splitlines()] for path in out.rglob("*_samples_*.jsonl")}  # fmt: skip


def lm_eval_samples(out: Path) -> dict[str, list[dict[str, Any]]]:
    """samples_<task>_<date>.jsonl of one lm-eval run, by task."""
    return {path.name.removeprefix("samples_").rsplit("_", 1)[0]: [json.loads(line) for line in
            path.read_text().splitlines()] for path in out.rglob("samples_*.jsonl")}  # fmt: skip


def stored_media(build: Path) -> dict[str, set[bytes]]:
    """Each media config's test items as stored: the clips' Opus bytes, the images' decoded RGB pixels."""
    media = {}
    for config in ("image-numerals", "image-words", "audio-digits", "audio-words"):
        column = CONFIGS[config].media_column
        feature = datasets.Image(decode=False) if column == "image" else datasets.Audio(decode=False)
        rows = datasets.load_dataset(str(build), config, split="test").cast_column(column, feature)
        stored = [row[column]["bytes"] for row in rows]
        media[config] = {pixels(b) for b in stored} if column == "image" else set(stored)
    return media


def pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


@pytest.mark.skipif(not LMMS_PYTHON.exists(), reason="no .venv-lmms-eval: make it with scripts/install-lmms-eval")
def test_lmms_eval_s_openai_client_scores_the_served_reference_as_lm_eval_does_item_for_item(
    small_build: Path, tmp_path: Path, reference_server: str
) -> None:
    tasks = tmp_path / "tasks"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tasks), "--data", str(small_build)], check=True,
                   capture_output=True)  # fmt: skip
    env = {**os.environ, "MMMULT_DATA": str(small_build)}
    command = [str(LMMS_PYTHON), "-m", "lmms_eval", "--model", "openai", "--model_args",
               f"model=mmmult-reference,base_url={reference_server},api_key=none,num_concurrent=1",
               "--tasks", ",".join(E2E_TASKS), "--include_path", str(tasks), "--limit", str(LIMIT), "--log_samples",
               "--output_path", str(tmp_path / "lmms")]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    lmms = lmms_samples(tmp_path / "lmms")
    assert sorted(lmms) == sorted(E2E_TASKS), result.stdout[-3000:]
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-reference", "--limit", str(LIMIT),
               "--tasks", ",".join(E2E_TASKS), "--log_samples", "--output_path", str(tmp_path / "lm-eval")]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lm_eval = lm_eval_samples(tmp_path / "lm-eval")
    for name in E2E_TASKS:
        headline = TASKS[name].headline
        by_lmms = {s["item"]["problem_id"]: (s[headline], s["filtered_resps"]) for s in lmms[name]}
        by_lm_eval = {s["doc"]["problem_id"]: (s[headline], s["resps"][0][0]) for s in lm_eval[name]}
        assert by_lmms == by_lm_eval and len(by_lmms) == LIMIT, name
    assert [s["exact_match"] for s in lmms["mmmult_text_words"]] == [1] * LIMIT  # text is always read right
    # the media at the server, byte for byte: each clip the dataset's Opus, each image the dataset's pixels
    sent = [r for r in ReferenceServer.received if r["media"] is not None]
    assert (len(ReferenceServer.received), len(sent)) == (5 * LIMIT, 4 * LIMIT)
    stored = stored_media(small_build)
    clips = [r["media"] for r in sent if r["media"].startswith(b"OggS")]
    assert len(clips) == 2 * LIMIT and all(clip in stored["audio-digits"] | stored["audio-words"] for clip in clips)
    images = [pixels(r["media"]) for r in sent if not r["media"].startswith(b"OggS")]
    assert len(images) == 2 * LIMIT and all(
        image in stored["image-numerals"] | stored["image-words"] for image in images
    )
    # the item records' digests are those the build records
    media = load_reference(small_build).media or {}
    for name in E2E_TASKS:
        for sample in lmms[name]:
            item = sample["item"]
            assert item["media_sha256"] == media.get(TASKS[name].config, {}).get(item["problem_id"])
            assert item["prompt_sha256"] == hashlib.sha256(sample["input"].encode()).hexdigest()
            assert sample["input"] == lmms_log.lmms_prompt(TASKS[name], item)
