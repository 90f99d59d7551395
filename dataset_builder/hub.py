"""What every upload to the Hugging Face Hub checks before it starts: a USER/NAME repo id, network, a token."""

from __future__ import annotations

import os

from dataset_builder.errors import UserError


class HubError(UserError):
    """An upload that cannot start or did not finish, with what to do about it."""


def check_repo_id(repo_id: str) -> None:
    """Refuse anything but OWNER/NAME in the Hub's own rules, before any network is touched."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise HubError(f"--repo-id {repo_id!r} is not a valid repo id ({error}); use USER/NAME") from None
    if "/" not in repo_id:
        raise HubError(f"--repo-id {repo_id!r} needs an owner: use USER/NAME")


def write_token(token: str | None = None) -> str:
    """The token to upload with: the one given, else HF_TOKEN or the stored login; refused when offline."""
    from huggingface_hub import get_token

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise HubError("HF_HUB_OFFLINE is set, so nothing can be uploaded; unset it on a machine with network access")
    token = token or get_token()
    if not token:
        raise HubError("no Hugging Face token: set HF_TOKEN to a token with write access, or run `hf auth login`")
    return token
