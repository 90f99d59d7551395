"""The benchmark a submission is checked against: the build's test problems, its configs and probe sets.

A board reads them once (load_reference) from a build folder or a Hub dataset repo. The build's
manifest records how its problems were drawn (Design), so a run evaluated on a fresh draw
(`mmmult build --seed S`) is checked against the same design drawn again with S (Benchmark.fresh).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dataset_builder.configs import CONFIGS, ITEM_TYPES, PROBE_CONFIGS, STIMULUS_CONFIGS, data_file_pattern
from dataset_builder.problems import DEFAULT_PER_STRATUM, DEFAULT_SEED, Bounds, problem_set
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
    draw (`mmmult build --seed S`) is checked against `fresh(S)`, regenerated here in a second.
    """

    def __init__(
        self,
        problems: dict[str, dict[str, Any]],
        configs: tuple[str, ...] = STIMULUS_CONFIGS,
        design: Design | None = Design(),
        probe: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        self.problems = problems
        self.configs = configs
        self.design = design
        self.probe = probe or {}
        """The heuristic probe's test items by set ("hds", "traps") and id; empty where the build has none."""
        self._fresh: dict[int, Benchmark] = {}

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
            self._fresh[seed] = Benchmark(self.design.test_problems(seed), self.configs, design)
        return self._fresh[seed]

    def __getitem__(self, problem_id: str) -> dict[str, Any]:
        return self.problems[problem_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)


def load_reference(build: str | Path) -> Benchmark:
    """The benchmark's test problems and configs, from a build folder or a Hub dataset repo.

    A value that is not a local folder but looks like USER/NAME is read from that dataset repo
    (only the problems' test shards and the manifest are downloaded), so a Space needs no local build.
    """
    pattern = data_file_pattern("problems", "test")
    if not Path(build).is_dir() and re.fullmatch(r"[\w.-]+/[\w.-]+", str(build)):
        build = _download_problems(str(build), pattern)
    files = sorted(Path(build).glob(pattern))
    if not files:
        raise FileNotFoundError(f"no problems/test-*.parquet in {build}: point the Space at an mmmult build")
    rows = pq.ParquetDataset(files).read().to_pylist()
    manifest = Path(build) / "manifest.json"
    facts = json.loads(manifest.read_text()) if manifest.is_file() else {"configs": STIMULUS_CONFIGS, "options": {}}
    configs = tuple(c for c in (*STIMULUS_CONFIGS, *PROBE_CONFIGS) if c in facts["configs"])
    return Benchmark({row["problem_id"]: row for row in rows}, configs, design_of(facts["options"]), _probe(build))


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


def _download_problems(repo_id: str, pattern: str) -> str:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, repo_type="dataset", allow_patterns=[pattern, "manifest.json"])
    except Exception as error:  # noqa: BLE001 (network, auth and missing-repo errors all mean the same here)
        raise FileNotFoundError(
            f"could not read the problems of the dataset repo {repo_id} ({type(error).__name__}): "
            "check the repo id, or point MMMULT_DATA at a local mmmult build"
        ) from None
