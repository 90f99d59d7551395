"""The board's published runs: run folders kept with the board (results/<system>/<run>/), stored at start.

A run folder holds lm-eval's results and samples files, `command.txt` (how it was made) and `provenance.json`
(the model's name, family and size on the board, how the run was made, and the sha256 of every other file of the
folder; benchmarks/published.py writes it). Before a run is stored, its folder must hold exactly the files its
provenance lists, each with its sha256: a missing, altered or added file refuses the whole run, naming the file,
and nothing of it is stored. A run passing that check is then checked and re-scored like any upload, against the
board's build; a run already on the board (the same samples) is not stored again, so a restarted board that keeps
its store loads nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.names import InvalidField, check_name, check_params
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.schema import SchemaError, parse_json, validate
from mmmult.leaderboard.intake.upload import Rejected, read_upload, sha256_file
from mmmult.leaderboard.storage.store import Entry, Store

PROVENANCE = "provenance.json"
COMMAND = "command.txt"
SUBMITTER = "mmmult (published runs)"
MAX_PROVENANCE_BYTES = 1 << 20
MAX_RUNS = 200
"""Run folders a board reads at most: more is a mistake in the folder given, not a results dataset."""


class Provenance(BaseModel):
    """What the board reads of a run's provenance.json (the rest is for people)."""

    model_config = ConfigDict(extra="allow")

    model: str
    family: str
    params_b: float | None = None
    files: dict[str, str] = Field(min_length=1)


@dataclass(frozen=True)
class PublishedRun:
    """A run folder whose files are exactly those its provenance lists, unaltered."""

    folder: Path
    name: str
    provenance: Provenance

    @property
    def data_files(self) -> list[Path]:
        """The lm-eval files the board checks and stores (results and samples)."""
        return [self.folder / name for name in sorted(self.provenance.files) if name.endswith((".json", ".jsonl"))]


def seal(folder: Path, facts: dict[str, Any]) -> Path:
    """Write `folder`'s provenance.json: `facts` (model, family and params_b at least) and the sha256 of every other
    file in the folder, which read_run checks."""
    files = {path.name: sha256_file(path) for path in sorted(folder.iterdir()) if path.name != PROVENANCE}
    validate(Provenance, facts | {"files": files}, PROVENANCE)
    (folder / PROVENANCE).write_text(json.dumps(facts | {"files": files}, indent=2) + "\n")
    return folder / PROVENANCE


def run_folders(root: Path) -> list[Path]:
    """The run folders under `root`: those holding a provenance.json, in name order."""
    folders = sorted(path.parent for path in root.rglob(PROVENANCE))
    if len(folders) > MAX_RUNS:
        raise Rejected(f"{root} holds {len(folders)} run folders; a board reads at most {MAX_RUNS}")
    return folders


def read_run(folder: Path, root: Path) -> PublishedRun:
    """The run in `folder`, once its files are shown to be exactly those its provenance lists."""
    name = folder.relative_to(root).as_posix()
    path = folder / PROVENANCE
    if path.stat().st_size > MAX_PROVENANCE_BYTES:
        raise Rejected(f"{name}/{PROVENANCE} is over {MAX_PROVENANCE_BYTES // 1024} KB")
    try:
        provenance = validate(Provenance, parse_json(path.read_bytes(), f"{name}/{PROVENANCE}"), f"{name}/{PROVENANCE}")
        check_name(provenance.model, "model")
        check_name(provenance.family, "family")
        check_params(provenance.params_b)
    except (SchemaError, InvalidField) as error:
        raise Rejected(f"{name}/{PROVENANCE}: {error}") from None
    for file in sorted(provenance.files):
        if Path(file).name != file or file.startswith("."):
            raise Rejected(f"{name}/{PROVENANCE} lists {file!r}, which is no file name: it lists its folder's files")
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or not entry.is_file():
            raise Rejected(f"{name}/{entry.name} is not a plain file: a run folder holds only its files")
    present = {p.name for p in folder.iterdir() if p.name != PROVENANCE}
    for file in sorted(present - set(provenance.files)):
        raise Rejected(f"{name}/{file} is not listed in its {PROVENANCE}: a run folder holds only the files it lists")
    for file, digest in sorted(provenance.files.items()):
        if file not in present or not (folder / file).is_file():
            raise Rejected(f"{name}/{file} is missing: the run's {PROVENANCE} lists it")
        if sha256_file(folder / file) != digest:
            raise Rejected(f"{name}/{file} was altered: its sha256 is not the one its {PROVENANCE} lists")
    return PublishedRun(folder, name, provenance)


def store_run(store: Store, benchmark: Benchmark, run: PublishedRun) -> str:
    """Check, re-score and store one verified run, unless its samples are on the board already: what happened."""
    upload = read_upload([(path.name, path) for path in run.data_files], benchmark.media)
    verdict = check(upload, benchmark)
    if store.original_of(verdict.samples_hash) is not None:
        return f"{run.name}: on the board already"
    entry = Entry(run.provenance.model, run.provenance.family, SUBMITTER, True, run.provenance.params_b)
    sid = store.add(entry, upload, verdict)
    samples = sum(task.n for task in verdict.tasks)
    return f"{run.name}: submission #{sid} {store.submission(sid)['status']} ({samples} samples)"


def load_published(store: Store, benchmark: Benchmark, root: Path) -> list[str]:
    """Store every run under `root` that passes its checks; a line per run saying what happened or why not (none
    where `root` is no folder: a board without published runs)."""
    if not root.is_dir():
        return []
    lines = []
    for folder in run_folders(root):
        try:
            lines.append(store_run(store, benchmark, read_run(folder, root)))
        except Rejected as error:
            lines.append(f"refused: {error}")
    return lines
