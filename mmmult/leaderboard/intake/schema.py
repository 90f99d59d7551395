"""What a submitted lm-eval output must look like: bounded JSON, then pydantic models of results and samples.

Numbers are bounded before they are parsed (an integer of thousands of digits, NaN or Infinity
where no metric can be, or JSON nested thousands deep are refused with the place they occur),
and every field the board reads has a declared type. Fields lm-eval writes that the board does
not read are ignored, so a newer lm-eval with more fields still validates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

MAX_NUMBER_DIGITS = 40
"""Digits of the longest integer any JSON number may hold (a product of the base set has at most 18; the extended
set's operands and products are written as decimal strings, `Decimal`)."""
MAX_DECIMAL_DIGITS = 60
"""Digits of the longest decimal string an operand or product may be: a product of two 30-digit operands."""
MAX_RESPONSE_CHARS = 200_000
"""A model's response: 4096 generated tokens are far fewer characters than this."""
MAX_NAME_CHARS = 200


class SchemaError(ValueError):
    """A file that is not what lm-eval writes; the message names the file, the line and the field."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number of {len(text.lstrip('-')):,} digits (at most {MAX_NUMBER_DIGITS} are read)")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]}... is out of range")
    return value


MAX_LINE_BYTES = 2 * 2**20
"""One sample line: a response of the longest allowed length, its prompt and the harness's fields."""


def sample_lines(name: str, path: Path, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a samples file's non-blank lines, each at most `limit` bytes, never the whole file at
    once; a longer line is refused with its number."""
    with path.open("rb") as handle:
        number = 0
        while line := handle.readline(limit + 1):
            number += 1
            if len(line) > limit:
                raise SchemaError(f"{name}, line {number} is over {limit // 2**20} MB; no sample is that long")
            if line.strip():
                yield number, line


def parse_json(data: bytes | str, where: str, allow_nan: bool = False) -> Any:  # noqa: ANN401 (any JSON value)
    """JSON with bounded numbers; NaN only where `allow_nan` (lm-eval writes NaN for an empty band)."""

    def constant(name: str) -> float:
        if allow_nan and name == "NaN":
            return math.nan
        raise ValueError(f"{name} is not a number lm-eval writes here")

    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=constant)
    except UnicodeDecodeError:
        raise SchemaError(f"{where} is not UTF-8 text") from None
    except RecursionError:
        raise SchemaError(f"{where} is nested too deeply to be lm-eval output") from None
    except json.JSONDecodeError as error:
        raise SchemaError(
            f"{where} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except ValueError as error:
        raise SchemaError(f"{where}: {error}") from None


Count = Annotated[StrictInt, Field(ge=0, le=10**9)]
Text = Annotated[StrictStr, Field(max_length=MAX_NAME_CHARS)]
Response = Annotated[StrictStr, Field(max_length=MAX_RESPONSE_CHARS)]
Metric = StrictFloat | StrictInt | StrictStr | None
Reported = Metric | Annotated[dict[Text, Metric], Field(max_length=16)]
"""A value of results.json: a metric, or a small record such as a group's sample_count {original, effective}."""


def _decimal(value: object) -> object:
    """An integer as lm-eval logs a doc's: a JSON number, or (the extended set's, past 64 bits) a decimal string of at
    most MAX_DECIMAL_DIGITS digits; anything else is left for StrictInt to refuse."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_DECIMAL_DIGITS:
        return int(value)
    return value


Decimal = Annotated[StrictInt, BeforeValidator(_decimal)]


class ProbeDoc(BaseModel):
    """The item a sample asks about, as the board checks it against its problem or probe item (a probe
    item's multiple-choice sample carries no product)."""

    model_config = ConfigDict(extra="ignore")
    problem_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    a: StrictInt
    b: StrictInt
    modality: Text
    representation: Text
    stimulus: Annotated[StrictStr, Field(max_length=1000)]


class Doc(ProbeDoc):
    """The problem a sample answers: the item and its product (the extended set's as decimal strings)."""

    a: Decimal
    b: Decimal
    product: Decimal


class Sample(BaseModel):
    """One line of a samples_<task>_<date>.jsonl file."""

    model_config = ConfigDict(extra="ignore")
    doc_id: Count
    doc: Doc
    target: Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v), Field(max_length=64)]
    resps: Annotated[list[Annotated[list[Response], Field(min_length=1)]], Field(min_length=1)]

    @property
    def response(self) -> str:
        """The model's one response (generate_until tasks ask for one)."""
        return self.resps[0][0]


class Request(BaseModel):
    """One loglikelihood request as lm-eval logs it: the context and the continuation it scored."""

    model_config = ConfigDict(extra="ignore")
    arg_0: Annotated[StrictStr, Field(max_length=1000)]
    arg_1: Annotated[StrictStr, Field(max_length=1000)]


LogLikelihood = Annotated[list[Response], Field(min_length=2, max_length=3)]
"""lm-eval's [log-likelihood, is-greedy] pair, written as text; mmmult's model classes add the
continuation's token count."""


class ChoiceSample(BaseModel):
    """One line of a multiple-choice task's samples: a log-likelihood for each continuation."""

    model_config = ConfigDict(extra="ignore")
    doc_id: Count
    doc: ProbeDoc
    arguments: Annotated[dict[Text, Request], Field(max_length=64)]
    resps: Annotated[list[Annotated[list[LogLikelihood], Field(min_length=1)]], Field(min_length=1, max_length=64)]


class TaskConfig(BaseModel):
    """lm-eval's record of how it ran one task (results.json's `configs`): what the board compares with its task
    table."""

    model_config = ConfigDict(extra="ignore")
    task_alias: Text | None = None
    dataset_kwargs: Annotated[dict[Text, Any], Field(max_length=64)] | None = None


class Results(BaseModel):
    """The parts of lm-eval's results_<date>.json that the board reads."""

    model_config = ConfigDict(extra="ignore")
    results: Annotated[dict[Text, dict[Text, Reported]], Field(min_length=1)]
    versions: dict[Text, StrictFloat | StrictInt | StrictStr] = Field(default_factory=dict)
    configs: dict[Text, TaskConfig] = Field(default_factory=dict)
    model_name: Text | None = None


def validate(model: type[BaseModel], value: Any, where: str) -> Any:  # noqa: ANN401 (the model's instance)
    """`value` as `model`, or a SchemaError naming the first field that is wrong and how."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "the top level"
        got = type(first["input"]).__name__ if first["type"] != "missing" else "nothing"
        raise SchemaError(f"{where}, field {field}: {first['msg'].lower()} (got {got})") from None
