"""The Space as people and programs use it: the gradio_client API, sign-in, and a real headless browser."""

from __future__ import annotations

import csv as csvlib
import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gradio as gr
import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from dataset_builder.tasks import TASKS
from mmmult.leaderboard.display.app import build_app, submit_as, view
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.leaderboard.submissions import Form
from mmmult.queue.folder import LocalQueue
from mmmult.queue.request import ApiModel
from tests.simulate import lm_eval_files, logistic_model, right, wrong

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


def test_the_request_endpoint_runs_an_api_model_from_the_owner_s_list(reference, store: Store, tmp_path: Path) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    queue = LocalQueue(tmp_path / "queue")
    listed = {"gpt-4o-audio": ApiModel("gpt-4o-audio", "openai-chat-completions", {"num_concurrent": 4})}
    demo = build_app(store, reference, oauth=False, queue=queue, api_models=listed)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        answer = client.predict("", "main", "hf", "gpt-4o-audio", ["audio"], "auto", "GPT", "", "tester",
                                api_name="/request")  # fmt: skip
        direct = client.predict("", "main", "hf", "gpt-4o-audio", ["audio"], "auto", "GPT", "", "tester", ["direct"],
                                api_name="/request")  # fmt: skip
        with pytest.raises(
            AppError, match=r"'cot' \(type: <class 'str'>\) is not in the list of choices: \['worked', "
        ):
            client.predict("", "main", "hf", "gpt-4o-audio", ["text"], "auto", "GPT", "", "tester", ["cot"],
                           api_name="/request")  # fmt: skip
    finally:
        demo.close()
    assert direct.startswith("request gpt-4o-audio__main__auto__audio__direct queued: a worker will run "
                             "mmmult_direct_audio, ")  # fmt: skip
    assert answer.startswith("request gpt-4o-audio__main__auto__audio queued")
    request, _ = queue.requests()
    assert (request.model_type, request.extra, request.submitter) == ("openai-chat-completions", {"num_concurrent": 4},
                                                                      "tester")  # fmt: skip
    assert [r.regimes for r in queue.requests()] == [("worked",), ("direct",)]


def test_on_the_hub_the_signed_in_account_is_the_submitter(reference, upload_paths, store: Store) -> None:
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
        expect(page.locator("#lpm_why")).to_contain_text("every answer is right")  # a line, not an empty table
        expect(page.locator("#lpm")).to_be_hidden()
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
def test_hostile_names_stay_text_and_the_url_restores_the_view(reference, store: Store) -> None:
    """Names stored before the naming rule (or by any other path) are shown as text everywhere."""
    from playwright.sync_api import expect, sync_playwright

    everything = list(TASKS)
    add(store, reference, EVIL, EVIL_FAMILY, everything, 40, 9.0)
    add(store, reference, "plain-70B", "Plain", everything, 80, 70.0)
    add(store, reference, "small-1B", FORMULA, everything, 20, 1.0)
    add(store, reference, "text-only", "Plain", ["mmmult_text_numerals", "mmmult_text_words"], 30, None)
    flat = read_upload(lm_eval_files(reference, everything, logistic_model(60, 0.0, seed=5)))  # 50% at every C
    store.add(Entry("flat-2B", "Plain", "seeded", True, 2.0), flat, check(flat, reference))
    loads = [p["C"] for p in reference.values()]
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
            rows = {row["model"]: row for row in csvlib.DictReader(io.StringIO(csv))}
            assert rows["text-only"]["rank"] == "" and rows["text-only"]["score"] == ""  # ranked only where complete
            assert rows["text-only"]["coverage"] == "2/6" and rows["plain-70B"]["rank"] == "1"
            assert rows["flat-2B"]["C50"] == "n/a"
            expect(board).to_contain_text("n/a")

            page.get_by_role("tab", name="Accuracy vs C").click()
            page.locator("#curve").wait_for()
            expect(page.locator("#curve")).to_contain_text("<img src=x", timeout=30_000)  # the legend, as text
            expect(page.locator("#curve")).to_contain_text("flat-2B fit, C50 n/a")
            assert page.locator("#curve img").count() == 0
            lines = page.evaluate(
                "() => document.querySelector('#curve .js-plotly-plot')._fullData.filter(t => t.mode === 'lines')"
                ".map(t => Array.from(t.x)).map(x => [Math.min(...x), Math.max(...x)])"
            )
            assert lines and all(min(loads) <= low and high <= max(loads) for low, high in lines)  # within the data
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


def test_the_csv_holds_exactly_the_rows_and_columns_of_the_view(reference, store: Store) -> None:
    from mmmult.leaderboard.display.board import Board
    from mmmult.leaderboard.display.filters import Filters

    add(store, reference, "plain-70B", "Plain", list(TASKS), 80, 70.0)
    add(store, reference, "small-1B", FORMULA, list(TASKS), 20, 1.0)
    add(store, reference, "other-7B", "Plain", list(TASKS), 40, 7.0)
    filters = Filters(family=("Plain",), sort="score", descending=True, columns=("score", "C50", "family"))
    page, csv = view(Board(store, reference), filters)
    assert list(page["Model"]) == list(csv["model"]) == ["plain-70B", "other-7B"]
    assert list(page.columns) == ["Rank", "Model", "Family", "Score %", "C50 [95% CI]"]
    assert list(csv.columns) == ["rank", "model", "family", "score", "C50"]
    assert page["Score %"].iloc[0].startswith(f"{100 * csv['score'].iloc[0]:.1f} [")
    everyone = view(Board(store, reference), Filters())[1]
    assert list(everyone["family"]) == ["Plain", "Plain", "'" + FORMULA]  # guarded, and sorted by rank


def test_the_page_and_the_csv_state_a_c50_interval_only_within_the_c_tested(reference, tmp_path: Path) -> None:
    from mmmult.leaderboard.display.board import Board
    from mmmult.leaderboard.display.filters import Filters

    loads = sorted(p["C"] for p in reference.values())
    right_at = {8, 12, 18, 20}  # Fieller's interval for C50 reaches -1, below the smallest C tested (8)
    assert loads[0] == 8 and right_at <= set(loads)
    store = Store(tmp_path / "board.sqlite")
    run = read_upload(lm_eval_files(reference, ["mmmult_text_numerals"],
                                    lambda t, p: right(t, p) if p["C"] in right_at else wrong(t, p)))  # fmt: skip
    store.add(Entry("m", "F", "s", True), run, check(run, reference))
    filters = Filters(modality="text", representation="numerals", columns=("C50",))
    page, csv = view(Board(store, reference), filters)
    assert page["C50 [95% CI]"].tolist() == csv["C50"].tolist() == ["14 [below 23]"]


def test_the_model_page_opens_on_an_informative_model_and_says_why_a_table_is_empty(reference, tmp_path: Path) -> None:
    from mmmult.leaderboard.display.app import ANALYSIS_OUTPUTS, Handlers

    store = Store(tmp_path / "board.sqlite")
    upload = read_upload(lm_eval_files(reference, list(TASKS), right))  # the reference: right everywhere, first
    store.add(Entry("mmmult-reference", "Reference", "a", True), upload, check(upload, reference))
    add(store, reference, "executor-DD", "Simulated executor", list(TASKS), 30, None)
    handlers = Handlers(store, reference, LocalQueue(tmp_path / "queue"), {}, oauth=False)
    assert handlers.board.table(self_reported=True)["model"].iloc[0] == "mmmult-reference"

    opened = dict(zip(ANALYSIS_OUTPUTS, handlers.analyse(None, None, None), strict=True))
    assert opened["chosen"]["value"] == "executor-DD"
    assert opened["predictors"]["visible"] and len(opened["predictors"]["value"]) == 7
    assert not opened["predictors_why"]["visible"]

    reference_page = dict(zip(ANALYSIS_OUTPUTS, handlers.analyse("mmmult-reference", None, None), strict=True))
    assert reference_page["chosen"]["value"] == "mmmult-reference"
    everywhere = (
        "Cannot be estimated: every answer is right, so no measure of load can tell right answers from wrong ones."
    )
    shown = {key: reference_page[key]["visible"] for key in ("perception", "gaps", "predictors", "lpm", "draws")}
    assert shown == {"perception": True, "gaps": True, "predictors": False, "lpm": False, "draws": False}
    assert [reference_page[f"{key}_why"]["value"] for key in ("predictors", "lpm", "interactions", "draws")] == [
        everywhere, everywhere, everywhere,
        "No run of this model on a fresh draw (a submission with its seed) to compare with."]  # fmt: skip
    assert reference_page["predictors_why"]["visible"] and not reference_page["gaps_why"]["visible"]
    compared = dict(zip(ANALYSIS_OUTPUTS, handlers.analyse("mmmult-reference", None, "executor-DD"), strict=True))
    assert compared["comparison"]["visible"] and list(compared["comparison"]["value"]["config"]) == [
        "text-numerals", "text-words", "image-numerals", "image-words", "audio-words", "audio-digits"]  # fmt: skip


def test_the_regime_filter_picks_the_rows_the_csv_names_it_and_the_model_page_sets_both_side_by_side(
    reference, tmp_path: Path
) -> None:
    from urllib.parse import parse_qsl

    from mmmult.leaderboard.display.app import ANALYSIS_OUTPUTS, Handlers
    from mmmult.leaderboard.display.filters import Filters

    store = Store(tmp_path / "board.sqlite")
    tasks = ["mmmult_text_numerals", "mmmult_direct_text_numerals", "mmmult_perceive_text_numerals"]
    run = read_upload(lm_eval_files(reference, tasks, lambda t, p: (wrong if t.regime == "direct" else right)(t, p)))
    store.add(Entry("m", "F", "s", True), run, check(run, reference))
    lengths = {t: sorted(len(right(TASKS[t], p)) if t != tasks[1] else len(wrong(TASKS[t], p))
                         for p in reference.values()) for t in tasks[:2]}  # fmt: skip
    handlers = Handlers(store, reference, LocalQueue(tmp_path / "queue"), {}, oauth=False)
    columns = ("regime", "score", "median_response")
    for regime, task, score in (("worked", tasks[0], 1.0), ("direct", tasks[1], 0.0)):
        filters = Filters.from_query(parse_qsl(f"regime={regime}&modality=text&representation=numerals"))
        page, csv = view(handlers.board, replace(filters, columns=columns))
        assert list(page.columns) == ["Rank", "Model", "Regime", "Score %", "Median response (chars)"]
        median = lengths[task][len(lengths[task]) // 2]  # an odd number of problems
        assert csv.values.tolist() == [[1, "m", regime, score, median]]
        assert page["Median response (chars)"].tolist() == [str(median)]
    page = dict(zip(ANALYSIS_OUTPUTS, handlers.analyse("m", None, None, "direct"), strict=True))
    regimes = page["regimes"]["value"]
    assert regimes[["regime", "configs", "accuracy"]].values.tolist() == [["worked", "text-numerals", 1.0],
                                                                         ["direct", "text-numerals", 0.0]]  # fmt: skip
    assert page["chosen"]["value"] == "m" and page["regimes"]["visible"]
