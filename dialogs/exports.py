"""Appendix E and organization roll-up exports as CSV and XLSX bytes, built from plain data."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import NamedTuple

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

# A spreadsheet treats text starting with one of these as a formula (OWASP / ASVS 1.2.10), so
# people-typed text that starts with one is neutralised rather than trusted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
# Excel rejects these characters inside a sheet name.
_SHEET_TITLE_FORBIDDEN = frozenset("[]:*?/\\")
_SHEET_TITLE_MAX = 31
_DATE_FORMAT = "yyyy-mm-dd"
_PERCENT_FORMAT = "0.0%"
# Shows 1 as "1." like the guide's form, while the cell stays a sortable number.
_ORDINAL_FORMAT = '0"."'
# Beyond this a column wraps instead of widening; headers wrap earlier so numbers stay narrow.
_MAX_WIDTH = 60
_HEADER_WIDTH = 16
_CREATOR = "Dialogue Bot"
_ZIP_EPOCH = date(1980, 1, 1)

# Row roles: they decide the styling in XLSX; CSV ignores them.
_TITLE, _HEADER, _BODY, _TOTAL, _HEADING, _BLANK = range(6)


@dataclass(frozen=True)
class UnitRow:
    """One unit, section or team that held sessions.

    `participants` is None for a unit that only joined another unit's joint session: those
    participants are on the first unit's row, so the TOTAL counts each person once.
    """

    unit: str
    participants: int | None
    personnel: int
    session_date: date
    leader: str
    joint_with: str = ""


@dataclass(frozen=True)
class EntityReport:
    """Everything one entity's Appendix E needs."""

    cycle: int
    entity_code: str
    entity_name: str
    rows: list[UnitRow]
    agencies: dict[str, int]
    non_staff: int
    certified_on: date | None
    deadline: date
    # The entity's whole personnel (None: not recorded) and who certified: "head" (confirmed
    # by the Head of Entity), "focal" (the focal point alone), "awaiting" (submitted to the
    # Head, not yet confirmed) or "" (not certified).
    entity_personnel: int | None = None
    certified_by: str = ""
    confirmed_on: date | None = None


@dataclass(frozen=True)
class OrgRow:
    """One entity's line in the organization-wide roll-up."""

    entity_code: str
    entity_name: str
    sessions: int
    participants: int
    personnel: int
    coverage: float | None
    certified_on: date | None
    deadline: date
    extension_until: date | None
    entity_personnel: int | None = None
    certified_by: str = ""  # as EntityReport.certified_by
    past_february: bool = False


@dataclass(frozen=True)
class Labels:
    """Every user-visible string of the exports, taken from the caller's language catalog."""

    title: str  # format fields {cycle} and {entity} (the entity's name)
    sheet: str  # format fields {cycle} and {entity} (the entity's code); cut to 31 characters
    number: str
    unit: str
    participants: str
    personnel: str
    session_date: str
    leader: str
    joint_with: str
    total: str
    other_agencies: str
    agency: str
    agency_participants: str
    non_staff: str
    certified_on: str
    deadline: str
    org_title: str  # format field {cycle}
    org_sheet: str  # format field {cycle}; cut to 31 characters
    code: str
    entity: str
    sessions: str
    org_participants: str
    org_personnel: str
    coverage: str
    extension_until: str
    # The entity's whole personnel, who certified, and extensions past February.
    entity_personnel: str
    entity_coverage: str
    not_recorded: str
    certification: str
    by_head: str
    by_focal: str
    awaiting_head: str
    confirmed_on: str
    past_february: str
    past_february_note: str

    @classmethod
    def english(cls) -> Labels:
        """English labels following the Leader's Guide form; the bot's catalogs supply others."""
        return cls(
            title="LEADERSHIP DIALOGUE {cycle} ({entity})",
            sheet="Appendix E {cycle} {entity}",
            number="NO.",
            unit="NAME OF UNIT/SECTION/TEAM WHICH HELD SESSION",
            participants="TOTAL NUMBER OF DIALOGUE PARTICIPANTS",
            personnel="TOTAL PERSONNEL IN UNIT/SECTION",
            session_date="DATE OF SESSION",
            leader="DISCUSSION LEADER",
            joint_with="JOINT SESSION WITH (PARTICIPANTS ON THE FIRST UNIT'S ROW)",
            total="TOTAL",
            other_agencies="Participants from other agencies",
            agency="Agency",
            agency_participants="Participants",
            non_staff="Non-staff participants",
            certified_on="Certified on",
            deadline="Deadline",
            org_title="LEADERSHIP DIALOGUE {cycle}: ALL ENTITIES",
            org_sheet="Leadership Dialogue {cycle}",
            code="Code",
            entity="Entity",
            sessions="Sessions",
            org_participants="Participants",
            org_personnel="Personnel",
            coverage="Coverage",
            extension_until="Extension until",
            entity_personnel="Total personnel of the entity",
            entity_coverage="Participants of the entity's whole personnel",
            not_recorded="not recorded",
            certification="Certification",
            by_head="Confirmed by the Head of Entity",
            by_focal="Certified by the focal point",
            awaiting_head="Awaiting the Head of Entity's confirmation",
            confirmed_on="Confirmed by the Head of Entity on",
            past_february="Extension beyond February",
            past_february_note="Yes: “will not be included among those offices that have "
            "completed the Dialogue in that report” (FAQ)",
        )

    @classmethod
    def from_lookup(cls, lookup: Callable[[str], str], prefix: str = "export.") -> Labels:
        """Labels whose field X is lookup(prefix + X), e.g. a catalog's translate function."""
        return cls(**{field.name: lookup(prefix + field.name) for field in fields(cls)})


class _Ordinal(NamedTuple):
    """A row number shown as "1." but stored as a number."""

    number: int


class _Percent(NamedTuple):
    """A fraction shown as a percentage."""

    fraction: float


_Value = str | int | date | _Ordinal | _Percent | None


class _Sheet(NamedTuple):
    """Format-neutral layout both renderers share, so CSV and XLSX cannot drift apart."""

    name: str
    width: int
    rows: list[tuple[int, tuple[_Value, ...]]]
    stamp: datetime


def appendix_e_csv(report: EntityReport, labels: Labels) -> bytes:
    """Appendix E as UTF-8 CSV with a BOM, formula-looking text neutralised."""
    return _render_csv(_appendix_e(report, labels))


def appendix_e_xlsx(report: EntityReport, labels: Labels) -> bytes:
    """Appendix E as an XLSX workbook with real numbers and dates."""
    return _render_xlsx(_appendix_e(report, labels))


def organization_csv(cycle: int, rows: list[OrgRow], labels: Labels) -> bytes:
    """The organization roll-up as UTF-8 CSV with a BOM, formula-looking text neutralised."""
    return _render_csv(_organization(cycle, rows, labels))


def organization_xlsx(cycle: int, rows: list[OrgRow], labels: Labels) -> bytes:
    """The organization roll-up as an XLSX workbook with real numbers, dates and percentages."""
    return _render_xlsx(_organization(cycle, rows, labels))


def _appendix_e(report: EntityReport, labels: Labels) -> _Sheet:
    """Lay out the guide's form, then the other-agencies table and the certification facts."""
    units = sorted(report.rows, key=lambda r: (r.session_date, r.unit.casefold(), r.unit, r.leader))
    # The guide's form has no column for joint sessions ("add rows if needed"): one is added
    # only when the entity held one, so the usual export stays exactly the form's layout.
    joint = any(u.joint_with for u in units)
    header: tuple[_Value, ...] = (
        labels.number,
        labels.unit,
        labels.participants,
        labels.personnel,
        labels.session_date,
        labels.leader,
    )
    rows: list[tuple[int, tuple[_Value, ...]]] = [
        (_TITLE, (labels.title.format(cycle=report.cycle, entity=report.entity_name),)),
        (_HEADER, (*header, labels.joint_with) if joint else header),
    ]
    for n, u in enumerate(units, 1):
        line: tuple[_Value, ...] = (
            _Ordinal(n),
            u.unit,
            u.participants,
            u.personnel,
            u.session_date,
            u.leader,
        )
        rows.append((_BODY, (*line, u.joint_with or None) if joint else line))
    rows.append(
        (
            _TOTAL,
            (
                labels.total,
                None,
                sum(u.participants or 0 for u in units),
                sum(u.personnel for u in units),
            ),
        )
    )
    # The second table sits under the unit and participants columns it resembles.
    agencies = sorted(report.agencies.items(), key=lambda item: (item[0].casefold(), item[0]))
    rows.append((_BLANK, ()))
    rows.append((_HEADING, (None, labels.other_agencies)))
    rows.append((_HEADER, (None, labels.agency, labels.agency_participants)))
    rows.extend((_BODY, (None, name, count)) for name, count in agencies)
    rows.append((_TOTAL, (None, labels.total, sum(count for _, count in agencies))))
    rows.append((_BLANK, ()))
    rows.append((_BODY, (None, labels.non_staff, report.non_staff)))
    rows.append((_BODY, (None, labels.certified_on, report.certified_on)))
    rows.append((_BODY, (None, labels.deadline, report.deadline)))
    rows.extend(_whole_entity_facts(report, labels))
    facts = [u.session_date for u in units]
    if report.certified_on is not None:
        facts.append(report.certified_on)
    if report.confirmed_on is not None:
        facts.append(report.confirmed_on)
    name = labels.sheet.format(cycle=report.cycle, entity=report.entity_code)
    return _Sheet(name, 7 if joint else 6, rows, _stamp(facts, report.deadline))


def _whole_entity_facts(
    report: EntityReport, labels: Labels
) -> list[tuple[int, tuple[_Value, ...]]]:
    """Below the form: the entity's whole personnel and participation, and who certified."""
    personnel: _Value = report.entity_personnel
    coverage: _Value = labels.not_recorded
    if report.entity_personnel:
        total = sum(u.participants or 0 for u in report.rows)
        coverage = _Percent(total / report.entity_personnel)
    else:
        personnel = labels.not_recorded
    return [
        (_BODY, (None, labels.entity_personnel, personnel)),
        (_BODY, (None, labels.entity_coverage, coverage)),
        (_BODY, (None, labels.certification, _certified_by(report.certified_by, labels))),
        (_BODY, (None, labels.confirmed_on, report.confirmed_on)),
    ]


def _certified_by(kind: str, labels: Labels) -> str | None:
    """Who certified, in words (None when nobody has)."""
    return {"head": labels.by_head, "focal": labels.by_focal, "awaiting": labels.awaiting_head}.get(
        kind
    )


def _organization(cycle: int, entities: Sequence[OrgRow], labels: Labels) -> _Sheet:
    """Lay out one line per entity, sorted by code, and an organization-wide TOTAL line."""
    ordered = sorted(entities, key=lambda e: (e.entity_code, e.entity_name))
    rows: list[tuple[int, tuple[_Value, ...]]] = [
        (_TITLE, (labels.org_title.format(cycle=cycle),)),
        (
            _HEADER,
            (
                labels.code,
                labels.entity,
                labels.sessions,
                labels.org_participants,
                labels.org_personnel,
                labels.coverage,
                labels.certified_on,
                labels.deadline,
                labels.extension_until,
                labels.entity_personnel,
                labels.entity_coverage,
                labels.certification,
                labels.past_february,
            ),
        ),
    ]
    rows.extend(
        (
            _BODY,
            (
                e.entity_code,
                e.entity_name,
                e.sessions,
                e.participants,
                e.personnel,
                None if e.coverage is None else _Percent(e.coverage),
                e.certified_on,
                e.deadline,
                e.extension_until,
                e.entity_personnel if e.entity_personnel else labels.not_recorded,
                _Percent(e.participants / e.entity_personnel) if e.entity_personnel else None,
                _certified_by(e.certified_by, labels),
                labels.past_february_note if e.past_february else None,
            ),
        )
        for e in ordered
    )
    participants = sum(e.participants for e in ordered)
    personnel = sum(e.personnel for e in ordered)
    rows.append(
        (
            _TOTAL,
            (
                labels.total,
                None,
                sum(e.sessions for e in ordered),
                participants,
                personnel,
                _Percent(participants / personnel) if personnel else None,
            ),
        )
    )
    facts = [e.certified_on for e in ordered if e.certified_on is not None]
    fallback = max((e.deadline for e in ordered), default=date(cycle, 12, 31))
    return _Sheet(labels.org_sheet.format(cycle=cycle), 13, rows, _stamp(facts, fallback))


def _stamp(facts: Iterable[date], fallback: date) -> datetime:
    """The workbook's timestamp: the latest date the data records, so equal data, equal files."""
    # Zip entries cannot carry a time before 1980.
    return datetime.combine(max(max(facts, default=fallback), _ZIP_EPOCH), time())


def _needs_guard(text: str) -> bool:
    """Whether a spreadsheet would read this text as the start of a formula."""
    return text.startswith(_FORMULA_STARTS)


def _csv_text(value: _Value) -> str:
    """One CSV field; dates in ISO 8601 so no locale misreads day and month."""
    if value is None:
        return ""
    if isinstance(value, _Ordinal):
        return f"{value.number}."
    if isinstance(value, _Percent):
        return f"{value.fraction:.1%}"
    if isinstance(value, str):
        # OWASP: with the apostrophe in front, spreadsheets show the text instead of running it.
        return "'" + value if _needs_guard(value) else value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _render_csv(sheet: _Sheet) -> bytes:
    """Write the layout as rectangular CSV rows with CRLF line ends, as Excel expects."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for _, values in sheet.rows:
        cells = [_csv_text(v) for v in values]
        cells.extend([""] * (sheet.width - len(cells)))
        writer.writerow(cells)
    # The BOM is what makes Excel read the file as UTF-8 instead of the ANSI code page.
    return out.getvalue().encode("utf-8-sig")


def _sheet_title(name: str) -> str:
    """A sheet name Excel accepts: no forbidden characters, at most 31 characters."""
    cleaned = "".join(ch for ch in name if ch not in _SHEET_TITLE_FORBIDDEN).strip().strip("'")
    return cleaned[:_SHEET_TITLE_MAX].rstrip() or "1"


def _display_width(value: _Value) -> int:
    """Roughly how many characters the value takes on screen."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max(len(line) for line in value.splitlines() or [""])
    if isinstance(value, date | _Percent):
        return 10
    if isinstance(value, _Ordinal):
        return len(str(value.number)) + 1
    return len(str(value))


def _render_xlsx(sheet: _Sheet) -> bytes:
    """Write the layout as one worksheet; text is stored as text even when it looks like =..."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = _sheet_title(sheet.name)
    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    wrap = Alignment(wrap_text=True, vertical="top")
    widths = [0] * sheet.width
    for r, (role, values) in enumerate(sheet.rows, 1):
        font = title_font if role == _TITLE else bold if role != _BODY else None
        for c, value in enumerate(values, 1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c)
            if isinstance(value, str):
                text = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell.value = text
                # openpyxl turns any string starting with "=" into a formula; force text.
                cell.data_type = "s"
                if _needs_guard(text):
                    # Keeps it text even after someone edits the cell in Excel.
                    cell.quotePrefix = True
            elif isinstance(value, _Ordinal):
                cell.value = value.number
                cell.number_format = _ORDINAL_FORMAT
            elif isinstance(value, _Percent):
                cell.value = value.fraction
                cell.number_format = _PERCENT_FORMAT
            elif isinstance(value, date):
                cell.value = value
                cell.number_format = _DATE_FORMAT
            else:
                cell.value = value
            if font is not None:
                cell.font = font
            if role == _HEADER:
                cell.alignment = wrap
            if role == _TITLE:
                continue  # the title spans the row, so it must not widen column A
            width = _display_width(value)
            if role == _HEADER:
                width = min(width, _HEADER_WIDTH)
            widths[c - 1] = max(widths[c - 1], width)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=sheet.width)
    for c, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(c)].width = min(width + 2, _MAX_WIDTH)
    ws.freeze_panes = "A3"
    workbook.properties.creator = _CREATOR
    workbook.properties.lastModifiedBy = _CREATOR
    workbook.properties.created = sheet.stamp
    workbook.properties.modified = sheet.stamp
    return _save(workbook, sheet.stamp)


def _save(workbook: Workbook, stamp: datetime) -> bytes:
    """Serialise the workbook so the same data always gives the same bytes."""
    raw = io.BytesIO()
    # Workbook.save() would overwrite properties.modified with the current time; ExcelWriter
    # keeps ours. Stored (uncompressed) because the archive is rewritten and compressed below.
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(workbook, archive).save()
    # openpyxl stamps every zip entry with the wall clock (and sheets with a temp file's mtime
    # and mode), so the entries are copied with fixed metadata.
    out = io.BytesIO()
    with (
        zipfile.ZipFile(raw) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.create_system = 3  # otherwise it depends on the platform that built the file
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(entry))
    return out.getvalue()
