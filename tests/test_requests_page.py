"""Evaluation requests on the board: the request form, the board's own runs ingested once with their
label, and a requests page that says why a request failed or was refused."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from dataset_builder.settings import API_MODELS_ENV
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.formatting import display
from mmmult.leaderboard.display.requests import (
    REQUEST_COLUMNS,
    RequestForm,
    ingest_finished,
    request_evaluation,
    requests_page,
    requests_table,
)
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.queue.folder import LocalQueue
from mmmult.queue.request import DONE, FAILED, ApiModel, QueueError, load_api_models
from tests.simulate import lm_eval_files, right

FORM = RequestForm("org/model-7B", "hf", ["text"], "Org", params_b="7", submitter="alice")
API_MODELS = {
    "gpt-4o-audio": ApiModel("gpt-4o-audio", "openai-chat-completions", {"num_concurrent": 4}),
    "local/qwen": ApiModel("local/qwen", "local-chat-completions",
                           {"base_url": "http://127.0.0.1:8000/v1/chat/completions", "tokenizer_backend": "none"}),
}  # fmt: skip
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def finished_run(queue: LocalQueue, files: list[tuple[str, bytes]], form: RequestForm = FORM) -> str:
    """A request as a worker leaves it: claimed, its lm-eval output in the queue, marked done."""
    assert request_evaluation(queue, form).startswith("request ")
    claimed = queue.claim("worker-1", 60)
    folder = queue.results_dir(claimed.id) / "org__model-7B"
    folder.mkdir(parents=True)
    for name, data in files:
        (folder / name).write_bytes(data)
    queue.finish(claimed, DONE)
    return claimed.id


def test_the_form_queues_a_request_and_refuses_bad_or_repeated_ones(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path / "queue")
    answer = request_evaluation(queue, FORM)
    assert answer == ("request org_model-7B__main__auto__text queued: a worker will run mmmult_text, "
                      "mmmult_perceive_text_numerals, mmmult_perceive_text_words")  # fmt: skip
    (request,) = queue.requests()
    assert (request.submitter, request.family, request.params_b) == ("alice", "Org", 7.0)
    assert request_evaluation(queue, FORM).startswith(
        "request refused: org/model-7B (main, auto, text) is already pending"
    )
    assert request_evaluation(queue, replace(FORM, family="<b>x</b>")) == (
        "request refused: family: use letters, digits, space and ._-/:+() only, 1 to 100 characters")  # fmt: skip
    assert request_evaluation(queue, replace(FORM, channels=[])).startswith("request refused: channels must be")
    on_hub = request_evaluation(queue, replace(FORM, model="org/other", submitter=None), account="hf-user")
    assert on_hub.startswith("request org_other__main__auto__text queued")
    assert queue.get("org_other__main__auto__text").submitter == "hf-user"


def test_the_form_names_the_regimes_and_refuses_an_unknown_one_storing_nothing(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path / "queue")
    for hostile in (["cot"], ["worked", "<script>alert(1)</script>"], []):
        answer = request_evaluation(queue, replace(FORM, regimes=hostile))
        shown = f"unknown regime {hostile[-1]!r}: regimes" if hostile else "regimes must be some of worked, direct; got"
        assert answer.startswith(f"request refused: {shown}") and answer.endswith(
            "worked, direct" if hostile else "none"
        )
    assert queue.requests() == [] and not list((tmp_path / "queue" / "requests").iterdir())
    answer = request_evaluation(queue, replace(FORM, regimes=["direct"]))
    assert answer == ("request org_model-7B__main__auto__text__direct queued: a worker will run mmmult_direct_text, "
                      "mmmult_perceive_text_numerals, mmmult_perceive_text_words")  # fmt: skip
    assert [r.regimes for r in queue.requests()] == [("direct",)]


def test_a_model_the_hub_does_not_know_is_refused_when_the_hub_answers(tmp_path: Path, monkeypatch) -> None:
    import httpx
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    asked = []
    not_found = httpx.Response(404, request=httpx.Request("GET", "https://hub.invalid/api/models"))

    def model_info(repo_id: str, revision: str, timeout: float) -> None:
        asked.append((repo_id, revision))
        if repo_id == "org/ghost":
            raise RepositoryNotFoundError("404", response=not_found)
        if revision == "v9":
            raise RevisionNotFoundError("404", response=not_found)

    monkeypatch.setattr(huggingface_hub, "model_info", model_info)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    queue = LocalQueue(tmp_path / "queue")
    answer = request_evaluation(queue, replace(FORM, model="org/ghost"))
    assert answer == "request refused: org/ghost is not a model on the Hub (or it is private)"
    answer = request_evaluation(queue, replace(FORM, revision="v9"))
    assert answer == "request refused: org/model-7B has no revision 'v9' on the Hub"
    assert request_evaluation(queue, FORM).startswith("request org_model-7B__main__auto__text queued")
    api = replace(FORM, model="gpt-4o-audio", model_type="openai-chat-completions", channels=["audio"])
    assert request_evaluation(queue, api, api_models=API_MODELS).startswith("request gpt-4o-audio")
    assert asked == [("org/ghost", "main"), ("org/model-7B", "v9"), ("org/model-7B", "main")]  # an API model: not asked


def test_a_hub_that_cannot_be_reached_leaves_the_check_to_the_worker_and_a_bug_is_not_hidden(
    tmp_path: Path, monkeypatch
) -> None:
    import httpx2
    import huggingface_hub

    failure: list[Exception] = [httpx2.ConnectError("no route to host")]

    def model_info(repo_id: str, revision: str, timeout: float) -> None:
        raise failure[0]

    monkeypatch.setattr(huggingface_hub, "model_info", model_info)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    queue = LocalQueue(tmp_path / "queue")
    assert request_evaluation(queue, FORM).startswith("request org_model-7B__main__auto__text queued")
    failure[0] = TypeError("model_info() got an unexpected keyword argument")
    with pytest.raises(TypeError):
        request_evaluation(queue, replace(FORM, model="org/other"))


def test_a_finished_request_becomes_one_evaluated_row(
    reference, run_files, run_tasks, store: Store, tmp_path: Path
) -> None:
    queue = LocalQueue(tmp_path / "queue")
    uploaded = read_upload(run_files)
    store.add(Entry("org/model-7B", "Org", "alice", True, 7.0), uploaded, check(uploaded, reference))
    request_id = finished_run(queue, lm_eval_files(reference, run_tasks, right, "org/model-7B"))
    (sid,) = ingest_finished(queue, store, reference)
    assert ingest_finished(queue, store, reference) == []  # once
    assert store.submission(sid)["status"] == "evaluated"
    row = Board(store, reference).table(self_reported=True).set_index("model").loc["org/model-7B"]
    assert (row["submission_id"], row["status"], row["submissions"]) == (sid, "evaluated", 2)  # preferred to the upload
    shown = display(Board(store, reference).table())
    assert list(shown["Checked"]) == ["evaluated by the board"]
    page = requests_table(queue, store).set_index("model").loc["org/model-7B"]
    assert (page["status"], page["on the board"], page["reason"]) == ("done", f"#{sid} evaluated", "")
    assert store.evaluated()[request_id]["submission_id"] == sid


def test_a_run_the_checks_refuse_and_a_failed_run_show_their_reasons(
    reference, run_tasks, store: Store, tmp_path: Path
) -> None:
    queue = LocalQueue(tmp_path / "queue")
    files = lm_eval_files(reference, run_tasks, right, "org/model-7B")
    short = [(name, b"\n".join(data.splitlines()[:-1]) + b"\n" if name.startswith("samples_") else data)
             for name, data in files]  # fmt: skip
    finished_run(queue, short)
    (sid,) = ingest_finished(queue, store, reference)
    assert store.submission(sid)["status"] == "rejected"
    assert ingest_finished(queue, store, reference) == []  # a refusal is recorded too: not retried
    request_evaluation(queue, replace(FORM, model="org/broken"))
    broken = queue.claim("worker-2", 60)
    queue.finish(broken, FAILED, "mmmult eval exited with status 1:\nOSError: org/broken is not a model")
    page = requests_table(queue, store).set_index("model")
    assert page.loc["org/model-7B", "on the board"] == f"#{sid} rejected"
    assert "was refused: mmmult_text_numerals: 1 of" in page.loc["org/model-7B", "reason"]
    assert (page.loc["org/broken", "status"], page.loc["org/broken", "on the board"]) == ("failed", "")
    assert page.loc["org/broken", "reason"].endswith("OSError: org/broken is not a model")
    assert Board(store, reference).table().empty


def test_a_damaged_request_file_is_shown_on_the_requests_tab_and_nothing_is_stored(
    reference, store: Store, tmp_path: Path
) -> None:
    queue = LocalQueue(tmp_path / "queue")
    request_evaluation(queue, FORM)
    path = tmp_path / "queue" / "requests" / "x.json"
    path.write_text('{"model": "<script>alert(1)</script>"}')
    aside, good = requests_page(queue, store, reference).to_dict("records")
    assert aside == dict.fromkeys(REQUEST_COLUMNS, "") | {
        "status": "set aside",
        "reason": f"{path} is not a request of this queue (it has no field 'channels'); fix or remove it; no worker "
        "runs it",
    }
    assert (good["model"], good["status"]) == (FORM.model, "pending")
    assert store.evaluated() == {}
    path.unlink()
    assert list(requests_page(queue, store, reference)["model"]) == [FORM.model]


def test_an_api_model_is_run_only_from_the_owner_s_list_with_its_arguments(tmp_path: Path, monkeypatch) -> None:
    listed = [{"name": m.name, "model_type": m.model_type, "model_args": m.model_args} for m in API_MODELS.values()]
    (tmp_path / "api-models.json").write_text(json.dumps(listed))
    monkeypatch.setenv(API_MODELS_ENV, str(tmp_path / "api-models.json"))
    assert load_api_models() == API_MODELS
    queue = LocalQueue(tmp_path / "queue")
    local = replace(FORM, model="local/qwen", model_type="local-chat-completions", family="Qwen")
    assert request_evaluation(queue, local, api_models=API_MODELS).startswith("request local_qwen__main__auto__text")
    (request,) = queue.requests()
    assert request.model_args() == (
        "model=local/qwen,base_url=http://127.0.0.1:8000/v1/chat/completions,tokenizer_backend=none"
    )
    unlisted = replace(FORM, model="gpt-5", model_type="openai-chat-completions")
    assert request_evaluation(queue, unlisted, api_models=API_MODELS) == (
        "request refused: gpt-5 (openai-chat-completions) is not an API model this board runs; choose one of "
        "gpt-4o-audio (openai-chat-completions), local/qwen (local-chat-completions)"
    )
    other_type = replace(FORM, model="gpt-4o-audio", model_type="local-chat-completions")
    assert request_evaluation(queue, other_type, api_models=API_MODELS).startswith(
        "request refused: gpt-4o-audio (local-chat-completions) is not an API model this board runs"
    )
    assert request_evaluation(queue, unlisted) == (
        "request refused: gpt-5 (openai-chat-completions) is not an API model this board runs; its owner lists "
        "none (MMMULT_API_MODELS)"
    )
    assert [r.model for r in queue.requests()] == ["local/qwen"]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_a_request_from_the_browser_is_queued_and_its_outcome_shown(reference, run_tasks, store: Store,
                                                                   tmp_path: Path, monkeypatch) -> None:  # fmt: skip
    """The request form, a refusal shown as text, and the Requests tab and the board after a worker's runs."""
    from playwright.sync_api import expect, sync_playwright

    from mmmult.leaderboard.display.app import build_app

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    queue = LocalQueue(tmp_path / "queue")
    demo = build_app(store, reference, oauth=False, queue=queue, api_models={})
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            page = browser.new_page()
            page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
            page.goto(demo.local_url)
            page.get_by_role("tab", name="Submit").click()
            page.locator("#submitter textarea, #submitter input").first.fill("bob")
            page.get_by_text("Or request an evaluation: the board's workers run the model").click()
            page.locator("#req_model textarea, #req_model input").first.fill("org/vision-7B")
            page.locator("#req_type input").click()
            page.get_by_role("option", name="hf-multimodal", exact=True).click()
            page.locator("#req_channels").get_by_label("image").check()
            page.locator("#req_regimes").get_by_label("direct").check()
            page.locator("#req_family textarea, #req_family input").first.fill("Vision")
            page.locator("#ask").click()
            asked = page.locator("#asked textarea")
            expect(asked).to_have_value(
                "request org_vision-7B__main__auto__text-image__worked-direct queued: a worker will run mmmult_text, "
                "mmmult_image, mmmult_direct_text, mmmult_direct_image, mmmult_perceive_text_numerals, "
                "mmmult_perceive_text_words, mmmult_perceive_image_numerals, "
                "mmmult_perceive_image_words",
                timeout=30_000,
            )
            (request,) = queue.requests()
            assert (request.model, request.model_type, request.channels, request.family, request.submitter) == (
                "org/vision-7B", "hf-multimodal", ("text", "image"), "Vision", "bob")  # fmt: skip
            assert (request.revision, request.precision, request.status) == ("main", "auto", "pending")
            assert request.regimes == ("worked", "direct")

            page.locator("#req_model textarea, #req_model input").first.fill("<img src=x onerror=alert(1)>")
            page.locator("#ask").click()
            expect(asked).to_have_value(
                "request refused: model: use letters, digits, space and ._-/:+() only, 1 to 100 characters",
                timeout=30_000,
            )
            assert page.locator('img[src="x"]').count() == 0
            assert [r.id for r in queue.requests()] == [request.id]

            failed = queue.claim("worker-1", 60)
            assert failed.id == request.id
            reason = "mmmult eval exited with status 1:\nOSError: org/vision-7B does not appear to have a config.json"
            queue.finish(failed, FAILED, reason)
            finished_run(queue, lm_eval_files(reference, run_tasks, right, "org/model-7B"))
            page.reload()
            page.get_by_role("tab", name="Requests").click()
            rows = page.locator("#requests").get_by_role("row")
            stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
            expect(rows.filter(has_text="org/vision-7B").get_by_role("gridcell")).to_have_text(
                ["org/vision-7B", "main", "auto", "hf-multimodal", "text, image", "worked, direct", "bob", "failed",
                 stamp, stamp, "",
                 reason], timeout=30_000)  # fmt: skip
            done = ["org/model-7B", "main", "auto", "hf", "text", "worked", "alice", "done", stamp, stamp,
                    "#1 evaluated", ""]  # fmt: skip
            expect(rows.filter(has_text="org/model-7B").get_by_role("gridcell")).to_have_text(done)
            page.get_by_role("tab", name="Leaderboard").click()
            evaluated = page.locator("#board").get_by_role("row").filter(has_text="org/model-7B")
            expect(evaluated.get_by_role("gridcell", name="evaluated by the board", exact=True)).to_be_visible()
            browser.close()
    finally:
        demo.close()


ENTRY = {"name": "m", "model_type": "openai-chat-completions"}


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        (ENTRY, "must be a JSON list of {name, model_type, model_args} objects"),
        ([{**ENTRY, "model_args": {"api_key": "sk-123"}}],
         "entry 1: model_args 'api_key' would store a secret; remove it and set the key in the workers' environment"),
        ([{**ENTRY, "model_type": "hf"}], "entry 1: model_type must be one of local-chat-completions, openai-"),
        ([{**ENTRY, "url": "x"}], "entry 1: an object with name, model_type and (optionally) model_args"),
        ([{**ENTRY, "name": "../m"}], "entry 1: the name must be 1 to 96 letters, digits or ._-/"),
        ([{**ENTRY, "model_args": {"model": "x"}}],
         "entry 1: model_args 'model' is not an lm-eval argument name (the name is the model)"),
        ([{**ENTRY, "model_args": {"base_url": "a,b"}}],
         "entry 1: model_args 'base_url' must be a string or number without commas"),
        ([ENTRY, ENTRY], "names m twice"),
    ],
)  # fmt: skip
def test_a_bad_api_model_list_is_refused_with_the_entry(tmp_path: Path, listed: object, message: str) -> None:
    path = tmp_path / "api-models.json"
    path.write_text(json.dumps(listed))
    with pytest.raises(QueueError) as refused:
        load_api_models(path)
    assert message in str(refused.value) and str(path) in str(refused.value) and "sk-123" not in str(refused.value)
    with pytest.raises(QueueError, match="is not a readable JSON file"):
        load_api_models(tmp_path / "missing.json")
