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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
from tqdm.auto import tqdm

from ..configs import CONFIG_NAMES, CONFIGS, SAMPLING_RATE
from ..errors import UserError
from ..media.codec import AudioCodec
from ..media.readers import Transcriber
from ..media.tts import TTSSettings
from ..problems import (
    C_BANDS,
    DEFAULT_PER_STRATUM,
    DEFAULT_SEED,
    Bounds,
    Problem,
    band_of,
    problem_set,
    read_csv,
    select,
)
from . import versions
from .builder import MMMult, write_problems
from .card import write_card
from .rows import Renderers
from .verify import verifiable, verify_config

MANIFEST = "manifest.json"
MAX_RECORDED_FAILURES = 20
log = logging.getLogger(__name__)


class BuildError(UserError):
    """A build that cannot start or finish, with what to do about it."""


@dataclass(frozen=True)
class BuildOptions:
    """Everything that decides what a build writes."""

    configs: tuple[str, ...] = CONFIG_NAMES
    seed: int = DEFAULT_SEED
    per_stratum: int = DEFAULT_PER_STRATUM
    bounds: Bounds = field(default_factory=Bounds)
    from_csv: str | None = None
    num_proc: int = 1
    tts: TTSSettings = field(default_factory=TTSSettings)
    codec: AudioCodec = field(default_factory=AudioCodec)
    font_path: str | None = None
    verify_sample: int | None = None
    """Read back this many items of each config (OCR, ASR) and record the figures; None skips it."""

    def __post_init__(self) -> None:
        unknown = [name for name in self.configs if name not in CONFIGS]
        if unknown:
            raise BuildError(f"unknown config(s) {', '.join(unknown)}; choose from {', '.join(CONFIG_NAMES)}")
        if not self.configs:
            raise BuildError(f"no configs chosen; choose from {', '.join(CONFIG_NAMES)}")
        if self.num_proc < 1:
            raise BuildError(f"--num-proc must be at least 1, got {self.num_proc}")


def load_problems(options: BuildOptions) -> list[Problem]:
    """The problems of a build: the default factorial set or a CSV, within the bounds."""
    if options.from_csv:
        problems = select(read_csv(options.from_csv), options.bounds, options.seed)
    else:
        problems = problem_set(options.per_stratum, options.seed, options.bounds)
    if not problems:
        raise BuildError("no problem is left within the given bounds; widen --min/--max-digits or --min/--max-c")
    if not any(p.split == "test" for p in problems):
        log.warning("no problem is in the test split: the lm-eval tasks and the leaderboard evaluate on test only")
    return problems


def fingerprint(problems: list[Problem]) -> str:
    """sha256 over every problem's id, operands and split: equal fingerprints mean the same problem set."""
    canonical = "\n".join(f"{p.problem_id},{p.a},{p.b},{p.split}" for p in problems)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_per_band(problems: list[Problem]) -> dict[str, int]:
    """Test problems per C band ("4-25": 385, ...), as the card reports them."""
    counts = Counter(band_of(p.C) for p in problems if p.split == "test")
    return {f"{low}-{high}": counts[(low, high)] for low, high in C_BANDS}


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
    problems = load_problems(options)
    renderers = Renderers(Path(options.font_path) if options.font_path else None, options.tts, options.codec)
    media = {CONFIGS[name].modality for name in options.configs}
    provenance = _provenance(renderers, media)
    staging = out.parent / f".{out.name}.partial"
    state = _open_staging(staging, options, problems)
    write_problems(problems, state / "problems.json")

    logging.getLogger("datasets").setLevel(logging.ERROR)
    for name in tqdm(options.configs, desc="configs", unit="config"):
        if not (state / name / datasets.config.DATASET_INFO_FILENAME).is_file():
            _build_config(name, staging, state, options, renderers)

    infos = {name: datasets.DatasetInfo.from_directory(str(state / name)) for name in options.configs}
    shutil.rmtree(state)
    files = {str(p.relative_to(staging)): sha256_file(p) for p in sorted(staging.rglob("*.parquet"))}
    manifest = {
        "mmmult_version": versions.package_version(),
        "options": _options_dict(options),
        "num_problems": len(problems),
        "fingerprint": fingerprint(problems),
        "test_per_band": test_per_band(problems),
        "configs": {name: {s: i.num_examples for s, i in infos[name].splits.items()} for name in options.configs},
        "renderers": provenance,
        "versions": versions.library_versions(),
        "files": files,
    }
    write_card(staging, infos, manifest)
    if options.verify_sample:  # reads the staged build through its card, then adds the figures to it
        manifest["verification"] = _verification(staging, options)
        write_card(staging, infos, manifest)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
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


def _open_staging(staging: Path, options: BuildOptions, problems: list[Problem]) -> Path:
    """The staging folder's state directory, kept when it was made with the same options, else fresh."""
    state = staging / ".state"
    key = json.dumps({"options": _options_dict(options), "fingerprint": fingerprint(problems)}, sort_keys=True)
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
            problems_file=str(state / "problems.json"),
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
    for name in filter(verifiable, options.configs):
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
    values["configs"] = list(options.configs)
    if options.from_csv:
        values["from_csv"] = {"file": Path(options.from_csv).name, "sha256": sha256_file(Path(options.from_csv))}
    return values


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
