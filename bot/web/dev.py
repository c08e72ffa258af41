"""`--dev` only, on loopback only: sign in to the pages as one of the Playground's people.

The token comes from the local OpenID authority `make run` starts (testing/openid.py), signed
with the keys the app's SSO check fetches, so the pages are served exactly as in Teams; the
app holds no signing key. Without --dev the routes are never added (a plain 404).
"""

from __future__ import annotations

import html
import json
import logging
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from cards.catalog import Catalogs, resolve_language

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "::1")
TIMEOUT = aiohttp.ClientTimeout(total=5)


class DevSignIn:
    """The local sign-in page and the token it hands to the browser."""

    def __init__(self, authority: str, resource: str, catalogs: Catalogs) -> None:
        self._authority = authority.rstrip("/")
        self._resource = resource
        self._catalogs = catalogs

    def add_routes(self, app: web.Application) -> None:
        """GET shows the people, POST signs in as one of them."""
        app.router.add_get("/web/dev/signin", self.page)
        app.router.add_post("/web/dev/signin", self.sign_in)

    async def page(self, request: web.Request) -> web.Response:
        """The people to sign in as, and the meeting chat to open."""
        _loopback_only(request)
        lang = resolve_language(request.query.get("lang"))
        people = await self._call("GET", "/people")
        text = self._text(lang)
        buttons = "".join(
            f'<li><button type="submit" name="oid" value="{html.escape(p["oid"])}">'
            f"{html.escape(p['name'])}</button></li>"
            for p in people.get("people", [])
            if isinstance(p, dict) and isinstance(p.get("oid"), str)
        )
        chat = html.escape(str(request.query.get("chat") or people.get("chat") or ""))
        body = (
            f"<h1>{text('web.dev_signin_title')}</h1><p>{text('web.dev_signin_intro')}</p>"
            f'<form method="post"><label>{text("web.dev_signin_chat")} '
            f'<input name="chat" value="{chat}" size="60"></label>'
            f'<input type="hidden" name="lang" value="{lang}"><ul>{buttons}</ul></form>'
        )
        return _page(lang, text("web.dev_signin_title"), body)

    async def sign_in(self, request: web.Request) -> web.Response:
        """A token for the chosen person, kept in the tab's session storage, and the links."""
        _loopback_only(request)
        form = await request.post()
        lang = resolve_language(str(form.get("lang") or ""))
        oid, chat = str(form.get("oid") or ""), str(form.get("chat") or "")
        answer = await self._call("POST", "/token", {"oid": oid, "aud": self._resource})
        token = answer.get("access_token")
        if not isinstance(token, str):
            raise web.HTTPBadRequest(text="unknown person")
        text = self._text(lang)
        query = f"?chat={quote(chat, safe='')}&lang={lang}"
        links = "".join(
            f'<li><a href="/web/{page}{query}">{text(key)}</a></li>'
            for page, key in (("panel", "web.panel_title"), ("stage", "web.stage_title"))
        )
        body = (
            f"<h1>{text('web.dev_signin_title')}</h1><p>{text('web.dev_signed_in')}</p>"
            f"<ul>{links}</ul>"
            # The token lives in this tab only, as TeamsJS would hand it to the page.
            f"<script>sessionStorage.setItem('dialogue.devToken', {json.dumps(token)});</script>"
        )
        return _page(lang, text("web.dev_signin_title"), body)

    def _text(self, lang: str) -> Any:
        return lambda key: html.escape(self._catalogs.text(lang, key))

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as session,
                session.request(method, self._authority + path, json=body) as response,
            ):
                if response.status >= 400:
                    raise web.HTTPBadRequest(text="the local authority refused")
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.warning("local authority unavailable: %s", type(error).__name__)
            raise web.HTTPServiceUnavailable(text="the local authority is not running") from None
        return answer if isinstance(answer, dict) else {}


def _loopback_only(request: web.Request) -> None:
    # --dev already binds to 127.0.0.1; this also holds behind a local reverse proxy.
    if request.remote not in LOOPBACK:
        raise web.HTTPNotFound()


def _page(lang: str, title: str, body: str) -> web.Response:
    return web.Response(
        text=(
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<title>{title}</title><link rel="stylesheet" href="/web/static/web.css"></head>'
            f'<body class="dev">{body}</body></html>'
        ),
        content_type="text/html",
    )
