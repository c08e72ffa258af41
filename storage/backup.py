"""What a backup of the tables may hold: no salt, no keyed hash, nothing that links a person.

An export is read by whoever holds the files, for as long as they are kept, and alongside the
secret if that ever leaks: it leaves out everything that only exists to recognise a person
again. So a backup holds every poll as closed, with its tally counted at export time and no
salt; no vote rows and no index of open polls; and every Appendix F aggregate without its salt
and keyed hashes (`Salt`, `Folded0`, `Folded1`, ...), its answer count kept as `Answers`.
Restoring such a backup gives closed polls with their results, and assessments that count
their answers but can no longer tell who answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

# Tables whose rows are all links between a person and an answer, or pointers to open polls.
LEFT_OUT = frozenset({"votes", "openpolls"})
_FOLDED = re.compile(r"^Folded\d+$")


class BackupFilter:
    """Turns the rows read from the tables into the rows a backup holds."""

    def __init__(self, exported_at: datetime) -> None:
        self._exported_at = exported_at
        self._votes: dict[str, list[list[int]]] = {}

    def count_votes(self, votes: Iterable[Mapping[str, Any]]) -> None:
        """Read the votes of open polls, so their polls are exported with a tally."""
        for vote in votes:
            self._votes.setdefault(vote["PartitionKey"], []).append(json.loads(vote["Choices"]))

    def row(self, table: str, entity: Mapping[str, Any]) -> dict[str, Any] | None:
        """The entity as a backup holds it, or None if it stays out."""
        if table in LEFT_OUT:
            return None
        if table == "polls":
            return self._poll(entity)
        if table == "assessments":
            return _aggregate(entity)
        return dict(entity)

    def _poll(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        poll = {k: v for k, v in entity.items() if k != "Salt"}
        if poll.get("Status") != "closed":
            options = len(json.loads(poll["Options"]))
            counts = [0] * options
            votes = self._votes.get(poll["RowKey"], [])
            for choices in votes:
                for pick in choices:
                    if 0 <= pick < options:
                        counts[pick] += 1
            poll.update(
                Status="closed",
                Results=json.dumps(counts),
                Voters=len(votes),
                ClosedAt=self._exported_at,
                Cutoff=self._exported_at,
            )
        return poll


def _aggregate(entity: Mapping[str, Any]) -> dict[str, Any] | None:
    if entity.get("RowKey") != "aggregate":
        return None  # a receipt row of an earlier version: its row key is a person's hash
    parts: list[str] = []
    while (part := entity.get(f"Folded{len(parts)}")) is not None:
        parts.append(part)
    folded = "".join(parts)
    kept = {k: v for k, v in entity.items() if k != "Salt" and not _FOLDED.match(k)}
    if "Answers" not in kept:
        kept["Answers"] = len(json.loads(folded or "[]"))
        # No salt left: the backup's copy counts as closed, so nothing waits to close it.
        kept.pop("ClosesAt", None)
    return kept
