"""The extended problem set: operands up to 30 digits, C from 101 to 3600, built into configs of its own."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import datasets
import pytest
import yaml

from dataset_builder.answers import extract_operands, operands_text, parse_operands_text
from dataset_builder.configs import CONFIG_NAMES, CONFIGS, EXTENDED_CONFIGS, config_of
from dataset_builder.dataset.pipeline import BuildError, BuildOptions, build
from dataset_builder.numbers import int_to_words
from dataset_builder.problems import (
    DEFAULT_SEED,
    EXTENDED,
    EXTENDED_BANDS,
    Bounds,
    ProblemError,
    band_of,
    design_mini,
    generate,
    generate_extended,
    mini_selection,
    read_csv,
)
from dataset_builder.scoring import BAND_METRICS, EXTENDED_BAND_METRICS, SCORES, band_scores, score_perception
from dataset_builder.stimulus import parse_stimulus
from dataset_builder.tasks import (
    EXTENDED_GROUPS,
    EXTENDED_TASKS,
    PERCEIVE,
    PERCEIVE_BUDGET,
    TASKS,
    direct_budget,
)

BASE_SHA256 = "f70b072347256a4f99801ad6cda46a1eec27fd3b73018f77a9d84913bc97d5f6"
"""sha256 of generate()'s problems as sorted JSON lines, at the commit before the extended set (02225cb)."""


@pytest.fixture(scope="module")
def extended() -> list:
    return generate_extended()


def test_the_base_set_is_unchanged_by_the_extended_one() -> None:
    problems = generate()
    lines = "\n".join(json.dumps(p.as_dict(), sort_keys=True) for p in problems)
    assert (len(problems), hashlib.sha256(lines.encode()).hexdigest()) == (10840, BASE_SHA256)


def test_every_extended_band_holds_at_least_385_test_problems(extended: list) -> None:
    tested = Counter(band_of(p.C, EXTENDED_BANDS) for p in extended if p.split == "test")
    assert dict(tested) == {
        (101, 200): 385,
        (201, 324): 386,
        (325, 625): 385,
        (626, 1225): 386,
        (1226, 2025): 385,
        (2026, 3600): 386,
    }
    assert Counter(p.split for p in extended) == {"train": 10794, "validation": 2313, "test": 2313}


def test_extended_problems_reach_30_digits_and_c_3600(extended: list) -> None:
    assert len(extended) == 15420
    assert (min(p.C for p in extended), max(p.C for p in extended)) == (102, 3600)
    assert max(p.digits_a for p in extended) == max(p.digits_b for p in extended) == 30
    assert min(p.digits_a for p in extended) == min(p.digits_b for p in extended) == 1
    assert len({p.stratum for p in extended}) == 2557
    assert all(p.a * p.b == p.product for p in extended)
    assert len({(min(p.a, p.b), max(p.a, p.b)) for p in extended}) == len(extended)
    assert [p.problem_id for p in extended[:2]] == ["e00000", "e00001"]


def test_the_anchor_bands_hold_base_strata_and_the_others_lie_beyond_them(extended: list) -> None:
    anchors = [p for p in extended if p.C <= 324]
    assert len(anchors) == 5140
    assert max(max(p.digits_a, p.digits_b) for p in anchors) == 9
    assert min(p.digit_total for p in extended if p.C > 324) == 19
    pairs = [{(min(p.a, p.b), max(p.a, p.b)) for p in problems} for problems in (extended, generate())]
    assert not pairs[0] & pairs[1]


def test_extended_test_problems_cover_each_band_evenly(extended: list) -> None:
    """Each band's strata are spread over equal slices of C: its test problems fill both halves of the band, up
    to C 3,600 (drawn over the strata alone, only 30 of 1,542 lay above C 2,600 and none above 3,190)."""
    tested = [p for p in extended if p.split == "test"]
    halves = [
        (sum(low <= p.C <= (low + high) / 2 for p in tested), sum((low + high) / 2 < p.C <= high for p in tested))
        for low, high in EXTENDED_BANDS
    ]
    assert halves == [(211, 174), (248, 138), (195, 190), (199, 187), (190, 195), (192, 194)]
    assert (sum(p.C > 2600 for p in tested), sum(p.C > 3190 for p in tested)) == (246, 97)
    assert Counter(p.C for p in tested if p.C >= 3540) == {3540: 13, 3600: 6}


def test_extended_set_is_seeded(extended: list) -> None:
    assert generate_extended() == extended
    assert generate_extended(seed=7)[0] != extended[0]


def test_extended_mini_is_30_per_band_with_its_own_stream(extended: list) -> None:
    mini = mini_selection(extended, DEFAULT_SEED, problem_set=EXTENDED)
    assert Counter(band_of(p.C, EXTENDED_BANDS) for p in mini) == dict.fromkeys(EXTENDED_BANDS, 30)
    assert {p.split for p in mini} == {"test"}
    assert mini == mini_selection(generate_extended(), DEFAULT_SEED, problem_set=EXTENDED)
    assert len(mini) == 180
    assert [p.problem_id for p in mini[:3]] == ["e00073", "e00183", "e00195"]


def test_bounds_of_the_extended_set_reach_30_digits_and_c_3600() -> None:
    Bounds(min_digits=30, max_digits=30, min_c=3600, max_c=3600, problem_set=EXTENDED)
    with pytest.raises(ProblemError) as error:
        Bounds(max_digits=31, problem_set=EXTENDED)
    assert str(error.value) == "--max-digits must be from 1 to 30, got 31"
    with pytest.raises(ProblemError) as error:
        Bounds(max_digits=12)
    assert str(error.value) == (
        "--max-digits must be from 1 to 9, got 12 (the base set's operands have at most 9 digits, its C at most "
        "324; the extended set's go to 30 digits and C 3600: build it with --set extended)"
    )
    with pytest.raises(ProblemError) as error:
        Bounds(problem_set="huge")
    assert str(error.value) == "unknown problem set 'huge'; choose from base, extended"


def test_csv_operands_of_30_digits_are_read_for_the_extended_set(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    a, b = "9" * 30, "100000000000000000000000000007"
    path.write_text(f"a,b\n{a},{b}\n47,36\n")
    problems = read_csv(path, EXTENDED)
    assert [(p.a, p.b, p.C) for p in problems] == [(int(a), int(b), 60 * 32), (47, 36, 16)]
    with pytest.raises(ProblemError) as error:
        read_csv(path)
    assert str(error.value) == (
        f"{path}, line 2: column a is {a}, outside 1 to 999999999 (operands have at most 9 digits; "
        "the extended set takes up to 30: --set extended)"
    )
    path.write_text(f"a,b\n1{a},5\n")
    with pytest.raises(ProblemError) as error:
        read_csv(path, EXTENDED)
    assert (
        str(error.value)
        == f"{path}, line 2: column a is 1{a}, outside 1 to {'9' * 30} (operands have at most 30 digits)"
    )


def test_the_default_build_makes_the_base_configs_only() -> None:
    assert BuildOptions().chosen == CONFIG_NAMES
    assert not set(CONFIG_NAMES) & set(EXTENDED_CONFIGS)
    assert (
        BuildOptions(problem_set=EXTENDED).chosen
        == EXTENDED_CONFIGS
        == (
            "extended-text-numerals",
            "extended-text-words",
            "extended-image-numerals",
            "extended-image-words",
            "extended-audio-words",
            "extended-audio-digits",
        )
    )


def test_a_build_holds_one_problem_set() -> None:
    with pytest.raises(BuildError) as error:
        BuildOptions(configs=("text-numerals", "extended-text-words"))
    assert str(error.value) == (
        "extended-text-words belong(s) to the extended set, and this build holds the base set (one set per build): "
        "build them with --set extended, into a folder of their own"
    )
    assert BuildOptions(problem_set=EXTENDED, bounds=Bounds(limit=3)).bounds == Bounds(limit=3, problem_set=EXTENDED)


EXTENDED_BOUNDS = Bounds(min_c=3500, problem_set=EXTENDED)
"""125 problems, 19 of them test, two in the extended mini split."""


@pytest.fixture(scope="module")
def text_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configs = ("extended-text-numerals", "extended-text-words")
    options = BuildOptions(configs=configs, problem_set=EXTENDED, bounds=EXTENDED_BOUNDS)
    return build(tmp_path_factory.mktemp("extended") / "data", options)


def test_extended_text_configs_load_with_load_dataset(text_build: Path) -> None:
    for config in ("extended-text-numerals", "extended-text-words"):
        splits = datasets.load_dataset(str(text_build), config)
        assert {name: len(rows) for name, rows in splits.items()} == {
            "train": 87,
            "validation": 19,
            "test": 19,
            "mini": 2,
        }
        test = splits["test"]
        assert test.features["a"].dtype == test.features["product"].dtype == "string"
        for row in test:
            assert int(row["a"]) * int(row["b"]) == int(row["product"])
            assert parse_stimulus(row["stimulus"]) == (int(row["a"]), int(row["b"]))
            assert config_of(row) == config
    mini = datasets.load_dataset(str(text_build), "extended-text-numerals", split="mini")
    assert mini["problem_id"] == [p.problem_id for p in design_mini(5, DEFAULT_SEED, EXTENDED_BOUNDS)]


def test_extended_build_card_and_manifest_name_the_extended_set(text_build: Path) -> None:
    manifest = json.loads((text_build / "manifest.json").read_text())
    assert manifest["options"]["problem_set"] == EXTENDED
    assert manifest["test_per_band"] == {
        "101-200": 0,
        "201-324": 0,
        "325-625": 0,
        "626-1225": 0,
        "1226-2025": 0,
        "2026-3600": 19,
    }
    card = (text_build / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert [c["config_name"] for c in front["configs"]] == ["extended-text-numerals", "extended-text-words"]
    assert "the extended factorial set (operands of up to 30 digits, C from 101 to 3,600)" in card


def test_every_extended_config_is_a_base_channel() -> None:
    pairs = {(CONFIGS[c].modality, CONFIGS[c].representation) for c in EXTENDED_CONFIGS}
    base = {(CONFIGS[c].modality, CONFIGS[c].representation) for c in CONFIG_NAMES if CONFIGS[c].items == "problems"}
    assert pairs == base - {(None, None)}


def test_extended_items_report_the_extended_band_metrics() -> None:
    scores = band_scores(1, 700, 35)
    assert list(scores) == list(EXTENDED_BAND_METRICS)
    assert {k: v for k, v in scores.items() if v is not None} == {"acc_C_626_1225": 1, "acc_digits_35": 1}
    assert list(band_scores(1, 40, 6)) == list(BAND_METRICS)
    assert EXTENDED_BAND_METRICS[5:9] == ("acc_C_325_625", "acc_C_626_1225", "acc_C_1226_2025", "acc_C_2026_3600")
    assert EXTENDED_BAND_METRICS[-1] == "acc_digits_60"


def test_extended_tasks_in_both_regimes_and_their_templates() -> None:
    assert not set(EXTENDED_TASKS) & set(TASKS)
    worked, direct = EXTENDED_TASKS["mmmult_extended_audio_digits"], EXTENDED_TASKS["mmmult_direct_extended_text_words"]
    assert (worked.config, worked.regime, worked.group, worked.template) == (
        "extended-audio-digits",
        "worked",
        "mmmult_extended_audio",
        "_extended_template_yaml",
    )
    assert (direct.config, direct.regime, direct.group, direct.template) == (
        "extended-text-words",
        "direct",
        "mmmult_direct_extended_text",
        "_extended_direct_template_yaml",
    )
    assert EXTENDED_TASKS["mmmult_mini_direct_extended_image_words"].split == "mini"
    folder = Path(__file__).parents[1] / "eval" / "mmmult"
    template = yaml.safe_load((folder / "_extended_template_yaml").read_text().replace("!function", ""))
    assert [m["metric"] for m in template["metric_list"]] == [*SCORES, *EXTENDED_BAND_METRICS]
    direct_yaml = yaml.safe_load((folder / "_extended_direct_template_yaml").read_text().replace("!function", ""))
    assert direct_yaml["generation_kwargs"]["max_gen_toks"] == direct_budget(30) == 136


def test_the_reference_scores_every_extended_text_item(text_build: Path, tmp_path: Path) -> None:
    tasks = "mmmult_extended_text,mmmult_direct_extended_text,mmmult_mini_extended_text_numerals"
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-reference", "--tasks", tasks,
               "--output_path", str(tmp_path), "--metadata", json.dumps({"data": str(text_build)})]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    (results_file,) = tmp_path.rglob("results_*.json")
    results = json.loads(results_file.read_text())["results"]
    exact = {
        task: results[task]["exact_match,final-integer"]
        for task in results
        if "exact_match,final-integer" in results[task]
    }
    assert exact == {
        "mmmult_extended_text": 1.0,
        "mmmult_extended_text_numerals": 1.0,
        "mmmult_extended_text_words": 1.0,
        "mmmult_direct_extended_text": 1.0,
        "mmmult_direct_extended_text_numerals": 1.0,
        "mmmult_direct_extended_text_words": 1.0,
        "mmmult_mini_extended_text_numerals": 1.0,
    }
    assert results["mmmult_extended_text_words"]["acc_C_2026_3600,final-integer"] == 1.0


def test_extended_perception_tasks_have_their_group_and_mini_twins() -> None:
    perceive = {name: task for name, task in EXTENDED_TASKS.items() if task.kind is PERCEIVE}
    assert {name: (task.config, task.split, task.group, task.template) for name, task in perceive.items()} == {
        f"mmmult{split_part}_perceive_{config.replace('-', '_')}": (
            config,
            split,
            f"mmmult{split_part}_perceive_extended",
            "_perceive_template_yaml",
        )
        for split, split_part in (("test", ""), ("mini", "_mini"))
        for config in EXTENDED_CONFIGS
    }
    groups = {group.name: group.members for group in EXTENDED_GROUPS}
    assert groups["mmmult_perceive_extended"] == (
        "mmmult_perceive_extended_text_numerals",
        "mmmult_perceive_extended_text_words",
        "mmmult_perceive_extended_image_numerals",
        "mmmult_perceive_extended_image_words",
        "mmmult_perceive_extended_audio_words",
        "mmmult_perceive_extended_audio_digits",
    )
    assert groups["mmmult_mini_perceive_extended"] == tuple(
        name.replace("mmmult_", "mmmult_mini_", 1) for name in groups["mmmult_perceive_extended"]
    )
    assert not {m for name, members in groups.items() if "perceive" not in name for m in members} & set(perceive)


def test_the_perception_budget_holds_two_30_digit_operands() -> None:
    """Two tokens a digit for 60 digits and 16 for the marker, as the direct budget counts a 60-digit product."""
    folder = Path(__file__).parents[1] / "eval" / "mmmult"
    template = yaml.safe_load((folder / "_perceive_template_yaml").read_text().replace("!function", ""))
    assert template["generation_kwargs"]["max_gen_toks"] == PERCEIVE_BUDGET == 256
    assert direct_budget(30) == 136 < PERCEIVE_BUDGET


A30, B30 = 123456789012345678901234567890, 900000000000000000000000000007


@pytest.mark.parametrize(
    "response",
    [
        f"Numbers: {A30}, {B30}",
        f"Numbers: {A30:,}, {B30:,}",
        f"Numbers: {A30:,}, {B30:,}".replace(",", " ").replace("  ", ", "),
        f"**Numbers:** ${A30}$, ${B30}$",
        f"The first is {A30} and the second {B30}.",
        f"Numbers: {int_to_words(A30)}, {int_to_words(B30)}",
    ],
)
def test_perception_reads_and_scores_30_digit_operands(response: str) -> None:
    """The `numbers` filter and the perception scores, on operands of the extended set's longest."""
    logged = operands_text(extract_operands(response))
    assert logged == f"{A30},{B30}"
    assert score_perception(parse_operands_text(logged), A30, B30) == {
        "perceive_both": 1,
        "perceive_a": 1,
        "perceive_b": 1,
    }


def test_a_30_digit_operand_one_digit_off_is_misread() -> None:
    assert score_perception(extract_operands(f"Numbers: {A30}, {B30 + 10**28}"), A30, B30) == {
        "perceive_both": 0,
        "perceive_a": 1,
        "perceive_b": 0,
    }


IMAGE_RUN_TASKS = {
    "mmmult_extended_image": "exact_match,final-integer",
    "mmmult_direct_extended_image": "exact_match,final-integer",
    **{
        f"mmmult_perceive_extended_{channel}": "perceive_both,numbers"
        for channel in ("text_numerals", "text_words", "image_numerals", "image_words")
    },
    "mmmult_mini_perceive_extended_image_numerals": "perceive_both,numbers",
}
"""What the reference runs on the image build: the image channel's tasks in both regimes, and perception on text and
images (the group mmmult_perceive_extended would need the audio configs too)."""


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One lm-eval run of the reference on a build of the text and image configs of the 125 problems with C of at
    least 3500 (two 30-digit operands each, 19 of them test): about 40 s, most of it tesseract."""
    folder = tmp_path_factory.mktemp("extended-images")
    configs = ("extended-text-numerals", "extended-text-words", "extended-image-numerals", "extended-image-words")
    data = build(folder / "data", BuildOptions(configs=configs, problem_set=EXTENDED, bounds=EXTENDED_BOUNDS))
    command = [sys.executable, "-m", "mmmult.cli", "eval", "--model", "mmmult-reference", "--tasks",
               ",".join(IMAGE_RUN_TASKS), "--log_samples", "--output_path", str(folder / "run"),
               "--metadata", json.dumps({"data": str(data)})]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return folder / "run"


@pytest.mark.xdist_group("extended_image_run")  # one worker makes the run and reads it
def test_the_reference_scores_every_extended_image_task_in_both_regimes(image_run: Path) -> None:
    (results_file,) = image_run.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    headline = {
        task: results["results"][task][key]
        for group, key in IMAGE_RUN_TASKS.items()
        for task in [group, *(t.name for t in EXTENDED_TASKS.values() if t.group == group)]
    }
    assert headline == {
        "mmmult_extended_image": 1.0,
        "mmmult_extended_image_numerals": 1.0,
        "mmmult_extended_image_words": 1.0,
        "mmmult_direct_extended_image": 1.0,
        "mmmult_direct_extended_image_numerals": 1.0,
        "mmmult_direct_extended_image_words": 1.0,
        "mmmult_perceive_extended_text_numerals": 1.0,
        "mmmult_perceive_extended_text_words": 1.0,
        "mmmult_perceive_extended_image_numerals": 1.0,
        "mmmult_perceive_extended_image_words": 1.0,
        "mmmult_mini_perceive_extended_image_numerals": 1.0,
    }
    sizes = {task: n["effective"] for task, n in results["n-samples"].items()}
    assert sizes == {task: 2 if "mini" in task else 19 for task in sizes} and len(sizes) == 9


@pytest.mark.xdist_group("extended_image_run")  # one worker makes the run and reads it
def test_the_reference_reads_30_digit_operands_from_the_extended_images(image_run: Path) -> None:
    """Perception logs the two operands it read, and the direct regime asks within its 136 tokens."""
    samples = {
        path.name.removeprefix("samples_").rsplit("_", 1)[0]: [
            json.loads(line) for line in path.read_text().splitlines()
        ]
        for path in image_run.rglob("samples_*.jsonl")
    }
    logged = samples["mmmult_perceive_extended_image_numerals"]
    assert {(len(s["doc"]["a"]), len(s["doc"]["b"])) for s in logged} == {(30, 30)}
    assert [s["filtered_resps"][0] for s in logged] == [f"{s['doc']['a']},{s['doc']['b']}" for s in logged]
    direct = samples["mmmult_direct_extended_image_words"]
    assert {s["arguments"]["gen_args_0"]["arg_1"]["max_gen_toks"] for s in direct} == {136}
    assert [s["resps"][0][0] for s in direct] == [f"Final Answer: {s['doc']['product']}" for s in direct]
