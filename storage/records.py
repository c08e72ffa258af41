"""Plain records the repositories read and write."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Person:
    """A Teams user as the bot knows them: Entra object id, Teams id (MRI) and display name."""

    aad_id: str
    mri: str
    name: str


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
