"""The `mmmult` command as a user runs it: clear errors, exit status 2, never a traceback."""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pytest
import yaml

from dataset_builder.dataset.push import upload_plan
from dataset_builder.media.codec import decode_audio
from mmmult.harness.evaluate import EvalSetupError
from tests.commands import assert_user_error, mmmult, mmmult_here


def test_build_then_list_the_upload(tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = mmmult(
        "build", "--out", str(out), "--configs", "text-numerals,problems", "--max-digits", "2", "--limit", "9"
    )
    assert result.returncode == 0, result.stderr
    assert "configs: 100%" in result.stderr  # the progress bar
    listed = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(out), "--dry-run")
    names = [row.split()[1] for row in listed.stdout.splitlines()[1:]]
    assert names[:3] == ["README.md", "eval.yaml", "manifest.json"]
    on_disk = sorted(f"{p.parent.name}/{p.name}" for p in out.glob("*/*.parquet"))
    assert names[3:] == on_disk and len(on_disk) >= 4
    assert {name.split("/")[0] for name in on_disk} == {"text-numerals", "problems"}


def test_missing_espeak_is_explained(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    result = mmmult(
        "build", "--out", str(tmp_path / "d"), "--configs", "audio-words", "--limit", "2", env={"PATH": str(bare)}
    )
    assert_user_error(result, "espeak-ng is not installed: install it with `sudo apt-get install espeak-ng`")


def test_csv_row_with_a_non_integer(tmp_path: Path) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("a,b\n12,34\n5,6.5\n")
    result = mmmult_here("build", "--out", str(tmp_path / "d"), "--from-csv", str(grid))
    assert_user_error(result, f"{grid}, line 3: column b must be a positive integer, got '6.5'")


def test_csv_row_with_an_operand_above_nine_digits(tmp_path: Path) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("a,b\n1234567890,2\n")
    result = mmmult_here("build", "--out", str(tmp_path / "d"), "--from-csv", str(grid))
    assert_user_error(result, f"{grid}, line 2: column a is 1234567890, outside 1 to 999999999")


def test_output_folder_that_holds_something_else(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("keep me")
    result = mmmult_here("build", "--out", str(tmp_path), "--configs", "problems")
    assert_user_error(result, "holds other files and is not an mmmult build")
    assert (tmp_path / "thesis.tex").read_text() == "keep me"


def test_unknown_config(tmp_path: Path) -> None:
    result = mmmult_here("build", "--out", str(tmp_path / "d"), "--configs", "text-numerals,video-words")
    assert_user_error(result, "unknown config(s) video-words; choose from text-numerals, text-words")


def test_push_of_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    result = mmmult_here("push", "--repo-id", "someone/mmmult", "--dir", str(tmp_path))
    assert_user_error(result, "is not a complete mmmult build")


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("push") / "data"
    assert mmmult("build", "--out", str(out), "--configs", "problems", "--limit", "3").returncode == 0
    return out


def test_push_offline_fails_fast(tiny_build: Path) -> None:
    started = time.monotonic()
    result = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(tiny_build), env={"HF_TOKEN": "hf_test"})
    assert_user_error(result, "HF_HUB_OFFLINE is set")
    assert time.monotonic() - started < 30


def test_push_without_network_fails_with_the_cause(tiny_build: Path) -> None:
    env = {"HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_test", "HF_ENDPOINT": "http://127.0.0.1:9"}
    result = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(tiny_build), env=env)
    assert_user_error(result, "upload to someone/mmmult failed")


def test_push_needs_a_token_and_a_valid_repo_id(tiny_build: Path) -> None:
    no_token = {"HF_HUB_OFFLINE": "0", "HF_TOKEN": ""}
    assert_user_error(
        mmmult("push", "--repo-id", "a/b", "--dir", str(tiny_build), env=no_token), "no Hugging Face token"
    )
    assert_user_error(mmmult("push", "--repo-id", "nobody", "--dir", str(tiny_build), env=no_token), "needs an owner")


def test_space_without_a_build_says_how_to_make_one(tmp_path: Path) -> None:
    result = mmmult("space", "--data", str(tmp_path / "none"), "--db", str(tmp_path / "board.sqlite"))
    assert_user_error(result, "no problems/test-*.parquet in")
    assert "mmmult build --out" in result.stderr


def test_space_with_an_unreadable_persistence_repo_stops_with_the_reason(small_build: Path, tmp_path: Path) -> None:
    env = {"MMMULT_SPACE_REPO": "me/board", "HF_HUB_OFFLINE": "1"}
    result = mmmult("space", "--data", str(small_build), "--db", str(tmp_path / "board.sqlite"), env=env)
    assert_user_error(result, "could not restore the board from the dataset repo me/board")
    assert not (tmp_path / "board.sqlite").exists()


def test_audio_bitrate_outside_what_opus_accepts(tmp_path: Path) -> None:
    result = mmmult("build", "--out", str(tmp_path / "d"), "--audio-kbps", "3")
    assert_user_error(result, "argument --audio-kbps: the Opus bitrate must be 6 to 256 kbps, got 3")
    result = mmmult("build", "--out", str(tmp_path / "d"), "--audio-kbps", "fourteen")
    assert_user_error(result, "argument --audio-kbps: not an integer: 'fourteen'")


def test_a_bitrate_for_lossless_flac_is_refused(tmp_path: Path) -> None:
    result = mmmult_here("build", "--out", str(tmp_path / "d"), "--audio-codec", "flac", "--audio-kbps", "14")
    assert_user_error(result, "--audio-kbps sets the Opus bitrate; FLAC is lossless and has none")
    assert not (tmp_path / "d").exists()


def test_flac_build_stores_lossless_clips(tmp_path: Path) -> None:
    out = tmp_path / "d"
    result = mmmult("build", "--out", str(out), "--configs", "audio-digits", "--max-digits", "1", "--limit", "3")
    assert result.returncode == 0, result.stderr
    flac = mmmult(
        "build",
        "--out",
        str(tmp_path / "f"),
        "--configs",
        "audio-digits",
        "--max-digits",
        "1",
        "--limit",
        "3",
        "--audio-codec",
        "flac",
    )
    assert flac.returncode == 0, flac.stderr
    opus_rows, flac_rows = (
        datasets.load_dataset(str(folder), "audio-digits", split="train").cast_column(
            "audio", datasets.Audio(decode=False)
        )
        for folder in (out, tmp_path / "f")
    )
    assert set(flac_rows["audio_codec"]) == {"flac"} and set(flac_rows["audio_kbps"]) == {None}
    assert set(opus_rows["audio_codec"]) == {"opus"}
    assert "stored as lossless 16-bit FLAC." in (tmp_path / "f" / "README.md").read_text()
    for o, f in zip(opus_rows["audio"], flac_rows["audio"], strict=True):
        assert f["bytes"][:4] == b"fLaC" and o["bytes"][:4] == b"OggS"
        assert len(decode_audio(o["bytes"])[0]) == len(decode_audio(f["bytes"])[0])
        assert len(o["bytes"]) < len(f["bytes"]) / 3


def problems_of(folder: Path) -> list[dict]:
    """A build's problems: its train, validation and test rows (the mini split's rows are copies of test rows)."""
    splits = datasets.load_dataset(str(folder), "problems")
    return datasets.concatenate_datasets([rows for name, rows in splits.items() if name != "mini"]).to_list()


def mini_of(folder: Path) -> set[str]:
    return set(datasets.load_dataset(str(folder), "problems", split="mini")["problem_id"])


def test_subset_options_select_by_the_definitions_and_keep_the_full_sets_problems(tmp_path: Path) -> None:
    def built(name: str, *options: str) -> list[dict]:
        result = mmmult("build", "--out", str(tmp_path / name), "--configs", "problems", *options)
        assert result.returncode == 0, result.stderr
        return problems_of(tmp_path / name)

    full = {p["problem_id"]: p for p in built("full", "--per-stratum", "2", "--seed", "7")}
    assert len(full) >= 2 * 2025 and all(f"p{i:05d}" in full for i in range(2 * 2025))
    subset = built("subset", "--per-stratum", "2", "--seed", "7", "--min-digits", "3", "--max-c", "40")
    assert subset and all(full[p["problem_id"]] == p for p in subset)  # same ids, operands and splits
    for p in subset:
        digits = (len(str(p["a"])), len(str(p["b"])))
        load = sum(digits) * sum(d != "0" for d in f"{p['a']}{p['b']}")
        assert min(digits) >= 3 and load <= 40
    inside = [p for p in full.values() if min(len(str(p["a"])), len(str(p["b"]))) >= 3 and p["C"] <= 40]
    assert sorted(p["problem_id"] for p in subset) == sorted(p["problem_id"] for p in inside)
    assert mini_of(tmp_path / "subset") == mini_of(tmp_path / "full") & {p["problem_id"] for p in subset}
    other_seed = built("other", "--per-stratum", "2", "--seed", "8", "--max-digits", "1")
    assert {(p["a"], p["b"]) for p in other_seed} != {(p["a"], p["b"]) for p in full.values() if p["C"] == 4}
    assert {p["C"] for p in other_seed} == {4}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-digits", "10", "--max-digits must be from 1 to 9, got 10"),
        ("--min-digits", "0", "--min-digits must be from 1 to 9, got 0"),
        ("--min-c", "3", "--min-c must be from 4 to 324, got 3"),
        ("--max-c", "325", "--max-c must be from 4 to 324, got 325"),
        ("--per-stratum", "41", "--per-stratum must be between 1 and 40, got 41"),
        ("--per-stratum", "0", "--per-stratum must be between 1 and 40, got 0"),
    ],
)
def test_subset_bounds_outside_what_problems_have_are_refused(tmp_path: Path, option, value, message) -> None:
    result = mmmult_here("build", "--out", str(tmp_path / "d"), "--configs", "problems", option, value)
    assert_user_error(result, message)


def test_bounds_at_their_edges_are_accepted_and_crossed_bounds_refused(tmp_path: Path) -> None:
    edges = ("--min-digits", "9", "--max-digits", "9", "--min-c", "324", "--max-c", "324", "--limit", "1")
    result = mmmult("build", "--out", str(tmp_path / "edge"), "--configs", "problems", *edges)
    assert result.returncode == 0, result.stderr
    (problem,) = problems_of(tmp_path / "edge")
    assert (len(str(problem["a"])), len(str(problem["b"])), problem["C"]) == (9, 9, 324)
    low = ("--max-digits", "1", "--min-c", "4", "--max-c", "4")
    result = mmmult("build", "--out", str(tmp_path / "low"), "--configs", "problems", *low)
    assert result.returncode == 0, result.stderr
    assert {p["C"] for p in problems_of(tmp_path / "low")} == {4}
    crossed = mmmult("build", "--out", str(tmp_path / "x"), "--min-digits", "5", "--max-digits", "4")
    assert_user_error(crossed, "--min-digits 5 is above --max-digits 4: nothing would be left")
    assert_user_error(mmmult("build", "--out", str(tmp_path / "y"), "--limit", "0"), "must be at least 1, got 0")


def test_worker_processes_write_the_same_bytes_as_one_process(tmp_path: Path) -> None:
    options = ("--configs", "image-words,audio-digits", "--max-digits", "3", "--limit", "12")
    for procs in ("1", "2"):
        result = mmmult("build", "--out", str(tmp_path / procs), *options, "--num-proc", procs)
        assert result.returncode == 0, result.stderr
    one = json.loads((tmp_path / "1/manifest.json").read_text())["files"]
    assert one == json.loads((tmp_path / "2/manifest.json").read_text())["files"] and len(one) >= 4


@pytest.mark.parametrize("procs", ["1", "2"])
def test_ctrl_c_ends_with_one_line_and_status_130_and_the_build_resumes(tmp_path: Path, procs: str) -> None:
    out = tmp_path / "data"
    command = [sys.executable, "-m", "mmmult.cli", "build", "--out", str(out), "--configs"]
    command += ["text-words,audio-words", "--limit", "60", "--num-proc", procs]
    build = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    state = tmp_path / ".data.partial" / ".state"
    deadline = time.monotonic() + 60
    while not (state / "text-words").exists():  # the first config is done: the audio is being spoken
        assert build.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(build.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: every process of the group
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 130, stderr[-3000:]  # once in about 20 runs under load: 0 (see the notes)
    assert "Traceback" not in stderr
    assert stderr.rstrip().splitlines()[-1] == "mmmult: interrupted; run the same command again to resume"
    assert not out.exists()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the unfinished build" in resumed.stderr
    assert json.loads((out / "manifest.json").read_text())["configs"]["audio-words"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sample", "0"), "argument --sample: must be at least 1, got 0"),
        (("--sample", "-3"), "argument --sample: must be at least 1, got -3"),
        (("--threshold", "2"), "argument --threshold: must be a share from 0 to 1 (0.995 for 99.5%), got 2"),
        (("--threshold", "nan"), "argument --threshold: must be a share from 0 to 1"),
        (("--show", "x"), "argument --show: not an integer: 'x'"),
    ],
)
def test_verify_options_outside_their_range_are_refused(small_build: Path, args, message) -> None:
    assert_user_error(mmmult("verify", str(small_build), *args), message)


def test_push_dry_run_lists_sizes_total_and_target_and_checks_the_repo_id(small_build: Path) -> None:
    listed = mmmult("push", "--repo-id", "someone/mmmult", "--dir", str(small_build), "--dry-run")
    assert listed.returncode == 0, listed.stderr
    head, *rows = listed.stdout.splitlines()
    files = upload_plan(small_build)
    total = sum((small_build / name).stat().st_size for name in files)
    assert head == f"would upload {len(files)} files ({total / 1e6:.1f} MB) to the dataset repo someone/mmmult:"
    assert [row.split()[1] for row in rows] == files
    assert [int(row.split()[0].replace(",", "")) for row in rows] == [(small_build / n).stat().st_size for n in files]
    assert_user_error(mmmult("push", "--repo-id", "bad", "--dir", str(small_build), "--dry-run"), "needs an owner")


def test_the_card_states_size_categories_and_filters_of_the_build(small_build: Path, tmp_path: Path) -> None:
    card = (small_build / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["size_categories"] == ["n<1K"]
    assert meta["task_categories"] == ["question-answering", "visual-question-answering", "audio-text-to-text"]
    assert "A subset: operands of at most 4 digits, a seeded sample of 40" in card
    result = mmmult("build", "--out", str(tmp_path / "t"), "--configs", "text-words,problems", "--limit", "5")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((tmp_path / "t/README.md").read_text().split("---")[1])["task_categories"] == [
        "question-answering"
    ]


def test_a_busy_port_is_named_with_what_to_do(small_build: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = mmmult("space", "--data", str(small_build), "--db", str(tmp_path / "b.sqlite"), "--port", str(port))
    assert_user_error(result, f"cannot listen on port {port}: it is in use or not allowed; pass a free --port")
    assert "GRADIO_SERVER_PORT" not in result.stderr


def test_eval_on_a_build_without_a_test_split_says_what_to_do(tmp_path: Path) -> None:
    grid = tmp_path / "train.csv"
    grid.write_text("a,b,split\n12,34,train\n5,6,train\n")
    result = mmmult("build", "--out", str(tmp_path / "d"), "--from-csv", str(grid), "--configs", "text-words")
    assert result.returncode == 0, result.stderr
    assert "no problem is in the test split" in result.stderr
    utils = importlib.import_module("mmmult.lm_eval_tasks.utils")
    with pytest.raises(EvalSetupError, match=r"has no test split of text-words: the tasks evaluate on test"):
        utils.load("text-words", data=str(tmp_path / "d"))


@pytest.mark.parametrize("asked", [["--help"], ["-h"], ["run", "--help"], ["--model", "hf", "--help"]])
def test_eval_help_starts_with_mmmult_s_own_part(asked: list[str]) -> None:
    from dataset_builder.tasks import GROUPS, PROBE_GROUPS
    from mmmult.harness.evaluate import MMMULT_MODELS

    result = mmmult_here("eval", *asked)
    assert result.returncode == 0, result.stderr
    ours, lm_evals = result.stdout.split("\nlm-eval's options:\n")
    assert ours.startswith("usage: mmmult eval --model MODEL")
    assert "$MMMULT_DATA, else ./mmmult-data" in ours and """--metadata '{"data": "PATH_OR_USER/NAME"}'""" in ours
    for name in [group.name for group in (*GROUPS, *PROBE_GROUPS)] + list(MMMULT_MODELS):
        assert f"\n  {name} " in ours
    assert lm_evals.startswith("usage: mmmult eval --model <model> --tasks <task>")
    assert "--model_args" in lm_evals and "--log_samples" in lm_evals and "lm-eval run" not in result.stdout


def test_the_models_the_help_names_are_registered() -> None:
    import lm_eval.models  # noqa: F401  (lm-eval's own first, as mmmult eval does)
    from lm_eval.api.registry import model_registry

    from mmmult.harness import repaired
    from mmmult.harness.evaluate import MMMULT_MODELS, REPAIRED_MODELS, register_mmmult_models, register_repaired_models

    register_repaired_models()
    register_mmmult_models()
    assert set(MMMULT_MODELS) <= set(model_registry.keys())
    assert {repaired(alias) for alias in REPAIRED_MODELS} <= set(model_registry.keys())
    assert set(REPAIRED_MODELS) <= set(MMMULT_MODELS)


def test_a_run_outside_a_git_checkout_prints_no_git_error(small_build: Path, tmp_path: Path) -> None:
    """lm-eval asks git for the working directory's commit; outside a checkout git's complaint reached stderr."""
    assert subprocess.run(["git", "rev-parse"], cwd=tmp_path, capture_output=True, check=False).returncode != 0
    command = ["eval", "--model", "mmmult-reference", "--tasks", "mmmult_text_numerals", "--limit", "2"]
    result = mmmult(*command, env={"MMMULT_DATA": str(small_build)}, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not a git repository" not in result.stderr and "exact_match" in result.stdout


def test_intakes_several_runs_each_under_its_own_names(small_build: Path, run_files, tmp_path: Path) -> None:
    """Each --ingest is submitted with its --model and --family before the board serves (here it cannot: the
    port is taken, which ends the command after the runs are stored)."""
    from mmmult.leaderboard.storage.store import Store

    for name in ("one", "two"):
        for file, body in run_files:
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / file).write_bytes(body)
    db = tmp_path / "b.sqlite"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        runs = ["--ingest", str(tmp_path / "one"), "--model", "model-a", "--family", "A"]
        runs += ["--ingest", str(tmp_path / "two"), "--model", "model-b", "--family", "B"]
        result = mmmult("space", "--data", str(small_build), "--db", str(db), "--port", port, *runs)
    assert_user_error(result, f"cannot listen on port {port}")
    assert result.stdout.startswith("model-a: ") and "\nmodel-b: " in result.stdout
    with Store(db).connect() as connection:
        stored = connection.execute("SELECT model, family, duplicate_of IS NOT NULL FROM submissions ORDER BY id")
        assert [tuple(row) for row in stored] == [("model-a", "A", 0), ("model-b", "B", 1)]


def test_several_runs_need_a_model_and_family_each(small_build: Path, tmp_path: Path) -> None:
    runs = ["--ingest", "x", "--ingest", "y", "--model", "m"]
    result = mmmult_here("space", "--data", str(small_build), "--db", str(tmp_path / "b.sqlite"), *runs)
    assert_user_error(result, "2 --ingest, 1 --model and 0 --family: with several runs, give each --ingest its own")


def test_a_csv_of_test_problems_builds_every_config_but_traces_and_says_so_once(tmp_path: Path) -> None:
    """The default configs are every config the problems can make: traces is made of train and validation
    problems, so a CSV of test problems builds the rest and says in one line why traces is not among them."""
    import csv
    from dataclasses import asdict

    from dataset_builder.configs import CONFIG_NAMES
    from dataset_builder.probe.sets import HDS_COLUMNS, TRAP_COLUMNS, generate_hds, generate_traps

    source = tmp_path / "t.csv"
    source.write_text("a,b,split\n47,36,test\n12,34,test\n8004004,500,test\n")
    for path, columns, items in ((tmp_path / "hds.csv", HDS_COLUMNS, generate_hds(size=6)),
                                 (tmp_path / "traps.csv", TRAP_COLUMNS, generate_traps()[:4])):  # fmt: skip
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(asdict(item) for item in items)
    out = tmp_path / "out"
    probe_csvs = ("--hds-csv", str(tmp_path / "hds.csv"), "--traps-csv", str(tmp_path / "traps.csv"))
    result = mmmult("build", "--out", str(out), "--from-csv", str(source), *probe_csvs)
    assert result.returncode == 0, result.stderr[-3000:]
    skipped = [line for line in result.stderr.splitlines() if "traces" in line]
    assert skipped == [
        f"skipping the traces config: it needs train or validation problems, and {source} has only test problems"
    ]
    built = tuple(name for name in CONFIG_NAMES if name != "traces")
    manifest = json.loads((out / "manifest.json").read_text())
    assert tuple(manifest["configs"]) == built and tuple(manifest["options"]["configs"]) == built
    card = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert sorted(c["config_name"] for c in card["configs"]) == sorted(built)
    assert sorted(i["config_name"] for i in card["dataset_info"]) == sorted(built)
    for name in built:
        loaded = datasets.load_dataset(str(out), name)
        assert {split: len(rows) for split, rows in loaded.items()} == manifest["configs"][name], name
    assert manifest["configs"]["text-words"] == {"test": 3, "mini": 3}


def test_traces_named_for_a_csv_of_test_problems_is_refused_with_the_file_s_splits(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("a,b,split\n47,36,test\n12,34,test\n")
    result = mmmult_here("build", "--out", str(tmp_path / "out"), "--from-csv", str(source), "--configs",
                         "problems,traces")  # fmt: skip
    assert_user_error(
        result,
        f"the traces config needs train or validation problems, and {source} has only test problems; add train or "
        "validation rows or leave traces out of --configs",
    )
    assert not (tmp_path / "out").exists()


def test_traces_named_where_the_bounds_leave_only_test_problems_is_refused_naming_the_bounds(tmp_path: Path) -> None:
    bounds = ("--per-stratum", "1", "--min-c", "324")
    result = mmmult_here("build", "--out", str(tmp_path / "out"), "--configs", "traces", *bounds)
    assert_user_error(
        result,
        "the traces config needs train or validation problems, and the given bounds leave only test problems of "
        "the default set; widen them or leave traces out of --configs",
    )


def test_build_configs_all_is_the_default_and_names_are_kept() -> None:
    from mmmult.cli import parser

    def configs(*given: str) -> tuple[str, ...] | None:
        return parser().parse_args(["build", "--out", "o", *given]).configs

    assert configs() is None and configs("--configs", "all") is None
    assert configs("--configs", "problems, traces") == ("problems", "traces")


def test_the_owner_s_runs_are_not_held_to_the_public_s_hourly_limit(
    small_build: Path, run_files, tmp_path: Path
) -> None:
    """Seven --ingest runs (the demo ingests eight) are all stored, though an uploader may submit five an hour."""
    from mmmult.leaderboard.storage.store import Store
    from mmmult.leaderboard.submissions import RATE_LIMIT

    runs = []
    for index in range(RATE_LIMIT + 2):
        (tmp_path / str(index)).mkdir()
        for file, body in run_files:
            (tmp_path / str(index) / file).write_bytes(body)
        runs += ["--ingest", str(tmp_path / str(index)), "--model", f"model-{index}", "--family", "F"]
    db = tmp_path / "b.sqlite"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = mmmult("space", "--data", str(small_build), "--db", str(db), "--port", port, *runs)
    assert_user_error(result, f"cannot listen on port {port}")
    assert "rejected" not in result.stdout
    with Store(db).connect() as connection:
        stored = connection.execute("SELECT model, status FROM submissions ORDER BY id").fetchall()
    assert [row[0] for row in stored] == [f"model-{index}" for index in range(RATE_LIMIT + 2)]
    assert {row[1] for row in stored} == {"re-scored", "duplicate"}


def test_an_ingest_with_a_bad_name_is_refused_before_anything_is_stored(
    small_build: Path, run_files, tmp_path: Path
) -> None:
    for file, body in run_files:
        (tmp_path / "run").mkdir(exist_ok=True)
        (tmp_path / "run" / file).write_bytes(body)
    runs = ["--ingest", str(tmp_path / "run"), "--model", "<b>bold</b>", "--family", "F"]
    result = mmmult("space", "--data", str(small_build), "--db", str(tmp_path / "b.sqlite"), *runs)
    assert_user_error(result, f"--ingest {tmp_path / 'run'}: model: use ")
    assert not (tmp_path / "b.sqlite").exists()
