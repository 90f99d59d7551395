"""The heuristic probe as lm-eval tasks: scoring from log-likelihoods and responses, the reference
system's cost-model oracle, and a real lm-eval run of the probe's tasks on a build."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import datasets
import pytest
from scipy.special import softmax

from dataset_builder.probe.bank import PREFIXES
from mmmult.harness.reference import ReferenceCannotRead, oracle_loss
from mmmult.probe_scoring.scores import (
    PROBE_CHOICES,
    score_probe,
    score_steps,
    score_trace,
    split_results,
    step_choices,
)


def lls_for(per_byte: dict[str, float]) -> list[float]:
    """Log-likelihoods that give every prefix of a heuristic the same loss per byte."""
    return [-per_byte[h] * len(prefix.encode()) for h, prefix in PROBE_CHOICES]


def test_every_prefix_of_the_bank_is_a_choice_once() -> None:
    assert sorted(prefix for _, prefix in PROBE_CHOICES) == sorted(p for ps in PREFIXES.values() for p in ps)
    assert len(PROBE_CHOICES) == 13


def test_the_loss_probe_scores_an_item_by_hand() -> None:
    doc = {"design_family": "RC", "canonical_target_heuristic": "DD"}
    scores = score_probe(doc, lls_for({"OT": 2.0, "DD": 1.0, "RC": 3.0, "neutral": 2.5}))
    assert (scores["prefers_OT"], scores["prefers_DD"], scores["prefers_RC"]) == (0, 1, 0)
    assert scores["match"] == 1  # DD is the argmin and the cost-model optimum
    assert (scores["detect_OT"], scores["detect_DD"], scores["detect_RC"]) == (None, None, 0)
    assert scores["neutral_loss"] == pytest.approx(2.5)
    assert [scores[f"delta_{h}"] for h in ("OT", "DD", "RC")] == pytest.approx([-0.5, -1.5, 0.5])
    assert scores["support"] == pytest.approx(softmax([-2.0, -1.0, -3.0])[2])  # mass on RC, the family


def test_token_counts_give_every_loss_metric_a_second_reading_per_token() -> None:
    """Per byte DD is likeliest; with DD's prefixes taking half as many tokens per byte as the others, OT is
    likeliest per token. Expected values by hand from the per-token losses."""
    doc = {"design_family": "OT", "canonical_target_heuristic": "DD"}
    per_byte = {"OT": 2.0, "DD": 1.0, "RC": 3.0, "neutral": 2.5}
    lls = lls_for(per_byte)
    tokens = [len(prefix.encode()) // (4 if h == "DD" else 2) for h, prefix in PROBE_CHOICES]
    per_token: dict[str, list[float]] = {}
    for (h, _), ll, n in zip(PROBE_CHOICES, lls, tokens, strict=True):
        per_token.setdefault(h, []).append(-ll / n)
    mean = {h: sum(v) / len(v) for h, v in per_token.items()}
    assert min(("OT", "DD", "RC"), key=mean.get) == "OT"  # the construction does what it says
    scores = score_probe(doc, lls, tokens)
    assert [scores[f"prefers_{h}"] for h in ("OT", "DD", "RC")] == [0, 1, 0]
    assert [scores[f"prefers_{h}_per_token"] for h in ("OT", "DD", "RC")] == [1, 0, 0]
    assert (scores["match"], scores["match_per_token"]) == (1, 0)
    assert (scores["detect_OT"], scores["detect_OT_per_token"], scores["detect_DD_per_token"]) == (0, 1, None)
    assert scores["neutral_loss_per_token"] == pytest.approx(mean["neutral"])
    assert scores["delta_RC_per_token"] == pytest.approx(mean["RC"] - mean["neutral"])
    expected_support = softmax([-mean["OT"], -mean["DD"], -mean["RC"]])[0]
    assert scores["support_per_token"] == pytest.approx(expected_support)
    assert len(scores) == 2 * len(score_probe(doc, lls))


def test_lm_eval_results_are_read_with_token_counts_only_when_every_continuation_has_one() -> None:
    assert split_results([(-1.5, False, 3), (-2.0, True, 4)]) == ([-1.5, -2.0], [3, 4])
    assert split_results([(-1.5, False), (-2.0, True)]) == ([-1.5, -2.0], None)
    assert split_results([(-1.5, False, 3), (-2.0, True)]) == ([-1.5, -2.0], None)


def test_the_loss_probe_refuses_a_wrong_number_of_choices() -> None:
    with pytest.raises(ValueError, match="13 continuations per item, got 12"):
        score_probe({"design_family": "OT", "canonical_target_heuristic": "OT"}, [0.0] * 12)


def test_the_step_probe_scores_an_item_by_hand() -> None:
    choices = step_choices(47, 36)
    assert [step.text for h, step in choices if h == "DD"] == [
        "40 x 36 = 1440.", "40 x 36 = 1430.", "40 x 36 = 1450.", "40 x 36 = 144.", "40 x 36 = 14400."]  # fmt: skip
    wrong_losses = {"OT": [1.5, 1.5, 1.5, 1.5], "DD": [0.8, 0.8, 0.8, 0.8], "RC": [0.5, 1.5, 2.0, 2.0]}
    losses, seen = [], {"OT": 0, "DD": 0, "RC": 0}
    for heuristic, step in choices:
        if step.correct:
            losses.append(1.0)
        else:
            losses.append(wrong_losses[heuristic][seen[heuristic]])
            seen[heuristic] += 1
    lls = [-loss * len(step.text.encode()) for loss, (_, step) in zip(losses, choices, strict=True)]
    scores = score_steps({"problem_id": "p", "a": 47, "b": 36}, lls)
    assert (scores["prefers_correct_OT"], scores["prefers_correct_DD"], scores["prefers_correct_RC"]) == (1, 0, 1)
    assert [scores["gap_OT"], scores["gap_DD"], scores["gap_RC"]] == pytest.approx([0.5, -0.2, 0.5])
    assert scores["prefers_correct"] == pytest.approx(2 / 3)
    assert scores["gap"] == pytest.approx(0.8 / 3)


def test_a_worked_answer_gets_its_trace_class_and_error_shape() -> None:
    doc = {"a": 47, "b": 36, "target_heuristic": "DD"}
    wrong = score_trace(doc, "Break 36 into 30 + 6: 47 x 30 = 1410 and 47 x 6 = 282.\nFinal Answer: 1410")
    assert (wrong["exact_match"], wrong["trace_DD"], wrong["trace_OT"], wrong["trace_target"]) == (0, 1, 0, 1)
    assert wrong["shape_partial_product"] == 1 and wrong["shape_power_of_ten"] == 0  # 1692 - 1410 = 47 x 6
    right = score_trace(doc, "Carry the 4 in the tens column.\nFinal Answer: 1692")
    assert (right["exact_match"], right["trace_OT"], right["trace_target"]) == (1, 1, 0)
    assert right["shape_partial_product"] is None  # shapes describe wrong answers only
    absurd = score_trace(doc, "Final Answer: " + "9" * 5000)  # an honest run may hold one absurd answer
    assert (absurd["exact_match"], absurd["shape_other"], absurd["trace_unknown"]) == (0, None, 1)  # no integer read


def test_the_oracle_s_loss_is_the_cost_of_the_heuristic() -> None:
    ot, dd, rc = (next(p for h, p in PROBE_CHOICES if h == name) for name in ("OT", "DD", "RC"))
    assert [oracle_loss(47, 36, p) for p in (ot, dd, rc)] == [4.25, 5.0, 8.4]  # the worked example's costs
    assert oracle_loss(47, 36, PREFIXES["neutral"][0]) == pytest.approx((4.25 + 5.0 + 8.4) / 3)
    assert oracle_loss(47, 36, "7 x 6 = 42, write 2, carry 4.") == 1.0
    assert oracle_loss(47, 36, "7 x 6 = 41, write 1, carry 4.") == 2.0
    with pytest.raises(ReferenceCannotRead, match="scores only the heuristic probe's continuations"):
        oracle_loss(47, 36, "The answer is")


@pytest.mark.xdist_group("probe_run")  # one worker makes the run and reads it
def test_the_reference_oracle_runs_the_probe_through_lm_eval(small_build: Path, probe_run: Path) -> None:
    """Detection 100% and full agreement with the cost models, by construction; delta-losses equal the
    mean cost differences computed here from the dataset's own cost columns."""
    (results_file,) = probe_run.rglob("results_*.json")
    results = json.loads(results_file.read_text())["results"]
    hds = datasets.load_dataset(str(small_build), "hds-text", split="test").to_pandas()
    families = set(hds["design_family"])
    assert families == {"OT", "DD", "RC"}
    for task in ("mmmult_probe_text", "mmmult_probe_image"):
        probe = results[task]
        assert {h: probe[f"detect_{h},none"] for h in families} == dict.fromkeys(families, 1.0), task
        assert probe["match,none"] == 1.0
        mean_cost = hds[["ot_cost", "dd_cost", "rc_cost"]].mean(axis=1)
        for h in ("OT", "DD", "RC"):
            expected = (hds[f"{h.lower()}_cost"] - mean_cost).mean()
            assert probe[f"delta_{h},none"] == pytest.approx(expected), (task, h)
    assert results["mmmult_steps_text"]["prefers_correct,none"] == 1.0
    assert results["mmmult_steps_text"]["gap,none"] == pytest.approx(1.0)
    assert results["mmmult_hds_text"]["exact_match,none"] == 1.0
    assert results["mmmult_traps_text"]["exact_match,none"] == 1.0
    (samples_file,) = probe_run.rglob("samples_mmmult_probe_text_*.jsonl")
    samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
    assert len(samples) == len(hds)
    assert all(len(sample["resps"]) == 13 for sample in samples)
    assert not math.isnan(results["mmmult_probe_text"]["support,none"])


@pytest.mark.xdist_group("tiny_lm_run")  # one worker makes the run and reads it
def test_a_language_model_s_log_likelihoods_are_scored_per_byte_and_per_token(tiny_lm_run: Path, tiny_lm: Path) -> None:
    """lm-eval's `hf` runs the text probe and step tasks; every metric, recomputed from the logged
    log-likelihoods by the definitions (loss per byte, or per token, of the choice, mean per heuristic), agrees."""
    from transformers import AutoTokenizer

    (results_file,) = tiny_lm_run.rglob("results_*.json")
    results = json.loads(results_file.read_text())["results"]
    (probe_file,) = tiny_lm_run.rglob("samples_mmmult_probe_text_*.jsonl")
    samples = [json.loads(line) for line in probe_file.read_text().splitlines()]
    preferred = []
    for sample in samples:
        assert sample["arguments"]["gen_args_0"]["arg_0"] == sample["doc"]["stimulus"]  # the problem alone
        losses: dict[str, list[float]] = {}
        for (heuristic, prefix), resp in zip(PROBE_CHOICES, sample["resps"], strict=True):
            losses.setdefault(heuristic, []).append(-float(resp[0][0]) / len(prefix.encode()))
        mean = {h: sum(v) / len(v) for h, v in losses.items()}
        preferred.append(min(("OT", "DD", "RC"), key=mean.get))
    for h in ("OT", "DD", "RC"):
        assert results["mmmult_probe_text"][f"prefers_{h},none"] == pytest.approx(preferred.count(h) / len(samples))
    # `mmmult eval`'s hf logs each continuation's token count, which the tokenizer itself confirms
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    per_token = []
    for sample in samples:
        context, losses = sample["doc"]["stimulus"], {}
        for (heuristic, prefix), resp in zip(PROBE_CHOICES, sample["resps"], strict=True):
            count = len(tokenizer(context + " " + prefix).input_ids) - len(tokenizer(context).input_ids)
            assert int(resp[0][2]) == count, prefix
            losses.setdefault(heuristic, []).append(-float(resp[0][0]) / count)
        mean = {h: sum(v) / len(v) for h, v in losses.items()}
        per_token.append(min(("OT", "DD", "RC"), key=mean.get))
    for h in ("OT", "DD", "RC"):
        got = results["mmmult_probe_text"][f"prefers_{h}_per_token,none"]
        assert got == pytest.approx(per_token.count(h) / len(samples))
    (steps_file,) = tiny_lm_run.rglob("samples_mmmult_steps_text_*.jsonl")
    gaps = []
    for sample in (json.loads(line) for line in steps_file.read_text().splitlines()):
        by_heuristic: dict[str, dict[bool, list[float]]] = {}
        for i, resp in enumerate(sample["resps"]):
            text = sample["arguments"][f"gen_args_{i}"]["arg_1"].strip()
            heuristic, correct = judge_step(text)
            by_heuristic.setdefault(heuristic, {True: [], False: []})[correct].append(-float(resp[0][0]) / len(text))
        for losses in by_heuristic.values():
            (right,) = losses[True]
            gaps.append(sum(losses[False]) / len(losses[False]) - right)
    assert results["mmmult_steps_text"]["gap,none"] == pytest.approx(sum(gaps) / len(gaps))


def judge_step(text: str) -> tuple[str, bool]:
    """Which heuristic a first step belongs to and whether its arithmetic is right, read from its words."""
    if match := re.fullmatch(r"Round (\d+) to (\d+); the adjustment is (\d+) x (\d+) = (\d+)\.", text):
        near, base, offset, other, value = map(int, match.groups())
        return "RC", offset == abs(base - near) and value == offset * other
    if match := re.fullmatch(r"(\d) x (\d) = (\d+), write (\d), carry (\d+)\.", text):
        x, y, value, _, _ = map(int, match.groups())
        return "OT", value == x * y
    match = re.fullmatch(r"(\d+) x (\d+) = (\d+)\.", text)
    assert match, text
    head, other, value = map(int, match.groups())
    return "DD", value == head * other
