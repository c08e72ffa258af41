"""Plain records the repositories read and write."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Person:
    """A Teams user as the bot knows them: Entra object id, Teams id (MRI) and display name."""

    aad_id: str
    mri: str
    name: str


# The agenda stage of a concluded session, after the last section.
CONCLUDED = "done"


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
    etag: str | None = None

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
    """The focal point's Appendix E certification: a snapshot of the totals when certified."""

    cycle: int
    entity: str
    sessions: int
    participants: int
    personnel: int
    units: list[dict[str, Any]]
    certified_by: str
    certified_by_name: str
    certified_at: datetime


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
