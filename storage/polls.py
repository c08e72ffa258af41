"""Anonymous polls: the poll in its session's partition, votes in the poll's partition.

A vote's row key is a keyed hash of the voter made with the poll's own random salt, so one
person has one changeable vote. The salt is deleted when the poll closes: from then on nobody,
operators included, can tell whose vote a row is. Votes carry no person id.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import unquote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from storage.errors import WriteConflict, translated
from storage.records import PollRecord

_BATCH = 100
_ETAG_TIME = re.compile(r"datetime'([^']+)'")


class PollRepository:
    """Reads and writes polls and their votes."""

    def __init__(self, polls: TableClient, votes: TableClient) -> None:
        self._polls = polls
        self._votes = votes

    @translated
    async def create(self, poll: PollRecord) -> PollRecord:
        """Store a new poll; an existing poll with the same id is returned instead."""
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
            return _from_entity(await self._polls.get_entity(session_id, poll_id))
        except ResourceNotFoundError:
            return None

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
        written = await self._votes.upsert_entity(
            {"PartitionKey": poll_id, "RowKey": voter_key, "Choices": json.dumps(choices)},
            mode=UpdateMode.REPLACE,
        )
        at = etag_time(written.get("etag"))
        if at is None:
            at = (await self._votes.get_entity(poll_id, voter_key)).metadata["timestamp"]
        return at

    @translated
    async def get_vote(self, poll_id: str, voter_key: str) -> list[int] | None:
        """One voter's current choices, or None."""
        try:
            entity = await self._votes.get_entity(poll_id, voter_key)
        except ResourceNotFoundError:
            return None
        return json.loads(entity["Choices"])

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
            (json.loads(e["Choices"]), e.metadata["timestamp"])
            async for e in self._votes.query_entities(
                "PartitionKey eq @pk", parameters={"pk": poll_id}
            )
        ]

    @translated
    async def server_time_of(self, session_id: str, poll_id: str) -> datetime:
        """The storage time of the poll's last write (used as the close instant)."""
        entity = await self._polls.get_entity(session_id, poll_id)
        return entity.metadata["timestamp"]


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


def _to_entity(poll: PollRecord) -> dict:
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
    return entity


def _from_entity(entity: dict) -> PollRecord:
    results = entity.get("Results")
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
        etag=entity.metadata["etag"],
    )
