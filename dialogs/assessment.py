"""Appendix F: participants assess the facilitator anonymously; results only in aggregate.

One answer per person per session is enforced by the aggregate itself: it lists, mixed with the
counts, a key per person folded in, HMAC(secret, session salt, person). No other row tells who
answered. The answer is folded into counts and a shuffled comment list with only the day. The
facilitator sees results only once at least `min_answers` people answered, so no single answer
can be singled out. Residual risk, stated in the runbook: while a session has exactly one
answer, someone holding both the tables and the secret could tell who gave it.

Answers given at the same moment to one process are folded together (a group commit): one read
and one ETag-guarded write for the whole group, so a room submitting at once does not queue up
behind conflicts on the one entity.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cards.content import ContentPack
from dialogs.common import guard
from dialogs.errors import DialogueError, NotAllowed, NotSaved, WrongState
from dialogs.feedback import clean_multiline, parse_rating
from dialogs.ports import AssessmentStore, AttendanceStore
from storage import WriteConflict
from storage.assessments import Aggregate, today_only
from storage.records import AttendeeRecord, Person, SessionRecord

log = logging.getLogger(__name__)

MAX_COMMENT = 1000
_FOLD_RETRIES = 12


@dataclass(frozen=True)
class ItemResult:
    """One rating item: mean and how many gave each rating 1..5."""

    id: str
    mean: float
    counts: list[int]


@dataclass(frozen=True)
class Results:
    """What the facilitator may see: nothing below the minimum, aggregates above it."""

    answers: int
    minimum: int
    items: list[ItemResult]
    comments: dict[str, list[str]]

    @property
    def withheld(self) -> bool:
        """Whether too few answered for results to be shown."""
        return self.answers < self.minimum


@dataclass
class _Answer:
    """One person's submission waiting to be folded, and where its outcome goes."""

    person: Person
    ratings: dict[str, int]
    comments: dict[str, str]
    outcome: asyncio.Future[int] = field(repr=False)


class AssessmentService:
    """Takes anonymous assessments and gives the facilitator aggregates only."""

    def __init__(
        self,
        assessments: AssessmentStore,
        attendance: AttendanceStore,
        secret: str,
        min_answers: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._repo = assessments
        self._attendance = attendance
        self._secret = secret.encode("utf-8")
        self._min = min_answers
        self._clock = clock
        # Per session: answers waiting for the next write, and the task writing them.
        self._waiting: dict[str, list[_Answer]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def participant(self, session: SessionRecord, person: Person) -> AttendeeRecord | None:
        """The person's row on the sheet: only signed-in participants may assess."""
        row = await guard(self._attendance.get(session.session_id, person.aad_id))
        return None if row is None or row.is_hint else row

    async def has_answered(self, session: SessionRecord, person: Person) -> bool:
        """Whether this person already assessed this session."""
        aggregate = await guard(self._repo.aggregate(session.session_id))
        return self._key(aggregate, person) in aggregate.folded

    async def submit(
        self, session: SessionRecord, person: Person, pack: ContentPack, data: Mapping[str, Any]
    ) -> int:
        """Fold one person's answers in, once; returns how many have answered."""
        if session.is_leader(person.aad_id):
            raise NotAllowed("error.leader_assesses")
        if await self.participant(session, person) is None:
            raise NotAllowed("error.not_participant")
        ratings, comments = parse_assessment(pack, data)
        answer = _Answer(person, ratings, comments, asyncio.get_running_loop().create_future())
        sid = session.session_id
        self._waiting.setdefault(sid, []).append(answer)
        if sid not in self._writers:
            self._writers[sid] = asyncio.create_task(self._write_waiting(sid))
        # Each answer has its own outcome: a submitter that goes away cancels only its own wait.
        count = await answer.outcome
        log.info("assessment stored session=%s answers=%d", sid, count)
        return count

    async def results(self, session: SessionRecord, caller: Person, pack: ContentPack) -> Results:
        """The facilitator's view of their own session; others are refused."""
        if not session.is_leader(caller.aad_id):
            raise NotAllowed("error.leader_only")
        aggregate = await guard(self._repo.aggregate(session.session_id))
        if aggregate.answers < self._min:
            return Results(aggregate.answers, self._min, [], {})
        items = []
        for item in pack.participant_assessment_form:
            if item.kind != "rating":
                continue
            counts = aggregate.ratings.get(item.id, [0] * 5)
            total = sum(counts)
            mean = sum((n + 1) * c for n, c in enumerate(counts)) / total if total else 0.0
            items.append(ItemResult(item.id, mean, counts))
        comments = {k: [c["text"] for c in v] for k, v in aggregate.comments.items()}
        return Results(aggregate.answers, self._min, items, comments)

    async def not_answered(self, session: SessionRecord) -> list[AttendeeRecord]:
        """Signed-in Teams users with no answer yet: only ever used to send them a reminder."""
        aggregate = await guard(self._repo.aggregate(session.session_id))
        rows = await guard(self._attendance.list(session.session_id))
        folded = set(aggregate.folded)
        return [
            row
            for row in rows
            if not row.is_hint
            and row.aad_id
            and row.mri
            and self._key(aggregate, Person(row.aad_id, row.mri, row.name)) not in folded
        ]

    async def _write_waiting(self, session_id: str) -> None:
        """Fold what waits for the session, group by group, until nothing is left."""
        try:
            while batch := self._waiting.pop(session_id, None):
                try:
                    await self._fold(session_id, batch)
                except Exception as error:  # noqa: BLE001 - every submitter must hear of it
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

    async def _fold(self, session_id: str, batch: list[_Answer]) -> None:
        """Fold a group of answers with one read and one write; settle each answer's outcome."""
        day = today_only(self._clock().date())
        before: set[str] | None = None  # the keys folded when this group was first read
        for attempt in range(_FOLD_RETRIES):
            aggregate = await guard(self._repo.aggregate(session_id))
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
                else:
                    keys.add(key)
                    counted.append(answer)
                    if key not in folded:
                        _add(aggregate, key, answer.ratings, answer.comments, day)
                    # Else folded since our first read: our own write whose answer was lost,
                    # or the person's other submission in another process. It counts once.
            if len(aggregate.folded) > len(folded):
                try:
                    aggregate = await guard(self._repo.save(aggregate))
                except WriteConflict:
                    # Another process answered at the same moment: back off, re-read, fold again.
                    await asyncio.sleep(random.uniform(0, 0.05 * (attempt + 1)))
                    continue
            log.debug(
                "assessments folded session=%s group=%d answers=%d",
                session_id,
                len(batch),
                aggregate.answers,
            )
            for answer in counted:
                _settle(answer, count=aggregate.answers)
            for answer in repeated:
                _settle(answer, error=WrongState("error.already_assessed"))
            return
        raise NotSaved("error.busy")

    def _key(self, aggregate: Aggregate, person: Person) -> str:
        message = f"{aggregate.salt}\x1f{aggregate.session_id}\x1f{person.aad_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]


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


def _add(
    aggregate: Aggregate, key: str, ratings: dict[str, int], comments: dict[str, str], day: str
) -> None:
    for item, value in ratings.items():
        counts = aggregate.ratings.setdefault(item, [0] * 5)
        counts[value - 1] += 1
    for item, text in comments.items():
        entries = aggregate.comments.setdefault(item, [])
        # A random place in the list, so order says nothing about who wrote what or when.
        entries.insert(random.randint(0, len(entries)), {"text": text, "day": day})
    aggregate.folded = sorted([*aggregate.folded, key])


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
