"""Roll-ups for focal points and the Ethics Office: progress, Appendix E, certification,
extensions and the cascade. Totals are always sums of what is stored about sessions."""

from __future__ import annotations

import asyncio
import calendar
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from dialogs.common import change_session
from dialogs.directory import Directory
from dialogs.errors import InvalidInput, WrongState
from dialogs.feedback import clean_multiline
from dialogs.ports import AttendanceStore, RollupStore, SessionStore
from storage import WriteConflict
from storage.records import (
    AttendeeRecord,
    Certification,
    CycleConfig,
    EntityRecord,
    EntityTotals,
    ExpectedLine,
    Extension,
    HeadOfEntity,
    JointUnit,
    Person,
    SessionRecord,
    normalized_name,
)

log = logging.getLogger(__name__)

MAX_REASON = 1000
MAX_EXPECTED_LINES = 2000
# Reading many sessions' sheets at once (certification) is bounded to spare the storage account.
_PARALLEL_READS = 16


@dataclass(frozen=True)
class UnitLine:
    """One unit that held sessions: a row of Appendix E.

    A joint session's participants are on its first unit's row only (`sessions`,
    `participants`); the other units' rows count it in `joined` and name the units it was held
    with, so the TOTAL row counts each session and each participant once.
    """

    unit: str
    sessions: int
    participants: int
    personnel: int
    first_date: date
    leaders: tuple[str, ...]
    joined: int = 0
    joint_with: tuple[str, ...] = ()
    # FAQ, split sessions: "In such a case, the manager should lead all the split sessions."
    several_leaders: bool = False


@dataclass(frozen=True)
class Totals:
    """Sums over units: participants add up; a unit's personnel counts once (split sessions)."""

    sessions: int
    participants: int
    personnel: int

    @property
    def coverage(self) -> float | None:
        """Participants over personnel in the units that held sessions."""
        return self.participants / self.personnel if self.personnel else None


def share(participants: int, personnel: int | None) -> float | None:
    """Participants over a personnel figure; None without one."""
    return participants / personnel if personnel else None


def past_february(cycle: int, deadline: date) -> bool:
    """Whether a deadline falls after February of the year after the cycle."""
    # FAQ: "Please also note that the Ethics Office must submit its report on the Dialogue to
    # the Secretary General in February of the following year. As such, any extensions beyond
    # February mean that your entity will not be included among those offices that have
    # completed the Dialogue in that report."
    year = cycle + 1
    return deadline > date(year, 2, calendar.monthrange(year, 2)[1])


# Sessions per week on the focal point's card: the latest weeks, so the card stays small.
MAX_WEEKS = 12


@dataclass(frozen=True)
class WeekCount:
    """Held sessions in one ISO week (Monday to Sunday)."""

    monday: date
    week: int  # the ISO week number
    sessions: int


def sessions_per_week(
    held: Iterable[SessionRecord], today: date, max_weeks: int = MAX_WEEKS
) -> tuple[WeekCount, ...]:
    """Each held session counted once in the ISO week of its date, every week from the first
    session's to this one (or the last session's, if later), at most the latest `max_weeks`."""
    # The dashboard's weekly series, cut to the card's window: one way of counting a week.
    lines = weekly_progress(held, through=today)[-max_weeks:]
    return tuple(WeekCount(w.monday, w.monday.isocalendar().week, w.sessions) for w in lines)


@dataclass(frozen=True)
class EntityProgress:
    """An entity's Dialogue as its focal point follows it."""

    cycle: CycleConfig
    entity: EntityRecord
    deadline: date
    days_left: int
    held: list[SessionRecord]
    open_sessions: int
    units: list[UnitLine]
    totals: Totals
    non_staff: int
    agencies: dict[str, int]
    certification: Certification | None
    changed_since_certification: bool
    # The entity's whole personnel as recorded this cycle (None: not recorded), and its Head.
    entity_personnel: int | None = None
    head: HeadOfEntity | None = None
    # Held sessions per ISO week, from the same read of the entity's sessions.
    weeks: tuple[WeekCount, ...] = ()

    @property
    def entity_coverage(self) -> float | None:
        """Participants over the entity's whole personnel (None when it is not recorded)."""
        return share(self.totals.participants, self.entity_personnel)


@dataclass(frozen=True)
class OrgLine:
    """One entity in the Organization-wide report: counts only, never a name."""

    entity: EntityRecord
    totals: Totals
    deadline: date
    certification: Certification | None
    extension_requested: bool
    entity_personnel: int | None = None
    # A granted extension past February: not among the completed in the Secretary-General's
    # report (see past_february).
    past_february: bool = False

    @property
    def entity_coverage(self) -> float | None:
        """Participants over the entity's whole personnel (None when it is not recorded)."""
        return share(self.totals.participants, self.entity_personnel)

    @property
    def completed(self) -> bool:
        """Whether the entity counts as having completed the Dialogue in the report."""
        certification = self.certification
        return certification is not None and certification.complete and not self.past_february


@dataclass(frozen=True)
class CascadeLine:
    """A leader who held a session, and whether they first attended one this cycle."""

    leader: str
    unit: str
    attended: bool


def _changed(certification: Certification, totals: Totals) -> bool:
    """Whether the entity's totals moved since the snapshot."""
    return (certification.sessions, certification.participants, certification.personnel) != (
        totals.sessions,
        totals.participants,
        totals.personnel,
    )


def units_of(sessions: Iterable[SessionRecord]) -> list[UnitLine]:
    """Appendix E rows: sessions grouped by unit (split sessions of one unit form one row).

    Appendix E asks, per unit, for the "TOTAL NUMBER OF DIALOGUE PARTICIPANTS" and the "TOTAL
    PERSONNEL IN UNIT/SECTION". The sheet of a joint session does not say which unit each
    participant belongs to, so its participants stay whole on the first unit's row (no unit
    gets a share the sheet never recorded) and each other unit's row says "joint with"; every
    unit's personnel counts once per cycle, however many sessions it held or joined.
    """
    groups: dict[str, list[tuple[SessionRecord, JointUnit, bool]]] = {}
    for session in sessions:
        for n, part in enumerate(session.all_units):
            groups.setdefault(normalized_name(part.unit), []).append((session, part, n == 0))
    lines: list[tuple[tuple[date, str, bool, str], UnitLine]] = []
    for key, group in groups.items():
        group.sort(key=lambda g: (g[0].session_date, g[0].created_at))
        hosted = [s for s, _, first in group if first]
        partners: dict[str, str] = {}
        for session, _, _ in group:
            for other in session.all_units:
                if normalized_name(other.unit) != key:
                    partners.setdefault(normalized_name(other.unit), other.unit)
        first_session, _, first_is_host = group[0]
        # A unit that joined sits right under the first unit of its first joint session.
        order = (
            first_session.session_date,
            normalized_name(first_session.unit),
            not first_is_host,
            key,
        )
        lines.append(
            (
                order,
                UnitLine(
                    unit=group[0][1].unit,
                    sessions=len(hosted),
                    participants=sum(s.participants for s in hosted),
                    personnel=max(part.personnel for _, part, _ in group),
                    first_date=group[0][0].session_date,
                    leaders=tuple(dict.fromkeys(s.leader.name for s, _, _ in group)),
                    joined=len(group) - len(hosted),
                    joint_with=tuple(partners.values()),
                    several_leaders=len({s.leader.aad_id for s, _, _ in group}) > 1,
                ),
            )
        )
    return [line for _, line in sorted(lines, key=lambda item: item[0])]


def totals_of(units: Iterable[UnitLine]) -> Totals:
    """The TOTAL row."""
    units = list(units)
    return Totals(
        sum(u.sessions for u in units),
        sum(u.participants for u in units),
        sum(u.personnel for u in units),
    )


@dataclass(frozen=True)
class WeekLine:
    """One ISO week of held sessions, and the running totals up to its end."""

    week: str  # ISO week, "2026-W47"
    monday: date
    sessions: int
    participants: int
    total_sessions: int
    total_participants: int


# An empty week is drawn up to the deadline only within two years of the first session.
MAX_PADDED_WEEKS = 106


def weekly_progress(
    sessions: Iterable[SessionRecord], through: date | None = None
) -> list[WeekLine]:
    """Held sessions and their participants per ISO week of the session date, every week from
    the first to the one holding `through` (the deadline) or the last session, if later.

    Each session counts once with its sheet's participants, as on the TOTAL row (a joint
    session is one session), so the last running totals equal `totals_of(units_of(held))`.
    """
    held = [s for s in sessions if s.held]
    if not held:
        return []
    per_week: dict[date, list[SessionRecord]] = {}
    for session in held:
        monday = session.session_date - timedelta(days=session.session_date.weekday())
        per_week.setdefault(monday, []).append(session)
    first, last = min(per_week), max(per_week)
    if through is not None:
        end = through - timedelta(days=through.weekday())
        if last < end <= first + timedelta(weeks=MAX_PADDED_WEEKS):
            last = end
    lines, sessions_so_far, participants_so_far = [], 0, 0
    monday = first
    while monday <= last:
        group = per_week.get(monday, [])
        count, people = len(group), sum(s.participants for s in group)
        sessions_so_far += count
        participants_so_far += people
        year, week, _ = monday.isocalendar()
        lines.append(
            WeekLine(
                f"{year}-W{week:02d}", monday, count, people, sessions_so_far, participants_so_far
            )
        )
        monday += timedelta(weeks=1)
    return lines


def certified_by(certification: Certification | None) -> str:
    """Who certified: "head" (confirmed), "focal" (the focal point's alone), "awaiting" the
    Head of Entity's confirmation, or "" (not certified)."""
    if certification is None:
        return ""
    if certification.awaiting_head:
        return "awaiting"
    return "head" if certification.confirmed_at is not None else "focal"


class RollupService:
    """Reads sessions (never attendance, except to certify exactly) and keeps entity totals."""

    def __init__(
        self,
        sessions: SessionStore,
        rollup: RollupStore,
        attendance: AttendanceStore,
        directory: Directory,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._rollup = rollup
        self._attendance = attendance
        self._directory = directory
        self._clock = clock

    async def progress(self, entity: EntityRecord) -> EntityProgress:
        """Sessions held, units, totals, deadline and certification of one entity."""
        cycle = await self._directory.cycle()
        # The sessions, the certifications, the personnel and the Head are independent reads.
        sessions, certifications, personnel, head = await asyncio.gather(
            self._sessions.of_entity(cycle.year, entity.code),
            self._rollup.certifications(cycle.year),
            self._directory.personnel(cycle.year),
            self._directory.head_of_entity(entity.code),
        )
        held = [s for s in sessions if s.held]
        units = units_of(held)
        totals = totals_of(units)
        certification = certifications.get(entity.code)
        agencies: Counter[str] = Counter()
        for session in held:
            agencies.update(session.agencies)
        deadline = self._directory.deadline(cycle, entity)
        changed = certification is not None and _changed(certification, totals)
        today = self._clock().date()
        return EntityProgress(
            cycle=cycle,
            entity=entity,
            deadline=deadline,
            days_left=(deadline - today).days,
            held=sorted(held, key=lambda s: (s.session_date, s.unit)),
            open_sessions=len(sessions) - len(held),
            units=units,
            totals=totals,
            non_staff=sum(s.non_staff for s in held),
            agencies=dict(agencies),
            certification=certification,
            changed_since_certification=changed,
            entity_personnel=personnel.get(entity.code),
            head=head,
            weeks=sessions_per_week(held, today),
        )

    async def refresh_totals(self, cycle: int, entity: str) -> EntityTotals:
        """Recompute an entity's totals from its sessions (a recompute never drifts)."""
        sessions = await self._sessions.of_entity(cycle, entity)
        totals = totals_of(units_of(s for s in sessions if s.held))
        record = EntityTotals(
            cycle, entity, totals.sessions, totals.participants, totals.personnel, self._clock()
        )
        await self._rollup.save_totals(record)
        return record

    async def organization(self, admin: Person) -> tuple[CycleConfig, list[OrgLine]]:
        """Every entity's counts, certification and deadline: a few partition reads."""
        self._directory.require_admin(admin)
        cycle = await self._directory.cycle()
        totals, certifications, extensions, personnel = await asyncio.gather(
            self._rollup.totals(cycle.year),
            self._rollup.certifications(cycle.year),
            self._rollup.extensions(cycle.year),
            self._directory.personnel(cycle.year),
        )
        requested = {x.entity for x in extensions if x.status == "requested"}
        lines = []
        for entity in await self._directory.entities(active_only=False):
            t = totals.get(entity.code)
            if t is None and not entity.active:
                continue
            lines.append(
                OrgLine(
                    entity=entity,
                    totals=Totals(t.sessions, t.participants, t.personnel)
                    if t
                    else Totals(0, 0, 0),
                    deadline=self._directory.deadline(cycle, entity),
                    certification=certifications.get(entity.code),
                    extension_requested=entity.code in requested,
                    entity_personnel=personnel.get(entity.code),
                    past_february=entity.extension_until is not None
                    and past_february(cycle.year, entity.extension_until),
                )
            )
        return cycle, lines

    async def organization_weekly(self, admin: Person) -> list[WeekLine]:
        """The Organization's held sessions per week (admins only): counts, never a name."""
        self._directory.require_admin(admin)
        cycle = await self._directory.cycle()
        limit = asyncio.Semaphore(_PARALLEL_READS)

        async def of_entity(code: str) -> list[SessionRecord]:
            async with limit:
                return await self._sessions.of_entity(cycle.year, code)

        entities = await self._directory.entities(active_only=False)
        groups = await asyncio.gather(*(of_entity(e.code) for e in entities))
        return weekly_progress((s for group in groups for s in group), through=cycle.deadline)

    async def record_counts(self, session: SessionRecord, rows: list[AttendeeRecord]) -> bool:
        """Keep the session's counts equal to its sheet; True when they changed."""
        attendees = [r for r in rows if r.on_sheet]
        participants = len(attendees)
        non_staff = sum(1 for r in attendees if r.category == "non_staff")
        agencies = dict(Counter(r.agency.strip() for r in attendees if r.agency.strip()))
        if (session.participants, session.non_staff, session.agencies) == (
            participants,
            non_staff,
            agencies,
        ):
            return False
        await change_session(
            self._sessions,
            session,
            lambda s: replace(s, participants=participants, non_staff=non_staff, agencies=agencies),
        )
        return True

    async def mark_attendance(
        self, session: SessionRecord, rows: list[AttendeeRecord] | None = None
    ) -> None:
        """Once a session is held, remember who attended it (for the cascade).

        `rows` is the sheet when the caller has just read it.
        """
        if not session.held:
            return
        if rows is None:
            rows = await self._attendance.list(session.session_id)
        await self._rollup.mark_attended(
            session.cycle, [row.aad_id for row in rows if row.on_sheet and row.aad_id]
        )

    async def certify(self, focal: Person, entity: EntityRecord) -> Certification:
        """Appendix E: recount every held session from its sheet, then store the snapshot.

        With a Head of Entity named, the snapshot is submitted to them and waits for their
        confirmation; with none named, the focal point's submission is the certification, as
        the guide's steps for focal points have it ("submit Appendix E online ... This will
        serve as certification that your Entity has concluded the Leadership Dialogue").
        """
        cycle = await self._directory.cycle()
        sessions = [s for s in await self._sessions.of_entity(cycle.year, entity.code) if s.held]
        if not sessions:
            raise WrongState("error.nothing_to_certify")
        head, certifications = await asyncio.gather(
            self._directory.head_of_entity(entity.code),
            self._rollup.certifications(cycle.year),
        )
        limit = asyncio.Semaphore(_PARALLEL_READS)

        async def exact(session: SessionRecord) -> SessionRecord:
            async with limit:
                rows = await self._attendance.list(session.session_id)
            await self.record_counts(session, rows)
            return replace(session, participants=sum(1 for r in rows if r.on_sheet))

        counted = await asyncio.gather(*(exact(s) for s in sessions))
        units = units_of(counted)
        totals = totals_of(units)
        previous = certifications.get(entity.code)
        if (
            head is not None
            and previous is not None
            and previous.head_id == head.aad_id
            and previous.confirmed_at is not None
            and not _changed(previous, totals)
        ):
            # Already confirmed by this Head, with these figures: submitting again would only
            # take the confirmation back.
            raise WrongState("error.already_certified")
        item = Certification(
            cycle=cycle.year,
            entity=entity.code,
            sessions=totals.sessions,
            participants=totals.participants,
            personnel=totals.personnel,
            units=[
                {"unit": u.unit, "participants": u.participants, "personnel": u.personnel}
                | ({"joint_with": list(u.joint_with)} if u.joint_with else {})
                for u in units
            ],
            certified_by=focal.aad_id,
            certified_by_name=focal.name,
            certified_at=self._clock(),
            head_id=head.aad_id if head else "",
            head_name=head.name if head else "",
        )
        await self._rollup.certify(item)
        await self.refresh_totals(cycle.year, entity.code)
        await self._directory.record(
            focal,
            "entity.certify",
            entity=entity.code,
            participants=totals.participants,
            to_head=head is not None,
        )
        log.info("entity certified entity=%s sessions=%d", entity.code, totals.sessions)
        return item

    async def awaiting(self, head: Person, code: Any) -> tuple[EntityProgress, Certification]:
        """What the Head of Entity is asked to confirm: the snapshot, and the entity's progress."""
        entity, _ = await self._directory.require_head(head, code)
        progress = await self.progress(entity)
        certification = progress.certification
        if certification is None or certification.head_id != head.aad_id:
            raise WrongState("error.certification_replaced")
        return progress, certification

    async def confirm(
        self, head: Person, code: Any, submitted: Any
    ) -> tuple[EntityProgress, Certification]:
        """The Head of Entity confirms the Appendix E their card showed (only the named Head).

        The card names the submission it showed (its time): a snapshot submitted again since,
        or figures changed since it was submitted, are not confirmed from it.
        """
        # The guide: "All Heads of Entity will be asked to certify to the Secretary-General,
        # through Appendix E, that all managers in their Entity have completed and reported on
        # their dialogue sessions".
        progress, certification = await self.awaiting(head, code)
        if not isinstance(submitted, str) or submitted != certification.certified_at.isoformat():
            raise WrongState("error.certification_replaced")
        if certification.confirmed_at is not None:
            return progress, certification  # a retried click: confirmed once
        if progress.changed_since_certification:
            # The Head certifies figures that are still true, or none: the focal point submits
            # the new ones again.
            raise WrongState("error.certification_changed")
        confirmed = replace(certification, confirmed_at=self._clock())
        try:
            await self._rollup.confirm_certification(confirmed)
        except WriteConflict:
            raise WrongState("error.certification_replaced") from None
        await self._directory.record(
            head, "entity.certify_confirm", entity=progress.entity.code, person=head.aad_id
        )
        log.info("entity certification confirmed entity=%s", progress.entity.code)
        return replace(progress, certification=confirmed), confirmed

    async def is_certified(self, cycle: int, entity: str) -> bool:
        """Whether the entity has certified this cycle (Appendix C then stops changing)."""
        return entity in await self._rollup.certifications(cycle)

    async def request_extension(
        self, focal: Person, entity: EntityRecord, data: Mapping[str, Any], request_id: str
    ) -> Extension:
        """Ask the Ethics Office for more time, with a reason."""
        reason = clean_multiline(data.get("reason"), "reason", MAX_REASON)
        if not reason:
            raise InvalidInput("error.required", field="reason")
        cycle = await self._directory.cycle()
        item = Extension(
            cycle=cycle.year,
            entity=entity.code,
            key=self._rollup.extension_key(entity.code, request_id),
            reason=reason,
            requested_by=focal.aad_id,
            requested_by_name=focal.name,
            requested_at=self._clock(),
        )
        if await self._rollup.add_extension(item):
            await self._directory.record(focal, "extension.request", entity=entity.code)
        return item

    async def extensions(self, admin: Person) -> list[Extension]:
        """Every request of the cycle (admins only)."""
        self._directory.require_admin(admin)
        cycle = await self._directory.cycle()
        return await self._rollup.extensions(cycle.year)

    async def decide_extension(self, admin: Person, key: Any, until: Any) -> Extension:
        """Grant a request a new deadline (admins only)."""
        requests = {x.key: x for x in await self.extensions(admin)}
        item = requests.get(key) if isinstance(key, str) else None
        if item is None:
            raise InvalidInput("error.unknown_extension", field="extension")
        try:
            new_date = date.fromisoformat(str(until))
        except ValueError:
            raise InvalidInput("error.date", field="extension") from None
        if new_date < self._clock().date():
            raise InvalidInput("error.date", field="extension")
        await self._directory.grant_extension(admin, item.entity, new_date)
        decided = replace(
            item,
            status="granted",
            new_deadline=new_date,
            decided_by=admin.aad_id,
            decided_at=self._clock(),
        )
        await self._rollup.save_extension(decided)
        return decided

    async def cascade(self, entity: EntityRecord) -> tuple[list[CascadeLine], list[ExpectedLine]]:
        """Leaders who held a session and whether they attended one; expected units not held."""
        cycle = await self._directory.cycle()
        sessions = [s for s in await self._sessions.of_entity(cycle.year, entity.code) if s.held]
        attended = await self._rollup.attended(cycle.year, {s.leader.aad_id for s in sessions})
        lines = [
            CascadeLine(s.leader.name, s.unit, s.leader.aad_id in attended)
            for s in sorted(sessions, key=lambda s: (s.session_date, s.unit))
        ]
        # A unit that took part in a joint session held its Dialogue too.
        held_units = {normalized_name(u.unit) for s in sessions for u in s.all_units}
        held_leaders = {normalized_name(s.leader.name) for s in sessions}
        missing = [
            line
            for line in await self._rollup.expected(cycle.year, entity.code)
            if normalized_name(line.unit) not in held_units
            and (not line.leader or normalized_name(line.leader) not in held_leaders)
        ]
        return lines, sorted(missing, key=lambda x: normalized_name(x.unit))

    async def has_expected(self, entity: EntityRecord) -> bool:
        """Whether an expected list was imported for the entity."""
        cycle = await self._directory.cycle()
        return bool(await self._rollup.expected(cycle.year, entity.code))

    async def import_expected(self, entity: EntityRecord, data: Mapping[str, Any]) -> int:
        """Replace the expected list from pasted CSV lines: `unit[,leader]`."""
        raw = data.get("expected_csv")
        if not isinstance(raw, str):
            raise InvalidInput("error.required", field="expected_csv")
        lines = []
        for number, line in enumerate(raw.replace("\r", "\n").split("\n"), start=1):
            if not line.strip():
                continue
            unit, _, leader = line.partition(",")
            unit = unit.strip().strip('"')
            if not unit or len(unit) > 120 or len(leader) > 100:
                raise InvalidInput("error.expected_line", field="expected_csv", line=number)
            lines.append(ExpectedLine(unit, leader.strip().strip('"')))
        if len(lines) > MAX_EXPECTED_LINES:
            raise InvalidInput("error.too_many_lines", field="expected_csv", max=MAX_EXPECTED_LINES)
        cycle = await self._directory.cycle()
        await self._rollup.replace_expected(cycle.year, entity.code, lines)
        return len(lines)
