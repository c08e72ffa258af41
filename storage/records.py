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
    etag: str | None = None

    def is_leader(self, aad_id: str) -> bool:
        """Whether this Entra object id is the session's leader."""
        return self.leader.aad_id == aad_id

    def is_monitor(self, aad_id: str) -> bool:
        """Whether this Entra object id was named monitor by the leader."""
        return any(m.aad_id == aad_id for m in self.monitors)


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

    @property
    def is_hint(self) -> bool:
        """Whether this row is only a meeting-join hint, not a sign-in."""
        return self.source == "hint"
