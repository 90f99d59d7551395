"""A whole build: problems -> every requested config as Parquet -> card and manifest, atomically.

Work happens in a hidden staging folder beside the output (`.<name>.partial`). Each finished
config is recorded there, so a rerun with the same options resumes after the last finished
config; a rerun with other options starts over. Only a complete build is moved to the output
path, so a folder at that path is always complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import datasets
from tqdm.auto import tqdm

from dataset_builder import interrupts
from dataset_builder.configs import CONFIG_NAMES, CONFIGS, SAMPLING_RATE, configs_of_set
from dataset_builder.dataset import versions
from dataset_builder.dataset.builder import MMMult, write_items
from dataset_builder.dataset.card import write_card
from dataset_builder.dataset.rows import Renderers
from dataset_builder.dataset.verify import verifiable, verify_config
from dataset_builder.digests import MEDIA_DIGESTS, media_digests
from dataset_builder.errors import UserError
from dataset_builder.media.codec import AudioCodec
from dataset_builder.media.readers import Transcriber
from dataset_builder.media.tts import TTSSettings
from dataset_builder.probe.sets import balanced, generate_hds, generate_traps, read_hds_csv, read_traps_csv
from dataset_builder.probe.training import TRACE_SPLITS, trace_rows
from dataset_builder.problems import (
    BASE,
    DEFAULT_PER_STRATUM,
    DEFAULT_SEED,
    MINI,
    PROBLEM_SETS,
    Bounds,
    Problem,
    design_mini,
    mini_selection,
    problem_set,
    read_csv,
    select,
)

MANIFEST = "manifest.json"
MAX_RECORDED_FAILURES = 20
log = logging.getLogger(__name__)


class BuildError(UserError):
    """A build that cannot start or finish, with what to do about it."""


@dataclass(frozen=True)
class BuildOptions:
    """Everything that decides what a build writes."""

    configs: tuple[str, ...] | None = None
    """The configs to build, or None for every config of the problem set that the problems can make: all but
    traces when no problem is in train or validation (naming traces for such problems is refused)."""
    problem_set: str = BASE
    """The factorial set a build holds (problems.PROBLEM_SETS): one per build, so that its card, bands and mini
    split are those of one design; the extended set's configs are named extended-*."""
    seed: int = DEFAULT_SEED
    per_stratum: int = DEFAULT_PER_STRATUM
    bounds: Bounds = field(default_factory=Bounds)
    from_csv: str | None = None
    hds_csv: str | None = None
    """The heuristic-disagreement set from this CSV (the paper's released columns) instead of the generator."""
    traps_csv: str | None = None
    num_proc: int = 1
    tts: TTSSettings = field(default_factory=TTSSettings)
    codec: AudioCodec = field(default_factory=AudioCodec)
    font_path: str | None = None
    verify_sample: int | None = None
    """Read back this many items of each config (OCR, ASR) and record the figures; None skips it."""

    def __post_init__(self) -> None:
        if self.problem_set not in PROBLEM_SETS:
            raise BuildError(f"unknown problem set {self.problem_set!r}; choose from {', '.join(PROBLEM_SETS)}")
        if self.bounds.problem_set != self.problem_set:  # the bounds' ranges are checked against this set
            object.__setattr__(self, "bounds", replace(self.bounds, problem_set=self.problem_set))
        unknown = [name for name in self.chosen if name not in CONFIGS]
        if unknown:
            raise BuildError(f"unknown config(s) {', '.join(unknown)}; choose from {', '.join(CONFIG_NAMES)}")
        if not self.chosen:
            raise BuildError(f"no configs chosen; choose from {', '.join(CONFIG_NAMES)}")
        other = [name for name in self.chosen if CONFIGS[name].problem_set != self.problem_set]
        if other:
            sets = sorted({CONFIGS[name].problem_set for name in other})
            raise BuildError(
                f"{', '.join(other)} belong(s) to the {' and '.join(sets)} set, and this build holds the "
                f"{self.problem_set} set (one set per build): build them with --set {sets[0]}, "
                "into a folder of their own"
            )
        if self.num_proc < 1:
            raise BuildError(f"--num-proc must be at least 1, got {self.num_proc}")
        if self.from_csv and self.bounds.with_mini:
            raise BuildError(
                "--with-mini keeps the default design's mini split in a sample of it, and --from-csv builds the "
                "problems of a CSV, whose mini split is drawn from the problems it keeps: drop one of the two"
            )
        for option, items in (("hds_csv", "hds"), ("traps_csv", "traps")):
            if getattr(self, option) and not any(CONFIGS[name].items == items for name in self.chosen):
                flag = "--" + option.replace("_", "-")
                raise BuildError(f"{flag} is read only for the {items}-* configs; add one to --configs or drop {flag}")

    @property
    def chosen(self) -> tuple[str, ...]:
        """The configs named, or every config of the problem set."""
        return configs_of_set(self.problem_set) if self.configs is None else self.configs


def load_problems(options: BuildOptions) -> list[Problem]:
    """The problems of a build: the default factorial set or a CSV, within the bounds."""
    if options.from_csv:
        problems = select(read_csv(options.from_csv, options.problem_set), options.bounds, options.seed)
    else:
        problems = problem_set(options.per_stratum, options.seed, options.bounds)
    if not problems:
        raise BuildError("no problem is left within the given bounds; widen --min/--max-digits or --min/--max-c")
    if not any(p.split == "test" for p in problems):
        log.warning("no problem is in the test split: the lm-eval tasks and the leaderboard evaluate on test only")
    return problems


def mini_rows(options: BuildOptions) -> list[dict[str, Any]]:
    """The mini split's rows: copies of test problems (problems.mini_selection) whose split says mini. Drawn
    from the whole default design even for a subset build (whole, within the digit and C bounds, with
    --with-mini), or from a CSV's test problems."""
    if options.from_csv:
        chosen = mini_selection(load_problems(options), options.seed, problem_set=options.problem_set)
    else:
        chosen = design_mini(options.per_stratum, options.seed, options.bounds)
    return [problem.as_dict() | {"split": MINI} for problem in chosen]


def load_probe_items(options: BuildOptions) -> dict[str, list[dict[str, Any]]]:
    """The probe sets the chosen configs draw from, as rows: generated with the build's seed, or read
    from --hds-csv / --traps-csv; --limit keeps a subset balanced over families and trap types (the
    digit and C bounds are for the factorial problems: the probe sets have their own design), except with
    --with-mini, which keeps the sets whole: a build that holds what the published runs answered holds their
    probe items too."""
    wanted = {CONFIGS[name].items for name in options.chosen}
    limit = None if options.bounds.with_mini else options.bounds.limit
    sets: dict[str, list[dict[str, Any]]] = {}
    if "hds" in wanted:
        hds = read_hds_csv(options.hds_csv) if options.hds_csv else generate_hds(seed=options.seed)
        sets["hds"] = [item.row() for item in balanced(hds, lambda item: item.design_family, limit)]
    if "traps" in wanted:
        traps = read_traps_csv(options.traps_csv) if options.traps_csv else generate_traps(seed=options.seed)
        sets["traps"] = [item.row() for item in balanced(traps, lambda item: item.trap_type, limit)]
    for name, rows in sets.items():
        if not rows:
            raise BuildError(f"the {name} set is empty; give a CSV with at least one item")
    return sets


def buildable_configs(options: BuildOptions, problems: list[dict[str, Any]]) -> tuple[str, ...]:
    """The configs a build makes of these problems. The traces config (probe/training.py) is made of the train
    and validation problems: without any, it is left out of the default configs, in one logged line, and
    refused when named."""
    traces = next((name for name in options.chosen if CONFIGS[name].items == "traces"), None)
    if traces is None or any(problem["split"] in TRACE_SPLITS for problem in problems):
        return options.chosen
    why = f"needs train or validation problems, and {_only_test(options)}"
    if options.configs is not None:
        remedy = (
            "widen them"
            if options.bounds != Bounds(problem_set=options.problem_set)
            else "add train or validation rows"
        )
        raise BuildError(f"the {traces} config {why}; {remedy} or leave {traces} out of --configs")
    log.warning("skipping the %s config: it %s", traces, why)
    return tuple(name for name in options.chosen if name != traces)


def _only_test(options: BuildOptions) -> str:
    """What left a build with test problems only: its CSV, or the bounds given (of the CSV or the default set)."""
    source = options.from_csv or (
        "the default set" if options.problem_set == BASE else f"the {options.problem_set} set"
    )
    if options.bounds != Bounds(problem_set=options.problem_set):
        return f"the given bounds leave only test problems of {source}"
    return f"{source} has only test problems"


def fingerprint(items: list[dict[str, Any]]) -> str:
    """sha256 over every item's id, operands and split: equal fingerprints mean the same item set."""
    canonical = "\n".join(f"{i['problem_id']},{i['a']},{i['b']},{i['split']}" for i in items)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_per_band(problems: list[dict[str, Any]], problem_set: str = BASE) -> dict[str, int]:
    """Test problems per C band of the problem set ("4-25": 385, ...), as the card reports them."""
    bands = PROBLEM_SETS[problem_set].bands
    counts = Counter(p["C"] for p in problems if p["split"] == "test")
    return {f"{low}-{high}": sum(n for C, n in counts.items() if low <= C <= high) for low, high in bands}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_complete_build(path: Path) -> bool:
    return (path / MANIFEST).is_file() and (path / "README.md").is_file()


def build(out: str | Path, options: BuildOptions, overwrite: bool = False) -> Path:
    """Build the dataset into `out` and return its path."""
    out = Path(out).absolute()
    _check_target(out, overwrite)
    problems = [p.as_dict() for p in load_problems(options)]
    options = replace(options, configs=buildable_configs(options, problems))
    items = {"problems": problems} | load_probe_items(options)
    if any(CONFIGS[name].items == "traces" for name in options.chosen):
        items["traces"] = trace_rows(problems)
    renderers = Renderers(Path(options.font_path) if options.font_path else None, options.tts, options.codec)
    media = {CONFIGS[name].modality for name in options.chosen}
    provenance = _provenance(renderers, media)
    staging = out.parent / f".{out.name}.partial"
    state = _open_staging(staging, options, items)
    for name, rows in items.items():
        write_items(rows + (mini_rows(options) if name == "problems" else []), state / f"{name}.json")

    logging.getLogger("datasets").setLevel(logging.ERROR)
    for name in tqdm(options.chosen, desc="configs", unit="config"):
        if not (state / name / datasets.config.DATASET_INFO_FILENAME).is_file():
            _build_config(name, staging, state, options, renderers)
        interrupts.check()  # before the next config, and before the build is published

    infos = {name: datasets.DatasetInfo.from_directory(str(state / name)) for name in options.chosen}
    shutil.rmtree(state)
    files = {str(p.relative_to(staging)): sha256_file(p) for p in sorted(staging.rglob("*.parquet"))}
    manifest = {
        "mmmult_version": versions.package_version(),
        "options": _options_dict(options),
        "num_problems": len(problems),
        "fingerprint": fingerprint(problems),
        "test_per_band": test_per_band(problems, options.problem_set),
        "configs": {name: {s: i.num_examples for s, i in infos[name].splits.items()} for name in options.chosen},
        "renderers": provenance,
        "versions": versions.library_versions(),
        "files": files,
        MEDIA_DIGESTS: media_digests(staging, options.chosen),
    }
    probe = {name: rows for name, rows in items.items() if name in ("hds", "traps")}
    if probe:
        manifest["probe_sets"] = {name: _probe_set(name, rows, options) for name, rows in probe.items()}
    write_card(staging, infos, manifest)
    if options.verify_sample:  # reads the staged build through its card, then adds the figures to it
        manifest["verification"] = _verification(staging, options)
        write_card(staging, infos, manifest)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    interrupts.check()
    _publish(staging, out)
    return out


def _check_target(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise BuildError(f"{out} is a file; give --out a new or empty folder")
    if is_complete_build(out):
        if not overwrite:
            raise BuildError(f"{out} already holds a complete mmmult build; pass --overwrite to replace it")
    elif any(out.iterdir()):
        raise BuildError(f"{out} holds other files and is not an mmmult build; give --out a new or empty folder")


def _open_staging(staging: Path, options: BuildOptions, items: dict[str, list[dict[str, Any]]]) -> Path:
    """The staging folder's state directory, kept when it was made with the same options, else fresh."""
    state = staging / ".state"
    prints = {name: fingerprint(rows) for name, rows in items.items()}
    key = json.dumps({"options": _options_dict(options), "fingerprints": prints}, sort_keys=True)
    if (state / "options.json").is_file() and (state / "options.json").read_text() == key:
        log.info("resuming the unfinished build in %s", staging)
    elif staging.exists():
        log.info("discarding an unfinished build made with other options in %s", staging)
        shutil.rmtree(staging)
    state.mkdir(parents=True, exist_ok=True)
    (state / "options.json").write_text(key)
    return state


def _build_config(name: str, staging: Path, state: Path, options: BuildOptions, renderers: Renderers) -> None:
    """Render one config into `<staging>/<config>/<split>-NNNNN-of-NNNNN.parquet` and record it done."""
    target = staging / name
    if target.exists():
        shutil.rmtree(target)
    with tempfile.TemporaryDirectory(dir=state) as work:
        builder = MMMult(
            config_name=name,
            dataset_name="mmmult",
            items_file=str(state / f"{CONFIGS[name].items}.json"),
            renderers=renderers,
            cache_dir=str(Path(work) / "cache"),
        )
        prepared = Path(work) / "prepared"
        builder.download_and_prepare(
            output_dir=str(prepared),
            file_format="parquet",
            num_proc=options.num_proc if CONFIGS[name].modality in ("image", "audio") else None,
        )
        target.mkdir()
        for split in builder.info.splits:
            pattern = re.compile(rf"mmmult-{re.escape(split)}(-\d+-of-\d+)?\.parquet")
            shards = sorted(p for p in prepared.glob("*.parquet") if pattern.fullmatch(p.name))
            for i, shard in enumerate(shards):
                shutil.move(shard, target / f"{split}-{i:05d}-of-{len(shards):05d}.parquet")
        info = Path(work) / "info"
        info.mkdir()
        builder.info.write_to_directory(str(info))
        info.rename(state / name)


def _verification(staging: Path, options: BuildOptions) -> dict[str, Any]:
    """Read-back figures per config for the manifest and the card (see `mmmult verify`)."""
    transcriber = Transcriber()
    figures = {}
    for name in filter(verifiable, options.chosen):
        report = verify_config(staging, name, options.verify_sample, transcriber)
        figures[name] = {
            "checked": report.checked,
            "exact": report.exact,
            "share": report.share,
            "failures": [asdict(f) for f in report.failures[:MAX_RECORDED_FAILURES]],
        }
    return figures


def _provenance(renderers: Renderers, media: set[str | None]) -> dict[str, Any]:
    """What drew the images and spoke the audio; also fails early when a renderer is missing."""
    provenance: dict[str, Any] = {}
    if "image" in media:
        provenance["image"] = renderers.image.describe()
    if "audio" in media:
        speech = asdict(renderers.speech_info) | {"sampling_rate": SAMPLING_RATE}
        provenance["audio"] = speech | renderers.codec.describe()
    return provenance


def _options_dict(options: BuildOptions) -> dict[str, Any]:
    values = asdict(options)
    values["configs"] = list(options.chosen)
    if not options.bounds.with_mini:  # stated where set: a build without it keeps the manifest it always had
        del values["bounds"]["with_mini"]
    for source in ("from_csv", "hds_csv", "traps_csv"):
        if values[source]:
            values[source] = {"file": Path(values[source]).name, "sha256": sha256_file(Path(values[source]))}
    return values


def _probe_set(name: str, rows: list[dict[str, Any]], options: BuildOptions) -> dict[str, Any]:
    """Where a probe set came from and what it holds, for the manifest and the card."""
    source = options.hds_csv if name == "hds" else options.traps_csv
    return {
        "source": f"CSV {Path(source).name}" if source else f"generated, seed {options.seed}",
        "items": len(rows),
        "splits": dict(Counter(row["split"] for row in rows)),
        "fingerprint": fingerprint(rows),
    }


def _publish(staging: Path, out: Path) -> None:
    """Move the finished staging folder to `out`, replacing an earlier complete build or empty folder."""
    if out.exists():
        retired = out.parent / f".{out.name}.old"
        shutil.rmtree(retired, ignore_errors=True)
        out.rename(retired)
        staging.rename(out)
        shutil.rmtree(retired)
    else:
        staging.rename(out)
