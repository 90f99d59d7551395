"""`mmmult space deploy`: the Space folder with everything it imports, written out or uploaded to the Hub.

A Hub Space installs its requirements.txt before the rest of its repository is in place, so it
cannot install this project from a wheel kept beside it. The folder therefore carries the
packages' pure-Python core and leaderboard next to app.py, and requirements.txt names only
registry packages (the `space` extra). The result runs as `python app.py` anywhere those are
installed; tests/test_deploy.py installs it into a fresh virtual environment and opens it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from dataset_builder.hub import HubError, check_repo_id, write_token
from dataset_builder.settings import DATA_ENV, DEFAULT_RESULTS
from mmmult.leaderboard.display.serve import SpaceSetupError

SPACE_FILES = ("app.py", "README.md", "requirements.txt")
ROOT = Path(__file__).resolve().parents[3]
SPACE_SOURCE = ROOT / "space"
SHIPPED = {"dataset_builder": ("probe",), "mmmult": ("leaderboard", "probe_scoring", "queue", "statistics")}
"""What the Space imports: each package's top-level modules and these subfolders with theirs. From the core, its
definitions and the probe's sets; from mmmult, the board, its statistics, the probe's scoring and the evaluation
queue (its Requests page). The dataset build, the media, the harness, the adapters and the command line stay out."""
PUBLISHED = ROOT / DEFAULT_RESULTS
"""The published runs, which the Space stores at start (mmmult/leaderboard/published.py): they travel with it."""
LOCAL_ONLY = ("cli.py",)
"""Top-level modules a Space never runs: the command line reaches into the stages the Space leaves out."""


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
    """The packages' source files the Space needs, relative to the repository's root."""
    modules = []
    for package, subfolders in SHIPPED.items():
        modules += sorted(p for p in (ROOT / package).glob("*.py") if p.name not in LOCAL_ONLY)
        for sub in subfolders:
            modules += sorted((ROOT / package / sub).rglob("*.py"))
    return [m.relative_to(ROOT) for m in modules]


def assemble(out: str | Path) -> Path:
    """Write the Space into `out` (new or empty): app.py, README.md, requirements.txt, the package and the
    published runs."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpaceSetupError(f"{out} is not an empty folder; give --out a new or empty folder")
    sources = space_files()
    out.mkdir(parents=True, exist_ok=True)
    for name, source in sources.items():
        shutil.copyfile(source, out / name)
    for relative in package_files():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / relative, out / relative)
    if PUBLISHED.is_dir():
        shutil.copytree(PUBLISHED, out / DEFAULT_RESULTS)
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
