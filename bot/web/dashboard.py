"""The dashboard tab (personal scope): focal points see their entities, the Ethics Office the
Organization in counts. The page (`/web/dashboard`) is served by the pages' shell (bot/web/pages.py:
TeamsJS, the SSO token, the catalog strings, the theme); its figures come from
`/web/api/dashboard`, read from the roll-up the `progress` and `report` cards read and checked for
the caller's role on every request. Reads only. Chart.js is served from node_modules
(`/web/vendor/chart.umd.js`): no CDN, no build step.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from aiohttp import web

from bot.rollup.downloads import Downloads
from bot.rollup.views import RollupViews
from bot.web.dashboard_views import DashboardViews, Export
from cards.catalog import resolve_language
from cards.renderer import CardRenderer
from dialogs.directory import Directory
from dialogs.errors import NotAllowed
from dialogs.rollup import RollupService, weekly_progress
from storage.errors import StorageUnavailable
from storage.records import EntityRecord, Person

log = logging.getLogger(__name__)

# The UMD bundle of chart.js, installed by `npm ci` (package.json).
CHART_JS = (
    Path(__file__).resolve().parents[2] / "node_modules" / "chart.js" / "dist" / "chart.umd.js"
)


class Caller(Protocol):
    """Who the page's token names (bot/web/identity.py's WebCaller)."""

    @property
    def aad_object_id(self) -> str: ...

    @property
    def name(self) -> str: ...


# bot/web/identity.py's `caller(request)`: the validated Teams SSO token's person, or None.
CallerOf = Callable[[web.Request], Awaitable[Caller | None]]

# One body for every refusal: another entity, an unknown one, a participant, an admin asking
# for an entity's (named) view. Nothing tells them apart.
_FORBIDDEN = {"error": "forbidden"}
_NO_STORE = {"Cache-Control": "no-store"}


class Dashboard:
    """The page, its strings and its JSON."""

    def __init__(
        self,
        directory: Directory,
        rollup: RollupService,
        downloads: Downloads,
        renderer: CardRenderer,
        rollup_views: RollupViews,
        caller: CallerOf,
        clock: Callable[[], datetime],
        chart_js: Path = CHART_JS,
    ) -> None:
        self._directory = directory
        self._rollup = rollup
        self._downloads = downloads
        self._renderer = renderer
        self._views = DashboardViews(renderer, rollup_views)
        self._caller = caller
        self._clock = clock
        self._chart_js = chart_js

    async def chart_js(self, request: web.Request) -> web.StreamResponse:
        """Chart.js from node_modules."""
        if not self._chart_js.is_file():
            raise web.HTTPNotFound(text="Chart.js is not installed (npm ci)")
        return web.FileResponse(self._chart_js, headers={"Cache-Control": "no-cache"})

    async def data(self, request: web.Request) -> web.Response:
        """The figures for the caller's role: their entity's, or the Organization's counts."""
        who = await self._caller(request)
        if who is None:
            return web.json_response({"error": "unauthorized"}, status=401, headers=_NO_STORE)
        person = Person(who.aad_object_id, "", who.name)
        lang = resolve_language(request.query.get("lang"))
        wanted = request.query.get("entity")
        try:
            body = await self._body(person, wanted, lang)
        except NotAllowed:
            log.info("dashboard refused")
            return web.json_response(_FORBIDDEN, status=403, headers=_NO_STORE)
        except StorageUnavailable:
            return web.json_response(
                {"error": "unavailable"},
                status=503,
                headers={**_NO_STORE, "Retry-After": "10"},
            )
        return web.json_response(body, headers=_NO_STORE)

    async def _body(self, person: Person, wanted: str | None, lang: str) -> dict[str, object]:
        roles = await self._directory.roles(person)
        if roles.admin:
            if wanted:
                # The Ethics Office sees counts; an entity's view names units and leaders' rows.
                raise NotAllowed("error.focal_only")
            return await self._organization(person, lang)
        if not roles.focal_for:
            raise NotAllowed("error.focal_only")
        code = wanted if wanted else sorted(roles.focal_for)[0]
        entity = await self._directory.require_focal(person, code)
        mine = [
            e
            for e in await self._directory.entities(active_only=False)
            if e.code in roles.focal_for
        ]
        return await self._entity(person, entity, mine, lang)

    async def _entity(
        self, person: Person, entity: EntityRecord, mine: list[EntityRecord], lang: str
    ) -> dict[str, object]:
        progress = await self._rollup.progress(entity)
        weeks = weekly_progress(progress.held, through=progress.deadline)
        exports = [
            Export(
                f"dashboard.export_{fmt}",
                self._downloads.link("entity", entity.code, fmt, lang, person.aad_id),
            )
            for fmt in ("csv", "xlsx")
        ]
        return self._views.entity(progress, weeks, mine, exports, lang, self._clock().date())

    async def _organization(self, person: Person, lang: str) -> dict[str, object]:
        cycle, lines = await self._rollup.organization(person)
        weeks = await self._rollup.organization_weekly(person)
        exports = [
            Export(
                f"dashboard.export_{kind}_{fmt}",
                self._downloads.link(kind, "", fmt, lang, person.aad_id),
            )
            for kind in ("org", "appendix_c", "appendix_f")
            for fmt in ("csv", "xlsx")
        ]
        return self._views.organization(cycle, lines, weeks, exports, lang, self._clock().date())


def add_routes(router: web.UrlDispatcher, dashboard: Callable[[web.Request], Dashboard]) -> None:
    """The dashboard's own routes; `dashboard(request)` is the app's instance, wired at start."""

    async def data(request: web.Request) -> web.StreamResponse:
        return await dashboard(request).data(request)

    async def chart_js(request: web.Request) -> web.StreamResponse:
        return await dashboard(request).chart_js(request)

    router.add_get("/web/api/dashboard", data)
    router.add_get("/web/vendor/chart.umd.js", chart_js)
