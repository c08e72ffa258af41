"""The dashboard's JSON: an entity's progress for its focal point, the Organization's counts for
the Ethics Office. Renders what the roll-up read; never writes.

The figures are the progress and report cards' own (the same EntityProgress and OrgLine, the
same rounding), so the page and the cards cannot disagree. The Organization's JSON carries
counts, dates and entity names only: no participant, leader, focal point or Head of Entity
name, and no free text (an extension's reason may name someone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.rollup.views import RollupViews
from cards.catalog import Catalogs
from cards.renderer import CardRenderer
from dialogs.rollup import (
    EntityProgress,
    OrgLine,
    WeekLine,
    certified_by,
    share,
)
from storage.records import Certification, CycleConfig, EntityRecord


@dataclass(frozen=True)
class Export:
    """One signed export link, as the cards offer it."""

    label_key: str
    url: str


class DashboardViews:
    """Builds the dashboard's JSON in a language."""

    def __init__(self, renderer: CardRenderer, rollup_views: RollupViews) -> None:
        self._renderer = renderer
        # The progress and report cards' own wording, so page and card never say it twice.
        self._cards = rollup_views

    @property
    def _catalogs(self) -> Catalogs:
        return self._renderer.catalogs

    def _text(self, lang: str, key: str, **fields: Any) -> str:
        return self._renderer.text(lang, key, **fields)

    def entity(
        self,
        progress: EntityProgress,
        weeks: Sequence[WeekLine],
        entities: Sequence[EntityRecord],
        exports: Sequence[Export],
        lang: str,
        today: date,
    ) -> dict[str, Any]:
        """A focal point's view of one of their entities."""
        totals = progress.totals
        return {
            "view": "entity",
            "lang": lang,
            "cycle": progress.cycle.year,
            "title": self._text(
                lang, "progress.title", cycle=str(progress.cycle.year), entity=progress.entity.name
            ),
            "entity": {"code": progress.entity.code, "name": progress.entity.name},
            "entities": [{"code": e.code, "name": e.name} for e in entities],
            **self._deadline(progress, lang),
            "totals": {
                "sessions": totals.sessions,
                "participants": totals.participants,
                "personnel": totals.personnel,
                # The card's bar: capped at 100 (a unit's personnel may be out of date).
                "coverage_percent": _capped(totals.coverage),
            },
            "open_sessions": progress.open_sessions,
            "entity_personnel": progress.entity_personnel,
            "entity_coverage_percent": _capped(progress.entity_coverage),
            "entity_coverage_text": self._cards.entity_coverage(progress, lang),
            "weeks": [_week(w, self._catalogs, lang, today) for w in weeks],
            "units": [
                {
                    "unit": u.unit,
                    "sessions": u.sessions,
                    # A unit that only joined a joint session: its participants are on another row.
                    "participants": u.participants if u.sessions else None,
                    "personnel": u.personnel,
                    "coverage_percent": _capped(share(u.participants, u.personnel))
                    if u.sessions
                    else None,
                    "first_date": u.first_date.isoformat(),
                    "first_date_text": self._catalogs.date(lang, u.first_date),
                    "note": self._joint_note(u.joint_with, bool(u.sessions), lang),
                    "several_leaders": u.several_leaders,
                }
                for u in progress.units
            ],
            "certification": self._entity_certification(progress, lang),
            "exports": [self._export(x, lang) for x in exports],
        }

    def organization(
        self,
        cycle: CycleConfig,
        lines: Sequence[OrgLine],
        weeks: Sequence[WeekLine],
        exports: Sequence[Export],
        lang: str,
        today: date,
    ) -> dict[str, Any]:
        """The Ethics Office's view: every entity's counts and status, never a name."""
        return {
            "view": "organization",
            "lang": lang,
            "cycle": cycle.year,
            "title": self._text(lang, "report.title", cycle=str(cycle.year)),
            "deadline": cycle.deadline.isoformat(),
            "deadline_text": self._catalogs.date(lang, cycle.deadline),
            "summary": self._cards.organization_summary(lines, lang),
            "totals": {
                "sessions": sum(x.totals.sessions for x in lines),
                "participants": sum(x.totals.participants for x in lines),
                "entities": len(lines),
                "certified": sum(1 for x in lines if x.certification and x.certification.complete),
            },
            "weeks": [_week(w, self._catalogs, lang, today) for w in weeks],
            "rows": [self._org_row(line, lang) for line in lines],
            "exports": [self._export(x, lang) for x in exports],
        }

    # Parts -------------------------------------------------------------------------------------

    def _deadline(self, progress: EntityProgress, lang: str) -> dict[str, Any]:
        """The deadline as the progress card words it, and the figures behind it."""
        days = progress.days_left
        when = self._catalogs.date(lang, progress.deadline)
        text = (
            self._text(lang, "progress.deadline", date=when, days=days)
            if days >= 0
            else self._text(lang, "progress.deadline_past", date=when, days=-days)
        )
        if progress.entity.extension_until:
            text = f"{text} {self._text(lang, 'progress.extension')}"
        return {
            "deadline": progress.deadline.isoformat(),
            "deadline_text": text,
            "days_left": days,
            "extension": progress.entity.extension_until is not None,
        }

    def _joint_note(self, partners: Sequence[str], hosted: bool, lang: str) -> str:
        if not partners:
            return ""
        key = "progress.joint_with" if hosted else "progress.joint_guest"
        return self._text(lang, key, units=", ".join(partners))

    def _entity_certification(self, progress: EntityProgress, lang: str) -> dict[str, Any]:
        """Who certified and when (dates, never names), and whether the figures moved since."""
        cert = progress.certification
        status = certified_by(cert)
        if cert is None:
            return {
                "status": "none",
                "changed": False,
                "text": self._text(lang, "progress.not_certified"),
            }
        text = self._status_text(cert, lang)
        if progress.changed_since_certification:
            text = self._cards.changed_since(cert, progress, lang)
        return {"status": status, "changed": progress.changed_since_certification, "text": text}

    def _status_text(self, cert: Certification, lang: str) -> str:
        """The report card's words: by the Head of Entity, by the focal point, or awaiting."""
        status = certified_by(cert)
        if status == "awaiting":
            return self._text(
                lang,
                "report.awaiting_head",
                date=self._catalogs.date(lang, cert.certified_at.date()),
            )
        if status == "head" and cert.confirmed_at is not None:
            return self._text(
                lang,
                "report.certified_head",
                date=self._catalogs.date(lang, cert.confirmed_at.date()),
            )
        return self._text(
            lang, "report.certified_focal", date=self._catalogs.date(lang, cert.certified_at.date())
        )

    def _org_row(self, line: OrgLine, lang: str) -> dict[str, Any]:
        cert = line.certification
        if cert is not None:
            text = self._status_text(cert, lang)
        elif line.extension_requested:
            text = self._text(
                lang, "report.extension_requested", date=self._catalogs.date(lang, line.deadline)
            )
        else:
            text = self._text(lang, "report.pending", date=self._catalogs.date(lang, line.deadline))
        if line.past_february:
            until = line.entity.extension_until or line.deadline
            mark = self._text(lang, "report.past_february", date=self._catalogs.date(lang, until))
            text = f"{text}; {mark}"
        coverage = line.totals.coverage
        entity_coverage = line.entity_coverage
        return {
            "code": line.entity.code,
            "name": line.entity.name,
            "sessions": line.totals.sessions,
            "participants": line.totals.participants,
            "personnel": line.totals.personnel,
            # The report card's rounding (not capped there).
            "coverage_percent": round(coverage * 100) if coverage is not None else None,
            "entity_personnel": line.entity_personnel,
            "entity_coverage_percent": round(entity_coverage * 100)
            if entity_coverage is not None
            else None,
            "deadline": line.deadline.isoformat(),
            "deadline_text": self._catalogs.date(lang, line.deadline),
            "certification": {"status": certified_by(cert) or "none", "text": text},
            "extension_requested": line.extension_requested,
            "past_february": line.past_february,
            "completed": line.completed,
        }

    def _export(self, export: Export, lang: str) -> dict[str, str]:
        return {"label": self._text(lang, export.label_key), "url": export.url}


def _capped(fraction: float | None) -> int | None:
    """A share as the progress card shows it: a whole percentage, at most 100."""
    return min(100, round(fraction * 100)) if fraction is not None else None


def _week(line: WeekLine, catalogs: Catalogs, lang: str, today: date) -> dict[str, Any]:
    return {
        # A week still to come: drawn up to the deadline, with no running total yet.
        "future": line.monday > today,
        "week": line.week,
        "monday": line.monday.isoformat(),
        "monday_text": catalogs.date(lang, line.monday),
        "sessions": line.sessions,
        "participants": line.participants,
        "total_sessions": line.total_sessions,
        "total_participants": line.total_participants,
    }
