"""Appendix F: participants assess the facilitator anonymously; results only in aggregate.

One answer per person per session is enforced by the aggregate itself: while the assessment is
open it lists, mixed with the counts, a key per person folded in, HMAC(secret, session salt,
person). No other row tells who answered. The answer is folded into counts and a shuffled
comment list without any date.

Nobody may see a change caused by one answer. So the assessment stays open for a period after
the conclusion (`open_for`), during which the facilitator learns only whether the minimum is
reached, never a count; at its close the results are fixed and released once, and only when at
least `min_answers` answered (below it nothing is shown, not even the count). The close is one
write that also replaces the salt and keys by the count, so from then on nobody, operators with
the secret included, can tell who answered. It happens when the aggregate is first read after
its time, or in the app's hourly sweep, whichever comes first; concurrent closes are one.

Answers given at the same moment to one process are folded together (a group commit): one read
and one ETag-guarded write for the whole group, so a room submitting at once does not queue up
behind conflicts on the one entity.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cards.content import ContentPack
from dialogs.errors import DialogueError, NoSession, NotAllowed, NotSaved, WrongState
from dialogs.feedback import clean_multiline, parse_rating
from dialogs.ports import AssessmentStore, AttendanceStore, SessionStore
from storage.errors import AggregateTooLarge, WriteConflict
from storage.records import Aggregate, AttendeeRecord, Person, SessionRecord

log = logging.getLogger(__name__)

MAX_COMMENT = 1000
_FOLD_RETRIES = 12
_CLOSE_RETRIES = 12
CLOSED = "error.assessment_closed"


@dataclass(frozen=True)
class ItemResult:
    """One rating item: mean and how many gave each rating 1..5."""

    id: str
    mean: float
    counts: list[int]


@dataclass(frozen=True)
class Results:
    """What the facilitator may see: open, minimum reached or not; closed, results or nothing."""

    closed: bool
    minimum: int
    closes_at: datetime
    reached: bool  # while open: at least the minimum answered (the only thing told)
    answers: int = 0  # told only once closed with at least the minimum
    items: list[ItemResult] = field(default_factory=list)
    comments: dict[str, list[str]] = field(default_factory=dict)

    @property
    def released(self) -> bool:
        """Whether the results are shown: closed, with at least the minimum of answers."""
        return self.closed and self.reached


@dataclass
class _Answer:
    """One person's submission waiting to be folded, and where its outcome goes."""

    person: Person
    ratings: dict[str, int]
    comments: dict[str, str]
    outcome: asyncio.Future[int] = field(repr=False)
    # Why the form itself was refused: told only once the person is known to be an assessor.
    invalid: DialogueError | None = None


class AssessmentService:
    """Takes anonymous assessments and gives the facilitator aggregates only, once, at close."""

    def __init__(
        self,
        assessments: AssessmentStore,
        attendance: AttendanceStore,
        secret: str,
        min_answers: int,
        clock: Callable[[], datetime],
        open_for: timedelta = timedelta(days=7),
        *,
        sessions: SessionStore,
    ) -> None:
        self._repo = assessments
        self._attendance = attendance
        self._sessions = sessions
        self._secret = secret.encode("utf-8")
        self._min = min_answers
        self._clock = clock
        self._open_for = open_for
        # Per session: answers waiting for the next write, and the task writing them.
        self._waiting: dict[str, list[_Answer]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def participant(self, session: SessionRecord, person: Person) -> AttendeeRecord | None:
        """The person's headcount row (no name or time) if they may assess, else None."""
        # A headcount, not the person's own row: a room answering together shares one read.
        return assessor_row(await self._attendance.headcount(session.session_id), person)

    def closes_at(self, session: SessionRecord) -> datetime:
        """When a new assessment of this session closes: its conclusion plus the open period."""
        return (session.held_at or session.created_at) + self._open_for

    def open_by_date(self, session: SessionRecord) -> bool:
        """Whether a new assessment of the session would still take answers now (no read)."""
        return self._clock() < self.closes_at(session)

    def remindable(self, session: SessionRecord) -> bool:
        """Whether reminding the session's participants may bring answers (no read): concluded,
        and its assessment not closed by date."""
        return session.concluded and self.open_by_date(session)

    async def require_assessor(self, session: SessionRecord, person: Person) -> AttendeeRecord:
        """The person's row on the sheet; refused before the conclusion, for the leader, and for
        anyone not signed in (in that order)."""
        require_concluded(session)
        if session.is_leader(person.aad_id):
            raise NotAllowed("error.leader_assesses")
        row = await self.participant(session, person)
        if row is None:
            raise NotAllowed("error.not_participant")
        return row

    async def may_remind(self, session: SessionRecord, caller: Person) -> bool:
        """Whether the leader may remind the participants now: False once the assessment closed;
        refused before the conclusion and for anyone but the leader."""
        require_concluded(session)
        if not session.is_leader(caller.aad_id):
            raise NotAllowed("error.leader_only")
        return await self.is_open(session)

    async def is_open(self, session: SessionRecord) -> bool:
        """Whether answers are still taken (closing the assessment if its time has come)."""
        return not (await self._current(session)).closed

    async def has_answered(self, session: SessionRecord, person: Person) -> bool:
        """Whether this person already assessed this session; WrongState once it is closed."""
        aggregate = await self._current(session)
        if aggregate.closed:
            raise WrongState(CLOSED)
        return self._key(aggregate, person) in aggregate.folded

    async def submit(
        self, session: SessionRecord, person: Person, pack: ContentPack, data: Mapping[str, Any]
    ) -> int:
        """Fold one person's answers in, once; returns how many have answered."""
        require_concluded(session)
        if session.is_leader(person.aad_id):
            raise NotAllowed("error.leader_assesses")
        # Whether they are on the sheet is read with the group's other reads (_write_waiting);
        # until then a malformed form is not told, so refusals come in `require_assessor`'s order.
        invalid: DialogueError | None = None
        try:
            ratings, comments = parse_assessment(pack, data)
        except DialogueError as error:
            ratings, comments, invalid = {}, {}, error
        outcome: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        answer = _Answer(person, ratings, comments, outcome, invalid)
        sid = session.session_id
        self._waiting.setdefault(sid, []).append(answer)
        if sid not in self._writers:
            self._writers[sid] = asyncio.create_task(
                self._write_waiting(session, self.closes_at(session))
            )
        # Each answer has its own outcome: a submitter that goes away cancels only its own wait.
        count = await answer.outcome
        log.info("assessment stored session=%s", sid)
        return count

    async def results(self, session: SessionRecord, caller: Person, pack: ContentPack) -> Results:
        """The facilitator's view of their own session; others are refused."""
        if not session.is_leader(caller.aad_id):
            raise NotAllowed("error.leader_only")
        aggregate = await self._current(session)
        closes_at = aggregate.closes_at or self.closes_at(session)
        reached = aggregate.answers >= self._min
        if not aggregate.closed or not reached:
            # Open: only whether the minimum is reached. Closed below it: nothing at all.
            return Results(aggregate.closed, self._min, closes_at, reached)
        items = []
        for item in pack.participant_assessment_form:
            if item.kind != "rating":
                continue
            counts = aggregate.ratings.get(item.id, [0] * 5)
            total = sum(counts)
            mean = sum((n + 1) * c for n, c in enumerate(counts)) / total if total else 0.0
            items.append(ItemResult(item.id, mean, counts))
        comments = {k: list(v) for k, v in aggregate.comments.items()}
        return Results(True, self._min, closes_at, True, aggregate.answers, items, comments)

    async def released(self, session: SessionRecord) -> Aggregate | None:
        """The session's closed aggregate if its results were released (closed with at least
        the minimum), closing it first if its time has come; None otherwise. Never creates one:
        a session nobody assessed has no aggregate and nothing to release."""
        found = await self._repo.find(session.session_id)
        if found is None:
            return None
        aggregate = await self._close_if_due(found, self.closes_at(session))
        return aggregate if aggregate.closed and aggregate.answers >= self._min else None

    async def not_answered(self, session: SessionRecord) -> list[AttendeeRecord]:
        """People who may assess and have not yet: only ever used to send them a reminder.

        Nobody, once the assessment is closed; never someone the focal point added afterwards.
        """
        aggregate = await self._current(session)
        if aggregate.closed:
            return []
        rows = await self._attendance.list(session.session_id)
        folded = set(aggregate.folded)
        return [
            row
            for row in rows
            if row.may_assess
            and row.aad_id
            and row.mri
            and self._key(aggregate, Person(row.aad_id, row.mri, row.name)) not in folded
        ]

    async def close_due(self) -> int:
        """Close every assessment whose time has come (the sweep); how many it found closed."""
        closed = 0
        for aggregate in await self._repo.due(self._clock()):
            if (await self._close_if_due(aggregate, aggregate.closes_at)).closed:
                closed += 1
        if closed:
            log.info("assessments closed by the sweep count=%d", closed)
        return closed

    async def _current(self, session: SessionRecord) -> Aggregate:
        """The session's aggregate, closed first if its time has come."""
        closes_at = self.closes_at(session)
        aggregate = await self._repo.aggregate(session.session_id, closes_at)
        return await self._close_if_due(aggregate, closes_at)

    def _due(self, aggregate: Aggregate, closes_at: datetime | None) -> bool:
        due = aggregate.closes_at or closes_at
        return not aggregate.closed and due is not None and self._clock() >= due

    async def _close_if_due(self, aggregate: Aggregate, closes_at: datetime | None) -> Aggregate:
        """Close the aggregate if due: one conditional write; a concurrent close or answer
        makes us re-read, so however many processes try, it is closed once, with every answer."""
        for _ in range(_CLOSE_RETRIES):
            if not self._due(aggregate, closes_at):
                return aggregate
            try:
                closed = await self._repo.close(
                    aggregate, keep_results=aggregate.answers >= self._min
                )
            except WriteConflict:
                fresh = await self._repo.find(aggregate.session_id)
                if fresh is None:
                    raise NotSaved("error.not_saved") from None
                aggregate = fresh
                continue
            log.info("assessment closed session=%s", aggregate.session_id)
            return closed
        raise NotSaved("error.busy")

    async def _write_waiting(self, session: SessionRecord, closes_at: datetime) -> None:
        """Fold what waits for the session, group by group, until nothing is left."""
        session_id = session.session_id
        try:
            while batch := self._waiting.pop(session_id, None):
                try:
                    batch, stored = await self._assessors(session, batch)
                    await self._fold(session_id, closes_at, batch, stored)
                except Exception as error:  # every submitter must hear of it
                    for answer in batch:
                        _settle(answer, error=error)
                finally:
                    # Cancelled (the app stops): nobody may wait for ever on an unsaved answer.
                    for answer in batch:
                        _settle(answer, error=NotSaved("error.not_saved"))
        finally:
            del self._writers[session_id]
            for answer in self._waiting.pop(session_id, []):
                _settle(answer, error=NotSaved("error.not_saved"))

    async def _assessors(
        self, session: SessionRecord, batch: list[_Answer]
    ) -> tuple[list[_Answer], Aggregate | None]:
        """The group's answers from assessors, with the aggregate as stored (None: not yet).

        Three reads, asked at the same time: the session (the answers may have been checked on
        a copy kept since its conclusion, and a focal point may have made a participant its
        leader since), the sheet (only those on it when it froze may assess) and the aggregate.
        """
        stored, rows, aggregate = await asyncio.gather(
            self._sessions.get(session.cycle, session.entity, session.session_id),
            self._attendance.headcount(session.session_id),
            self._repo.find(session.session_id),
        )
        if stored is None:
            raise NoSession("error.no_session")
        kept = []
        for answer in batch:
            if stored.is_leader(answer.person.aad_id):
                _settle(answer, error=NotAllowed("error.leader_assesses"))
            elif assessor_row(rows, answer.person) is None:
                _settle(answer, error=NotAllowed("error.not_participant"))
            elif answer.invalid is not None:
                _settle(answer, error=answer.invalid)
            else:
                kept.append(answer)
        return kept, aggregate

    async def _fold(
        self, session_id: str, closes_at: datetime, batch: list[_Answer], read: Aggregate | None
    ) -> None:
        """Fold a group of answers with one write; settle each answer's outcome."""
        # `read` came with the group's other reads. After a conflict it is read again, and so
        # when there was none yet: it is created only once an answer counts.
        if not batch:
            return
        before: set[str] | None = None  # the keys folded when this group was first read
        for attempt in range(_FOLD_RETRIES):
            if attempt == 0 and read is not None:
                aggregate = read
            else:
                aggregate = await self._repo.aggregate(session_id, closes_at)
            aggregate = await self._close_if_due(aggregate, closes_at)
            if aggregate.closed:
                # Too late: the results are fixed, and nobody's answer can change them now.
                for answer in batch:
                    _settle(answer, error=WrongState(CLOSED))
                return
            folded = set(aggregate.folded)
            if before is None:
                before = folded
            counted: list[_Answer] = []  # folded now or, after a conflict, found folded
            repeated: list[_Answer] = []  # a second answer of someone counted in this group
            keys: set[str] = set()
            for answer in batch:
                key = self._key(aggregate, answer.person)
                if key in before:
                    # Answered in an earlier request: what they already said counts.
                    _settle(answer, error=WrongState("error.already_assessed"))
                elif key in keys:
                    repeated.append(answer)
                elif key in folded:
                    # Folded since our first read: our own write whose answer was lost, or the
                    # person's other submission in another process. It counts once.
                    keys.add(key)
                    counted.append(answer)
                else:
                    grown = _added(aggregate, key, answer.ratings, answer.comments)
                    if not self._repo.fits(grown):
                        # The entity is full (long comments): this answer is not stored, and
                        # neither the earlier answers nor the rest of the group suffer for it.
                        _settle(answer, error=NotSaved("error.assessment_full"))
                        continue
                    aggregate = grown
                    keys.add(key)
                    counted.append(answer)
            if len(aggregate.folded) > len(folded):
                try:
                    aggregate = await self._repo.save(aggregate)
                except WriteConflict:
                    # Another process answered at the same moment: back off, re-read, fold again.
                    await asyncio.sleep(random.uniform(0, 0.05 * (attempt + 1)))
                    continue
                except AggregateTooLarge as error:  # fits() said yes: a bug, never silent
                    raise NotSaved("error.assessment_full") from error
            log.debug("assessments folded session=%s group=%d", session_id, len(batch))
            for answer in counted:
                _settle(answer, count=aggregate.answers)
            for answer in repeated:
                _settle(answer, error=WrongState("error.already_assessed"))
            return
        raise NotSaved("error.busy")

    def _key(self, aggregate: Aggregate, person: Person) -> str:
        message = f"{aggregate.salt}\x1f{aggregate.session_id}\x1f{person.aad_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]


def assessor_row(rows: list[AttendeeRecord], person: Person) -> AttendeeRecord | None:
    """The person's row if it makes them an assessor: on the sheet when it froze."""
    # A row the focal point added after the freeze counts on the sheet but makes no assessor;
    # a row struck later still does.
    # Rows added by name have no Teams id: an empty id is nobody's.
    if not person.aad_id:
        return None
    return next((r for r in rows if r.aad_id == person.aad_id and r.may_assess), None)


def require_concluded(session: SessionRecord) -> None:
    """Refuse what only a concluded session allows (Appendix F, its reminders)."""
    if not session.concluded:
        raise WrongState("error.not_held")


def parse_assessment(
    pack: ContentPack, data: Mapping[str, Any]
) -> tuple[dict[str, int], dict[str, str]]:
    """Ratings 1-5 for every rating item (required), optional comments of bounded length."""
    ratings: dict[str, int] = {}
    comments: dict[str, str] = {}
    for item in pack.participant_assessment_form:
        if item.kind == "rating":
            ratings[item.id] = parse_rating(data.get(item.id), item.id)
        else:
            text = clean_multiline(data.get(item.id), item.id, MAX_COMMENT)
            if text:
                comments[item.id] = text
    return ratings, comments


def _added(
    aggregate: Aggregate, key: str, ratings: dict[str, int], comments: dict[str, str]
) -> Aggregate:
    """A copy of the aggregate with one more answer folded in (the original is untouched)."""
    grown = copy.deepcopy(aggregate)
    for item, value in ratings.items():
        counts = grown.ratings.setdefault(item, [0] * 5)
        counts[value - 1] += 1
    for item, text in comments.items():
        entries = grown.comments.setdefault(item, [])
        # A random place in the list, so order says nothing about who wrote what or when.
        entries.insert(random.randint(0, len(entries)), text)
    grown.folded = sorted([*grown.folded, key])
    return grown


def _settle(answer: _Answer, *, count: int = 0, error: Exception | None = None) -> None:
    """Give a submitter its outcome, once; later calls for the same answer do nothing."""
    if answer.outcome.done():
        return
    if error is None:
        answer.outcome.set_result(count)
    elif isinstance(error, DialogueError):
        # Each submitter raises its own copy: one exception object must not collect the
        # tracebacks of every request it is raised in.
        copy = type(error)(error.key, **error.fields)
        copy.__cause__ = error.__cause__
        answer.outcome.set_exception(copy)
    else:
        answer.outcome.set_exception(error)
