"""`mmmult push`: upload a finished build to the Hugging Face Hub as a dataset repository."""

from __future__ import annotations

from pathlib import Path

from dataset_builder.dataset.pipeline import MANIFEST, is_complete_build
from dataset_builder.hub import HubError, check_repo_id, write_token


def upload_plan(folder: str | Path) -> list[str]:
    """The files `push` uploads, relative to the build folder: the card and its eval.yaml, the manifest, the Parquet
    files."""
    folder = Path(folder)
    if not is_complete_build(folder):
        raise HubError(
            f"{folder} is not a complete mmmult build (no README.md and {MANIFEST}); run `mmmult build` first"
        )
    parquet = sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.parquet"))
    return ["README.md", "eval.yaml", MANIFEST, *parquet]


def push(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Create (or reuse) the dataset repo and upload the build; returns the repo's URL."""
    files = upload_plan(folder)
    check_repo_id(repo_id)
    from huggingface_hub import HfApi

    api = HfApi(token=write_token(token))
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
        raise HubError(f"upload to {repo_id} failed: {type(error).__name__}: {error}") from None
    return str(url)
