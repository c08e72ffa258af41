"""Appendix F: anonymous assessments of the facilitator, stored only as aggregates.

Nothing here holds a person's id, name or the time of one person's answer. Each session has one
aggregate entity and nothing else: counts per item and rating, the comments in a shuffled list
with only the day, and the keys of the people folded in. A key is a keyed hash of the person
made with the session's own salt; the keys sit in the same entity as the counts, so they tell
who answered (to refuse a second answer) but never which answer was whose. Every write is
guarded by the ETag, so two answers of one person, however concurrent, are folded once.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import date

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from storage.errors import WriteConflict, translated

_AGGREGATE = "aggregate"
# Azure Tables caps a string property at 64 KiB; long JSON is spread over numbered properties.
_CHUNK = 30_000
_MAX_CHUNKS = 30


@dataclass
class Aggregate:
    """All answers of one session folded together."""

    session_id: str
    salt: str
    ratings: dict[str, list[int]] = field(default_factory=dict)  # item -> counts of 1..5
    comments: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # item -> entries
    folded: list[str] = field(default_factory=list)
    etag: str | None = None

    @property
    def answers(self) -> int:
        """How many people's answers are folded in."""
        return len(self.folded)


class AssessmentRepository:
    """One aggregate entity per session, read and replaced whole under its ETag."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translated
    async def aggregate(self, session_id: str) -> Aggregate:
        """The session's aggregate, created empty (with a fresh salt) the first time."""
        try:
            entity = await self._table.get_entity(session_id, _AGGREGATE)
        except ResourceNotFoundError:
            fresh = Aggregate(session_id, secrets.token_hex(16))
            try:
                created = await self._table.create_entity(_to_entity(fresh))
            except ResourceExistsError:
                # Made meanwhile (or our own insert, its answer lost): theirs has the salt.
                entity = await self._table.get_entity(session_id, _AGGREGATE)
            else:
                return replace(fresh, etag=created["etag"])
        return _from_entity(entity)

    @translated
    async def save(self, aggregate: Aggregate) -> Aggregate:
        """Replace the aggregate if unchanged since read (else WriteConflict); what was written."""
        try:
            written = await self._table.update_entity(
                _to_entity(aggregate),
                mode=UpdateMode.REPLACE,
                etag=aggregate.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("aggregate changed since it was read") from error
        # The entity is now exactly what we sent: no need to read it back.
        return replace(aggregate, etag=written["etag"])


def today_only(day: date) -> str:
    """Comments keep only the day they were written."""
    return day.isoformat()


def _chunks(name: str, value: str) -> dict[str, str]:
    parts = [value[i : i + _CHUNK] for i in range(0, len(value), _CHUNK)] or [""]
    if len(parts) > _MAX_CHUNKS:
        raise ValueError(f"{name} is too large to store")
    return {f"{name}{n}": part for n, part in enumerate(parts)}


def _joined(entity: dict, name: str) -> str:
    parts = []
    for n in range(_MAX_CHUNKS):
        part = entity.get(f"{name}{n}")
        if part is None:
            break
        parts.append(part)
    return "".join(parts)


def _to_entity(aggregate: Aggregate) -> dict:
    entity = {
        "PartitionKey": aggregate.session_id,
        "RowKey": _AGGREGATE,
        "Salt": aggregate.salt,
        "Ratings": json.dumps(aggregate.ratings),
    }
    entity.update(_chunks("Comments", json.dumps(aggregate.comments, ensure_ascii=False)))
    entity.update(_chunks("Folded", json.dumps(aggregate.folded)))
    return entity


def _from_entity(entity: dict) -> Aggregate:
    return Aggregate(
        session_id=entity["PartitionKey"],
        salt=entity.get("Salt", ""),
        ratings=json.loads(entity.get("Ratings") or "{}"),
        comments=json.loads(_joined(entity, "Comments") or "{}"),
        folded=json.loads(_joined(entity, "Folded") or "[]"),
        etag=entity.metadata["etag"],
    )
