"""Who leads a session: whoever asked for its setup card, or whom the entity's focal point names.

Submitting a setup card makes the submitter the leader, so a card may only be submitted by the
person who typed `start` for it: anyone else in the chat could otherwise take the session over.
If it still happens (a leader who cannot go on, a mistaken start), the entity's focal point can
name another leader from the sheet, or end the session (SignInService.end); both are audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from dialogs.common import change_session
from dialogs.directory import Directory
from dialogs.errors import InvalidInput, NotAllowed
from dialogs.polls import PollService
from dialogs.ports import AttendanceStore, SessionStore, SetupStore
from storage.errors import StorageUnavailable
from storage.records import Person, SessionRecord

log = logging.getLogger(__name__)


class SetupRequests:
    """Remembers who typed `start` for each setup card, and lets only them submit it."""

    def __init__(
        self,
        setups: SetupStore,
        sessions: SessionStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._setups = setups
        self._sessions = sessions
        self._clock = clock

    async def asked(self, conversation_id: str, card_id: str, requester: Person) -> None:
        """The setup card posted as this message was asked for by this person."""
        await self._setups.remember(conversation_id, card_id, requester.aad_id, self._clock())

    async def require_requester(
        self,
        conversation_id: str,
        card_id: str,
        caller: Person,
        *,
        organizers: Collection[str] = (),
    ) -> None:
        """Refuse a setup card submitted by anyone but the person who asked for it.

        `organizers`: Entra ids of the meeting's organizers, who may submit it too. The bot does
        not read meeting details yet; when it does (TeamsInfo.get_meeting_info), pass them here.
        """
        if caller.aad_id in organizers:
            return
        requester = await self._setups.requester(conversation_id, card_id)
        if requester == caller.aad_id:
            return
        if requester is None:
            # Used already: a retry (double click, Teams' redelivery) by the leader it made.
            active = await self._sessions.active_for_chat(conversation_id)
            if (
                active is not None
                and active.session_id == self._sessions.id_for(conversation_id, card_id)
                and active.is_leader(caller.aad_id)
            ):
                return
        raise NotAllowed("error.setup_not_yours")

    async def used(self, conversation_id: str) -> None:
        """A session started in the chat: who asked for its setup cards need not be kept."""
        try:
            await self._setups.forget_chat(conversation_id)
        except StorageUnavailable:
            # The session is stored; a leftover row only lets its requester submit it again.
            log.warning("setup requests of a started session not removed")


@dataclass(frozen=True)
class Reassigned:
    """A session with its new leader, and who led it before."""

    session: SessionRecord
    previous: Person


class Leadership:
    """The entity's focal point names another leader for a session of their entity."""

    def __init__(
        self,
        sessions: SessionStore,
        attendance: AttendanceStore,
        directory: Directory,
        polls: PollService,
    ) -> None:
        self._sessions = sessions
        self._attendance = attendance
        self._directory = directory
        self._polls = polls

    async def reassign(self, focal: Person, session: SessionRecord, key: Any) -> Reassigned:
        """Make a Teams user on the sheet the session's leader (focal point only, audited)."""
        # The session's own entity, as stored: never the entity a card's data names.
        await self._directory.require_focal(focal, session.entity)
        rows = await self._attendance.list(session.session_id)
        row = next(
            (
                r
                for r in rows
                if isinstance(key, str) and r.key == key and r.aad_id and not r.is_hint
            ),
            None,
        )
        if row is None:
            raise InvalidInput("error.unknown_entry", field="leader")
        leader = Person(row.aad_id, row.mri, row.name)
        previous = session.leader
        # The new leader may not vote: barred from the open polls (their vote taken back)
        # before they lead, as a facilitator is when named.
        await self._polls.bar(session, also=[leader])
        # Listed first under the new leader: if what follows fails, the extra row shows nothing
        # (a leader's list keeps only the sessions they lead now). Naming the leader again (a
        # retry after "not saved") changes nothing and is audited, as the focal point asked.
        await self._sessions.index_leader(session, leader.aad_id)
        updated = await change_session(
            self._sessions,
            session,
            lambda s: replace(
                s,
                leader=leader,
                monitors=[m for m in s.monitors if m.aad_id != leader.aad_id],
                # The leader directs the session: they are not also its facilitator.
                facilitator=None if s.is_facilitator(leader.aad_id) else s.facilitator,
            ),
        )
        if previous.aad_id != leader.aad_id:
            try:
                await self._sessions.unindex_leader(updated, previous.aad_id)
            except StorageUnavailable:
                log.warning("previous leader's index row kept session=%s", session.session_id)
            await self._polls.follow(updated)  # the previous leader may vote now
        await self._directory.record(
            focal,
            "session.reassign",
            session=session.session_id,
            entity=session.entity,
            leader=leader.aad_id,
            previous=previous.aad_id,
        )
        log.info("session leader reassigned session=%s", session.session_id)
        return Reassigned(updated, previous)
