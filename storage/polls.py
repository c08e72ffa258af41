"""Anonymous polls: the poll in its session's partition, votes in the poll's partition.

A vote's row key is a keyed hash of the voter made with the poll's own random salt, so one
person has one changeable vote. When the poll closes its tally is written into the poll row,
the salt is deleted, and then the vote rows themselves: from then on nothing, in the tables or
in a backup, holds a key that could be matched against a person. Votes carry no person id.

An open poll also has a row in the `openpolls` index (partition "open", row key the poll id),
written before the poll and deleted once its votes are gone, so a sweep finds the polls left
open (or half closed) in every session with one partition query.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from storage.batches import GroupCommit, ReadTogether
from storage.errors import WriteConflict, translated
from storage.records import OpenPoll, PollRecord

_BATCH = 100  # Azure Tables: at most 100 operations in one transaction, in one partition
_ETAG_TIME = re.compile(r"datetime'([^']+)'")
_OPEN = "open"


class PollRepository:
    """Reads and writes polls, their votes and the index of open polls."""

    def __init__(self, polls: TableClient, votes: TableClient, index: TableClient) -> None:
        self._polls = polls
        self._votes = votes
        self._index = index
        # Votes arriving together in one poll go in one transaction, each with its own time.
        self._ballots = GroupCommit(votes)
        # ...and read the poll back (is it still open, how many voted) once or twice between them.
        self._reads = ReadTogether()

    @translated
    async def create(self, poll: PollRecord, *, cycle: int = 0, entity: str = "") -> PollRecord:
        """Store a new poll (indexed as open first); an existing poll with the same id is returned.

        `cycle` and `entity` name the poll's session, so a sweep can find it again.
        """
        # The index first: a poll is never open without an entry that lets a sweep close it.
        await self._index.upsert_entity(
            {
                "PartitionKey": _OPEN,
                "RowKey": poll.poll_id,
                "SessionId": poll.session_id,
                "Cycle": cycle,
                "Entity": entity,
                "CreatedAt": poll.created_at,
            },
            mode=UpdateMode.REPLACE,
        )
        try:
            await self._polls.create_entity(_to_entity(poll))
        except ResourceExistsError:
            pass
        stored = await self.get(poll.session_id, poll.poll_id)
        assert stored is not None
        return stored

    @translated
    async def get(self, session_id: str, poll_id: str) -> PollRecord | None:
        """One poll, or None."""
        try:
            found = await self._reads.read(
                ("poll", session_id, poll_id), lambda: self._polls.get_entity(session_id, poll_id)
            )
        except ResourceNotFoundError:
            return None
        return _from_entity(found)

    @translated
    async def for_session(self, session_id: str) -> list[PollRecord]:
        """Every poll of a session, oldest first."""
        polls = [
            _from_entity(e)
            async for e in self._polls.query_entities(
                "PartitionKey eq @pk", parameters={"pk": session_id}
            )
        ]
        return sorted(polls, key=lambda p: p.created_at)

    @translated
    async def save(self, poll: PollRecord) -> PollRecord:
        """Replace the poll if unchanged since read; else WriteConflict."""
        try:
            await self._polls.update_entity(
                _to_entity(poll),
                mode=UpdateMode.REPLACE,
                etag=poll.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("poll changed since it was read") from error
        stored = await self.get(poll.session_id, poll.poll_id)
        assert stored is not None
        return stored

    @translated
    async def put_vote(self, poll_id: str, voter_key: str, choices: list[int]) -> datetime:
        """Store (or change) one voter's choice; the storage time of the write."""
        written = await self._ballots.upsert(
            {"PartitionKey": poll_id, "RowKey": voter_key, "Choices": json.dumps(choices)}
        )
        at = etag_time(written.get("etag"))
        if at is None:
            at = _stored_at(await self._votes.get_entity(poll_id, voter_key))
        return at

    @translated
    async def get_vote(self, poll_id: str, voter_key: str) -> list[int] | None:
        """One voter's current choices, or None."""
        try:
            entity = await self._votes.get_entity(poll_id, voter_key)
        except ResourceNotFoundError:
            return None
        choices: list[int] = json.loads(entity["Choices"])
        return choices

    @translated
    async def delete_vote(self, poll_id: str, voter_key: str) -> None:
        """Remove a vote (one that arrived after the poll closed)."""
        try:
            await self._votes.delete_entity(poll_id, voter_key)
        except ResourceNotFoundError:
            pass

    @translated
    async def votes(self, poll_id: str) -> list[tuple[list[int], datetime]]:
        """Every vote's choices with the storage time it was written."""
        return [
            (json.loads(e["Choices"]), _stored_at(e))
            async for e in self._votes.query_entities(
                "PartitionKey eq @pk", parameters={"pk": poll_id}
            )
        ]

    @translated
    async def voter_count(self, poll_id: str) -> int:
        """How many people have a vote stored: only the keys are read."""

        async def load() -> int:
            found = self._votes.query_entities(
                "PartitionKey eq @pk", parameters={"pk": poll_id}, select=["RowKey"]
            )
            return sum([1 async for _ in found])

        return await self._reads.read(("voters", poll_id), load)

    @translated
    async def delete_votes(self, poll_id: str) -> int:
        """Delete every vote of a poll, 100 to a transaction; how many were deleted."""
        found = self._votes.query_entities(
            "PartitionKey eq @pk", parameters={"pk": poll_id}, select=["RowKey"]
        )
        row_keys = [e["RowKey"] async for e in found]
        for start in range(0, len(row_keys), _BATCH):
            batch = row_keys[start : start + _BATCH]
            try:
                await self._votes.submit_transaction(
                    [("delete", {"PartitionKey": poll_id, "RowKey": k}) for k in batch]
                )
            except TableTransactionError:
                # A row went meanwhile (another instance closing the same poll): one by one.
                for row_key in batch:
                    try:
                        await self._votes.delete_entity(poll_id, row_key)
                    except ResourceNotFoundError:
                        pass
        return len(row_keys)

    @translated
    async def unindex(self, poll_id: str) -> None:
        """Remove a poll from the open index (its close is complete)."""
        try:
            await self._index.delete_entity(_OPEN, poll_id)
        except ResourceNotFoundError:
            pass

    @translated
    async def open_before(self, before: datetime) -> list[OpenPoll]:
        """Indexed polls (open or half closed) created before this time, in every session."""
        found = self._index.query_entities(
            "PartitionKey eq @pk and CreatedAt lt @before",
            parameters={"pk": _OPEN, "before": before},
        )
        return [
            OpenPoll(
                poll_id=e["RowKey"],
                session_id=e["SessionId"],
                cycle=int(e.get("Cycle", 0)),
                entity=e.get("Entity", ""),
                created_at=e["CreatedAt"],
            )
            async for e in found
        ]

    @translated
    async def server_time_of(self, session_id: str, poll_id: str) -> datetime:
        """The storage time of the poll's last write (used as the close instant)."""
        return _stored_at(await self._polls.get_entity(session_id, poll_id))


def _stored_at(entity: TableEntity) -> datetime:
    """The storage time of an entity's last write."""
    at = entity.metadata["timestamp"]
    # Typed optional by the SDK, but Azure Tables and Azurite send every entity's Timestamp.
    assert at is not None
    return at


def etag_time(etag: str | None) -> datetime | None:
    """The storage time an entity's ETag carries (`W/"datetime'...'"`), or None if it has none."""
    # Azure Tables and Azurite make an entity's ETag from its Timestamp, so the time of a write
    # is known from the write's answer without reading the row back.
    found = _ETAG_TIME.search(etag or "")
    if found is None:
        return None
    whole, _, fraction = unquote(found.group(1)).rstrip("Z").partition(".")
    try:
        at = datetime.fromisoformat(whole).replace(tzinfo=UTC)
    except ValueError:
        return None
    return at.replace(microsecond=int((fraction + "000000")[:6])) if fraction.isdigit() else at


def _to_entity(poll: PollRecord) -> dict[str, Any]:
    entity = {
        "PartitionKey": poll.session_id,
        "RowKey": poll.poll_id,
        "Kind": poll.kind,
        "Question": poll.question,
        "Options": json.dumps(poll.options),
        "Multiple": poll.multiple,
        "Ref": poll.ref,
        "Status": poll.status,
        "Revealed": poll.revealed,
        "Salt": poll.salt,
        "CardId": poll.card_id,
        "CreatedAt": poll.created_at,
        "Voters": poll.voters,
    }
    if poll.closed_at is not None:
        entity["ClosedAt"] = poll.closed_at
    if poll.cutoff is not None:
        entity["Cutoff"] = poll.cutoff
    if poll.results is not None:
        entity["Results"] = json.dumps(poll.results)
    if poll.closes_at is not None:
        entity["ClosesAt"] = poll.closes_at
    if poll.barred is not None:
        entity["Barred"] = json.dumps(list(poll.barred))
    return entity


def _from_entity(entity: TableEntity) -> PollRecord:
    results, barred = entity.get("Results"), entity.get("Barred")
    return PollRecord(
        poll_id=entity["RowKey"],
        session_id=entity["PartitionKey"],
        kind=entity["Kind"],
        question=entity["Question"],
        options=json.loads(entity["Options"]),
        created_at=entity["CreatedAt"],
        multiple=bool(entity.get("Multiple", False)),
        ref=entity.get("Ref", ""),
        status=entity["Status"],
        revealed=bool(entity.get("Revealed", False)),
        salt=entity.get("Salt", ""),
        card_id=entity.get("CardId", ""),
        closed_at=entity.get("ClosedAt"),
        cutoff=entity.get("Cutoff"),
        results=json.loads(results) if results else None,
        voters=int(entity.get("Voters", 0)),
        closes_at=entity.get("ClosesAt"),
        barred=tuple(json.loads(barred)) if isinstance(barred, str) else None,
        etag=entity.metadata["etag"],
    )
