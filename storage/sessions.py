"""Sessions, partitioned by cycle and entity, and the pointer from a chat to its active session."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace
from datetime import date
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from storage import keys
from storage.batches import ReadTogether
from storage.errors import ActiveSessionExists, WriteConflict, translated
from storage.records import JointUnit, Person, SessionRecord

_ACTIVE = "active"
# Pointers remembered per process: ~200 bytes each, far more chats than run in one morning.
_POINTERS_KEPT = 20_000


class SessionRepository:
    """Reads and writes sessions; a chat has at most one active session at a time."""

    def __init__(self, sessions: TableClient, chats: TableClient, leaders: TableClient) -> None:
        self._sessions = sessions
        self._chats = chats
        self._leaders = leaders
        # chat partition -> (session partition, session id), as last read from `chats`.
        self._pointers: OrderedDict[str, tuple[str, str]] = OrderedDict()
        # The clicks of a meeting arriving together read their session once or twice, not each.
        self._reads = ReadTogether()

    @staticmethod
    def id_for(conversation_id: str, card_id: str) -> str:
        """The id of the session started from this setup card (so retries are no-ops)."""
        return keys.session_id_for(conversation_id, card_id)

    @translated
    async def create(self, session: SessionRecord) -> SessionRecord:
        """Store a new session and make it the chat's active one; idempotent for its own id."""
        pointer = {
            "PartitionKey": keys.chat_partition(session.conversation_id),
            "RowKey": _ACTIVE,
            "SessionPartition": keys.session_partition(session.cycle, session.entity),
            "SessionId": session.session_id,
        }
        try:
            await self._chats.create_entity(pointer)
        except ResourceExistsError:
            # Either another session holds the chat, or this is our own write retried.
            existing = await self._chats.get_entity(pointer["PartitionKey"], _ACTIVE)
            if existing["SessionId"] != session.session_id:
                current = await self._resolve((existing["SessionPartition"], existing["SessionId"]))
                if current is not None:
                    raise ActiveSessionExists(existing["SessionId"]) from None
                # The pointer names a session that was never stored: take the chat over.
                await self._chats.update_entity(
                    pointer,
                    mode=UpdateMode.REPLACE,
                    etag=existing.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
        try:
            await self._sessions.upsert_entity(_to_entity(session), mode=UpdateMode.REPLACE)
            # The leader's index: "my sessions" in personal chat is one partition query.
            await self._leaders.upsert_entity(_leader_row(session, session.leader.aad_id))
        except BaseException:
            # Leave no pointer to a session that was not stored.
            try:
                await self._chats.delete_entity(pointer["PartitionKey"], _ACTIVE)
            except Exception:  # best effort; readers ignore dangling pointers
                pass
            raise
        self._remember(pointer["PartitionKey"], (pointer["SessionPartition"], session.session_id))
        stored = await self.get(session.cycle, session.entity, session.session_id)
        assert stored is not None
        return stored

    @translated
    async def active_for_chat(
        self, conversation_id: str, *, expected: str | None = None
    ) -> SessionRecord | None:
        """The chat's active session, or None.

        With `expected` (the session a card names), a pointer this process has seen name that
        session is trusted without reading it again: a chat's pointer only moves on after its
        session is marked ended, which the caller sees on the session itself.
        """
        partition = keys.chat_partition(conversation_id)
        known = self._pointers.get(partition)
        if expected is not None and known is not None and known[1] == expected:
            session = await self._resolve(known)
            if session is not None:
                return session
        try:
            pointer = await self._chats.get_entity(partition, _ACTIVE)
        except ResourceNotFoundError:
            self._pointers.pop(partition, None)
            return None
        target = (pointer["SessionPartition"], pointer["SessionId"])
        self._remember(partition, target)
        return await self._resolve(target)

    @translated
    async def get(self, cycle: int, entity: str, session_id: str) -> SessionRecord | None:
        """One session by its keys, or None."""
        try:
            found = await self._entity(keys.session_partition(cycle, entity), session_id)
        except ResourceNotFoundError:
            return None
        return _from_entity(found)

    @translated
    async def of_entity(self, cycle: int, entity: str) -> list[SessionRecord]:
        """Every session of an entity in a cycle: one partition, paged past 1,000 by the SDK."""
        return [
            _from_entity(e)
            async for e in self._sessions.query_entities(
                "PartitionKey eq @pk",
                parameters={"pk": keys.session_partition(cycle, entity)},
                results_per_page=1000,
            )
        ]

    @translated
    async def led_by(self, leader_id: str) -> list[SessionRecord]:
        """Every session this person led, newest first."""
        refs = [
            (int(e["Cycle"]), e["Entity"], e["RowKey"])
            async for e in self._leaders.query_entities(
                "PartitionKey eq @pk", parameters={"pk": leader_id}
            )
        ]
        found = [await self.get(cycle, entity, sid) for cycle, entity, sid in refs]
        # A session whose leader the focal point changed may still be indexed under the old one.
        sessions = [s for s in found if s is not None and s.is_leader(leader_id)]
        return sorted(sessions, key=lambda s: (s.session_date, s.created_at), reverse=True)

    @translated
    async def index_leader(self, session: SessionRecord, leader_id: str) -> None:
        """List the session among this person's sessions ("my sessions")."""
        await self._leaders.upsert_entity(_leader_row(session, leader_id))

    @translated
    async def unindex_leader(self, session: SessionRecord, leader_id: str) -> None:
        """Take the session off this person's sessions (they no longer lead it)."""
        try:
            await self._leaders.delete_entity(leader_id, session.session_id)
        except ResourceNotFoundError:
            pass

    @translated
    async def save(self, session: SessionRecord) -> SessionRecord:
        """Replace the session if nobody changed it since it was read; else WriteConflict."""
        try:
            written = await self._sessions.update_entity(
                _to_entity(session),
                mode=UpdateMode.REPLACE,
                etag=session.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise WriteConflict("session changed since it was read") from error
        # What was written is what is stored; only the ETag is new. Not reading it back saves
        # a request on every stage, scenario and count change.
        return replace(session, etag=written["etag"])

    @translated
    async def release_chat(self, conversation_id: str, session_id: str) -> None:
        """Free the chat for a new session, if this session still holds it."""
        partition = keys.chat_partition(conversation_id)
        try:
            pointer = await self._chats.get_entity(partition, _ACTIVE)
        except ResourceNotFoundError:
            return
        if pointer["SessionId"] != session_id:
            return
        try:
            await self._chats.delete_entity(
                partition,
                _ACTIVE,
                etag=pointer.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceNotFoundError, ResourceModifiedError):
            pass
        self._pointers.pop(partition, None)

    async def _resolve(self, target: tuple[str, str]) -> SessionRecord | None:
        try:
            found = await self._entity(*target)
        except ResourceNotFoundError:
            return None
        return _from_entity(found)

    async def _entity(self, partition: str, session_id: str) -> TableEntity:
        # Each caller gets its own record: the entity read is shared, the record is not.
        return await self._reads.read(
            (partition, session_id), lambda: self._sessions.get_entity(partition, session_id)
        )

    def _remember(self, partition: str, target: tuple[str, str]) -> None:
        self._pointers[partition] = target
        self._pointers.move_to_end(partition)
        while len(self._pointers) > _POINTERS_KEPT:
            self._pointers.popitem(last=False)


def _leader_row(session: SessionRecord, leader_id: str) -> dict[str, Any]:
    return {
        "PartitionKey": leader_id,
        "RowKey": session.session_id,
        "Cycle": session.cycle,
        "Entity": session.entity,
    }


def _person_to_json(person: Person) -> dict[str, str]:
    return {"aad": person.aad_id, "mri": person.mri, "name": person.name}


def _person_from_json(data: dict[str, str]) -> Person:
    return Person(aad_id=data["aad"], mri=data["mri"], name=data["name"])


def _to_entity(session: SessionRecord) -> dict[str, Any]:
    entity = {
        "PartitionKey": keys.session_partition(session.cycle, session.entity),
        "RowKey": session.session_id,
        "Cycle": session.cycle,
        "Entity": session.entity,
        "Unit": session.unit,
        "Personnel": session.personnel,
        "Language": session.language,
        "SessionDate": session.session_date.isoformat(),
        "LeaderId": session.leader.aad_id,
        "LeaderMri": session.leader.mri,
        "LeaderName": session.leader.name,
        "ConversationId": session.conversation_id,
        "TenantId": session.tenant_id,
        "ServiceUrl": session.service_url,
        "BotId": session.bot_id,
        "CardId": session.card_id,
        "Status": session.status,
        "Monitors": json.dumps([_person_to_json(m) for m in session.monitors]),
        "Facilitator": json.dumps(_person_to_json(session.facilitator))
        if session.facilitator
        else "",
        "CreatedAt": session.created_at,
    }
    entity.update(
        {
            "Pack": session.pack,
            "Participants": session.participants,
            "NonStaff": session.non_staff,
            "Agencies": json.dumps(session.agencies, ensure_ascii=False),
            "Stage": session.stage,
            "StageSeconds": json.dumps(session.stage_seconds),
            "ScenarioOrder": json.dumps(session.scenario_order),
            "ScenarioIndex": session.scenario_index,
            "ScenarioSeconds": json.dumps(session.scenario_seconds),
            "ScenarioCardId": session.scenario_card_id,
            "AgendaCardId": session.agenda_card_id,
        }
    )
    optional = {
        "ClosedAt": session.closed_at,
        "EndedAt": session.ended_at,
        "StageStartedAt": session.stage_started_at,
        "ScenarioStartedAt": session.scenario_started_at,
        "HeldAt": session.held_at,
        "FrozenAt": session.frozen_at,
    }
    entity.update({k: v for k, v in optional.items() if v is not None})
    if session.joint_units:
        # Only joint sessions carry the property: a one-unit session is stored as before.
        entity["JointUnits"] = json.dumps(
            [{"unit": u.unit, "personnel": u.personnel} for u in session.joint_units],
            ensure_ascii=False,
        )
    return entity


def _json(value: str | None, empty: Any) -> Any:
    """Parse a JSON property; most are empty, and parsing 2,000 empty lists costs a roll-up."""
    if not value or value in ("[]", "{}"):
        return empty
    return json.loads(value)


def _facilitator(value: str | None) -> Person | None:
    """The facilitator stored with the session; sessions stored before it had none."""
    return _person_from_json(json.loads(value)) if value else None


def _from_entity(entity: TableEntity) -> SessionRecord:
    return SessionRecord(
        session_id=entity["RowKey"],
        cycle=int(entity["Cycle"]),
        entity=entity["Entity"],
        unit=entity["Unit"],
        personnel=int(entity["Personnel"]),
        language=entity["Language"],
        session_date=date.fromisoformat(entity["SessionDate"]),
        leader=Person(entity["LeaderId"], entity["LeaderMri"], entity["LeaderName"]),
        conversation_id=entity["ConversationId"],
        tenant_id=entity["TenantId"],
        service_url=entity["ServiceUrl"],
        bot_id=entity["BotId"],
        card_id=entity["CardId"],
        created_at=entity["CreatedAt"],
        status=entity["Status"],
        monitors=[_person_from_json(m) for m in _json(entity.get("Monitors"), [])],
        facilitator=_facilitator(entity.get("Facilitator")),
        closed_at=entity.get("ClosedAt"),
        ended_at=entity.get("EndedAt"),
        pack=entity.get("Pack", ""),
        participants=int(entity.get("Participants", 0)),
        non_staff=int(entity.get("NonStaff", 0)),
        agencies=_json(entity.get("Agencies"), {}),
        stage=entity.get("Stage", "introduction"),
        stage_started_at=entity.get("StageStartedAt"),
        stage_seconds=_json(entity.get("StageSeconds"), {}),
        scenario_order=_json(entity.get("ScenarioOrder"), []),
        scenario_index=int(entity.get("ScenarioIndex", -1)),
        scenario_started_at=entity.get("ScenarioStartedAt"),
        scenario_seconds=_json(entity.get("ScenarioSeconds"), {}),
        scenario_card_id=entity.get("ScenarioCardId", ""),
        agenda_card_id=entity.get("AgendaCardId", ""),
        held_at=entity.get("HeldAt"),
        frozen_at=entity.get("FrozenAt"),
        joint_units=[
            JointUnit(u["unit"], int(u["personnel"])) for u in _json(entity.get("JointUnits"), [])
        ],
        etag=entity.metadata["etag"],
    )
