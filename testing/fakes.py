"""In-memory fakes of the repository ports (dialogs/ports.py), for rule tests in milliseconds.

They are fakes of our own interfaces, not of azure-data-tables: plain dicts of records. They
keep the semantics tests/contract/ holds the real repositories to: stale ETags raise
WriteConflict, a save without an ETag raises ValueError and a save of a missing row
ResourceNotFoundError (as the SDK does), insert-only writes answer False or keep the first row,
lists come in the real order (by row key, then as the repository sorts), times come back in UTC
and JSON-stored fields come back as JSON gives them. Every read returns a copy.
`Outage.down = True` makes every call raise StorageUnavailable, as a storage fault would.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from azure.core.exceptions import ResourceNotFoundError

from storage import keys
from storage.assessments import fits
from storage.errors import (
    ActiveSessionExists,
    AggregateTooLarge,
    StorageUnavailable,
    WriteConflict,
)
from storage.records import (
    UNREAD_TIME,
    Aggregate,
    AttendeeRecord,
    AuditEntry,
    Certification,
    CycleConfig,
    EntityPersonnel,
    EntityRecord,
    EntityTotals,
    ExpectedLine,
    Extension,
    FeedbackVersion,
    FocalPoint,
    HeadOfEntity,
    Job,
    OpenPoll,
    Person,
    PollRecord,
    QuestionRecord,
    QueuedQuestion,
    SessionRecord,
    arranged,
)

R = TypeVar("R")


@dataclass
class Outage:
    """A switch shared by one store's fakes: while `down`, every call fails like storage would."""

    down: bool = False

    def check(self) -> None:
        """Raise StorageUnavailable while storage is down."""
        if self.down:
            raise StorageUnavailable("storage is down (fake)")


class _Etags:
    """Fresh ETags, never repeated within one store."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def __call__(self) -> str:
        return f'W/"fake-{next(self._next)}"'


class _StorageClock:
    """Storage's own time: now in UTC, strictly increasing from one write to the next."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._last: datetime | None = None

    def __call__(self) -> datetime:
        at = self._now().astimezone(UTC)
        if self._last is not None and at <= self._last:
            at = self._last + timedelta(microseconds=1)
        self._last = at
        return at


def _utc(value: datetime) -> datetime:
    """A time as Azure Tables gives it back: in UTC (a naive time is taken as local, as the SDK
    does)."""
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    """An optional time as Azure Tables gives it back."""
    return None if value is None else _utc(value)


def _json(value: Any, **dumps: Any) -> Any:
    """A value as it comes back from a JSON property (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value, **dumps))


def _conditional(stored: Any, etag: str | None, what: str) -> None:
    """The checks of a replace under `MatchConditions.IfNotModified`, in the SDK's order."""
    if not etag:
        raise ValueError("IfNotModified must be specified with etag.")
    if stored is None:
        raise ResourceNotFoundError("The specified resource does not exist.")
    if stored.etag != etag:
        raise WriteConflict(f"{what} changed since it was read")


def _sorted_rows(rows: dict[str, R]) -> list[R]:
    """A partition's rows in row-key order, as a partition query returns them."""
    return [rows[k] for k in sorted(rows)]


class FakeSessionStore:
    """Sessions, the chat pointers and the leaders' index, in dicts."""

    def __init__(self, outage: Outage, etags: Callable[[], str]) -> None:
        self._outage = outage
        self._etag = etags
        self._sessions: dict[tuple[int, str], dict[str, SessionRecord]] = {}
        self._chats: dict[str, tuple[int, str, str]] = {}
        self._leaders: dict[str, dict[str, tuple[int, str]]] = {}

    @staticmethod
    def id_for(conversation_id: str, card_id: str) -> str:
        """The id of the session started from this setup card (so retries are no-ops)."""
        return keys.session_id_for(conversation_id, card_id)

    async def create(self, session: SessionRecord) -> SessionRecord:
        """Store a new session and make it the chat's active one; idempotent for its own id."""
        self._outage.check()
        pointer = self._chats.get(session.conversation_id)
        if pointer is not None and pointer[2] != session.session_id:
            if self._find(*pointer) is not None:
                raise ActiveSessionExists(pointer[2])
        self._chats[session.conversation_id] = (
            session.cycle,
            session.entity,
            session.session_id,
        )
        self._store(session)
        self._leaders.setdefault(session.leader.aad_id, {})[session.session_id] = (
            session.cycle,
            session.entity,
        )
        stored = await self.get(session.cycle, session.entity, session.session_id)
        assert stored is not None
        return stored

    async def active_for_chat(
        self, conversation_id: str, *, expected: str | None = None
    ) -> SessionRecord | None:
        """The chat's active session, or None."""
        self._outage.check()
        pointer = self._chats.get(conversation_id)
        return None if pointer is None else copy.deepcopy(self._find(*pointer))

    async def get(self, cycle: int, entity: str, session_id: str) -> SessionRecord | None:
        """One session by its keys, or None."""
        self._outage.check()
        return copy.deepcopy(self._find(cycle, entity, session_id))

    async def of_entity(self, cycle: int, entity: str) -> list[SessionRecord]:
        """Every session of an entity in a cycle, by session id."""
        self._outage.check()
        return [copy.deepcopy(s) for s in _sorted_rows(self._sessions.get((cycle, entity), {}))]

    async def led_by(self, leader_id: str) -> list[SessionRecord]:
        """Every session this person led, newest first."""
        self._outage.check()
        refs = _sorted_rows(
            {sid: (c, e, sid) for sid, (c, e) in self._leaders.get(leader_id, {}).items()}
        )
        found = [self._find(*ref) for ref in refs]
        # An index entry left under a leader the focal point replaced does not count.
        sessions = [copy.deepcopy(s) for s in found if s is not None and s.is_leader(leader_id)]
        return sorted(sessions, key=lambda s: (s.session_date, s.created_at), reverse=True)

    async def index_leader(self, session: SessionRecord, leader_id: str) -> None:
        """List the session among this person's sessions."""
        self._outage.check()
        self._leaders.setdefault(leader_id, {})[session.session_id] = (
            session.cycle,
            session.entity,
        )

    async def unindex_leader(self, session: SessionRecord, leader_id: str) -> None:
        """Take the session off this person's sessions."""
        self._outage.check()
        listed = self._leaders.get(leader_id, {})
        listed.pop(session.session_id, None)
        if not listed:
            # As in the table: a person with no session left has no partition left.
            self._leaders.pop(leader_id, None)

    async def save(self, session: SessionRecord) -> SessionRecord:
        """Replace the session if nobody changed it since it was read; else WriteConflict."""
        self._outage.check()
        stored = self._find(session.cycle, session.entity, session.session_id)
        _conditional(stored, session.etag, "session")
        return replace(session, etag=self._store(session))

    async def release_chat(self, conversation_id: str, session_id: str) -> None:
        """Free the chat for a new session, if this session still holds it."""
        self._outage.check()
        pointer = self._chats.get(conversation_id)
        if pointer is not None and pointer[2] == session_id:
            del self._chats[conversation_id]

    def _find(self, cycle: int, entity: str, session_id: str) -> SessionRecord | None:
        return self._sessions.get((cycle, entity), {}).get(session_id)

    def _store(self, session: SessionRecord) -> str:
        etag = self._etag()
        self._sessions.setdefault((session.cycle, session.entity), {})[session.session_id] = (
            replace(
                session,
                monitors=list(session.monitors),
                agencies=_json(session.agencies, ensure_ascii=False),
                stage_seconds=_json(session.stage_seconds),
                scenario_order=_json(session.scenario_order),
                scenario_seconds=_json(session.scenario_seconds),
                created_at=_utc(session.created_at),
                closed_at=_utc_or_none(session.closed_at),
                ended_at=_utc_or_none(session.ended_at),
                stage_started_at=_utc_or_none(session.stage_started_at),
                scenario_started_at=_utc_or_none(session.scenario_started_at),
                held_at=_utc_or_none(session.held_at),
                frozen_at=_utc_or_none(session.frozen_at),
                etag=etag,
            )
        )
        return etag


class FakeAttendanceStore:
    """Sign-in sheets: session id -> row key -> row."""

    def __init__(self, outage: Outage) -> None:
        self._outage = outage
        self._rows: dict[str, dict[str, AttendeeRecord]] = {}

    @staticmethod
    def key_for(person: Person | None, identity: str) -> str:
        """The row key of a Teams user, or (without one) of a name with this identity."""
        return keys.user_key(person.aad_id) if person else keys.named_key(identity)

    async def sign_in(
        self,
        session_id: str,
        person: Person,
        at: datetime,
        *,
        source: str = "self",
        category: str = "staff",
        agency: str = "",
    ) -> AttendeeRecord:
        """Put a Teams user on the sheet, or update their details."""
        self._outage.check()
        record = AttendeeRecord(
            key=keys.user_key(person.aad_id),
            name=person.name,
            source=source,
            signed_at=at,
            aad_id=person.aad_id,
            mri=person.mri,
            category=category,
            agency=agency,
            added_by=person.aad_id if source == "self" else "",
        )
        self._put(session_id, record)
        return record

    async def add_named(
        self,
        session_id: str,
        name: str,
        at: datetime,
        *,
        identity: str,
        category: str,
        agency: str,
        added_by: str,
    ) -> AttendeeRecord:
        """Put a person who has no Teams presence on the sheet by name (the identity's row)."""
        self._outage.check()
        record = AttendeeRecord(
            key=keys.named_key(identity),
            name=name,
            source="added",
            signed_at=at,
            category=category,
            agency=agency,
            added_by=added_by,
        )
        self._put(session_id, record)
        return record

    async def add_users(
        self, session_id: str, people: Iterable[Person], at: datetime, *, source: str, added_by: str
    ) -> int:
        """Add Teams users not yet on the sheet; count the new."""
        self._outage.check()
        present = {r.key for r in await self.list(session_id) if not r.is_hint}
        fresh: dict[str, AttendeeRecord] = {}
        for person in people:
            key = keys.user_key(person.aad_id)
            if key in present or key in fresh:
                continue
            fresh[key] = AttendeeRecord(
                key=key,
                name=person.name,
                source=source,
                signed_at=at,
                aad_id=person.aad_id,
                mri=person.mri,
                added_by=added_by,
            )
        for record in fresh.values():
            self._put(session_id, record)
        return len(fresh)

    async def add_hint(
        self, session_id: str, person: Person, at: datetime, *, in_meeting: bool = False
    ) -> None:
        """Record that Teams said this user joined the meeting (and whether it confirmed it)."""
        self._outage.check()
        self._put(
            session_id,
            AttendeeRecord(
                key=keys.hint_key(person.aad_id),
                name=person.name,
                source="hint",
                signed_at=at,
                aad_id=person.aad_id,
                mri=person.mri,
                in_meeting=in_meeting,
            ),
        )

    async def add_correction(
        self,
        session_id: str,
        *,
        person: Person | None,
        name: str,
        identity: str,
        at: datetime,
        category: str,
        agency: str,
        added_by: str,
    ) -> AttendeeRecord | None:
        """Insert a row after the freeze; None (the stored row kept) if the row exists."""
        self._outage.check()
        record = AttendeeRecord(
            key=self.key_for(person, identity),
            name=name,
            source="focal",
            signed_at=at,
            aad_id=person.aad_id if person else "",
            mri=person.mri if person else "",
            category=category,
            agency=agency,
            added_by=added_by,
            added_after_freeze=True,
        )
        if record.key in self._rows.get(session_id, {}):
            return None
        self._put(session_id, record)
        return record

    async def strike(self, session_id: str, key: str, at: datetime) -> bool:
        """Strike a row, keeping it (a merge of one property); False when there is no row."""
        self._outage.check()
        row = self._rows.get(session_id, {}).get(key)
        if row is None:
            return False
        self._put(session_id, replace(row, struck_at=at))
        return True

    async def restore(self, session_id: str, record: AttendeeRecord) -> None:
        """Put the row back as this record, not struck."""
        self._outage.check()
        self._put(session_id, replace(record, struck_at=None))

    async def remove(self, session_id: str, key: str) -> bool:
        """Delete a row; like the SDK's delete, a missing row is no error and answers True."""
        self._outage.check()
        self._rows.get(session_id, {}).pop(key, None)
        return True

    async def get(self, session_id: str, aad_id: str) -> AttendeeRecord | None:
        """A Teams user's own sign-in row, or None."""
        self._outage.check()
        return self._rows.get(session_id, {}).get(keys.user_key(aad_id))

    async def list(self, session_id: str) -> list[AttendeeRecord]:
        """The sheet's rows oldest first, then the hints of users not yet on it."""
        self._outage.check()
        return arranged(_sorted_rows(self._rows.get(session_id, {})))

    async def headcount(self, session_id: str) -> list[AttendeeRecord]:
        """Every row with its key, source, Teams ids, strike and freeze flag only."""
        self._outage.check()
        return [
            AttendeeRecord(
                r.key,
                "",
                r.source,
                UNREAD_TIME,
                r.aad_id,
                r.mri,
                struck_at=r.struck_at,
                added_after_freeze=r.added_after_freeze,
            )
            for r in self._rows.get(session_id, {}).values()
        ]

    def _put(self, session_id: str, record: AttendeeRecord) -> None:
        self._rows.setdefault(session_id, {})[record.key] = replace(
            record, signed_at=_utc(record.signed_at), struck_at=_utc_or_none(record.struck_at)
        )


class FakePollStore:
    """Polls by session and votes by poll, with storage times from a strictly rising clock."""

    def __init__(
        self, outage: Outage, etags: Callable[[], str], storage_time: Callable[[], datetime]
    ) -> None:
        self._outage = outage
        self._etag = etags
        self._time = storage_time
        self._polls: dict[str, dict[str, tuple[PollRecord, datetime]]] = {}
        self._votes: dict[str, dict[str, tuple[str, datetime]]] = {}
        self._index: dict[str, OpenPoll] = {}

    async def create(self, poll: PollRecord, *, cycle: int = 0, entity: str = "") -> PollRecord:
        """Index the poll as open, then store it; an existing poll with the same id is returned
        instead (and indexed again, as the real upsert does)."""
        self._outage.check()
        self._index[poll.poll_id] = OpenPoll(
            poll.poll_id, poll.session_id, cycle, entity, _utc(poll.created_at)
        )
        if poll.poll_id not in self._polls.get(poll.session_id, {}):
            self._store(poll)
        stored = await self.get(poll.session_id, poll.poll_id)
        assert stored is not None
        return stored

    async def get(self, session_id: str, poll_id: str) -> PollRecord | None:
        """One poll, or None."""
        self._outage.check()
        found = self._polls.get(session_id, {}).get(poll_id)
        return None if found is None else copy.deepcopy(found[0])

    async def for_session(self, session_id: str) -> list[PollRecord]:
        """Every poll of a session, oldest first."""
        self._outage.check()
        polls = [copy.deepcopy(p) for p, _ in _sorted_rows(self._polls.get(session_id, {}))]
        return sorted(polls, key=lambda p: p.created_at)

    async def save(self, poll: PollRecord) -> PollRecord:
        """Replace the poll if unchanged since read; else WriteConflict."""
        self._outage.check()
        found = self._polls.get(poll.session_id, {}).get(poll.poll_id)
        _conditional(None if found is None else found[0], poll.etag, "poll")
        self._store(poll)
        stored = await self.get(poll.session_id, poll.poll_id)
        assert stored is not None
        return stored

    async def put_vote(self, poll_id: str, voter_key: str, choices: list[int]) -> datetime:
        """Store (or change) one voter's choice; the storage time of the write."""
        self._outage.check()
        at = self._time()
        self._votes.setdefault(poll_id, {})[voter_key] = (json.dumps(choices), at)
        return at

    async def get_vote(self, poll_id: str, voter_key: str) -> list[int] | None:
        """One voter's current choices, or None."""
        self._outage.check()
        found = self._votes.get(poll_id, {}).get(voter_key)
        return None if found is None else json.loads(found[0])

    async def delete_vote(self, poll_id: str, voter_key: str) -> None:
        """Remove a vote; a missing one is no error."""
        self._outage.check()
        self._votes.get(poll_id, {}).pop(voter_key, None)

    async def votes(self, poll_id: str) -> list[tuple[list[int], datetime]]:
        """Every vote's choices with the storage time it was written, by voter key."""
        self._outage.check()
        return [(json.loads(c), at) for c, at in _sorted_rows(self._votes.get(poll_id, {}))]

    async def voter_count(self, poll_id: str) -> int:
        """How many people have a vote stored."""
        self._outage.check()
        return len(self._votes.get(poll_id, {}))

    async def delete_votes(self, poll_id: str) -> int:
        """Delete every vote of a poll; how many were deleted."""
        self._outage.check()
        return len(self._votes.pop(poll_id, {}))

    async def unindex(self, poll_id: str) -> None:
        """Take a poll off the open index; a missing entry is no error."""
        self._outage.check()
        self._index.pop(poll_id, None)

    async def open_before(self, before: datetime) -> list[OpenPoll]:
        """Indexed polls created strictly before this time, by poll id (the index's row key)."""
        self._outage.check()
        return [e for e in _sorted_rows(self._index) if e.created_at < before]

    async def server_time_of(self, session_id: str, poll_id: str) -> datetime:
        """The storage time of the poll's last write."""
        self._outage.check()
        found = self._polls.get(session_id, {}).get(poll_id)
        if found is None:
            raise ResourceNotFoundError("The specified resource does not exist.")
        return found[1]

    def _store(self, poll: PollRecord) -> None:
        stored = replace(
            poll,
            options=_json(poll.options),
            results=None if poll.results is None else _json(poll.results),
            created_at=_utc(poll.created_at),
            closed_at=_utc_or_none(poll.closed_at),
            cutoff=_utc_or_none(poll.cutoff),
            closes_at=_utc_or_none(poll.closes_at),
            etag=self._etag(),
        )
        self._polls.setdefault(poll.session_id, {})[poll.poll_id] = (stored, self._time())


class FakeQuestionStore:
    """A session's questions by the hash of their normalised text; the first logging stays."""

    def __init__(self, outage: Outage) -> None:
        self._outage = outage
        self._rows: dict[str, dict[str, QuestionRecord]] = {}

    async def add(self, session_id: str, text: str, at: datetime) -> QuestionRecord:
        """Log a question; logging the same text again changes nothing."""
        self._outage.check()
        record = QuestionRecord(
            question_id=keys.digest("question", keys.normalized_name(text), length=24),
            session_id=session_id,
            text=text,
            asked_at=at,
        )
        self._rows.setdefault(session_id, {}).setdefault(
            record.question_id, replace(record, asked_at=_utc(at))
        )
        return record

    async def for_session(self, session_id: str) -> list[QuestionRecord]:
        """The session's questions, in the order they were asked."""
        self._outage.check()
        return sorted(_sorted_rows(self._rows.get(session_id, {})), key=lambda q: q.asked_at)


class FakeEthicsQueueStore:
    """The Ethics Office's queue: cycle -> key -> item."""

    def __init__(self, outage: Outage, etags: Callable[[], str]) -> None:
        self._outage = outage
        self._etag = etags
        self._rows: dict[int, dict[str, QueuedQuestion]] = {}

    @staticmethod
    def key_for(session_id: str, question_id: str) -> str:
        """The queue key of a session's question."""
        return f"{session_id}-{question_id}"

    async def add(self, item: QueuedQuestion) -> bool:
        """Queue a question; False when it was queued before."""
        self._outage.check()
        if item.key in self._rows.get(item.cycle, {}):
            return False
        self._store(item)
        return True

    async def for_cycle(self, cycle: int) -> list[QueuedQuestion]:
        """Every queued question of a cycle, oldest first."""
        self._outage.check()
        return sorted(_sorted_rows(self._rows.get(cycle, {})), key=lambda q: q.forwarded_at)

    async def get(self, cycle: int, key: str) -> QueuedQuestion | None:
        """One queued question, or None."""
        self._outage.check()
        return self._rows.get(cycle, {}).get(key)

    async def save(self, item: QueuedQuestion) -> QueuedQuestion:
        """Replace if unchanged since read; else WriteConflict."""
        self._outage.check()
        _conditional(self._rows.get(item.cycle, {}).get(item.key), item.etag, "question")
        self._store(item)
        stored = await self.get(item.cycle, item.key)
        assert stored is not None
        return stored

    def _store(self, item: QueuedQuestion) -> None:
        self._rows.setdefault(item.cycle, {})[item.key] = replace(
            item,
            forwarded_at=_utc(item.forwarded_at),
            answered_at=_utc_or_none(item.answered_at),
            etag=self._etag(),
        )


class FakeFeedbackStore:
    """Appendix C versions: session id -> version -> (answers as JSON, time, by)."""

    def __init__(self, outage: Outage) -> None:
        self._outage = outage
        self._rows: dict[str, dict[int, tuple[str, datetime, str]]] = {}

    async def versions(self, session_id: str) -> list[FeedbackVersion]:
        """Every version, oldest first."""
        self._outage.check()
        rows = self._rows.get(session_id, {})
        return [
            FeedbackVersion(session_id, number, json.loads(rows[number][0]), *rows[number][1:])
            for number in sorted(rows)
        ]

    async def add(
        self, session_id: str, version: int, answers: dict[str, Any], at: datetime, by: str
    ) -> FeedbackVersion:
        """Store a new version; WriteConflict when that number was taken meanwhile."""
        self._outage.check()
        encoded = json.dumps(answers, ensure_ascii=False)
        rows = self._rows.setdefault(session_id, {})
        existing = rows.get(version)
        if existing is None:
            rows[version] = (encoded, _utc(at), by)
        elif not (existing[0] == encoded and existing[1] == at):
            raise WriteConflict("that version exists")
        return FeedbackVersion(session_id, version, answers, at, by)


class FakeAssessmentStore:
    """Appendix F: one aggregate per session, stored as the real entity would read back."""

    def __init__(self, outage: Outage, etags: Callable[[], str]) -> None:
        self._outage = outage
        self._etag = etags
        self._rows: dict[str, Aggregate] = {}

    async def aggregate(self, session_id: str, closes_at: datetime) -> Aggregate:
        """The session's aggregate, created open (fresh salt, closing then) the first time."""
        self._outage.check()
        if session_id not in self._rows:
            self._store(Aggregate(session_id, secrets.token_hex(16), closes_at))
        return copy.deepcopy(self._rows[session_id])

    async def find(self, session_id: str) -> Aggregate | None:
        """The session's aggregate as stored, or None."""
        self._outage.check()
        return copy.deepcopy(self._rows.get(session_id))

    async def due(self, now: datetime) -> list[Aggregate]:
        """Every open aggregate whose closing time has come, by session id (table order)."""
        self._outage.check()
        return [
            copy.deepcopy(a)
            for a in _sorted_rows(self._rows)
            if a.closes_at is not None and a.closes_at <= now
        ]

    def fits(self, aggregate: Aggregate) -> bool:
        """Whether the aggregate fits in one entity: the real repository's own measure."""
        return fits(aggregate)

    async def save(self, aggregate: Aggregate) -> Aggregate:
        """Replace the aggregate if unchanged since read (else WriteConflict)."""
        self._outage.check()
        if not fits(aggregate):
            raise AggregateTooLarge(f"aggregate of {aggregate.answers} answers does not fit")
        _conditional(self._rows.get(aggregate.session_id), aggregate.etag, "aggregate")
        return replace(aggregate, etag=self._store(aggregate))

    async def close(self, aggregate: Aggregate, *, keep_results: bool) -> Aggregate:
        """Close in one conditional write: salt and keys replaced by the count of answers."""
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
        return await self.save(closed)

    def _store(self, aggregate: Aggregate) -> str:
        etag = self._etag()
        # As the entity reads back: one without a salt is closed (its keys are never read).
        closed = aggregate.closed or not aggregate.salt
        self._rows[aggregate.session_id] = replace(
            aggregate,
            salt="" if aggregate.closed else aggregate.salt,
            closes_at=None if aggregate.closed else _utc_or_none(aggregate.closes_at),
            ratings=_json(aggregate.ratings),
            comments={
                item: [e["text"] if isinstance(e, dict) else str(e) for e in entries]
                for item, entries in _json(aggregate.comments, ensure_ascii=False).items()
            },
            folded=[] if closed else _json(aggregate.folded),
            closed=closed,
            closed_answers=(aggregate.closed_answers if aggregate.closed else len(aggregate.folded))
            if closed
            else 0,
            etag=etag,
        )
        return etag


class FakeDirectoryStore:
    """The cycle, entities, focal points both ways, contacts and the audit log."""

    def __init__(self, outage: Outage, etags: Callable[[], str]) -> None:
        self._outage = outage
        self._etag = etags
        self._cycle: CycleConfig | None = None
        self._entities: dict[str, EntityRecord] = {}
        self._focal: dict[str, dict[str, FocalPoint]] = {}
        self._roles: dict[str, set[str]] = {}
        self._contacts: dict[str, tuple[str, str, str]] = {}
        self._audit: list[tuple[float, int, AuditEntry]] = []
        self._sequence = itertools.count()
        self._heads: dict[str, HeadOfEntity] = {}
        self._personnel: dict[int, dict[str, EntityPersonnel]] = {}

    async def cycle(self) -> CycleConfig | None:
        """The current cycle, or None before it is first set."""
        self._outage.check()
        return self._cycle

    async def save_cycle(self, config: CycleConfig, *, create: bool = False) -> None:
        """Create the cycle (if `create`, only when absent) or replace it under its ETag."""
        self._outage.check()
        if create:
            if self._cycle is None:
                self._cycle = replace(config, etag=self._etag())
            return
        _conditional(self._cycle, config.etag, "cycle")
        self._cycle = replace(config, etag=self._etag())

    async def entities(self) -> list[EntityRecord]:
        """Every entity, active or not, by code."""
        self._outage.check()
        return _sorted_rows(self._entities)

    async def save_entity(self, record: EntityRecord, *, create: bool = False) -> bool:
        """Create an entity (False if it exists) or replace it under its ETag."""
        self._outage.check()
        if create:
            if record.code in self._entities:
                return False
        else:
            _conditional(self._entities.get(record.code), record.etag, "entity")
        self._entities[record.code] = replace(record, etag=self._etag())
        return True

    async def focal_points(self, entity: str) -> list[FocalPoint]:
        """The entity's focal points, by Entra id."""
        self._outage.check()
        return _sorted_rows(self._focal.get(entity, {}))

    async def add_focal_point(self, point: FocalPoint) -> None:
        """Name a focal point (idempotent), with the reverse index."""
        self._outage.check()
        self._focal.setdefault(point.entity, {})[point.aad_id] = replace(
            point, added_at=_utc(point.added_at)
        )
        self._roles.setdefault(point.aad_id, set()).add(point.entity)

    async def remove_focal_point(self, entity: str, aad_id: str) -> bool:
        """Withdraw a focal point; False when they were not one."""
        self._outage.check()
        if self._focal.get(entity, {}).pop(aad_id, None) is None:
            return False
        self._roles.get(aad_id, set()).discard(entity)
        return True

    async def focal_entities(self, aad_id: str) -> set[str]:
        """The entities this person is focal point for."""
        self._outage.check()
        return set(self._roles.get(aad_id, set()))

    async def save_contact(self, aad_id: str, mri: str, service_url: str, tenant_id: str) -> None:
        """Remember how to reach a person in personal chat."""
        self._outage.check()
        self._contacts[aad_id] = (mri, service_url, tenant_id)

    async def contacts(self, aad_ids: set[str]) -> list[tuple[str, str, str]]:
        """(mri, service url, tenant) of those of these people the bot can reach."""
        self._outage.check()
        return [self._contacts[a] for a in sorted(aad_ids) if a in self._contacts]

    async def record(self, entry: AuditEntry) -> None:
        """Append to the audit log; details come back as JSON gives them."""
        self._outage.check()
        stored = replace(
            entry,
            at=_utc(entry.at),
            details=_json(entry.details, ensure_ascii=False, default=str),
        )
        self._audit.append((-entry.at.timestamp(), -next(self._sequence), stored))

    async def audit_log(self, limit: int = 50) -> list[AuditEntry]:
        """The newest entries first (of two in the same instant, the later recorded first)."""
        self._outage.check()
        newest = sorted(self._audit, key=lambda x: x[:2])
        return [copy.deepcopy(entry) for *_, entry in newest[:limit]]

    async def audit_of_entity(self, entity: str, limit: int = 50) -> list[AuditEntry]:
        """The newest entries concerning one entity first."""
        self._outage.check()
        newest = sorted((x for x in self._audit if x[2].entity == entity), key=lambda x: x[:2])
        return [copy.deepcopy(entry) for *_, entry in newest[:limit]]

    async def save_head_of_entity(self, head: HeadOfEntity) -> None:
        """Name the entity's Head of Entity, replacing the one named before."""
        self._outage.check()
        self._heads[head.entity] = replace(head, added_at=_utc(head.added_at))

    async def heads_of_entity(self) -> dict[str, HeadOfEntity]:
        """Every entity's Head of Entity, by entity code."""
        self._outage.check()
        return {h.entity: h for h in _sorted_rows(self._heads)}

    async def save_personnel(self, record: EntityPersonnel) -> None:
        """Record (replace) the entity's whole personnel for the cycle."""
        self._outage.check()
        self._personnel.setdefault(record.cycle, {})[record.entity] = replace(
            record, recorded_at=_utc(record.recorded_at)
        )

    async def personnel(self, cycle: int) -> dict[str, EntityPersonnel]:
        """Every entity's recorded personnel of the cycle, by entity code."""
        self._outage.check()
        return {p.entity: p for p in _sorted_rows(self._personnel.get(cycle, {}))}


class FakeSetupStore:
    """Who asked for each setup card: chat -> card id -> requester."""

    def __init__(self, outage: Outage) -> None:
        self._outage = outage
        self._rows: dict[str, dict[str, tuple[str, datetime]]] = {}

    async def remember(
        self, conversation_id: str, card_id: str, requester_id: str, at: datetime
    ) -> None:
        """Record who asked for the setup card posted as this message."""
        self._outage.check()
        self._rows.setdefault(conversation_id, {})[card_id] = (requester_id, _utc(at))

    async def requester(self, conversation_id: str, card_id: str) -> str | None:
        """The Entra id of whoever asked for this setup card, or None if nobody did."""
        self._outage.check()
        found = self._rows.get(conversation_id, {}).get(card_id)
        return (found[0] or None) if found else None

    async def forget_chat(self, conversation_id: str) -> None:
        """Drop every waiting setup card of the chat."""
        self._outage.check()
        self._rows.pop(conversation_id, None)


class FakeJobStore:
    """Jobs by key."""

    def __init__(self, outage: Outage, etags: Callable[[], str]) -> None:
        self._outage = outage
        self._etag = etags
        self._rows: dict[str, Job] = {}

    def key_for(self, kind: str, *ids: str) -> str:
        """The key of the job of this kind about these ids."""
        return keys.digest("job", kind, *ids)

    async def schedule(self, job: Job) -> Job:
        """Insert the job; if its key exists, the stored job unchanged."""
        self._outage.check()
        if job.key not in self._rows:
            self._rows[job.key] = self._stored(job)
        return copy.deepcopy(self._rows[job.key])

    async def get(self, key: str) -> Job | None:
        """One job, or None."""
        self._outage.check()
        return copy.deepcopy(self._rows.get(key))

    async def due(self, now: datetime) -> list[Job]:
        """Unfinished jobs due at or before `now`, soonest first."""
        self._outage.check()
        found = [j for j in self._rows.values() if not j.finished and j.due_at <= now]
        return [copy.deepcopy(j) for j in sorted(found, key=lambda j: (j.due_at, j.key))]

    async def save(self, job: Job) -> Job:
        """Replace the job under its ETag."""
        self._outage.check()
        _conditional(self._rows.get(job.key), job.etag, "job")
        self._rows[job.key] = self._stored(job)
        return copy.deepcopy(self._rows[job.key])

    async def of_cycle(self, cycle: int) -> list[Job]:
        """Every job about this cycle."""
        self._outage.check()
        return [copy.deepcopy(j) for j in self._rows.values() if j.payload.get("cycle") == cycle]

    async def delete(self, key: str) -> None:
        """Delete one job (gone already: nothing to do)."""
        self._outage.check()
        self._rows.pop(key, None)

    def _stored(self, job: Job) -> Job:
        return replace(
            job,
            due_at=_utc(job.due_at),
            lease_until=_utc_or_none(job.lease_until),
            finished_at=_utc_or_none(job.finished_at),
            payload=_json(job.payload),
            etag=self._etag(),
        )


class FakeDedupeStore:
    """Delivered-activity markers: chat -> activity id -> time of the first delivery."""

    def __init__(self, outage: Outage) -> None:
        self._outage = outage
        self._rows: dict[str, dict[str, datetime]] = {}

    async def first_delivery(self, conversation_id: str, activity_id: str, at: datetime) -> bool:
        """True for the first delivery of this activity, False for any redelivery."""
        self._outage.check()
        chat = self._rows.setdefault(conversation_id, {})
        if activity_id in chat:
            return False
        chat[activity_id] = _utc(at)
        return True


class FakeRollupStore:
    """Totals, certifications, extensions, attendance index and expected lists."""

    def __init__(self, outage: Outage, etags: Callable[[], str]) -> None:
        self._outage = outage
        self._etag = etags
        self._totals: dict[int, dict[str, EntityTotals]] = {}
        self._certifications: dict[int, dict[str, Certification]] = {}
        self._extensions: dict[int, dict[str, Extension]] = {}
        self._attended: dict[int, set[str]] = {}
        self._expected: dict[tuple[int, str], dict[str, ExpectedLine]] = {}

    @staticmethod
    def extension_key(entity: str, request_id: str) -> str:
        """The key of an extension request."""
        return f"{entity}-{keys.digest('extension', request_id, length=16)}"

    async def save_totals(self, totals: EntityTotals) -> None:
        """Store an entity's recomputed totals."""
        self._outage.check()
        self._totals.setdefault(totals.cycle, {})[totals.entity] = replace(
            totals, updated_at=_utc(totals.updated_at)
        )

    async def totals(self, cycle: int) -> dict[str, EntityTotals]:
        """Every entity's totals for the cycle."""
        self._outage.check()
        return {t.entity: t for t in _sorted_rows(self._totals.get(cycle, {}))}

    async def certify(self, item: Certification) -> None:
        """Store (or replace) the entity's certification snapshot."""
        self._outage.check()
        self._store_certification(item)

    async def confirm_certification(self, item: Certification) -> None:
        """Replace the certification under its ETag."""
        self._outage.check()
        stored = self._certifications.get(item.cycle, {}).get(item.entity)
        if stored is None or stored.etag != item.etag:
            raise WriteConflict("certification changed")
        self._store_certification(item)

    def _store_certification(self, item: Certification) -> None:
        self._certifications.setdefault(item.cycle, {})[item.entity] = replace(
            item,
            units=_json(item.units, ensure_ascii=False),
            certified_at=_utc(item.certified_at),
            confirmed_at=_utc_or_none(item.confirmed_at),
            etag=self._etag(),
        )

    async def certifications(self, cycle: int) -> dict[str, Certification]:
        """Every certification of the cycle, by entity."""
        self._outage.check()
        return {
            c.entity: copy.deepcopy(c) for c in _sorted_rows(self._certifications.get(cycle, {}))
        }

    async def add_extension(self, item: Extension) -> bool:
        """Store a request; False if the same key exists."""
        self._outage.check()
        if item.key in self._extensions.get(item.cycle, {}):
            return False
        self._store_extension(item)
        return True

    async def extensions(self, cycle: int) -> list[Extension]:
        """Every extension request of the cycle, oldest first."""
        self._outage.check()
        return sorted(_sorted_rows(self._extensions.get(cycle, {})), key=lambda x: x.requested_at)

    async def save_extension(self, item: Extension) -> None:
        """Record a decision under the request's ETag."""
        self._outage.check()
        _conditional(self._extensions.get(item.cycle, {}).get(item.key), item.etag, "extension")
        self._store_extension(item)

    async def mark_attended(self, cycle: int, aad_ids: Collection[str]) -> None:
        """Remember that these people attended a session this cycle."""
        self._outage.check()
        self._attended.setdefault(cycle, set()).update(aad_ids)

    async def attended(self, cycle: int, aad_ids: set[str]) -> set[str]:
        """Which of these people attended a session this cycle."""
        self._outage.check()
        return set(aad_ids) & self._attended.get(cycle, set())

    async def replace_expected(self, cycle: int, entity: str, lines: list[ExpectedLine]) -> None:
        """Replace the entity's expected list with these lines."""
        self._outage.check()
        self._expected[(cycle, entity)] = {
            keys.digest("expected", keys.normalized_name(line.unit), line.leader.lower()): line
            for line in lines
        }

    async def expected(self, cycle: int, entity: str) -> list[ExpectedLine]:
        """The entity's expected units or leaders, in storage (row-key) order."""
        self._outage.check()
        return _sorted_rows(self._expected.get((cycle, entity), {}))

    def _store_extension(self, item: Extension) -> None:
        self._extensions.setdefault(item.cycle, {})[item.key] = replace(
            item,
            requested_at=_utc(item.requested_at),
            decided_at=_utc_or_none(item.decided_at),
            etag=self._etag(),
        )


class FakeRetentionStore:
    """The purge's counts and deletes, over the rows the other fakes of one store hold."""

    def __init__(
        self,
        outage: Outage,
        *,
        sessions: FakeSessionStore,
        attendance: FakeAttendanceStore,
        rollup: FakeRollupStore,
        dedupe: FakeDedupeStore,
        setups: FakeSetupStore,
        feedback: FakeFeedbackStore,
    ) -> None:
        self._outage = outage
        self._sessions = sessions
        self._attendance = attendance
        self._rollup = rollup
        self._dedupe = dedupe
        self._setups = setups
        self._feedback = feedback
        # Appendix F receipt rows as earlier versions kept them: no port writes them now.
        self._receipts: dict[str, set[str]] = {}

    def add_legacy_receipts(self, session_id: str, count: int) -> None:
        """Seed receipt rows an earlier version would have left beside the aggregate."""
        self._receipts.setdefault(session_id, set()).update(f"r-{n:040x}" for n in range(count))

    async def entities_with_sessions(self, cycle: int) -> set[str]:
        """Codes of every entity with a session stored in the cycle."""
        self._outage.check()
        return {
            entity for (c, entity), rows in self._sessions._sessions.items() if c == cycle and rows
        }

    async def sheet_size(self, session_id: str) -> int:
        """Every row of the session's sheet, hints and struck rows included."""
        self._outage.check()
        return len(self._attendance._rows.get(session_id, {}))

    async def delete_sheet(self, session_id: str) -> int:
        """Delete every row of the session's sheet; how many there were."""
        self._outage.check()
        return len(self._attendance._rows.pop(session_id, {}))

    async def legacy_receipts(self, session_id: str) -> int:
        """Receipt rows left by earlier versions."""
        self._outage.check()
        return len(self._receipts.get(session_id, set()))

    async def delete_legacy_receipts(self, session_id: str) -> int:
        """Delete those receipt rows; how many there were."""
        self._outage.check()
        return len(self._receipts.pop(session_id, set()))

    async def leader_indexed(self, leader_id: str, session_id: str) -> bool:
        """Whether the session is listed among this person's sessions."""
        self._outage.check()
        return session_id in self._sessions._leaders.get(leader_id, {})

    async def attended(self, cycle: int) -> set[str]:
        """Everybody remembered as having attended a session in the cycle."""
        self._outage.check()
        return set(self._rollup._attended.get(cycle, set()))

    async def forget_attended(self, cycle: int, aad_ids: set[str]) -> None:
        """Forget that these people attended."""
        self._outage.check()
        self._rollup._attended.get(cycle, set()).difference_update(aad_ids)

    async def markers_before(self, before: datetime) -> int:
        """Markers written strictly before this time."""
        self._outage.check()
        return sum(at < before for chat in self._dedupe._rows.values() for at in chat.values())

    async def delete_markers_before(self, before: datetime) -> int:
        """Delete those markers; how many there were."""
        self._outage.check()
        deleted = 0
        for chat in self._dedupe._rows.values():
            old = [activity for activity, at in chat.items() if at < before]
            for activity in old:
                del chat[activity]
            deleted += len(old)
        return deleted

    async def setups_before(self, before: datetime) -> int:
        """Setup requests made strictly before this time."""
        self._outage.check()
        return sum(at < before for chat in self._setups._rows.values() for _, at in chat.values())

    async def delete_setups_before(self, before: datetime) -> int:
        """Delete those setup requests; how many there were."""
        self._outage.check()
        deleted = 0
        for chat in self._setups._rows.values():
            old = [card for card, (_, at) in chat.items() if at < before]
            for card in old:
                del chat[card]
            deleted += len(old)
        return deleted

    async def anonymise_feedback(self, version: FeedbackVersion) -> None:
        """Replace a stored version's answers and submitter, keeping its number and time."""
        self._outage.check()
        rows = self._feedback._rows.get(version.session_id, {})
        stored = rows.get(version.version)
        if stored is not None:
            encoded = json.dumps(version.answers, ensure_ascii=False)
            rows[version.version] = (encoded, stored[1], version.submitted_by)


class FakeStore:
    """The fakes of every port under the names `storage.TableStore` gives its repositories."""

    def __init__(self, storage_time: Callable[[], datetime] | None = None) -> None:
        self.outage = Outage()
        etags = _Etags()
        clock = _StorageClock(storage_time or (lambda: datetime.now(UTC)))
        self.sessions = FakeSessionStore(self.outage, etags)
        self.attendance = FakeAttendanceStore(self.outage)
        self.polls = FakePollStore(self.outage, etags, clock)
        self.questions = FakeQuestionStore(self.outage)
        self.queue = FakeEthicsQueueStore(self.outage, etags)
        self.feedback = FakeFeedbackStore(self.outage)
        self.assessments = FakeAssessmentStore(self.outage, etags)
        self.directory = FakeDirectoryStore(self.outage, etags)
        self.rollup = FakeRollupStore(self.outage, etags)
        self.setups = FakeSetupStore(self.outage)
        self.jobs = FakeJobStore(self.outage, etags)
        self.dedupe = FakeDedupeStore(self.outage)
        self.retention = FakeRetentionStore(
            self.outage,
            sessions=self.sessions,
            attendance=self.attendance,
            rollup=self.rollup,
            dedupe=self.dedupe,
            setups=self.setups,
            feedback=self.feedback,
        )
