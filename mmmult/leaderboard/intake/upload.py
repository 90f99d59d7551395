"""Reading an upload safely: loose .json/.jsonl files or one .zip, unpacked to a private folder on disk.

A zip is read member by member in small blocks, counting the bytes it really decompresses (the
sizes its header declares are not trusted), and refused at the first member that is encrypted,
corrupt, a link, nested, oddly named or compressed with anything but stored or deflate. Nothing
is held in memory whole: samples are read line by line later (rescore.py), so a large honest run
and a hostile archive cost the server the same small amount of memory. The results file's provenance is
read (provenance.py) and the file is rewritten without its secrets (scrub.py) before anything keeps it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from mmmult.leaderboard.intake.inspect_log import LogRefused, as_lm_eval_files
from mmmult.leaderboard.intake.lmms_log import as_lm_eval
from mmmult.leaderboard.intake.media import MediaDigests
from mmmult.leaderboard.intake.provenance import Provenance, read_provenance
from mmmult.leaderboard.intake.schema import Results, SchemaError, parse_json, validate
from mmmult.leaderboard.intake.scrub import scrub

MAX_UPLOAD_BYTES = 50 * 2**20
MAX_UNPACKED_BYTES = 500 * 2**20
MAX_ZIP_MEMBERS = 200
MAX_RESULTS_BYTES = 20 * 2**20
BLOCK = 2**20
SAFE_PART = re.compile(r"[A-Za-z0-9._+=@,-]{1,128}")
"""One folder or file name inside a zip: what lm-eval writes (model names with __, dates with T and :)."""
ARCHIVE_FAULTS = (zipfile.BadZipFile, zlib.error, struct.error, OSError, EOFError, ValueError, NotImplementedError,
                  RuntimeError)  # fmt: skip
"""What zipfile raises for a damaged archive: a bad header or CRC, a broken deflate stream (zlib.error), a cut
one (EOFError), a field it cannot unpack (struct.error), a name it cannot decode (ValueError)."""
IGNORED = ("__MACOSX/", ".DS_Store")
"""What archivers add beside the files (macOS resource forks): skipped, never read."""


class Rejected(ValueError):
    """A submission that cannot be accepted; the message names the problem and what to do."""


@dataclass
class Upload:
    """One submission's files, unpacked into a private folder that lives as long as this object."""

    results: Results
    samples: dict[str, str]
    """The name of each task's samples file."""
    files: dict[str, Path]
    """Where each file of the upload was unpacked, by its name (the results file with its secrets scrubbed)."""
    provenance: Provenance = field(default_factory=Provenance)
    """How the run was made, as its results file says."""
    _scratch: Any = field(repr=False, default=None)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_upload(files: list[tuple[str, bytes | Path]], media: MediaDigests | None = None) -> Upload:
    """Unpack and sort an upload: exactly one results_*.json and one samples_<task>_*.jsonl per task. The media an
    lmms-eval or inspect-ai log names are checked against `media`, the board's build's (Benchmark.media)."""
    sizes = [len(data) if isinstance(data, bytes) else Path(data).stat().st_size for _, data in files]
    if sum(sizes) > MAX_UPLOAD_BYTES:
        raise Rejected(f"the upload is {sum(sizes) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        files = as_lm_eval_files(files, media)  # an inspect-ai log becomes the lm-eval files it stands for
    except LogRefused as error:
        raise Rejected(str(error)) from None
    scratch = tempfile.TemporaryDirectory(prefix="mmmult-upload-")
    folder = Path(scratch.name)
    kept: dict[str, Path] = {}
    budget = [MAX_UNPACKED_BYTES]
    for name, data in files:
        suffix = PurePosixPath(name).suffix.lower()
        with _open(data) as source:
            if suffix == ".zip":
                _unzip(name, source, folder, kept, budget)
            elif suffix in (".json", ".jsonl"):
                _keep(PurePosixPath(name).name, name, source, folder, kept, budget)
            else:
                raise Rejected(f"{name}: only .json, .jsonl and .zip files are accepted")
    return _sort(kept, scratch, media)


def _open(data: bytes | Path) -> IO[bytes]:
    return io.BytesIO(data) if isinstance(data, bytes) else Path(data).open("rb")


def _keep(name: str, shown: str, source: IO[bytes], folder: Path, kept: dict[str, Path], budget: list[int]) -> None:
    """Copy one file into the folder in blocks, charging its bytes to the upload's budget."""
    if not SAFE_PART.fullmatch(name) or not name.endswith((".json", ".jsonl")):
        raise Rejected(
            f"{shown}: a file name lm-eval does not write; upload the run's results_*.json and samples_*.jsonl"
        )
    if name in kept:
        raise Rejected(f"two files are named {name}: upload one run at a time")
    target = folder / f"{len(kept):04d}-{name}"
    with target.open("wb") as out:
        for block in iter(lambda: source.read(BLOCK), b""):
            budget[0] -= len(block)
            if budget[0] < 0:
                raise Rejected(f"the upload unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB")
            out.write(block)
    kept[name] = target


def _unzip(name: str, source: IO[bytes], folder: Path, kept: dict[str, Path], budget: list[int]) -> None:
    try:
        archive = zipfile.ZipFile(source)
        infos = archive.infolist()
    except ARCHIVE_FAULTS:
        raise Rejected(f"{name} is not a valid zip file") from None
    members = [i for i in infos if not i.is_dir() and not i.filename.startswith(IGNORED)]
    if len(members) > MAX_ZIP_MEMBERS:
        raise Rejected(f"{name} holds {len(members)} files; the limit is {MAX_ZIP_MEMBERS}")
    for info in members:
        where = f"{name}: member {info.filename!r}"
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise Rejected(f"{where} has an absolute or parent path")
        if not all(SAFE_PART.fullmatch(part) for part in path.parts):
            raise Rejected(f"{where} has a name lm-eval does not write (letters, digits and ._+=@,- only)")
        if path.name.startswith("._"):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            raise Rejected(f"{where} is a symbolic link")
        if info.flag_bits & 0x1:
            raise Rejected(f"{where} is encrypted; zip the files without a password")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Rejected(f"{where} uses compression method {info.compress_type}; use plain zip (deflate)")
        if path.suffix.lower() == ".zip":
            raise Rejected(f"{where} is a zip inside the zip; upload the run's files in one zip")
        if path.suffix.lower() not in (".json", ".jsonl"):
            raise Rejected(f"{where} is not a .json or .jsonl file of an lm-eval run")
        try:
            with archive.open(info) as member:
                _keep(path.name, where, member, folder, kept, budget)
        except Rejected:
            raise
        except ARCHIVE_FAULTS as error:
            raise Rejected(f"{where} is corrupt ({type(error).__name__}); zip the files again") from None


def _sort(kept: dict[str, Path], scratch: tempfile.TemporaryDirectory, media: MediaDigests | None) -> Upload:
    try:
        kept = as_lm_eval(kept, Path(scratch.name), media)  # lmms-eval's files become the lm-eval files they stand for
    except SchemaError as error:
        raise Rejected(str(error)) from None
    results_files = [n for n in kept if n.startswith("results") and n.endswith(".json")]
    if len(results_files) != 1:
        found = f"found {len(results_files)}" + (f" ({', '.join(sorted(results_files))})" if results_files else "")
        raise Rejected(f"expected exactly one results_*.json from lm-eval, {found}: upload one run at a time")
    (results_name,) = results_files
    results_path = kept[results_name]
    if results_path.stat().st_size > MAX_RESULTS_BYTES:
        raise Rejected(f"{results_name} is over {MAX_RESULTS_BYTES // 2**20} MB; lm-eval's results file is small")
    try:
        raw = parse_json(results_path.read_bytes(), results_name, True)
        results = validate(Results, raw, results_name)
        provenance = read_provenance(raw, results_name)
    except SchemaError as error:
        raise Rejected(str(error)) from None
    sample_names = sorted(n for n in kept if n.startswith("samples_") and n.endswith(".jsonl"))
    samples: dict[str, str] = {}
    for name in sample_names:
        task = name.removeprefix("samples_").rsplit("_", 1)[0]
        if task in samples:
            raise Rejected(f"two samples files for {task}: upload one run at a time")
        samples[task] = name
    stray = sorted(set(kept) - {results_name, *sample_names})
    if stray:
        raise Rejected(f"{', '.join(stray)}: not a results_*.json or samples_<task>_*.jsonl file of lm-eval")
    results_path.write_text(json.dumps(scrub(raw), indent=2))  # what the store keeps: no secret of the run
    return Upload(results, samples, kept, provenance, scratch)
