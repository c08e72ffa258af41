"""Cards for focal points and the Ethics Office: progress, sheets list, certification,
cascade, the Organization report, administration (Appendix C and F by entity: ethics_views)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.teams.replies import Notice, Replies, plain
from cards import charts
from cards.catalog import Catalogs
from cards.charts import Point
from cards.content import Scenario
from cards.renderer import Card, CardRenderer
from dialogs.rollup import CascadeLine, EntityProgress, OrgLine, Totals, UnitLine
from dialogs.signin import Sheet, units_led_by_others
from storage.records import (
    AuditEntry,
    Certification,
    CycleConfig,
    EntityRecord,
    ExpectedLine,
    Extension,
    FocalPoint,
    HeadOfEntity,
    SessionRecord,
)

# A card must stay under Teams' message size: long lists are cut and the export is complete.
MAX_UNITS = 40
MAX_SESSIONS = 40
MAX_ENTITIES = 60


class RollupViews:
    """Builds the focal point's and the Ethics Office's cards in a language."""

    def __init__(self, renderer: CardRenderer, replies: Replies) -> None:
        self._renderer = renderer
        self._replies = replies

    @property
    def _catalogs(self) -> Catalogs:
        return self._renderer.catalogs

    def _text(self, lang: str, key: str, **fields: Any) -> str:
        return self._renderer.text(lang, key, **fields)

    def progress(
        self,
        progress: EntityProgress,
        lang: str,
        *,
        csv_url: str,
        xlsx_url: str,
        ttl_minutes: int,
        notice: Notice | None = None,
    ) -> Card:
        """The entity's progress at a glance: totals, coverage bar, deadline, units, status."""
        totals = progress.totals
        certification, color = self._certification(progress, lang)
        units = [
            {
                "number": f"{n}.",
                "unit": plain(u.unit),
                # A unit that only joined a joint session: its participants are on another row.
                "participants": self._catalogs.number(lang, u.participants) if u.sessions else "—",
                "personnel": self._catalogs.number(lang, u.personnel),
                **self._unit_notes(u, lang),
            }
            for n, u in enumerate(progress.units[:MAX_UNITS], start=1)
        ]
        more = len(progress.units) - MAX_UNITS
        agencies = ", ".join(
            f"{plain(name)} {count}" for name, count in sorted(progress.agencies.items())
        )
        data = {
            "entity": progress.entity.code,
            "title": self._text(
                lang,
                "progress.title",
                cycle=str(progress.cycle.year),
                entity=plain(progress.entity.name),
            ),
            "deadline": self._deadline(progress, lang),
            "deadline_color": (
                "Attention"
                if progress.days_left < 7 and progress.certification is None
                else "Default"
            ),
            "notice": self._replies.banner(lang, notice),
            "sessions": self._catalogs.number(lang, totals.sessions),
            "participants": self._catalogs.number(lang, totals.participants),
            "personnel": self._catalogs.number(lang, totals.personnel),
            "coverage_chart": self._coverage_gauge(progress, lang),
            "weeks_chart": self._weeks_chart(progress, lang),
            "entity_coverage": self.entity_coverage(progress, lang),
            "entity_personnel": progress.entity_personnel,
            "open_text": self._text(lang, "progress.open", count=progress.open_sessions)
            if progress.open_sessions
            else "",
            "certification": certification,
            "certification_color": color,
            "no_units": not units,
            "units": units or None,
            "more_units": self._text(lang, "progress.more_units", count=more) if more > 0 else "",
            "agencies": self._text(lang, "progress.agencies", list=agencies) if agencies else "",
            "non_staff": self._text(lang, "progress.non_staff", count=progress.non_staff)
            if progress.non_staff
            else "",
            "export_help": self._text(lang, "progress.export_help", minutes=ttl_minutes),
            "csv_url": csv_url,
            "xlsx_url": xlsx_url,
        }
        return self._renderer.render("progress", data, lang)

    def _unit_notes(self, unit: UnitLine, lang: str) -> dict[str, str]:
        """A unit row's joint-session note and its split-sessions warning, if any."""
        notes = {"note": "", "warning": ""}
        if unit.joint_with:
            key = "progress.joint_with" if unit.sessions else "progress.joint_guest"
            notes["note"] = self._text(
                lang, key, units=", ".join(plain(name) for name in unit.joint_with)
            )
        if unit.several_leaders:
            # FAQ: "the manager should lead all the split sessions" (a check, not a refusal).
            notes["warning"] = self._text(
                lang,
                "progress.split_leaders",
                leaders=", ".join(plain(name) for name in unit.leaders),
            )
        return notes

    def _deadline(self, progress: EntityProgress, lang: str) -> str:
        """The deadline with the days left (or past), and whether an extension moved it."""
        days = progress.days_left
        deadline_date = self._catalogs.date(lang, progress.deadline)
        deadline = (
            self._text(lang, "progress.deadline", date=deadline_date, days=days)
            if days >= 0
            else self._text(lang, "progress.deadline_past", date=deadline_date, days=-days)
        )
        if progress.entity.extension_until:
            deadline = f"{deadline} {self._text(lang, 'progress.extension')}"
        return deadline

    def _coverage(self, progress: EntityProgress, lang: str) -> dict[str, Any] | None:
        """The share of personnel who took part, as a bar (None without personnel figures)."""
        if progress.totals.coverage is None:
            return None
        percent = min(100, round(progress.totals.coverage * 100))
        return {
            "text": self._text(lang, "progress.coverage", percent=percent),
            "filled": percent or None,
            "empty": (100 - percent) or None,
        }

    def _coverage_gauge(self, progress: EntityProgress, lang: str) -> dict[str, Any] | None:
        """The coverage as a gauge; its text and bar where charts are not drawn."""
        coverage = self._coverage(progress, lang)
        if coverage is None:
            return None
        totals = progress.totals
        return charts.gauge(
            min(100, round((totals.coverage or 0) * 100)),
            title=self._text(lang, "progress.coverage_title"),
            sub_label=self._text(
                lang,
                "progress.coverage_sub",
                participants=self._catalogs.number(lang, totals.participants),
                personnel=self._catalogs.number(lang, totals.personnel),
            ),
            filled=self._text(lang, "progress.coverage_took_part"),
            rest=self._text(lang, "progress.coverage_rest"),
            fallback_text=coverage["text"],
        )

    def _weeks_chart(self, progress: EntityProgress, lang: str) -> dict[str, Any] | None:
        """Held sessions per ISO week as vertical bars (None before the first session)."""
        if not progress.weeks:
            return None
        points = [
            Point(
                label=self._text(lang, "progress.week", week=w.week),
                value=w.sessions,
                text=self._text(
                    lang,
                    "progress.week_line",
                    week=w.week,
                    date=self._catalogs.date(lang, w.monday),
                ),
            )
            for w in progress.weeks
        ]
        return charts.vertical_bar(
            points,
            title=self._text(lang, "progress.weeks_title", count=len(points)),
            x_title=self._text(lang, "progress.weeks_x"),
            y_title=self._text(lang, "progress.weeks_y"),
            show_title=True,
        )

    def entity_coverage(self, progress: EntityProgress, lang: str) -> str:
        """Participation of the entity's whole personnel, labelled as such, or why it is not
        shown (its total is not recorded)."""
        coverage = progress.entity_coverage
        if coverage is None or progress.entity_personnel is None:
            return self._text(lang, "progress.coverage_entity_missing")
        return self._text(
            lang,
            "progress.coverage_entity",
            percent=min(100, round(coverage * 100)),
            participants=self._catalogs.number(lang, progress.totals.participants),
            personnel=self._catalogs.number(lang, progress.entity_personnel),
        )

    def _certification(self, progress: EntityProgress, lang: str) -> tuple[str, str]:
        """The certification's status line and its colour: not yet, awaiting the Head of
        Entity, changed since, or done (by the Head of Entity, or by the focal point alone)."""
        cert = progress.certification
        if cert is None:
            text = self._text(lang, "progress.not_certified")
            if progress.head is None:
                text = f"{text} {self._text(lang, 'progress.no_head')}"
            return text, "Warning"
        if progress.changed_since_certification:
            return self.changed_since(cert, progress, lang), "Attention"
        return self.certification_status(cert, lang), "Warning" if cert.awaiting_head else "Good"

    def changed_since(self, cert: Certification, progress: EntityProgress, lang: str) -> str:
        """The figures certified, and today's: certify (or submit) again."""
        return self._text(
            lang,
            "progress.changed_awaiting" if cert.awaiting_head else "progress.changed",
            certified=cert.participants,
            sessions=cert.sessions,
            now_participants=progress.totals.participants,
            now_sessions=progress.totals.sessions,
        )

    def organization_summary(self, lines: Sequence[OrgLine], lang: str) -> str:
        """The report's first line: sessions, participants, certified of all entities."""
        return self._text(
            lang,
            "report.summary",
            sessions=sum(x.totals.sessions for x in lines),
            participants=sum(x.totals.participants for x in lines),
            certified=sum(1 for x in lines if x.certification and x.certification.complete),
            entities=len(lines),
        )

    def certification_status(self, cert: Certification, lang: str) -> str:
        """Who prepared and who confirmed a snapshot, with the dates; a snapshot without a Head
        of Entity (stored before Heads confirmed, or with none named) is the focal point's."""
        prepared = self._catalogs.date(lang, cert.certified_at.date())
        if cert.awaiting_head:
            return self._text(
                lang,
                "progress.awaiting_head",
                date=prepared,
                focal=plain(cert.certified_by_name),
                head=plain(cert.head_name),
            )
        if cert.confirmed_at is not None:
            return self._text(
                lang,
                "progress.certified_head",
                focal=plain(cert.certified_by_name),
                prepared=prepared,
                head=plain(cert.head_name),
                confirmed=self._catalogs.date(lang, cert.confirmed_at.date()),
            )
        return self._text(
            lang, "progress.certified", date=prepared, name=plain(cert.certified_by_name)
        )

    def sessions(self, entity: EntityRecord, sessions: list[SessionRecord], lang: str) -> Card:
        """The entity's sessions, each with its sign-in sheet (the focal point sees names)."""
        ordered = sorted(sessions, key=lambda s: (s.session_date, s.unit), reverse=True)
        rows = []
        for session in ordered[:MAX_SESSIONS]:
            line = self._text(
                lang,
                "sessions.line",
                date=self._catalogs.date(lang, session.session_date),
                # A joint session lists every unit holding it, the first one first.
                unit=" + ".join(plain(u.unit) for u in session.all_units),
                leader=plain(session.leader.name),
                count=session.participants,
            )
            if not session.held:
                line = f"{line} {self._text(lang, 'sessions.state_open')}"
            split = units_led_by_others(session, sessions)
            if split:
                units = ", ".join(plain(u) for u in split)
                line = f"{line} {self._text(lang, 'sessions.split_leaders', units=units)}"
            rows.append(
                {
                    "line": line,
                    "color": "Warning" if split else "Default",
                    "sid": session.session_id,
                    "entity": session.entity,
                    "cycle": session.cycle,
                }
            )
        more = len(ordered) - MAX_SESSIONS
        data = {
            "entity": entity.code,
            "title": self._text(lang, "sessions.title", entity=plain(entity.name)),
            "empty": not rows,
            "sessions": rows,
            "more": self._text(lang, "progress.more_units", count=more) if more > 0 else "",
        }
        return self._renderer.render("sessions_list", data, lang)

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
        extra = self._renderer.render("sheet_corrections", data, lang)
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
            "title": self._text(lang, "history.title", entity=plain(entity.name)),
            "empty": not entries,
            "entries": [{"text": self._audit_line(lang, a)} for a in entries] or None,
        }
        return self._renderer.render("focal_history", data, lang)

    def _audit_line(self, lang: str, entry: AuditEntry) -> str:
        # `person` holds ids (and sheet row keys), which say nothing to a reader.
        details = ", ".join(f"{k}={v}" for k, v in entry.details.items() if k != "person")
        return self._text(
            lang,
            "admin.audit_line",
            date=self._catalogs.date(lang, entry.at.date()),
            action=entry.action,
            details=plain(details),
        )

    def certify(
        self,
        entity: EntityRecord,
        cycle: CycleConfig,
        totals: Totals,
        lang: str,
        head: HeadOfEntity | None = None,
    ) -> Card:
        """The confirmation card with the totals to be certified (or submitted to the Head)."""
        intro = (
            self._text(lang, "certify.intro_head", cycle=str(cycle.year), head=plain(head.name))
            if head
            else self._text(lang, "certify.intro", cycle=str(cycle.year))
        )
        data = {
            "entity": entity.code,
            "title": self._text(lang, "certify.title", entity=plain(entity.name)),
            "intro": intro,
            "confirm_title": self._text(lang, "certify.submit" if head else "certify.confirm"),
            "sessions": self._catalogs.number(lang, totals.sessions),
            "participants": self._catalogs.number(lang, totals.participants),
            "personnel": self._catalogs.number(lang, totals.personnel),
            "sessions_raw": totals.sessions,
            "participants_raw": totals.participants,
        }
        return self._renderer.render("certify", data, lang)

    def head_confirm(
        self,
        progress: EntityProgress,
        cert: Certification,
        lang: str,
        notice: Notice | None = None,
    ) -> Card:
        """The Head of Entity's card: the Appendix E summary the focal point submitted, and
        Confirm while it awaits them (counts and units only: no participant's name)."""
        units = [
            {
                "number": f"{n}.",
                "unit": plain(str(u.get("unit", ""))),
                "participants": self._catalogs.number(lang, int(u.get("participants", 0))),
                "personnel": self._catalogs.number(lang, int(u.get("personnel", 0))),
            }
            for n, u in enumerate(cert.units[:MAX_UNITS], start=1)
        ]
        more = len(cert.units) - MAX_UNITS
        snapshot = Totals(cert.sessions, cert.participants, cert.personnel)
        # The figures the Head certifies are the snapshot's, not today's.
        shown = replace(progress, totals=snapshot)
        coverage = self._coverage(shown, lang)
        if cert.confirmed_at is not None and notice is None:
            notice = Notice(
                "headconfirm.done",
                {
                    "date": self._catalogs.date(lang, cert.confirmed_at.date()),
                    "entity": plain(progress.entity.name),
                },
                "good",
            )
        data = {
            "entity": progress.entity.code,
            "title": self._text(lang, "headconfirm.title", entity=plain(progress.entity.name)),
            "notice": self._replies.banner(lang, notice),
            "intro": self._text(lang, "headconfirm.intro", cycle=str(progress.cycle.year)),
            "prepared": self._text(
                lang,
                "headconfirm.prepared",
                focal=plain(cert.certified_by_name),
                date=self._catalogs.date(lang, cert.certified_at.date()),
            ),
            "sessions": self._catalogs.number(lang, cert.sessions),
            "participants": self._catalogs.number(lang, cert.participants),
            "personnel": self._catalogs.number(lang, cert.personnel),
            "coverage": coverage["text"] if coverage else "",
            "entity_coverage": self.entity_coverage(shown, lang),
            "units": units or None,
            "more_units": self._text(lang, "progress.more_units", count=more) if more > 0 else "",
            "confirm": cert.awaiting_head,
            "submitted": cert.certified_at.isoformat(),
        }
        return self._renderer.render("head_confirm", data, lang)

    def cascade(
        self,
        entity: EntityRecord,
        leaders: list[CascadeLine],
        missing: list[ExpectedLine],
        has_expected: bool,
        lang: str,
        notice: Notice | None = None,
    ) -> Card:
        """Who led after attending, and which expected units have not held a session."""
        data = {
            "entity": entity.code,
            "title": self._text(lang, "cascade.title", entity=plain(entity.name)),
            "notice": self._replies.banner(lang, notice),
            "leaders": [
                {
                    "text": self._text(
                        lang,
                        "cascade.attended" if line.attended else "cascade.not_attended",
                        leader=plain(line.leader),
                        unit=plain(line.unit),
                    ),
                    "color": "Good" if line.attended else "Warning",
                }
                for line in leaders[:MAX_SESSIONS]
            ],
            "missing_heading": self._text(lang, "cascade.missing_heading", count=len(missing))
            if missing
            else "",
            "missing": [
                {
                    "text": self._text(
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
        return self._renderer.render("cascade", data, lang)

    def organization(
        self,
        cycle: CycleConfig,
        lines: list[OrgLine],
        extensions: list[Extension],
        lang: str,
        *,
        csv_url: str,
        xlsx_url: str,
        notice: Notice | None = None,
    ) -> Card:
        """Every entity's counts and status: never a participant's name."""
        rows = []
        for line in lines[:MAX_ENTITIES]:
            if line.certification:
                status, color = self._org_certification(line.certification, lang)
            elif line.extension_requested:
                status = self._text(
                    lang,
                    "report.extension_requested",
                    date=self._catalogs.date(lang, line.deadline),
                )
                color = "Warning"
            else:
                status = self._text(
                    lang, "report.pending", date=self._catalogs.date(lang, line.deadline)
                )
                color = "Default"
            if line.past_february:
                status, color = self._past_february(line, status, lang), "Attention"
            coverage = line.totals.coverage
            rows.append(
                {
                    "code": line.entity.code,
                    # Two figures a column: six narrow columns broke "Sessions" mid-word.
                    "held": self._text(
                        lang,
                        "report.held",
                        sessions=self._catalogs.number(lang, line.totals.sessions),
                        participants=self._catalogs.number(lang, line.totals.participants),
                    ),
                    "coverages": self._text(
                        lang,
                        "report.coverages",
                        units=f"{round(coverage * 100)}%" if coverage is not None else "–",
                        entity=_percent(line.entity_coverage),
                    ),
                    "status": status,
                    "status_color": color,
                }
            )
        more = len(lines) - MAX_ENTITIES
        open_requests = [x for x in extensions if x.status == "requested"]
        data = {
            "title": self._text(lang, "report.title", cycle=str(cycle.year)),
            "summary": self.organization_summary(lines, lang),
            "past_february": self._past_february_summary(lines, lang),
            "notice": self._replies.banner(lang, notice),
            "rows": rows,
            "more": self._text(lang, "progress.more_units", count=more) if more > 0 else "",
            "extensions": [
                {
                    "key": x.key,
                    "input_id": f"until_{n}",
                    "suggested": cycle.deadline.replace(
                        month=2, day=15, year=cycle.year + 1
                    ).isoformat(),
                    "text": self._text(
                        lang,
                        "report.extension_line",
                        entity=x.entity,
                        reason=plain(x.reason),
                        date=self._catalogs.date(lang, x.requested_at.date()),
                    ),
                }
                for n, x in enumerate(open_requests[:10])
            ]
            or None,
            "csv_url": csv_url,
            "xlsx_url": xlsx_url,
        }
        return self._renderer.render("org_report", data, lang)

    # The report's certification and extension marks ----------------------------------------

    def _org_certification(self, cert: Certification, lang: str) -> tuple[str, str]:
        """An entity's certification in the report: by its Head, by its focal point, awaiting."""
        if cert.awaiting_head:
            on = self._catalogs.date(lang, cert.certified_at.date())
            return self._text(lang, "report.awaiting_head", date=on), "Warning"
        if cert.confirmed_at is not None:
            on = self._catalogs.date(lang, cert.confirmed_at.date())
            return self._text(lang, "report.certified_head", date=on), "Good"
        on = self._catalogs.date(lang, cert.certified_at.date())
        return self._text(lang, "report.certified_focal", date=on), "Good"

    def _past_february(self, line: OrgLine, status: str, lang: str) -> str:
        """The status with the FAQ's consequence of an extension beyond February."""
        until = line.entity.extension_until or line.deadline
        mark = self._text(lang, "report.past_february", date=self._catalogs.date(lang, until))
        return f"{status}; {mark}"

    def _past_february_summary(self, lines: list[OrgLine], lang: str) -> str:
        """How many entities the Secretary-General's report will not count as completed."""
        count = sum(1 for x in lines if x.past_february)
        return self._text(lang, "report.past_february_summary", count=count) if count else ""

    def admin(
        self,
        cycle: CycleConfig,
        entities: list[EntityRecord],
        focal: dict[str, list[FocalPoint]],
        audit: list[AuditEntry],
        packs: list[str],
        lang: str,
        notice: Notice | None = None,
        *,
        videos: Sequence[tuple[Scenario, str]] = (),
        heads: dict[str, HeadOfEntity] | None = None,
        personnel: dict[str, int] | None = None,
    ) -> Card:
        """The cycle, entities with their focal points, Heads and personnel, the newest audit
        entries; the links of the cycle's video scenarios."""
        heads = heads or {}
        personnel = personnel or {}
        data = {
            "videos": [
                {
                    "id": f"video_{scenario.id}",
                    "label": self._text(
                        lang,
                        "admin.video_label",
                        number=scenario.number,
                        title=plain(scenario.title.value),
                    ),
                    "value": url,
                    "state": self._text(
                        lang,
                        "admin.video_set" if url else "admin.video_unset",
                        number=scenario.number,
                    ),
                }
                for scenario, url in videos
            ]
            or None,
            "cycle_text": self._text(
                lang,
                "admin.cycle",
                year=str(cycle.year),
                pack=cycle.pack,
                deadline=self._catalogs.date(lang, cycle.deadline),
            ),
            "notice": self._replies.banner(lang, notice),
            "year": cycle.year,
            "pack": cycle.pack,
            "deadline": cycle.deadline.isoformat(),
            "packs": [{"id": p} for p in packs],
            "entities": [
                {
                    "text": " · ".join(
                        [
                            self._text(
                                lang,
                                "admin.entity_line",
                                code=e.code,
                                name=plain(e.name),
                                focal=", ".join(plain(f.name) for f in focal.get(e.code, []))
                                or self._text(lang, "admin.no_focal"),
                            ),
                            *self._head_and_personnel(e.code, heads, personnel, lang),
                        ]
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
                    "text": self._text(
                        lang,
                        "admin.audit_line",
                        date=self._catalogs.date(lang, a.at.date()),
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
        return self._renderer.render("admin", data, lang)

    def _head_and_personnel(
        self, code: str, heads: dict[str, HeadOfEntity], personnel: dict[str, int], lang: str
    ) -> list[str]:
        """The admin card's facts of an entity beyond its focal points."""
        head = heads.get(code)
        parts = [
            self._text(lang, "admin.head_line", name=plain(head.name))
            if head
            else self._text(lang, "admin.no_head")
        ]
        if code in personnel:
            count = self._catalogs.number(lang, personnel[code])
            parts.append(self._text(lang, "admin.personnel_line", count=count))
        return parts


def _percent(fraction: float | None) -> str:
    """A share as a whole percentage, or a dash without one."""
    return f"{round(fraction * 100)}%" if fraction is not None else "–"
