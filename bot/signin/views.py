"""The cards of the sign-in journey: the setup form and the sign-in sheet (Appendix A)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.teams.refresh import Audience, audience
from bot.teams.replies import Notice, Replies, plain
from cards.catalog import LANGUAGES
from cards.renderer import Card, CardRenderer
from dialogs.attendance_report import Comparison
from dialogs.directory import Directory
from dialogs.forms import MAX_JOINT_UNITS, MAX_UNIT
from dialogs.signin import ENDED, NO_FACILITATOR, SIGNIN, SIGNIN_CLOSED, Sheet, size_advice
from storage.records import AttendeeRecord, Person, SessionRecord


@dataclass(frozen=True)
class MeetingHint:
    """What the setup form shows of the meeting: times in the leader's zone, the organizer."""

    title: str
    start: datetime | None
    end: datetime | None
    organizer_name: str
    organizer_is_requester: bool


PARTICIPANT = "participant"
# A checklist longer than this is unusable on a card (and heavy): the rest are added by name.
MAX_ROSTER_CHOICES = 100
LEADER = "leader"
MONITOR = "monitor"
# The entity's focal point reads the sheet (the guide sends it Appendix A) but changes nothing.
FOCAL = "focal"
# Rows of the comparison card with their own add button: a message stays well under 40 KB.
_REPORT_SHOWN = 40


class SignInViews:
    """Reads what the setup form and the sheet show (entities, their names) and renders them."""

    def __init__(self, renderer: CardRenderer, replies: Replies, directory: Directory) -> None:
        self._renderer = renderer
        self._replies = replies
        self._directory = directory

    async def setup(
        self,
        lang: str,
        today: date,
        values: dict[str, Any] | None = None,
        notice: Notice | None = None,
        meeting: MeetingHint | None = None,
    ) -> Card:
        """The setup form with the entities a session may be reported under."""
        entities = [(e.code, e.name) for e in await self._directory.entities()]
        return self.setup_card(lang, today, entities, values, notice, meeting)

    async def sheet(
        self,
        sheet: Sheet,
        person: Person | None,
        lang: str,
        notice: Notice | None = None,
        *,
        viewer: str | None = None,
    ) -> Card:
        """The sheet as this person may see it (None: the shared view everyone sees).

        `viewer` overrides the role read from the sheet (the focal point's view).
        """
        name = (await self._directory.names()).get(sheet.session.entity, "")
        if person is None:
            return self.sheet_card(sheet, lang, notice=notice, entity_name=name, shared=True)
        role = viewer or viewer_role(sheet, person)
        me = sheet.find(person.aad_id) if role == PARTICIPANT else None
        return self.sheet_card(sheet, lang, viewer=role, me=me, notice=notice, entity_name=name)

    def roster_card(
        self,
        session: SessionRecord,
        candidates: list[Person],
        lang: str,
        notice: Notice | None = None,
    ) -> Card:
        """The chat's members not on the sheet, for the leader to tick those who are here."""
        shown = candidates[:MAX_ROSTER_CHOICES]
        data = {
            "notice": self._replies.banner(lang, notice),
            "sid": session.session_id,
            "intro": self._replies.text(lang, "roster.intro", count=len(candidates)),
            "choices": [{"title": plain(m.name), "value": m.aad_id} for m in shown] or None,
            "more": self._replies.text(lang, "roster.more", count=len(candidates) - len(shown))
            if len(candidates) > len(shown)
            else "",
        }
        return self._renderer.render("roster", data, lang)

    async def report(self, compared: Comparison, lang: str, notice: Notice | None = None) -> Card:
        """Who the attendance report names that the sheet lacks: the leader's card only."""
        session = compared.sheet.session
        can_add = session.status == SIGNIN and not session.frozen
        shown = compared.missing[:_REPORT_SHOWN]
        data = {
            "sid": session.session_id,
            "notice": self._replies.banner(lang, notice),
            "count": len(compared.missing),
            "none": not compared.missing,
            "rows": [
                {
                    "name": plain(a.name),
                    "minutes": self._renderer.catalogs.number(lang, round(a.seconds / 60)),
                    "key": a.key,
                }
                for a in shown
            ],
            "more": (len(compared.missing) - len(shown)) or None,
            "can_add": can_add,
            "closed": session.status == SIGNIN_CLOSED and not session.frozen,
            "frozen": session.frozen or session.status == ENDED,
        }
        return self._renderer.render("attendance_report", data, lang)

    def setup_card(
        self,
        lang: str,
        today: date,
        entities: list[tuple[str, str]],
        values: dict[str, Any] | None = None,
        notice: Notice | None = None,
        meeting: MeetingHint | None = None,
    ) -> Card:
        """The setup form, with the values the leader typed kept after a refusal.

        `meeting`: what Teams said of the meeting (a meeting chat whose details could be read).
        """
        values = values or {}
        personnel = values.get("personnel")
        joint_rows = [
            {
                "n": n,
                "unit_id": f"joint_unit_{n}",
                "personnel_id": f"joint_personnel_{n}",
                "unit": (_text_or_none(values.get(f"joint_unit_{n}")) or "")[:MAX_UNIT] or None,
                "personnel": _number_or_none(values.get(f"joint_personnel_{n}")),
            }
            for n in range(1, MAX_JOINT_UNITS + 1)
        ]
        data = {
            "error": self._replies.notice_text(lang, notice) if notice else "",
            "entities": [{"code": code, "name": name} for code, name in entities],
            "languages": [
                {"code": code, "label": self._renderer.text(lang, f"lang.{code}")}
                for code in LANGUAGES
            ],
            # What the person typed comes back after a refusal, cut to what the form accepts.
            "values": {
                "entity": values.get("entity")
                if values.get("entity") in {code for code, _ in entities}
                else None,
                "unit": (_text_or_none(values.get("unit")) or "")[:MAX_UNIT] or None,
                "personnel": _number_or_none(personnel),
                "language": values.get("language") if values.get("language") in LANGUAGES else lang,
                "date": _iso_date(values.get("date")) or today.isoformat(),
            },
            # A joint session (FAQ: "several units hold the session jointly"): the other units'
            # rows stay folded away unless the leader typed into them before a refusal.
            "joint_rows": joint_rows,
            "joint_open": any(r["unit"] or r["personnel"] is not None for r in joint_rows),
            # The meeting's title is a hint for the unit, never a value that would be stored.
            "unit_placeholder": plain(meeting.title)[:MAX_UNIT]
            if meeting and meeting.title
            else self._renderer.text(lang, "setup.unit_placeholder"),
            "meeting": self._meeting_lines(lang, meeting) if meeting else None,
        }
        return self._renderer.render("setup", data, lang)

    def _meeting_lines(self, lang: str, meeting: MeetingHint) -> dict[str, str]:
        """The meeting's title and time, and who is expected to lead (a line, not a rule)."""
        r = self._renderer
        when = ""
        if meeting.start is not None:
            when = r.text(
                lang,
                "setup.meeting_when",
                date=r.catalogs.date(lang, meeting.start.date()),
                start=meeting.start.strftime("%H:%M"),
                end=meeting.end.strftime("%H:%M") if meeting.end else "",
            )
        organizer = ""
        if meeting.organizer_is_requester:
            organizer = r.text(lang, "setup.organizer_you")
        elif meeting.organizer_name:
            organizer = r.text(lang, "setup.organizer", name=plain(meeting.organizer_name))
        return {
            "title": r.text(lang, "setup.meeting_title", title=plain(meeting.title))
            if meeting.title
            else "",
            "when": when,
            "organizer": organizer,
        }

    def sheet_card(
        self,
        sheet: Sheet,
        lang: str,
        *,
        viewer: str = PARTICIPANT,
        me: AttendeeRecord | None = None,
        notice: Notice | None = None,
        entity_name: str = "",
        shared: bool = False,
    ) -> Card:
        """The sign-in card as the viewer may see it; participants never see others' names.

        `shared`: the card everyone sees in the chat, which Teams refreshes into each listed
        person's own view.
        """
        session = sheet.session
        if viewer != PARTICIPANT and not sheet.named:
            raise ValueError("the sheet's named view needs its names read")
        is_open = session.status == SIGNIN
        # Once concluded the sheet is final: the leader's controls go; the focal point corrects.
        frozen = session.frozen
        leader = viewer == LEADER
        helper = viewer in (LEADER, MONITOR, FOCAL)
        controls = viewer in (LEADER, MONITOR)
        attendees = sheet.attendees
        # Before anyone could arrive, "far below 10" would only alarm: the size advice waits
        # for the first sign-in, or for sign-in to close.
        sized = sheet.count > 0 or not is_open
        advice_key = size_advice(sheet.count) if sized and (helper or not is_open) else None
        hints = sheet.hints
        listed = sheet_audience(sheet)
        data = {
            "sid": session.session_id,
            "refresh": list(listed.ids) if viewer == PARTICIPANT and me is None else None,
            "refresh_hint": shared and not listed.complete,
            "notice": self._replies.banner(lang, notice),
            "facts": {
                "date": self._renderer.catalogs.date(lang, session.session_date),
                "leader": plain(session.leader.name),
                "entity": plain(entity_name or session.entity),
                "unit": plain(session.unit),
                "personnel": self._renderer.catalogs.number(lang, session.personnel),
                # Appendix A of a joint session: each further unit with its own total personnel.
                "joint": [
                    {
                        "unit": plain(u.unit),
                        "personnel": self._renderer.catalogs.number(lang, u.personnel),
                    }
                    for u in session.joint_units
                ]
                or None,
                # A monitor is a participant too: their name is for the leader's side only.
                "monitor": (", ".join(plain(m.name) for m in session.monitors) or None)
                if helper
                else None,
                # So is the facilitator: everyone hears them, but the sheet names them only here.
                "facilitator": plain(session.facilitator.name)
                if helper and session.facilitator
                else None,
            },
            "count": sheet.count,
            "open": is_open,
            "closed": session.status == SIGNIN_CLOSED,
            "frozen": frozen,
            "advice": (
                self._renderer.text(lang, advice_key, count=sheet.count) if advice_key else ""
            ),
            "me": ({"name": plain(me.name), "details": self._details(lang, me)} if me else None),
            "me_category": me.category if me else "staff",
            "me_agency": me.agency if me else "",
            "helper": helper,
            "focal_view": viewer == FOCAL,
            "leader": leader,
            "no_attendees": not attendees,
            "attendees": [
                {"number": f"{n}.", "line": self._line(lang, row)}
                for n, row in enumerate(attendees, start=1)
            ]
            if helper
            else [],
            "attendee_choices": [{"title": r.name, "value": r.key} for r in attendees]
            if leader
            else [],
            "monitor_choices": [{"title": r.name, "value": r.key} for r in attendees if r.aad_id]
            if leader
            else None,
            # One chooser names the monitor or the facilitator: a sheet of 150 still fits in
            # one Teams message. Withdrawing the facilitator is its own button.
            "facilitator_named": leader and session.facilitator is not None,
            "no_facilitator": NO_FACILITATOR,
            "hints": (
                {"count": len(hints), "names": ", ".join(self._hint(lang, h) for h in hints[:10])}
                if leader and is_open and hints
                else None
            ),
            "show": {
                "sign_in": is_open and viewer == PARTICIPANT and me is None,
                "details": is_open and me is not None,
                "undo": is_open and viewer in (PARTICIPANT, MONITOR),
                "add": is_open and controls,
                "edit": leader and bool(attendees) and not frozen,
                "import": is_open and leader,
                "confirm_hints": is_open and leader and bool(hints),
                "close": is_open and leader,
                # The guide's preparation, until the discussion starts (personal chat: prepare).
                "prepare": leader and not frozen and session.stage in ("introduction", "opening"),
                # The meeting's attendance report (Microsoft Graph), after the meeting.
                "report": leader and session.status != ENDED,
                "reopen": leader and session.status == SIGNIN_CLOSED and not frozen,
                # Everyone's own view, by hand (Teams refreshes at most 60 people by itself;
                # clients without refresh, such as the Agents Playground, never do).
                "my_view": shared,
                # The entity's focal point may name another leader from the sheet, or end it.
                "reassign": viewer == FOCAL,
                "end_session": viewer == FOCAL and session.status != ENDED,
            },
            "oversight": (
                {
                    "sid": session.session_id,
                    "cycle": session.cycle,
                    "entity": session.entity,
                    "choices": [
                        {"title": r.name, "value": r.key}
                        for r in attendees
                        if r.aad_id and not session.is_leader(r.aad_id)
                    ],
                }
                if viewer == FOCAL
                else None
            ),
        }
        return self._renderer.render("signin", data, lang)

    def _hint(self, lang: str, row: AttendeeRecord) -> str:
        """A joiner's name, marked where Teams confirmed they were in the meeting."""
        if row.in_meeting:
            return self._renderer.text(lang, "signin.hint_in_meeting", name=plain(row.name))
        return plain(row.name)

    def _details(self, lang: str, row: AttendeeRecord) -> str:
        parts = []
        if row.category == "non_staff":
            parts.append(self._renderer.text(lang, "category.non_staff_short"))
        if row.agency:
            parts.append(plain(row.agency))
        return ", ".join(parts)

    def _line(self, lang: str, row: AttendeeRecord) -> str:
        details = self._details(lang, row)
        return f"{plain(row.name)} ({details})" if details else plain(row.name)


def sheet_audience(sheet: Sheet) -> Audience:
    """Who a session's shared cards ask Teams to refresh: its leader's side, then the sheet."""
    session = sheet.session
    first = [session.leader, *([session.facilitator] if session.facilitator else [])]
    return audience([*first, *session.monitors], sheet.rows)


def viewer_role(sheet: Sheet, person: Person) -> str:
    """Which view of the sheet this person gets."""
    if sheet.session.is_leader(person.aad_id):
        return LEADER
    if sheet.session.is_monitor(person.aad_id):
        return MONITOR
    return PARTICIPANT


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _iso_date(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _number_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 100_000 else None
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 6:
        return int(value.strip())
    return None
