"""`mmmult eval --slurm` and `mmmult worker --slurm`: a run's shards as one Slurm job array, merged when done.

The fast tests need no Slurm (its absence, and a refusal, are an sbatch of the test's own on PATH); the slow ones
start a real one-node cluster on this machine (tests/slurm_cluster.py) and run arrays of a simulated executor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mmmult.harness.slurm import OPTIONS, SlurmArray, SlurmError, SlurmOptions, batch_script
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.submissions import ingest_finished
from mmmult.queue.folder import LocalQueue
from mmmult.queue.request import DONE, EvalRequest
from tests import slurm_cluster
from tests.commands import assert_user_error, mmmult, mmmult_here
from tests.test_shards import EXECUTOR, TASKS, outputs

SHARDS = 3


def run_args(build: Path, out: Path, *more: str) -> list[str]:
    metadata = json.dumps({"data": str(build)})
    return ["eval", *EXECUTOR, "--tasks", TASKS, "--metadata", metadata, "--log_samples", "--output_path", str(out),
            *more]  # fmt: skip


@pytest.fixture
def no_sbatch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH without Slurm's commands."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def fake_sbatch(folder: Path, stderr: str, status: int) -> Path:
    """An sbatch that answers as Slurm does when it refuses a job."""
    folder.mkdir()
    sbatch = folder / "sbatch"
    sbatch.write_text(f"#!/bin/sh\necho '{stderr}' >&2\nexit {status}\n")
    sbatch.chmod(0o755)
    return folder


REFUSED = {
    "N of 0": (("--slurm", "--shards", "0"), "--slurm: argument --shards: the number of shards N must be from 1 to "
                                             "10,000, got 0"),
    "N below 0": (("--slurm", "--shards", "-2"), "the number of shards N must be from 1 to 10,000, got -2"),
    "N no number": (("--slurm", "--shards", "three"), "--slurm: argument --shards: not a whole number of shards: "
                                                      "'three'"),
    "no --slurm": (("--shards", "3"), "--shards, --partition and the other Slurm options go with --slurm"),
    "no N": (("--slurm", "--no-wait"), "--slurm needs --shards N: the number of shards of the array"),
    "one shard": (("--slurm", "--shards", "3", "--shard", "1/3"), "--slurm runs every shard of the array: leave "
                                                                  "--shard I/N out"),
    "two words": (("--slurm", "--shards", "3", "--partition", "gpu a"), "argument --partition: 'gpu a': one word, "
                                                                        "without spaces, quotes or #"),
    "no GPU": (("--slurm", "--shards", "3", "--gpus-per-task", "0"), "argument --gpus-per-task: must be at least 1, "
                                                                     "got 0"),
}  # fmt: skip


@pytest.mark.parametrize(("args", "message"), REFUSED.values(), ids=REFUSED)
def test_slurm_options_that_cannot_be_are_refused_before_anything_is_written(
    small_build: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = mmmult_here(*run_args(small_build, tmp_path / "out", *args))
    assert_user_error(result, message)
    assert list(tmp_path.iterdir()) == []


def test_a_run_without_its_samples_logged_is_refused(small_build: Path, tmp_path: Path) -> None:
    args = [a for a in run_args(small_build, tmp_path / "out", "--slurm", "--shards", "3") if a != "--log_samples"]
    assert_user_error(mmmult_here(*args), "--slurm needs --log_samples --output_path DIR: the shards' samples are "
                                          "merged into DIR")  # fmt: skip


def test_a_run_the_shards_could_not_start_is_refused_before_slurm_sees_it(tmp_path: Path, no_sbatch: None) -> None:
    result = mmmult_here(*run_args(tmp_path / "no-build", tmp_path / "out", "--slurm", "--shards", "3"))
    assert_user_error(result, f"no mmmult dataset at '{tmp_path / 'no-build'}'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_without_slurm_nothing_is_submitted_nor_written(small_build: Path, tmp_path: Path, no_sbatch: None) -> None:
    result = mmmult_here(*run_args(small_build, tmp_path / "out", "--slurm", "--shards", "3"))
    assert_user_error(result, "Slurm is not there: no sbatch on PATH; run --slurm where Slurm jobs are submitted (a "
                              "login node), or run the shards another way (README: Shards)")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_a_job_slurm_refuses_is_shown_with_slurm_s_message_and_leaves_nothing(
    small_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = "sbatch: error: invalid partition specified: nosuch"
    monkeypatch.setenv("PATH", str(fake_sbatch(tmp_path / "bin", said, 1)))
    result = mmmult_here(*run_args(small_build, tmp_path / "out", "--slurm", "--shards", "3", "--partition", "nosuch"))
    assert_user_error(result, f"Slurm refused the array of 3 shards: {said}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_an_output_or_slurm_folder_in_use_is_refused(small_build: Path, tmp_path: Path, no_sbatch: None) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.json").write_text("{}")
    result = mmmult_here(*run_args(small_build, tmp_path / "out", "--slurm", "--shards", "3"))
    assert_user_error(result, f"{tmp_path / 'out'} exists and is not an empty folder: the merged run needs a new "
                              "output folder")  # fmt: skip
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "job").write_text("7\n")
    result = mmmult_here(*run_args(small_build, tmp_path / "new", "--slurm", "--shards", "3", "--slurm-folder",
                                   str(tmp_path / "mine")))  # fmt: skip
    assert_user_error(result, f"the Slurm folder {tmp_path / 'mine'} is in use: give --slurm-folder a new or empty "
                              "folder")  # fmt: skip


def test_no_slurm_option_is_an_lm_eval_option() -> None:
    """`mmmult eval` takes them out of lm-eval's arguments: one that lm-eval also had would be lost to it."""
    from mmmult.harness.evaluate import lm_eval_run_help

    lm_eval_options = set(lm_eval_run_help().replace(",", " ").replace("=", " ").split())
    assert [option for option in OPTIONS if option in lm_eval_options] == []


def test_each_shard_s_script_asks_slurm_for_the_options_and_runs_its_shard(tmp_path: Path) -> None:
    options = SlurmOptions(4, partition="gpu", gpus_per_task=1, cpus_per_task=8, mem="32G", time="90",
                           account="lab", qos="high", sbatch=("--constraint=a100",), attempts=3)  # fmt: skip
    script = batch_script(tmp_path, ["--model", "hf", "--tasks", "mmmult_text", "--log_samples"], options)
    lines = script.splitlines()
    assert [line.removeprefix("#SBATCH ") for line in lines if line.startswith("#SBATCH")] == [
        "--job-name=mmmult-eval",
        "--ntasks=1",
        "--requeue",
        "--open-mode=append",
        f"--output={tmp_path}/logs/shard-%a.log",
        f"--chdir={Path.cwd()}",
        "--partition=gpu",
        "--gpus-per-task=1",
        "--cpus-per-task=8",
        "--mem=32G",
        "--time=90",
        "--account=lab",
        "--qos=high",
        "--constraint=a100",
    ]
    assert f"  if {sys.executable} -m mmmult.cli eval --model hf --tasks mmmult_text --log_samples --shard " \
           '"$I/4" --output_path "$RUNNING"; then' in lines  # fmt: skip
    assert "for RUN in $(seq 1 3); do" in lines


def test_an_unfinished_shard_is_named_with_its_log_and_nothing_is_merged(tmp_path: Path) -> None:
    array = SlurmArray("41", tmp_path / "run.slurm", 3, tmp_path / "out")
    for index in (0, 2):
        (array.shard_dir(index)).mkdir(parents=True)
    array.log(1).parent.mkdir()
    array.log(1).write_text("".join(f"line {i}\n" for i in range(20)) + "mmmult: shard 1/3 failed 2 time(s)\n")
    with pytest.raises(SlurmError) as raised:
        array.merge()
    tail = "".join(f"line {i}\n" for i in range(6, 20))
    assert str(raised.value) == (
        f"shard 1/3 of array job 41 did not finish; the end of {array.log(1)}:\n{tail}mmmult: shard 1/3 failed 2 "
        f"time(s)\nnothing was merged; rerun the shard(s) with `sbatch --array=1 {tmp_path}/run.slurm/shards.sbatch`, "
        f"then `mmmult merge {tmp_path}/run.slurm/shards/* --output_path {tmp_path}/out`"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--shards", "3"), "--shards, --partition and the other Slurm options go with --slurm"),
        (("--slurm",), "--slurm needs --shards N: the number of shards of the array"),
    ],
)
def test_the_worker_s_slurm_options_are_checked_before_it_takes_a_request(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    queue = LocalQueue(tmp_path / "queue")
    queued = queue.submit(EvalRequest("mmmult-reference", "mmmult-reference", ("text",)))
    assert_user_error(mmmult_here("worker", "--queue", str(queue.root), "--once", *args), message)
    assert queue.get(queued.id).status == "pending"


# The real cluster.


@pytest.fixture(scope="module")
def cluster() -> Iterator[slurm_cluster.Cluster]:
    why = slurm_cluster.missing()
    if why:
        pytest.skip(f"no one-node Slurm cluster here: {why}")
    running = slurm_cluster.Cluster()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", str(running.conf))
        try:
            yield running.start()
        finally:
            running.stop()


def wait_for(condition: Callable[[], object], seconds: float = 120) -> object:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def eval_process(folder: Path, index: int) -> int | None:
    """The process id of shard `index`'s `mmmult eval`, found by the output folder only it writes."""
    running = f"{folder}/shards/.{index}.running".encode()
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if running in command and b"mmmult.cli" in command:
            return int(proc.name)
    return None


def shard_state(cluster: slurm_cluster.Cluster, job: str, index: int) -> str:
    return cluster.run("squeue", "-h", "-j", f"{job}_{index}", "-o", "%T", check=False).stdout.strip()


def preempt(cluster: slurm_cluster.Cluster, folder: Path, index: int) -> None:
    """Requeue shard `index` mid-run, as a pre-emption does, and let it start again at once: Slurm holds a
    requeued job back two minutes (its begin time), a wait this cluster has no reason for."""
    job = wait_for(lambda: (folder / "job").is_file() and (folder / "job").read_text().strip())
    wait_for(lambda: eval_process(folder, index))
    cluster.run("scontrol", "requeue", f"{job}_{index}")
    wait_for(lambda: shard_state(cluster, job, index) == "PENDING")
    cluster.run("scontrol", "update", f"JobId={job}_{index}", "StartTime=now")


def kill_eval(folder: Path, index: int) -> None:
    """Kill shard `index`'s eval mid-run: its run fails, and the shard runs again in its allocation."""
    os.kill(wait_for(lambda: eval_process(folder, index)), signal.SIGKILL)


def same_run(merged: Path, whole: Path) -> None:
    """The merged run is the whole run, item for item, and says it was merged from SHARDS shards."""
    merged_results, merged_samples = outputs(merged)
    whole_results, whole_samples = outputs(whole)
    assert merged_samples == whole_samples
    for task in whole_samples:
        assert merged_results["results"][task] == whole_results["results"][task]
    assert merged_results["mmmult_shards"] == SHARDS


@pytest.fixture(scope="module")
def whole(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "run"
    result = mmmult(*run_args(small_build, out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_three_shards_on_slurm_merge_into_the_whole_run_though_one_is_preempted_and_one_fails(
    cluster: slurm_cluster.Cluster, small_build: Path, whole: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "array"
    command = [sys.executable, "-m", "mmmult.cli", *run_args(small_build, tmp_path / "merged", "--slurm", "--shards",
               str(SHARDS), "--slurm-folder", str(folder))]  # fmt: skip
    waiting = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    preempt(cluster, folder, 1)
    kill_eval(folder, 2)
    stdout, stderr = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, stderr[-3000:]
    job = (folder / "job").read_text().strip()
    (results,) = (tmp_path / "merged").rglob("results_*.json")
    assert stdout.splitlines() == [f"submitted Slurm array job {job}: 3 shards, logs in {folder}/logs",
                                   f"merged 3 shards into {results}"]  # fmt: skip
    same_run(tmp_path / "merged", whole)
    runs = {i: [line for line in array_log(folder, i) if ", run " in line] for i in range(SHARDS)}
    assert [len(runs[0]), len(runs[1]), len(runs[2])] == [1, 2, 2]
    assert "run 1 of 2 (requeued 1 times)" in runs[1][1]  # Slurm ran it again
    assert "run 2 of 2 (requeued 0 times)" in runs[2][1]  # the script ran it again


def array_log(folder: Path, index: int) -> list[str]:
    return (folder / "logs" / f"shard-{index}.log").read_text().splitlines()


@pytest.mark.slow
def test_a_shard_that_fails_every_run_is_named_and_nothing_is_merged(
    cluster: slurm_cluster.Cluster, small_build: Path, tmp_path: Path
) -> None:
    args = run_args(small_build, tmp_path / "merged", "--slurm", "--shards", "3", "--slurm-folder",
                    str(tmp_path / "array"), "--attempts", "1")  # fmt: skip
    args[args.index("heuristic=OT,step_error=0.02,seed=1")] = "heuristic=XX,step_error=0.02,seed=1"
    result = mmmult(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("mmmult: error: shard 0/3 of array job ")
    assert "mmmult: shard 0/3 failed 1 time(s)" in result.stderr
    assert lines[-1].startswith("nothing was merged; rerun the shard(s) with `sbatch --array=0,1,2 ")
    assert not (tmp_path / "merged").exists()


@pytest.mark.slow
def test_slurm_s_own_refusal_is_shown(cluster: slurm_cluster.Cluster, small_build: Path, tmp_path: Path) -> None:
    result = mmmult(*run_args(small_build, tmp_path / "merged", "--slurm", "--shards", "3", "--partition", "nosuch"))
    assert_user_error(result, "Slurm refused the array of 3 shards: sbatch: error: invalid partition specified: "
                              "nosuch")  # fmt: skip
    result = mmmult(*run_args(small_build, tmp_path / "merged", "--slurm", "--shards", "3", "--gpus-per-task", "1"))
    assert_user_error(result, "Slurm refused the array of 3 shards: sbatch: error: Invalid generic resource (gres) "
                              "specification")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_worker_hands_a_request_to_slurm_and_the_board_ingests_the_merged_run(
    cluster: slurm_cluster.Cluster, small_build: Path, tmp_path: Path, store: Store, reference: Benchmark
) -> None:
    request = EvalRequest("mmmult-reference", "mmmult-reference", ("text",))
    alone, sharded = LocalQueue(tmp_path / "alone"), LocalQueue(tmp_path / "sharded")
    queued = sharded.submit(request)
    alone.submit(request)
    folder = tmp_path / "arrays"
    worker = [sys.executable, "-m", "mmmult.cli", "worker", "--data", str(small_build), "--once"]
    running = subprocess.Popen([*worker, "--queue", str(sharded.root), "--slurm", "--shards", str(SHARDS),
                                "--slurm-folder", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    preempt(cluster, folder / queued.id / "attempt-1", 0)
    result = subprocess.run([*worker, "--queue", str(alone.root)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    stdout, stderr = running.communicate(timeout=600)
    assert running.returncode == 0, stderr[-3000:]
    assert "finished 1 request(s)" in stdout
    assert (sharded.get(queued.id).status, sharded.get(queued.id).attempts) == (DONE, 1)
    assert sharded.log_path(queued.id).read_text().startswith(f"{sharded.get(queued.id).worker}: submitted Slurm "
                                                              "array job ")  # fmt: skip
    same_run(sharded.results_dir(queued.id), alone.results_dir(queued.id))
    assert ingest_finished(sharded, store, reference) == [1]
    stored = store.submission(1)
    assert (stored["status"], stored["log"].splitlines()[0]) == (
        "evaluated",
        "re-scored: 4 task(s), 68 samples re-scored",
    )
    assert store.provenance(1).shards == SHARDS


def test_a_request_slurm_refuses_fails_with_slurm_s_message(
    small_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"
    monkeypatch.setenv("PATH", str(fake_sbatch(tmp_path / "bin", said, 1)))
    queue = LocalQueue(tmp_path / "queue")
    queued = queue.submit(EvalRequest("mmmult-reference", "mmmult-reference", ("text",)))
    result = mmmult_here("worker", "--queue", str(queue.root), "--data", str(small_build), "--once", "--slurm",
                         "--shards", "3", "--account", "nobody")  # fmt: skip
    assert result.returncode == 0, result.stderr
    failed = queue.get(queued.id)
    assert (failed.status, failed.reason.splitlines()[0]) == (
        "failed",
        f"mmmult eval of mmmult-reference stopped: Slurm refused the array of 3 shards: {said}",
    )
    assert not (tmp_path / "queue" / "results" / f"{queued.id}.slurm" / "attempt-1").exists()
