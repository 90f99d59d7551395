"""The Findings view: the paper's claims against the board's runs, with intervals checked by simulation, verdicts
by their stated rules (at their boundaries too), and the tab in the app."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from dataset_builder.answers import extract_answer
from dataset_builder.configs import PROBE_CONFIGS, STIMULUS_CONFIGS
from dataset_builder.problems import C_BANDS, generate
from dataset_builder.tasks import TASKS
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.findings import FINDINGS_COLUMNS, findings_table
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry, Store
from mmmult.statistics.analysis import clustered_proportion
from mmmult.statistics.findings import (
    NOT_ESTIMABLE,
    NOT_REPRODUCED,
    REPRODUCED,
    Estimate,
    lpm_r2,
    near_zero_verdict,
    perception_verdict,
    preference_verdict,
    r2_verdict,
)
from tests.probe_runs import probe_files, probe_sets
from tests.simulate import Truth, executor_model, lm_eval_files, right
from tests.simulate_findings import findings_coverage

REPS = 60
LOW = 0.86
"""With 60 replications a 95% interval covers at least 86% of the time with probability > 0.999."""
TASK_NAMES = ["mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_numerals",
              "mmmult_perceive_text_words"]  # fmt: skip
SLIPS = 0.2
"""The executor's chance of a slip per operation: near zero right past C 100, but not everywhere."""
PAPER = {
    "high load": ("accuracy near zero past C 100", "near zero once C > 100 (here: below 10%)"),
    "r2": ("C explains accuracy", "LPM R² of correctness on C often above 0.5"),
    "perception": ("perception near perfect while computation fails", "operands read above 99% while products fail"),
    "probe": ("the probe prefers decomposition", "models prefer decomposition (DD)"),
    "adapters": ("heuristic adapters", "near-orthogonal updates; accuracy falls"),
}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
NO_ADAPTER_RUN = "no adapter run: the store holds none (`mmmult adapters compare` runs outside the board)"


@pytest.fixture(scope="module")
def loads() -> np.ndarray:
    return np.array([p.C for p in generate() if p.split == "test"], dtype=float)


@pytest.mark.parametrize(
    ("truth", "configs", "shared"),
    [(Truth(60, 0.05), 1, 0.0), (Truth(150, 0.03), 6, 1.0), (Truth(60, 0.0), 2, 0.0)],
    ids=["one config", "six configs, shared outcomes", "flat: R² 0"],
)
def test_the_r2_and_past_c_100_intervals_cover_the_truth(loads, truth, configs, shared) -> None:
    result = findings_coverage(loads, truth, configs, shared, REPS, seed=5)
    assert result["R2 stated"] == 1.0
    for measure in ("past C 100", "R2"):
        assert LOW <= result[measure] <= 1.0, (measure, result)


def test_without_clustering_the_r2_interval_would_be_far_too_narrow(loads) -> None:
    """The check above has teeth: the same pooled data resampled by item rather than by problem."""
    naive = findings_coverage(loads, Truth(60, 0.05), 6, 1.0, REPS, seed=5, bootstrap=200, clustered=False)
    assert naive["R2"] < 0.8 and naive["past C 100"] < 0.8


def test_r2_is_the_squared_correlation_with_a_seeded_interval_and_none_without_variation() -> None:
    loads, correct = [10, 20, 30, 40, 50, 60], [1, 1, 1, 0, 1, 0]
    r2 = lpm_r2(loads, correct, range(6))
    assert r2.value == pytest.approx(np.corrcoef(loads, correct)[0, 1] ** 2) and r2.n == 6
    assert lpm_r2(loads, correct, range(6)) == r2  # the same data, the same interval
    assert 0 <= r2.low <= r2.value <= r2.high <= 1
    assert lpm_r2(loads, [1] * 6, range(6)) is None and lpm_r2([5] * 6, correct, range(6)) is None


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [(0.0, 0.0999, REPRODUCED), (0.0, 0.10, NOT_ESTIMABLE), (0.10, 0.3, NOT_ESTIMABLE), (0.1001, 0.3, NOT_REPRODUCED)],
)
def test_accuracy_past_c_100_is_near_zero_only_below_10_percent(low: float, high: float, verdict: str) -> None:
    assert near_zero_verdict(Estimate((low + high) / 2, low, high, 50)).verdict == verdict


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [(0.5001, 0.7, REPRODUCED), (0.5, 0.7, NOT_ESTIMABLE), (0.3, 0.5, NOT_ESTIMABLE), (0.3, 0.4999, NOT_REPRODUCED)],
)
def test_r2_reproduces_the_paper_only_above_one_half(low: float, high: float, verdict: str) -> None:
    assert r2_verdict(Estimate((low + high) / 2, low, high, 50)).verdict == verdict


@pytest.mark.parametrize(
    ("perception", "multiplication", "verdict", "why"),
    [
        ((0.99, 1.0), (0.1, 0.9899), REPRODUCED,
         "perception's lower bound 99.0% >= 99% and multiplication's upper bound 99.0% is below it"),
        ((0.99, 1.0), (0.1, 0.99), NOT_ESTIMABLE, "multiplication's upper bound 99.0% reaches perception's lower bound "
                                                  "99.0%"),
        ((0.9899, 1.0), (0.1, 0.2), NOT_ESTIMABLE, "perception's interval holds 99%"),
        ((0.9, 0.9899), (0.1, 0.2), NOT_REPRODUCED, "perception's upper bound 99.0% < 99%"),
        ((0.95, 1.0), (0.95, 1.0), NOT_REPRODUCED, "multiplication's lower bound 95.0% reaches perception's 95.0%"),
    ],
)  # fmt: skip
def test_perception_is_near_perfect_from_99_percent_and_products_must_fall_below_it(
    perception: tuple[float, float], multiplication: tuple[float, float], verdict: str, why: str
) -> None:
    read, product = (Estimate(sum(bounds) / 2, *bounds, 100) for bounds in (perception, multiplication))
    assert tuple(perception_verdict(read, product)) == (verdict, why)


@pytest.mark.parametrize(
    ("dd", "ot", "verdict"),
    [((0.6, 0.9), (0.0, 0.5999), REPRODUCED), ((0.6, 0.9), (0.0, 0.6), NOT_ESTIMABLE),
     ((0.1, 0.4), (0.4, 0.8), NOT_ESTIMABLE), ((0.1, 0.4), (0.4001, 0.8), NOT_REPRODUCED)],
)  # fmt: skip
def test_the_probe_prefers_dd_only_when_its_interval_clears_every_other(
    dd: tuple[float, float], ot: tuple[float, float], verdict: str
) -> None:
    shares = {"OT": Estimate(0, *ot, 30), "DD": Estimate(0, *dd, 30), "RC": Estimate(0.0, 0.0, 0.1, 30)}
    assert preference_verdict(shares).verdict == verdict


@pytest.fixture(scope="module")
def benchmark() -> Benchmark:
    """40 test problems of each C band (80 past C 100) and 30 items of the probe's HDS set."""
    test = [p for p in generate() if p.split == "test"]
    chosen = [p for low, high in C_BANDS for p in [q for q in test if low <= q.C <= high][:40]]
    return Benchmark({p.problem_id: p.as_dict() for p in chosen}, STIMULUS_CONFIGS + PROBE_CONFIGS,
                     probe=probe_sets(hds=30))  # fmt: skip


def prefers_dd(task, item, heuristic: str, correct: bool) -> float:
    """The loss per byte of a model that finds DD's prefixes likeliest."""
    return {"DD": 1.0, "neutral": 1.5}.get(heuristic, 2.0)


def tokens_favouring_ot(item, heuristic: str, text: str) -> int:
    """Token counts under which DD's prefixes cost 4 nats per token and OT's just under 2: OT is likeliest."""
    size = len(text.encode())
    return {"DD": size // 4, "OT": size + 1}.get(heuristic, size)


def submit(store: Store, benchmark: Benchmark, model: str, files: list[tuple[str, bytes]]) -> None:
    upload = read_upload(files)
    store.add(Entry(model, "F", "tester", True), upload, check(upload, benchmark))


@pytest.fixture(scope="module")
def board(benchmark: Benchmark, tmp_path_factory: pytest.TempPathFactory) -> Board:
    """The reference system (right everywhere), and an executor slipping per operation with its probe run."""
    store = Store(tmp_path_factory.mktemp("findings") / "board.sqlite")
    submit(store, benchmark, "mmmult-reference", lm_eval_files(benchmark, TASK_NAMES, right))
    submit(store, benchmark, "executor-DD", lm_eval_files(benchmark, TASK_NAMES, executor_model("DD", SLIPS, 1)))
    hds = benchmark.probe["hds"].values()
    match = sum(item["canonical_target_heuristic"] == "DD" for item in hds) / len(hds)
    probe = probe_files(benchmark.probe, ["mmmult_probe_text"], {"mmmult_probe_text": match}, loss=prefers_dd,
                        tokens=tokens_favouring_ot)  # fmt: skip
    submit(store, benchmark, "executor-DD", probe)
    return Board(store, benchmark)


def wilson(k: int, n: int) -> str:
    """A share as the view writes it, from statsmodels' Wilson interval (not the board's code)."""
    low, high = proportion_confint(k, n, method="wilson")
    return f"{k / n:.1%} [{low:.1%}, {high:.1%}] (n={n})"


def executor_outcomes(benchmark: Benchmark) -> pd.DataFrame:
    """Whether the executor's answer is the product, per problem and multiplication config, from its responses."""
    respond = executor_model("DD", SLIPS, 1)
    rows = [{"problem_id": pid, "C": p["C"], "correct": extract_answer(respond(TASKS[task], p)) == p["product"]}
            for task in TASK_NAMES[:2] for pid, p in benchmark.items()]  # fmt: skip
    return pd.DataFrame(rows)


def clustered(outcomes: pd.DataFrame) -> str:
    share = clustered_proportion(outcomes["correct"].to_numpy(dtype=float), outcomes["problem_id"].to_numpy())
    return f"{share.value:.1%} [{share.low:.1%}, {share.high:.1%}] (n={share.n})"


def row(claim: str, model: str, scope: str, measured: str, verdict: str, why: str) -> list[str]:
    split = "" if claim in ("probe", "adapters") else "test"  # the probe and the adapters have no split
    return [PAPER[claim][0], model, split, scope, PAPER[claim][1], measured, verdict, why]


def test_the_reference_and_a_slipping_executor_against_every_claim(board: Board, benchmark: Benchmark) -> None:
    table = findings_table(board)
    assert list(table.columns) == FINDINGS_COLUMNS
    outcomes = executor_outcomes(benchmark)
    past = outcomes[outcomes["C"] > 100]
    assert len(past) == 160 and 0 < past["correct"].sum() < 10
    r2 = float(np.corrcoef(outcomes["C"], outcomes["correct"].astype(float))[0, 1] ** 2)
    stored = board.table().set_index("model")["lpm_r2"]
    assert stored["executor-DD"] == pytest.approx(r2)  # the board's own LPM R², over the same items
    configs = "worked regime: text-numerals, text-words"
    every = wilson(400, 400)
    low_past = proportion_confint(160, 160, method="wilson")[0]
    executor_past_high = clustered_proportion(past["correct"].to_numpy(dtype=float), past["problem_id"]).high
    executor_accuracy = clustered_proportion(outcomes["correct"].to_numpy(dtype=float), outcomes["problem_id"])
    read_low = proportion_confint(400, 400, method="wilson")[0]
    dd, none = wilson(30, 30), wilson(0, 30)
    expected = [
        row("high load", "executor-DD", configs, clustered(past), REPRODUCED,
            f"upper bound {executor_past_high:.1%} < 10%"),
        row("high load", "mmmult-reference", configs, wilson(160, 160), NOT_REPRODUCED,
            f"lower bound {low_past:.1%} > 10%"),
        row("r2", "executor-DD", configs, f"{r2:.3f} [0.131, 0.228] (n=400)", NOT_REPRODUCED,  # a seeded bootstrap
            "upper bound 0.228 < 0.5"),
        row("r2", "mmmult-reference", configs, "", NOT_ESTIMABLE,
            "every answer is right: R² needs right and wrong answers"),
        row("perception", "executor-DD", "text (worked regime)", f"perception {every}; multiplication "
            f"{clustered(outcomes)}", REPRODUCED, f"perception's lower bound {read_low:.1%} >= 99% and "
            f"multiplication's upper bound {executor_accuracy.high:.1%} is below it"),
        row("perception", "mmmult-reference", "text (worked regime)", f"perception {every}; multiplication {every}",
            NOT_REPRODUCED, f"multiplication's lower bound {read_low:.1%} reaches perception's {read_low:.1%}"),
        row("probe", "executor-DD", "text, loss per byte", f"prefers OT {none}; prefers DD {dd}; prefers RC {none}",
            REPRODUCED, f"DD's lower bound {proportion_confint(30, 30, method='wilson')[0]:.1%} is above every other "
            "heuristic's upper bound"),
        row("probe", "executor-DD", "text, loss per token", f"prefers OT {dd}; prefers DD {none}; prefers RC {none}",
            NOT_REPRODUCED, f"OT's lower bound {proportion_confint(30, 30, method='wilson')[0]:.1%} is above DD's "
            f"upper bound {proportion_confint(0, 30, method='wilson')[1]:.1%}"),
        row("probe", "mmmult-reference", "", "", NOT_ESTIMABLE, "no probe run (mmmult_probe)"),
        row("adapters", "executor-DD", "", "", NOT_ESTIMABLE, NO_ADAPTER_RUN),
        row("adapters", "mmmult-reference", "", "", NOT_ESTIMABLE, NO_ADAPTER_RUN),
    ]  # fmt: skip
    assert table.values.tolist() == expected


def test_a_regime_without_runs_has_only_the_probe_s_and_the_adapters_rows(board: Board) -> None:
    table = findings_table(board, "direct")
    assert table[["claim", "model", "scope", "verdict"]].values.tolist() == [
        [PAPER["probe"][0], "executor-DD", "text, loss per byte", REPRODUCED],
        [PAPER["probe"][0], "executor-DD", "text, loss per token", NOT_REPRODUCED],
        [PAPER["adapters"][0], "executor-DD", "", NOT_ESTIMABLE],
    ]


def test_no_item_past_c_100_and_no_perception_run_are_not_estimable(reference, store: Store) -> None:
    assert max(p["C"] for p in reference.values()) <= 100  # the small build: operands of up to 4 digits
    submit(store, reference, "products-only", lm_eval_files(reference, TASK_NAMES[:2], right))
    table = findings_table(Board(store, reference)).set_index("claim")
    assert table.loc[PAPER["high load"][0], ["this board", "verdict", "why"]].tolist() == [
        "", NOT_ESTIMABLE, "no item with C > 100"]  # fmt: skip
    assert table.loc[PAPER["perception"][0], ["scope", "this board", "verdict", "why"]].tolist() == [
        "text (worked regime)", "", NOT_ESTIMABLE, "no perception run"]  # fmt: skip
    assert table.loc[PAPER["r2"][0], "why"] == "every answer is right: R² needs right and wrong answers"
    assert len(table) == 5


def test_a_run_of_the_perception_tasks_alone_has_no_product_to_measure(reference, store: Store) -> None:
    submit(store, reference, "reader", lm_eval_files(reference, TASK_NAMES[2:], right))
    table = findings_table(Board(store, reference))
    assert table[["model", "scope", "this board", "verdict", "why"]].values.tolist()[:3] == [
        ["reader", "worked regime", "", NOT_ESTIMABLE, "no worked multiplication run"],
        ["reader", "worked regime", "", NOT_ESTIMABLE, "no worked multiplication run"],
        ["reader", "text (worked regime)", "", NOT_ESTIMABLE, "no worked multiplication run"],
    ]


def test_the_findings_tab_is_on_the_board_and_its_handler_fills_it(benchmark: Benchmark, board: Board,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    import gradio as gr

    from mmmult.leaderboard.display.app import Handlers, build_app
    from mmmult.queue.folder import LocalQueue

    demo = build_app(board.store, benchmark, oauth=False, queue=LocalQueue(tmp_path / "queue"))
    tabs = {block.label: block for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    assert list(tabs) == ["Leaderboard", "Accuracy vs C", "Model analysis", "Procedures", "Findings", "Requests",
                          "Submit", "About"]  # fmt: skip
    handlers = Handlers(board.store, benchmark, LocalQueue(tmp_path / "queue"), {}, oauth=False)
    assert handlers.findings("worked").equals(findings_table(board))
    assert handlers.findings("no-such-regime").equals(findings_table(board))  # an unknown regime: the default
    assert handlers.findings("direct").equals(findings_table(board, "direct"))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_the_findings_tab_renders_in_a_browser_and_follows_its_regime(benchmark: Benchmark, board: Board,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect, sync_playwright

    from mmmult.leaderboard.display.app import build_app
    from mmmult.queue.folder import LocalQueue

    demo = build_app(board.store, benchmark, oauth=False, queue=LocalQueue(tmp_path / "queue"))
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            page = browser.new_page()
            page.goto(demo.local_url)
            page.get_by_role("tab", name="Findings").click()
            findings = page.locator("#findings")
            expect(findings).to_contain_text("accuracy near zero past C 100", timeout=30_000)
            expect(findings).to_contain_text("mmmult-reference")
            expect(page.locator("body")).to_contain_text("Reproduced when its upper bound is below 10%")
            page.locator("#findings_regime").get_by_label("direct").check()
            expect(findings).not_to_contain_text("mmmult-reference", timeout=30_000)  # no direct run
            expect(findings).to_contain_text("loss per token")
            browser.close()
    finally:
        demo.close()
