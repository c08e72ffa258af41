"""Appendix C: the leader's feedback, prefilled from the session; every version is kept."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cards.content import ContentPack, FormItem
from dialogs.errors import InvalidInput, NotAllowed, NotSaved, WrongState
from dialogs.forms import clean_text
from dialogs.ports import FeedbackStore
from storage import WriteConflict
from storage.records import (
    FeedbackVersion,
    QuestionRecord,
    SessionRecord,
)

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_COUNT = 100_000


@dataclass(frozen=True)
class Prefill:
    """What the session already tells about the form's items."""

    values: dict[str, Any]
    scenario_numbers: list[int]
    # Appendix C item 2, "Discussion leader": the guide has it filled in "by session
    # leader/facilitator"; a session the leader delegated facilitating in names both. The form
    # shows the facilitator beside the leader in the items the pack marks `prefill: leader`.
    facilitator: str = ""


class LeaderFeedbackService:
    """Validates and stores the leader's feedback; only the leader may submit or amend."""

    def __init__(self, feedback: FeedbackStore, clock: Callable[[], datetime]) -> None:
        self._feedback = feedback
        self._clock = clock

    def prefill(
        self,
        session: SessionRecord,
        pack: ContentPack,
        entity_name: str,
        participants: int,
        questions: list[QuestionRecord],
    ) -> Prefill:
        """What the bot knows for each item the pack marks `prefill`, by item id."""
        discussed = [s.number for s in pack.scenarios if s.id in session.scenario_seconds] or [
            s.number for s in pack.scenarios if s.id in session.scenario_order
        ]
        known = {
            "date": session.session_date.isoformat(),
            "leader": session.leader.name,
            "entity": entity_name,
            "unit": session.unit,
            "participants": participants,
            "personnel": session.personnel,
            "scenarios": ",".join(str(n) for n in sorted(discussed)),
            "questions": "\n".join(q.text for q in questions)[:MAX_TEXT],
        }
        values = {
            item.id: known[item.prefill] for item in pack.leader_feedback_form if item.prefill
        }
        facilitator = session.facilitator.name if session.facilitator else ""
        return Prefill(values, sorted(discussed), facilitator)

    async def latest(self, session: SessionRecord) -> FeedbackVersion | None:
        """The newest version, if the leader submitted one."""
        versions = await self._feedback.versions(session.session_id)
        return versions[-1] if versions else None

    async def versions(self, session: SessionRecord) -> list[FeedbackVersion]:
        """Every version, oldest first."""
        return await self._feedback.versions(session.session_id)

    async def submit(
        self,
        session: SessionRecord,
        caller_id: str,
        pack: ContentPack,
        data: Mapping[str, Any],
        *,
        locked: bool = False,
    ) -> FeedbackVersion:
        """Validate every item and store a new version (the leader may amend until certified)."""
        if not session.is_leader(caller_id):
            raise NotAllowed("error.leader_only")
        if locked:
            raise WrongState("error.feedback_locked")
        answers = parse_feedback(pack.leader_feedback_form, data, pack)
        for _ in range(5):
            versions = await self._feedback.versions(session.session_id)
            number = versions[-1].version + 1 if versions else 1
            try:
                stored = await self._feedback.add(
                    session.session_id, number, answers, self._clock(), caller_id
                )
            except WriteConflict:
                continue
            log.info("leader feedback stored session=%s version=%d", session.session_id, number)
            return stored
        raise NotSaved("error.busy")


def leader_items(form: Iterable[FormItem]) -> set[str]:
    """The ids of the Appendix C items that hold the leader's name (prefilled with it)."""
    return {item.id for item in form if item.prefill == "leader"}


def parse_feedback(
    items: tuple[FormItem, ...], data: Mapping[str, Any], pack: ContentPack
) -> dict[str, Any]:
    """Every Appendix C answer, checked by its kind: ratings 1-5 required, the rest bounded."""
    answers: dict[str, Any] = {}
    numbers = {s.number for s in pack.scenarios}
    for item in items:
        raw = data.get(item.id)
        if item.kind == "rating":
            answers[item.id] = parse_rating(raw, item.id)
        elif item.kind == "number":
            answers[item.id] = _count(raw, item.id)
        elif item.kind == "date":
            answers[item.id] = _date(raw, item.id)
        elif item.kind == "scenarios":
            answers[item.id] = _scenarios(raw, numbers, item.id)
        else:
            # "line" too: a one-line input, but what it held before is kept as typed.
            answers[item.id] = clean_multiline(raw, item.id, MAX_TEXT)
    return answers


def parse_rating(raw: Any, field: str) -> int:
    """A rating from 1 (low) to 5 (high); required."""
    if isinstance(raw, str) and raw.strip().isdecimal():
        raw = int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 5:
        return raw
    raise InvalidInput("error.rating", field=field)


def clean_multiline(raw: Any, field: str, max_length: int) -> str:
    """Free text that may span lines: control characters dropped, length bounded."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidInput("error.invalid_field", field=field)
    lines = [
        clean_text(line, field=field, max_length=max_length, required=False)
        for line in raw.replace("\r", "\n").split("\n")
    ]
    text = "\n".join(line for line in lines if line)
    if len(text) > max_length:
        raise InvalidInput("error.too_long", field=field, max=max_length)
    return text


def _count(raw: Any, field: str) -> int:
    if isinstance(raw, str) and raw.strip().isdecimal():
        raw = int(raw.strip())
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_COUNT:
        return raw
    raise InvalidInput("error.number", field=field, low=0, high=MAX_COUNT)


def _date(raw: Any, field: str) -> str:
    try:
        if isinstance(raw, str):
            return date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    raise InvalidInput("error.date", field=field)


def _scenarios(raw: Any, numbers: set[int], field: str) -> list[int]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, str):
        raise InvalidInput("error.invalid_field", field=field)
    try:
        picked = sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError:
        raise InvalidInput("error.invalid_field", field=field) from None
    if any(n not in numbers for n in picked):
        raise InvalidInput("error.invalid_field", field=field)
    return picked
