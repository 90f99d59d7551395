"""`mmmult eval ...`: lm-eval's own command line with our tasks and our reference model registered.

lm-eval's CLI only knows the models of its own package, so this imports its models, registers
`mmmult-reference` and the repaired classes, adds `--include_path` for the mmmult tasks, and
hands every other option to lm-eval unchanged.

The task folder is the repository's eval/mmmult, installed as the package
`mmmult.lm_eval_tasks` (pyproject.toml maps it), so it is found the same way from a
checkout, an editable install and a wheel.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from dataset_builder.settings import DATA_ENV, DEFAULT_DATA, setting
from dataset_builder.shards import Shard, ShardError, parse_shard
from dataset_builder.tasks import CASCADE_MODEL, REFERENCE_MODEL
from mmmult.harness import EvalSetupError, repaired

TASKS_PACKAGE = "mmmult.lm_eval_tasks"


def data_source(data: str | None = None) -> str:
    """Where the mmmult tasks read the build: `data` (task metadata: `--metadata '{"data": "..."}'`), else
    $MMMULT_DATA, else ./mmmult-data (the folder `./run build` writes); a build folder or a Hub repo id.
    A local path that is no folder is an EvalSetupError saying how to make one."""
    source = data or setting(DATA_ENV, DEFAULT_DATA)
    if not Path(source).is_dir() and (source.startswith((".", "/", "~")) or source.count("/") != 1):
        raise EvalSetupError(
            f"no mmmult dataset at {source!r}: build one with `mmmult build --out {source}`, or set "
            f"{DATA_ENV} (or --metadata '{{\"data\": ...}}') to a build folder or a Hub repo id USER/NAME"
        )
    return source


def tasks_dir() -> Path:
    """The folder of the mmmult task YAMLs, wherever the package is installed."""
    try:
        return Path(str(files(TASKS_PACKAGE)))
    except ModuleNotFoundError:
        raise EvalSetupError(
            "the mmmult lm-eval tasks are not installed with this copy of mmmult: reinstall it "
            "(pip install mmmult, or pip install -e . in a checkout) or pass --include_path PATH/TO/eval/mmmult"
        ) from None


def lm_eval_argv(args: Sequence[str]) -> list[str]:
    """The argument list for lm-eval: `run` (unless another subcommand is given) and our include path."""
    argv = list(args)
    if not argv or argv[0] not in ("run", "ls", "validate", "-h", "--help"):
        argv.insert(0, "run")
    if argv[0] in ("run", "ls", "validate") and "--include_path" not in argv:
        argv += ["--include_path", str(tasks_dir())]
    if _option(argv, "--model") == REFERENCE_MODEL and "--model_args" not in argv:
        argv += ["--model_args", f"pretrained={REFERENCE_MODEL}"]  # names the output folder
    return argv


def asked_tasks(argv: list[str]) -> set[str]:
    """The tasks and groups a `run` names with --tasks (none for lm-eval's other subcommands)."""
    if argv[0] != "run":
        return set()
    return {task.strip() for task in (_option(argv, "--tasks") or "").split(",") if task.strip()}


def mmmult_task_names() -> set[str]:
    """Every task and group of mmmult's task table."""
    from dataset_builder.tasks import GROUPS, MINI_GROUPS, MINI_TASKS, PROBE_GROUPS, PROBE_TASKS, TASKS

    return {*TASKS, *MINI_TASKS, *PROBE_TASKS, *(group.name for group in (*GROUPS, *MINI_GROUPS, *PROBE_GROUPS))}


def asks_only_for_mmmult_tasks(argv: list[str]) -> bool:
    """Whether a run names tasks and groups of mmmult's task table only."""
    asked = asked_tasks(argv)
    return bool(asked) and asked <= mmmult_task_names()


def index_only_included_tasks() -> None:
    """Make lm-eval index only the --include_path folders, not its own tasks: reading its ~14,000 task
    YAML files took 7 of the 11 seconds a run needs to start, and mmmult's tasks use none of them.
    (lm-eval's TaskManager has the switch, include_defaults; its command line does not.)"""
    import lm_eval.tasks

    class IncludedTasks(lm_eval.tasks.TaskManager):
        def __init__(self, *args: Any, include_defaults: bool = False, **kwargs: Any) -> None:  # noqa: ANN401
            super().__init__(*args, include_defaults=include_defaults, **kwargs)

    lm_eval.tasks.TaskManager = IncludedTasks


def check_data_first(argv: list[str]) -> None:
    """A run of mmmult tasks without a build stops here, before lm-eval loads and a model with it (minutes
    for a large one), with the message its tasks would give."""
    if not asked_tasks(argv) & mmmult_task_names():
        return
    try:
        metadata = json.loads(_option(argv, "--metadata") or "{}")
    except json.JSONDecodeError:
        return  # lm-eval names what is wrong with it
    data = metadata.get("data") if isinstance(metadata, dict) else None
    data_source(data if isinstance(data, str) else None)


SHARD_OPTION = "--shard"


def with_shard(argv: list[str]) -> list[str]:
    """`argv` with `--shard I/N` taken out and put in the tasks' metadata ("shard": "I/N"), where eval/mmmult's
    `load` keeps shard I's documents and the results file records it for `mmmult merge`, with the build's
    fingerprint when the data is a local build. A shard that cannot be is a ShardError here, before lm-eval starts."""
    text = _option(argv, SHARD_OPTION)
    if text is None:
        if SHARD_OPTION in argv:
            raise ShardError("--shard needs a value I/N: shard I (from 0) of N shards, e.g. --shard 0/4")
        return argv
    shard = parse_shard(text)
    if not asks_only_for_mmmult_tasks(argv):
        raise ShardError("--shard splits the documents of mmmult's tasks: name only mmmult tasks and groups in --tasks")
    if "--log_samples" not in argv or _option(argv, "--output_path") is None:
        raise ShardError(
            f"shard {shard} needs --log_samples --output_path DIR: `mmmult merge` joins the shards' samples"
        )
    rest = [a for i, a in enumerate(argv) if not _is_option(argv, i, SHARD_OPTION)]
    return _with_metadata(rest, _shard_metadata(_metadata(argv), shard))


def _is_option(argv: list[str], i: int, name: str) -> bool:
    """Whether argv[i] is the option `name` or its value."""
    return argv[i] == name or argv[i].startswith(name + "=") or (i > 0 and argv[i - 1] == name)


def _metadata(argv: list[str]) -> dict[str, Any]:
    try:
        metadata = json.loads(_option(argv, "--metadata") or "{}")
    except json.JSONDecodeError as error:
        raise EvalSetupError(
            f"--metadata is not JSON ({error}): give an object, --metadata '{{\"data\": ...}}'"
        ) from None
    if not isinstance(metadata, dict):
        raise EvalSetupError("--metadata must be a JSON object, --metadata '{\"data\": ...}'")
    return metadata


def _shard_metadata(metadata: dict[str, Any], shard: Shard) -> dict[str, Any]:
    from dataset_builder.dataset.pipeline import MANIFEST

    source = data_source(metadata.get("data") if isinstance(metadata.get("data"), str) else None)
    manifest = Path(source) / MANIFEST
    build = json.loads(manifest.read_text()).get("fingerprint") if manifest.is_file() else None
    return metadata | {"shard": str(shard)} | ({"build": build} if build else {})


def _with_metadata(argv: list[str], metadata: dict[str, Any]) -> list[str]:
    rest = [a for i, a in enumerate(argv) if not _is_option(argv, i, "--metadata")]
    return [*rest, "--metadata", json.dumps(metadata)]


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


REPAIRED_MODELS = {
    "hf": "mmmult.harness.loglikelihood:TextLM",
    "hf-audiolm-qwen": "mmmult.harness.audio_lm:Qwen2AudioLM",
    "hf-multimodal": "mmmult.harness.vision_lm:VisionLoglikelihoodLM",
    "local-chat-completions": "mmmult.harness.chat_audio:LocalAudioChat",
    "openai-chat-completions": "mmmult.harness.chat_audio:OpenAIAudioChat",
}
"""lm-eval models that mmmult repairs, and the classes that repair them: `hf` reports no token counts
(loglikelihood.py), `hf-audiolm-qwen` does not run as shipped (audio_lm.py), `hf-multimodal` cannot score
continuations after an image (vision_lm.py), the chat models drop audio (chat_audio.py). lm-eval's registry
keeps its aliases for its own classes, so each repaired class is registered under its own name (repaired()),
lazily, through the registry's public API, and `mmmult eval --model ALIAS` runs it."""


def register_repaired_models() -> None:
    """Register every repaired class under its name, to be imported when a run asks for it."""
    from lm_eval.api.registry import model_registry

    for alias, target in REPAIRED_MODELS.items():
        if repaired(alias) not in model_registry:
            model_registry.register(repaired(alias), target=target)


def register_mmmult_models() -> None:
    """Register mmmult's own lm-eval models (MMMULT_MODELS): importing their modules registers them."""
    from mmmult.harness import cascade, executor, reference  # noqa: F401


def with_repaired_model(argv: list[str]) -> list[str]:
    """`argv` with a repaired model's lm-eval name (--model hf) replaced by the repaired class's."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--model" and i + 1 < len(out) and out[i + 1] in REPAIRED_MODELS:
            out[i + 1] = repaired(out[i + 1])
        elif arg.startswith("--model=") and arg.split("=", 1)[1] in REPAIRED_MODELS:
            out[i] = f"--model={repaired(arg.split('=', 1)[1])}"
    return out


MMMULT_MODELS = {
    REFERENCE_MODEL: "reads the problem (text; tesseract for images; Whisper for audio) and multiplies exactly; "
    "a cost-model oracle for the heuristic probe",
    "mmmult-executor": "a simulated model: carries out one heuristic step by step (model_args heuristic=OT|DD|RC, "
    "step_error=p, seed=N) and slips at each operation with probability p; a known truth for the board",
    CASCADE_MODEL: "a cascade: the reference's reader (tesseract, Whisper), then a text model behind an "
    "OpenAI-compatible endpoint answers the typed problem (model_args model=NAME,base_url=URL/v1,chat=true|false,"
    "num_concurrent=N); perception tasks score the reader",
    "hf": "lm-eval's, reporting token counts to the probe's tasks (loss per token)",
    "hf-multimodal": "lm-eval's, repaired: also scores continuations after an image (the probe)",
    "hf-audiolm-qwen": "lm-eval's, repaired for transformers 5 and any device; scores continuations after a clip",
    "local-chat-completions": "lm-eval's, repaired: also sends the audio clip",
    "openai-chat-completions": "lm-eval's, repaired: also sends the audio clip",
}
"""The lm-eval models `mmmult eval` registers or repairs, for its help."""
HELP_WIDTH = 100


def eval_help() -> str:
    """`mmmult eval --help`: what mmmult adds (the data, its tasks and groups, its models), then lm-eval's run
    options under mmmult's name."""
    from dataset_builder.tasks import GROUPS, MINI_GROUPS, PROBE_GROUPS

    shown = (*GROUPS, *MINI_GROUPS, *PROBE_GROUPS)
    width = max(len(name) for name in [*MMMULT_MODELS, *(g.name for g in shown)]) + 2

    def entry(name: str, text: str) -> str:
        return textwrap.fill(text, HELP_WIDTH, initial_indent=f"  {name:<{width}}", subsequent_indent=" " * (width + 2))

    lines = [
        "usage: mmmult eval --model MODEL [--model_args ARGS] --tasks TASKS [options of lm-eval's run command, below]",
        "",
        "lm-eval's `run` with the mmmult tasks on the include path and mmmult's models registered; every lm-eval",
        "option below passes through (`mmmult eval ls tasks`, `mmmult eval validate` are lm-eval's too).",
        "",
        "the data:",
        f"  the tasks read the build at ${DATA_ENV}, else ./{DEFAULT_DATA} (`mmmult build` writes it); name another",
        """  per run with --metadata '{"data": "PATH_OR_USER/NAME"}' (a build folder or a Hub dataset repo)""",
        "",
        "shards:",
        "  --shard I/N            run shard I (0 to N-1) of N: every task's documents dealt by problem id, a balanced",
        "                         share of every C band each; with --log_samples --output_path; `mmmult merge` joins",
        "                         the N output folders into one run",
        "  --slurm --shards N     submit the N shards as one Slurm job array, wait, and merge them into --output_path",
        "                         (--partition, --gpus-per-task, --time, --mem, --no-wait and more: README, On a Slurm",
        "                         cluster)",
        "",
        "task groups (each task is one config; mmmult_mini_* run on the mini split, 150 test problems, 30 per C",
        "band; see eval/mmmult/README.md):",
        *(entry(g.name, ", ".join(g.members)) for g in shown),
        "",
        "models mmmult registers or repairs (besides all of lm-eval's):",
        *(entry(name, text) for name, text in MMMULT_MODELS.items()),
        "",
        "example:",
        "  mmmult eval --model hf --model_args pretrained=Qwen/Qwen2.5-7B-Instruct --tasks mmmult_text "
        "--apply_chat_template --log_samples --output_path results",
        "",
        "lm-eval's options:",
    ]
    return "\n".join(lines) + "\n" + lm_eval_run_help()


def lm_eval_run_help() -> str:
    """lm-eval's own help of `run`, with its command written as mmmult's."""
    from lm_eval.__main__ import cli_evaluate

    shown, argv = io.StringIO(), sys.argv
    sys.argv = ["lm-eval", "run", "--help"]
    try:
        with contextlib.redirect_stdout(shown), contextlib.suppress(SystemExit):
            cli_evaluate()
    finally:
        sys.argv = argv
    return shown.getvalue().replace("lm-eval run", "mmmult eval").replace("lm-eval ls", "mmmult eval ls")


def asks_for_help(argv: list[str]) -> bool:
    """Whether `mmmult eval` asks for its help (of `run`, which it runs unless told otherwise)."""
    return argv[0] in ("run", "-h", "--help") and bool({"-h", "--help"} & set(argv))


def quiet_git_hash() -> None:
    """lm-eval records the working directory's git commit in its results by running git, whose "fatal: not a git
    repository" then reaches the terminal of everyone who runs outside a checkout: run it with stderr closed."""
    import lm_eval.evaluator

    recorded = lm_eval.evaluator.get_git_commit_hash

    def quietly() -> str | None:
        sys.stderr.flush()
        saved = os.dup(2)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                return recorded()
            finally:
                os.dup2(saved, 2)
                os.close(saved)

    lm_eval.evaluator.get_git_commit_hash = quietly


def run_lm_eval(args: Sequence[str]) -> None:
    """Run lm-eval's CLI with `args`, with the reference model registered."""
    argv = lm_eval_argv(args)
    if asks_for_help(argv):
        print(eval_help(), end="")
        return
    argv = with_shard(argv)
    check_data_first(argv)
    if asks_only_for_mmmult_tasks(argv):
        index_only_included_tasks()
    import lm_eval.models  # noqa: F401  (registers lm-eval's own models first)

    register_repaired_models()
    from lm_eval.__main__ import cli_evaluate

    register_mmmult_models()
    from mmmult.harness.reference import ReferenceCannotRead

    quiet_git_hash()
    sys.argv = ["lm-eval", *with_repaired_model(argv)]
    try:
        cli_evaluate()
    except ReferenceCannotRead as error:
        raise EvalSetupError(str(error)) from None
