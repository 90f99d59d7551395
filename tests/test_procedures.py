"""The heuristic probe on the board: a real probe run is re-scored and stored, tampering is refused with a
reason, and the Procedures view shows the figures (in a real headless browser too)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import datasets
import pytest
from statsmodels.stats.proportion import proportion_confint

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.intake.benchmark import load_reference
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import Rejected, read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.probe_scoring.scores import PROBE_CHOICES
from mmmult.statistics.procedures import preference_table, steps_table, traces_table
from tests.simulate import lm_eval_files, right

ENTRY = Entry("oracle", "Reference", "tester", True)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def files_of(run: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in run.rglob("*.json*")}


def samples_name(files: dict[str, bytes], task: str) -> str:
    (name,) = [name for name in files if name.startswith(f"samples_{task}_")]
    return name


def edit_first_sample(files: dict[str, bytes], task: str, change) -> list[tuple[str, bytes]]:
    name = samples_name(files, task)
    lines = files[name].decode().splitlines()
    first = json.loads(lines[0])
    change(first)
    edited = {**files, name: "\n".join([json.dumps(first), *lines[1:]]).encode() + b"\n"}
    return list(edited.items())


@pytest.fixture(scope="module")
def board_reference(small_build: Path):
    return load_reference(small_build)


def hds_test(small_build: Path) -> list[dict]:
    return list(datasets.load_dataset(str(small_build), "hds-text", split="test").remove_columns([]))


def wilson_text(k: int, n: int) -> str:
    """The view's cell, from statsmodels' Wilson interval (not the board's code)."""
    low, high = proportion_confint(k, n, method="wilson")
    return f"{k / n:.1%} [{low:.1%}, {high:.1%}] (n={n})"


@pytest.mark.xdist_group("probe_run")  # one worker makes the run and reads it
def test_a_probe_run_is_rescored_stored_and_shown(probe_run: Path, board_reference, small_build, store) -> None:
    upload = read_upload(list(files_of(probe_run).items()))
    verdict = check(upload, board_reference)
    assert {(t.task, t.kind, t.verified, t.score) for t in verdict.tasks} == {
        ("mmmult_probe_text", "probe", True, 1.0), ("mmmult_probe_image", "probe", True, 1.0),
        ("mmmult_steps_text", "steps", True, 1.0),
        ("mmmult_hds_text", "fingerprint", True, 1.0), ("mmmult_traps_text", "fingerprint", True, 1.0)}  # fmt: skip
    items = hds_test(small_build)
    assert len(verdict.procedures) == 4 * len(items) + len(board_reference.probe["traps"])
    sid = store.add(ENTRY, upload, verdict)
    assert store.submission(sid)["status"] == "re-scored"
    board = Board(store, board_reference)
    assert board.table().empty  # no multiplication task: no row on the leaderboard
    preferences = preference_table(board.procedures()).set_index("channel").loc["text"]
    families = {family: sum(item["design_family"] == family for item in items) for family in ("OT", "DD", "RC")}
    for family, n in families.items():
        assert preferences[f"detects {family}"] == wilson_text(n, n)  # the oracle's argmin is its family
        assert preferences[f"prefers {family}"] == wilson_text(n, len(items))
    assert preferences["matches the cost models"] == wilson_text(len(items), len(items))
    steps = steps_table(board.procedures()).set_index("model").loc["oracle"]
    assert steps["prefers correct OT"] == wilson_text(len(items), len(items))
    assert steps["gap (wrong - correct loss)"] == f"+1.000 [+1.000, +1.000] (n={len(items)})"  # 2 - 1 per byte
    traces = traces_table(board.procedures()).set_index("config")
    assert traces.loc["traps-text", "exact"] == wilson_text(30, 30)
    assert traces.loc["hds-text", "trace unknown"] == wilson_text(len(items), len(items))


@pytest.mark.xdist_group("probe_run")  # one worker makes the run and reads it
def test_a_run_of_both_halves_gets_one_row_and_its_procedures(
    probe_run: Path, board_reference, run_tasks, store: Store
) -> None:
    main = lm_eval_files(board_reference, run_tasks, right, "mmmult-reference")
    probe = {name: data for name, data in files_of(probe_run).items() if name.startswith("samples_")}
    results = json.loads(dict(main)[next(name for name, _ in main if name.startswith("results_"))])
    probe_results = json.loads(next(data for name, data in files_of(probe_run).items() if name.startswith("results_")))
    results["results"] |= probe_results["results"]
    results["versions"] |= probe_results["versions"]
    files = [(name, data) for name, data in main if not name.startswith("results_")] + list(probe.items())
    upload = read_upload([*files, ("results_both.json", json.dumps(results).encode())])
    store.add(ENTRY, upload, check(upload, board_reference))
    board = Board(store, board_reference)
    assert list(board.table()["model"]) == ["oracle"]
    probe_tasks = {"mmmult_probe_text", "mmmult_probe_image", "mmmult_steps_text", "mmmult_hds_text",
                   "mmmult_traps_text"}  # fmt: skip
    assert set(board.procedures()["task"]) == probe_tasks | {"mmmult_text_numerals", "mmmult_text_words"}
    traces = traces_table(board.procedures()).set_index("config")  # the multiplication tasks, read as traces too
    n = len(board_reference)
    assert traces.loc["text-numerals", "set"] == "problems"
    assert traces.loc["text-numerals", "exact"] == wilson_text(n, n)


def rival(item: dict) -> str:
    return next(h for h in ("OT", "DD", "RC") if h != item["canonical_target_heuristic"])


def tokens_favouring_a_rival(item: dict, heuristic: str, text: str) -> int:
    """Token counts under which the oracle's per-byte favourite (1 nat per byte) costs about 4 nats per token,
    and a rival (2 nats per byte) just under 2 per token: per token, the rival is likeliest."""
    size = len(text.encode())
    if heuristic == item["canonical_target_heuristic"]:
        return size // 4
    return size + 1 if heuristic == rival(item) else size


def test_token_counts_add_a_per_token_row_to_the_procedures_view(board_reference, store: Store) -> None:
    from tests.probe_runs import probe_files

    files = probe_files(board_reference.probe, ["mmmult_probe_text"], {"mmmult_probe_text": 1.0},
                        tokens=tokens_favouring_a_rival)  # fmt: skip
    upload = read_upload(files)
    verdict = check(upload, board_reference)
    assert [(t.task, t.verified, t.score) for t in verdict.tasks] == [("mmmult_probe_text", True, 1.0)]
    store.add(ENTRY, upload, verdict)
    table = preference_table(Board(store, board_reference).procedures())
    assert list(zip(table["channel"], table["loss per"], strict=True)) == [("text", "byte"), ("text", "token")]
    by_byte, by_token = table.iloc[0], table.iloc[1]
    items = list(board_reference.probe["hds"].values())
    n = len(items)
    assert (by_byte["matches the cost models"], by_token["matches the cost models"]) == (
        wilson_text(n, n), wilson_text(0, n))  # fmt: skip
    for h in ("OT", "DD", "RC"):
        assert by_token[f"prefers {h}"] == wilson_text(sum(rival(item) == h for item in items), n)
    first = items[0]
    per_token = {}
    for heuristic, prefix in PROBE_CHOICES:
        per_byte = {first["canonical_target_heuristic"]: 1.0, "neutral": 1.5}.get(heuristic, 2.0)
        loss = per_byte * len(prefix.encode()) / tokens_favouring_a_rival(first, heuristic, prefix)
        per_token.setdefault(heuristic, []).append(loss)
    neutral = sum(per_token["neutral"]) / len(per_token["neutral"])
    assert neutral == pytest.approx(1.5)  # neutral prefixes keep one token per byte
    delta = sum(per_token[rival(first)]) / 4 - neutral
    (scored,) = [p for p in verdict.procedures if p.problem_id == first["problem_id"]]
    assert scored.metrics[f"delta_{rival(first)}_per_token"] == pytest.approx(delta)
    assert scored.metrics[f"delta_{rival(first)}"] == pytest.approx(0.5)


def swap_first_two_choices(sample: dict) -> None:
    sample["resps"][0], sample["resps"][1] = sample["resps"][1], sample["resps"][0]
    args = sample["arguments"]
    args["gen_args_0"], args["gen_args_1"] = args["gen_args_1"], args["gen_args_0"]


@pytest.mark.parametrize(
    ("task", "change", "reason"),
    [
        ("mmmult_probe_text", swap_first_two_choices, "continuation 0 is 'Standard algorithm"),
        ("mmmult_probe_text", lambda s: s["resps"].pop(), "12 log-likelihoods for the task's 13 continuations"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].__setitem__(0, "0.5"), "is not a finite number <= 0"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].__setitem__(0, "NaN"), "is not a finite number <= 0"),
        ("mmmult_steps_text", lambda s: s["arguments"]["gen_args_0"].__setitem__("arg_1", " 1 x 1 = 1."),
         "continuation 0 is '1 x 1 = 1.'"),
        ("mmmult_probe_text", lambda s: s["doc"].__setitem__("problem_id", "hds-9999"), "'hds-9999' is not a test"),
        ("mmmult_probe_text", lambda s: s["doc"].__setitem__("modality", "image"), "was not asked as hds-text asks it"),
        ("mmmult_hds_text", lambda s: s.__setitem__("target", "1"), "product or target"),
        ("mmmult_probe_text", lambda s: s.__setitem__("resps", "many"), "field resps"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].append("0"), "token count '0' is not a whole number from 1"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].append("2.5"), "token count '2.5' is not a whole number"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].append("999"), "token count '999' is not a whole number"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].append("²"), "token count '²' is not a whole number"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].append("9" * 5000), "token count '999999999999999999999999"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].append("<b>7</b>"), "token count '<b>7</b>' is not a whole"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].append("7"), "1 of 13 continuations report a token count"),
        ("mmmult_probe_text", lambda s: s["resps"][0][0].extend(["7", "8"]), "field resps"),
    ],
)  # fmt: skip
@pytest.mark.xdist_group("probe_run")  # one worker makes the run and reads it
def test_tampered_probe_samples_are_refused_with_a_reason(probe_run: Path, board_reference, task, change, reason):
    upload = read_upload(edit_first_sample(files_of(probe_run), task, change))
    with pytest.raises(Rejected, match=None) as refused:
        check(upload, board_reference)
    assert reason in str(refused.value), str(refused.value)


@pytest.mark.xdist_group("probe_run")  # one worker makes the run and reads it
def test_a_sample_with_other_operands_is_refused(probe_run: Path, board_reference) -> None:
    files = files_of(probe_run)
    first = json.loads(files[samples_name(files, "mmmult_probe_text")].splitlines()[0])
    a, b, pid = first["doc"]["a"], first["doc"]["b"], first["doc"]["problem_id"]
    upload = read_upload(edit_first_sample(files, "mmmult_probe_text", lambda s: s["doc"].__setitem__("a", a + 1)))
    with pytest.raises(Rejected, match=rf"line 1: item {pid} is {a} x {b}, not {a + 1} x {b}$"):
        check(upload, board_reference)


@pytest.mark.xdist_group("probe_run")  # one worker makes the run and reads it
def test_probe_runs_need_their_samples_all_items_and_the_published_sets(probe_run: Path, board_reference, reference):
    files = files_of(probe_run)
    without = [(n, d) for n, d in files.items() if n != samples_name(files, "mmmult_steps_text")]
    with pytest.raises(Rejected, match="re-scores the probe from its samples; upload samples_mmmult_steps_text"):
        check(read_upload(without), board_reference)
    name = samples_name(files, "mmmult_probe_text")
    short = {**files, name: b"\n".join(files[name].splitlines()[1:]) + b"\n"}
    with pytest.raises(Rejected, match=r"mmmult_probe_text: 1 of \d+ test items have no sample"):
        check(read_upload(list(short.items())), board_reference)
    (results_name,) = [n for n in files if n.startswith("results_")]
    results = json.loads(files[results_name])
    results["results"]["mmmult_probe_text"]["match,none"] = 0.5
    inflated = {**files, results_name: json.dumps(results).encode()}
    with pytest.raises(Rejected, match=r"reports match 0\.5 but its samples score 1\.000000"):
        check(read_upload(list(inflated.items())), board_reference)
    with pytest.raises(Rejected, match="submit them without a seed"):
        check(read_upload(list(files.items())), board_reference.fresh(11))
    with pytest.raises(Rejected, match="this board's benchmark has no config for mmmult_probe_text"):
        check(read_upload(list(files.items())), reference)  # a board built without the probe's configs


@pytest.mark.xdist_group("probe_run")  # one worker makes the run and reads it
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_the_procedures_view_in_a_browser(probe_run: Path, board_reference, store: Store) -> None:
    from playwright.sync_api import expect, sync_playwright

    from mmmult.leaderboard.display.app import build_app

    upload = read_upload(list(files_of(probe_run).items()))
    store.add(Entry("<b>oracle</b>", "Reference", "tester", True), upload, check(upload, board_reference))
    demo = build_app(store, board_reference, oauth=False)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            page = browser.new_page()
            page.goto(demo.local_url)
            page.get_by_role("tab", name="Procedures").click()
            preferences = page.locator("#preferences")
            expect(preferences).to_contain_text("<b>oracle</b>", timeout=30_000)  # a name shown as text
            expect(preferences).to_contain_text("100.0%")
            assert page.locator("#preferences b").count() == 0
            expect(page.locator("#step_gaps")).to_contain_text("+1.000")
            expect(page.locator("#paper_figures")).to_contain_text("Qwen3-VL-235B-A22B")
            browser.close()
    finally:
        demo.close()
