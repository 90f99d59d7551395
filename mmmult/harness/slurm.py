"""`mmmult eval ... --slurm --shards N`: a run's N shards (`--shard I/N`) as one Slurm job array, merged when done.

The array is submitted with `sbatch` (Slurm's own command, on PATH wherever Slurm jobs are submitted): one batch
script, written into the Slurm folder, runs `mmmult eval ... --shard $SLURM_ARRAY_TASK_ID/N` with this Python
and this working directory, so the folder, the virtual environment and the build must be on a filesystem that
the cluster's nodes share. The Slurm folder holds

    shards.sbatch          the batch script (`sbatch --array=I FOLDER/shards.sbatch` reruns shard I by hand)
    job                    the array's job id
    logs/shard-I.log       each shard's log, every run of it appended
    shards/I/              shard I's lm-eval output, renamed there once its run succeeded (shards/.I.running before)

and `mmmult merge FOLDER/shards/* --output_path OUT` joins the shards (harness/merge.py), which is what waiting does.

A shard is run again when it does not finish: Slurm requeues a shard that is pre-empted, or whose node fails, or
that `scontrol requeue` sends back (the script is submitted with --requeue and starts afresh); a shard whose
`mmmult eval` fails is run again in its allocation, up to --attempts runs. A shard already done is not run again.

Why sbatch rather than a Python library such as submitit: the shard is already a command line, so a batch script
is the natural unit and one a user can read and resubmit; waiting asks squeue, which every Slurm answers, where
submitit reads job states from sacct, which needs Slurm's accounting database (a cluster without one, as the
one-node cluster of tests/slurm_cluster.py, leaves a job that died without a result waiting forever); and
submitit requeues on time-outs and pre-emption only, so the retry of a failed run would have been ours anyway.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dataset_builder.errors import UserError
from dataset_builder.shards import MAX_SHARDS

SCRIPT, JOB_FILE, LOGS, SHARDS = "shards.sbatch", "job", "logs", "shards"
POLL_SECONDS = 5.0
"""How often a waiting run asks squeue whether the array is still there."""
SQUEUE_FAILURES = 12
"""squeue errors in a row (a minute at POLL_SECONDS) after which waiting gives up: the controller is gone."""
LOG_LINES = 15
DEFAULT_ATTEMPTS = 2
GIVEN_WITH_SLURM = ("shards", "partition", "gpus_per_task", "cpus_per_task", "mem", "time", "account", "qos", "sbatch",
                    "slurm_folder", "attempts")  # fmt: skip
"""The Slurm options' destinations, which are None (or []) unless given."""
SLURM_VALUE = re.compile(r"[^\s'\"\\#]+")
"""What a value of an #SBATCH line may be: a partition, a memory size, a time; no space, quote or newline."""


class SlurmError(UserError):
    """Slurm is not there, refused the array, or a shard did not finish; the message says which and why."""


@dataclass(frozen=True)
class SlurmOptions:
    """How the shards run on Slurm: sbatch's options for each shard, where the array's files go, and retries."""

    shards: int
    partition: str | None = None
    gpus_per_task: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    time: str | None = None
    account: str | None = None
    qos: str | None = None
    sbatch: tuple[str, ...] = ()
    """More sbatch options as they are written (--sbatch=--constraint=a100)."""
    folder: Path | None = None
    """The Slurm folder; None: beside the output folder (OUT.slurm)."""
    attempts: int = DEFAULT_ATTEMPTS
    """Runs of a shard whose eval fails, in one allocation."""
    wait: bool = True

    def directives(self) -> list[str]:
        """The #SBATCH options of each shard."""
        named = {
            "partition": self.partition,
            "gpus-per-task": self.gpus_per_task,
            "cpus-per-task": self.cpus_per_task,
            "mem": self.mem,
            "time": self.time,
            "account": self.account,
            "qos": self.qos,
        }
        return [f"--{name}={value}" for name, value in named.items() if value is not None] + list(self.sbatch)


OPTIONS = (
    "--slurm", "--shards", "--partition", "--gpus-per-task", "--cpus-per-task", "--mem", "--time", "--account",
    "--qos", "--sbatch", "--slurm-folder", "--attempts", "--no-wait",
)  # fmt: skip
"""The options `mmmult eval` takes out of its arguments for Slurm: none of them is an lm-eval option."""


def shard_count(text: str) -> int:
    """`--shards N`: from 1 to MAX_SHARDS."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of shards: {text!r}") from None
    if not 1 <= count <= MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"the number of shards N must be from 1 to {MAX_SHARDS:,}, got {count}")
    return count


def count_of(what: str) -> Callable[[str], int]:
    """An argparse type: a whole number of `what`, at least 1."""

    def at_least_one(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number of {what}: {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
        return value

    return at_least_one


def slurm_value(text: str) -> str:
    if not SLURM_VALUE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r}: one word, without spaces, quotes or #")
    return text


def add_slurm_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, required: bool = False) -> None:
    """The Slurm options of `mmmult eval --slurm` and `mmmult worker --slurm`."""
    parser.add_argument("--slurm", action="store_true", help="run the shards as one Slurm job array (sbatch)")
    parser.add_argument("--shards", type=shard_count, metavar="N", required=required, help="how many shards")
    parser.add_argument("--partition", type=slurm_value, help="Slurm partition of each shard")
    parser.add_argument("--gpus-per-task", type=count_of("GPUs"), metavar="G", help="GPUs of each shard")
    parser.add_argument("--cpus-per-task", type=count_of("CPUs"), metavar="C", help="CPUs of each shard")
    parser.add_argument("--mem", type=slurm_value, help="memory of each shard, as sbatch takes it (32G)")
    parser.add_argument("--time", type=slurm_value, help="time limit of each shard: minutes, or H:MM:SS, D-HH:MM")
    parser.add_argument("--account", type=slurm_value, help="Slurm account to charge")
    parser.add_argument("--qos", type=slurm_value, help="Slurm quality of service")
    parser.add_argument(
        "--sbatch",
        type=slurm_value,
        action="append",
        default=[],
        metavar="OPTION",
        help="any other sbatch option, one word: --sbatch=--constraint=a100 (repeat for more)",
    )
    parser.add_argument(
        "--slurm-folder",
        type=Path,
        metavar="DIR",
        help="the array's script, logs and shards, on a filesystem the nodes share (default: beside "
        "the output folder, OUT.slurm)",
    )
    parser.add_argument(
        "--attempts",
        type=count_of("attempts"),
        metavar="K",
        help=f"runs of a shard whose eval fails, in its allocation (default {DEFAULT_ATTEMPTS})",
    )


def options_of(args: argparse.Namespace, *, wait: bool = True) -> SlurmOptions | None:
    """The SlurmOptions of parsed arguments (add_slurm_options); None without --slurm. Refused: Slurm options
    without --slurm, and --slurm without --shards."""
    if not args.slurm:
        if any(getattr(args, name) not in (None, []) for name in GIVEN_WITH_SLURM) or not wait:
            raise SlurmError("--shards, --partition and the other Slurm options go with --slurm")
        return None
    if args.shards is None:
        raise SlurmError("--slurm needs --shards N: the number of shards of the array")
    return SlurmOptions(
        args.shards, args.partition, args.gpus_per_task, args.cpus_per_task, args.mem, args.time, args.account,
        args.qos, tuple(args.sbatch or ()), args.slurm_folder, args.attempts or DEFAULT_ATTEMPTS, wait,
    )  # fmt: skip


def wants_slurm(argv: Sequence[str]) -> bool:
    """Whether `mmmult eval`'s arguments name any Slurm option (then they must name --slurm)."""
    return any(arg.split("=", 1)[0] in OPTIONS for arg in argv)


class _Refusing(argparse.ArgumentParser):
    """argparse that raises a SlurmError instead of exiting: `mmmult eval`'s errors are exit 2 without usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise SlurmError(f"--slurm: {message}")


def split_eval_argv(argv: Sequence[str]) -> tuple[SlurmOptions, list[str]]:
    """`mmmult eval`'s arguments as the Slurm options and the arguments of each shard's eval."""
    parser = _Refusing(prog="mmmult eval", allow_abbrev=False, add_help=False)
    add_slurm_options(parser)
    parser.add_argument("--no-wait", action="store_true")
    args, rest = parser.parse_known_args(list(argv))
    options = options_of(args, wait=not args.no_wait)
    if options is None:
        raise SlurmError("--shards, --partition and the other Slurm options go with --slurm")
    if "--shard" in rest or any(a.startswith("--shard=") for a in rest):
        raise SlurmError("--slurm runs every shard of the array: leave --shard I/N out")
    return options, rest


@dataclass(frozen=True)
class SlurmArray:
    """A submitted array of the shards of one run, its files in `folder`, merged into `out`."""

    job: str
    folder: Path
    shards: int
    out: Path

    def shard_dir(self, index: int) -> Path:
        return self.folder / SHARDS / str(index)

    def log(self, index: int) -> Path:
        return self.folder / LOGS / f"shard-{index}.log"

    def merge_command(self) -> str:
        return f"mmmult merge {shlex.quote(str(self.folder / SHARDS))}/* --output_path {shlex.quote(str(self.out))}"

    def running(self) -> bool:
        """Whether Slurm still holds a shard of the array pending, running or requeued (one squeue)."""
        result = _slurm("squeue", "--noheader", "--jobs", self.job, "--format", "%i")
        if result.returncode != 0:
            if "invalid job id" in result.stderr.lower():
                return False  # ended long enough ago that the controller forgot it
            raise SlurmError(f"squeue cannot say how array job {self.job} stands: {_said(result)}")
        return bool(result.stdout.strip())

    def wait(self, poll: float = POLL_SECONDS, go_on: Callable[[], bool] = lambda: True) -> bool:
        """Wait until no shard is pending or running (True), or until `go_on`, asked between looks, says to stop
        (False). squeue failing SQUEUE_FAILURES times in a row is an error; fewer are a controller's blips."""
        failures = 0
        while True:
            try:
                if not self.running():
                    return True
                failures = 0
            except SlurmError:
                failures += 1
                if failures >= SQUEUE_FAILURES:
                    raise
            if not go_on():
                return False
            time.sleep(poll)

    def cancel(self) -> None:
        _slurm("scancel", self.job)

    def unfinished(self) -> list[int]:
        return [i for i in range(self.shards) if not self.shard_dir(i).is_dir()]

    def merge(self) -> Path:
        """Merge the shards into `out` once all are done; a SlurmError naming each unfinished shard otherwise."""
        unfinished = self.unfinished()
        if unfinished:
            raise SlurmError("\n".join([*map(self._why_unfinished, unfinished), self._rerun(unfinished)]))
        from mmmult.harness.merge import merge

        return merge([self.shard_dir(i) for i in range(self.shards)], self.out)

    def _why_unfinished(self, index: int) -> str:
        log = self.log(index)
        if not log.is_file():
            return f"shard {index}/{self.shards} of array job {self.job} did not run (no log {log})"
        with log.open(errors="replace") as handle:
            tail = "".join(deque(handle, maxlen=LOG_LINES)).rstrip()
        return f"shard {index}/{self.shards} of array job {self.job} did not finish; the end of {log}:\n{tail}"

    def _rerun(self, unfinished: list[int]) -> str:
        indices = ",".join(map(str, unfinished))
        return (
            f"nothing was merged; rerun the shard(s) with `sbatch --array={indices} {self.folder / SCRIPT}`, then "
            f"`{self.merge_command()}`"
        )


def submit(argv: Sequence[str], options: SlurmOptions) -> SlurmArray:
    """Check the run's arguments as one shard's, write the batch script and submit the array; returns it.
    Refused before anything is written: arguments a shard cannot run with, an output or Slurm folder in use;
    refused by Slurm (its message shown): nothing is left of the Slurm folder."""
    argv = list(argv)
    out = _output_path(argv)
    folder = (options.folder or out.with_name(out.name + ".slurm")).resolve()
    _check_run(argv, options.shards)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SlurmError(f"{out} exists and is not an empty folder: the merged run needs a new output folder")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise SlurmError(f"the Slurm folder {folder} is in use: give --slurm-folder a new or empty folder")
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise SlurmError(
            "Slurm is not there: no sbatch on PATH; run --slurm where Slurm jobs are submitted (a login node), or "
            "run the shards another way (README: Shards)"
        )
    shard_argv = [a for i, a in enumerate(argv) if not _is_output_path(argv, i)]
    created = not folder.exists()
    (folder / LOGS).mkdir(parents=True, exist_ok=True)
    (folder / SHARDS).mkdir(exist_ok=True)
    (folder / SCRIPT).write_text(batch_script(folder, shard_argv, options))
    result = subprocess.run([sbatch, "--parsable", f"--array=0-{options.shards - 1}", str(folder / SCRIPT)],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    job = result.stdout.strip().split(";")[0]
    if result.returncode != 0 or not job.isdigit():
        _remove(folder, created)
        raise SlurmError(f"Slurm refused the array of {options.shards} shards: {_said(result)}")
    (folder / JOB_FILE).write_text(job + "\n")
    return SlurmArray(job, folder, options.shards, out)


def _remove(folder: Path, created: bool) -> None:
    """What submit wrote: the folder it made, or its contents in a folder that was there (empty) before."""
    for path in [folder] if created else list(folder.iterdir()):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _check_run(argv: list[str], shards: int) -> None:
    """The run's arguments as shard 0's would be checked by `mmmult eval --shard`, and its build found: a run that
    cannot start is refused here, not in N logs on the cluster."""
    from mmmult.harness.evaluate import check_data_first, lm_eval_argv, with_shard

    check_data_first(with_shard([*lm_eval_argv(argv), "--shard", f"0/{shards}"]))


def _output_path(argv: list[str]) -> Path:
    values = [argv[i + 1] for i in range(len(argv) - 1) if argv[i] == "--output_path"]
    values += [a.split("=", 1)[1] for a in argv if a.startswith("--output_path=")]
    if len(values) != 1 or "--log_samples" not in argv:
        raise SlurmError("--slurm needs --log_samples --output_path DIR: the shards' samples are merged into DIR")
    return Path(values[0]).absolute()


def _is_output_path(argv: list[str], i: int) -> bool:
    """Whether argv[i] is --output_path or its value."""
    name = "--output_path"
    return argv[i] == name or argv[i].startswith(name + "=") or (i > 0 and argv[i - 1] == name)


def batch_script(folder: Path, argv: Sequence[str], options: SlurmOptions) -> str:
    """The batch script of every shard: its #SBATCH options, then its runs of `mmmult eval --shard I/N`."""
    eval_command = shlex.join([sys.executable, "-m", "mmmult.cli", "eval", *argv])
    count, attempts = options.shards, options.attempts
    quoted = shlex.quote(str(folder))
    directives = [
        "--job-name=mmmult-eval",
        "--ntasks=1",
        "--requeue",
        "--open-mode=append",
        f"--output={folder / LOGS}/shard-%a.log",
        f"--chdir={Path.cwd()}",
        *options.directives(),
    ]
    return "\n".join([
        "#!/bin/bash",
        f"# One shard of {count} of `mmmult eval`, written by `mmmult eval --slurm`; `sbatch --array=0-{count - 1}` "
        "runs them all.",
        *(f"#SBATCH {directive}" for directive in directives),
        "set -u",
        "I=$SLURM_ARRAY_TASK_ID",
        f"DONE={quoted}/{SHARDS}/$I",
        f"RUNNING={quoted}/{SHARDS}/.$I.running",
        'if [ -d "$DONE" ]; then echo "mmmult: shard $I/' + str(count) + ' is done already"; exit 0; fi',
        f"for RUN in $(seq 1 {attempts}); do",
        f'  echo "mmmult: shard $I/{count}, run $RUN of {attempts} (requeued ${{SLURM_RESTART_COUNT:-0}} times), '
        'on $(hostname) at $(date -Is)"',
        '  rm -rf "$RUNNING"',
        f'  if {eval_command} --shard "$I/{count}" --output_path "$RUNNING"; then',
        '    mv "$RUNNING" "$DONE"',
        f'    echo "mmmult: shard $I/{count} done"',
        "    exit 0",
        "  fi",
        "done",
        f'echo "mmmult: shard $I/{count} failed {attempts} time(s)"',
        "exit 1",
        "",
    ])  # fmt: skip


def _slurm(*command: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise SlurmError(f"Slurm is not there: no {command[0]} on PATH") from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{command[0]} did not answer in 60 s: is Slurm's controller up?") from None


def _said(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}")[-2000:]


def run_eval_on_slurm(argv: Sequence[str]) -> int:
    """`mmmult eval ... --slurm --shards N`: submit, then wait and merge, or print how to merge later."""
    options, rest = split_eval_argv(argv)
    array = submit(rest, options)
    print(f"submitted Slurm array job {array.job}: {array.shards} shards, logs in {array.folder / LOGS}", flush=True)
    if not options.wait:
        print(f"when squeue -j {array.job} lists nothing, merge the shards:\n  {array.merge_command()}")
        return 0
    try:
        array.wait()
    except KeyboardInterrupt:
        print(f"mmmult: stopped waiting; array job {array.job} goes on (scancel {array.job} ends it); when it is "
              f"done: {array.merge_command()}", file=sys.stderr)  # fmt: skip
        return 130
    print(f"merged {array.shards} shards into {array.merge()}")
    return 0
