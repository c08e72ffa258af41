"""The Ethics Office's reading of Appendices C and F by entity: the cards behind `report`'s
buttons, with their CSV and Excel links. Administrators only, checked on the server."""

from __future__ import annotations

from bot.rollup.downloads import Downloads
from bot.rollup.ethics_views import EthicsViews
from bot.teams.context import ActionContext, Card, Command, Handler
from bot.teams.replies import Notice
from dialogs.ethics_reads import EthicsOfficeReads


class EthicsReadActions:
    """The `admin.feedback` (Appendix C) and `admin.assessments` (Appendix F) cards."""

    def __init__(self, reads: EthicsOfficeReads, views: EthicsViews, downloads: Downloads) -> None:
        self._reads = reads
        self._views = views
        self._downloads = downloads

    def verbs(self) -> dict[str, Handler]:
        """The verbs this module answers."""
        return {"admin.feedback": self._appendix_c, "admin.assessments": self._appendix_f}

    def commands(self) -> dict[str, Command]:
        """None: both cards open from the `report` card."""
        return {}

    async def refusal(self, act: ActionContext, notice: Notice) -> Card | None:
        """The reason alone."""
        return None

    def _links(self, kind: str, act: ActionContext) -> dict[str, str]:
        return {
            f"{fmt}_url": self._downloads.link(kind, "", fmt, act.lang, act.person.aad_id)
            for fmt in ("csv", "xlsx")
        }

    async def _appendix_c(self, act: ActionContext) -> Card:
        report = await self._reads.appendix_c(act.person, act.lang)
        return self._views.appendix_c(report, act.lang, **self._links("appendix_c", act))

    async def _appendix_f(self, act: ActionContext) -> Card:
        report = await self._reads.appendix_f(act.person, act.lang)
        return self._views.appendix_f(report, act.lang, **self._links("appendix_f", act))
