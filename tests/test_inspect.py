"""The inspect-ai task (eval/inspect/task.py) end to end, offline: inspect's mock model, the project's kind of local
OpenAI-compatible server answering as the reference system, the same items through lm-eval, and the board reading
inspect's logs back (mmmult/leaderboard/intake/inspect_log.py), hostile ones included."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import datasets
import numpy as np
import pytest
import soundfile

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, read_eval_log, write_eval_log
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, ModelUsage, get_model
from PIL import Image

from dataset_builder.answers import extract_answer
from dataset_builder.dataset.card import in_eval_yaml
from dataset_builder.inspect_tasks import GENERATING_TASKS, UnknownInspectTask, table_task
from dataset_builder.media.codec import decode_audio
from dataset_builder.prompts import multiply_prompt
from dataset_builder.stimulus import parse_stimulus
from dataset_builder.tasks import TASKS
from mmmult.harness.chat_audio import wav_base64
from mmmult.harness.inspect_task import mmmult_task
from mmmult.leaderboard.intake.media import MediaDigests
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Rejected, read_upload
from tests.openai_server import Endpoint, serving
from tests.simulate import lm_eval_files
from tests.test_lmms_eval import served_from_hub

ROOT = Path(__file__).resolve().parent.parent


def half_right(a: int, b: int) -> str:
    """A model right on odd first operands and one off on even ones."""
    return f"Numbers: {a}, {b}\nFinal Answer: {a * b + (a % 2 == 0)}"


def said(text: str) -> ModelOutput:
    """A mock model's output, with its usage stated (else inspect counts tokens with a tokenizer it downloads)."""
    output = ModelOutput.from_content("mockllm", text)
    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return output


def mock_answer(messages: list[ChatMessage], tools: object, choice: object, config: GenerateConfig) -> ModelOutput:
    """inspect's mockllm answering half_right from the prompt's stimulus."""
    return said(half_right(*parse_stimulus(messages[-1].text)))


def run(task: Any, model: Any, logs: Path, **options: Any) -> EvalLog:
    (log,) = inspect_eval(task, model=model, display="none", log_dir=str(logs), **options)
    assert log.status == "success", log.error
    return log


@pytest.fixture(scope="module")
def mock_log(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete inspect-ai run of the mock on text-numerals, as the .eval file inspect writes."""
    logs = tmp_path_factory.mktemp("inspect-mock")
    run(
        mmmult_task("text-numerals", data=str(small_build)),
        get_model("mockllm/model", custom_outputs=mock_answer),
        logs,
    )
    (path,) = logs.glob("*.eval")
    return path


def test_the_task_parameters_name_a_task_of_the_table_or_are_refused() -> None:
    assert table_task("text-words", "perceive").name == "mmmult_perceive_text_words"
    assert table_task("extended-audio-words", regime="direct", split="mini").name == (
        "mmmult_mini_direct_extended_audio_words"
    )
    with pytest.raises(UnknownInspectTask, match=r"^unknown config 'text-sideways': use one of audio-digits, "):
        table_task("text-sideways")
    with pytest.raises(UnknownInspectTask, match=r"^unknown kind 'probe': use one of multiply, perceive$"):
        table_task("text-words", "probe")
    with pytest.raises(UnknownInspectTask, match=r"^the perception tasks have one regime"):
        table_task("text-words", "perceive", "direct")
    with pytest.raises(UnknownInspectTask, match=r"^config text-words has no 'train' split task: use split=mini or "):
        table_task("text-words", split="train")


def test_the_mock_model_is_asked_the_lm_eval_prompt_and_scored_as_lm_eval_scores(mock_log: Path) -> None:
    log = read_eval_log(str(mock_log))
    assert (log.eval.task, log.eval.task_version, log.plan.config.max_tokens, log.plan.config.temperature) == (
        "mmmult",
        1,
        4096,
        0.0,
    )
    assert log.eval.task_args["config"] == "text-numerals" and len(log.samples) == 17
    for sample in log.samples:
        doc = sample.metadata
        assert sample.input[0].text == multiply_prompt(doc) and sample.target == str(doc["product"])
        expected = int(extract_answer(half_right(doc["a"], doc["b"])) == doc["product"])
        assert sample.scores["multiply_scorer"].value["exact_match"] == expected
    share = sum(int(s.metadata["a"] % 2 == 1) for s in log.samples) / len(log.samples)
    exact = {score.name: score.metrics["mean"].value for score in log.results.scores}["exact_match"]
    assert exact == pytest.approx(share) and 0 < share < 1


def test_a_direct_run_asks_for_the_product_alone_within_the_direct_budget(small_build: Path, tmp_path: Path) -> None:
    model = get_model("mockllm/model", custom_outputs=mock_answer)
    log = run(mmmult_task("text-words", regime="direct", data=str(small_build)), model, tmp_path, limit=2)
    assert log.plan.config.max_tokens == 52
    assert all("Do not show any working" in s.input[0].text for s in log.samples)


def test_the_board_rescores_an_inspect_log_item_for_item_as_the_same_answers_through_lm_eval(
    mock_log: Path, reference: Any
) -> None:
    upload = read_upload([(mock_log.name, mock_log)])
    verdict = check(upload, reference)
    twin = read_upload(lm_eval_files(reference, ["mmmult_text_numerals"], lambda t, p: half_right(p["a"], p["b"])))
    expected = check(twin, reference)
    assert sorted(map(vars, verdict.items), key=str) == sorted(map(vars, expected.items), key=str)
    assert [(t.task, t.verified, t.score, t.n) for t in verdict.tasks] == [
        (t.task, t.verified, t.score, t.n) for t in expected.tasks
    ]
    assert (upload.provenance.harness_name, upload.provenance.harness_version) == ("inspect-ai", "0.3.285")
    assert upload.provenance.harness == "inspect-ai 0.3.285"  # as the board and the model page show it
    assert upload.provenance.settings == "as declared" and upload.provenance.model_name == "mockllm/model"


class ReferenceChat(Endpoint):
    """An OpenAI-compatible chat endpoint that answers as the reference system (mmmult-reference) would answer the
    same request through lm-eval, and keeps every request's body."""

    reference: ClassVar[Any] = None

    def answer(self, body: dict[str, Any]) -> str:
        return self.reference.answer(_instance(body["messages"][-1]["content"]))

    def record(self, body: dict[str, Any]) -> None:
        self.received.append(body)


def _instance(content: str | list[dict[str, Any]]) -> Any:
    """The lm-eval request the reference system would get for a chat's user turn: its text, and the image as
    lm-eval's doc_to_image gives it (RGB) or the clip as samples."""
    from lm_eval.api.instance import Instance

    parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
    text = "\n".join(part["text"] for part in parts if part["type"] == "text")
    media: dict[str, Any] = {}
    for part in parts:
        if part["type"] == "image_url":
            png = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
            media["visual"] = [Image.open(io.BytesIO(png)).convert("RGB")]
        elif part["type"] == "input_audio":
            samples, rate = soundfile.read(io.BytesIO(base64.b64decode(part["input_audio"]["data"])), dtype="float32")
            media["audio"] = [{"array": samples, "sampling_rate": rate}]
    return Instance("generate_until", {}, (text, {}, media), 0)


@pytest.fixture
def reference_chat() -> Iterator[str]:
    from mmmult.harness.reference import ReferenceLM

    ReferenceChat.reference = ReferenceLM()
    with serving(ReferenceChat) as url:
        yield url


SERVED = {"text-numerals": "mmmult_text_numerals", "image-numerals": "mmmult_image_numerals",
          "audio-words": "mmmult_audio_words"}  # fmt: skip
LIMIT = 3


def lm_eval_answers(build: Path, out: Path) -> dict[tuple[str, str], tuple[str, int]]:
    """(task, problem) -> (the extracted answer, exact_match) of the reference system through lm-eval."""
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-reference"]
    command += ["--tasks", ",".join(SERVED.values()), "--limit", str(LIMIT)]
    command += ["--metadata", json.dumps({"data": str(build)}), "--log_samples", "--output_path", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = {}
    for path in out.rglob("samples_*.jsonl"):
        for line in path.read_text().splitlines():
            sample = json.loads(line)
            task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
            answers[task, sample["doc"]["problem_id"]] = (sample["filtered_resps"][0], sample["exact_match"])
    return answers


def test_a_served_model_gets_the_media_byte_for_byte_and_scores_as_through_lm_eval(
    small_build: Path, tmp_path: Path, reference_chat: str
) -> None:
    model = get_model("openai-api/local/reference", base_url=reference_chat, api_key="none")
    answers = {}
    for config, name in SERVED.items():
        log = run(mmmult_task(config, data=str(small_build)), model, tmp_path / "logs", limit=LIMIT)
        for sample in log.samples:
            score = sample.scores["multiply_scorer"]
            answers[name, sample.id] = (score.answer, score.value["exact_match"])
    assert answers == lm_eval_answers(small_build, tmp_path / "lm-eval")
    assert sum(correct for _, correct in answers.values()) >= 2 * LIMIT  # text and images are read exactly
    sent: dict[str, list[dict[str, Any]]] = {"image_url": [], "input_audio": []}
    for request in ReferenceChat.received:
        for part in request["messages"][-1]["content"]:
            if part["type"] in sent:
                sent[part["type"]].append(part[part["type"]])
    images = media_of(small_build, "image-numerals")[:LIMIT]
    received = [base64.b64decode(p["url"].removeprefix("data:image/png;base64,")) for p in sent["image_url"]]
    assert sorted(received) == sorted(images)  # inspect sends a task's samples at once, in any order
    clips = [decode_audio(data, "float32") for data in media_of(small_build, "audio-words")[:LIMIT]]
    wavs = [base64.b64decode(wav_base64({"array": clip, "sampling_rate": rate})) for clip, rate in clips]
    assert [p["format"] for p in sent["input_audio"]] == ["wav"] * LIMIT
    assert sorted(base64.b64decode(p["data"]) for p in sent["input_audio"]) == sorted(wavs)


def media_of(build: Path, config: str) -> list[bytes]:
    """The build's media bytes of a config's test split, in its order."""
    column = "image" if config.startswith("image") else "audio"
    rows = datasets.load_dataset(str(build), config, data_files={"test": f"{config}/test-*.parquet"}, split="test")
    feature = datasets.Image(decode=False) if column == "image" else datasets.Audio(decode=False)
    return [row[column]["bytes"] for row in rows.cast_column(column, feature)]


@pytest.fixture(scope="module")
def image_log(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("inspect-image")
    model = get_model("mockllm/model", custom_outputs=lambda *_: said("Final Answer: 1"))
    run(mmmult_task("image-numerals", data=str(small_build)), model, logs, limit=2)
    (path,) = logs.glob("*.eval")
    return path


def rewritten(path: Path, out: Path, change: Any, suffix: str = ".eval") -> Path:
    """The log at `path` changed by `change`, written to out/changed.eval (or .json)."""
    log = read_eval_log(str(path), resolve_attachments=True)
    change(log)
    target = out / f"changed{suffix}"
    write_eval_log(log, str(target), format="eval" if suffix == ".eval" else "json")
    return target


def refused(path: Path, media: MediaDigests | None = None) -> str:
    with pytest.raises(Rejected) as error:
        read_upload([(path.name, path)], media)
    return str(error.value)


def test_a_log_of_an_unknown_format_version_is_refused_naming_harness_version_and_field(
    mock_log: Path, tmp_path: Path
) -> None:
    changed = rewritten(mock_log, tmp_path, lambda log: setattr(log, "version", 3), ".json")
    assert refused(changed) == (
        "changed.json: inspect-ai 0.3.285 wrote log format version 3 (field version); this board reads version 2: "
        "upload a log of a supported release"
    )
    changed = rewritten(mock_log, tmp_path, lambda log: log.eval.packages.update(inspect_ai="1.0.0"))
    assert refused(changed) == (
        "changed.eval: inspect-ai version '1.0.0' (field eval.packages.inspect_ai) is not one whose logs this board "
        "reads (0.3.x)"
    )


def test_a_log_of_a_task_that_does_not_exist_is_refused(mock_log: Path, tmp_path: Path) -> None:
    changed = rewritten(mock_log, tmp_path, lambda log: setattr(log.eval, "task", "gsm8k"))
    assert refused(changed) == (
        "changed.eval: inspect-ai 0.3.285 task 'gsm8k' (field eval.task) is not mmmult's task 'mmmult': run "
        "eval/inspect/task.py"
    )
    changed = rewritten(mock_log, tmp_path, lambda log: log.eval.task_args.update(config="text-sideways"))
    assert refused(changed).startswith(
        "changed.eval: inspect-ai 0.3.285 task arguments (field eval.task_args): unknown config 'text-sideways': "
    )


def test_a_sample_whose_prompt_does_not_match_the_dataset_is_refused(mock_log: Path, tmp_path: Path) -> None:
    def tamper(log: EvalLog) -> None:
        log.samples[0].input[0].content = log.samples[0].input[0].text.replace("exact product", "rough product")

    changed = rewritten(mock_log, tmp_path, tamper)
    first = read_eval_log(str(mock_log)).samples[0].id
    assert refused(changed) == (
        f"changed.eval: inspect-ai 0.3.285, sample {first!r}: field input is not the prompt mmmult_text_numerals "
        f"makes of problem {first}"
    )


def test_a_sample_whose_image_is_not_the_board_s_build_s_is_refused_for_a_build_read_from_the_hub(
    image_log: Path, small_build: Path, tmp_path: Path
) -> None:
    def tamper(log: EvalLog) -> None:
        buffer = io.BytesIO()
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(buffer, format="PNG")
        other = base64.b64encode(buffer.getvalue()).decode()
        log.samples[1].input[0].content[0].image = f"data:image/png;base64,{other}"
        log.samples[1].metadata["media_sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()  # claimed as sent

    changed = rewritten(image_log, tmp_path, tamper)
    second = read_eval_log(str(image_log)).samples[1].id
    media = served_from_hub(small_build, tmp_path / "hub")
    assert refused(changed, media) == (
        f"changed.eval: inspect-ai 0.3.285, sample {second!r}: the image sent (field input) is not the image-numerals "
        f"image of problem {second} in this board's build"
    )
    assert list(read_upload([(image_log.name, image_log)], media).samples) == ["mmmult_image_numerals"]  # untouched


@pytest.fixture(scope="module")
def audio_log(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("inspect-audio")
    model = get_model("mockllm/model", custom_outputs=lambda *_: said("Final Answer: 1"))
    run(mmmult_task("audio-words", data=str(small_build)), model, logs, limit=2)
    (path,) = logs.glob("*.eval")
    return path


def test_a_sample_naming_a_clip_that_is_not_the_board_s_build_s_is_refused(
    audio_log: Path, small_build: Path, tmp_path: Path
) -> None:
    """A clip goes as a WAV of the build's Opus samples: the digest of the stored clip it names must be the build's."""
    log = read_eval_log(str(audio_log))
    media = served_from_hub(small_build, tmp_path / "hub")
    assert [s.metadata["media_sha256"] for s in log.samples] == [media["audio-words"][s.id] for s in log.samples]
    changed = rewritten(audio_log, tmp_path, lambda log: log.samples[0].metadata.update(media_sha256="0" * 64))
    assert refused(changed, media) == (
        f"changed.eval: inspect-ai 0.3.285, sample {log.samples[0].id!r}: field metadata.media_sha256 is not the "
        f"digest of the audio-words audio of problem {log.samples[0].id} in this board's build"
    )
    assert list(read_upload([(audio_log.name, audio_log)], media).samples) == ["mmmult_audio_words"]


def test_the_board_reads_inspect_logs_without_inspect_ai_in_either_format(mock_log: Path, tmp_path: Path) -> None:
    """The Space has no inspect-ai: its .eval logs (zstd members) and .json logs read the same without it."""
    as_json = rewritten(mock_log, tmp_path, lambda log: None, ".json")
    script = (
        "import sys, json; sys.modules['inspect_ai'] = None\n"  # any import of inspect_ai now fails
        "from mmmult.leaderboard.intake.upload import read_upload\n"
        "for path in sys.argv[1:]:\n"
        "    upload = read_upload([(path.rsplit('/', 1)[1], path)])\n"
        "    (samples,) = upload.samples.values()\n"
        "    print(json.dumps([upload.provenance.harness, upload.files[samples].read_text()]))\n"
    )
    command = [sys.executable, "-c", script, str(mock_log), str(as_json)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    (harness, from_eval), (_, from_json) = [json.loads(line) for line in result.stdout.splitlines()]
    log = read_eval_log(str(mock_log))
    lines = [json.loads(line) for line in from_eval.splitlines()]
    assert harness == "inspect-ai 0.3.285" and from_json == from_eval
    assert [(line["doc"]["problem_id"], line["resps"]) for line in lines] == [
        (sample.id, [[sample.output.completion]]) for sample in log.samples
    ]


def test_hostile_inspect_logs_are_refused_by_name(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.eval"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(6):
            archive.writestr(f"samples/{i}.json", b"0" * 100 * 2**20)
    assert bomb.stat().st_size < 5 * 2**20
    assert refused(bomb) == "bomb.eval unpacks to more than 500 MB"
    broken = tmp_path / "broken.eval"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    assert refused(broken) == "broken.eval is not a readable inspect-ai .eval log (BadZipFile)"
    deep = tmp_path / "deep.json"
    deep.write_text('{"version": 2, "eval": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert refused(deep) == "inspect-ai log deep.json is nested too deeply to be lm-eval output"


def test_an_inspect_log_comes_alone(mock_log: Path) -> None:
    with pytest.raises(Rejected, match=r"^upload one inspect-ai log alone \(got 2 files\): one run at a time$"):
        read_upload([(mock_log.name, mock_log), ("results_x.json", b"{}")])


def test_the_inspect_task_file_runs_from_inspect_s_command_line(
    small_build: Path, tmp_path: Path, reference_chat: str
) -> None:
    """What the README tells a user to type for a served model: the task file, its -T parameters, a server."""
    command = [sys.executable, "-m", "inspect_ai", "eval", "eval/inspect/task.py", "-T", "config=text-words"]
    command += ["-T", f"data={small_build}", "-T", "regime=direct", "--model", "openai-api/local/reference"]
    command += ["--limit", "2", "--log-dir", str(tmp_path), "--display", "none"]
    env = {**os.environ, "LOCAL_BASE_URL": reference_chat, "LOCAL_API_KEY": "none"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = tmp_path.glob("*.eval")
    log = read_eval_log(str(path))
    assert log.eval.task_args["regime"] == "direct" and log.status == "success"
    assert [s.output.completion for s in log.samples] == [f"Final Answer: {s.metadata['product']}" for s in log.samples]
    assert {score.name: score.metrics["mean"].value for score in log.results.scores}["exact_match"] == 1.0


def test_the_build_s_eval_yaml_follows_the_hub_s_specification_as_inspect_ai_reads_it(small_build: Path) -> None:
    """Each entry validates as inspect-ai's own eval.yaml loader validates one (HFTask forbids other keys)."""
    import yaml
    from inspect_ai._eval.task.hf import HFTask

    record = yaml.safe_load((small_build / "eval.yaml").read_text())
    assert list(record) == ["name", "description", "evaluation_framework", "tasks"]
    assert (record["name"], record["evaluation_framework"]) == ("mmmult", "inspect-ai")
    expected = ["mmmult_text_numerals", "mmmult_text_words", "mmmult_direct_text_numerals", "mmmult_direct_text_words"]
    assert [entry["id"] for entry in record["tasks"]] == expected
    assert expected == [t.name for t in GENERATING_TASKS.values() if in_eval_yaml(t)][:4]
    for entry in record["tasks"]:
        task = HFTask.model_validate(entry)
        assert (task.config, task.split, task.field_spec.input, task.field_spec.target) == (
            TASKS[entry["id"]].config,
            "test",
            "stimulus",
            "product",
        )
        assert [solver.name for solver in task.solvers] == ["prompt_template", "generate"]
        assert [scorer.name for scorer in task.scorers] == ["pattern"]


def answers_of_the_hub(
    messages: list[ChatMessage], tools: object, choice: object, config: GenerateConfig
) -> ModelOutput:
    """half_right, but on first operands of 2 mod 4 the right product followed by a check's number, which inspect's
    `match` scorer would take for the answer."""
    a, b = parse_stimulus(messages[-1].text)
    return said(f"Final Answer: {a * b}\nCheck: {a * b + 10}" if a % 4 == 2 else half_right(a, b))


def test_an_inspect_run_of_an_eval_yaml_entry_asks_and_scores_as_the_mmmult_task(
    small_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inspect-ai's own loader of the Hub's eval.yaml (hf/USER/mmmult/<id>), pointed at the build on disk, asks the
    mock model the mmmult task's prompt and scores every answer as mmmult's exact_match does."""
    import huggingface_hub
    from inspect_ai._eval.task import hf

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where inspect keeps a copy of each dataset read
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda **_: str(small_build / "eval.yaml"))
    load = hf.hf_dataset
    monkeypatch.setattr(hf, "hf_dataset", lambda path, **kwargs: load(str(small_build), **kwargs | {"cached": False}))
    model = get_model("mockllm/model", custom_outputs=answers_of_the_hub)
    for name in ("mmmult_text_words", "mmmult_direct_text_numerals"):
        (task,) = hf.task_create_from_hf(f"hf/USER/mmmult/{name}")
        hub = run(task, model, tmp_path / "hub")
        ours = run(mmmult_task(TASKS[name].config, regime=TASKS[name].regime, data=str(small_build)), model, tmp_path)
        asked = {s.metadata["problem_id"]: s.input[0].text for s in ours.samples}
        scores = {s.metadata["problem_id"]: s.scores["multiply_scorer"].value["exact_match"] for s in ours.samples}
        by_stimulus = {s.metadata["stimulus"]: s.metadata["problem_id"] for s in ours.samples}
        hub_asked = {by_stimulus[s.input]: s.messages[0].text for s in hub.samples}
        hub_scores = {by_stimulus[s.input]: int(s.scores["pattern"].value == "C") for s in hub.samples}
        assert hub_asked == asked and hub_scores == scores, name
        assert 0 < sum(scores.values()) < len(scores) == 17


def test_the_board_shows_one_model_through_three_harnesses_side_by_side_each_labelled(
    mock_log: Path, reference: Any, store: Any, tmp_path: Path
) -> None:
    """The same answers through lm-eval, lmms-eval and inspect-ai: three rows of one score, each naming its harness."""
    from mmmult.leaderboard.display.board import Board
    from mmmult.leaderboard.submissions import submit
    from tests.test_lmms_eval import lmms_files
    from tests.test_provenance import declared, edited, form, written

    twin = edited(
        lm_eval_files(reference, ["mmmult_text_numerals"], lambda t, p: half_right(p["a"], p["b"])),
        declared,
    )
    runs = {
        "via-lm-eval": twin,
        "via-lmms-eval": lmms_files(twin, "0.7"),
        "via-inspect": [(mock_log.name, mock_log.read_bytes())],
    }
    for name, files in runs.items():
        assert " re-scored" in submit(store, reference, written(files, tmp_path / name), form(name))
    table = Board(store, reference).table(modality="text")
    rows = sorted(table[["model", "harness", "text-numerals"]].values.tolist())
    share = sum(int(p["a"]) % 2 for p in reference.problems.values()) / len(reference)
    assert [row[:2] for row in rows] == [
        ["via-inspect", "inspect-ai 0.3.285"],
        ["via-lm-eval", "lm-eval 0.4.13 (ad3cfc2)"],
        ["via-lmms-eval", "lmms-eval 0.7.3"],
    ]
    assert [row[2] for row in rows] == [pytest.approx(share)] * 3 and 0 < share < 1
