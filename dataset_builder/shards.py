"""Shards of an evaluation: every task's documents dealt to N shards by problem id, each shard with a balanced share
of every C band, so that N machines can each run one shard and `mmmult merge` can join them into one run.

The deal is the one source of truth: `mmmult eval --shard I/N` keeps shard I's documents with it (eval/mmmult's
`load`), and `mmmult merge` checks with it that each shard holds exactly its share of the documents the shards hold
together.

>>> deal([("p1", 10), ("p2", 30), ("p3", 12), ("p4", 40)], 2)
[1, 0, 0, 1]
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from dataset_builder.errors import UserError
from dataset_builder.problems import ALL_BANDS

MAX_SHARDS = 10_000
"""More shards than any test split has documents in a band: a larger count is a typo."""
_BAND_LOWS = tuple(low for low, _ in ALL_BANDS)


class ShardError(UserError):
    """A shard that cannot be: an index out of range, a count below 1, text that is not I/N."""


@dataclass(frozen=True)
class Shard:
    """Shard `index` (from 0) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`--shard I/N`: shard I (0 to N-1) of N.

    >>> parse_shard("2/3")
    Shard(index=2, count=3)
    """
    index, _, count = text.partition("/")
    try:
        shard = Shard(int(index), int(count))
    except ValueError:
        raise ShardError(
            f"--shard {text!r}: give the shard as I/N, shard I (from 0) of N shards, e.g. --shard 0/4"
        ) from None
    if not 1 <= shard.count <= MAX_SHARDS:
        raise ShardError(f"--shard {text}: the number of shards N must be from 1 to {MAX_SHARDS:,}")
    if not 0 <= shard.index < shard.count:
        raise ShardError(
            f"--shard {text}: shard index {shard.index} is out of range; "
            f"the {shard.count} shards are 0 to {shard.count - 1}"
        )
    return shard


def deal(documents: Sequence[tuple[str, int]], count: int) -> list[int]:
    """The shard of each (problem_id, C) document: the documents sorted by C band, then by a stable hash of the id,
    and dealt round-robin, so that every shard holds ⌊n/N⌋ or ⌈n/N⌉ of each band's n documents. A function of the
    set of documents only: not of their order, nor of the Python process (no salted hash())."""
    order = sorted(range(len(documents)), key=lambda i: (_band(documents[i][1]), _digest(documents[i][0])))
    shards = [0] * len(documents)
    for position, i in enumerate(order):
        shards[i] = position % count
    return shards


def _band(C: int) -> int:
    """The rank of C's band (0 for the first); any C has one, so probe items outside the bands are dealt too."""
    return bisect.bisect_right(_BAND_LOWS, C)


def _digest(problem_id: str) -> str:
    return hashlib.sha256(problem_id.encode()).hexdigest()
