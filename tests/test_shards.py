"""`mmmult eval --shard I/N` and `mmmult merge`: N shards of a run, merged, are the run made whole."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dataset_builder.problems import C_BANDS, band_of
from dataset_builder.shards import deal
from mmmult.leaderboard.display.model_tables import provenance_table
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.submissions import Form, submit
from tests.commands import assert_user_error, mmmult, mmmult_here

TASKS = "mmmult_text_numerals,mmmult_direct_text_numerals"
EXECUTOR = ("--model", "mmmult-executor", "--model_args", "heuristic=OT,step_error=0.02,seed=1")
SHARDS = 3


def evaluate(build: Path, out: Path, *args: str) -> Path:
    metadata = json.dumps({"data": str(build)})
    result = mmmult("eval", *EXECUTOR, "--tasks", TASKS, "--metadata", metadata, "--log_samples", "--output_path",
                    str(out), *args)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def outputs(out: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    (results_file,) = out.rglob("results_*.json")
    samples = {}
    for path in out.rglob("samples_*.jsonl"):
        samples[path.name.removeprefix("samples_").rsplit("_", 1)[0]] = [json.loads(s) for s in path.open()]
    return json.loads(results_file.read_text()), samples


@pytest.fixture(scope="module")
def whole(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return evaluate(small_build, tmp_path_factory.mktemp("whole"))


@pytest.fixture(scope="module")
def shards(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [evaluate(small_build, tmp_path_factory.mktemp(f"shard{i}"), "--shard", f"{i}/{SHARDS}") for i in
            range(SHARDS)]  # fmt: skip


def copies(shards: list[Path], tmp_path: Path) -> list[Path]:
    """The shards' folders copied, to be spoiled by a test."""
    return [Path(shutil.copytree(shard, tmp_path / f"shard{i}")) for i, shard in enumerate(shards)]


def test_the_deal_gives_each_shard_a_balanced_share_of_every_band() -> None:
    documents = [(f"p{i:05d}", C) for i, C in enumerate([5] * 10 + [30] * 7 + [60] * 2 + [150] * 1 + [300] * 4)]
    dealt = deal(documents, SHARDS)
    per_band = Counter((band_of(C), shard) for (_, C), shard in zip(documents, dealt, strict=True))
    assert {band: sorted(per_band[(band, s)] for s in range(SHARDS)) for band in C_BANDS} == {
        (4, 25): [3, 3, 4],
        (26, 50): [2, 2, 3],
        (51, 100): [0, 1, 1],
        (101, 200): [0, 0, 1],
        (201, 324): [1, 1, 2],
    }
    assert sorted(Counter(dealt).values()) == [8, 8, 8]
    assert deal(documents[::-1], SHARDS) == dealt[::-1]  # a function of the documents, not of their order


def test_merged_shards_are_the_whole_run(whole: Path, shards: list[Path], tmp_path: Path) -> None:
    result = mmmult("merge", *map(str, shards), "--output_path", str(tmp_path / "merged"))
    assert result.returncode == 0, result.stderr
    merged_results, merged_samples = outputs(tmp_path / "merged")
    whole_results, whole_samples = outputs(whole)
    shard_samples = [outputs(shard)[1] for shard in shards]
    for task in TASKS.split(","):
        assert sorted(len(s[task]) for s in shard_samples) == [5, 6, 6]
        assert merged_samples[task] == whole_samples[task]
        assert merged_results["results"][task] == whole_results["results"][task]
        assert (
            merged_results["n-samples"][task] == whole_results["n-samples"][task] == {"original": 17, "effective": 17}
        )
    assert merged_results["task_hashes"] == whole_results["task_hashes"]
    assert merged_results["mmmult_shards"] == SHARDS
    assert "shard" not in merged_results["configs"]["mmmult_text_numerals"]["metadata"]


def test_the_board_takes_the_merged_run_as_one_run_of_three_shards(
    whole: Path, shards: list[Path], tmp_path: Path, store: Store, reference: Benchmark
) -> None:
    assert mmmult_here("merge", *map(str, shards), "--output_path", str(tmp_path / "merged")).returncode == 0
    merged = submit(store, reference, runs_files(tmp_path / "merged"), Form("executor", "Simulated", submitter="s"))
    assert merged == "submission #1 re-scored\n" + "\n".join(
        ["re-scored: 2 task(s), 34 samples re-scored", "settings as declared: greedy decoding, the tasks' budgets, "
         "zero-shot"]
    )  # fmt: skip
    made_whole = Store(tmp_path / "whole.sqlite")
    assert submit(made_whole, reference, runs_files(whole), Form("executor", "Simulated", submitter="s")) == merged
    assert store.provenance(1).shards == SHARDS
    assert made_whole.provenance(1).shards is None
    assert ("shards", "3 shards, merged") in provenance_table(store.provenance(1)).itertuples(index=False, name=None)


def runs_files(out: Path) -> list[str]:
    return [str(path) for path in out.rglob("*.json*")]


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        ("3/3", "--shard 3/3: shard index 3 is out of range; the 3 shards are 0 to 2"),
        ("-1/3", "--shard -1/3: shard index -1 is out of range; the 3 shards are 0 to 2"),
        ("0/0", "--shard 0/0: the number of shards N must be from 1 to 10,000"),
        ("one/3", "--shard 'one/3': give the shard as I/N"),
    ],
)
def test_a_shard_that_cannot_be_is_refused_before_lm_eval_starts(shard: str, message: str, tmp_path: Path) -> None:
    result = mmmult_here("eval", *EXECUTOR, "--tasks", TASKS, "--log_samples", "--output_path", str(tmp_path / "o"),
                         "--shard", shard)  # fmt: skip
    assert_user_error(result, message)
    assert not (tmp_path / "o").exists()


def test_a_shard_needs_its_samples_logged(tmp_path: Path) -> None:
    result = mmmult_here("eval", *EXECUTOR, "--tasks", TASKS, "--output_path", str(tmp_path), "--shard", "0/2")
    assert_user_error(result, "shard 0/2 needs --log_samples --output_path DIR")


def refused(folders: list[Path], tmp_path: Path, message: str) -> None:
    result = mmmult_here("merge", *map(str, folders), "--output_path", str(tmp_path / "merged"))
    assert_user_error(result, message)
    assert not [p.name for p in tmp_path.iterdir() if "merged" in p.name]  # nor its temporary folder


def test_merge_refuses_a_missing_shard(shards: list[Path], tmp_path: Path) -> None:
    refused(copies(shards, tmp_path)[:2], tmp_path, "shard 2/3 missing: merge needs all 3 shards")


def test_merge_refuses_a_repeated_shard(shards: list[Path], tmp_path: Path) -> None:
    folders = copies(shards, tmp_path)
    again = Path(shutil.copytree(folders[1], tmp_path / "again"))
    refused([*folders, again], tmp_path, f"{folders[1]} and {again} are both shard 1/3")


def test_merge_refuses_shards_of_another_model(small_build: Path, shards: list[Path], tmp_path: Path) -> None:
    folders = copies(shards, tmp_path)
    shutil.rmtree(folders[2])
    other = ("--model_args", "heuristic=DD,step_error=0.02,seed=1")
    evaluate(small_build, folders[2], "--shard", "2/3", *other)
    refused(folders, tmp_path, f"{folders[2]} (shard 2/3) is not of the same run as {folders[0]} (shard 0/3): its "
                               "config.model_args.heuristic is 'DD', not 'OT'")  # fmt: skip


def test_merge_refuses_shards_of_another_build(shards: list[Path], tmp_path: Path) -> None:
    folders = copies(shards, tmp_path)
    (results_file,) = folders[1].rglob("results_*.json")
    results = json.loads(results_file.read_text())
    for config in results["configs"].values():
        config["metadata"] |= {"build": "another", "data": "/elsewhere", "config_source": "/elsewhere/eval"}
    results_file.write_text(json.dumps(results))
    build = outputs(shards[0])[0]["configs"]["mmmult_direct_text_numerals"]["metadata"]["build"]
    field = "configs.mmmult_direct_text_numerals.metadata.build"
    refused(folders, tmp_path, f"{folders[1]} (shard 1/3) is not of the same run as {folders[0]} (shard 0/3): its "
                               f"{field} is 'another', not {build!r}")  # fmt: skip


def test_merge_refuses_a_document_in_two_shards(shards: list[Path], tmp_path: Path) -> None:
    folders = copies(shards, tmp_path)
    (samples,) = folders[1].rglob("samples_mmmult_text_numerals_*.jsonl")
    (taken,) = folders[0].rglob("samples_mmmult_text_numerals_*.jsonl")
    first = taken.read_text().splitlines()[0]
    samples.write_text(samples.read_text() + first + "\n")
    problem = json.loads(first)["doc"]["problem_id"]
    refused(folders, tmp_path, f"{problem} of mmmult_text_numerals is in two shards: {folders[0]} (shard 0/3) and "
                               f"{folders[1]} (shard 1/3)")  # fmt: skip


def test_merge_refuses_a_folder_with_foreign_files(shards: list[Path], tmp_path: Path) -> None:
    folders = copies(shards, tmp_path)
    (results,) = folders[2].rglob("results_*.json")
    (results.parent / "notes.txt").write_text("mine")
    refused(folders, tmp_path, f"{folders[2]}: {results.parent.name}/notes.txt not written by lm-eval")


def test_merge_refuses_a_run_that_is_no_shard(whole: Path, shards: list[Path], tmp_path: Path) -> None:
    refused([whole, *shards[1:]], tmp_path, f"{whole}: not a shard of a run; make each shard with `mmmult eval "
                                           "--shard I/N`")  # fmt: skip


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        ("results", "{results}: {name} is not lm-eval's JSON"),
        ("results-deep", "{results}: {name} is not lm-eval's JSON"),
        ("results-configs", "{results}: {name} is not an lm-eval results file (no task configs)"),
        ("samples", "{samples}: {name}, line 1, is not lm-eval's JSON"),
        ("samples-list", "{samples}: {name}, line 1, is not an mmmult sample (no doc problem_id, C)"),
        ("samples-bytes", "{samples}: {name} is not UTF-8 text"),
    ],
)
def test_merge_refuses_a_damaged_or_hostile_shard_file(
    shards: list[Path], tmp_path: Path, spoil: str, message: str
) -> None:
    folders = copies(shards, tmp_path)
    (results,) = folders[1].rglob("results_*.json")
    (samples,) = folders[1].rglob("samples_mmmult_text_numerals_*.jsonl")
    target = results if spoil.startswith("results") else samples
    content = {
        "results": b'{"configs": ',
        "results-deep": b"[" * 100_000 + b"]" * 100_000,
        "results-configs": json.dumps({"configs": {"mmmult_text_numerals": [1]}}).encode(),
        "samples": b"{not json\n",
        "samples-list": b"[1, 2]\n",
        "samples-bytes": b"\xff\xfe\n",
    }[spoil]
    target.write_bytes(content)
    refused(folders, tmp_path, message.format(results=folders[1], samples=folders[1], name=target.name))
