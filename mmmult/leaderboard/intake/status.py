"""A submission's status: how its numbers were checked, or why it does not count. One home for the words the
store writes, the table shows and the board ranks by."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Stored as its value; members in order of trust, most trusted first (a model's row shows its most trusted
    run, the newest among equals)."""

    EVALUATED = "evaluated"
    """Run by the board's own workers from an evaluation request, then re-scored like an upload."""
    RESCORED = "re-scored"
    """Uploaded, every task re-scored from its samples."""
    SELF_REPORTED = "self-reported"
    """Some task uploaded as results.json alone: its numbers are the submitter's."""
    DUPLICATE = "duplicate"
    """The same samples as an earlier submission: recorded, not counted again."""
    REJECTED = "rejected"
    """Refused: the log says why."""

    @property
    def trust(self) -> int:
        """0 for the most trusted status, then up."""
        return list(Status).index(self)

    @property
    def text(self) -> str:
        """As the table's *Checked* column says it."""
        return SHOWN.get(self, self.value)


SHOWN = {Status.EVALUATED: "evaluated by the board", Status.RESCORED: "re-scored from samples"}
TRUSTED = (Status.EVALUATED, Status.RESCORED)
"""The statuses the board shows by default."""
LEGACY = {"verified": Status.RESCORED}
"""Words stores of earlier versions wrote, and the status each means now."""
