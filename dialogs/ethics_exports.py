"""The Ethics Office's Appendix C and F exports as CSV and XLSX bytes, in the forms' layout.

Laid out with the renderers of dialogs/exports.py (the same formula guards, dates and
deterministic workbooks), so the Ethics Office's files behave like Appendix E.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date

from dialogs.ethics_reads import AppendixCReport, AppendixFReport
from dialogs.exports import (
    _BLANK,
    _BODY,
    _HEADER,
    _HEADING,
    _TITLE,
    _Ordinal,
    _render_csv,
    _render_xlsx,
    _Sheet,
    _stamp,
    _Value,
)
from dialogs.names import NAME_MASK


@dataclass(frozen=True)
class EthicsLabels:
    """The user-visible strings of these exports, from the reader's language catalog."""

    c_title: str  # format field {cycle}
    c_sheet: str  # format field {cycle}; cut to 31 characters
    number: str
    code: str
    withheld: str
    name: str  # what a masked participant's name reads as: "[name]"
    f_title: str  # format field {cycle}
    f_sheet: str  # format field {cycle}
    entity: str
    sessions: str
    answers: str
    average: str  # format fields {number} and {label}
    rating: str  # format fields {label} and {value}
    too_few: str  # format field {minimum}

    @classmethod
    def from_lookup(
        cls, lookup: Callable[[str], str], prefix: str = "ethicsexport."
    ) -> EthicsLabels:
        """Labels whose field X is lookup(prefix + X), e.g. a catalog's raw lookup."""
        return cls(**{field.name: lookup(prefix + field.name) for field in fields(cls)})


def appendix_c_csv(report: AppendixCReport, labels: EthicsLabels) -> bytes:
    """Appendix C, one row per session, as UTF-8 CSV with a BOM."""
    return _render_csv(_appendix_c(report, labels))


def appendix_c_xlsx(report: AppendixCReport, labels: EthicsLabels) -> bytes:
    """Appendix C, one row per session, as an XLSX workbook with real numbers and dates."""
    return _render_xlsx(_appendix_c(report, labels))


def appendix_f_csv(report: AppendixFReport, labels: EthicsLabels) -> bytes:
    """Appendix F by entity as UTF-8 CSV with a BOM."""
    return _render_csv(_appendix_f(report, labels))


def appendix_f_xlsx(report: AppendixFReport, labels: EthicsLabels) -> bytes:
    """Appendix F by entity as an XLSX workbook."""
    return _render_xlsx(_appendix_f(report, labels))


def _masked(text: str, labels: EthicsLabels) -> str:
    return text.replace(NAME_MASK, labels.name)


def _appendix_c(report: AppendixCReport, labels: EthicsLabels) -> _Sheet:
    """The form's items as columns in its order (numbered as on the form), a session a row."""
    header: list[_Value] = [labels.number, labels.code]
    header += [f"{n}. {item.text.value}" for n, item in enumerate(report.form, 1)]
    rows: list[tuple[int, tuple[_Value, ...]]] = [
        (_TITLE, (labels.c_title.format(cycle=report.cycle.year),)),
        (_HEADER, tuple(header)),
    ]
    withheld = {n for n, item in enumerate(report.form) if item.prefill == "leader"}
    dates: list[date] = []
    number = 0
    for entity in sorted(report.entities, key=lambda e: e.entity.code):
        for row in entity.rows:
            number += 1
            dates.append(row.session_date)
            cells: list[_Value] = [_Ordinal(number), entity.entity.code]
            for n, value in enumerate(row.values):
                if n in withheld:
                    cells.append(labels.withheld)
                elif isinstance(value, str):
                    cells.append(_masked(value, labels))
                else:
                    cells.append(value)
            rows.append((_BODY, tuple(cells)))
    name = labels.c_sheet.format(cycle=report.cycle.year)
    return _Sheet(name, len(header), rows, _stamp(dates, report.cycle.deadline))


def _appendix_f(report: AppendixFReport, labels: EthicsLabels) -> _Sheet:
    """A line per entity: sessions, answers, then each rating item's average and counts 1-5;
    below it the suggestions, one a row. An entity under the minimum shows only that."""
    form = next((e.ratings for e in report.entities if e.shown), ())
    header: list[_Value] = [labels.code, labels.entity, labels.sessions, labels.answers]
    for figures in form:
        header.append(labels.average.format(number=figures.number, label=figures.item.text.value))
        header += [labels.rating.format(label=figures.number, value=v) for v in range(1, 6)]
    rows: list[tuple[int, tuple[_Value, ...]]] = [
        (_TITLE, (labels.f_title.format(cycle=report.cycle.year),)),
        (_HEADER, tuple(header)),
    ]
    ordered = sorted(report.entities, key=lambda e: e.entity.code)
    for entity in ordered:
        if not entity.shown:
            too_few = labels.too_few.format(minimum=report.minimum)
            rows.append((_BODY, (entity.entity.code, entity.entity.name, too_few)))
            continue
        cells: list[_Value] = [entity.entity.code, entity.entity.name]
        cells += [entity.sessions, entity.answers]
        for figures in entity.ratings:
            average = figures.average
            cells.append(None if average is None else f"{average:.2f}")
            cells += list(figures.ratings)
        rows.append((_BODY, tuple(cells)))
    for entity in ordered:
        for figures in entity.suggestions:
            if not figures.texts:
                continue
            rows.append((_BLANK, ()))
            rows.append((_HEADING, (entity.entity.code, entity.entity.name)))
            rows.append((_HEADER, (labels.code, f"{figures.number}. {figures.item.text.value}")))
            rows.extend(
                (_BODY, (entity.entity.code, _masked(text, labels))) for text in figures.texts
            )
    name = labels.f_sheet.format(cycle=report.cycle.year)
    return _Sheet(name, max(len(header), 3), rows, _stamp([], report.cycle.deadline))
