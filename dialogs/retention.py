"""The purge of a past cycle's personal data: what goes, what loses its names, what is kept.

Once an entity has certified its Appendix E, the names behind the counts have served their
purpose. The purge deletes them and keeps the counts:

deleted    sign-in rows (`attendance`), the `leaders` index, the `attended` index (a person
           who also attended a skipped entity's session keeps that row until its purge), poll
           votes, Appendix F receipts (rows earlier versions kept apart from the
           aggregate), the chats' pointers to the cycle's sessions, delivered-activity
           markers and setup requests (who typed `start`) made before the cycle ended, the
           expected units and leaders (`expected`);
anonymised the leader and monitors of each session, the leader's name and id in Appendix C
           versions and in forwarded questions, each Appendix F aggregate still open (its
           salt and answerers' keys replaced by the count, as its close does);
kept       sessions with their counts, entity totals, certifications, polls and their results,
           Appendix C answers, Appendix F aggregates, questions, extensions, the audit log.

It refuses the current cycle (and later ones) and skips entities that have not certified unless
forced (`--force-uncertified`). It is safe to run again: every run plans from what is stored,
so an interrupted purge is finished by the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cards.library import PackLibrary
from dialogs.common import change
from dialogs.errors import NoSession
from dialogs.feedback import leader_items
from dialogs.ports import (
    AssessmentStore,
    AttendanceStore,
    DirectoryStore,
    EthicsQueueStore,
    FeedbackStore,
    JobStore,
    PollStore,
    RetentionStore,
    RollupStore,
    SessionStore,
)
from storage import StorageUnavailable, WriteConflict
from storage.records import AuditEntry, FeedbackVersion, Person, QueuedQuestion, SessionRecord

T = TypeVar("T")

# Rows that belong to no session are kept while they can still be of use, and never past the
# end of the cycle they were written in. A delivered-activity marker only guards against Teams
# redelivering within minutes. A setup request lets its requester submit a card asked for
# ahead of a meeting: a week spares those of a next cycle set early, before the cycle's end.
MARKERS_USEFUL_FOR = timedelta(days=1)
SETUPS_USEFUL_FOR = timedelta(days=7)
# Requests in flight at once, as when the bot certifies an entity.
_PARALLEL = 16
_CLOSE_RETRIES = 12
_NOBODY = Person("", "", "")

# (kind of record, what the purge removes of it), in the order the summary lists them.
DELETED = (
    ("attendance", "sign-in rows (names and join hints)"),
    ("attended", "index of who attended a session"),
    ("leaders", "index of each leader's sessions"),
    ("votes", "poll votes"),
    ("assessments", "Appendix F receipts left by earlier versions"),
    ("chats", "chat pointers to the cycle's sessions"),
    ("deliveries", "delivered-activity markers"),
    ("setups", "setup requests (who typed start) not used in the cycle"),
    ("jobs", "the cycle's scheduled reminders (ids, and who scheduled a leader's reminder)"),
    ("expected", "expected units and their leaders"),
)
ANONYMISED = (
    ("sessions", "sessions: leader and monitors removed, counts kept"),
    ("leaderfeedback", "Appendix C versions: the leader's name and id removed"),
    ("ethicsqueue", "forwarded questions: the leader removed"),
    ("aggregates", "Appendix F aggregates still open: salt and keys replaced by a count"),
)
KEPT = (
    "session counts, entity totals, certifications, polls and their results, Appendix C "
    "answers, Appendix F aggregates, questions, extensions, the audit log"
)


class Refused(RuntimeError):
    """The purge may not run as asked: there is no cycle yet, or this one is not past."""

    def __init__(self, cycle: int, current: int | None) -> None:
        super().__init__(f"cycle {cycle} is not past (current: {current})")
        self.cycle = cycle
        self.current = current


@dataclass
class EntityPlan:
    """One entity's sessions in the purged cycle, and whether it certified them."""

    code: str
    sessions: list[SessionRecord]
    certified_at: datetime | None


@dataclass
class SessionPlan:
    """What the purge changes in one session, read before anything is changed."""

    session: SessionRecord
    sheet: int = 0  # rows on the sign-in sheet
    attendees: set[str] = field(default_factory=set)  # Entra ids the bot marks attended
    votes: dict[str, int] = field(default_factory=dict)  # poll id -> votes stored
    receipts: int = 0  # Appendix F receipt rows of earlier versions
    open_aggregate: bool = False
    indexed: bool = False  # listed among its leader's sessions
    holds_chat: bool = False
    feedback: list[FeedbackVersion] = field(default_factory=list)  # versions naming the leader
    # The ids of the Appendix C items that hold the leader's name, as the session's pack says.
    leader_items: set[str] = field(default_factory=set)

    @property
    def named(self) -> bool:
        """Whether the session row still names its leader, monitors or facilitator."""
        return (
            self.session.leader != _NOBODY
            or bool(self.session.monitors)
            or self.session.facilitator is not None
        )


@dataclass
class Plan:
    """Everything one purge will change, gathered before anything is changed."""

    cycle: int
    current: int
    markers_before: datetime
    setups_before: datetime
    entities: list[EntityPlan] = field(default_factory=list)
    skipped: list[EntityPlan] = field(default_factory=list)
    sessions: list[SessionPlan] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)  # entity -> expected lines
    attended: set[str] = field(default_factory=set)  # Entra ids whose `attended` row goes
    queue: list[QueuedQuestion] = field(default_factory=list)
    markers: int = 0
    setups: int = 0
    jobs: list[str] = field(default_factory=list)  # keys of the cycle's jobs
    unanswered: int = 0

    def counts(self) -> dict[str, int]:
        """Records of each kind (DELETED, ANONYMISED) the purge deletes or changes."""
        sessions = self.sessions
        return {
            "attendance": sum(s.sheet for s in sessions),
            "attended": len(self.attended),
            "leaders": sum(s.indexed for s in sessions),
            "votes": sum(sum(s.votes.values()) for s in sessions),
            "assessments": sum(s.receipts for s in sessions),
            "chats": sum(s.holds_chat for s in sessions),
            "deliveries": self.markers,
            "setups": self.setups,
            "jobs": len(self.jobs),
            "expected": sum(self.expected.values()),
            "sessions": sum(s.named for s in sessions),
            "leaderfeedback": sum(len(s.feedback) for s in sessions),
            "ethicsqueue": len(self.queue),
            "aggregates": sum(s.open_aggregate for s in sessions),
        }

    def deleted(self) -> int:
        """Rows the purge deletes (chat pointers are released, not counted here)."""
        counts = self.counts()
        return sum(counts[kind] for kind, _ in DELETED if kind != "chats")


class Purge:
    """Plans and carries out the purge of one past cycle."""

    def __init__(
        self,
        *,
        sessions: SessionStore,
        attendance: AttendanceStore,
        polls: PollStore,
        assessments: AssessmentStore,
        feedback: FeedbackStore,
        queue: EthicsQueueStore,
        rollup: RollupStore,
        directory: DirectoryStore,
        retention: RetentionStore,
        jobs: JobStore,
        packs: PackLibrary,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        # Which Appendix C answers hold the leader's name is the content pack's to say.
        self._packs = packs
        self._sessions = sessions
        self._attendance = attendance
        self._polls = polls
        self._assessments = assessments
        self._feedback = feedback
        self._queue = queue
        self._rollup = rollup
        self._directory = directory
        self._retention = retention
        self._jobs = jobs
        self._clock = clock

    async def plan(self, cycle: int, *, force_uncertified: bool = False) -> Plan:
        """What the purge of this cycle would change; Refused for the current or a later cycle."""
        current = await self._directory.cycle()
        if current is None or cycle >= current.year:
            raise Refused(cycle, current.year if current else None)
        now, ended = self._clock(), datetime(cycle + 1, 1, 1, tzinfo=UTC)
        plan = Plan(
            cycle,
            current.year,
            markers_before=min(ended, now - MARKERS_USEFUL_FOR),
            setups_before=min(ended, now - SETUPS_USEFUL_FOR),
        )
        certifications = await self._rollup.certifications(cycle)
        codes = await self._retention.entities_with_sessions(cycle)
        codes |= {e.code for e in await self._directory.entities()}
        for code in sorted(codes):
            sessions = await self._sessions.of_entity(cycle, code)
            certified = certifications.get(code)
            entity = EntityPlan(code, sessions, certified.certified_at if certified else None)
            if sessions and certified is None and not force_uncertified:
                plan.skipped.append(entity)
                continue
            expected = len(await self._rollup.expected(cycle, code))
            if not sessions and not expected:
                continue
            plan.entities.append(entity)
            if expected:
                plan.expected[code] = expected
            plan.sessions += await _bounded(self._plan_session(s) for s in sessions)
        await self._plan_queue(plan)
        await self._plan_attended(plan)
        # Markers and setup requests hold no session: the cut-off alone says which go.
        plan.markers = await self._retention.markers_before(plan.markers_before)
        plan.setups = await self._retention.setups_before(plan.setups_before)
        # The cycle's reminders have all been sent or missed: none is of use once it is over.
        plan.jobs = [job.key for job in await self._jobs.of_cycle(cycle)]
        return plan

    async def _plan_session(self, session: SessionRecord) -> SessionPlan:
        sid, leader_id = session.session_id, session.leader.aad_id
        part = SessionPlan(session)
        part.sheet = await self._retention.sheet_size(sid)
        part.attendees = await self._attendees(sid)
        for poll in await self._polls.for_session(sid):
            if votes := len(await self._polls.votes(poll.poll_id)):
                part.votes[poll.poll_id] = votes
        part.receipts = await self._retention.legacy_receipts(sid)
        aggregate = await self._assessments.find(sid)
        part.open_aggregate = aggregate is not None and not aggregate.closed
        part.indexed = bool(leader_id) and await self._retention.leader_indexed(leader_id, sid)
        holder = await self._sessions.active_for_chat(session.conversation_id)
        part.holds_chat = holder is not None and holder.session_id == sid
        part.leader_items = self._leader_items(session)
        part.feedback = [
            v for v in await self._feedback.versions(sid) if _names_leader(v, part.leader_items)
        ]
        return part

    def _leader_items(self, session: SessionRecord) -> set[str]:
        """The session's Appendix C items holding the leader's name; should its pack be gone,
        those of every pack (stripping too much beats leaving a name behind)."""
        packs = [session.pack] if self._packs.has(session.pack) else self._packs.ids()
        return set().union(
            *(leader_items(self._packs.get(p, None).leader_feedback_form) for p in packs)
        )

    async def _attendees(self, session_id: str) -> set[str]:
        """Entra ids on a sheet, as the bot marks them attended (join hints never are)."""
        rows = await self._attendance.list(session_id)
        return {r.aad_id for r in rows if r.aad_id and not r.is_hint}

    async def _plan_queue(self, plan: Plan) -> None:
        purged = {e.code for e in plan.entities}
        for item in await self._queue.for_cycle(plan.cycle):
            if item.entity in purged and (item.leader_id or item.leader_mri or item.leader_name):
                plan.queue.append(item)
                if item.status == "open":
                    plan.unanswered += 1

    async def _plan_attended(self, plan: Plan) -> None:
        """The cycle's `attended` rows of the purged sessions' participants."""
        everyone = await self._retention.attended(plan.cycle)
        if not plan.skipped:
            plan.attended = everyone
            return
        # A person who also attended a skipped entity's session keeps their row until then.
        kept: set[str] = set()
        for entity in plan.skipped:
            for found in await _bounded(self._attendees(s.session_id) for s in entity.sessions):
                kept |= found
        purged: set[str] = set()
        for part in plan.sessions:
            purged |= part.attendees
        plan.attended = everyone & (purged - kept)

    async def run(self, plan: Plan) -> None:
        """Carry the plan out; indexes go before sessions, so a rerun still finds them."""
        sessions = plan.sessions
        await _bounded(
            self._retention.delete_sheet(s.session.session_id) for s in sessions if s.sheet
        )
        await self._retention.forget_attended(plan.cycle, plan.attended)
        await _bounded(
            self._sessions.unindex_leader(s.session, s.session.leader.aad_id)
            for s in sessions
            if s.indexed
        )
        await _bounded(self._polls.delete_votes(poll_id) for s in sessions for poll_id in s.votes)
        await _bounded(
            self._retention.delete_legacy_receipts(s.session.session_id)
            for s in sessions
            if s.receipts
        )
        await self._retention.delete_markers_before(plan.markers_before)
        await self._retention.delete_setups_before(plan.setups_before)
        await _bounded(self._jobs.delete(key) for key in plan.jobs)
        await _bounded(
            self._rollup.replace_expected(plan.cycle, code, []) for code in plan.expected
        )
        await _bounded(
            self._sessions.release_chat(s.session.conversation_id, s.session.session_id)
            for s in sessions
            if s.holds_chat
        )
        await _bounded(
            self._retention.anonymise_feedback(_without_leader(v, s.leader_items))
            for s in sessions
            for v in s.feedback
        )
        await _bounded(self._anonymise_question(item) for item in plan.queue)
        await _bounded(
            self._close_aggregate(s.session.session_id) for s in sessions if s.open_aggregate
        )
        await _bounded(self._anonymise_session(s.session) for s in sessions if s.named)
        await self._directory.record(
            AuditEntry(
                at=self._clock(),
                actor="maintenance",
                action="cycle.purge",
                details={
                    "cycle": plan.cycle,
                    "entities": ",".join(e.code for e in plan.entities),
                    "uncertified": ",".join(
                        e.code for e in plan.entities if e.sessions and not e.certified_at
                    ),
                    "deleted": plan.deleted(),
                },
            )
        )

    async def _anonymise_question(self, item: QueuedQuestion) -> None:
        async def reload() -> QueuedQuestion | None:
            return await self._queue.get(item.cycle, item.key)

        await change(
            item,
            lambda q: replace(q, leader_id="", leader_mri="", leader_name=""),
            self._queue.save,
            reload,
            NoSession("error.no_session"),
        )

    async def _anonymise_session(self, session: SessionRecord) -> None:
        async def reload() -> SessionRecord | None:
            return await self._sessions.get(session.cycle, session.entity, session.session_id)

        await change(
            session,
            lambda s: replace(s, leader=_NOBODY, monitors=[], facilitator=None),
            self._sessions.save,
            reload,
            NoSession("error.no_session"),
        )

    async def _close_aggregate(self, session_id: str) -> None:
        """Close an aggregate the bot left open: one conditional write, the results kept.

        The bot shows them only from its minimum of answers, as for any closed aggregate.
        """
        for _ in range(_CLOSE_RETRIES):
            aggregate = await self._assessments.find(session_id)
            if aggregate is None or aggregate.closed:
                return
            try:
                await self._assessments.close(aggregate, keep_results=True)
            except WriteConflict:
                continue  # an answer or the bot's own close came first: read again
            return
        raise StorageUnavailable("the aggregate kept changing")


def _names_leader(version: FeedbackVersion, items: set[str]) -> bool:
    """Whether an Appendix C version holds its submitter or a leader item prefilled."""
    return bool(version.submitted_by) or any(version.answers.get(i) for i in items)


def _without_leader(version: FeedbackVersion, items: set[str]) -> FeedbackVersion:
    """The version with its submitter and leader items emptied; every other answer kept."""
    answers = dict(version.answers)
    answers.update({item: "" for item in items if item in answers})
    return replace(version, answers=answers, submitted_by="")


async def _bounded(work: Iterable[Awaitable[T]]) -> list[T]:
    """Await all, a few at a time: quick for thousands of sessions, gentle on the account."""
    limit = asyncio.Semaphore(_PARALLEL)

    async def one(awaitable: Awaitable[T]) -> T:
        async with limit:
            return await awaitable

    return list(await asyncio.gather(*(one(w) for w in work)))
