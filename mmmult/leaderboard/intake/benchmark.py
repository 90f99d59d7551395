"""The benchmark a submission is checked against: the build's test problems, its configs and probe sets.

A board reads them once (load_reference) from a build folder or a Hub dataset repo, and, where it ranks the
extended set too, from that set's build beside it (a build holds one problem set: `mmmult build --set extended`
makes a build of its own). The problem ids of the two sets never meet (p..., e...), so one Benchmark holds both,
and a run is checked against the test problems of its tasks' set. A build's manifest records how its problems
were drawn (Design), so a run evaluated on a fresh draw (`mmmult build --seed S`) is checked against the same
design drawn again with S (Benchmark.fresh). The manifest also holds the digest of each test item's image or clip
(dataset_builder.dataset.digests), against which the board checks the media an lmms-eval or inspect-ai log says it
sent, whether the build is a local folder or a Hub repo. A build of the base set also names its mini split
(problems/mini-*.parquet: test problems chosen again, the same ids in every config), against which the board
checks runs of the mini tasks; a fresh draw, and a build made before the mini split existed, have none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dataset_builder.configs import (
    CONFIGS,
    EXTENDED_CONFIGS,
    EXTENDED_PROBLEM_TYPES,
    ITEM_TYPES,
    PROBE_CONFIGS,
    STIMULUS_CONFIGS,
    data_file_pattern,
)
from dataset_builder.digests import MEDIA_DIGESTS, media_digests
from dataset_builder.errors import UserError
from dataset_builder.problems import BASE, DEFAULT_PER_STRATUM, DEFAULT_SEED, EXTENDED, MINI, Bounds, problem_set
from mmmult.leaderboard.intake.upload import Rejected


@dataclass(frozen=True)
class Design:
    """How the build's problems were drawn: enough to draw the same design again with another seed."""

    per_stratum: int = DEFAULT_PER_STRATUM
    seed: int = DEFAULT_SEED
    bounds: Bounds = field(default_factory=Bounds)

    def test_problems(self, seed: int) -> dict[str, dict[str, Any]]:
        """The test problems a build of this design with `seed` holds (mmmult build --seed SEED)."""
        drawn = problem_set(self.per_stratum, seed, self.bounds)
        return {p.problem_id: p.as_dict() for p in drawn if p.split == "test"}


class Benchmark(Mapping[str, dict[str, Any]]):
    """The test problems a board checks submissions against, by problem_id, and the configs of the build.

    `design` is how the problems were drawn (None for a build from a CSV): a run evaluated on a fresh
    draw (`mmmult build --seed S`) is checked against `fresh(S)`, regenerated here in a second. `mini` names the
    test problems of the build's mini split (none: the board takes no run of the mini tasks).
    """

    def __init__(
        self,
        problems: dict[str, dict[str, Any]],
        configs: tuple[str, ...] = STIMULUS_CONFIGS,
        design: Design | None = Design(),
        probe: dict[str, dict[str, dict[str, Any]]] | None = None,
        extended: Benchmark | None = None,
        media: dict[str, dict[str, str]] | None = None,
        mini: Iterable[str] = (),
    ) -> None:
        self.problems = problems
        self.mini = frozenset(mini)
        """The problem ids of the base set's mini split, each one of `problems`; empty where the build has none."""
        stray = sorted(self.mini - problems.keys())
        if stray:
            raise BrokenBuild(f"the mini split names {len(stray)} problem(s) that are not test problems of the build "
                              f"(first {stray[0]!r}): its mini files do not belong with its test files; build it "
                              "again")  # fmt: skip
        self.extended = extended
        """The extended set's benchmark (its build's test problems and configs), where the board ranks that set."""
        beside = extended.media if extended else None
        self.media = None if media is None and beside is None else (media or {}) | (beside or {})
        """The builds' media digests by config and problem (MEDIA_DIGESTS); None where no build's media stand
        behind the problems (drawn in-process, or a fresh draw), which leaves a harness log's media unchecked."""
        self.own_configs = configs
        """The configs of this build alone (`configs` adds the extended build's)."""
        self.configs = configs + (extended.configs if extended else ())
        self.design = design
        self.probe = probe or {}
        """The heuristic probe's test items by set ("hds", "traps") and id; empty where the build has none."""
        self._fresh: dict[int, Benchmark] = {}

    def tested(self, config: str) -> int:
        """How many test problems a run of the config must answer: those of its problem set."""
        if CONFIGS[config].problem_set == EXTENDED:
            return len(self.extended.problems) if self.extended else 0
        return len(self.problems)

    @property
    def seed(self) -> int | None:
        return self.design.seed if self.design else None

    def fresh(self, seed: int) -> Benchmark:
        """The same design drawn with another seed (the problems are regenerated once per seed)."""
        if self.design is None:
            raise Rejected("this board's benchmark was built from a CSV: there is no fresh draw of it to check against")
        if seed == self.design.seed:
            return self
        if seed not in self._fresh:
            design = replace(self.design, seed=seed)
            extended = self.extended.fresh(seed) if self.extended and self.extended.design else None
            # no mini split: the mini runs of a fresh draw are refused (the board ranks the published one alone)
            self._fresh[seed] = Benchmark(self.design.test_problems(seed), self.own_configs, design, extended=extended)
        return self._fresh[seed]

    def __getitem__(self, problem_id: str) -> dict[str, Any]:
        if problem_id in self.problems or self.extended is None:
            return self.problems[problem_id]
        return self.extended[problem_id]

    def __iter__(self) -> Iterator[str]:
        yield from self.problems
        if self.extended is not None:
            yield from self.extended

    def __len__(self) -> int:
        return len(self.problems) + (len(self.extended) if self.extended else 0)


class WrongBuild(UserError):
    """A build given as the board's base or extended benchmark that holds the other problem set."""


class BrokenBuild(UserError):
    """A build whose files disagree with one another (a mini split naming problems its test split lacks)."""


def load_reference(build: str | Path, extended: str | Path | None = None) -> Benchmark:
    """The benchmark's test problems and configs, from a build folder or a Hub dataset repo of the base set, and
    with `extended`, those of a build of the extended set (`mmmult build --set extended`), ranked beside it.

    A value that is not a local folder but looks like USER/NAME is read from that dataset repo
    (only the problems' test shards and the manifest are downloaded), so a Space needs no local build.
    """
    base = _load_base(build)
    if extended is None:
        return base
    return Benchmark(base.problems, base.own_configs, base.design, base.probe, _load_extended(extended), base.media,
                     base.mini)  # fmt: skip


def _load_base(build: str | Path) -> Benchmark:
    pattern, mini = data_file_pattern("problems", "test"), data_file_pattern("problems", MINI)
    if not Path(build).is_dir() and re.fullmatch(r"[\w.-]+/[\w.-]+", str(build)):
        build = _download_problems(str(build), [pattern, mini])
    files = sorted(Path(build).glob(pattern))
    facts = _manifest(build, STIMULUS_CONFIGS)
    if not files and facts["options"].get("problem_set") == EXTENDED:
        raise WrongBuild(f"{build} is a build of the extended set: give it as the extended build (--extended-data), "
                         "and a build of the base set as the board's data")  # fmt: skip
    if not files:
        raise FileNotFoundError(f"no problems/test-*.parquet in {build}: point the Space at an mmmult build")
    rows = pq.ParquetDataset(files).read().to_pylist()
    configs = tuple(c for c in (*STIMULUS_CONFIGS, *PROBE_CONFIGS) if c in facts["configs"])
    problems = {row["problem_id"]: row for row in rows}
    return Benchmark(problems, configs, design_of(facts["options"]), _probe(build), media=_media(build, facts),
                     mini=_mini(sorted(Path(build).glob(mini))))  # fmt: skip


def _mini(files: list[Path]) -> list[str]:
    """The problem ids of a build's mini split (none for a build made before it existed)."""
    return pq.ParquetDataset(files).read(columns=["problem_id"]).column("problem_id").to_pylist() if files else []


def _load_extended(build: str | Path) -> Benchmark:
    """The extended set's test problems, read from the first of its configs the build holds (an extended build has
    no `problems` config: every config carries the same problems, paired), and the configs it holds."""
    patterns = [data_file_pattern(c, "test") for c in EXTENDED_CONFIGS]
    if not Path(build).is_dir() and re.fullmatch(r"[\w.-]+/[\w.-]+", str(build)):
        build = _download_problems(str(build), patterns)
    facts = _manifest(build, ())
    if facts["options"].get("problem_set", BASE) != EXTENDED:
        raise WrongBuild(f"{build} is not a build of the extended set (its manifest says "
                         f"{facts['options'].get('problem_set', BASE)!r}): build one with `mmmult build --set "
                         "extended`")  # fmt: skip
    configs = tuple(c for c in EXTENDED_CONFIGS if c in facts["configs"])
    files = sorted(Path(build).glob(patterns[EXTENDED_CONFIGS.index(configs[0])])) if configs else []
    if not files:
        raise FileNotFoundError(f"no extended-*/test-*.parquet in {build}: point the board at an extended build")
    rows = pq.ParquetDataset(files).read(columns=list(EXTENDED_PROBLEM_TYPES)).to_pylist()
    problems = {row["problem_id"]: row for row in rows}
    return Benchmark(problems, configs, design_of(facts["options"]), media=_media(build, facts))


def _manifest(build: str | Path, configs: tuple[str, ...]) -> dict[str, Any]:
    """A build's manifest; without one (a build from before manifests), `configs` and no options."""
    manifest = Path(build) / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else {"configs": configs, "options": {}}


def _media(build: str | Path, facts: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The build's media digests: its manifest's, or for a local build from before they were recorded, those of
    the media files on disk (none for a Hub build of that age: its media runs of lmms-eval and inspect-ai are
    then refused, naming the config)."""
    if MEDIA_DIGESTS in facts:
        return facts[MEDIA_DIGESTS]
    return media_digests(Path(build), tuple(facts["configs"]))


def _probe(build: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The test items of each probe set the build holds, read from the first of its configs on disk."""
    sets: dict[str, dict[str, dict[str, Any]]] = {}
    for name in PROBE_CONFIGS:
        items = CONFIGS[name].items
        files = sorted(Path(build).glob(data_file_pattern(name, "test")))
        if items not in sets and files:
            rows = pq.ParquetDataset(files).read(columns=list(ITEM_TYPES[items])).to_pylist()
            sets[items] = {row["problem_id"]: row for row in rows}
    return sets


def design_of(options: dict[str, Any]) -> Design | None:
    """The design a build's manifest options describe (None for a CSV build); defaults where unstated."""
    if options.get("from_csv"):
        return None
    bounds = Bounds(**{k: v for k, v in (options.get("bounds") or {}).items() if k in Bounds.__dataclass_fields__})
    return Design(int(options.get("per_stratum", DEFAULT_PER_STRATUM)), int(options.get("seed", DEFAULT_SEED)), bounds)


def _download_problems(repo_id: str, patterns: list[str]) -> str:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, repo_type="dataset", allow_patterns=[*patterns, "manifest.json"])
    except Exception as error:  # noqa: BLE001 (network, auth and missing-repo errors all mean the same here)
        raise FileNotFoundError(
            f"could not read the problems of the dataset repo {repo_id} ({type(error).__name__}): "
            "check the repo id, or point MMMULT_DATA at a local mmmult build"
        ) from None
