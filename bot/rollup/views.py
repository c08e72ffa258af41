"""Cards for focal points and the Ethics Office: progress, sheets list, certification,
cascade, the Organization report, Appendix C by entity, administration."""

from __future__ import annotations

from typing import Any

from bot.teams.replies import plain, plain_masked
from cards.catalog import Catalogs
from cards.renderer import Card, CardRenderer
from dialogs.feedback import FeedbackSummary
from dialogs.rollup import CascadeLine, EntityProgress, OrgLine, Totals
from dialogs.signin import Sheet
from storage.records import (
    AuditEntry,
    CycleConfig,
    EntityRecord,
    ExpectedLine,
    Extension,
    FocalPoint,
    SessionRecord,
)

# A card must stay under Teams' message size: long lists are cut and the export is complete.
MAX_UNITS = 40
MAX_SESSIONS = 40
MAX_ENTITIES = 60


class RollupViews:
    """Builds the focal point's and the Ethics Office's cards in a language."""

    def __init__(self, renderer: CardRenderer) -> None:
        self._r = renderer

    @property
    def _c(self) -> Catalogs:
        return self._r.catalogs

    def _t(self, lang: str, key: str, **fields: Any) -> str:
        return self._r.text(lang, key, **fields)

    def _notice(self, notice: tuple[str, str] | None) -> dict[str, str] | None:
        return {"text": notice[0], "style": notice[1]} if notice else None

    def progress(
        self,
        progress: EntityProgress,
        lang: str,
        *,
        csv_url: str,
        xlsx_url: str,
        ttl_minutes: int,
        notice: tuple[str, str] | None = None,
    ) -> Card:
        """The entity's progress at a glance: totals, coverage bar, deadline, units, status."""
        totals = progress.totals
        days = progress.days_left
        deadline_date = self._c.date(lang, progress.deadline)
        deadline = (
            self._t(lang, "progress.deadline", date=deadline_date, days=days)
            if days >= 0
            else self._t(lang, "progress.deadline_past", date=deadline_date, days=-days)
        )
        if progress.entity.extension_until:
            deadline = f"{deadline} {self._t(lang, 'progress.extension')}"
        coverage = None
        if totals.coverage is not None:
            percent = min(100, round(totals.coverage * 100))
            coverage = {
                "text": self._t(lang, "progress.coverage", percent=percent),
                "filled": percent or None,
                "empty": (100 - percent) or None,
            }
        cert = progress.certification
        if cert is None:
            certification, color = self._t(lang, "progress.not_certified"), "Warning"
        elif progress.changed_since_certification:
            certification, color = (
                self._t(
                    lang,
                    "progress.changed",
                    certified=cert.participants,
                    sessions=cert.sessions,
                    now_participants=totals.participants,
                    now_sessions=totals.sessions,
                ),
                "Attention",
            )
        else:
            certification, color = (
                self._t(
                    lang,
                    "progress.certified",
                    date=self._c.date(lang, cert.certified_at.date()),
                    name=plain(cert.certified_by_name),
                ),
                "Good",
            )
        units = [
            {
                "number": f"{n}.",
                "unit": plain(u.unit),
                "participants": self._c.number(lang, u.participants),
                "personnel": self._c.number(lang, u.personnel),
            }
            for n, u in enumerate(progress.units[:MAX_UNITS], start=1)
        ]
        more = len(progress.units) - MAX_UNITS
        agencies = ", ".join(
            f"{plain(name)} {count}" for name, count in sorted(progress.agencies.items())
        )
        data = {
            "entity": progress.entity.code,
            "title": self._t(
                lang,
                "progress.title",
                cycle=str(progress.cycle.year),
                entity=plain(progress.entity.name),
            ),
            "deadline": deadline,
            "deadline_color": "Attention" if days < 7 and cert is None else "Default",
            "notice": self._notice(notice),
            "sessions": self._c.number(lang, totals.sessions),
            "participants": self._c.number(lang, totals.participants),
            "personnel": self._c.number(lang, totals.personnel),
            "coverage": coverage,
            "open_text": self._t(lang, "progress.open", count=progress.open_sessions)
            if progress.open_sessions
            else "",
            "certification": certification,
            "certification_color": color,
            "no_units": not units,
            "units": units or None,
            "more_units": self._t(lang, "progress.more_units", count=more) if more > 0 else "",
            "agencies": self._t(lang, "progress.agencies", list=agencies) if agencies else "",
            "non_staff": self._t(lang, "progress.non_staff", count=progress.non_staff)
            if progress.non_staff
            else "",
            "export_help": self._t(lang, "progress.export_help", minutes=ttl_minutes),
            "csv_url": csv_url,
            "xlsx_url": xlsx_url,
        }
        return self._r.render("progress", data, lang)

    def sessions(self, entity: EntityRecord, sessions: list[SessionRecord], lang: str) -> Card:
        """The entity's sessions, each with its sign-in sheet (the focal point sees names)."""
        ordered = sorted(sessions, key=lambda s: (s.session_date, s.unit), reverse=True)
        rows = []
        for session in ordered[:MAX_SESSIONS]:
            line = self._t(
                lang,
                "sessions.line",
                date=self._c.date(lang, session.session_date),
                unit=plain(session.unit),
                leader=plain(session.leader.name),
                count=session.participants,
            )
            if not session.held:
                line = f"{line} {self._t(lang, 'sessions.state_open')}"
            rows.append(
                {
                    "line": line,
                    "sid": session.session_id,
                    "entity": session.entity,
                    "cycle": session.cycle,
                }
            )
        more = len(ordered) - MAX_SESSIONS
        data = {
            "title": self._t(lang, "sessions.title", entity=plain(entity.name)),
            "empty": not rows,
            "sessions": rows,
            "more": self._t(lang, "progress.more_units", count=more) if more > 0 else "",
        }
        return self._r.render("sessions_list", data, lang)

    def sheet_corrections(self, card: Card, sheet: Sheet, lang: str) -> Card:
        """The focal point's sheet with what they may correct once it is final: add, strike."""
        session = sheet.session
        data = {
            "entity": session.entity,
            "cycle": session.cycle,
            "sid": session.session_id,
            "choices": [{"title": r.name, "value": r.key} for r in sheet.attendees] or None,
            "struck": {"names": ", ".join(plain(r.name) for r in sheet.struck)}
            if sheet.struck
            else None,
        }
        extra = self._r.render("sheet_corrections", data, lang)
        # Kept as its own template, so the sheet everyone sees stays one template.
        return {
            **card,
            "body": [*card.get("body", []), *extra["body"]],
            "actions": [*card.get("actions", []), *extra["actions"]],
        }

    def history(self, entity: EntityRecord, entries: list[AuditEntry], lang: str) -> Card:
        """The audit entries concerning one entity, for its focal point."""
        data = {
            "entity": entity.code,
            "title": self._t(lang, "history.title", entity=plain(entity.name)),
            "empty": not entries,
            "entries": [{"text": self._audit_line(lang, a)} for a in entries] or None,
        }
        return self._r.render("focal_history", data, lang)

    def _audit_line(self, lang: str, entry: AuditEntry) -> str:
        # `person` holds ids (and sheet row keys), which say nothing to a reader.
        details = ", ".join(f"{k}={v}" for k, v in entry.details.items() if k != "person")
        return self._t(
            lang,
            "admin.audit_line",
            date=self._c.date(lang, entry.at.date()),
            action=entry.action,
            details=plain(details),
        )

    def certify(self, entity: EntityRecord, cycle: CycleConfig, totals: Totals, lang: str) -> Card:
        """The confirmation card with the totals to be certified."""
        data = {
            "entity": entity.code,
            "title": self._t(lang, "certify.title", entity=plain(entity.name)),
            "intro": self._t(lang, "certify.intro", cycle=str(cycle.year)),
            "sessions": self._c.number(lang, totals.sessions),
            "participants": self._c.number(lang, totals.participants),
            "personnel": self._c.number(lang, totals.personnel),
            "sessions_raw": totals.sessions,
            "participants_raw": totals.participants,
        }
        return self._r.render("certify", data, lang)

    def cascade(
        self,
        entity: EntityRecord,
        leaders: list[CascadeLine],
        missing: list[ExpectedLine],
        has_expected: bool,
        lang: str,
        notice: tuple[str, str] | None = None,
    ) -> Card:
        """Who led after attending, and which expected units have not held a session."""
        data = {
            "entity": entity.code,
            "title": self._t(lang, "cascade.title", entity=plain(entity.name)),
            "notice": self._notice(notice),
            "leaders": [
                {
                    "text": self._t(
                        lang,
                        "cascade.attended" if line.attended else "cascade.not_attended",
                        leader=plain(line.leader),
                        unit=plain(line.unit),
                    ),
                    "color": "Good" if line.attended else "Warning",
                }
                for line in leaders[:MAX_SESSIONS]
            ],
            "missing_heading": self._t(lang, "cascade.missing_heading", count=len(missing))
            if missing
            else "",
            "missing": [
                {
                    "text": self._t(
                        lang,
                        "cascade.missing_line",
                        unit=plain(m.unit),
                        leader=f"({plain(m.leader)})" if m.leader else "",
                    ).strip()
                }
                for m in missing[:MAX_SESSIONS]
            ],
            "no_expected": not has_expected,
        }
        return self._r.render("cascade", data, lang)

    def organization(
        self,
        cycle: CycleConfig,
        lines: list[OrgLine],
        extensions: list[Extension],
        lang: str,
        *,
        csv_url: str,
        xlsx_url: str,
        notice: tuple[str, str] | None = None,
    ) -> Card:
        """Every entity's counts and status: never a participant's name."""
        rows = []
        for line in lines[:MAX_ENTITIES]:
            if line.certification:
                status = self._t(
                    lang,
                    "report.certified",
                    date=self._c.date(lang, line.certification.certified_at.date()),
                )
                color = "Good"
            elif line.extension_requested:
                status = self._t(
                    lang, "report.extension_requested", date=self._c.date(lang, line.deadline)
                )
                color = "Warning"
            else:
                status = self._t(lang, "report.pending", date=self._c.date(lang, line.deadline))
                color = "Default"
            coverage = line.totals.coverage
            rows.append(
                {
                    "code": line.entity.code,
                    "sessions": self._c.number(lang, line.totals.sessions),
                    "participants": self._c.number(lang, line.totals.participants),
                    "coverage": f"{round(coverage * 100)}%" if coverage is not None else "–",
                    "status": status,
                    "status_color": color,
                }
            )
        more = len(lines) - MAX_ENTITIES
        open_requests = [x for x in extensions if x.status == "requested"]
        data = {
            "title": self._t(lang, "report.title", cycle=str(cycle.year)),
            "summary": self._t(
                lang,
                "report.summary",
                sessions=sum(x.totals.sessions for x in lines),
                participants=sum(x.totals.participants for x in lines),
                certified=sum(1 for x in lines if x.certification),
                entities=len(lines),
            ),
            "notice": self._notice(notice),
            "rows": rows,
            "more": self._t(lang, "progress.more_units", count=more) if more > 0 else "",
            "extensions": [
                {
                    "key": x.key,
                    "input_id": f"until_{n}",
                    "suggested": cycle.deadline.replace(
                        month=2, day=15, year=cycle.year + 1
                    ).isoformat(),
                    "text": self._t(
                        lang,
                        "report.extension_line",
                        entity=x.entity,
                        reason=plain(x.reason),
                        date=self._c.date(lang, x.requested_at.date()),
                    ),
                }
                for n, x in enumerate(open_requests[:10])
            ]
            or None,
            "csv_url": csv_url,
            "xlsx_url": xlsx_url,
        }
        return self._r.render("org_report", data, lang)

    def feedback_summary(self, summary: FeedbackSummary, lang: str) -> Card:
        """Appendix C ratings and comments aggregated by entity."""
        data = {
            "title": self._t(lang, "feedbacksummary.title", cycle=str(summary.cycle.year)),
            "empty": not summary.entities,
            "entities": [
                {
                    "heading": self._t(
                        lang,
                        "feedbacksummary.entity",
                        entity=plain(line.entity.name),
                        count=line.forms,
                        guide=self._c.number(lang, round(line.guide, 1)),
                        topics=self._c.number(lang, round(line.topics, 1)),
                    ),
                    "comments": [
                        {"text": f"“{plain_masked(c, self._t(lang, 'mask.name'))}”"}
                        for c in line.comments[:10]
                    ],
                }
                for line in summary.entities
            ],
        }
        return self._r.render("feedback_summary", data, lang)

    def admin(
        self,
        cycle: CycleConfig,
        entities: list[EntityRecord],
        focal: dict[str, list[FocalPoint]],
        audit: list[AuditEntry],
        packs: list[str],
        lang: str,
        notice: tuple[str, str] | None = None,
    ) -> Card:
        """The cycle, entities with their focal points, the newest audit entries."""
        data = {
            "cycle_text": self._t(
                lang,
                "admin.cycle",
                year=str(cycle.year),
                pack=cycle.pack,
                deadline=self._c.date(lang, cycle.deadline),
            ),
            "notice": self._notice(notice),
            "year": cycle.year,
            "pack": cycle.pack,
            "deadline": cycle.deadline.isoformat(),
            "packs": [{"id": p} for p in packs],
            "entities": [
                {
                    "text": self._t(
                        lang,
                        "admin.entity_line",
                        code=e.code,
                        name=plain(e.name),
                        focal=", ".join(plain(f.name) for f in focal.get(e.code, []))
                        or self._t(lang, "admin.no_focal"),
                    )
                }
                for e in entities
            ],
            "entity_choices": [{"title": f"{e.code}: {e.name}", "value": e.code} for e in entities],
            "focal_choices": [
                {"title": f"{code}: {f.name}", "value": f"{code}|{f.aad_id}"}
                for code, points in sorted(focal.items())
                for f in points
            ]
            or None,
            "audit": [
                {
                    "text": self._t(
                        lang,
                        "admin.audit_line",
                        date=self._c.date(lang, a.at.date()),
                        action=a.action,
                        details=", ".join(
                            f"{k}={v}"
                            for k, v in a.details.items()
                            # Who was named or replaced: the admins see no one's id.
                            if k not in ("person", "leader", "previous")
                        ),
                    )
                }
                for a in audit
            ]
            or None,
        }
        return self._r.render("admin", data, lang)
