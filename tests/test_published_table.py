"""The README's tables of the published runs (benchmarks/published_table.py), from real `mmmult eval` runs of
`mmmult-executor` (a DD executor slipping at 0.1: a known truth) on the mini split of a small text build, published
in the layout benchmarks/published.py writes; every figure is computed again here from the executor's truth and the
statistics functions, and every damaged folder is refused naming the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.published_table import main
from benchmarks.real_models import PAPER
from dataset_builder.dataset.pipeline import BuildOptions, build
from dataset_builder.probe.sets import generate_hds
from dataset_builder.probe.worked import Hand, solve
from dataset_builder.problems import Bounds
from mmmult.leaderboard.published import seal
from mmmult.statistics.analysis import clustered_proportion, fit_logistic, wilson
from mmmult.statistics.step_error import likeliest_step_error
from tests.probe_runs import probe_files

DIRECT = ["mmmult_mini_direct_text_numerals", "mmmult_mini_direct_text_words", "mmmult_mini_perceive_text_numerals",
          "mmmult_mini_perceive_text_words"]  # fmt: skip
PROBE = ["mmmult_probe_text"]
PROBE_ITEMS = 12
SEED = 5
STEP_ERROR = 0.1
MODEL = "Executor DD (p 0.1)"
FACTS = {"family": "simulated", "params_b": None, "client": "lm-eval", "max_gen_toks": 64, "wall_s": 12.3,
         "items_per_s": 7.4797, "engine": {"name": "llama-server", "threads": 2, "slots": 4, "slot_context": 1024,
                                           "repack": True}}  # fmt: skip


@pytest.fixture(scope="module")
def mini_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The text configs and the probe's text set of the default design up to 4-digit operands: its mini split holds
    the 23 of the full build's 150 mini problems that such operands allow (two C bands)."""
    options = BuildOptions(configs=("text-numerals", "text-words", "hds-text"), bounds=Bounds(max_digits=4))
    return build(tmp_path_factory.mktemp("builds") / "mini", options)


def evaluate(build: Path, tasks: list[str], out: Path, *extra: str) -> None:
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-executor", "--model_args"]
    command += [f"heuristic=DD,step_error={STEP_ERROR},seed={SEED}", "--tasks", ",".join(tasks), *extra]
    command += ["--metadata", json.dumps({"data": str(build)}), "--log_samples", "--output_path", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def publish(produced: Path, folder: Path, facts: dict[str, Any]) -> None:
    """lm-eval's files of `produced` in one run folder with its command.txt and sealed provenance.json, as
    benchmarks/published.py lays a run out."""
    folder.mkdir(parents=True)
    for path in produced.rglob("*"):
        if path.is_file():
            shutil.copy2(path, folder / path.name)
    (folder / "command.txt").write_text("mmmult eval --model mmmult-executor ...\n")
    seal(folder, {"system": folder.parent.name, "run": folder.name, "model": MODEL} | FACTS | facts)


@pytest.fixture(scope="module")
def results(mini_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results/executor/direct (the mini text numerals and words, direct, and their perception) and
    results/executor/probe (the loss probe's first PROBE_ITEMS text items, through no server)."""
    scratch, out = tmp_path_factory.mktemp("lm-eval"), tmp_path_factory.mktemp("published") / "results"
    evaluate(mini_build, DIRECT, scratch / "direct")
    evaluate(mini_build, PROBE, scratch / "probe", "--limit", str(PROBE_ITEMS))
    publish(scratch / "direct", out / "executor" / "direct", {"tasks": DIRECT, "items": 92})
    probe_facts = {"tasks": PROBE, "items": PROBE_ITEMS, "client": "hf", "engine": None, "wall_s": 3.0,
                   "items_per_s": 4.0}  # fmt: skip
    publish(scratch / "probe", out / "executor" / "probe", probe_facts)
    return out


def printed(results: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, list[dict[str, str]]]:
    """The printed markdown tables, by heading: one dict per row, by column."""
    main(["--results", str(results)])
    tables: dict[str, list[dict[str, str]]] = {}
    for block in capsys.readouterr().out.strip().split("### ")[1:]:
        heading, _, *lines = block.strip().splitlines()
        header, *rows = (
            [cell.strip() for cell in line.strip().removeprefix("|").removesuffix("|").split(" | ")]
            for line in lines
            if not line.startswith("|---")
        )
        tables[heading] = [dict(zip(header, row, strict=True)) for row in rows]
    return tables


def truth(build: Path) -> pd.DataFrame:
    """Every mini problem of both text configs, right exactly when the executor's DD solution does not slip."""
    frames = []
    for config, task in (("text-numerals", DIRECT[0]), ("text-words", DIRECT[1])):
        (path,) = (build / config).glob("mini-*.parquet")
        problems = pd.read_parquet(path, columns=["problem_id", "a", "b", "C"]).assign(config=config)
        hands = [
            Hand(STEP_ERROR, seed=f"{SEED}:{task}:{a}:{b}") for a, b in zip(problems["a"], problems["b"], strict=True)
        ]
        problems["correct"] = [int(not solve(int(a), int(b), "DD", hand).slips)
                               for a, b, hand in zip(problems["a"], problems["b"], hands, strict=True)]  # fmt: skip
        frames.append(problems)
    return pd.concat(frames, ignore_index=True)


def percent(correct: int, n: int, low: float, high: float) -> str:
    return f"{100 * correct / n:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def test_the_multiplication_rows_hold_the_executors_truth_and_the_boards_statistics(
    results: Path, mini_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = {row["scope"]: row for row in printed(results, capsys)["Multiplication"]}
    items = truth(mini_build)
    assert len(items) == 46 and 0 < items["correct"].sum() < 46
    assert list(rows) == ["text", "text-numerals", "text-words", ""]
    for scope, mine in (("text", items), *items.groupby("config")):
        row = rows[scope]
        assert (row["system"], row["regime"]) == (MODEL, "direct")
        assert (int(row["n"]), int(row["correct"])) == (len(mine), mine["correct"].sum())
        whole = clustered_proportion(mine["correct"], mine["problem_id"])
        assert row["accuracy"] == percent(whole.correct, whole.n, whole.low, whole.high)
        step = likeliest_step_error(list(zip(mine["a"], mine["b"], strict=True)), mine["correct"].to_numpy(float),
                                    mine["problem_id"].to_numpy())  # fmt: skip
        assert row["per-step error"] == step.text
        assert row["LPM R²"] == f"{np.corrcoef(mine['C'], mine['correct'])[0, 1] ** 2:.3f}"
        fit = fit_logistic(mine["C"].to_numpy(float), mine["correct"].to_numpy(float), groups=mine["problem_id"])
        assert row["C50"] == fit.c50().text
    for band, (low, high) in (("4-25", (4, 25)), ("26-50", (26, 50))):
        inside = items[items["C"].between(low, high)]
        share = clustered_proportion(inside["correct"], inside["problem_id"])
        assert (
            rows["text"][band] == f"{share.correct}/{share.n}: {percent(share.correct, share.n, share.low, share.high)}"
        )
    assert (rows["text"]["4-25"].split(":")[0], rows["text"]["26-50"].split(":")[0]) == (
        f"{items['correct'][items['C'] <= 25].sum()}/30",
        f"{items['correct'][items['C'] > 25].sum()}/16",
    )
    assert rows["text"]["51-100"] == rows["text"]["101-200"] == rows["text"]["201-324"] == ""


def test_the_paper_row_states_the_papers_figures(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = printed(results, capsys)
    paper = tables["Multiplication"][-1]
    assert paper["system"] == "paper" and paper["accuracy"] == PAPER["accuracy"] and paper["LPM R²"] == PAPER["r2"]
    assert (paper["51-100"], paper["101-200"], paper["201-324"]) == ("", "near zero", "near zero")
    assert tables["Perception"][-1] == {"system": "paper", "run": "", "config": "", "n": "", "read both exactly": "",
                                        "accuracy": PAPER["perception"]}  # fmt: skip
    assert (tables["The probe"][-1]["model"], tables["The probe"][-1]["preferred"]) == ("paper", PAPER["probe"])


def test_perception_is_every_problem_read_with_wilsons_interval(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    low, high = wilson(23, 23)
    expected = {"system": MODEL, "run": "executor/direct", "n": "23", "read both exactly": "23",
                "accuracy": percent(23, 23, low, high)}  # fmt: skip
    rows = printed(results, capsys)["Perception"][:-1]
    assert rows == [expected | {"config": "text-numerals"}, expected | {"config": "text-words"}]


def test_the_probe_prefers_the_executors_heuristic_per_byte_only(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The executor logs no token counts: one normalisation; its own heuristic has every item's lowest loss."""
    (row, _) = printed(results, capsys)["The probe"]
    every, none = wilson(PROBE_ITEMS, PROBE_ITEMS), wilson(0, PROBE_ITEMS)
    assert row == {
        "model": MODEL, "channel": "text", "loss per": "byte", "n": str(PROBE_ITEMS),
        "prefers OT": percent(0, PROBE_ITEMS, *none), "prefers DD": percent(PROBE_ITEMS, PROBE_ITEMS, *every),
        "prefers RC": percent(0, PROBE_ITEMS, *none), "preferred": "DD", "verdict": "reproduced",
        "why": f"DD's lower bound {every[0]:.1%} is above every other heuristic's upper bound",
    }  # fmt: skip


def test_the_speed_table_reads_each_runs_provenance(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert printed(results, capsys)["Speed"] == [
        {"system": MODEL, "run": "executor/direct", "items": "92", "wall time (s)": "12", "items/s": "7.480",
         "engine": "llama-server, 2 thread(s), 4 slot(s) x 1024 tokens, repack on; client lm-eval",
         "max_gen_toks": "64"},
        {"system": MODEL, "run": "executor/probe", "items": str(PROBE_ITEMS), "wall time (s)": "3",
         "items/s": "4.000", "engine": "hf (no server)", "max_gen_toks": "64"},
    ]  # fmt: skip


@pytest.fixture
def copy(results: Path, tmp_path: Path) -> Path:
    """A copy of the published results that a test may damage."""
    return Path(shutil.copytree(results, tmp_path / "results"))


def reseal(folder: Path, **changes: object) -> None:
    """The run's provenance written again with `changes`, over the folder's files as they are now."""
    facts = json.loads((folder / "provenance.json").read_text())
    (folder / "provenance.json").unlink()
    seal(folder, {key: value for key, value in facts.items() if key != "files"} | changes)


def refusal(results: Path) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(["--results", str(results)])
    return str(stopped.value)


def test_an_altered_missing_or_added_file_is_refused_naming_it(copy: Path) -> None:
    (samples,) = (copy / "executor" / "direct").glob("samples_mmmult_mini_direct_text_words_*.jsonl")
    samples.write_text(samples.read_text().replace('"exact_match": 0', '"exact_match": 1'))
    assert f"executor/direct/{samples.name} was altered" in refusal(copy)
    samples.unlink()
    assert f"executor/direct/{samples.name} is missing" in refusal(copy)
    reseal(copy / "executor" / "direct")
    (copy / "executor" / "probe" / "notes.txt").write_text("an extra file\n")
    assert "executor/probe/notes.txt is not listed in its provenance.json" in refusal(copy)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tasks": ["mmmult_mini_direct_text_words", "mmmult_no_such_task"]},
         "executor/direct/provenance.json: unknown task(s) mmmult_no_such_task"),
        ({"tasks": "mmmult_mini_direct_text_words"}, "executor/direct/provenance.json, field tasks"),
        ({"items_per_s": "fast"}, "executor/direct/provenance.json, field items_per_s"),
        ({"engine": {"threads": 2}}, "executor/direct/provenance.json, field engine.slots"),
        ({"model": "a | b"}, "executor/direct/provenance.json: model: use letters"),
        ({"tasks": [*DIRECT, "mmmult_mini_text_words"]}, "executor/direct/provenance.json: its tasks mix the regimes "
                                                         "direct, worked"),
    ],
)  # fmt: skip
def test_a_provenance_the_tables_cannot_read_is_refused_naming_the_field(
    copy: Path, changes: dict[str, object], message: str
) -> None:
    reseal(copy / "executor" / "direct", **changes)
    assert message in refusal(copy)


def test_a_fact_missing_from_the_provenance_is_named(copy: Path) -> None:
    folder = copy / "executor" / "probe"
    facts = json.loads((folder / "provenance.json").read_text())
    (folder / "provenance.json").unlink()
    seal(folder, {key: value for key, value in facts.items() if key not in ("files", "wall_s")})
    assert refusal(copy) == ("executor/probe/provenance.json, field wall_s: field required (got nothing); remake the "
                             "run with benchmarks.published")  # fmt: skip


def test_a_probe_sample_whose_continuations_were_edited_is_refused_by_the_boards_scoring(copy: Path) -> None:
    """Resealed, so that the files check passes: the board's probe scoring still finds the edit, naming the line."""
    folder = copy / "executor" / "probe"
    (samples,) = folder.glob("samples_mmmult_probe_text_*.jsonl")
    lines = samples.read_text().splitlines()
    lines[2] = lines[2].replace("Column method", "Row method", 1)
    samples.write_text("\n".join(lines) + "\n")
    reseal(folder)
    assert refusal(copy).startswith(f"executor/probe/{samples.name}, line 3: continuation 0 is 'Row method: ")


def test_no_results_or_no_run_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nowhere").startswith(f"no results folder at {tmp_path / 'nowhere'}")
    (tmp_path / "results" / "executor").mkdir(parents=True)
    assert refusal(tmp_path / "results").startswith(f"{tmp_path / 'results'} holds no run")


def rc_tokens(item: dict[str, Any], heuristic: str, text: str) -> int:
    """A tokenizer for which RC's prefixes take a token per byte and every other prefix one token."""
    return len(text.encode()) if heuristic == "RC" else 1


def test_a_probe_with_token_counts_gets_a_row_per_normalisation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A simulated run logging token counts (tests/probe_runs.py) on 5 DD, 2 OT and 2 RC items: per byte each item's
    own heuristic is likeliest, per token RC is (its prefixes a token per byte, the others' one token each)."""
    folder = tmp_path / "results" / "simulated" / "probe"
    folder.mkdir(parents=True)
    wanted = {"DD": 5, "OT": 2, "RC": 2}
    rows = [item.row() for item in generate_hds() if item.split == "test"]
    chosen = [row for h, k in wanted.items() for row in [r for r in rows if r["canonical_target_heuristic"] == h][:k]]
    for name, data in probe_files({"hds": {row["problem_id"]: row for row in chosen}}, PROBE, {PROBE[0]: 1.0},
                                  tokens=rc_tokens):  # fmt: skip
        (folder / name).write_bytes(data)
    seal(folder, {"model": MODEL, "tasks": PROBE, "items": 9} | FACTS | {"client": "hf", "engine": None})
    by_byte, by_token = printed(tmp_path / "results", capsys)["The probe"][:-1]
    assert {h: by_byte[f"prefers {h}"] for h in wanted} == {h: percent(k, 9, *wilson(k, 9)) for h, k in wanted.items()}
    assert (by_byte["loss per"], by_byte["n"], by_byte["preferred"]) == ("byte", "9", "DD")
    assert {h: by_token[f"prefers {h}"] for h in wanted} == {
        h: percent(9 if h == "RC" else 0, 9, *wilson(9 if h == "RC" else 0, 9)) for h in wanted
    }
    assert (by_token["loss per"], by_token["preferred"], by_token["verdict"]) == ("token", "RC", "not reproduced")


def test_two_samples_files_of_one_probe_task_are_refused(copy: Path) -> None:
    folder = copy / "executor" / "probe"
    (samples,) = folder.glob("samples_mmmult_probe_text_*.jsonl")
    shutil.copy2(samples, folder / samples.name.replace("2", "3", 1))
    reseal(folder)
    assert refusal(copy).startswith("executor/probe: 2 samples files of mmmult_probe_text")


def test_a_probe_sample_without_its_doc_is_refused(copy: Path) -> None:
    folder = copy / "executor" / "probe"
    (samples,) = folder.glob("samples_mmmult_probe_text_*.jsonl")
    lines = samples.read_text().splitlines()
    samples.write_text(
        "\n".join([json.dumps({k: v for k, v in json.loads(lines[0]).items() if k != "doc"}), *lines[1:]])
    )
    reseal(folder)
    assert refusal(copy).startswith(f"executor/probe/{samples.name}: a sample logs no doc with a problem_id")


@pytest.mark.parametrize(
    ("line", "why"),
    [("{not json", "JSONDecodeError"), ('{"doc": {"a": 1}}', "KeyError"), ('{"doc": [1, 2]}', "TypeError")],
)
def test_a_multiplication_sample_that_is_not_lm_evals_is_refused_naming_the_run(
    copy: Path, line: str, why: str
) -> None:
    folder = copy / "executor" / "direct"
    (samples,) = folder.glob("samples_mmmult_mini_direct_text_words_*.jsonl")
    samples.write_text(samples.read_text() + line + "\n")
    reseal(folder)
    assert refusal(copy).startswith(f"executor/direct: a samples file is not lm-eval's ({why}: ")
