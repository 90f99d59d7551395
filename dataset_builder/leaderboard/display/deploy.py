"""`mmmult space deploy`: the Space folder with everything it imports, written out or uploaded to the Hub.

A Hub Space installs its requirements.txt before the rest of its repository is in place, so it
cannot install this project from a wheel kept beside it. The folder therefore carries the
package's pure-Python core and leaderboard next to app.py, and requirements.txt names only
registry packages (the `space` extra). The result runs as `python app.py` anywhere those are
installed; tests/test_deploy.py installs it into a fresh virtual environment and opens it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ...hub import HubError, check_repo_id, write_token
from ...settings import DATA_ENV
from .serve import SpaceSetupError

SPACE_FILES = ("app.py", "README.md", "requirements.txt")
PACKAGE = Path(__file__).resolve().parents[2]
SPACE_SOURCE = PACKAGE.parent / "space"
SUBPACKAGES = ("leaderboard", "probe", "queue")
"""What the Space imports beside the core modules (dataset_builder/*.py), with their subfolders: the board, the
probe's scoring and the evaluation queue (its Requests page); build, media and harness stay out."""
LOCAL_ONLY = ("cli.py",)
"""Core modules a Space never runs: the command line reaches into the stages the Space leaves out."""


def space_files() -> dict[str, Path]:
    """The Space's own files in this checkout (space/)."""
    missing = [name for name in SPACE_FILES if not (SPACE_SOURCE / name).is_file()]
    if missing:
        raise SpaceSetupError(
            f"the Space's files ({', '.join(missing)}) are not at {SPACE_SOURCE}: deploy from a checkout of the "
            "mmmult repository (pip install -e .)"
        )
    return {name: SPACE_SOURCE / name for name in SPACE_FILES}


def package_files() -> list[Path]:
    """The package's source files the Space needs, relative to the package folder's parent."""
    modules = sorted(p for p in PACKAGE.glob("*.py") if p.name not in LOCAL_ONLY)
    for sub in SUBPACKAGES:
        modules += sorted((PACKAGE / sub).rglob("*.py"))
    return [m.relative_to(PACKAGE.parent) for m in modules]


def assemble(out: str | Path) -> Path:
    """Write the Space into `out` (new or empty): app.py, README.md, requirements.txt and the package."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpaceSetupError(f"{out} is not an empty folder; give --out a new or empty folder")
    sources = space_files()
    out.mkdir(parents=True, exist_ok=True)
    for name, source in sources.items():
        shutil.copyfile(source, out / name)
    for relative in package_files():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE.parent / relative, out / relative)
    return out


def deploy(repo_id: str, out: str | Path | None = None, private: bool = False, data: str | None = None) -> str:
    """Assemble the Space (into `out`, or a temporary folder) and upload it; returns the Space's URL.

    `data` (a dataset repo USER/NAME) becomes the Space's MMMULT_DATA variable.
    """
    check_repo_id(repo_id)
    token = write_token()
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="mmmult-space-") as scratch:
        folder = assemble(out if out is not None else Path(scratch) / "space")
        try:
            url = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
            if data:
                api.add_space_variable(repo_id, DATA_ENV, data)
            api.upload_folder(
                repo_id=repo_id, repo_type="space", folder_path=str(folder), commit_message="Deploy the mmmult board"
            )
        except Exception as error:  # noqa: BLE001 - network, auth and server errors all end the upload the same way
            raise HubError(f"deploying the Space {repo_id} failed: {type(error).__name__}: {error}") from None
    return str(url)
