"""What the Ethics Office reads of Appendices C and F, by entity: figures and masked text.

The Ethics Office sees counts and text, never a participant's name, and no figure whose change
between two looks isolates one person's answer (nor, for Appendix F, one session's marks).

Appendix C. The guide: "Session leader/facilitator should submit the information below online"
(Appendix C's instructions) and its items run from "1. Date of session" to "15. Summarize the
key contributions from the Dialogue discussion, without naming individual participants". So every
item is read here, labelled as on the form of the cycle's pack in the reader's language: ratings
as a distribution and average, "8. Which discussion topics did you use?" counted per scenario,
numbers summed, free text listed with the names of the session's sheet, its leader and monitors
masked. Only the newest
version of each session's form counts (a leader may amend it; every version is kept).

Item 2, "Discussion leader", is withheld from the Ethics Office (the column stays, empty, so the
layout is the form's). The guide's paper process does send Appendix C to the Ethics Office with
the leader's name, but here (a) the leader's name already reaches the office where it serves a
purpose, with each forwarded question, so a reply can reach them; (b) the FAQ has "the manager
should lead all the split sessions", so an entity's sessions may all be one leader's, and names
beside the sessions would pin the entity's Appendix F trend below on that leader; (c) the
project promise is that names reach the leader and the focal point only (the focal point has the
leader on Appendix E).

Appendix F. The guide: "Remind participants to submit Appendix F ... which assesses the session
facilitators" and, in the closing remarks, "if you have any suggestions for how the Dialogues
may be improved for future years, please let me or the Ethics Office know through Appendix F".
The office reads the rating items and the items the pack marks `summary: comment` (the
suggestions), aggregated over an entity's sessions whose results were released at the close
(from ASSESSMENT_MIN_ANSWERS answers), and only from ETHICS_MIN_SESSIONS of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from cards.content import FormItem
from cards.library import PackLibrary
from dialogs.assessment import AssessmentService
from dialogs.directory import Directory
from dialogs.feedback import LeaderFeedbackService, leader_items
from dialogs.names import NameMask
from dialogs.signin import SignInService
from storage.records import Aggregate, CycleConfig, EntityRecord, Person, SessionRecord

# Appendix F reaches the Ethics Office only as an entity's trend, never as one leader's marks:
# one session's results are one facilitator's, so the office reads an entity only once at least
# five sessions have released results, and the figures then grow five sessions at a time (the
# first 5, 10, 15 ... to close), so the difference between two looks is never one session.
ETHICS_MIN_SESSIONS = 5

RATING_VALUES = 5  # ratings run from 1 (low) to 5 (high) on both forms


@dataclass(frozen=True)
class ItemFigures:
    """One form item as the Ethics Office reads it; which fields mean something follows `kind`."""

    item: FormItem  # the reader's form: its text is the label
    number: int  # its place on the form, 1-based (the guide's "7.")
    answered: int = 0  # how many forms or answers gave it a value
    ratings: tuple[int, ...] = (0,) * RATING_VALUES  # rating: how many gave 1, 2, ... 5
    total: int = 0  # number: the sum
    scenarios: tuple[tuple[int, int], ...] = ()  # scenarios: (scenario number, sessions)
    first: date | None = None  # date: the earliest and latest
    last: date | None = None
    texts: tuple[str, ...] = ()  # text and line: every non-empty answer, names masked
    withheld: bool = False  # the leader's name: never shown to the Ethics Office

    @property
    def average(self) -> float | None:
        """The mean rating, or None without any."""
        count = sum(self.ratings)
        if not count:
            return None
        return sum((n + 1) * c for n, c in enumerate(self.ratings)) / count


@dataclass(frozen=True)
class FormRow:
    """One session's newest Appendix C for the export: a value per item, in the form's order."""

    entity: EntityRecord
    session_date: date
    values: tuple[Any, ...]  # int, date, str; None where withheld or not on the session's form


@dataclass(frozen=True)
class EntityAppendixC:
    """One entity's Appendix C forms: each item's figures, and the rows of the export."""

    entity: EntityRecord
    forms: int
    items: tuple[ItemFigures, ...]
    rows: tuple[FormRow, ...]


@dataclass(frozen=True)
class AppendixCReport:
    """The cycle's Appendix C by entity (entities without a form are left out)."""

    cycle: CycleConfig
    form: tuple[FormItem, ...]  # the cycle's pack in the reader's language
    entities: tuple[EntityAppendixC, ...]


@dataclass(frozen=True)
class EntityAppendixF:
    """One entity's Appendix F: nothing at all below ETHICS_MIN_SESSIONS released sessions."""

    entity: EntityRecord
    shown: bool
    sessions: int = 0  # the sessions the figures cover (a multiple of ETHICS_MIN_SESSIONS)
    answers: int = 0
    ratings: tuple[ItemFigures, ...] = ()
    suggestions: tuple[ItemFigures, ...] = ()


@dataclass(frozen=True)
class AppendixFReport:
    """The cycle's Appendix F by entity, for every entity with a held session."""

    cycle: CycleConfig
    minimum: int
    entities: tuple[EntityAppendixF, ...]


class EthicsOfficeReads:
    """Appendix C and F by entity, for an Ethics Office administrator only."""

    def __init__(
        self,
        directory: Directory,
        signin: SignInService,
        feedback: LeaderFeedbackService,
        assessment: AssessmentService,
        packs: PackLibrary,
        min_sessions: int = ETHICS_MIN_SESSIONS,
    ) -> None:
        self._directory = directory
        self._signin = signin
        self._feedback = feedback
        self._assessment = assessment
        self._packs = packs
        self._min_sessions = min_sessions

    def _own_pack(self, session: SessionRecord, cycle: CycleConfig) -> str:
        return session.pack if self._packs.has(session.pack) else cycle.pack

    async def _mask(self, session: SessionRecord) -> NameMask:
        # Everyone the sheet knows, and here the leader and monitors too: item 2 is withheld,
        # so "Amina was great" in a suggestion must not name the facilitator either. (The
        # question queue masks only participants: there the leader's name serves the reply.)
        sheet = await self._signin.sheet(session)
        people = [r.name for r in sheet.rows] + [session.leader.name]
        return NameMask(people + [m.name for m in session.monitors])

    async def _held(self, cycle: CycleConfig) -> list[tuple[EntityRecord, list[SessionRecord]]]:
        entities = await self._directory.entities(active_only=False)
        sessions = await asyncio.gather(
            *(self._signin.of_entity(cycle.year, e.code) for e in entities)
        )
        return [
            (entity, [s for s in found if s.held])
            for entity, found in zip(entities, sessions, strict=True)
        ]

    async def appendix_c(self, admin: Person, lang: str) -> AppendixCReport:
        """Every Appendix C item by entity, labelled in the reader's language."""
        self._directory.require_admin(admin)
        cycle = await self._directory.cycle()
        form = self._packs.get(cycle.pack, lang).leader_feedback_form
        scenarios = [s.number for s in self._packs.get(cycle.pack, lang).scenarios]
        entries = []
        for entity, sessions in await self._held(cycle):
            versions = await asyncio.gather(*(self._feedback.latest(s) for s in sessions))
            latest = [(s, v) for s, v in zip(sessions, versions, strict=True) if v is not None]
            if not latest:
                continue
            masks = await asyncio.gather(*(self._mask(s) for s, _ in latest))
            answered = [
                (self._packs.get(self._own_pack(s, cycle), None).leader_feedback_form, v.answers, m)
                for (s, v), m in zip(latest, masks, strict=True)
            ]
            # By date, then unit; the session id only to make equal dates come out the same way.
            ordered = sorted(
                zip(latest, answered, strict=True),
                key=lambda pair: (pair[0][0].session_date, pair[0][0].unit, pair[0][0].session_id),
            )
            rows = tuple(
                FormRow(entity, s.session_date, form_values(form, own, answers, mask))
                for (s, _), (own, answers, mask) in ordered
            )
            items = tuple(
                item_figures(item, n, answered, scenarios) for n, item in enumerate(form, 1)
            )
            entries.append(EntityAppendixC(entity, len(latest), items, rows))
        return AppendixCReport(cycle, form, tuple(entries))

    async def appendix_f(self, admin: Person, lang: str) -> AppendixFReport:
        """Appendix F by entity, over its released sessions, five at a time."""
        self._directory.require_admin(admin)
        cycle = await self._directory.cycle()
        form = self._packs.get(cycle.pack, lang).participant_assessment_form
        entries = []
        for entity, sessions in await self._held(cycle):
            if not sessions:
                continue
            # Reading closes every assessment whose time has come, so what is released is
            # exactly the sessions closed by now: later looks only ever add sessions after these.
            aggregates = await asyncio.gather(*(self._assessment.released(s) for s in sessions))
            released = sorted(
                ((s, a) for s, a in zip(sessions, aggregates, strict=True) if a is not None),
                key=lambda pair: (self._assessment.closes_at(pair[0]), pair[0].session_id),
            )
            counted = released[: len(released) // self._min_sessions * self._min_sessions]
            if not counted:
                entries.append(EntityAppendixF(entity, shown=False))
                continue
            masks = await asyncio.gather(*(self._mask(s) for s, _ in counted))
            entries.append(entity_assessments(entity, form, [a for _, a in counted], masks))
        return AppendixFReport(cycle, self._min_sessions, tuple(entries))


def form_values(
    form: Sequence[FormItem], own: Sequence[FormItem], answers: dict[str, Any], mask: NameMask
) -> tuple[Any, ...]:
    """One session's answers in the reader's form order, ready for a spreadsheet cell."""
    withheld = leader_items(form)
    values: list[Any] = []
    for item in form:
        value = _answer(item, own, answers)
        if item.id in withheld or value is None:
            values.append(None)
        elif item.kind == "scenarios":
            values.append(", ".join(str(n) for n in sorted(value)))
        elif item.kind == "date":
            values.append(date.fromisoformat(value))
        elif item.kind in ("rating", "number"):
            values.append(int(value))
        else:
            values.append(mask.apply(str(value)) or None)
    return tuple(values)


def _answer(item: FormItem, own: Sequence[FormItem], answers: dict[str, Any]) -> Any:
    """The session's answer to this item: its own form must hold the same item (id and kind)."""
    if not any(o.id == item.id and o.kind == item.kind for o in own):
        return None
    value = answers.get(item.id)
    return None if value in (None, "", []) and item.kind != "scenarios" else value


def item_figures(
    item: FormItem,
    number: int,
    answered: Sequence[tuple[Sequence[FormItem], dict[str, Any], NameMask]],
    scenarios: Iterable[int],
) -> ItemFigures:
    """One Appendix C item's figures over an entity's forms (each its newest version)."""
    if item.prefill == "leader":
        return ItemFigures(item, number, withheld=True)
    values = [(v, m) for own, a, m in answered if (v := _answer(item, own, a)) is not None]
    figures = ItemFigures(item, number, answered=len(values))
    if item.kind == "rating":
        ratings = [0] * RATING_VALUES
        for value, _ in values:
            ratings[int(value) - 1] += 1
        return replace(figures, ratings=tuple(ratings))
    if item.kind == "number":
        return replace(figures, total=sum(int(v) for v, _ in values))
    if item.kind == "scenarios":
        used = {n: sum(1 for v, _ in values if n in v) for n in scenarios}
        return replace(figures, scenarios=tuple(sorted(used.items())))
    if item.kind == "date":
        days = sorted(date.fromisoformat(v) for v, _ in values)
        return replace(figures, first=days[0] if days else None, last=days[-1] if days else None)
    texts = [m.apply(str(v)) for v, m in values]
    return replace(figures, answered=len(texts), texts=tuple(t for t in texts if t))


def entity_assessments(
    entity: EntityRecord,
    form: Sequence[FormItem],
    aggregates: Sequence[Aggregate],
    masks: Sequence[NameMask],
) -> EntityAppendixF:
    """An entity's Appendix F over these released sessions: ratings summed, suggestions masked."""
    ratings = []
    suggestions = []
    for number, item in enumerate(form, 1):
        if item.kind == "rating":
            counts = [0] * RATING_VALUES
            for aggregate in aggregates:
                for n, count in enumerate(aggregate.ratings.get(item.id, [])[:RATING_VALUES]):
                    counts[n] += int(count)
            ratings.append(ItemFigures(item, number, sum(counts), ratings=tuple(counts)))
        elif item.summary == "comment":
            # Masked with each session's own sheet, then sorted: the order of the list tells
            # nothing about which session (or answer) a suggestion came from.
            texts = sorted(
                (
                    masked
                    for aggregate, mask in zip(aggregates, masks, strict=True)
                    for text in aggregate.comments.get(item.id, [])
                    if (masked := mask.apply(text))
                ),
                key=lambda t: (t.casefold(), t),
            )
            suggestions.append(ItemFigures(item, number, len(texts), texts=tuple(texts)))
    return EntityAppendixF(
        entity,
        shown=True,
        sessions=len(aggregates),
        answers=sum(a.answers for a in aggregates),
        ratings=tuple(ratings),
        suggestions=tuple(suggestions),
    )
