"""Reconciling the sign-in sheet with the meeting's attendance report (Microsoft Graph)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from dialogs.common import require_leader
from dialogs.errors import InvalidInput
from dialogs.names import name_skeleton
from dialogs.signin import Sheet, SignInService
from storage.records import Person, SessionRecord

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Longest name kept from the report (the sheet's own limit is applied when one is added).
_MAX_NAME = 100


@dataclass(frozen=True)
class ReportAttendee:
    """One attendance record as the rules need it: never stored unless the leader adds it."""

    key: str
    name: str
    aad_id: str
    role: str
    seconds: int


def attendee(identity_id: object, name: object, role: object, seconds: object) -> ReportAttendee:
    """A record of the report, its key stable across fetches (the Entra id, else the name)."""
    text = " ".join(str(name).split())[:_MAX_NAME] if isinstance(name, str) else ""
    raw_id = identity_id.lower() if isinstance(identity_id, str) else ""
    aad_id = raw_id if _GUID.fullmatch(raw_id) else ""
    # Phone and anonymous attendees have no Entra id: their name is all the report knows.
    key = aad_id or "n" + hashlib.sha256(name_skeleton(text).encode()).hexdigest()[:24]
    whole = seconds if isinstance(seconds, int | float) and not isinstance(seconds, bool) else 0
    return ReportAttendee(
        key=key,
        name=text or "?",
        aad_id=aad_id,
        role=role if isinstance(role, str) else "",
        seconds=max(0, int(whole)),
    )


def missing(sheet: Sheet, attendees: Iterable[ReportAttendee]) -> list[ReportAttendee]:
    """Who attended by the report but is not on the sheet (nor the leader), by name."""
    listed = {r.aad_id for r in sheet.attendees if r.aad_id}
    names = {name_skeleton(r.name) for r in sheet.attendees}
    seen: set[str] = set()
    found: list[ReportAttendee] = []
    for one in attendees:
        if one.key in seen or (one.aad_id and sheet.session.is_leader(one.aad_id)):
            continue
        seen.add(one.key)
        # A name typed on the sheet (joined by phone) is the same person as the report's.
        if one.aad_id in listed or name_skeleton(one.name) in names:
            continue
        found.append(one)
    return sorted(found, key=lambda a: (name_skeleton(a.name), a.key))


Fetch = Callable[[], Awaitable[list[ReportAttendee]]]


@dataclass(frozen=True)
class Comparison:
    """The sheet, who the report names that it lacks, and who was just added (if anyone)."""

    sheet: Sheet
    missing: list[ReportAttendee]
    added: ReportAttendee | None = None
    already: bool = False


class AttendanceReconciler:
    """The leader compares the sheet with the report and adds, one click each, who is missing."""

    def __init__(self, signin: SignInService) -> None:
        self._signin = signin

    async def compare(self, session: SessionRecord, caller: Person, fetch: Fetch) -> Comparison:
        """Who is missing from the sheet (leader only; checked before the report is fetched)."""
        require_leader(session, caller)
        attendees = await fetch()
        sheet = await self._signin.sheet(session)
        return Comparison(sheet, missing(sheet, attendees))

    async def add(
        self, session: SessionRecord, caller: Person, key: object, fetch: Fetch
    ) -> Comparison:
        """Add the one attendee this key names, through the sheet's "add a person" rule.

        The key only points into the report fetched now: a name or id the card carries is
        never written, so nobody can add someone the report does not name.
        """
        require_leader(session, caller)
        if not isinstance(key, str) or not key or len(key) > 64:
            raise InvalidInput("error.report_unknown", field="report_key")
        attendees = await fetch()
        sheet = await self._signin.sheet(session)
        if not any(a.key == key for a in attendees):
            raise InvalidInput("error.report_unknown", field="report_key")
        target = next((a for a in missing(sheet, attendees) if a.key == key), None)
        if target is None:
            # A double click: the first one added them.
            named = next(a for a in attendees if a.key == key)
            return Comparison(sheet, missing(sheet, attendees), named, already=True)
        person = Person(target.aad_id, "", target.name) if target.aad_id else None
        sheet, _, added = await self._signin.add_named(
            session, caller, {"add_name": target.name}, person=person
        )
        return Comparison(sheet, missing(sheet, attendees), target, already=not added)
