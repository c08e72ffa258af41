"""The pages' shell: static files, TeamsJS from npm, the catalog strings, who am I, tickets."""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from bot.settings import Settings
from bot.web.identity import WebIdentity
from cards.catalog import LANGUAGES, Catalogs, resolve_language
from dialogs.directory import Directory

STATIC = Path(__file__).resolve().parent / "static"
# The meeting's pages, each with the catalog key of its title (the tab's configuration page
# is part of the side panel's setup).
MEETING_PAGES = {
    "panel": "web.panel_title",
    "stage": "web.stage_title",
    "config": "web.panel_title",
}
# The UMD bundle of @microsoft/teams-js, installed by `npm ci` (package.json): served by the
# app itself, so the pages load no script from a CDN and there is no build step.
TEAMS_JS = (
    Path(__file__).resolve().parents[2]
    / "node_modules"
    / "@microsoft"
    / "teams-js"
    / "dist"
    / "umd"
    / "MicrosoftTeams.min.js"
)
# Catalog keys the pages read: their own, and the plan's and polls' words the cards use too.
PAGE_PREFIXES = ("web.", "dashboard.")
PAGE_KEYS = ("poll.voters", "poll.hidden", "poll.too_few")
# Pages never cached: a deployment's new script must not meet an old page.
NO_STORE = {"Cache-Control": "no-store"}


class PageShell:
    """Serves the HTML pages, their assets and strings, `me` and event tickets."""

    def __init__(
        self,
        settings: Settings,
        catalogs: Catalogs,
        identity: WebIdentity,
        directory: Directory | None = None,
    ) -> None:
        self._settings = settings
        self._catalogs = catalogs
        self._identity = identity
        self.directory = directory  # set once the app is wired
        keys = sorted(k for k in catalogs.keys() if k.startswith(PAGE_PREFIXES) or k in PAGE_KEYS)
        # Read once: the meeting's three pages share one shell; the dashboard has its own.
        shell = (STATIC / "meeting.html").read_text("utf-8")
        self._templates = {
            name: shell.replace("{{page}}", name).replace("{{title}}", title)
            for name, title in MEETING_PAGES.items()
        }
        self._templates["dashboard"] = (STATIC / "dashboard.html").read_text("utf-8")
        self._strings = {lang: {k: catalogs.raw(lang, k) for k in keys} for lang in LANGUAGES}

    def add_routes(self, app: web.Application) -> None:
        """The shell's routes (the meeting's own are in bot/web/meeting.py)."""
        app.router.add_get(f"/web/{{page:{'|'.join(self._templates)}}}", self.page)
        app.router.add_get("/web/static/teams-js.js", self.teams_js)
        app.router.add_static("/web/static/", STATIC, append_version=False)
        app.router.add_get("/web/api/strings", self.strings)
        app.router.add_get("/web/api/me", self.me)
        app.router.add_post("/web/api/ticket", self.ticket)

    async def page(self, request: web.Request) -> web.Response:
        """A page: the same HTML for everyone; what it shows comes from the API, per caller."""
        name = request.match_info["page"]
        lang = resolve_language(request.query.get("lang"))
        template = self._templates[name]
        # In Teams the page trusts Teams' own origins; in --dev also the loopback host stand-in
        # (testing/teamshost.py), which TeamsJS would otherwise ignore.
        origins = "loopback" if self._settings.dev else ""
        text = (
            template.replace("{{lang}}", lang)
            .replace("{{origins}}", html.escape(origins))
            .replace("{{dev}}", "1" if self._settings.dev else "")
        )
        return web.Response(text=text, content_type="text/html", headers=NO_STORE)

    async def teams_js(self, request: web.Request) -> web.FileResponse:
        """The TeamsJS UMD bundle from node_modules."""
        if not TEAMS_JS.exists():
            raise web.HTTPNotFound(text="TeamsJS is not installed (npm ci)")
        return web.FileResponse(TEAMS_JS)

    async def strings(self, request: web.Request) -> web.Response:
        """The catalog strings the pages show, in the asked locale (en, fr or es)."""
        lang = resolve_language(request.query.get("lang"))
        return web.json_response({"lang": lang, "strings": self._strings[lang]})

    async def me(self, request: web.Request) -> web.Response:
        """Who the token names and what they may open beyond their own sessions."""
        caller = await self._identity.require(request)
        admin, focal = False, []
        if self.directory is not None:
            roles = await self.directory.roles(caller.person())
            admin, focal = roles.admin, sorted(roles.focal_for)
        return web.json_response(
            {"name": caller.name, "admin": admin, "focal_for": focal}, headers=NO_STORE
        )

    async def ticket(self, request: web.Request) -> web.Response:
        """A one-minute ticket opening one event stream (EventSource sends no header)."""
        caller = await self._identity.require(request)
        stream = request.query.get("stream", "")
        if not stream or len(stream) > 200:
            raise web.HTTPBadRequest(text="stream required")
        return web.json_response(
            {"ticket": self._identity.ticket(caller, stream)}, headers=NO_STORE
        )
