"""A run's provenance: what lm-eval's results file says about how the run was made, and whether its generation
settings are the ones its tasks declare.

lm-eval (0.4.x) writes beside the scores: the harness's version and commit (lm_eval_version, git_hash,
upper_git_hash), the model (config.model, config.model_args, model_name, config.model_revision, model_sha,
model_dtype), each task's version, hash (task_hashes), few-shot count (n-shot) and full config with its
generation_kwargs (after --gen_kwargs overrides), the chat template and system instruction with their
hashes, the date and library versions (transformers_version, pretty_env_info); `mmmult merge` adds the number of
shards a run was evaluated in (mmmult_shards). `read_provenance` reads
those parts, each with a declared type and bound (a wrong type or an absurd size refuses the upload, naming
the field), after every secret has been scrubbed from the file (scrub.py): nothing here can hold one.

Conformance: a multiplication task declares greedy decoding and its budget (dataset_builder.tasks:
WORKED_BUDGET, direct_budget()), every task zero-shot. A run whose settings differ is labelled
"settings differ: ..." and left out of the board's default ranking; one whose file does not say is
labelled "settings unknown" (and ranked: lm-eval output from before the board read settings says nothing).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from dataset_builder.shards import MAX_SHARDS
from dataset_builder.tasks import (
    CASCADE_MODEL,
    DIRECT,
    EXTENDED_TASKS,
    MINI_TASKS,
    MULTIPLY,
    PROBE_TASKS,
    TASKS,
    WORKED_BUDGET,
    Task,
    cascade_label,
    direct_budget,
)
from mmmult.leaderboard.intake.schema import MAX_NAME_CHARS, TaskConfig, validate
from mmmult.leaderboard.intake.scrub import scrub

AS_DECLARED = "as declared"
UNKNOWN = "settings unknown"
DIFFER = "settings differ"
"""The three settings labels: a differing run's label starts with DIFFER and says how (`settings differ:
max_gen_toks 256, task 4096`)."""
MAX_BUDGET = 1_000_000
"""The most tokens a generation setting may name: far beyond any model's context."""
MAX_TEMPLATE_CHARS = 100_000
MAX_INSTRUCTION_CHARS = 20_000
MAX_ENV_CHARS = 200_000
MAX_ARGS = 64
BUDGET_KEYS = ("max_gen_toks", "max_tokens", "max_completion_tokens", "max_new_tokens")
"""Generation settings that bound the response's length (lm-eval's own, and the names API models take)."""
REASONING = re.compile(r"reason|think|effort|budget|max_completion_tokens|verbosity", re.IGNORECASE)
"""Settings of reasoning models (reasoning_effort, thinking budgets, enable_thinking, max_completion_tokens)."""
GENERATING = "generate_until"

Short = Annotated[StrictStr, Field(max_length=MAX_NAME_CHARS)]
Hash = Annotated[StrictStr, Field(max_length=128)]
Scalar = StrictBool | StrictInt | StrictFloat | Short | None
Value = Scalar | Annotated[dict[Short, Scalar], Field(max_length=16)] | Annotated[list[Scalar], Field(max_length=32)]
"""A model or generation argument: a scalar, or a small record or list of them (thinking={"type": ...})."""
MAX_ARGS_TEXT = 4000


def _as_mapping(value: object) -> object:
    """model_args or gen_kwargs as lm-eval writes them, a dict or the "k=v,k=v" text as typed, as a dict."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_ARGS_TEXT:
        raise ValueError(f"text of {len(value):,} characters (at most {MAX_ARGS_TEXT:,})")
    pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
    return {pair[0].strip(): pair[1].strip() if len(pair) > 1 else None for pair in pairs}


Arguments = Annotated[dict[Short, Value], Field(max_length=MAX_ARGS), BeforeValidator(_as_mapping)]
"""Arguments of the model or of generation, by name."""
Budget = Annotated[StrictInt, Field(ge=0, le=MAX_BUDGET)]
Stops = Annotated[list[Short], Field(max_length=32), BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]
"""Stop sequences: a list, or one text (lm-eval takes both)."""
Shots = Annotated[StrictInt, Field(ge=0, le=10_000)]


class Generation(BaseModel):
    """A task's generation_kwargs: the settings the board compares, and any others (typed and bounded)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Value] = Field(init=False)
    max_gen_toks: Budget | None = None
    temperature: Annotated[StrictFloat, Field(ge=0, le=100)] | None = None
    do_sample: StrictBool | None = None
    until: Stops | None = None


class TaskSettingsRecord(TaskConfig):
    """lm-eval's record of one task (schema.TaskConfig, which the intake checks against the task table), with the
    settings provenance reads."""

    output_type: Short | None = None
    num_fewshot: Shots | None = None
    generation_kwargs: Generation | None = None


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: Short | None = None
    model_args: Arguments | None = None
    model_revision: Short | None = None
    model_sha: Short | None = None
    model_dtype: Short | None = None
    gen_kwargs: Arguments | None = None


class RawRun(BaseModel):
    """The parts of results.json that say how the run was made."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    config: RunConfig | None = None
    configs: Annotated[dict[Short, TaskSettingsRecord], Field(max_length=256)] | None = None
    versions: Annotated[dict[Short, StrictFloat | StrictInt | Short], Field(max_length=256)] = {}
    n_shot: Annotated[dict[Short, Shots | None], Field(max_length=256)] = Field(default={}, alias="n-shot")
    task_hashes: Annotated[dict[Short, Hash], Field(max_length=256)] = {}
    git_hash: Short | None = None
    upper_git_hash: Short | None = None
    date: Annotated[StrictFloat, Field(ge=0, le=1e11)] | None = None
    lm_eval_version: Short | None = None
    transformers_version: Short | None = None
    pretty_env_info: Annotated[StrictStr, Field(max_length=MAX_ENV_CHARS)] | None = None
    model_name: Short | None = None
    chat_template: Annotated[StrictStr, Field(max_length=MAX_TEMPLATE_CHARS)] | None = None
    chat_template_sha: Hash | None = None
    system_instruction: Annotated[StrictStr, Field(max_length=MAX_INSTRUCTION_CHARS)] | None = None
    system_instruction_sha: Hash | None = None
    fewshot_as_multiturn: StrictBool | None = None
    mmmult_shards: Annotated[StrictInt, Field(ge=1, le=MAX_SHARDS)] | None = None
    harness: Short | None = None
    harness_version: Short | None = None


class TaskSettings(BaseModel):
    """One task of the run: its version and hash, and the settings it was generated with."""

    model_config = ConfigDict(frozen=True)
    version: str | None = None
    hash: str | None = None
    num_fewshot: int | None = None
    max_gen_toks: int | None = None
    temperature: float | None = None
    do_sample: bool | None = None
    until: tuple[str, ...] | None = None
    settings: str = UNKNOWN
    """AS_DECLARED, UNKNOWN, or "settings differ: " and how."""


class Provenance(BaseModel):
    """How a run was made, as its results file says (secrets scrubbed); what the store keeps and the page shows."""

    model_config = ConfigDict(frozen=True)
    harness_name: str = "lm-eval"
    """The harness that made the run: lm-eval, or another whose log the intake read as lm-eval's files
    (inspect-ai: inspect_log.py), which names itself and its version in them (harness, harness_version)."""
    harness_version: str | None = None
    lm_eval_version: str | None = None
    git_hash: str | None = None
    upper_git_hash: str | None = None
    model_type: str | None = None
    """lm-eval's model class (hf, vllm, openai-chat-completions, mmmult-hf...)."""
    model_name: str | None = None
    revision: str | None = None
    model_sha: str | None = None
    dtype: str | None = None
    model_args: dict[str, str | int | float | bool | None] = {}
    reasoning: dict[str, str | int | float | bool | None] = {}
    """Reasoning settings from model_args and the generation settings (reasoning_effort, thinking budgets)."""
    chat_template_applied: bool | None = None
    chat_template_sha: str | None = None
    system_instruction: str | None = None
    system_instruction_sha: str | None = None
    fewshot_as_multiturn: bool | None = None
    date: float | None = None
    transformers_version: str | None = None
    torch_version: str | None = None
    shards: int | None = None
    """How many shards the run was evaluated in (`mmmult merge` joined them); None for a run made whole."""
    tasks: dict[str, TaskSettings] = {}
    settings: str = UNKNOWN
    """The run's label: "settings differ: ..." where any task differs, else UNKNOWN where any task's settings are
    not stated, else AS_DECLARED."""

    @property
    def differs(self) -> bool:
        """Whether the default ranking leaves the run out."""
        return differs(self.settings)

    @property
    def harness(self) -> str | None:
        """The harness, its version and commit as one text ("lm-eval 0.4.13 (ad3cfc2)", "inspect-ai 0.3.285");
        None where the file names no version."""
        version = self.harness_version or self.lm_eval_version
        if version is None:
            return None
        return f"{self.harness_name} {version}" + (f" ({self.git_hash})" if self.git_hash else "")

    @property
    def system(self) -> str | None:
        """A cascade's label naming its readers and its text model ("cascade: tesseract + qwen2.5-coder-0.5b");
        None for any other model."""
        if self.model_type != CASCADE_MODEL:
            return None
        known = TASKS | MINI_TASKS | EXTENDED_TASKS
        modalities = [known[name].modality for name in self.tasks if name in known]
        text_model = self.model_args.get("model") or self.model_name or "an unnamed text model"
        return cascade_label(str(text_model), modalities)

    @property
    def budgets(self) -> str:
        """The distinct max_gen_toks of the run's tasks ("4096", "52, 4096"; empty where none is stated)."""
        return ", ".join(str(b) for b in sorted({t.max_gen_toks for t in self.tasks.values()} - {None}))

    @property
    def date_text(self) -> str | None:
        return None if self.date is None else datetime.fromtimestamp(self.date, UTC).strftime("%Y-%m-%d %H:%M UTC")


def differs(settings: str | None) -> bool:
    """Whether a settings label says the run differs from its tasks (None: a run stored before labels)."""
    return isinstance(settings, str) and settings.startswith(DIFFER)


def settings_line(settings: str) -> str:
    """The submission log's line about its settings label."""
    if differs(settings):
        return f"{settings}: left out of the default ranking (shown with 'Include runs whose settings differ')"
    if settings == UNKNOWN:
        return f"{UNKNOWN}: results.json does not state every task's generation settings"
    return "settings as declared: greedy decoding, the tasks' budgets, zero-shot"


def read_provenance(raw: Any, where: str) -> Provenance:  # noqa: ANN401 (the parsed results.json)
    """The provenance of a run from its parsed results.json, secrets scrubbed; SchemaError names a wrong field."""
    run: RawRun = validate(RawRun, scrub(raw), where)
    config = run.config or RunConfig()
    args = _flat(config.model_args or {})
    gen = _flat(config.gen_kwargs or {})
    reported = list(raw.get("results") or {}) if isinstance(raw, dict) else []
    tasks = {name: _task(name, run) for name in dict.fromkeys([*reported, *(run.configs or {})]) if _known(name)}
    task_gen = {k: v for t in (run.configs or {}).values() if t.generation_kwargs for k, v in
                _flat(t.generation_kwargs.model_extra or {}).items()}  # fmt: skip
    return Provenance(
        harness_name=run.harness or "lm-eval",
        harness_version=run.harness_version or run.lm_eval_version,
        lm_eval_version=run.lm_eval_version,
        git_hash=run.git_hash,
        upper_git_hash=run.upper_git_hash,
        model_type=config.model,
        model_name=run.model_name or _text(args.get("pretrained") or args.get("model")),
        revision=_text(args.get("revision")) or config.model_revision,
        model_sha=config.model_sha or None,
        dtype=_text(args.get("dtype")) or config.model_dtype,
        model_args=args,
        reasoning={k: v for k, v in {**args, **task_gen, **gen}.items() if REASONING.search(k)},
        chat_template_applied=None if "chat_template" not in raw else run.chat_template is not None,
        chat_template_sha=run.chat_template_sha,
        system_instruction=run.system_instruction,
        system_instruction_sha=run.system_instruction_sha,
        fewshot_as_multiturn=run.fewshot_as_multiturn,
        date=run.date,
        transformers_version=run.transformers_version,
        torch_version=_torch_version(run.pretty_env_info or ""),
        shards=run.mmmult_shards,
        tasks=tasks,
        settings=_run_label(tasks),
    )


def _known(name: str) -> bool:
    return name in TASKS or name in PROBE_TASKS or name in MINI_TASKS


def declared_budget(task: Task) -> int | None:
    """The max_gen_toks a task declares: the worked or direct budget of a multiplication task; None for the others
    (their budgets are not compared)."""
    if task.kind is not MULTIPLY:
        return None
    return direct_budget() if task.regime == DIRECT else WORKED_BUDGET


def _task(name: str, run: RawRun) -> TaskSettings:
    task = TASKS.get(name) or PROBE_TASKS.get(name) or MINI_TASKS[name]
    config = (run.configs or {}).get(name)
    gen = config.generation_kwargs if config else None
    shots = run.n_shot.get(name, config.num_fewshot if config else None)
    until = None if gen is None else gen.until
    version = run.versions.get(name)
    settings = TaskSettings(
        version=None if version is None else str(version),
        hash=run.task_hashes.get(name),
        num_fewshot=shots,
        max_gen_toks=gen.max_gen_toks if gen else None,
        temperature=gen.temperature if gen else None,
        do_sample=gen.do_sample if gen else None,
        until=None if until is None else tuple(until),
    )
    generates = config is not None and (config.output_type or GENERATING) == GENERATING
    label = _task_label(task, settings, gen, generates) if config else UNKNOWN
    return settings.model_copy(update={"settings": label})


def _task_label(task: Task, settings: TaskSettings, gen: Generation | None, generates: bool) -> str:
    """A task's settings label against what it declares (greedy, its budget, zero-shot)."""
    differences = []
    budget = declared_budget(task)
    if generates and gen is not None and budget is not None:
        lengths = {"max_gen_toks": gen.max_gen_toks, **{k: (gen.model_extra or {}).get(k) for k in BUDGET_KEYS[1:]}}
        differences += [f"{key} {value}, task {budget}" for key, value in lengths.items()
                        if isinstance(value, int) and value != budget]  # fmt: skip
    if generates and gen is not None and gen.temperature not in (None, 0):
        differences.append(f"temperature {gen.temperature:g}, task 0")
    if generates and gen is not None and gen.do_sample:
        differences.append("do_sample true, task false")
    if settings.num_fewshot:
        differences.append(f"num_fewshot {settings.num_fewshot}, task 0")
    if differences:
        return f"{DIFFER}: " + "; ".join(differences)
    stated = gen is not None and (budget is None or gen.max_gen_toks is not None)
    stated = stated and (gen.temperature is not None or gen.do_sample is not None)
    return AS_DECLARED if stated or not generates else UNKNOWN


def _run_label(tasks: dict[str, TaskSettings]) -> str:
    labels = [t.settings for t in tasks.values()]
    differences = [part for label in labels if differs(label) for part in label.split(": ", 1)[1].split("; ")]
    if differences:
        return f"{DIFFER}: " + "; ".join(dict.fromkeys(differences))
    return AS_DECLARED if labels and all(label == AS_DECLARED for label in labels) else UNKNOWN


def _flat(args: dict[str, Any]) -> dict[str, str | int | float | bool | None]:
    """A record's nested values as dotted keys (thinking.budget_tokens), lists as text."""
    out: dict[str, str | int | float | bool | None] = {}
    for key, value in args.items():
        if isinstance(value, dict):
            out |= {f"{key}.{k}": v for k, v in value.items()}
        elif isinstance(value, list):
            out[key] = ", ".join(str(v) for v in value)
        else:
            out[key] = value
    return out


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)[:MAX_NAME_CHARS]


_TORCH = re.compile(r"^PyTorch version: (\S{1,64})$|^\[pip3\] torch==(\S{1,64})$", re.MULTILINE)


def _torch_version(env: str) -> str | None:
    """torch's version from lm-eval's pretty_env_info (absent where torch is not installed)."""
    match = _TORCH.search(env)
    return None if match is None else match.group(1) or match.group(2)
