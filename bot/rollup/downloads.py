"""Exports delivered as short-lived signed links served by the bot itself.

Why links and not a Teams file-consent card: file consent uploads to the person's OneDrive
through a URL Teams hands out, which needs the bot to be a files-capable app and cannot be
exercised here; a link signed with the bot's secret, valid for minutes and naming exactly one
report, works in personal chat, on mobile and in the browser, and the file is generated from
storage when it is fetched, so nothing is kept in the bot's memory or on disk.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiohttp import web

from bot.teams.signing import Signer
from cards.renderer import CardRenderer
from dialogs.directory import Directory
from dialogs.errors import DialogueError
from dialogs.ethics_exports import (
    EthicsLabels,
    appendix_c_csv,
    appendix_c_xlsx,
    appendix_f_csv,
    appendix_f_xlsx,
)
from dialogs.ethics_reads import EthicsOfficeReads
from dialogs.exports import (
    EntityReport,
    Labels,
    OrgRow,
    UnitRow,
    appendix_e_csv,
    appendix_e_xlsx,
    organization_csv,
    organization_xlsx,
)
from dialogs.rollup import RollupService, certified_by
from storage.errors import StorageUnavailable
from storage.records import Person

TTL_SECONDS = 15 * 60
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Grant:
    """What a link allows: one report, in one format and language, until a time."""

    kind: str  # "entity" | "org" | "appendix_c" | "appendix_f"
    entity: str
    fmt: str
    lang: str
    requester: str
    expires: int


class Downloads:
    """Signs links and turns a valid link into the file."""

    def __init__(
        self,
        secret: str,
        base_url: str,
        rollup: RollupService,
        directory: Directory,
        renderer: CardRenderer,
        ethics: EthicsOfficeReads,
    ) -> None:
        # A key of its own, derived from the secret: a link can never be mistaken for a vote key.
        self._signer = Signer(secret, b"dialogue-bot/exports")
        self._base_url = base_url.rstrip("/")
        self._rollup = rollup
        self._directory = directory
        self._renderer = renderer
        self._ethics = ethics

    def link(self, kind: str, entity: str, fmt: str, lang: str, requester: str) -> str:
        """A URL valid for TTL_SECONDS."""
        grant = Grant(kind, entity, fmt, lang, requester, int(time.time()) + TTL_SECONDS)
        return f"{self._base_url}/exports/{self._signer.sign(grant.__dict__)}"

    def verify(self, token: str) -> Grant | None:
        """The grant a token carries, if its signature is right and it has not expired."""
        fields = self._signer.verify(token)
        if fields is None:
            return None
        try:
            grant = Grant(**fields)
        except TypeError:
            return None
        if grant.expires < time.time() or grant.fmt not in FORMATS:
            return None
        return grant

    async def handle(self, request: web.Request) -> web.Response:
        """GET /exports/{token}: the file, or 404 for anything invalid or expired."""
        grant = self.verify(request.match_info["token"])
        if grant is None:
            raise web.HTTPNotFound(text=self._renderer.text("en", "error.export_link"))
        # Raw catalog strings: the exporter fills {cycle} and {entity} itself.
        labels = Labels.from_lookup(lambda key: self._renderer.catalogs.raw(grant.lang, key))
        try:
            if grant.kind == "entity":
                name, body = await self._entity_file(grant, labels)
            elif grant.kind in ("appendix_c", "appendix_f"):
                name, body = await self._ethics_file(grant)
            else:
                name, body = await self._org_file(grant, labels)
        except DialogueError:
            # The requester lost the role since the link was made: the link no longer works.
            raise web.HTTPNotFound(text=self._renderer.text("en", "error.export_link")) from None
        except StorageUnavailable:
            # The link stays good: the same link works once storage answers again.
            text = self._renderer.text(grant.lang, "error.export_unavailable")
            raise web.HTTPServiceUnavailable(text=text, headers={"Retry-After": "30"}) from None
        return web.Response(
            body=body,
            content_type=FORMATS[grant.fmt].split(";")[0],
            charset="utf-8" if grant.fmt == "csv" else None,
            headers={
                "Content-Disposition": f'attachment; filename="{name}.{grant.fmt}"',
                "Cache-Control": "no-store",
            },
        )

    async def _entity_file(self, grant: Grant, labels: Labels) -> tuple[str, bytes]:
        # The role is checked again now: a focal point withdrawn since the link was made, or now
        # an admin, or anyone the link was forwarded to, gets nothing. NotAllowed is the 404 above.
        entity = await self._directory.require_focal(Person(grant.requester, "", ""), grant.entity)
        progress = await self._rollup.progress(entity)
        report = EntityReport(
            cycle=progress.cycle.year,
            entity_code=entity.code,
            entity_name=entity.name,
            rows=[
                UnitRow(
                    u.unit,
                    u.participants if u.sessions else None,
                    u.personnel,
                    u.first_date,
                    ", ".join(u.leaders),
                    ", ".join(u.joint_with),
                )
                for u in progress.units
            ],
            agencies=progress.agencies,
            non_staff=progress.non_staff,
            certified_on=progress.certification.certified_at.date()
            if progress.certification
            else None,
            deadline=progress.deadline,
            entity_personnel=progress.entity_personnel,
            certified_by=certified_by(progress.certification),
            confirmed_on=progress.certification.confirmed_at.date()
            if progress.certification and progress.certification.confirmed_at
            else None,
        )
        build = appendix_e_csv if grant.fmt == "csv" else appendix_e_xlsx
        # Building a workbook is CPU work: keep it off the event loop serving everyone's clicks.
        body = await asyncio.to_thread(build, report, labels)
        return f"appendix-e-{progress.cycle.year}-{entity.code}", body

    async def _ethics_file(self, grant: Grant) -> tuple[str, bytes]:
        # Appendix C or F by entity, for an administrator (checked again now: NotAllowed is 404).
        admin = Person(grant.requester, "", "")
        labels = EthicsLabels.from_lookup(lambda key: self._renderer.catalogs.raw(grant.lang, key))
        if grant.kind == "appendix_c":
            report_c = await self._ethics.appendix_c(admin, grant.lang)
            build_c = appendix_c_csv if grant.fmt == "csv" else appendix_c_xlsx
            body = await asyncio.to_thread(build_c, report_c, labels)
            return f"appendix-c-{report_c.cycle.year}", body
        report_f = await self._ethics.appendix_f(admin, grant.lang)
        build_f = appendix_f_csv if grant.fmt == "csv" else appendix_f_xlsx
        body = await asyncio.to_thread(build_f, report_f, labels)
        return f"appendix-f-{report_f.cycle.year}", body

    async def _org_file(self, grant: Grant, labels: Labels) -> tuple[str, bytes]:
        cycle, lines = await self._rollup.organization(Person(grant.requester, "", ""))
        rows = [
            OrgRow(
                entity_code=line.entity.code,
                entity_name=line.entity.name,
                sessions=line.totals.sessions,
                participants=line.totals.participants,
                personnel=line.totals.personnel,
                coverage=line.totals.coverage,
                certified_on=line.certification.certified_at.date() if line.certification else None,
                deadline=cycle.deadline,
                extension_until=line.entity.extension_until,
                entity_personnel=line.entity_personnel,
                certified_by=certified_by(line.certification),
                past_february=line.past_february,
            )
            for line in lines
        ]
        build = organization_csv if grant.fmt == "csv" else organization_xlsx
        body = await asyncio.to_thread(build, cycle.year, rows, labels)
        return f"leadership-dialogue-{cycle.year}", body
