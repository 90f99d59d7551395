"""The medium a harness log's sample should have been sent, by the digest the board's build records of it.

lmms-eval and inspect-ai logs carry the sha256 of the image or clip of each sample (eval/lmms_eval/utils.py,
mmmult/harness/inspect_task.py); the board compares it with the build's (benchmark.Benchmark.media, read from the
build's manifest). Uploads read without the board's benchmark (media None) leave the media unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping

from dataset_builder.configs import CONFIGS

MediaDigests = Mapping[str, Mapping[str, str]]
"""sha256 of each test item's stored medium, by config and problem_id (dataset_builder.dataset.digests)."""


def expected_digest(media: MediaDigests | None, config: str, problem_id: str) -> str | None:
    """The digest a sample of `config` on `problem_id` must carry: None where nothing is checked (a text config, or
    no build's media), "" where the build holds no medium of it (so that every digest is refused).

    >>> media = {"image-words": {"p1": "ab"}}
    >>> expected_digest(media, "image-words", "p1"), expected_digest(media, "audio-words", "p1")
    ('ab', '')
    >>> expected_digest(media, "text-words", "p1"), expected_digest(None, "image-words", "p1")
    (None, None)
    """
    if media is None or CONFIGS[config].media_column is None:
        return None
    return media.get(config, {}).get(problem_id, "")
