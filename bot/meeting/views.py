"""The leader's card when the meeting ends, and the in-meeting bubble pages (views never write)."""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode

from bot.teams.replies import Notice, Replies, plain
from cards.catalog import LANGUAGES
from cards.renderer import Card, CardRenderer
from storage.records import SessionRecord

SIGNIN_BUBBLE = "signin"
ASSESS_BUBBLE = "assess"
BUBBLES = (SIGNIN_BUBBLE, ASSESS_BUBBLE)


class MeetingViews:
    """Renders the meeting-end prompt and the bubble pages."""

    def __init__(self, renderer: CardRenderer, replies: Replies) -> None:
        self._renderer = renderer
        self._replies = replies

    def end_prompt(self, session: SessionRecord, lang: str, notice: Notice | None = None) -> Card:
        """Close sign-in and conclude, for the leader, in their personal chat."""
        open_signin = session.status == "signin"
        data = {
            "keys": {"sid": session.session_id, "cycle": session.cycle, "entity": session.entity},
            "notice": self._replies.banner(lang, notice),
            "unit": plain(session.unit),
            "date": self._replies.date(lang, session.session_date),
            "open": open_signin,
            "can_conclude": session.stage == "conclusion",
            # The plan is elsewhere in the agenda: concluding is done from its last section.
            "to_conclusion": not session.concluded and session.stage != "conclusion",
            "concluded": session.concluded,
            "done": not open_signin and session.concluded,
        }
        return self._renderer.render("meeting_end", data, lang)

    def bubble_title(self, kind: str, lang: str) -> str:
        """The title Teams shows on the bubble."""
        return self._renderer.text(lang, f"bubble.{kind}_title")

    def bubble_page(self, kind: str, lang: str, chat: str, message: str) -> str:
        """The page a targeted in-meeting notification shows: a line, and a link to the card."""
        lang = lang if lang in LANGUAGES else "en"
        title = html.escape(self.bubble_title(kind, lang))
        body = html.escape(self._renderer.text(lang, f"bubble.{kind}_text"))
        button = html.escape(self._renderer.text(lang, f"bubble.{kind}_button"))
        link = ""
        if chat and message:
            # Teams' deep link to a message in a chat: the card the person acts on.
            context = quote('{"contextType":"chat"}', safe="")
            target = (
                f"https://teams.microsoft.com/l/message/{quote(chat, safe='')}/"
                f"{quote(message, safe='')}?context={context}"
            )
            link = (
                f'<p><a class="button" href="{html.escape(target)}" target="_top">{button}</a></p>'
            )
        return (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>body{{font-family:'Segoe UI',sans-serif;margin:16px}}"
            f".button{{display:inline-block;padding:6px 16px;border-radius:4px;"
            f"background:#5b5fc7;color:#fff;text-decoration:none}}</style></head>"
            f"<body><h1>{title}</h1><p>{body}</p>{link}</body></html>"
        )


def bubble_url(base: str, kind: str, lang: str, chat: str, message: str) -> str:
    """Where the bubble's page is served (the app's public address, in validDomains)."""
    query = urlencode({"lang": lang, "chat": chat, "msg": message})
    return f"{base.rstrip('/')}/meeting/bubble/{kind}?{query}"
