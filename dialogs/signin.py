"""Appendix A: starting a session in a chat and keeping its sign-in sheet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, TypeVar

from dialogs.common import ExpiringMap, change_session, require_leader
from dialogs.directory import Directory
from dialogs.errors import InvalidInput, NoSession, NotAllowed, WrongState
from dialogs.forms import MAX_NAME, parse_details, parse_name, parse_setup
from dialogs.names import NameMask, name_skeleton
from dialogs.polls import PollService
from dialogs.ports import AttendanceStore, SessionStore
from storage import ActiveSessionExists, AttendeeRecord, SessionRecord
from storage.records import Person, arranged, normalized_name

log = logging.getLogger(__name__)
T = TypeVar("T")

# The FAQ: "Ideally, a session should comprise 10-25 colleagues"; above 25 split the session,
# "far below 10" hold it jointly with another unit.
RECOMMENDED_MIN = 10
RECOMMENDED_MAX = 25
FAR_BELOW = 5

SIGNIN = "signin"
SIGNIN_CLOSED = "signin_closed"
ENDED = "ended"
# What a focal point's "add a person" did.
ADDED, RESTORED, LISTED = "added", "restored", "listed"
# The facilitator choice that withdraws the facilitator (no sheet key looks like it).
NO_FACILITATOR = "withdraw"
# Sessions kept per process (a morning's); a concluded one serves Appendix F for ten minutes
# (then it is read again, so a session deleted since is not answered for long).
_SESSIONS_KEPT = 2000
_CONCLUDED_KEPT_FOR = 600.0
# Seconds a copy of a session serves votes: a room's burst of votes, not much more (a
# facilitator withdrawn elsewhere may wait this long to vote).
_VOTING_KEPT_FOR = 10.0


@dataclass(frozen=True)
class Chat:
    """Where an activity came from: what the bot needs to reach the chat again."""

    conversation_id: str
    tenant_id: str
    service_url: str
    bot_id: str


@dataclass(frozen=True)
class Sheet:
    """A session with its sign-in sheet as it stands."""

    session: SessionRecord
    rows: list[AttendeeRecord]
    # False for a headcount: rows without names or times, enough to count and to list ids.
    named: bool = True

    @property
    def attendees(self) -> list[AttendeeRecord]:
        """People on the sheet, in sign-in order (rows the focal point struck are not)."""
        return [r for r in self.rows if r.on_sheet]

    @property
    def struck(self) -> list[AttendeeRecord]:
        """Rows the focal point struck off the final sheet."""
        return [r for r in self.rows if not r.is_hint and not r.on_sheet]

    @property
    def hints(self) -> list[AttendeeRecord]:
        """Meeting joiners Teams told us about who are not on the sheet."""
        return [r for r in self.rows if r.is_hint]

    @property
    def count(self) -> int:
        """Total number of participants."""
        return len(self.attendees)

    def find(self, aad_id: str) -> AttendeeRecord | None:
        """The row of a Teams user, if they are on the sheet."""
        return next((r for r in self.attendees if r.aad_id == aad_id), None)


def is_final(session: SessionRecord) -> bool:
    """Whether the leader is done with the sheet (concluded or ended): the focal point corrects."""
    return session.frozen or session.status == ENDED


def units_led_by_others(session: SessionRecord, others: Iterable[SessionRecord]) -> list[str]:
    """This session's units that another leader also holds a session of (a split to check).

    The FAQ: "Where the number exceeds 25 colleagues, all of whom report directly to the same
    manager, the manager should consider splitting the sessions into two (or another
    number) [...]. In such a case, the manager should lead all the split sessions."
    """
    elsewhere = {
        normalized_name(unit.unit)
        for other in others
        if other.session_id != session.session_id and not other.is_leader(session.leader.aad_id)
        for unit in other.all_units
    }
    return [u.unit for u in session.all_units if normalized_name(u.unit) in elsewhere]


def size_advice(count: int) -> str | None:
    """The guide's advice on the group's size, as a catalog key, or None when it is fine."""
    if count > RECOMMENDED_MAX:
        return "advice.split"
    if count < FAR_BELOW:
        return "advice.joint"
    if count < RECOMMENDED_MIN:
        return "advice.small"
    return None


class SignInService:
    """Starts sessions, keeps the sheet, and enforces who may do what."""

    def __init__(
        self,
        sessions: SessionStore,
        attendance: AttendanceStore,
        *,
        directory: Directory,
        polls: PollService,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._attendance = attendance
        self._directory = directory
        self._polls = polls
        self._clock = clock
        # Concluded sessions as read, by (cycle, entity, id); answers arriving together share
        # one read.
        self._concluded: ExpiringMap[tuple[int, str, str], SessionRecord | None] = ExpiringMap(
            lambda keys: sessions.get(*keys),
            _CONCLUDED_KEPT_FOR,
            _SESSIONS_KEPT,
            keep=lambda s: s is not None and s.concluded,
        )
        # Sessions as votes may use them, by (chat, id): see `for_vote`.
        self._voting: ExpiringMap[tuple[str, str], SessionRecord] = ExpiringMap(
            lambda keys: self.for_card(*keys), _VOTING_KEPT_FOR, _SESSIONS_KEPT
        )

    async def start(
        self, chat: Chat, card_id: str, leader: Person, data: Mapping[str, Any], today: date
    ) -> Sheet:
        """Create the chat's session from the setup card; the submitter becomes its leader."""
        setup = parse_setup(data, await self._directory.codes(), today)
        cycle = await self._directory.cycle()
        session = SessionRecord(
            session_id=self._sessions.id_for(chat.conversation_id, card_id),
            cycle=cycle.year,
            entity=setup.entity,
            unit=setup.unit,
            personnel=setup.personnel,
            language=setup.language,
            session_date=setup.session_date,
            joint_units=list(setup.joint_units),
            leader=leader,
            conversation_id=chat.conversation_id,
            tenant_id=chat.tenant_id,
            service_url=chat.service_url,
            bot_id=chat.bot_id,
            card_id=card_id,
            created_at=self._clock(),
            pack=cycle.pack,
        )
        existing = await self._sessions.active_for_chat(chat.conversation_id)
        if existing is not None and existing.session_id != session.session_id:
            raise WrongState("error.session_exists", leader=existing.leader.name)
        if existing is not None:
            # The same setup card submitted again (double click, Teams retry): same session.
            return await self.sheet(existing)
        try:
            stored = await self._sessions.create(session)
        except ActiveSessionExists:
            raise WrongState("error.session_exists_short") from None
        log.info("session started session=%s entity=%s", stored.session_id, stored.entity)
        return Sheet(stored, [])

    async def split_warning(self, session: SessionRecord) -> list[str]:
        """The session's units whose other sessions this cycle have another leader.

        A notice for the leader, never a refusal: the FAQ allows "any arrangement" where a
        unit has no typical manager, so only the leader and the focal point can judge it.
        """
        others = await self._sessions.of_entity(session.cycle, session.entity)
        return units_led_by_others(session, others)

    async def active(self, conversation_id: str) -> SessionRecord | None:
        """The chat's active session, if any."""
        return await self._sessions.active_for_chat(conversation_id)

    async def for_card(self, conversation_id: str, session_id: Any) -> SessionRecord:
        """The session a card action names, which must be this chat's active session."""
        if not isinstance(session_id, str):
            raise NoSession("error.no_session")
        session = await self._sessions.active_for_chat(conversation_id, expected=session_id)
        # An ended session may still be named by a card seen before its chat was freed.
        if session is None or session.status == ENDED:
            raise NoSession("error.no_session")
        if session.session_id != session_id:
            raise NoSession("error.stale_card")
        return session

    async def for_vote(self, conversation_id: str, session_id: Any) -> SessionRecord:
        """As `for_card`, for a vote: a copy of the session up to a few seconds old.

        A vote takes nothing from the session that its poll does not say again once the vote
        is written and the poll read back: whether it is still open (a conclusion or an end
        closes every poll first) and who may not vote (kept on the poll by `PollService.bar`).
        So 25 votes arriving together read the session once, not 25 times.
        """
        if not isinstance(session_id, str):
            raise NoSession("error.no_session")
        return await self._voting.get((conversation_id, session_id))

    async def sheet_for_card(
        self, conversation_id: str, session_id: Any, *, names: bool = True
    ) -> Sheet:
        """The session a card action names (as `for_card`) with its sheet, read at the same time.

        The sheet's partition is the id the card names, so both reads go in one round trip; the
        sheet is only returned once the session is known to be this chat's active one.
        `names=False` reads a headcount (see `sheet`).
        """
        if not isinstance(session_id, str):
            raise NoSession("error.no_session")
        session, rows = await asyncio.gather(
            self.for_card(conversation_id, session_id),
            self._rows(session_id, names),
            return_exceptions=True,
        )
        for outcome in (session, rows):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(session, SessionRecord) and isinstance(rows, list)
        return Sheet(session, rows, names)

    async def by_keys(self, data: Mapping[str, Any]) -> SessionRecord:
        """A session named by a card's data (cycle, entity, sid); unknown or malformed: refused."""
        keys = await self._card_keys(data)
        session = await self._sessions.get(*keys) if keys else None
        if session is None:
            raise NoSession("error.no_session")
        return session

    async def concluded_by_keys(self, data: Mapping[str, Any]) -> SessionRecord:
        """As `by_keys`, for Appendix F: a concluded session is kept per process for a while.

        Conclusion is final and fixes its time and the frozen sheet, which is what an answer
        is checked on; the leader may still change (a focal point's reassignment), so it is
        checked again when the answers are folded (`AssessmentService`, one read a group). A
        session not concluded yet is read on every click: its conclusion is never missed.
        """
        keys = await self._card_keys(data)
        if keys is None:
            raise NoSession("error.no_session")
        session = await self._concluded.get(keys)
        if session is None:
            raise NoSession("error.no_session")
        return session

    async def _rebar(self, session: SessionRecord) -> None:
        """After the facilitator changed: this process's copies for votes go, and the open
        polls follow (`PollService.follow`)."""
        self._voting.forget((session.conversation_id, session.session_id))
        await self._polls.follow(session)

    async def _card_keys(self, data: Mapping[str, Any]) -> tuple[int, str, str] | None:
        """The (cycle, entity, sid) a card's data names, or None when malformed or unknown."""
        cycle, entity, sid = data.get("cycle"), data.get("entity"), data.get("sid")
        if isinstance(cycle, str) and cycle.isdecimal():
            cycle = int(cycle)
        if (
            isinstance(cycle, int)
            and not isinstance(cycle, bool)
            and isinstance(entity, str)
            and entity in await self._directory.names()
            and isinstance(sid, str)
            and sid.isalnum()
            and len(sid) <= 64
        ):
            return cycle, entity, sid
        return None

    async def of_entity(self, cycle: int, entity: str) -> list[SessionRecord]:
        """Every session of an entity in a cycle."""
        return await self._sessions.of_entity(cycle, entity)

    async def led_by(self, person: Person) -> list[SessionRecord]:
        """The sessions this person led."""
        return await self._sessions.led_by(person.aad_id)

    async def reload(self, session: SessionRecord) -> SessionRecord | None:
        """The session as stored now."""
        return await self._sessions.get(session.cycle, session.entity, session.session_id)

    async def sheet(self, session: SessionRecord, *, names: bool = True) -> Sheet:
        """The session and its current sheet.

        `names=False`: a headcount, for what only counts people and lists their Teams ids (the
        shared cards, a participant's own card), which costs far less to read.
        """
        return Sheet(session, await self._rows(session.session_id, names), names)

    async def _rows(self, session_id: str, names: bool) -> list[AttendeeRecord]:
        if names:
            return await self._attendance.list(session_id)
        return await self._attendance.headcount(session_id)

    async def name_mask(self, session: SessionRecord) -> NameMask:
        """What masks the names of the session's participants in text for the Ethics Office.

        Everyone the sheet knows (signed in, added by name, join hints) except the leader, whose
        name the Ethics Office sees on purpose so a reply can reach them.
        """
        sheet = await self.sheet(session)
        return NameMask(r.name for r in sheet.rows if not session.is_leader(r.aad_id))

    async def sign_in(
        self,
        session: SessionRecord,
        person: Person,
        data: Mapping[str, Any],
        *,
        before: Sheet | None = None,
    ) -> tuple[Sheet, bool]:
        """Put the caller on the sheet (one row per person, however often they click).

        Returns the sheet with the caller's row and whether they were on it already. `before`
        is the sheet as just read with the session (`sheet_for_card`), so it is not read again.
        """
        self._require_unfrozen(session)
        self._require_open(session)
        if session.is_leader(person.aad_id):
            # Not a missing role: the leader keeps their card, as when they try to vote.
            raise WrongState("error.leader_signs_in")
        details = parse_details(data, prefix="my")
        if before is None or before.session.session_id != session.session_id:
            before = await self.sheet(session)
        row = await self._attendance.sign_in(
            session.session_id,
            person,
            self._clock(),
            category=details.category,
            agency=details.agency,
        )
        # The sheet as read plus the caller's new row: 25 people signing in at once need not
        # read it again each; the shared card is rebuilt from storage a moment later anyway.
        rows = arranged([r for r in before.rows if r.key != row.key] + [row])
        return Sheet(session, rows, before.named), before.find(person.aad_id) is not None

    async def undo(self, session: SessionRecord, person: Person) -> Sheet:
        """Take the caller off the sheet."""
        self._require_unfrozen(session)
        self._require_open(session)
        sheet = await self.sheet(session)
        row = sheet.find(person.aad_id)
        if row is not None:
            await self._attendance.remove(session.session_id, row.key)
            session = await self._drop_facilitator(session, person.aad_id)
        return await self.sheet(session)

    async def add_named(
        self,
        session: SessionRecord,
        caller: Person,
        data: Mapping[str, Any],
        person: Person | None = None,
    ) -> tuple[Sheet, str, bool]:
        """Add someone by name (joined by phone); the cleaned name, and False if already there.

        `person` is a Teams user the meeting's attendance report names: their row is theirs
        (as if they had signed in), so their own later sign-in is the same row.
        """
        self._require_helper(session, caller)
        self._require_unfrozen(session)
        self._require_open(session)
        name = (person.name[:MAX_NAME] or "?") if person else parse_name(data, "add_name")
        details = parse_details(data, prefix="add")
        sheet = await self.sheet(session)
        # Compared by what the name looks like: a look-alike letter or case is the same person.
        wanted = name_skeleton(name)
        if any(name_skeleton(r.name) == wanted for r in sheet.attendees):
            return sheet, name, False
        if person is not None:
            if session.is_leader(person.aad_id) or sheet.find(person.aad_id) is not None:
                return sheet, name, False
            added = await self._attendance.add_users(
                session.session_id,
                [replace(person, name=name)],
                self._clock(),
                source="report",
                added_by=caller.aad_id,
            )
            return await self.sheet(session), name, added > 0
        await self._attendance.add_named(
            session.session_id,
            name,
            self._clock(),
            identity=wanted,
            category=details.category,
            agency=details.agency,
            added_by=caller.aad_id,
        )
        return await self.sheet(session), name, True

    async def remove(self, session: SessionRecord, caller: Person, key: Any) -> Sheet:
        """Take an entry off the sheet (leader only, until the session concludes)."""
        self._require_leader(session, caller)
        self._require_unfrozen(session)
        sheet = await self.sheet(session)
        if not isinstance(key, str) or key not in {r.key for r in sheet.attendees}:
            raise InvalidInput("error.unknown_entry", field="remove")
        removed = next(r for r in sheet.attendees if r.key == key)
        await self._attendance.remove(session.session_id, key)
        session = await self._drop_facilitator(session, removed.aad_id)
        return await self.sheet(session)

    async def roster_candidates(
        self, session: SessionRecord, caller: Person, members: Iterable[Person]
    ) -> list[Person]:
        """The chat's members the leader may tick to add: not on the sheet, not the leader."""
        self._require_leader(session, caller)
        self._require_unfrozen(session)
        self._require_open(session)
        on_sheet = {r.aad_id for r in (await self.sheet(session)).attendees if r.aad_id}
        seen: set[str] = set()
        candidates = []
        for member in members:
            if not member.aad_id or session.is_leader(member.aad_id):
                continue
            if member.aad_id in on_sheet or member.aad_id in seen:
                continue
            seen.add(member.aad_id)
            candidates.append(replace(member, name=member.name[:MAX_NAME] or "?"))
        return sorted(candidates, key=lambda m: normalized_name(m.name))

    async def import_roster(
        self,
        session: SessionRecord,
        caller: Person,
        members: Iterable[Person],
        chosen: Iterable[str],
    ) -> tuple[Sheet, int]:
        """Add the chat members the leader ticked; a chat member is not an attendee by default.

        `chosen` comes from the card: only ids that are really in the chat's roster count, so a
        forged id adds nobody.
        """
        picked = {str(c).strip().lower() for c in chosen if str(c).strip()}
        if not picked:
            raise InvalidInput("error.pick_members", field="roster_pick")
        candidates = await self.roster_candidates(session, caller, members)
        people = [m for m in candidates if m.aad_id in picked]
        added = await self._attendance.add_users(
            session.session_id, people, self._clock(), source="roster", added_by=caller.aad_id
        )
        return await self.sheet(session), added

    async def confirm_hints(self, session: SessionRecord, caller: Person) -> tuple[Sheet, int]:
        """Put every meeting joiner Teams reported on the sheet (leader only)."""
        self._require_leader(session, caller)
        self._require_unfrozen(session)
        self._require_open(session)
        sheet = await self.sheet(session)
        people = [Person(h.aad_id, h.mri, h.name) for h in sheet.hints]
        added = await self._attendance.add_users(
            session.session_id, people, self._clock(), source="joined", added_by=caller.aad_id
        )
        return await self.sheet(session), added

    async def record_join(
        self,
        conversation_id: str,
        people: Iterable[Person],
        in_meeting: Callable[[Person], Awaitable[bool]] | None = None,
    ) -> bool:
        """Keep Teams' meeting-join events as hints; they never sign anyone in by themselves.

        `in_meeting` asks Teams' participant API: a hint it confirms is marked so, for the
        leader to see; where it cannot say, the hint stays a plain hint.
        """
        session = await self.active(conversation_id)
        if session is None or session.status != SIGNIN:
            return False
        for person in people:
            if person.aad_id and not session.is_leader(person.aad_id):
                confirmed = await in_meeting(person) if in_meeting is not None else False
                await self._attendance.add_hint(
                    session.session_id, person, self._clock(), in_meeting=confirmed
                )
        return True

    async def name_monitor(self, session: SessionRecord, caller: Person, key: Any) -> Sheet:
        """Let a signed-in participant record names too (leader only); one monitor at a time."""
        self._require_leader(session, caller)
        sheet = await self.sheet(session)
        row = next((r for r in sheet.attendees if r.key == key and r.aad_id), None)
        if row is None:
            raise InvalidInput("error.unknown_entry", field="monitor")
        monitor = Person(row.aad_id, row.mri, row.name)
        updated = await self._change(session, lambda s: replace(s, monitors=[monitor]))
        return await self.sheet(updated)

    async def name_facilitator(self, session: SessionRecord, caller: Person, key: Any) -> Sheet:
        """Name a signed-in participant to facilitate (leader only), or withdraw the facilitator.

        One facilitator at a time; naming another replaces them. The leader, who must direct
        the session, cannot be their own facilitator (the leader is never on the sheet).
        """
        self._require_leader(session, caller)
        self._require_unfrozen(session)
        if key == NO_FACILITATOR:
            updated = await self._change(session, lambda s: replace(s, facilitator=None))
            await self._rebar(updated)
            return await self.sheet(updated)
        sheet = await self.sheet(session)
        row = next((r for r in sheet.attendees if r.key == key and r.aad_id), None)
        if row is None or session.is_leader(row.aad_id):
            raise InvalidInput("error.unknown_entry", field="facilitator")
        facilitator = Person(row.aad_id, row.mri, row.name)
        # Barred from the open polls (and their vote taken back) before they facilitate: if the
        # change below fails, they are only kept from voting until the next change.
        await self._polls.bar(session, also=[facilitator])
        updated = await self._change(session, lambda s: replace(s, facilitator=facilitator))
        await self._rebar(updated)
        return await self.sheet(updated)

    async def _drop_facilitator(self, session: SessionRecord, aad_id: str) -> SessionRecord:
        """A facilitator taken off the sheet is no participant now, so facilitates no more."""
        if not aad_id or not session.is_facilitator(aad_id):
            return session
        updated = await self._change(
            session, lambda s: replace(s, facilitator=None) if s.is_facilitator(aad_id) else s
        )
        await self._rebar(updated)
        return updated

    async def close(self, session: SessionRecord, caller: Person) -> Sheet:
        """Close sign-in (leader only); the sheet is then Appendix A as submitted."""
        self._require_leader(session, caller)
        now = self._clock()
        updated = await self._change(
            session,
            lambda s: s if s.status != SIGNIN else replace(s, status=SIGNIN_CLOSED, closed_at=now),
        )
        return await self.sheet(updated)

    async def reopen(self, session: SessionRecord, caller: Person) -> Sheet:
        """Reopen sign-in after closing it by mistake (leader only; never once concluded)."""
        self._require_leader(session, caller)
        self._require_unfrozen(session)
        updated = await self._change(
            session,
            lambda s: s if s.status != SIGNIN_CLOSED else replace(s, status=SIGNIN, closed_at=None),
        )
        return await self.sheet(updated)

    async def end(self, session: SessionRecord, caller: Person) -> Sheet:
        """End the session and free the chat for another; the sheet is kept.

        The leader ends it, or the focal point of its entity (audited), e.g. for a leader who
        cannot go on. Its polls still open close first: an ended session's chat offers no way
        to close them.
        """
        by_focal = not session.is_leader(caller.aad_id)
        if by_focal and session.entity not in (await self._directory.roles(caller)).focal_for:
            raise NotAllowed("error.leader_only")
        await self._polls.close_all(session)
        now = self._clock()
        updated = await self._change(
            session,
            lambda s: replace(s, status=ENDED, ended_at=now, closed_at=s.closed_at or now),
        )
        await self._sessions.release_chat(session.conversation_id, session.session_id)
        if by_focal:
            await self._directory.record(
                caller, "session.end", session=session.session_id, entity=session.entity
            )
        log.info("session ended session=%s", session.session_id)
        return await self.sheet(updated)

    # Corrections of a final sheet: the entity's focal point only, each one audited ----------

    async def correct_add(
        self,
        session: SessionRecord,
        focal: Person,
        data: Mapping[str, Any],
        person: Person | None = None,
    ) -> tuple[Sheet, str, str]:
        """Add someone to a final sheet: they count from now on but never assess the facilitator.

        `person` is a Teams user found in the meeting chat; without one, the name typed. A row
        the focal point struck comes back as it was. Returns the name and what happened:
        ADDED, RESTORED or LISTED (on the sheet already).
        """
        await self._require_correction(session, focal)
        name = (person.name[:MAX_NAME] or "?") if person else parse_name(data, "fix_name")
        details = parse_details(data, prefix="fix")
        sheet = await self.sheet(session)
        identity = name_skeleton(name)
        if person is not None:
            same = [r for r in sheet.rows if not r.is_hint and r.aad_id == person.aad_id]
        else:
            # The same look-alike rule as the leader's own additions: one person, one row.
            same = [r for r in sheet.rows if not r.is_hint and name_skeleton(r.name) == identity]
        if any(r.on_sheet for r in same):
            return sheet, name, LISTED
        struck = same[0] if same else None
        key = struck.key if struck else self._attendance.key_for(person, identity)
        # Audited before the write: a correction is never stored without its audit entry.
        await self._audit_correction(
            focal, "sheet.restore" if struck else "sheet.add", session, key
        )
        if struck is not None:
            await self._attendance.restore(session.session_id, struck)
            return await self.sheet(session), struck.name, RESTORED
        added = await self._attendance.add_correction(
            session.session_id,
            person=person,
            name=name,
            identity=identity,
            at=self._clock(),
            category=details.category,
            agency=details.agency,
            added_by=focal.aad_id,
        )
        return await self.sheet(session), name, ADDED if added else LISTED

    async def correct_remove(self, session: SessionRecord, focal: Person, key: Any) -> Sheet:
        """Strike an entry off a final sheet: it no longer counts; who may assess is unchanged."""
        await self._require_correction(session, focal)
        sheet = await self.sheet(session)
        if not isinstance(key, str) or key not in {r.key for r in sheet.attendees}:
            raise InvalidInput("error.unknown_entry", field="remove")
        await self._audit_correction(focal, "sheet.remove", session, key)
        if not await self._attendance.strike(session.session_id, key, self._clock()):
            raise InvalidInput("error.unknown_entry", field="remove")
        return await self.sheet(session)

    async def _require_correction(self, session: SessionRecord, focal: Person) -> None:
        await self._directory.require_focal(focal, session.entity)
        # While the session runs, its leader keeps the sheet; corrections come after.
        if not is_final(session):
            raise WrongState("error.sheet_not_final")

    async def _audit_correction(
        self, focal: Person, action: str, session: SessionRecord, key: str
    ) -> None:
        # `person` is the row key, never a name: the Ethics Office reads the audit log.
        await self._directory.record(
            focal,
            action,
            entity=session.entity,
            session=session.session_id,
            unit=session.unit,
            person=key,
        )

    async def move_card(self, session: SessionRecord, card_id: str) -> SessionRecord:
        """Remember that the sheet's card now lives in another message."""
        return await self._change(session, lambda s: replace(s, card_id=card_id))

    async def move_agenda(self, session: SessionRecord, card_id: str) -> SessionRecord:
        """Remember that the session plan's card now lives in another message."""
        return await self._change(session, lambda s: replace(s, agenda_card_id=card_id))

    async def _change(
        self, session: SessionRecord, edit: Callable[[SessionRecord], SessionRecord]
    ) -> SessionRecord:
        return await change_session(self._sessions, session, edit)

    @staticmethod
    def _require_leader(session: SessionRecord, caller: Person) -> None:
        require_leader(session, caller)

    @staticmethod
    def _require_helper(session: SessionRecord, caller: Person) -> None:
        if not (session.is_leader(caller.aad_id) or session.is_monitor(caller.aad_id)):
            raise NotAllowed("error.leader_or_monitor_only")

    @staticmethod
    def _require_unfrozen(session: SessionRecord) -> None:
        # At conclusion the sheet froze: who may assess the facilitator is fixed from then on.
        if session.frozen:
            raise WrongState("error.sheet_frozen")

    @staticmethod
    def _require_open(session: SessionRecord) -> None:
        if session.status != SIGNIN:
            raise WrongState("error.signin_closed")
