"""The heuristic adapters on a tiny random GPT-2 made here: training, resuming, comparing, and lm-eval's peft=."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

pytest.importorskip("peft")

import torch
from safetensors.torch import load_file, save_file

import dataset_builder.interrupts as interrupts_module
from dataset_builder.dataset.pipeline import BuildOptions, build
from dataset_builder.problems import Bounds
from mmmult.adapters.compare import BASE, _active, cosine_table, delta_weights, load_adapted, probe_scores
from mmmult.adapters.train import TrainOptions, encode, pad_id_of, trace_loss, train
from mmmult.probe_scoring.scores import step_choices
from tests.commands import assert_user_error, mmmult_here
from tests.models import tiny_trace_lm

STEPS = TrainOptions(steps=12, lr=1e-2, checkpoint_every=5)
"""A few steps at a high rate: enough for the tiny model's trace loss to fall."""


@pytest.fixture(scope="module")
def adapter_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The configs the adapters read, 60 problems of up to 3 digits and 60 HDS items."""
    options = BuildOptions(
        configs=("traces", "problems", "hds-text", "text-numerals"), bounds=Bounds(max_digits=3, limit=60)
    )
    return build(tmp_path_factory.mktemp("adapters") / "build", options)


def corpus(build_dir: Path) -> list[str]:
    traces = datasets.load_dataset(str(build_dir), "traces", split="train")
    hds = datasets.load_dataset(str(build_dir), "hds-text", split="test")
    steps = [step.text for row in hds for _, step in step_choices(row["a"], row["b"])]
    return [*traces["prompt"], *traces["solution"], *hds["stimulus"], *steps]


@pytest.fixture(scope="module")
def base_lm(adapter_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_trace_lm(tmp_path_factory.mktemp("base-lm"), corpus(adapter_build))


@pytest.fixture(scope="module")
def trained(adapter_build: Path, base_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adapters-out")
    assert train(str(base_lm), str(adapter_build), out, STEPS) == dict.fromkeys(("OT", "DD", "RC"), "trained")
    return out


def test_an_adapter_is_saved_in_peft_s_format_with_its_manifest(trained: Path, adapter_build: Path) -> None:
    assert sorted(p.name for p in (trained / "DD").iterdir() if p.suffix != ".md") == [
        "adapter_config.json", "adapter_model.safetensors", "manifest.json"]  # fmt: skip
    manifest = json.loads((trained / "DD" / "manifest.json").read_text())
    assert manifest["heuristic"] == "DD" and manifest["data"]["build"] == str(adapter_build.resolve())
    assert manifest["data"]["traces"] == len(datasets.load_dataset(str(adapter_build), "traces", split="train")) // 3
    assert manifest["options"] | {} == STEPS.key() and len(manifest["result"]["losses"]) == STEPS.steps
    assert manifest["result"]["target_modules"] == ["c_attn"]
    assert set(manifest["versions"]) == {"mmmult", "torch", "transformers", "peft", "python"}
    assert json.loads((trained / "DD" / "adapter_config.json").read_text())["r"] == STEPS.rank


def test_training_lowers_the_loss_on_the_heuristic_s_traces(trained: Path, adapter_build: Path) -> None:
    adapted, tokenizer = load_adapted({"RC": trained / "RC"})
    rows = [r for r in datasets.load_dataset(str(adapter_build), "traces", split="train") if r["heuristic"] == "RC"]
    examples = [encode(tokenizer, row["prompt"], row["solution"]) for row in rows]
    with _active(adapted, BASE):
        before = trace_loss(adapted, examples, pad_id_of(tokenizer))
    with _active(adapted, "RC"):
        after = trace_loss(adapted, examples, pad_id_of(tokenizer))
    assert after < before


def test_an_adapter_whose_b_is_zero_changes_nothing(trained: Path, tmp_path: Path, adapter_build: Path) -> None:
    zero = tmp_path / "zero"
    shutil.copytree(trained / "OT", zero)
    weights = load_file(zero / "adapter_model.safetensors")
    save_file({k: torch.zeros_like(v) if "lora_B" in k else v for k, v in weights.items()},
              zero / "adapter_model.safetensors")  # fmt: skip
    adapted, tokenizer = load_adapted({"zero": zero, "OT": trained / "OT"})
    ids = torch.tensor([tokenizer("What is 47 times 36 ?", add_special_tokens=False)["input_ids"]])
    logits = {}
    for name in (BASE, "zero", "OT"):
        with _active(adapted, name), torch.no_grad():
            logits[name] = adapted(input_ids=ids).logits
    assert torch.equal(logits["zero"], logits[BASE]) and not torch.equal(logits["OT"], logits[BASE])
    assert all(float(d.abs().max()) == 0.0 for d in delta_weights(adapted, "zero").values())
    doc = datasets.load_dataset(str(adapter_build), "hds-text", split="test")[0]
    with _active(adapted, BASE):
        base = probe_scores(adapted.get_base_model(), tokenizer, doc)
    with _active(adapted, "zero"):
        assert probe_scores(adapted.get_base_model(), tokenizer, doc) == base


def test_the_cosine_of_an_adapter_with_itself_is_one(trained: Path) -> None:
    adapted, _ = load_adapted({"DD": trained / "DD", "again": trained / "DD", "RC": trained / "RC"})
    table = cosine_table({name: delta_weights(adapted, name) for name in ("DD", "again", "RC")})
    assert [row["module"] for row in table] == ["transformer.h.0.attn.c_attn", "all"]
    assert table[-1]["DD-again"] == pytest.approx(1.0, abs=1e-6)
    assert abs(table[-1]["DD-RC"]) < 1.0


def test_the_cosine_is_taken_per_module_and_over_all_modules() -> None:
    deltas = {
        "OT": {"m1": torch.tensor([[1.0, 0.0]]), "m2": torch.tensor([[0.0, 2.0]])},
        "DD": {"m1": torch.tensor([[0.0, 3.0]]), "m2": torch.tensor([[0.0, 1.0]])},
        "RC": {"m1": torch.tensor([[-1.0, 0.0]])},
    }
    rows = {row["module"]: row for row in cosine_table(deltas)}
    assert rows["m1"] == {"module": "m1", "OT-DD": 0.0, "OT-RC": -1.0, "DD-RC": 0.0}
    assert rows["m2"] == {"module": "m2", "OT-DD": 1.0, "OT-RC": 0.0, "DD-RC": 0.0}
    # all: OT = (1, 0, 0, 2), DD = (0, 3, 0, 1), RC = (-1, 0, 0, 0)
    assert rows["all"]["OT-DD"] == pytest.approx(2 / (5**0.5 * 10**0.5))
    assert rows["all"]["OT-RC"] == pytest.approx(-1 / 5**0.5)
    assert rows["all"]["DD-RC"] == 0.0


def test_a_rerun_skips_complete_adapters_and_retrains_when_an_option_changes(
    trained: Path, base_lm: Path, adapter_build: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(trained, out)
    before = (out / "OT" / "adapter_model.safetensors").read_bytes()
    assert train(str(base_lm), str(adapter_build), out, STEPS) == dict.fromkeys(("OT", "DD", "RC"), "skipped")
    assert (out / "OT" / "adapter_model.safetensors").read_bytes() == before
    again = TrainOptions(heuristics=("OT",), steps=STEPS.steps, lr=STEPS.lr, checkpoint_every=5, rank=4)
    assert train(str(base_lm), str(adapter_build), out, again) == {"OT": "trained"}
    assert json.loads((out / "OT" / "adapter_config.json").read_text())["r"] == 4


def test_an_interrupted_adapter_resumes_from_its_checkpoint_to_the_same_weights(
    trained: Path, base_lm: Path, adapter_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = TrainOptions(heuristics=("DD",), steps=STEPS.steps, lr=STEPS.lr, checkpoint_every=5)
    calls = iter(range(1000))

    def stop_at_step_eight() -> None:
        if next(calls) == 7:
            raise KeyboardInterrupt

    monkeypatch.setattr(interrupts_module, "check", stop_at_step_eight)
    with pytest.raises(KeyboardInterrupt):
        train(str(base_lm), str(adapter_build), tmp_path / "out", options)
    monkeypatch.undo()
    assert (tmp_path / "out" / "DD" / "checkpoint.pt").is_file()
    assert not (tmp_path / "out" / "DD" / "manifest.json").exists()
    assert train(str(base_lm), str(adapter_build), tmp_path / "out", options) == {"DD": "resumed"}
    resumed = load_file(tmp_path / "out" / "DD" / "adapter_model.safetensors")
    whole = load_file(trained / "DD" / "adapter_model.safetensors")
    assert resumed.keys() == whole.keys() and all(torch.equal(resumed[k], whole[k]) for k in whole)
    first = json.loads((trained / "DD" / "manifest.json").read_text())["result"]["losses"]
    assert json.loads((tmp_path / "out" / "DD" / "manifest.json").read_text())["result"]["losses"] == first
    assert not (tmp_path / "out" / "DD" / "checkpoint.pt").exists()


def test_an_unknown_heuristic_is_named(tmp_path: Path) -> None:
    result = mmmult_here("adapters", "train", "--base", str(tmp_path), "--out", str(tmp_path), "--heuristics", "OT,XX")
    assert_user_error(result, "unknown heuristic(s) 'XX': choose from OT, DD, RC")


def test_a_base_model_that_cannot_load_is_named(adapter_build: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-model"
    args = ("adapters", "train", "--data", str(adapter_build), "--out", str(tmp_path / "out"))
    assert_user_error(
        mmmult_here(*args, "--base", str(missing)), f"cannot load the base model {missing}: no such folder"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(mmmult_here(*args, "--base", str(empty)), f"cannot load the base model {empty}: ")
    assert_user_error(mmmult_here(*args, "--base", str(empty), "--gguf-file", "m.gguf"),
                      f"cannot load the base model {empty}: it holds no GGUF file m.gguf")  # fmt: skip


def test_a_build_without_the_traces_config_is_refused(base_lm: Path, tmp_path: Path) -> None:
    plain = build(tmp_path / "plain", BuildOptions(configs=("problems",), bounds=Bounds(max_digits=2, limit=10)))
    result = mmmult_here(
        "adapters", "train", "--base", str(base_lm), "--data", str(plain), "--out", str(tmp_path / "o")
    )
    assert_user_error(result, f"the build {plain} has no traces config (it holds problems): rebuild it")


def test_adapters_of_different_base_models_are_not_compared(trained: Path, adapter_build: Path, tmp_path: Path) -> None:
    other = tiny_trace_lm(tmp_path / "other-lm", corpus(adapter_build), n_embd=8)
    options = TrainOptions(heuristics=("DD",), steps=2, checkpoint_every=5)
    train(str(other), str(adapter_build), tmp_path / "other", options)
    mixed = tmp_path / "mixed"
    shutil.copytree(trained / "OT", mixed / "OT")
    shutil.copytree(tmp_path / "other" / "DD", mixed / "DD")
    result = mmmult_here("adapters", "compare", "--adapters", str(mixed), "--data", str(adapter_build),
                         "--heuristics", "OT,DD")  # fmt: skip
    assert_user_error(result, "adapters of different base models cannot be compared: OT was trained on")


def test_compare_prints_the_three_tables(trained: Path, adapter_build: Path, tmp_path: Path) -> None:
    out = tmp_path / "comparison.json"
    result = mmmult_here("adapters", "compare", "--adapters", str(trained), "--data", str(adapter_build),
                         "--probe-items", "4", "--split", "test", "--accuracy-items", "5", "--max-new-tokens", "8",
                         "--json", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(a) cosine" in result.stdout and "(b) nudge" in result.stdout and "(c) accuracy" in result.stdout
    tables = json.loads(out.read_text())
    assert [row["model"] for row in tables["nudge"]] == [BASE, "OT", "DD", "RC"]
    for row in tables["nudge"]:
        assert row["prefers_OT"] + row["prefers_DD"] + row["prefers_RC"] == pytest.approx(1.0)
    overall = [row for row in tables["accuracy"] if row["band"] == "all"]
    assert [(row["model"], row["n"]) for row in overall] == [(BASE, 5), ("OT", 5), ("DD", 5), ("RC", 5)]
    assert sum(row["n"] for row in tables["accuracy"] if row["model"] == BASE and row["band"] != "all") == 5
    assert all(row["p_holm"] >= row["p"] for row in tables["accuracy"] if row["model"] != BASE)
    assert [row["module"] for row in tables["cosines"]] == ["transformer.h.0.attn.c_attn", "all"]


def test_lm_eval_runs_an_adapted_model_through_hf_peft_and_scores_the_probe_as_compare_does(
    trained: Path, base_lm: Path, adapter_build: Path, tmp_path: Path
) -> None:
    """`mmmult eval --model hf --model_args pretrained=BASE,peft=OUT/DD`: lm-eval loads the adapter, and its
    probe metrics per item are those `adapters compare` computes in-process with the same adapter."""
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "hf", "--model_args",
               f"pretrained={base_lm},peft={trained / 'DD'}", "--tasks", "mmmult_probe_text,mmmult_steps_text",
               "--limit", "3", "--metadata", json.dumps({"data": str(adapter_build)}), "--log_samples",
               "--output_path", str(tmp_path)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    samples = {path.name.split("_")[2]: path for path in tmp_path.rglob("samples_*.jsonl")}
    adapted, tokenizer = load_adapted({"DD": trained / "DD"})
    for task, metrics in (("probe", ("prefers_OT", "prefers_DD", "prefers_RC", "delta_DD")), ("steps", ("gap",))):
        logged = [json.loads(line) for line in samples[task].read_text().splitlines()]
        assert len(logged) == 3
        for sample in logged:
            with _active(adapted, "DD"):
                mine = probe_scores(adapted.get_base_model(), tokenizer, sample["doc"])
            assert {m: sample[m] for m in metrics} == pytest.approx({m: mine[m] for m in metrics}, abs=1e-4)
