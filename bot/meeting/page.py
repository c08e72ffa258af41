"""The page a targeted in-meeting notification shows (static text and a link; no identity)."""

from __future__ import annotations

import re

from aiohttp import web

from bot.meeting.views import BUBBLES, MeetingViews

# Teams ids as the bot receives them (chat ids, message ids): nothing that could break a URL.
_ID = re.compile(r"[A-Za-z0-9:_\-.@|;=+,!~]{1,512}")


async def bubble_response(views: MeetingViews, request: web.Request) -> web.Response:
    """The bubble page in the session's language; unknown kinds are not found."""
    kind = request.match_info.get("kind", "")
    if kind not in BUBBLES:
        raise web.HTTPNotFound()
    chat = request.query.get("chat", "")
    message = request.query.get("msg", "")
    chat = chat if _ID.fullmatch(chat) else ""
    message = message if _ID.fullmatch(message) else ""
    page = views.bubble_page(kind, request.query.get("lang", "en"), chat, message)
    return web.Response(
        text=page,
        content_type="text/html",
        # Shown inside Teams' frame only; never cached with another chat's ids.
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "frame-ancestors https://teams.microsoft.com https://*.teams.microsoft.com "
            "https://*.cloud.microsoft",
        },
    )
