from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
from dataclasses import asdict
from pathlib import Path

import av
import datasets
import pandas as pd
import pytest
import soundfile
import yaml
from PIL import Image

import dataset_builder.dataset.pipeline as build_module
from dataset_builder.citation import BIBTEX
from dataset_builder.configs import CONFIG_NAMES, CONFIGS, HDS_TYPES, PROBLEM_TYPES, TRAP_TYPES
from dataset_builder.dataset.pipeline import (
    MANIFEST,
    BuildError,
    BuildOptions,
    build,
    buildable_configs,
    load_problems,
    sha256_file,
)
from dataset_builder.probe.sets import HDS_COLUMNS, TRAP_COLUMNS, generate_hds, generate_traps
from dataset_builder.problems import PROBLEM_FIELDS, SPLITS, Bounds, ProblemError
from dataset_builder.stimulus import stimulus


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


def test_schema_lists_every_problem_field_in_order() -> None:
    assert tuple(PROBLEM_TYPES) == PROBLEM_FIELDS


def test_layout_is_a_hub_dataset_repo(small_build: Path) -> None:
    assert (small_build / "README.md").is_file()
    built = manifest(small_build)["configs"]
    for name in CONFIG_NAMES:
        assert sorted(p.name for p in (small_build / name).iterdir()) == sorted(
            f"{split}-00000-of-00001.parquet" for split in built[name]
        )
        expected = {"traps": ("test",), "traces": ("train", "validation")}.get(CONFIGS[name].items, SPLITS)
        assert tuple(built[name]) == expected, name
    assert not list(small_build.parent.glob(".*.partial"))
    recorded = manifest(small_build)["files"]
    assert recorded == {str(p.relative_to(small_build)): sha256_file(p) for p in sorted(small_build.rglob("*.parquet"))}


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_load_dataset_gives_typed_columns(small_build: Path, name: str) -> None:
    data = datasets.load_dataset(str(small_build), name)
    counts = manifest(small_build)["configs"][name]
    assert {split: len(data[split]) for split in data} == counts
    first = next(iter(data.values()))  # test, or train for the traces (which hold no test problem)
    features = first.features
    assert features["product"] == datasets.Value("int64")
    assert features["C"] == datasets.Value("int32")
    spec = CONFIGS[name]
    if spec.modality == "image":
        assert features["image"] == datasets.Image()
    if spec.modality == "audio":
        assert features["audio"] == datasets.Audio(sampling_rate=16000)
    if spec.modality is not None:
        row = first.select_columns(["modality", "representation"])[0]
        assert (row["modality"], row["representation"]) == (spec.modality, spec.representation)


def test_image_config_loads_images(small_build: Path) -> None:
    test = datasets.load_dataset(str(small_build), "image-numerals", split="test")
    image = test[0]["image"]
    assert isinstance(image, Image.Image) and image.mode == "L"


def test_audio_reads_without_torch(small_build: Path) -> None:
    test = datasets.load_dataset(str(small_build), "audio-digits", split="test")
    row = test.cast_column("audio", datasets.Audio(decode=False))[0]
    samples, rate = soundfile.read(io.BytesIO(row["audio"]["bytes"]), dtype="int16")
    assert rate == 16000 and samples.ndim == 1 and len(samples) > rate
    settings = (row["tts_backend"], row["tts_voice"], row["tts_rate"], row["tts_word_gap"])
    assert settings == ("espeak-ng", "en-us", 160, 5)
    assert (row["audio_codec"], row["audio_kbps"], row["audio"]["path"]) == ("opus", 16, f"{row['problem_id']}.opus")
    assert manifest(small_build)["renderers"]["audio"] == {
        "backend": "espeak-ng",
        "engine_version": row["tts_engine_version"],
        "voice": "en-us",
        "rate": 160,
        "word_gap": 5,
        "sampling_rate": 16000,
        "codec": "opus",
        "kbps": 16,
        "complexity": 1,
    }
    recorded = manifest(small_build)["versions"]
    assert (recorded["av"], recorded["libavcodec"]) == (
        av.__version__,
        ".".join(map(str, av.library_versions["libavcodec"])),
    )


def load_all(folder: Path, name: str) -> pd.DataFrame:
    return datasets.concatenate_datasets(list(datasets.load_dataset(str(folder), name).values())).to_pandas()


@pytest.mark.parametrize("items", ["problems", "hds", "traps"])
def test_items_are_paired_across_configs(small_build: Path, items: str) -> None:
    names = [name for name, spec in CONFIGS.items() if spec.items == items and spec.problem_set == "base"]
    tables = {name: load_all(small_build, name).drop(columns=["image", "audio"], errors="ignore") for name in names}
    keys = ["problem_id", "a", "b", "product", "C", "split"]
    reference = tables[names[0]][keys]
    assert len(reference) == {"problems": 40, "hds": 40, "traps": 30}[items]
    for name, table in tables.items():
        assert table[keys].equals(reference), name
        if CONFIGS[name].representation:
            representation = CONFIGS[name].representation
            sentences = [stimulus(a, b, representation) for a, b in zip(table["a"], table["b"], strict=True)]
            assert table["stimulus"].tolist() == sentences, name
    if items == "problems":
        assert tables["text-words"]["stimulus"].equals(tables["image-words"]["stimulus"])
        assert tables["text-words"]["stimulus"].equals(tables["audio-words"]["stimulus"])


def test_card_yaml_declares_configs_and_features(small_build: Path) -> None:
    front = (small_build / "README.md").read_text().split("---")[1]
    meta = yaml.safe_load(front)
    assert meta["license"] == "cc-by-4.0"
    assert {c["config_name"] for c in meta["configs"]} == set(CONFIG_NAMES)
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    image_features = {f["name"]: f["dtype"] for f in infos["image-words"]["features"]}
    assert image_features["image"] == "image"
    assert {s["name"]: s["num_examples"] for s in infos["text-numerals"]["splits"]} == manifest(small_build)["configs"][
        "text-numerals"
    ]
    body = (small_build / "README.md").read_text()
    assert "<!-- build-summary -->" not in body and "<!-- citation -->" not in body
    assert f"## Citation\n\n```bibtex\n{BIBTEX}\n```" in body
    assert manifest(small_build)["fingerprint"][:16] in body
    engine = manifest(small_build)["renderers"]["audio"]["engine_version"]
    assert f"Audio: espeak-ng {engine}, voice en-us, rate 160, word gap 5; stored as Opus at 16 kbit/s." in body


def test_two_builds_are_byte_identical(small_build: Path, small_options: BuildOptions, tmp_path: Path) -> None:
    again = build(tmp_path / "again", small_options)
    assert manifest(again)["files"] == manifest(small_build)["files"]
    assert (again / "README.md").read_bytes() == (small_build / "README.md").read_bytes()


QUICK = BuildOptions(
    configs=("text-numerals", "text-words", "image-numerals", "problems"), bounds=Bounds(max_digits=2, limit=12)
)


def test_interrupted_build_leaves_no_output_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = build_module._build_config
    built: list[str] = []

    def interrupt_third(name: str, *args: object) -> None:
        if len(built) == 2:
            raise KeyboardInterrupt
        built.append(name)
        real(name, *args)

    monkeypatch.setattr(build_module, "_build_config", interrupt_third)
    out = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        build(out, QUICK)
    assert not out.exists()
    assert (tmp_path / ".data.partial").is_dir()

    built.clear()
    monkeypatch.setattr(build_module, "_build_config", lambda name, *args: (built.append(name), real(name, *args)))
    build(out, QUICK)
    assert built == ["image-numerals", "problems"]
    assert set(manifest(out)["configs"]) == set(QUICK.configs)
    assert not (tmp_path / ".data.partial").exists()


def test_a_ctrl_c_whose_exception_was_lost_still_stops_the_build_before_it_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python drops an exception a signal handler raises inside a finaliser; the recorded request still stops
    the build after the config in progress, and the build resumes from there."""
    from dataset_builder import interrupts

    real = build_module._build_config
    built: list[str] = []

    def lose_the_interrupt_in_the_second(name: str, *args: object) -> None:
        built.append(name)
        real(name, *args)
        if len(built) == 2:
            with contextlib.suppress(KeyboardInterrupt):  # as a finaliser swallows what the handler raised
                interrupts.request()

    monkeypatch.setattr(build_module, "_build_config", lose_the_interrupt_in_the_second)
    out = tmp_path / "data"
    try:
        with pytest.raises(KeyboardInterrupt):
            build(out, QUICK)
    finally:
        interrupts.clear()
    assert built == ["text-numerals", "text-words"] and not out.exists()
    built.clear()
    monkeypatch.setattr(build_module, "_build_config", lambda name, *args: (built.append(name), real(name, *args)))
    build(out, QUICK)
    assert built == ["image-numerals", "problems"] and set(manifest(out)["configs"]) == set(QUICK.configs)


def test_rerun_with_other_options_restarts(tmp_path: Path) -> None:
    out = tmp_path / "data"
    staging = tmp_path / ".data.partial"
    (staging / ".state").mkdir(parents=True)
    (staging / ".state" / "options.json").write_text("{}")
    (staging / "stale").mkdir()
    build(out, QUICK)
    assert not (out / "stale").exists()


def test_refuses_a_folder_that_holds_something_else(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="holds other files and is not an mmmult build"):
        build(tmp_path, QUICK)


def test_complete_build_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    out = build(tmp_path / "data", QUICK)
    with pytest.raises(BuildError, match="pass --overwrite"):
        build(out, QUICK)
    smaller = BuildOptions(configs=("problems",), bounds=Bounds(max_digits=1, limit=5))
    build(out, smaller, overwrite=True)
    assert manifest(out)["num_problems"] == 5
    assert sorted(p.name for p in out.iterdir()) == sorted(["README.md", "eval.yaml", MANIFEST, "problems"])


def test_unknown_config_is_named() -> None:
    with pytest.raises(BuildError, match="unknown config\\(s\\) image-braille; choose from text-numerals"):
        BuildOptions(configs=("image-braille",))


def test_csv_build_keeps_ids_and_splits(tmp_path: Path) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("id,a,b,a_times_b,split\nq1,47,36,1692,train\nq2,8004004,500,4002002000,test\n")
    out = build(tmp_path / "data", BuildOptions(configs=("text-words",), from_csv=str(grid)))
    test = datasets.load_dataset(str(out), "text-words", split="test")
    assert test[0]["problem_id"] == "q2"
    assert test[0]["stimulus"] == "What is eight million four thousand four times five hundred?"
    assert test[0]["C"] == 40
    assert set(datasets.load_dataset(str(out), "text-words")) == {"train", "test", "mini"}  # q2 alone in its band


def test_audio_decodes_the_way_datasets_users_decode_it(small_build: Path) -> None:
    pytest.importorskip("torchcodec", reason="decoding needs torch, torchcodec and ffmpeg (CI installs them)")
    row = datasets.load_dataset(str(small_build), "audio-words", split="test")[0]
    decoded = row["audio"].get_all_samples()
    assert decoded.sample_rate == 16000
    assert decoded.data.shape[0] == 1 and decoded.data.shape[1] > 16000
    undecoded = datasets.load_dataset(str(small_build), "audio-words", split="test").cast_column(
        "audio", datasets.Audio(decode=False)
    )[0]
    samples, _ = soundfile.read(io.BytesIO(undecoded["audio"]["bytes"]), dtype="float32")
    assert decoded.data.shape[1] == len(samples)  # torchcodec and soundfile give the same clip


def test_probe_rows_follow_the_schema() -> None:
    assert tuple(generate_hds(size=3)[0].row()) == tuple(HDS_TYPES)
    assert tuple(generate_traps()[0].row()) == tuple(TRAP_TYPES)
    item = generate_hds(size=3)[0]
    row = item.row()
    assert (row["problem_id"], row["C"], row["a"] * row["b"]) == (item.id, item.complexity_c, row["product"])


def test_probe_configs_carry_the_paper_s_columns_from_csv(tmp_path: Path) -> None:
    """`--hds-csv` and `--traps-csv` build the probe configs from the released files' rows, unchanged;
    `--limit` keeps a subset balanced over families and trap types."""
    hds, traps = generate_hds(size=30, seed=5), generate_traps(seed=5)
    for path, columns, items in (
        (tmp_path / "hds.csv", HDS_COLUMNS, hds),
        (tmp_path / "traps.csv", TRAP_COLUMNS, traps),
    ):
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(asdict(item) for item in items)
    options = BuildOptions(configs=("hds-text", "traps-text"), hds_csv=str(tmp_path / "hds.csv"),
                           traps_csv=str(tmp_path / "traps.csv"), bounds=Bounds(limit=9))  # fmt: skip
    out = build(tmp_path / "data", options)
    rows = load_all(out, "hds-text")
    assert rows["design_family"].value_counts().to_dict() == {"RC": 3, "DD": 3, "OT": 3}
    first_rc = next(item for item in hds if item.design_family == "RC")
    row = rows.set_index("problem_id").loc[first_rc.id]
    assert (row["a"], row["b"], row["rc_cost"], row["canonical_target_margin"], row["category"]) == (
        first_rc.a, first_rc.b, first_rc.rc_cost, first_rc.canonical_target_margin, first_rc.category)  # fmt: skip
    assert row["stimulus"] == stimulus(first_rc.a, first_rc.b, "numerals")
    trap_rows = load_all(out, "traps-text")
    assert set(trap_rows["split"]) == {"test"}
    assert trap_rows["trap_type"].value_counts().to_dict() == {"carry_bomb": 3, "missing_term": 2, "anti_round": 2,
                                                               "sign_trap": 2}  # fmt: skip
    facts = manifest(out)["probe_sets"]
    assert facts["hds"]["source"] == "CSV hds.csv" and facts["hds"]["items"] == 9
    assert manifest(out)["options"]["hds_csv"] == {"file": "hds.csv", "sha256": sha256_file(tmp_path / "hds.csv")}
    body = (out / "README.md").read_text()
    assert (
        f"Probe set `traps`: 9 items (9 test), CSV traps.csv (fingerprint `{facts['traps']['fingerprint'][:16]}`)."
        in body
    )


def test_a_probe_csv_with_a_wrong_derived_column_stops_the_build(tmp_path: Path) -> None:
    path = tmp_path / "hds.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, HDS_COLUMNS)
        writer.writeheader()
        writer.writerow(asdict(generate_hds(size=3)[0]) | {"dd_cost": 1.0})
    with pytest.raises(ProblemError, match=r"hds.csv, line 2: dd_cost is '1.0', but the definitions give"):
        build(tmp_path / "data", BuildOptions(configs=("hds-text",), hds_csv=str(path)))
    with pytest.raises(ProblemError, match=r"nothing.csv: no such file"):
        build(tmp_path / "data", BuildOptions(configs=("hds-text",), hds_csv=str(tmp_path / "nothing.csv")))
    assert not (tmp_path / "data").exists()
    with pytest.raises(BuildError, match="--traps-csv is read only for the traps-\\* configs; add one to --configs"):
        BuildOptions(configs=("hds-text",), traps_csv=str(path))


ONLY_TEST = {"per_stratum": 1, "bounds": Bounds(min_c=324)}
"""Options whose default-set problems are all test problems (the four of C 324 that one per stratum draws)."""


def test_bounds_that_leave_only_test_problems_leave_traces_out_of_the_default_configs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    options = BuildOptions(**ONLY_TEST)
    problems = [problem.as_dict() for problem in load_problems(options)]
    assert [problem["split"] for problem in problems] == ["test"] * 4
    with caplog.at_level(logging.WARNING, logger=build_module.__name__):
        assert buildable_configs(options, problems) == tuple(name for name in CONFIG_NAMES if name != "traces")
    assert caplog.messages == [
        "skipping the traces config: it needs train or validation problems, and the given bounds leave only test "
        "problems of the default set"
    ]


def test_traces_named_for_bounds_that_leave_only_test_problems_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as error:
        build(tmp_path / "data", BuildOptions(configs=("problems", "traces"), **ONLY_TEST))
    assert str(error.value) == (
        "the traces config needs train or validation problems, and the given bounds leave only test problems of "
        "the default set; widen them or leave traces out of --configs"
    )
    assert not (tmp_path / "data").exists()


def test_default_configs_keep_traces_for_a_validation_problem_alone() -> None:
    options = BuildOptions(bounds=Bounds(limit=1))
    problems = [problem.as_dict() for problem in load_problems(options)]
    assert [problem["split"] for problem in problems] == ["validation"]
    assert buildable_configs(options, problems) == CONFIG_NAMES
