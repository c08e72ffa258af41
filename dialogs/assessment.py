"""Appendix F: participants assess the facilitator anonymously; results only in aggregate.

One answer per person per session is enforced with a receipt keyed by HMAC(secret, session salt,
person); the answer itself is folded into counts and a shuffled comment list with only the day.
The facilitator sees results only once at least `min_answers` people answered, so no single
answer can be singled out. Residual risk, stated in the runbook: while a session has exactly
one answer, someone holding both the tables and the secret could tell who gave it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cards.content import ContentPack
from dialogs.common import guard
from dialogs.errors import NotAllowed, NotSaved, WrongState
from dialogs.feedback import clean_multiline, parse_rating
from storage import WriteConflict
from storage.assessments import Aggregate, AssessmentRepository, today_only
from storage.attendance import AttendanceRepository
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


class AssessmentService:
    """Takes anonymous assessments and gives the facilitator aggregates only."""

    def __init__(
        self,
        assessments: AssessmentRepository,
        attendance: AttendanceRepository,
        secret: str,
        min_answers: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._repo = assessments
        self._attendance = attendance
        self._secret = secret.encode("utf-8")
        self._min = min_answers
        self._clock = clock

    async def participant(self, session: SessionRecord, person: Person) -> AttendeeRecord | None:
        """The person's row on the sheet: only signed-in participants may assess."""
        rows = await guard(self._attendance.list(session.session_id))
        return next((r for r in rows if not r.is_hint and r.aad_id == person.aad_id), None)

    async def has_answered(self, session: SessionRecord, person: Person) -> bool:
        """Whether this person already assessed this session."""
        aggregate = await guard(self._repo.aggregate(session.session_id))
        state = await guard(self._repo.receipt(session.session_id, self._key(aggregate, person)))
        return state == "done"

    async def submit(
        self, session: SessionRecord, person: Person, pack: ContentPack, data: Mapping[str, Any]
    ) -> int:
        """Fold one person's answers in, once; returns how many have answered."""
        if session.is_leader(person.aad_id):
            raise NotAllowed("error.leader_assesses")
        if await self.participant(session, person) is None:
            raise NotAllowed("error.not_participant")
        ratings, comments = parse_assessment(pack, data)
        aggregate = await guard(self._repo.aggregate(session.session_id))
        key = self._key(aggregate, person)
        state = await guard(self._repo.claim(session.session_id, key))
        if state == "done":
            raise WrongState("error.already_assessed")
        try:
            count = await self._fold(session.session_id, key, ratings, comments)
            await guard(self._repo.mark_done(session.session_id, key))
        except NotSaved:
            # The person is told it was not saved; they must be able to answer again.
            try:
                await self._repo.release(session.session_id, key)
            except Exception:  # noqa: BLE001 - storage is failing; the receipt stays pending
                log.warning("pending receipt not released session=%s", session.session_id)
            raise
        log.info("assessment stored session=%s answers=%d", session.session_id, count)
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
        pending = []
        for row in rows:
            if row.is_hint or not row.aad_id or not row.mri:
                continue
            key = self._key(aggregate, Person(row.aad_id, row.mri, row.name))
            if await guard(self._repo.receipt(session.session_id, key)) != "done":
                pending.append(row)
        return pending

    async def _fold(
        self,
        session_id: str,
        key: str,
        ratings: dict[str, int],
        comments: dict[str, str],
    ) -> int:
        day = today_only(self._clock().date())
        for attempt in range(_FOLD_RETRIES):
            aggregate = await guard(self._repo.aggregate(session_id))
            if key in aggregate.folded:
                return aggregate.answers  # a retried submission: already counted once
            _add(aggregate, key, ratings, comments, day)
            try:
                saved = await guard(self._repo.save(aggregate))
                return saved.answers
            except WriteConflict:
                # Others answered at the same moment: back off a little, re-read, fold again.
                await asyncio.sleep(random.uniform(0, 0.05 * (attempt + 1)))
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
