"""`mmmult-cascade`: the reference's reader, then a text model behind an OpenAI-compatible endpoint, end to end.

The endpoint is a local server that multiplies the typed problem it is sent exactly (a text model that
is always right), so a cascade's score on a config is its reader's, item for item the reference's, and
what the server receives is exactly the text-numerals prompt of the problem as read.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dataset_builder.prompts import direct_prompt, multiply_prompt
from dataset_builder.stimulus import parse_stimulus, stimulus
from dataset_builder.tasks import TASKS, direct_budget
from tests.openai_server import Endpoint, serving
from tests.test_eval import mmmult_eval, outputs


class Multiplier(Endpoint):
    """Chat and text completions that answer the typed problem's exact product; `reply` replaces the whole reply
    body when a test wants garbage."""

    reply: ClassVar[bytes | None] = None

    def answer(self, body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"] if self.path.endswith("/chat/completions") else body["prompt"]
        a, b = parse_stimulus(text.rsplit("\n\n", 1)[-1])
        return f"Final Answer: {a * b}"

    def send_body(self, data: bytes) -> None:
        super().send_body(self.reply or data)


@pytest.fixture
def endpoint() -> Iterator[str]:
    Multiplier.reply = None
    with serving(Multiplier) as url:
        yield url


def cascade(small_build: Path, out: Path, model_args: str, tasks: str, *extra: str):
    return mmmult_eval(
        small_build, out, "--model", "mmmult-cascade", "--model_args", model_args, "--tasks", tasks, *extra
    )


def responses(run: Path, task: str) -> dict[str, tuple[str, float]]:
    """problem_id: (response, exact_match) of one task of a run's samples."""
    _, samples = outputs(run)
    return {s["doc"]["problem_id"]: (s["resps"][0][0], s[TASKS[task].headline]) for s in samples[task]}


def test_images_and_speech_reach_the_text_model_as_the_typed_problem_and_score_as_the_reader_reads(
    small_build: Path, reference_run: Path, tmp_path: Path, endpoint: str
) -> None:
    tasks = "mmmult_direct_image_numerals,mmmult_direct_audio_words,mmmult_image_words"
    result = cascade(small_build, tmp_path, f"model=qwen-test,base_url={endpoint},num_concurrent=3", tasks)
    assert result.returncode == 0, result.stderr[-3000:]
    _, samples = outputs(tmp_path)
    _, reference = outputs(reference_run)
    sent = [body for path, body in Multiplier.received if path == "/v1/chat/completions"]
    assert len(sent) == len(Multiplier.received) == sum(len(samples[task]) for task in tasks.split(","))
    prompts = {body["messages"][0]["content"] for body in sent}
    for task in tasks.split(","):
        ours = {s["doc"]["problem_id"]: s for s in samples[task]}
        theirs = {s["doc"]["problem_id"]: s for s in reference[task]}
        assert ours.keys() == theirs.keys()
        for problem_id, sample in ours.items():
            assert sample["exact_match"] == theirs[problem_id]["exact_match"]  # the reader decides, item for item
            doc = sample["doc"]
            typed = {"modality": "text", "stimulus": stimulus(doc["a"], doc["b"], "numerals")}
            ask = direct_prompt if "direct" in task else multiply_prompt
            assert (ask(typed) in prompts) == bool(sample["exact_match"])
    assert {body["max_tokens"] for body in sent if "Do not show any working" in body["messages"][0]["content"]} == {
        direct_budget()
    }
    assert {body["model"] for body in sent} == {"qwen-test"}
    assert {body["temperature"] for body in sent} == {0.0}


def test_perception_is_the_readers_alone(small_build: Path, reference_run: Path, tmp_path: Path, endpoint: str) -> None:
    task = "mmmult_perceive_image_numerals"
    result = cascade(small_build, tmp_path, f"model=m,base_url={endpoint}", task)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Multiplier.received == []
    ours, theirs = responses(tmp_path, task), responses(reference_run, task)
    assert {k: v[1] for k, v in ours.items()} == {k: v[1] for k, v in theirs.items()}
    assert all(response.startswith("Numbers: ") and "\n" not in response for response, _ in ours.values())


def test_a_base_model_gets_the_completions_endpoint_and_text_tasks_go_as_they_are(
    small_build: Path, tmp_path: Path, endpoint: str
) -> None:
    result = cascade(small_build, tmp_path, f"model=gemma-test,base_url={endpoint},chat=false", "mmmult_text_numerals")
    assert result.returncode == 0, result.stderr[-3000:]
    _, samples = outputs(tmp_path)
    (task_samples,) = samples.values()
    assert [path for path, _ in Multiplier.received] == ["/v1/completions"] * len(task_samples)
    assert sorted(body["prompt"] for _, body in Multiplier.received) == sorted(
        multiply_prompt(s["doc"]) for s in task_samples
    )
    assert all(s["exact_match"] == 1.0 for s in task_samples)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_endpoint_that_is_down_stops_the_run_naming_it_and_the_item(small_build: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    result = cascade(small_build, tmp_path, f"model=m,base_url={url},max_retries=0,timeout=5", "mmmult_text_numerals")
    assert result.returncode == 2
    assert f"mmmult-cascade: {url} failed on mmmult_text_numerals item " in result.stderr
    assert "Connection error." in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("results_*.json"))


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (b"<html>502 Bad Gateway</html>", "with something that is not a chat completion (Expecting value"),
        (b'{"id": "t", "choices": []}', "with something that is not a chat completion"),
        (b'{"id": "t", "choices": [{"index": 0, "message": {"role": "assistant", "content": null}}]}', "without text"),
    ],
)
def test_garbage_from_the_endpoint_is_refused_naming_the_item(
    small_build: Path, tmp_path: Path, endpoint: str, reply: bytes, reason: str
) -> None:
    Multiplier.reply = reply
    result = cascade(small_build, tmp_path, f"model=m,base_url={endpoint},max_retries=0", "mmmult_text_numerals")
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"mmmult-cascade: {endpoint} answered mmmult_text_numerals item " in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("results_*.json"))


@pytest.mark.parametrize(
    ("model_args", "reason"),
    [
        ("model=m", "mmmult-cascade needs the text model and its endpoint"),
        ("model=m,base_url=http://127.0.0.1:9/v1,chat=maybe", "chat='maybe' is not a boolean"),
        ("model=m,base_url=http://127.0.0.1:9/v1,num_concurrent=0", "num_concurrent=0 must be 1 or more"),
    ],
)
def test_bad_model_args_are_refused_with_what_to_type(
    small_build: Path, tmp_path: Path, model_args: str, reason: str
) -> None:
    result = cascade(small_build, tmp_path, model_args, "mmmult_text_numerals")
    assert result.returncode == 2
    assert reason in result.stderr
    assert "Traceback" not in result.stderr


def test_the_probe_needs_the_text_model_itself(small_build: Path, tmp_path: Path, endpoint: str) -> None:
    result = cascade(small_build, tmp_path, f"model=m,base_url={endpoint}", "mmmult_probe_text", "--limit", "2")
    assert result.returncode == 2
    assert "mmmult-cascade answers generation tasks only" in result.stderr
