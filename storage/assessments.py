"""Appendix F: anonymous assessments of the facilitator, stored only as aggregates.

Nothing here holds a person's id, name or the time of one person's answer. Each session has one
aggregate entity and nothing else. While the assessment is open it holds counts per item and
rating, the comments in a shuffled list without any date, the time it closes (`ClosesAt`), and,
to refuse a second answer, the session's salt (`Salt`) and the keys of the people folded in
(`Folded0`, `Folded1`, ...): keyed hashes of each person made with that salt. At the close one
write replaces the salt and keys by a count (`Answers`): from then on nothing in the table, or
in a backup taken after it, can tell who answered. Every write is guarded by the ETag, so two
answers of one person, however concurrent, are folded once, and a close is done once.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from storage.errors import AggregateTooLarge, WriteConflict, translated
from storage.records import Aggregate

_AGGREGATE = "aggregate"
# Azure Tables caps a string property at 64 KiB counted in UTF-16 code units (2 bytes each):
# 32,768 units. Long JSON is spread over numbered properties of at most this many units.
_CHUNK_UNITS = 30_000
# An entity may hold 255 properties (PartitionKey, RowKey and Timestamp among them) and 1 MiB;
# the budget leaves room for the service's own bookkeeping of the entity.
_MAX_PROPERTIES = 250
_MAX_ENTITY_BYTES = 1_000_000
# The closed aggregate's marker: how many answered. The open one's linkable properties are
# `Salt` and `Folded{n}`; `ClosesAt` lets the sweep find the open ones that are due.
_ANSWERS = "Answers"


class AssessmentRepository:
    """One aggregate entity per session, read and replaced whole under its ETag."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translated
    async def aggregate(self, session_id: str, closes_at: datetime) -> Aggregate:
        """The session's aggregate, created open (fresh salt, closing then) the first time."""
        try:
            entity = await self._table.get_entity(session_id, _AGGREGATE)
        except ResourceNotFoundError:
            fresh = Aggregate(session_id, secrets.token_hex(16), closes_at)
            try:
                created = await self._table.create_entity(_to_entity(fresh))
            except ResourceExistsError:
                # Made meanwhile (or our own insert, its answer lost): theirs has the salt.
                entity = await self._table.get_entity(session_id, _AGGREGATE)
            else:
                return replace(fresh, etag=created["etag"])
        return _from_entity(entity)

    @translated
    async def find(self, session_id: str) -> Aggregate | None:
        """The session's aggregate as stored, or None; never creates one."""
        try:
            return _from_entity(await self._table.get_entity(session_id, _AGGREGATE))
        except ResourceNotFoundError:
            return None

    @translated
    async def due(self, now: datetime) -> list[Aggregate]:
        """Every open aggregate whose closing time has come (closed ones have no ClosesAt)."""
        found = self._table.query_entities("ClosesAt le @now", parameters={"now": now})
        return [_from_entity(entity) async for entity in found]

    def fits(self, aggregate: Aggregate) -> bool:
        """Whether the aggregate fits in one entity (1 MiB, 255 properties, 64 KiB strings)."""
        return fits(aggregate)

    @translated
    async def save(self, aggregate: Aggregate) -> Aggregate:
        """Replace the aggregate if unchanged since read (else WriteConflict); what was written.

        AggregateTooLarge when it would not fit: nothing is written, earlier answers stay.
        """
        return await self._replace(aggregate, _to_entity(aggregate))

    @translated
    async def close(self, aggregate: Aggregate, *, keep_results: bool) -> Aggregate:
        """Close in one conditional write: salt and keys replaced by the count of answers.

        Without `keep_results` the counts and comments go too: only the count remains.
        """
        closed = replace(
            aggregate,
            salt="",
            closes_at=None,
            folded=[],
            closed=True,
            closed_answers=aggregate.answers,
            ratings=aggregate.ratings if keep_results else {},
            comments=aggregate.comments if keep_results else {},
        )
        return await self._replace(closed, _to_entity(closed))

    async def _replace(self, aggregate: Aggregate, entity: dict[str, Any]) -> Aggregate:
        try:
            written = await self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=aggregate.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("aggregate changed since it was read") from error
        # The entity is now exactly what we sent: no need to read it back.
        return replace(aggregate, etag=written["etag"])


def fits(aggregate: Aggregate) -> bool:
    """Whether the aggregate fits in one Azure Tables entity (1 MiB, 255 properties, 64 KiB)."""
    try:
        _to_entity(aggregate)
    except AggregateTooLarge:
        return False
    return True


def utf16_chunks(value: str, units: int) -> list[str]:
    """The text cut into parts of at most `units` UTF-16 code units, never inside a pair."""
    encoded = value.encode("utf-16-le")
    parts: list[str] = []
    start = 0
    while start < len(encoded):
        end = min(start + 2 * units, len(encoded))
        if end < len(encoded) and 0xD8 <= encoded[end - 1] <= 0xDB:
            # The last unit is a high surrogate: its low half starts the next part.
            end -= 2
        parts.append(encoded[start:end].decode("utf-16-le"))
        start = end
    return parts or [""]


def _string_bytes(text: str) -> int:
    """A string's size by the stricter of two counts: Azure's (2 bytes per UTF-16 unit) and the
    request's (the SDK sends JSON with non-ASCII escaped: 6 bytes per unit, which Azurite
    counts against the 1 MiB)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    other_units = len(text.encode("utf-16-le")) // 2 - ascii_chars
    return 2 * ascii_chars + 6 * other_units


def _size(entity: dict[str, Any]) -> int:
    """The entity's size, counted as the stricter of Azure and the request it is sent in."""
    size = 4
    for name, value in entity.items():
        size += 8 + _string_bytes(name)
        if isinstance(value, str):
            size += 4 + _string_bytes(value)
        else:
            size += 8  # numbers, booleans and dates: at most 8 bytes
    return size


def _chunks(name: str, value: str) -> dict[str, str]:
    return {f"{name}{n}": part for n, part in enumerate(utf16_chunks(value, _CHUNK_UNITS))}


def _joined(entity: dict[str, Any], name: str) -> str:
    parts = []
    for n in range(_MAX_PROPERTIES):
        part = entity.get(f"{name}{n}")
        if part is None:
            break
        parts.append(part)
    return "".join(parts)


def _to_entity(aggregate: Aggregate) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": aggregate.session_id,
        "RowKey": _AGGREGATE,
        "Ratings": json.dumps(aggregate.ratings),
    }
    if aggregate.closed:
        entity[_ANSWERS] = aggregate.closed_answers
    else:
        entity["Salt"] = aggregate.salt
        if aggregate.closes_at is not None:
            entity["ClosesAt"] = aggregate.closes_at
        entity.update(_chunks("Folded", json.dumps(aggregate.folded)))
    entity.update(_chunks("Comments", json.dumps(aggregate.comments, ensure_ascii=False)))
    # PartitionKey, RowKey and the Timestamp Azure adds count among the 255.
    if len(entity) + 1 > _MAX_PROPERTIES or _size(entity) > _MAX_ENTITY_BYTES:
        raise AggregateTooLarge(f"aggregate of {aggregate.answers} answers does not fit")
    return entity


def _texts(entries: list[Any]) -> list[str]:
    # Earlier versions stored {"text": ..., "day": ...}; the day is dropped when read.
    return [e["text"] if isinstance(e, dict) else str(e) for e in entries]


def _from_entity(entity: TableEntity) -> Aggregate:
    salt = entity.get("Salt") or ""
    folded = json.loads(_joined(entity, "Folded") or "[]")
    comments = json.loads(_joined(entity, "Comments") or "{}")
    # Closed: it has a count, or (purged by an earlier version) no salt, only placeholders.
    closed = _ANSWERS in entity or not salt
    return Aggregate(
        session_id=entity["PartitionKey"],
        salt=salt,
        closes_at=entity.get("ClosesAt"),
        ratings=json.loads(entity.get("Ratings") or "{}"),
        comments={item: _texts(entries) for item, entries in comments.items()},
        folded=[] if closed else folded,
        closed=closed,
        closed_answers=int(entity.get(_ANSWERS, len(folded))) if closed else 0,
        etag=entity.metadata["etag"],
    )
