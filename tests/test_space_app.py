"""The Space as people and programs use it: the gradio_client API and a real headless browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from dataset_builder.leaderboard.app import build_app
from dataset_builder.leaderboard.store import Store

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def upload_paths(run_files, tmp_path: Path) -> list[str]:
    folder = tmp_path / "upload"
    folder.mkdir()
    for name, data in run_files:
        (folder / name).write_bytes(data)
    return sorted(str(p) for p in folder.iterdir())


@pytest.fixture
def space(reference, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = Store(tmp_path / "space" / "board.sqlite")
    demo = build_app(store, reference)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    yield demo.local_url, store
    demo.close()


def test_submission_endpoint_verifies_and_stores(space, upload_paths) -> None:
    from gradio_client import Client, handle_file

    url, store = space
    client = Client(url, verbose=False)
    status, table, *_ = client.predict(
        [handle_file(p) for p in upload_paths], "reference", "Reference", 0.001, True, "tester", "",
        "", [], "all", "all", "all", None, None, False, ["overall", "text-numerals", "C50"], "text", "numerals",
        api_name="/submit",
    )  # fmt: skip
    assert status.startswith("submission #1 verified")
    assert table["headers"] == ["model", "overall", "text-numerals", "C50"]
    assert table["data"][0][:3] == ["reference", 1, 1]
    assert store.counts()["task_results"] == 3


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_browser_upload_row_plot_filter_and_csv(space, upload_paths, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, _ = space
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=flags)
        page = browser.new_page()
        page.goto(url)
        page.get_by_role("tab", name="Submit").click()
        page.locator("#files input[type=file]").set_input_files(upload_paths)
        page.locator("#model textarea, #model input").first.fill(EVIL)
        page.locator("#family textarea, #family input").first.fill("Reference")
        page.locator("#submitter textarea, #submitter input").first.fill("browser")
        page.locator("#send").click()
        page.wait_for_function(
            "() => (document.querySelector('#status textarea') || {}).value?.includes('verified')", timeout=60_000
        )
        page.get_by_role("tab", name="Leaderboard").click()
        board = page.locator("#board")
        expect(board).to_contain_text(EVIL, timeout=30_000)  # shown as text, never as an element
        assert page.locator("#board img").count() == 0
        page.locator("#search textarea, #search input").first.fill("no such model")
        expect(board).not_to_contain_text(EVIL, timeout=30_000)
        page.locator("#search textarea, #search input").first.fill("")
        expect(board).to_contain_text(EVIL, timeout=30_000)
        with page.expect_download() as download:
            page.locator("#download").click()
        csv = Path(download.value.path()).read_text()
        assert csv.splitlines()[0].startswith("model,family")
        assert EVIL in csv
        page.get_by_role("tab", name="Accuracy vs C").click()
        expect(page.locator("#curve .js-plotly-plot")).to_have_count(1, timeout=30_000)
        expect(page.locator("#curve")).to_contain_text("Reference (binned)", timeout=30_000)
        page.locator("#curve").hover()
        with page.expect_download() as png:
            page.locator('#curve [data-title="Download plot as a PNG"]').click()
        assert png.value.suggested_filename.endswith(".png")
        assert Path(png.value.path()).read_bytes().startswith(b"\x89PNG")

        page.get_by_role("tab", name="Model analysis").click()
        expect(page.locator("#chosen input")).to_have_value(EVIL, timeout=30_000)  # the top model by default
        expect(page.locator("#across")).to_contain_text("text-numerals (binned)", timeout=30_000)
        expect(page.locator("#perception")).to_contain_text("text-numerals", timeout=30_000)
        expect(page.locator("#decomposition")).to_contain_text("read both operands (binned)", timeout=30_000)
        expect(page.locator("#gap_plot")).to_contain_text("text-words", timeout=30_000)
        expect(page.locator("#predictor_plot")).to_contain_text("pseudo-R^2", timeout=30_000)

        page.get_by_role("tab", name="Leaderboard").click()
        page.locator("#weights").get_by_label("proprietary").check()
        expect(board).not_to_contain_text(EVIL, timeout=30_000)
        expect(page).to_have_url(f"{url}?weights=proprietary", timeout=30_000)
        shared = browser.new_page()  # the URL is the view: it opens with the same filters applied
        shared.goto(f"{url}?q=img&weights=open&modality=text")
        expect(shared.locator("#board")).to_contain_text(EVIL, timeout=30_000)
        expect(shared.locator("#search textarea, #search input").first).to_have_value("img")
        expect(shared.locator("#board")).not_to_contain_text("image-numerals")  # configs outside the scope
        shared.goto(f"{url}?q=no-such-model")
        expect(shared.locator("#board")).not_to_contain_text(EVIL, timeout=30_000)
        browser.close()
