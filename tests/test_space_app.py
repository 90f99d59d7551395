"""The Space as people and programs use it: the gradio_client API, sign-in, and a real headless browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from dataset_builder.leaderboard.app import build_app, submit_as
from dataset_builder.leaderboard.ingest import check, read_upload
from dataset_builder.leaderboard.simulate import lm_eval_files, logistic_model
from dataset_builder.leaderboard.store import Entry, Store
from dataset_builder.leaderboard.submission import Form
from dataset_builder.tasks import TASKS

EVIL = "<img src=x onerror=alert(1)>"
EVIL_FAMILY = '<a href="https://evil.example/">Fam</a>'
FORMULA = '=HYPERLINK("https://evil.example","x")'
MODEL = "org/model-7B (chat)"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")


@pytest.fixture
def upload_paths(run_files, tmp_path: Path) -> list[str]:
    folder = tmp_path / "upload"
    folder.mkdir()
    for name, data in run_files:
        (folder / name).write_bytes(data)
    return sorted(str(p) for p in folder.iterdir())


def serve(store: Store, reference, oauth: bool = False) -> tuple[gr.Blocks, str]:
    demo = build_app(store, reference, oauth=oauth)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    return demo, demo.local_url


@pytest.fixture
def space(reference, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = Store(tmp_path / "space" / "board.sqlite")
    demo, url = serve(store, reference)
    yield url, store
    demo.close()


def test_the_submission_endpoint_rescores_and_stores_and_refuses_markup(space, upload_paths) -> None:
    from gradio_client import Client, handle_file

    url, store = space
    client = Client(url, verbose=False)
    files = [handle_file(p) for p in upload_paths]
    status = client.predict(files, "reference", "Reference", "", True, "tester", "", "", api_name="/submit")
    assert status.startswith("submission #1 re-scored")
    assert store.counts()["task_results"] == 3
    refused = client.predict(files, EVIL, "Reference", "", True, "tester", "", "", api_name="/submit")
    assert refused.startswith("submission #2 rejected: model: use letters, digits, space and ._-/:+() only")
    assert store.counts()["task_results"] == 3
    assert store.submission(1)["params_b"] is None  # an empty size is unknown, never 0


def test_on_the_hub_the_signed_in_account_is_the_submitter(reference, upload_paths, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.sqlite")
    form = Form("m", "F", "", True, "someone else", "")
    assert submit_as(store, reference, upload_paths, form, None, oauth=True) == (
        "rejected: sign in with Hugging Face (the button above) to submit"
    )
    profile = gr.OAuthProfile({"name": "Alice", "preferred_username": "alice", "profile": "", "picture": ""})
    assert submit_as(store, reference, upload_paths, form, profile, oauth=True).startswith("submission #1 re-scored")
    assert store.submission(1)["submitter"] == "alice"  # the account, not the typed name
    local = submit_as(store, reference, upload_paths, form, None, oauth=False)
    assert local.startswith("submission #2 duplicate") and store.submission(2)["submitter"] == "someone else"


@needs_chromium
def test_browser_submit_filter_sort_csv_plots_and_the_model_page(space, upload_paths) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, _ = space
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        page = browser.new_page()
        page.goto(url)
        page.get_by_role("tab", name="Submit").click()
        expect(page.locator("body")).to_contain_text("runs without Hugging Face sign-in")
        page.locator("#files input[type=file]").set_input_files(upload_paths)
        page.locator("#model textarea, #model input").first.fill(MODEL)
        page.locator("#family textarea, #family input").first.fill("Reference")
        page.locator("#submitter textarea, #submitter input").first.fill("browser")
        page.locator("#send").click()
        page.wait_for_function(
            "() => (document.querySelector('#status textarea') || {}).value?.includes('re-scored')", timeout=60_000
        )
        page.get_by_role("tab", name="Leaderboard").click()
        board = page.locator("#board")
        expect(board).to_contain_text(MODEL, timeout=30_000)
        expect(board).to_contain_text("Configs")  # named columns, not raw ones
        expect(board).not_to_contain_text("params_b")
        page.locator("#search textarea, #search input").first.fill("no such model")
        expect(board).not_to_contain_text(MODEL, timeout=30_000)
        page.locator("#search textarea, #search input").first.fill("")
        expect(board).to_contain_text(MODEL, timeout=30_000)
        with page.expect_download() as download:
            page.locator("#download").click()
        csv = Path(download.value.path()).read_text()
        assert csv.splitlines()[0].startswith("rank,model,family")
        assert MODEL in csv

        page.get_by_role("tab", name="Accuracy vs C").click()
        expect(page.locator("#curve .js-plotly-plot")).to_have_count(1, timeout=30_000)
        expect(page.locator("#curve")).to_contain_text(MODEL, timeout=30_000)
        page.locator("#curve").hover()
        with page.expect_download() as png:
            page.locator('#curve [data-title="Download plot as a PNG"]').click()
        assert Path(png.value.path()).read_bytes().startswith(b"\x89PNG")

        page.get_by_role("tab", name="Model analysis").click()
        expect(page.locator("#chosen input")).to_have_value(MODEL, timeout=30_000)  # the top model by default
        expect(page.locator("#across")).to_contain_text("text-numerals", timeout=30_000)
        expect(page.locator("#perception")).to_contain_text("text-numerals", timeout=30_000)
        expect(page.locator("#decomposition")).to_contain_text("read both operands", timeout=30_000)
        expect(page.locator("#gap_plot")).to_contain_text("text-words", timeout=30_000)
        expect(page.locator("#predictor_plot")).to_contain_text("every answer is right", timeout=30_000)
        page.locator("#chosen_config input").click()
        expect(page.get_by_role("option")).to_have_count(2)  # only the configs this model ran

        page.get_by_role("tab", name="Leaderboard").click()
        page.locator("#weights").get_by_label("proprietary").check()
        expect(board).not_to_contain_text(MODEL, timeout=30_000)
        expect(page).to_have_url(f"{url}?weights=proprietary", timeout=30_000)
        shared = browser.new_page()  # the URL is the view: it opens with the same filters applied
        shared.goto(f"{url}?q=model-7B&weights=open&modality=text")
        expect(shared.locator("#board")).to_contain_text(MODEL, timeout=30_000)
        expect(shared.locator("#search textarea, #search input").first).to_have_value("model-7B")
        expect(shared.locator("#board")).not_to_contain_text("image-numerals")  # configs outside the scope
        shared.goto(f"{url}?q=no-such-model")
        expect(shared.locator("#board")).not_to_contain_text(MODEL, timeout=30_000)
        browser.close()


def add(store: Store, reference, model: str, family: str, tasks: list[str], c50: float, params: float | None) -> None:
    upload = read_upload(lm_eval_files(reference, tasks, logistic_model(c50, 0.1, seed=int(c50))))
    store.add(Entry(model, family, "seeded", params is not None, params), upload, check(upload, reference))


@needs_chromium
def test_hostile_names_stay_text_and_the_url_restores_the_view(reference, tmp_path: Path) -> None:
    """Names stored before the naming rule (or by any other path) are shown as text everywhere."""
    from playwright.sync_api import expect, sync_playwright

    store = Store(tmp_path / "board.sqlite")
    everything = list(TASKS)
    add(store, reference, EVIL, EVIL_FAMILY, everything, 40, 9.0)
    add(store, reference, "plain-70B", "Plain", everything, 80, 70.0)
    add(store, reference, "small-1B", FORMULA, everything, 20, 1.0)
    add(store, reference, "text-only", "Plain", ["mmmult_text_numerals", "mmmult_text_words"], 30, None)
    demo, url = serve(store, reference)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            page = browser.new_page()
            page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
            page.goto(url)
            board = page.locator("#board")
            expect(board).to_contain_text(EVIL, timeout=30_000)
            expect(board).to_contain_text(EVIL_FAMILY)
            assert page.locator("#board img").count() == 0
            assert page.locator('a[href*="evil.example"]').count() == 0
            with page.expect_download() as download:
                page.locator("#download").click()
            csv = Path(download.value.path()).read_text()
            assert "'=HYPERLINK(" in csv and ",=HYPERLINK(" not in csv

            page.get_by_role("tab", name="Accuracy vs C").click()
            page.locator("#curve").wait_for()
            expect(page.locator("#curve")).to_contain_text("<img src=x", timeout=30_000)  # the legend, as text
            assert page.locator("#curve img").count() == 0
            assert page.locator('a[href*="evil.example"]').count() == 0

            view = browser.new_page()
            view.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
            view.goto(f"{url}?family=Plain&min_params=50&sort=score&descending=1&every=1&columns=score,C50,coverage")
            expect(view.locator("#board")).to_contain_text("plain-70B", timeout=30_000)
            expect(view.locator("#board")).not_to_contain_text("text-only")  # unknown size is outside the range
            expect(view.locator("#board")).not_to_contain_text("small-1B")
            expect(view.locator("#board")).to_contain_text("C50 [95% CI]")
            expect(view.locator("#board")).not_to_contain_text("Perception")  # not among the chosen columns
            expect(view.locator("#sort input")).to_have_value("Score %")
            expect(view.locator("#descending input")).to_be_checked()
            expect(view.locator("#every input")).to_be_checked()
            expect(view.locator("#min_params textarea, #min_params input").first).to_have_value("50")

            model_page = browser.new_page()
            model_page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
            model_page.goto(f"{url}?model={EVIL.replace(' ', '%20')}")
            expect(model_page.get_by_role("tab", name="Model analysis", selected=True)).to_be_visible(timeout=30_000)
            expect(model_page.locator("#chosen input")).to_have_value(EVIL, timeout=30_000)
            expect(model_page.locator("#across")).to_contain_text("<img src=x", timeout=30_000)  # the title
            assert model_page.locator("#across img").count() == 0
            assert model_page.locator('a[href*="evil.example"]').count() == 0
            browser.close()
    finally:
        demo.close()
