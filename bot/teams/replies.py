"""What every journey answers with: notices (as a card or a line), the help card, plain text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cards.content import ContentPack, Text
from cards.renderer import Card, CardRenderer
from cards.templating import escape_markdown
from dialogs.errors import DialogueError
from dialogs.names import NAME_MASK


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


class Replies:
    """Catalog text, notices and the help card: the replies every journey shares."""

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

    def pack_text(self, lang: str, text: Text) -> str:
        """Pack text, saying plainly when it is shown in English for want of a translation."""
        value = plain(text.value)
        if text.translated:
            return value
        return f"{value} {self._renderer.text(lang, 'pack.untranslated_suffix')}"

    def items(self, lang: str, texts: Sequence[Text], bullet: str = "•") -> list[dict[str, str]]:
        """Pack texts as the bulleted lines of a card."""
        return [{"text": f"{bullet} {self.pack_text(lang, t)}"} for t in texts]

    def ethics_office(self, lang: str, pack: ContentPack) -> dict[str, Any]:
        """The Ethics Office's contacts and resources, as the guide's contact page gives them."""
        office = pack.ethics_office
        lines = [
            self._renderer.text(lang, "contacts.email", email=office.email),
            self._renderer.text(lang, "contacts.phone", phone=office.phone),
            self.pack_text(lang, office.helpline),
        ]
        return {
            "heading": self._renderer.text(lang, "contacts.heading", office=office.name.value),
            "lines": [{"text": line} for line in lines],
            "resources": self.items(lang, office.resources, "–"),
            "website": office.website,
        }

    def tips(self, lang: str, pack: ContentPack) -> list[dict[str, Any]]:
        """The guide's tips for the facilitator, each with its heading."""
        return [
            {"title": self.pack_text(lang, tip.title), "items": self.items(lang, tip.items)}
            for tip in pack.tips
        ]

    def help(
        self,
        lang: str,
        *,
        in_personal: bool,
        meeting: Sequence[str],
        personal: Sequence[str],
        unknown: str = "",
        pack: ContentPack | None = None,
    ) -> Card:
        """The commands, those for the meeting chat and those for the personal chat; with the
        cycle's pack, also the facilitator's tips and the Ethics Office's contacts."""

        def command(name: str) -> dict[str, str]:
            return {
                "command": self._renderer.text(lang, f"command.{name}"),
                "description": self._renderer.text(lang, f"help.cmd.{name}"),
            }

        data = {
            "unknown": bool(unknown),
            "text": plain(unknown[:60]),
            "in_personal": in_personal,
            "meeting_commands": [command(name) for name in meeting],
            "personal_commands": [command(name) for name in personal],
            "tips": self.tips(lang, pack) if pack else None,
            "office": self.ethics_office(lang, pack) if pack else None,
        }
        return self._renderer.render("help", data, lang)

    def notice(self, lang: str, notice: Notice) -> Card:
        """A card holding only a message, for actions on cards that no longer apply."""
        data = {"text": self.notice_text(lang, notice), "style": notice.style}
        return self._renderer.render("notice", data, lang)

    def banner(self, lang: str, notice: Notice | None) -> dict[str, str] | None:
        """A notice as the line at the top of a card (None: no line)."""
        if notice is None:
            return None
        return {"text": self.notice_text(lang, notice), "style": notice.style}
