"""Plain records the repositories read and write."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True)
class Person:
    """A Teams user as the bot knows them: Entra object id, Teams id (MRI) and display name."""

    aad_id: str
    mri: str
    name: str


# The agenda stage of a concluded session, after the last section.
CONCLUDED = "done"


@dataclass(frozen=True)
class JointUnit:
    """A unit taking part in a session, with its own total personnel (Appendix A)."""

    unit: str
    personnel: int


@dataclass
class SessionRecord:
    """One Leadership Dialogue session held in one chat."""

    session_id: str
    cycle: int
    entity: str
    unit: str
    personnel: int
    language: str
    session_date: date
    leader: Person
    conversation_id: str
    tenant_id: str
    service_url: str
    bot_id: str
    card_id: str
    created_at: datetime
    status: str = "signin"
    monitors: list[Person] = field(default_factory=list)
    # A participant the leader named to facilitate (the FAQ lets the leader delegate it).
    facilitator: Person | None = None
    closed_at: datetime | None = None
    ended_at: datetime | None = None
    # The Dialogue itself: its content pack, where the agenda stands, which scenarios run.
    pack: str = ""
    stage: str = "introduction"
    stage_started_at: datetime | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    scenario_order: list[str] = field(default_factory=list)
    scenario_index: int = -1
    scenario_started_at: datetime | None = None
    scenario_seconds: dict[str, float] = field(default_factory=dict)
    scenario_card_id: str = ""
    agenda_card_id: str = ""
    held_at: datetime | None = None
    # When the sheet froze (conclusion): who may assess the facilitator is fixed from then on.
    frozen_at: datetime | None = None
    # Counts kept from the sheet (within a second of a change), so roll-ups read sessions only.
    participants: int = 0
    non_staff: int = 0
    agencies: dict[str, int] = field(default_factory=dict)
    # A joint session (FAQ: "several units hold the session jointly"): the units beside `unit`,
    # which stays the first (host) unit; a session stored before has none.
    joint_units: list[JointUnit] = field(default_factory=list)
    etag: str | None = None

    @property
    def all_units(self) -> list[JointUnit]:
        """Every unit holding the session, the first unit first."""
        return [JointUnit(self.unit, self.personnel), *self.joint_units]

    @property
    def concluded(self) -> bool:
        """Whether the leader concluded the Dialogue: its agenda is done (Appendix F opens)."""
        return self.stage == CONCLUDED

    @property
    def held(self) -> bool:
        """Whether the session took place: concluded, or its sign-in closed or ended."""
        return self.held_at is not None or self.status in ("signin_closed", "ended")

    @property
    def frozen(self) -> bool:
        """Whether the sheet is final: frozen at conclusion (sessions held before the freeze
        was recorded froze when they were held)."""
        return self.frozen_at is not None or self.held_at is not None

    def is_leader(self, aad_id: str) -> bool:
        """Whether this Entra object id is the session's leader."""
        return self.leader.aad_id == aad_id

    def is_monitor(self, aad_id: str) -> bool:
        """Whether this Entra object id was named monitor by the leader."""
        return any(m.aad_id == aad_id for m in self.monitors)

    def is_facilitator(self, aad_id: str) -> bool:
        """Whether this Entra object id was named facilitator by the leader."""
        return self.facilitator is not None and bool(aad_id) and self.facilitator.aad_id == aad_id


@dataclass
class PollRecord:
    """An anonymous poll in a session; `salt` exists only while it is open."""

    poll_id: str
    session_id: str
    kind: str  # "choice" (scenario choice), "pack" (from the content pack), "adhoc"
    question: str
    options: list[str]
    created_at: datetime
    multiple: bool = False
    ref: str = ""  # the pack poll id, or the scenario it belongs to
    status: str = "open"
    revealed: bool = False
    salt: str = ""
    card_id: str = ""
    closed_at: datetime | None = None
    cutoff: datetime | None = None  # storage time after which votes no longer count
    results: list[int] | None = None
    voters: int = 0
    # A poll opened ahead of the session (the scenario choice, asked in advance) stays open
    # until this time rather than the timeout after it opened.
    closes_at: datetime | None = None
    # Who may not vote (the leader and any facilitator, by Entra id), kept equal to the
    # session's while the poll is open; None on polls stored before it was kept.
    barred: tuple[str, ...] | None = None
    etag: str | None = None


@dataclass(frozen=True)
class QuestionRecord:
    """A question the group could not answer, for the Ethics Office; no author is stored."""

    question_id: str
    session_id: str
    text: str
    asked_at: datetime


@dataclass(frozen=True)
class AttendeeRecord:
    """One row of the sign-in sheet, or a meeting-join hint the leader may confirm."""

    key: str
    name: str
    source: str
    signed_at: datetime
    aad_id: str = ""
    mri: str = ""
    category: str = "staff"
    agency: str = ""
    added_by: str = ""
    # Corrections of the focal point once the sheet froze: a struck row no longer counts, a row
    # added after the freeze counts; neither changes who may assess the facilitator.
    struck_at: datetime | None = None
    added_after_freeze: bool = False
    # A join hint Teams' participant API confirmed: the person was in the meeting when asked.
    in_meeting: bool = False

    @property
    def is_hint(self) -> bool:
        """Whether this row is only a meeting-join hint, not a sign-in."""
        return self.source == "hint"

    @property
    def on_sheet(self) -> bool:
        """Whether this row is on the sheet and counts: signed in, not struck afterwards."""
        return not self.is_hint and self.struck_at is None

    @property
    def may_assess(self) -> bool:
        """Whether this row makes its person an assessor: on the sheet when it froze."""
        return not self.is_hint and not self.added_after_freeze


# The sign-in time of a row read without it (a headcount): never shown, never compared.
UNREAD_TIME = datetime.min.replace(tzinfo=UTC)


def arranged(rows: list[AttendeeRecord]) -> list[AttendeeRecord]:
    """Rows as the sheet shows them: oldest first, then hints of users not on it yet."""
    present = {r.aad_id for r in rows if not r.is_hint and r.aad_id}
    # A hint is moot once its user is on the sheet; it stays stored but is not shown.
    kept = [r for r in rows if not (r.is_hint and r.aad_id in present)]
    kept.sort(key=lambda r: (r.is_hint, r.signed_at, r.key))
    return kept


def normalized_name(name: str) -> str:
    """Name as compared for duplicates: Unicode-normalised, case-folded, single-spaced."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True)
class FeedbackVersion:
    """One submission of the leader's feedback form."""

    session_id: str
    version: int
    answers: dict[str, Any]
    submitted_at: datetime
    submitted_by: str


@dataclass(frozen=True)
class QueuedQuestion:
    """A question forwarded to the Ethics Office, with what is needed to answer the leader."""

    key: str
    cycle: int
    entity: str
    session_id: str
    session_date: str
    text: str
    leader_id: str
    leader_mri: str
    leader_name: str
    tenant_id: str
    service_url: str
    forwarded_at: datetime
    status: str = "open"
    reply: str = ""
    answered_by: str = ""
    answered_at: datetime | None = None
    # When the leader shared the answer with the team in the meeting chat (once).
    shared_at: datetime | None = None
    etag: str | None = None


@dataclass(frozen=True)
class CycleConfig:
    """The Dialogue's current year, its content pack and the reporting deadline."""

    year: int
    pack: str
    deadline: date
    etag: str | None = None
    # Scenario id -> the https link its video plays: the guide says "Play the video on this
    # link" but prints none, so the Ethics Office sets it for the cycle.
    videos: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EntityRecord:
    """An entity sessions are reported under."""

    code: str
    name: str
    active: bool = True
    extension_until: date | None = None
    etag: str | None = None


@dataclass(frozen=True)
class FocalPoint:
    """A person nominated to follow and certify an entity's Dialogue."""

    entity: str
    aad_id: str
    mri: str
    name: str
    added_by: str
    added_at: datetime
    # Where the bot can reach them (the chat they were named in) until they write to it.
    service_url: str = ""
    tenant_id: str = ""


@dataclass(frozen=True)
class HeadOfEntity:
    """The person who certifies the entity's Appendix E to the Secretary-General."""

    entity: str
    aad_id: str
    mri: str
    name: str
    added_by: str
    added_at: datetime
    # Where the bot can reach them (the chat they were named in): the confirmation card goes there.
    service_url: str = ""
    tenant_id: str = ""


@dataclass(frozen=True)
class EntityPersonnel:
    """The entity's whole personnel for a cycle, as its focal point or the Ethics Office put it."""

    cycle: int
    entity: str
    personnel: int
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One change to the organisation of the Dialogue: who, what, when, about which entity."""

    at: datetime
    actor: str
    action: str
    details: dict[str, Any]
    entity: str = ""


@dataclass(frozen=True)
class EntityTotals:
    """Running totals of an entity's held sessions, recomputed from its sessions."""

    cycle: int
    entity: str
    sessions: int
    participants: int
    personnel: int
    updated_at: datetime


@dataclass(frozen=True)
class Certification:
    """The Appendix E certification: a snapshot of the totals the focal point submitted, and
    the Head of Entity's confirmation."""

    cycle: int
    entity: str
    sessions: int
    participants: int
    personnel: int
    units: list[dict[str, Any]]
    # Who prepared (submitted) the snapshot: the focal point, and when.
    certified_by: str
    certified_by_name: str
    certified_at: datetime
    # The Head of Entity it was submitted to, and when they confirmed it. A snapshot without a
    # Head of Entity (stored before heads were named, or with none named) is the focal point's.
    head_id: str = ""
    head_name: str = ""
    confirmed_at: datetime | None = None
    etag: str | None = field(default=None, compare=False)

    @property
    def awaiting_head(self) -> bool:
        """Whether it waits for the Head of Entity's confirmation."""
        return bool(self.head_id) and self.confirmed_at is None

    @property
    def complete(self) -> bool:
        """Whether the entity has certified: confirmed by its Head, or the focal point's alone."""
        return not self.awaiting_head


@dataclass(frozen=True)
class Extension:
    """A request for more time, and the Ethics Office's decision."""

    cycle: int
    entity: str
    key: str
    reason: str
    requested_by: str
    requested_by_name: str
    requested_at: datetime
    status: str = "requested"
    new_deadline: date | None = None
    decided_by: str = ""
    decided_at: datetime | None = None
    etag: str | None = None


@dataclass(frozen=True)
class ExpectedLine:
    """A unit (and its leader, when known) the entity expects to hold a session."""

    unit: str
    leader: str = ""


@dataclass
class Aggregate:
    """Appendix F: all answers of one session folded together; `closed` once its salt and keys
    are gone."""

    session_id: str
    salt: str
    closes_at: datetime | None = None
    ratings: dict[str, list[int]] = field(default_factory=dict)  # item -> counts of 1..5
    comments: dict[str, list[str]] = field(default_factory=dict)  # item -> shuffled texts
    folded: list[str] = field(default_factory=list)
    closed: bool = False
    closed_answers: int = 0
    etag: str | None = None

    @property
    def answers(self) -> int:
        """How many people's answers are folded in."""
        return self.closed_answers if self.closed else len(self.folded)


@dataclass(frozen=True)
class OpenPoll:
    """An entry of the open-poll index: a poll that is open, or whose close has not finished."""

    poll_id: str
    session_id: str
    cycle: int
    entity: str
    created_at: datetime


# A job's life: due until claimed; running while an instance holds its lease (a claim whose
# lease ran out, its instance having crashed, may be claimed again); done or cancelled for good.
JOB_DUE = "due"
JOB_RUNNING = "running"
JOB_DONE = "done"
JOB_CANCELLED = "cancelled"
# Given up after its last attempt (a message Teams would not take): never run again either.
JOB_FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """Work due at a time, run once by whichever instance claims it first.

    `payload` holds ids only (a cycle, an entity code, a session id, a date): never a name or
    free text, so the jobs table tells nothing about a person.
    """

    key: str
    kind: str
    due_at: datetime
    payload: dict[str, str | int]
    status: str = JOB_DUE
    lease_until: datetime | None = None
    attempts: int = 0
    finished_at: datetime | None = None
    created_by: str = ""
    etag: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the job is done, cancelled or given up: it never runs again."""
        return self.status in (JOB_DONE, JOB_CANCELLED, JOB_FAILED)

    def claimable(self, now: datetime) -> bool:
        """Whether an instance may claim it now: due, or running under a lease that ran out."""
        if self.finished or self.due_at > now:
            return False
        return self.status == JOB_DUE or (self.lease_until is not None and self.lease_until <= now)
