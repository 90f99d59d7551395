"""Upload a finished build to the Hugging Face Hub as a dataset repository."""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from .build import MANIFEST, is_complete_build


class PushError(RuntimeError):
    """An upload that cannot start or did not finish, with what to do about it."""


def upload_plan(folder: str | Path) -> list[str]:
    """The files `push` uploads, relative to the build folder: the card, the manifest, the Parquet files."""
    folder = Path(folder)
    if not is_complete_build(folder):
        raise PushError(
            f"{folder} is not a complete mmmult build (no README.md and {MANIFEST}); run `mmmult build` first"
        )
    parquet = sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.parquet"))
    return ["README.md", MANIFEST, *parquet]


def push(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Create (or reuse) the dataset repo and upload the build; returns the repo's URL."""
    files = upload_plan(folder)
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise PushError(f"--repo-id {repo_id!r} is not a valid repo id ({error}); use USER/NAME") from None
    if "/" not in repo_id:
        raise PushError(f"--repo-id {repo_id!r} needs an owner: use USER/NAME")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise PushError("HF_HUB_OFFLINE is set, so nothing can be uploaded; unset it on a machine with network access")
    token = token or get_token()
    if not token:
        raise PushError("no Hugging Face token: set HF_TOKEN to a token with write access, or run `hf auth login`")
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=str(folder),
            allow_patterns=files,
            commit_message="Upload mmmult build",
        )
    except Exception as error:  # noqa: BLE001 - network, auth and server errors all end the upload the same way
        raise PushError(f"upload to {repo_id} failed: {type(error).__name__}: {error}") from None
    return str(url)
