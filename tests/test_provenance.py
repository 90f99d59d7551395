"""A run's provenance: read from lm-eval's results file, typed and bounded, stored, shown on the model page and in
the CSV, compared with what its tasks declare; and no secret of the run kept or shown anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dataset_builder.tasks import TASKS
from mmmult.leaderboard.display.app import Handlers, view
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.filters import Filters
from mmmult.leaderboard.display.model_tables import provenance_table
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.provenance import AS_DECLARED, DIFFER, UNKNOWN, read_provenance
from mmmult.leaderboard.intake.schema import parse_json
from mmmult.leaderboard.intake.scrub import scrub
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.submissions import Form, submit
from mmmult.queue.folder import LocalQueue
from tests.simulate import DATE, lm_eval_files, right

REAL_RUN = Path(__file__).parent / "data" / "qwen2.5-coder-0.5b-hf-results.json"
"""A real lm-eval results file: Qwen2.5-Coder-0.5B-Instruct through `hf` on a text-numerals test split, 2026-12-03."""
RESULTS = f"results_{DATE}.json"
Files = list[tuple[str, bytes]]


def form(model: str = "some-model") -> Form:
    return Form(model, "Test", "7", True, "tester", "https://example.org/run")


def edited(files: Files, edit: Callable[[dict[str, Any]], object]) -> Files:
    """The run with its results file passed through `edit` (in place)."""
    out = []
    for name, data in files:
        results = json.loads(data) if name == RESULTS else None
        if results is not None:
            edit(results)
        out.append((name, data if results is None else json.dumps(results).encode()))
    return out


def declared(results: dict[str, Any], **generation: object) -> None:
    """The settings lm-eval 0.4.13 writes for a run of the tasks as they are declared, with `generation` changed."""
    results["config"] = {"model": "hf", "model_args": "pretrained=org/model-7B,revision=abc123,dtype=bfloat16"}
    results["configs"] = {}
    for name in results["results"]:
        budget = 4096 if TASKS[name].kind.name == "multiply" else 256
        kwargs = {"until": ["<|endoftext|>"], "do_sample": False, "temperature": 0.0, "max_gen_toks": budget}
        results["configs"][name] = {"task": name, "output_type": "generate_until", "num_fewshot": 0,
                                    "generation_kwargs": kwargs | generation}  # fmt: skip
    results["n-shot"] = {name: 0 for name in results["results"]}
    results["lm_eval_version"] = "0.4.13"
    results["git_hash"] = "ad3cfc2"


def written(files: Files, folder: Path) -> list[str]:
    folder.mkdir()
    for name, data in files:
        (folder / name).write_bytes(data)
    return [str(folder / name) for name, _ in files]


def test_the_committed_real_run_has_its_provenance_read() -> None:
    record = read_provenance(parse_json(REAL_RUN.read_bytes(), REAL_RUN.name, True), REAL_RUN.name)
    assert record.model_dump() == {
        "harness_name": "lm-eval",
        "harness_version": "0.4.13",
        "lm_eval_version": "0.4.13",
        "git_hash": "ad3cfc2",
        "upper_git_hash": None,
        "model_type": "mmmult-hf",
        "model_name": "/work/weights/store-demo/qwen2.5-coder-0.5b",
        "revision": "main",
        "model_sha": None,
        "dtype": "float32",
        "model_args": {"pretrained": "/work/weights/store-demo/qwen2.5-coder-0.5b",
                       "gguf_file": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "dtype": "float32"},
        "reasoning": {},
        "chat_template_applied": True,
        "chat_template_sha": "cd8e9439f0570856fd70470bf8889ebd8b5d1107207f67a5efb46e342330527f",
        "system_instruction": None,
        "system_instruction_sha": None,
        "fewshot_as_multiturn": True,
        "date": 1796283457.7032046,
        "transformers_version": "5.24.0",
        "torch_version": "2.13.0+cpu",
        "shards": None,
        "tasks": {
            "mmmult_text_numerals": {
                "version": "1.0",
                "hash": "85b9918795e421a0418dae0a3d39831921910c7a446fc35a97f87f9602f351d8",
                "num_fewshot": 0,
                "max_gen_toks": 256,
                "temperature": 0.0,
                "do_sample": False,
                "until": ("<|endoftext|>",),
                "settings": "settings differ: max_gen_toks 256, task 4096",
            }
        },
        "settings": "settings differ: max_gen_toks 256, task 4096",
    }  # fmt: skip
    assert (record.harness, record.budgets, record.date_text) == (
        "lm-eval 0.4.13 (ad3cfc2)",
        "256",
        "2026-12-03 07:37 UTC",
    )
    assert provenance_table(record).values.tolist() == [
        ["settings", "settings differ: max_gen_toks 256, task 4096"],
        ["harness", "lm-eval 0.4.13 (ad3cfc2)"],
        ["model", "/work/weights/store-demo/qwen2.5-coder-0.5b (mmmult-hf)"],
        ["revision", "main"],
        ["dtype", "float32"],
        ["model_args", "pretrained=/work/weights/store-demo/qwen2.5-coder-0.5b, "
                       "gguf_file=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf, dtype=float32"],
        ["chat template", "applied (sha256 cd8e9439f057)"],
        ["few-shot as multi-turn", "yes"],
        ["date", "2026-12-03 07:37 UTC"],
        ["libraries", "transformers 5.24.0, torch 2.13.0+cpu"],
        ["mmmult_text_numerals", "v1.0, hash 85b9918795e4, 0-shot, max_gen_toks 256, temperature 0, greedy, "
                                 "until '<|endoftext|>'; settings differ: max_gen_toks 256, task 4096"],
    ]  # fmt: skip


def test_scrubbing_leaves_a_real_run_without_secrets_as_it_was() -> None:
    real = json.loads(REAL_RUN.read_text())
    assert json.dumps(scrub(real)) == json.dumps(real)


@pytest.mark.parametrize(
    ("generation", "label"),
    [
        ({}, AS_DECLARED),
        ({"temperature": 0.7}, "settings differ: temperature 0.7, task 0"),
        ({"do_sample": True}, "settings differ: do_sample true, task false"),
        ({"max_gen_toks": 256, "temperature": 1}, f"{DIFFER}: max_gen_toks 256, task 4096; temperature 1, task 0"),
        ({"max_completion_tokens": 16000}, "settings differ: max_completion_tokens 16000, task 4096"),
        ({"max_gen_toks": None}, UNKNOWN),
    ],
)
def test_each_task_s_settings_are_compared_with_what_it_declares(
    run_files: Files, generation: dict[str, object], label: str
) -> None:
    results = json.loads(dict(run_files)[RESULTS])
    declared(results, **generation)
    record = read_provenance(results, RESULTS)
    assert record.settings == label
    assert record.tasks["mmmult_text_numerals"].settings == label


def test_a_direct_task_declares_its_own_budget_and_few_shot_runs_differ() -> None:
    def run(**settings: object) -> str:
        config = {"output_type": "generate_until", "num_fewshot": settings.pop("shots", 0),
                  "generation_kwargs": {"do_sample": False, "temperature": 0, **settings}}  # fmt: skip
        raw = {"results": {"mmmult_direct_text_numerals": {}}, "configs": {"mmmult_direct_text_numerals": config}}
        return read_provenance(raw, RESULTS).settings

    assert run(max_gen_toks=52) == AS_DECLARED
    assert run(max_gen_toks=4096) == "settings differ: max_gen_toks 4096, task 52"
    assert run(max_gen_toks=52, shots=5) == "settings differ: num_fewshot 5, task 0"


def test_an_api_model_s_reasoning_settings_are_kept() -> None:
    raw = {
        "results": {"mmmult_text_numerals": {}},
        "config": {"model": "openai-chat-completions",
                   "model_args": "model=o3-mini,base_url=https://api.example.com/v1,num_concurrent=4",
                   "gen_kwargs": {"reasoning_effort": "high", "thinking": {"type": "enabled", "budget_tokens": 8000}}},
    }  # fmt: skip
    record = read_provenance(raw, RESULTS)
    assert record.model_name == "o3-mini" and record.model_type == "openai-chat-completions"
    assert record.reasoning == {"reasoning_effort": "high", "thinking.type": "enabled", "thinking.budget_tokens": 8000}
    assert record.settings == UNKNOWN  # no task config: lm-eval output without its settings


def test_a_run_with_no_configs_is_labelled_settings_unknown_and_still_ranked(
    run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    message = submit(store, reference, written(run_files, tmp_path / "up"), form())
    assert message.splitlines()[-1] == "settings unknown: results.json does not state every task's generation settings"
    row = store.submission(1)
    assert row["settings"] == UNKNOWN
    table = Board(store, reference).table(modality="text")
    assert table[["model", "settings", "harness", "max_gen_toks", "rank"]].values.tolist() == [
        ["some-model", UNKNOWN, "", "", 1]
    ]


def test_a_run_with_temperature_0_7_is_labelled_and_left_out_of_the_default_ranking(
    run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    hot = edited(run_files, lambda results: declared(results, temperature=0.7))
    message = submit(store, reference, written(hot, tmp_path / "hot"), form("hot-model"))
    assert message.splitlines()[-1] == ("settings differ: temperature 0.7, task 0: left out of the default ranking "
                                        "(shown with 'Include runs whose settings differ')")  # fmt: skip
    greedy = edited(run_files, declared)
    greedy = [(n, d.replace(b'"resps": [["', b'"resps": [[" ')) for n, d in greedy]  # other samples: no duplicate
    assert " re-scored" in submit(store, reference, written(greedy, tmp_path / "greedy"), form("greedy-model"))
    board = Board(store, reference)
    assert list(board.table()["model"]) == ["greedy-model"]
    both = board.table(differing=True)
    assert both[["model", "settings", "harness", "max_gen_toks"]].values.tolist() == [
        ["greedy-model", AS_DECLARED, "lm-eval 0.4.13 (ad3cfc2)", "256, 4096"],
        ["hot-model", "settings differ: temperature 0.7, task 0", "lm-eval 0.4.13 (ad3cfc2)", "256, 4096"],
    ]
    chosen = ("settings", "harness", "max_gen_toks")
    page, csv = view(board, Filters(modality="text", differing=True, columns=chosen))
    assert list(page.columns) == ["Rank", "Model", "Settings", "Harness", "Max gen. tokens"]
    harness = "lm-eval 0.4.13 (ad3cfc2)"
    assert csv.values.tolist() == [[1, "greedy-model", AS_DECLARED, harness, "256, 4096"],
                                   [1, "hot-model", "settings differ: temperature 0.7, task 0", harness,
                                    "256, 4096"]]  # fmt: skip
    assert list(view(board, Filters(modality="text", columns=chosen))[1]["model"]) == ["greedy-model"]


def test_a_model_s_row_prefers_its_run_that_conforms(
    run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    greedy = edited(run_files, declared)
    hot = edited(run_files, lambda results: declared(results, temperature=0.7))
    hot = [(n, d.replace(b'"resps": [["', b'"resps": [[" ')) for n, d in hot]
    submit(store, reference, written(greedy, tmp_path / "first"), form())
    submit(store, reference, written(hot, tmp_path / "second"), form())
    assert Board(store, reference).table(differing=True)[["submission_id", "settings"]].values.tolist() == [
        [1, AS_DECLARED]
    ]


def test_the_model_page_shows_the_run_s_provenance(
    run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    hot = edited(run_files, lambda results: declared(results, temperature=0.7))
    submit(store, reference, written(hot, tmp_path / "up"), form())
    handlers = Handlers(store, reference, LocalQueue(tmp_path / "queue"), {}, False)
    outputs = dict(zip(_analysis_outputs(), handlers.analyse("some-model", None, None), strict=True))
    shown = outputs["provenance"]["value"]
    assert shown.values.tolist()[:4] == [
        ["settings", "settings differ: temperature 0.7, task 0"],
        ["harness", "lm-eval 0.4.13 (ad3cfc2)"],
        ["model", "mmmult-reference (hf)"],
        ["revision", "abc123"],
    ]
    assert shown.values.tolist()[-1] == [
        "mmmult_perceive_text_numerals",
        "v1.0, 0-shot, max_gen_toks 256, temperature 0.7, greedy, until '<|endoftext|>'; "
        "settings differ: temperature 0.7, task 0",
    ]


def _analysis_outputs() -> tuple[str, ...]:
    from mmmult.leaderboard.display.app import ANALYSIS_OUTPUTS

    return ANALYSIS_OUTPUTS


def test_a_store_from_before_provenance_gains_its_columns_and_shows_settings_unknown(
    run_files: Files, reference: Benchmark, tmp_path: Path
) -> None:
    store = Store(tmp_path / "board.sqlite")
    submit(store, reference, written(run_files, tmp_path / "up"), form())
    with closing(store.connect()) as db:
        db.execute("ALTER TABLE submissions DROP COLUMN provenance")
        db.execute("ALTER TABLE submissions DROP COLUMN settings")
    store = Store(tmp_path / "board.sqlite")
    assert (store.submission(1)["settings"], store.provenance(1)) == (None, None)
    table = Board(store, reference).table(modality="text")
    assert table[["settings", "harness", "rank"]].values.tolist() == [[UNKNOWN, "", 1]]


# A secret in every place a run's file can carry one. Every secret holds ZQX (in any case), which nothing else of a
# run does: after the submission, ZQX must be nowhere in the store's folder, the model page or the CSV.
SECRETS: dict[str, Callable[[dict[str, Any]], object]] = {
    "model_args text api_key": lambda r: r["config"].update(model_args="pretrained=org/m,api_key=zqx-1a2b3c"),
    "model_args text quoted": lambda r: r["config"].update(model_args="pretrained=org/m,token='zqx, with comma'"),
    "model_args api_key": lambda r: r["config"].update(model_args={"pretrained": "org/m", "api_key": "zqx2"}),
    "model_args hf_token": lambda r: r["config"].update(model_args={"pretrained": "org/m", "hf_token": "zqx3"}),
    "model_args use_auth_token": lambda r: r["config"].update(model_args={"use_auth_token": "zqx-4"}),
    "model_args password": lambda r: r["config"].update(model_args={"password": "zqx5", "client_secret": "zqx6"}),
    "model_args camelCase": lambda r: r["config"].update(model_args={"xApiKey": "zqx7", "AUTH": "zqx7b"}),
    "model_args nested header": lambda r: r["config"].update(
        model_args={"headers": {"Authorization": "Bearer zqx8abcdef"}}
    ),
    "model_args list": lambda r: r["config"].update(model_args={"keys": ["zqx9"], "api_keys": ["zqx9b"]}),
    "a key as a key": lambda r: r["config"].update(model_args={"sk-zqx10abcdefghijk": True}),
    "url credentials": lambda r: r["config"].update(
        model_args={"model": "m", "base_url": "https://zqxuser:zqxpass@api.example.com:8443/v1"}
    ),
    "url query key": lambda r: r["config"].update(model_args="model=m,base_url=https://api.example.com/v1?key=zqx11"),
    "url query token": lambda r: r["config"].update(
        model_args={"base_url": "https://api.example.com/v1?api-version=1&token=zqx12#zqx12b"}
    ),
    "url in pretrained": lambda r: r["config"].update(model_args="pretrained=hf://me:zqx13@hub/org/m"),
    "gen_kwargs text": lambda r: r["config"].update(gen_kwargs="temperature=0,api_key=zqx14"),
    "gen_kwargs dict": lambda r: r["config"].update(gen_kwargs={"extra_headers": {"x-api-key": "zqx15"}}),
    "task generation_kwargs": lambda r: r["configs"]["mmmult_text_numerals"]["generation_kwargs"].update(
        auth_token="zqx16"
    ),
    "task metadata": lambda r: r["configs"]["mmmult_text_numerals"].update(metadata={"api_key": "zqx17"}),
    "openai key form": lambda r: r["config"].update(model_args={"pretrained": "sk-proj-zqx18abcdefgh"}),
    "hub token form": lambda r: r.update(system_instruction="use hf_zqx19abcdefghijkl for the model"),
    "github and aws forms": lambda r: r.update(system_instruction="ghp_ZQX20abcdefghij and AKIAZQX20ABCDEFGHIJ"),
    "jwt": lambda r: r.update(system_instruction="session eyJzqx21abcd.eyJzqx21efgh.zqx21signature"),
    "bearer in text": lambda r: r.update(system_instruction="Send Authorization: Bearer zqx22abcdef please"),
    "basic in text": lambda r: r.update(system_instruction='{"Authorization": "Basic zqx23dXNlcjpwYXNz"}'),
    "env info": lambda r: r.update(
        pretty_env_info="PyTorch version: 2.13.0\nOPENAI_API_KEY=zqx24\nHF_TOKEN: hf_zqx24abcdefghij\n"
        "proxy http://user:zqx24@proxy:3128\n[pip3] torch==2.13.0"
    ),
    "chat template": lambda r: r.update(chat_template="{{ 'api_key=zqx25' }}{{ messages }}", chat_template_sha="ab"),
    "model name": lambda r: r.update(model_name="https://me:zqx26@host.example/org/m"),
}


@pytest.mark.parametrize("case", sorted(SECRETS))
def test_no_secret_is_kept_or_shown(case: str, run_files: Files, reference: Benchmark, tmp_path: Path) -> None:
    def plant(results: dict[str, Any]) -> None:
        declared(results)
        SECRETS[case](results)

    planted = edited(run_files, plant)
    store = Store(tmp_path / "store" / "board.sqlite")
    assert b"zqx" in dict(planted)[RESULTS].lower()  # the secret is in the upload
    message = submit(store, reference, written(planted, tmp_path / "up"), form())
    assert " re-scored" in message and "zqx" not in message.lower()
    kept = [path.read_bytes() for path in store.path.parent.rglob("*") if path.is_file()]
    assert len(kept) >= 3 and not [data for data in kept if b"zqx" in data.lower()]
    board = Board(store, reference)
    assert "zqx" not in board.table(differing=True).to_csv().lower()
    every_column = Filters(differing=True, columns=tuple(c for c in board.table().columns if c != "submission_id"))
    page, csv = view(board, every_column)
    assert "zqx" not in (page.to_csv() + csv.to_csv()).lower()
    shown = provenance_table(store.provenance(1))
    assert len(shown) >= 3 and "zqx" not in shown.to_csv().lower()


def test_a_secret_s_key_and_the_settings_around_it_are_kept() -> None:
    raw = {
        "results": {"mmmult_text_numerals": {}},
        "config": {"model": "openai-chat-completions",
                   "model_args": "model=gpt-x,api_key=zqx,base_url=https://u:p@api.example.com/v1?key=k,"
                                 "tokenizer=org/tok,max_tokens=64"},
    }  # fmt: skip
    assert read_provenance(raw, RESULTS).model_args == {
        "model": "gpt-x",
        "api_key": "[redacted]",
        "base_url": "https://api.example.com/v1",
        "tokenizer": "org/tok",
        "max_tokens": "64",
    }


GEN = "configs.mmmult_text_numerals.generation_kwargs"
BAD_FIELDS: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "budget as text": (
        lambda r: r["configs"]["mmmult_text_numerals"]["generation_kwargs"].update(max_gen_toks="lots"),
        f"field {GEN}.max_gen_toks: input should be a valid integer (got str)",
    ),
    "absurd budget": (
        lambda r: r["configs"]["mmmult_text_numerals"]["generation_kwargs"].update(max_gen_toks=10**30),
        f"field {GEN}.max_gen_toks: input should be less than or equal to 1000000 (got int)",
    ),
    "temperature as text": (
        lambda r: r["configs"]["mmmult_text_numerals"]["generation_kwargs"].update(temperature="hot"),
        f"field {GEN}.temperature: input should be a valid number (got str)",
    ),
    "do_sample as text": (
        lambda r: r["configs"]["mmmult_text_numerals"]["generation_kwargs"].update(do_sample="yes"),
        f"field {GEN}.do_sample: input should be a valid boolean (got str)",
    ),
    "a huge stop sequence": (
        lambda r: r["configs"]["mmmult_text_numerals"]["generation_kwargs"].update(until=["x" * 5000]),
        f"field {GEN}.until.0: string should have at most 200 characters (got str)",
    ),
    "a huge chat template": (
        lambda r: r.update(chat_template="x" * 100_001),
        "field chat_template: string should have at most 100000 characters (got str)",
    ),
    "a number as the system instruction": (
        lambda r: r.update(system_instruction=123),
        "field system_instruction: input should be a valid string (got int)",
    ),
    "model_args as a list": (
        lambda r: r["config"].update(model_args=["a", "b"]),
        "field config.model_args: input should be a valid dictionary (got list)",
    ),
    "too many model_args": (
        lambda r: r["config"].update(model_args={f"k{i}": i for i in range(65)}),
        "field config.model_args: dictionary should have at most 64 items after validation, not more (got dict)",
    ),
    "model_args text too long": (
        lambda r: r["config"].update(model_args="pretrained=" + "x" * 5000),
        "field config.model_args: value error, text of 5,011 characters (at most 4,000) (got str)",
    ),
    "negative few-shot": (
        lambda r: r.update({"n-shot": {"mmmult_text_numerals": -1}}),
        "field n-shot.mmmult_text_numerals: input should be greater than or equal to 0 (got int)",
    ),
    "a hash as a number": (
        lambda r: r.update(task_hashes={"mmmult_text_numerals": 5}),
        "field task_hashes.mmmult_text_numerals: input should be a valid string (got int)",
    ),
    "a date as text": (
        lambda r: r.update(date="yesterday"),
        "field date: input should be a valid number (got str)",
    ),
    "a version as a record": (
        lambda r: r.update(lm_eval_version={"x": 1}),
        "field lm_eval_version: input should be a valid string (got dict)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_a_provenance_field_of_the_wrong_type_or_an_absurd_size_is_refused_and_nothing_stored(
    case: str, run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    edit, reason = BAD_FIELDS[case]

    def plant(results: dict[str, Any]) -> None:
        declared(results)
        edit(results)

    message = submit(store, reference, written(edited(run_files, plant), tmp_path / "up"), form())
    assert message == f"submission #1 rejected: {RESULTS}, {reason}"
    counts = store.counts()
    assert (counts["submissions"], counts["task_results"], counts["items"], counts["files"]) == (1, 0, 0, 0)
    assert store.submission(1)["status"] == "rejected" and store.provenance(1) is None


def test_the_board_reads_what_the_store_keeps(run_files: Files, reference: Benchmark, store: Store, tmp_path) -> None:
    submit(store, reference, written(edited(run_files, declared), tmp_path / "up"), form())
    record = store.provenance(1)
    assert record is not None and record.settings == AS_DECLARED
    assert pd.Series(record.tasks).map(lambda task: task.max_gen_toks).to_dict() == {
        "mmmult_text_numerals": 4096,
        "mmmult_text_words": 4096,
        "mmmult_perceive_text_numerals": 256,
    }


def test_a_cascade_is_labelled_with_its_readers_and_its_text_model(
    reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    def as_cascade(results: dict[str, Any]) -> None:
        declared(results)
        results["config"] = {
            "model": "mmmult-cascade",
            "model_args": "model=qwen2.5-coder-0.5b,base_url=http://h:8080/v1",
        }

    tasks = ["mmmult_image_numerals", "mmmult_audio_words", "mmmult_text_numerals"]
    cascade = edited(lm_eval_files(reference.problems, tasks, right), as_cascade)
    plain = edited(lm_eval_files(reference.problems, tasks, right), declared)
    plain = [(n, d.replace(b'"resps": [["', b'"resps": [[" ')) for n, d in plain]  # not a duplicate of the cascade's
    assert " re-scored" in submit(store, reference, written(cascade, tmp_path / "cascade"), form("my-cascade"))
    assert " re-scored" in submit(store, reference, written(plain, tmp_path / "plain"), form("plain-model"))
    label = "cascade: tesseract, Whisper + qwen2.5-coder-0.5b"
    board = Board(store, reference)
    page, csv = view(board, Filters(columns=("system",)))
    assert sorted(page["Model"]) == [f"my-cascade ({label})", "plain-model"]
    assert sorted(csv[["model", "system"]].values.tolist()) == [["my-cascade", label], ["plain-model", ""]]
    assert ["system", label] in provenance_table(store.provenance(1)).values.tolist()
    assert "system" not in provenance_table(store.provenance(2))["field"].tolist()
