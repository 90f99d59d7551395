"""`mmmult eval ...`: lm-eval's own command line with our tasks and our reference model registered.

lm-eval's CLI only knows the models of its own package, so this imports its models, registers
`mmmult-reference`, adds `--include_path` for the mmmult tasks, and hands every other option to
lm-eval unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent.parent / "eval"
REFERENCE_MODEL = "mmmult-reference"


class EvalSetupError(RuntimeError):
    """The lm-eval tasks cannot be found; the message says where they are expected."""


def lm_eval_argv(args: Sequence[str]) -> list[str]:
    """The argument list for lm-eval: `run` (unless another subcommand is given) and our include path."""
    argv = list(args)
    if not argv or argv[0] not in ("run", "ls", "validate", "-h", "--help"):
        argv.insert(0, "run")
    if argv[0] in ("run", "ls", "validate") and "--include_path" not in argv:
        if not (TASKS_DIR / "mmmult").is_dir():
            raise EvalSetupError(
                f"the mmmult lm-eval tasks are not at {TASKS_DIR}: install mmmult from its repository "
                "(pip install -e .) or pass --include_path PATH/TO/eval"
            )
        argv += ["--include_path", str(TASKS_DIR)]
    if _option(argv, "--model") == REFERENCE_MODEL and "--model_args" not in argv:
        argv += ["--model_args", f"pretrained={REFERENCE_MODEL}"]  # names the output folder
    return argv


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


REPAIRED_MODELS = {"hf-audiolm-qwen": "dataset_builder.audio_lm:Qwen2AudioLM"}
"""lm-eval models that do not run as shipped (see audio_lm.py), mapped to their repaired classes."""


def repair_lm_eval_models() -> None:
    """Point lm-eval's registry at the repaired classes (lazily, as lm-eval registers its own)."""
    from lm_eval.api.registry import model_registry

    for alias, repaired in REPAIRED_MODELS.items():
        model_registry._objs[alias] = repaired


def run_lm_eval(args: Sequence[str]) -> None:
    """Run lm-eval's CLI with `args`, with the reference model registered."""
    argv = lm_eval_argv(args)
    import lm_eval.models  # noqa: F401  (registers lm-eval's own models first)

    repair_lm_eval_models()
    from lm_eval.__main__ import cli_evaluate

    from .reference import ReferenceCannotRead  # registers mmmult-reference

    sys.argv = ["lm-eval", *argv]
    try:
        cli_evaluate()
    except ReferenceCannotRead as error:
        raise EvalSetupError(str(error)) from None
