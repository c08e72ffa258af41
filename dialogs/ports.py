"""The repositories the rules need, as Protocols: storage/ implements them over Azure Tables,
testing/fakes.py in memory, and tests/contract/ holds both to the same semantics.

Every method is exactly one the services call. Shared semantics, unless a method says otherwise:
reads of a missing row give None (or an empty list); `save` replaces a record only if its `etag`
is still the stored one, else raises `WriteConflict`; lists come in the order stated; any
failure of the storage itself is `StorageUnavailable`. Records are the plain dataclasses of
storage/records.py; the errors are those of storage/errors.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from storage.records import (
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
)


@runtime_checkable
class SessionStore(Protocol):
    """Sessions by (cycle, entity, id); a chat points at most at one active session."""

    def id_for(self, conversation_id: str, card_id: str) -> str:
        """The id of the session started from this setup card in this chat (stable)."""
        ...

    async def create(self, session: SessionRecord) -> SessionRecord:
        """Store a new session as the chat's active one (ActiveSessionExists if another
        stored session holds the chat); creating the same id again stores it again."""
        ...

    async def active_for_chat(
        self, conversation_id: str, *, expected: str | None = None
    ) -> SessionRecord | None:
        """The chat's active session, or None."""
        ...

    async def get(self, cycle: int, entity: str, session_id: str) -> SessionRecord | None:
        """One session, or None."""
        ...

    async def of_entity(self, cycle: int, entity: str) -> list[SessionRecord]:
        """Every session of an entity in a cycle, by session id."""
        ...

    async def led_by(self, leader_id: str) -> list[SessionRecord]:
        """Every session this person leads now, newest (session date, then creation) first
        (a session indexed under them whose leader changed since is left out)."""
        ...

    async def index_leader(self, session: SessionRecord, leader_id: str) -> None:
        """List the session among this person's sessions (again: no change)."""
        ...

    async def unindex_leader(self, session: SessionRecord, leader_id: str) -> None:
        """Take the session off this person's sessions; a missing entry is no error."""
        ...

    async def save(self, session: SessionRecord) -> SessionRecord:
        """Replace under the ETag (else WriteConflict); the record with its new ETag."""
        ...

    async def release_chat(self, conversation_id: str, session_id: str) -> None:
        """Free the chat if this session still holds it; otherwise nothing."""
        ...


@runtime_checkable
class AttendanceStore(Protocol):
    """The sign-in sheet: one row per Teams user, per typed name, per join hint."""

    def key_for(self, person: Person | None, identity: str) -> str:
        """The row key of a Teams user, or (without one) of a name with this identity (stable)."""
        ...

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
        """Put a Teams user on the sheet, or replace their row."""
        ...

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
        """Put a person on the sheet by name, or replace their row: the row is the identity's
        (the look-alike skeleton the rules compute), so the same identity is the same row."""
        ...

    async def add_users(
        self, session_id: str, people: Iterable[Person], at: datetime, *, source: str, added_by: str
    ) -> int:
        """Add the Teams users not yet signed in (rows already there are kept); count the new."""
        ...

    async def add_hint(
        self, session_id: str, person: Person, at: datetime, *, in_meeting: bool = False
    ) -> None:
        """Record (or replace) a meeting-join hint for a Teams user, apart from their sign-in.

        `in_meeting`: Teams' participant API confirmed the person was in the meeting.
        """
        ...

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
        """Insert-only: a row added after the freeze (`added_after_freeze`, source "focal"),
        keyed as `key_for`; None (and the stored row kept) if that row exists."""
        ...

    async def strike(self, session_id: str, key: str, at: datetime) -> bool:
        """Mark a row struck at this time, keeping the rest of it; False if there is no row."""
        ...

    async def restore(self, session_id: str, record: AttendeeRecord) -> None:
        """Put the row back as this record, not struck (stored or not)."""
        ...

    async def remove(self, session_id: str, key: str) -> bool:
        """Delete a row; deleting a missing row is no error (both backends answer True)."""
        ...

    async def get(self, session_id: str, aad_id: str) -> AttendeeRecord | None:
        """A Teams user's own sign-in row (never their hint), or None."""
        ...

    async def headcount(self, session_id: str) -> list[AttendeeRecord]:
        """Every row with only its key, source, Teams ids, strike and freeze flag; any order."""
        ...

    async def list(self, session_id: str) -> list[AttendeeRecord]:
        """The rows as `storage.records.arranged` orders them."""
        ...


@runtime_checkable
class PollStore(Protocol):
    """Polls in their session's partition; votes keyed by an anonymous voter key; an index
    of the polls open (or half closed) in every session."""

    async def create(self, poll: PollRecord, *, cycle: int = 0, entity: str = "") -> PollRecord:
        """Index the poll as open (under its session's cycle and entity), then insert it; if
        its id exists, the stored poll unchanged (and indexed again)."""
        ...

    async def get(self, session_id: str, poll_id: str) -> PollRecord | None:
        """One poll, or None."""
        ...

    async def for_session(self, session_id: str) -> list[PollRecord]:
        """Every poll of the session, oldest (creation) first."""
        ...

    async def save(self, poll: PollRecord) -> PollRecord:
        """Replace under the ETag (else WriteConflict); the poll as stored now."""
        ...

    async def put_vote(self, poll_id: str, voter_key: str, choices: list[int]) -> datetime:
        """Store or replace one voter's choices; the storage time of the write."""
        ...

    async def get_vote(self, poll_id: str, voter_key: str) -> list[int] | None:
        """One voter's choices, or None."""
        ...

    async def delete_vote(self, poll_id: str, voter_key: str) -> None:
        """Remove a vote; a missing vote is no error."""
        ...

    async def votes(self, poll_id: str) -> list[tuple[list[int], datetime]]:
        """Every vote with its storage time, by voter key."""
        ...

    async def voter_count(self, poll_id: str) -> int:
        """How many people have a vote stored (their choices are not read)."""
        ...

    async def delete_votes(self, poll_id: str) -> int:
        """Delete every vote of the poll (at most 100 to a transaction); how many there were."""
        ...

    async def unindex(self, poll_id: str) -> None:
        """Take the poll off the open index; a missing entry is no error."""
        ...

    async def open_before(self, before: datetime) -> list[OpenPoll]:
        """The indexed polls of every session created strictly before this time, by poll id."""
        ...

    async def server_time_of(self, session_id: str, poll_id: str) -> datetime:
        """The storage time of the poll's last write (ResourceNotFoundError if none)."""
        ...


@runtime_checkable
class QuestionStore(Protocol):
    """A session's unanswered questions; the same text (normalised) is one question."""

    async def add(self, session_id: str, text: str, at: datetime) -> QuestionRecord:
        """Log a question; the first logging of a text is the one kept."""
        ...

    async def for_session(self, session_id: str) -> list[QuestionRecord]:
        """The session's questions, oldest first."""
        ...


@runtime_checkable
class EthicsQueueStore(Protocol):
    """The Ethics Office's queue of forwarded questions, one partition per cycle."""

    def key_for(self, session_id: str, question_id: str) -> str:
        """The queue key of a session's question (stable)."""
        ...

    async def add(self, item: QueuedQuestion) -> bool:
        """Insert-only: False (and the stored item kept) if the key was queued before."""
        ...

    async def for_cycle(self, cycle: int) -> list[QueuedQuestion]:
        """Every item of the cycle, oldest forwarded first."""
        ...

    async def get(self, cycle: int, key: str) -> QueuedQuestion | None:
        """One item, or None."""
        ...

    async def save(self, item: QueuedQuestion) -> QueuedQuestion:
        """Replace under the ETag (else WriteConflict); the item as stored now."""
        ...


@runtime_checkable
class FeedbackStore(Protocol):
    """Appendix C versions per session; a version, once written, is never replaced."""

    async def versions(self, session_id: str) -> list[FeedbackVersion]:
        """Every version, by number."""
        ...

    async def add(
        self, session_id: str, version: int, answers: dict[str, Any], at: datetime, by: str
    ) -> FeedbackVersion:
        """Insert a version; WriteConflict if that number holds other answers (the same
        answers at the same time are our own retried write, and succeed)."""
        ...


@runtime_checkable
class AssessmentStore(Protocol):
    """Appendix F: one aggregate per session; open (salt and keys) until its close, then only
    counts (`Aggregate.closed`, `closed_answers`)."""

    async def aggregate(self, session_id: str, closes_at: datetime) -> Aggregate:
        """The session's aggregate, created open (fresh salt, closing at `closes_at`) the first
        time; an existing one as stored."""
        ...

    async def find(self, session_id: str) -> Aggregate | None:
        """The session's aggregate as stored, or None; never creates one."""
        ...

    async def due(self, now: datetime) -> list[Aggregate]:
        """Every open aggregate, in any session, whose closing time is at or before `now`."""
        ...

    def fits(self, aggregate: Aggregate) -> bool:
        """Whether `save` would store it (one entity: 1 MiB, 255 properties, 64 KiB strings)."""
        ...

    async def save(self, aggregate: Aggregate) -> Aggregate:
        """Replace under the ETag (else WriteConflict); the aggregate with its new ETag.
        AggregateTooLarge (nothing written) when it does not fit."""
        ...

    async def close(self, aggregate: Aggregate, *, keep_results: bool) -> Aggregate:
        """One write under the ETag (else WriteConflict): salt, keys and closing time replaced
        by the count of answers; without `keep_results` the counts and comments go too."""
        ...


@runtime_checkable
class DirectoryStore(Protocol):
    """The cycle, entities, focal points (both ways), admin contacts and the audit log."""

    async def cycle(self) -> CycleConfig | None:
        """The current cycle, or None before it is first set."""
        ...

    async def save_cycle(self, config: CycleConfig, *, create: bool = False) -> None:
        """With `create`, insert unless present (silently kept); else replace under the ETag."""
        ...

    async def entities(self) -> list[EntityRecord]:
        """Every entity, by code."""
        ...

    async def save_entity(self, record: EntityRecord, *, create: bool = False) -> bool:
        """With `create`, insert (False if the code exists); else replace under the ETag."""
        ...

    async def focal_points(self, entity: str) -> list[FocalPoint]:
        """The entity's focal points, by Entra id."""
        ...

    async def add_focal_point(self, point: FocalPoint) -> None:
        """Name a focal point (again: replaced); the person's roles then include the entity."""
        ...

    async def remove_focal_point(self, entity: str, aad_id: str) -> bool:
        """Withdraw a focal point; False when they were not one."""
        ...

    async def focal_entities(self, aad_id: str) -> set[str]:
        """The entities this person is focal point for."""
        ...

    async def save_contact(self, aad_id: str, mri: str, service_url: str, tenant_id: str) -> None:
        """Remember how to reach a person."""
        ...

    async def contacts(self, aad_ids: set[str]) -> list[tuple[str, str, str]]:
        """(mri, service url, tenant) of the known ones among these people, by Entra id."""
        ...

    async def record(self, entry: AuditEntry) -> None:
        """Append to the audit log (details as JSON, non-JSON values as text)."""
        ...

    async def audit_log(self, limit: int = 50) -> list[AuditEntry]:
        """At most `limit` entries, newest first."""
        ...

    async def audit_of_entity(self, entity: str, limit: int = 50) -> list[AuditEntry]:
        """At most `limit` entries whose entity is this one, newest first."""
        ...

    async def save_head_of_entity(self, head: HeadOfEntity) -> None:
        """Name the entity's Head of Entity, replacing the one named before."""
        ...

    async def heads_of_entity(self) -> dict[str, HeadOfEntity]:
        """Every entity's Head of Entity, by entity code."""
        ...

    async def save_personnel(self, record: EntityPersonnel) -> None:
        """Record (replace) the entity's whole personnel for the cycle."""
        ...

    async def personnel(self, cycle: int) -> dict[str, EntityPersonnel]:
        """Every entity's recorded personnel of the cycle, by entity code."""
        ...


@runtime_checkable
class SetupStore(Protocol):
    """Who asked for each setup card still waiting in a chat."""

    async def remember(
        self, conversation_id: str, card_id: str, requester_id: str, at: datetime
    ) -> None:
        """Record (or replace) who asked for the setup card posted as this message."""
        ...

    async def requester(self, conversation_id: str, card_id: str) -> str | None:
        """The Entra id of whoever asked for this card in this chat, or None."""
        ...

    async def forget_chat(self, conversation_id: str) -> None:
        """Drop every waiting setup card of the chat (none: no error)."""
        ...


@runtime_checkable
class JobStore(Protocol):
    """Work due at a time, one row per stable key; claims are single-entity conditional writes."""

    def key_for(self, kind: str, *ids: str) -> str:
        """The key of the job of this kind about these ids (stable: the same job, the same key)."""
        ...

    async def schedule(self, job: Job) -> Job:
        """Insert-only: the job as stored (an existing key's job unchanged, finished or not)."""
        ...

    async def get(self, key: str) -> Job | None:
        """One job, or None."""
        ...

    async def due(self, now: datetime) -> list[Job]:
        """Every job not finished (done or cancelled) whose due time is at or before `now`,
        soonest first (running ones included: their lease may have run out)."""
        ...

    async def save(self, job: Job) -> Job:
        """Replace under the ETag (else WriteConflict); the job with its new ETag."""
        ...

    async def of_cycle(self, cycle: int) -> list[Job]:
        """Every job, finished or not, about this cycle (its payload's `cycle`)."""
        ...

    async def delete(self, key: str) -> None:
        """Delete one job; a job already gone is no error."""
        ...


@runtime_checkable
class RollupStore(Protocol):
    """Entity totals, certifications, extensions, who attended, expected units."""

    def extension_key(self, entity: str, request_id: str) -> str:
        """The key of the extension request made by this click (stable)."""
        ...

    async def save_totals(self, totals: EntityTotals) -> None:
        """Store (replace) an entity's totals."""
        ...

    async def totals(self, cycle: int) -> dict[str, EntityTotals]:
        """Every entity's totals of the cycle, by entity code."""
        ...

    async def certify(self, item: Certification) -> None:
        """Store (replace) the entity's certification."""
        ...

    async def confirm_certification(self, item: Certification) -> None:
        """Replace the certification only if its `etag` is still the stored one (WriteConflict
        otherwise, or when it is gone)."""
        ...

    async def certifications(self, cycle: int) -> dict[str, Certification]:
        """Every certification of the cycle, by entity code."""
        ...

    async def add_extension(self, item: Extension) -> bool:
        """Insert-only: False (and the stored request kept) if the key exists."""
        ...

    async def extensions(self, cycle: int) -> list[Extension]:
        """Every request of the cycle, oldest first."""
        ...

    async def save_extension(self, item: Extension) -> None:
        """Replace under the ETag (else WriteConflict)."""
        ...

    async def mark_attended(self, cycle: int, aad_ids: Collection[str]) -> None:
        """Remember that these people attended a session this cycle."""
        ...

    async def attended(self, cycle: int, aad_ids: set[str]) -> set[str]:
        """Which of these people attended a session this cycle."""
        ...

    async def replace_expected(self, cycle: int, entity: str, lines: list[ExpectedLine]) -> None:
        """Replace the entity's expected list (lines with the same unit and leader: one)."""
        ...

    async def expected(self, cycle: int, entity: str) -> list[ExpectedLine]:
        """The entity's expected lines, in storage order (by a hash of the line)."""
        ...


@runtime_checkable
class RetentionStore(Protocol):
    """What the purge of a past cycle counts and deletes beyond the journeys' own ports: whole
    sign-in sheets, the cycle's indexes, rows earlier versions left, and rows that belong to no
    session (delivered-activity markers, setup requests). A delete of what is gone already is
    no error; a count read again after its delete is 0."""

    async def entities_with_sessions(self, cycle: int) -> set[str]:
        """Codes of every entity with a session stored in the cycle, in the directory or not."""
        ...

    async def sheet_size(self, session_id: str) -> int:
        """Every row of the session's sheet: sign-ins, names, join hints, struck rows."""
        ...

    async def delete_sheet(self, session_id: str) -> int:
        """Delete every row of the session's sheet; how many there were."""
        ...

    async def legacy_receipts(self, session_id: str) -> int:
        """Appendix F receipt rows earlier versions kept beside the session's aggregate."""
        ...

    async def delete_legacy_receipts(self, session_id: str) -> int:
        """Delete those receipt rows (never the aggregate); how many there were."""
        ...

    async def leader_indexed(self, leader_id: str, session_id: str) -> bool:
        """Whether the session is listed among this person's sessions (`index_leader`)."""
        ...

    async def attended(self, cycle: int) -> set[str]:
        """Entra ids of everybody remembered as having attended a session in the cycle."""
        ...

    async def forget_attended(self, cycle: int, aad_ids: set[str]) -> None:
        """Forget that these people attended a session in the cycle (unknown ones: no error)."""
        ...

    async def markers_before(self, before: datetime) -> int:
        """Delivered-activity markers written strictly before this time, in every chat."""
        ...

    async def delete_markers_before(self, before: datetime) -> int:
        """Delete those markers; how many there were."""
        ...

    async def setups_before(self, before: datetime) -> int:
        """Setup requests (`SetupStore.remember`) made strictly before this time, in every chat."""
        ...

    async def delete_setups_before(self, before: datetime) -> int:
        """Delete those setup requests; how many there were."""
        ...

    async def anonymise_feedback(self, version: FeedbackVersion) -> None:
        """Replace a stored Appendix C version's answers and submitter by these, keeping its
        number and time (the one rewrite of a version; a missing version stays missing)."""
        ...
