"""Turns sessions and sheets into the data the card templates bind, in a given language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from cards.catalog import LANGUAGES
from cards.renderer import CardRenderer
from cards.templating import escape_markdown
from dialogs.errors import DialogueError
from dialogs.forms import MAX_UNIT
from dialogs.names import NAME_MASK
from dialogs.signin import ENDED, SIGNIN, SIGNIN_CLOSED, Sheet, size_advice
from storage.records import AttendeeRecord, Person

PARTICIPANT = "participant"
LEADER = "leader"
MONITOR = "monitor"
# The entity's focal point reads the sheet (the guide sends it Appendix A) but changes nothing.
FOCAL = "focal"


@dataclass(frozen=True)
class Notice:
    """A message shown at the top of a card: a catalog key, its fields, and a style."""

    key: str
    fields: dict[str, Any]
    style: str = "good"

    @classmethod
    def of(cls, error: DialogueError) -> Notice:
        """The notice explaining a refusal."""
        return cls(error.key, dict(error.fields), "attention")


def plain(text: str) -> str:
    """Escape Markdown so user-typed text shows as typed.

    The card templates escape every bound value anyway (escaping is idempotent); this is for
    text built into a string before it is bound.
    """
    return escape_markdown(text)


def plain_masked(text: str, placeholder: str) -> str:
    """Text kept for the Ethics Office, escaped, with each masked name shown as `placeholder`."""
    return plain(text.replace(NAME_MASK, placeholder))


class Views:
    """Builds every card the bot sends."""

    def __init__(self, renderer: CardRenderer) -> None:
        self._renderer = renderer

    def text(self, lang: str, key: str, **fields: Any) -> str:
        """A catalog string for a plain message."""
        return self._renderer.text(lang, key, **fields)

    def date(self, lang: str, value: date | None) -> str:
        """A date the language's way."""
        return self._renderer.catalogs.date(lang, value) if value else ""

    def notice_text(self, lang: str, notice: Notice) -> str:
        """A notice's text, with any field name turned into its label."""
        fields = dict(notice.fields)
        if "field" in fields:
            fields["field"] = self._renderer.text(lang, f"fieldname.{fields['field']}")
        return self._renderer.text(lang, notice.key, **fields)

    def setup(
        self,
        lang: str,
        today: date,
        entities: list[tuple[str, str]],
        values: dict[str, Any] | None = None,
        error: Notice | None = None,
    ) -> dict[str, Any]:
        """The setup form, with the values the leader typed kept after a refusal."""
        values = values or {}
        personnel = values.get("personnel")
        data = {
            "error": self.notice_text(lang, error) if error else "",
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
        }
        return self._renderer.render("setup", data, lang)

    def help(self, lang: str, *, in_personal: bool, unknown: str = "") -> dict[str, Any]:
        """The list of commands."""

        def command(name: str) -> dict[str, str]:
            return {
                "command": self._renderer.text(lang, f"command.{name}"),
                "description": self._renderer.text(lang, f"help.cmd.{name}"),
            }

        data = {
            "unknown": bool(unknown),
            "text": plain(unknown[:60]),
            "in_personal": in_personal,
            "meeting_commands": [
                command(name) for name in ("start", "sheet", "agenda", "remind", "end")
            ],
            "personal_commands": [
                command(name)
                for name in (
                    "help",
                    "feedback",
                    "progress",
                    "report",
                    "admin",
                    "questions",
                    "focal",
                )
            ],
        }
        return self._renderer.render("help", data, lang)

    def notice(self, lang: str, notice: Notice) -> dict[str, Any]:
        """A card holding only a message, for actions on cards that no longer apply."""
        data = {"text": self.notice_text(lang, notice), "style": notice.style}
        return self._renderer.render("notice", data, lang)

    def sheet(
        self,
        sheet: Sheet,
        lang: str,
        *,
        viewer: str = PARTICIPANT,
        me: AttendeeRecord | None = None,
        notice: Notice | None = None,
        entity_name: str = "",
    ) -> dict[str, Any]:
        """The sign-in card as the viewer may see it; participants never see others' names."""
        session = sheet.session
        is_open = session.status == SIGNIN
        # Once concluded the sheet is final: the leader's controls go; the focal point corrects.
        frozen = session.frozen
        leader = viewer == LEADER
        helper = viewer in (LEADER, MONITOR, FOCAL)
        controls = viewer in (LEADER, MONITOR)
        attendees = sheet.attendees
        advice_key = size_advice(sheet.count) if helper or not is_open else None
        hints = sheet.hints
        refresh_ids = [p.mri for p in (session.leader, *session.monitors) if p.mri]
        data = {
            "sid": session.session_id,
            "refresh": refresh_ids if viewer == PARTICIPANT and me is None else None,
            "notice": (
                {"text": self.notice_text(lang, notice), "style": notice.style} if notice else None
            ),
            "facts": {
                "date": self._renderer.catalogs.date(lang, session.session_date),
                "leader": plain(session.leader.name),
                "entity": plain(entity_name or session.entity),
                "unit": plain(session.unit),
                "personnel": self._renderer.catalogs.number(lang, session.personnel),
                # A monitor is a participant too: their name is for the leader's side only.
                "monitor": (", ".join(plain(m.name) for m in session.monitors) or None)
                if helper
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
            "hints": (
                {"count": len(hints), "names": ", ".join(plain(h.name) for h in hints[:10])}
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
                "reopen": leader and session.status == SIGNIN_CLOSED and not frozen,
                "leader_view": viewer == PARTICIPANT and me is None,
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
