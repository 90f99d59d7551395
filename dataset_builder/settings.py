"""Every setting mmmult reads from the environment, and every default path, in one place.

space/README.md lists these for a Space's owner; the command line's defaults are the same paths.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV, DEFAULT_DATA = "MMMULT_DATA", "mmmult-data"
"""The build the tasks, the board and the workers read: a folder or a Hub dataset repo USER/NAME."""
EXTENDED_DATA_ENV = "MMMULT_EXTENDED_DATA"
"""A build of the extended set (`mmmult build --set extended`) that the board ranks too, beside MMMULT_DATA's; a folder
or a Hub dataset repo USER/NAME, none when unset."""
DB_ENV, DEFAULT_DB = "MMMULT_SPACE_DB", "space-data/board.sqlite"
"""The board's SQLite store."""
QUEUE_ENV = "MMMULT_QUEUE"
"""The evaluation queue: a folder, or hf://datasets/OWNER/NAME (default: a queue folder beside the store)."""
API_MODELS_ENV = "MMMULT_API_MODELS"
"""A JSON file of the API models the board's owner lets the workers run; none when unset."""
REPO_ENV, SYNC_ENV, DEFAULT_SYNC_MINUTES = "MMMULT_SPACE_REPO", "MMMULT_SPACE_SYNC_MINUTES", 5.0
"""The dataset repo the board's store is kept in, and how often it is copied there (minutes)."""
OAUTH_ENV = "OAUTH_CLIENT_ID"
"""Set by the Hub in a Space with Hugging Face sign-in: the submit form then takes the signed-in account."""
RESULTS_ENV, DEFAULT_RESULTS = "MMMULT_RESULTS", "results"
"""The board's published runs (a folder of run folders, mmmult/leaderboard/published.py), stored at start where the
folder exists; the repository's results/ travels with a deployed Space."""
CACHE_ENV = "MMMULT_CACHE"
"""The folder of mmmult's caches (the readings of media); default $XDG_CACHE_HOME/mmmult, else ~/.cache/mmmult.

It lies outside every build, whose files are fingerprinted, and is shared by every process of the user."""


def setting(name: str, default: str | None = None) -> str | None:
    """The environment's value of a setting, or `default` when it is unset or empty."""
    return os.environ.get(name) or default


def cache_folder() -> Path:
    """The folder MMMULT_CACHE names, else mmmult's folder in the user's cache ($XDG_CACHE_HOME or ~/.cache)."""
    chosen = setting(CACHE_ENV)
    if chosen is not None:
        return Path(chosen)
    return Path(setting("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmmult"
