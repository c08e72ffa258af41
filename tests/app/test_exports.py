"""Appendix E and organization exports: read back with csv and openpyxl, as a focal point would."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta
from typing import Any

import openpyxl
import pytest

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

LABELS = Labels.english()
HEADERS = [
    "NO.",
    "NAME OF UNIT/SECTION/TEAM WHICH HELD SESSION",
    "TOTAL NUMBER OF DIALOGUE PARTICIPANTS",
    "TOTAL PERSONNEL IN UNIT/SECTION",
    "DATE OF SESSION",
    "DISCUSSION LEADER",
]
ORG_HEADERS = [
    "Code",
    "Entity",
    "Sessions",
    "Participants",
    "Personnel",
    "Coverage",
    "Certified on",
    "Deadline",
    "Extension until",
]
HYPERLINK = '=HYPERLINK("http://x")'


def _report(rows: list[UnitRow] | None = None, **changes: Any) -> EntityReport:
    fields: dict[str, Any] = {
        "cycle": 2023,
        "entity_code": "DESA",
        "entity_name": "Department of Economic and Social Affairs",
        "rows": [
            UnitRow("Équipe Côte d'Ivoire", 12, 15, date(2023, 11, 20), "Zoé Ndiaye"),
            UnitRow(HYPERLINK, 9, 10, date(2023, 10, 5), "Ana Pérez"),
            UnitRow("+1 Section", 20, 25, date(2023, 11, 20), "-Kim"),
            UnitRow("Budget Section", 4, 6, date(2023, 9, 1), "@Lee"),
        ]
        if rows is None
        else rows,
        "agencies": {"UNICEF": 2, "UNDP": 3, "=cmd": 1},
        "non_staff": 5,
        "certified_on": date(2023, 12, 15),
        "deadline": date(2023, 12, 31),
    }
    fields.update(changes)
    return EntityReport(**fields)


# The order the form lists them: session date, then unit name.
EXPECTED_ORDER = ["Budget Section", HYPERLINK, "+1 Section", "Équipe Côte d'Ivoire"]


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _unguard(text: str) -> str:
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text


def _sheet(data: bytes) -> Any:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert len(workbook.worksheets) == 1
    return workbook.active


def _values(ws: Any, row: int, columns: int) -> list[Any]:
    return [ws.cell(row=row, column=c).value for c in range(1, columns + 1)]


def _find(ws: Any, column: int, text: str, start: int = 1) -> int:
    for row in range(start, ws.max_row + 1):
        if ws.cell(row=row, column=column).value == text:
            return row
    raise AssertionError(f"{text!r} not in column {column}")


def test_appendix_e_csv_follows_the_form() -> None:
    report = _report()
    rows = _csv_rows(appendix_e_csv(report, LABELS))
    assert all(len(row) == 6 for row in rows), "rectangular, so every reader agrees"
    assert rows[0][0] == "LEADERSHIP DIALOGUE 2023 (Department of Economic and Social Affairs)"
    assert rows[1] == HEADERS
    body = rows[2:6]
    assert [row[0] for row in body] == ["1.", "2.", "3.", "4."]
    assert [_unguard(row[1]) for row in body] == EXPECTED_ORDER
    assert body[0] == ["1.", "Budget Section", "4", "6", "2023-09-01", "'@Lee"]
    assert body[1] == ["2.", "'" + HYPERLINK, "9", "10", "2023-10-05", "Ana Pérez"]
    assert body[2] == ["3.", "'+1 Section", "20", "25", "2023-11-20", "'-Kim"]
    assert body[3] == ["4.", "Équipe Côte d'Ivoire", "12", "15", "2023-11-20", "Zoé Ndiaye"]
    total = rows[6]
    assert total[0] == "TOTAL"
    assert int(total[2]) == sum(r.participants for r in report.rows) == 45
    assert int(total[3]) == sum(r.personnel for r in report.rows) == 56

    assert rows[7] == [""] * 6
    assert rows[8][1] == "Participants from other agencies"
    assert rows[9][1:3] == ["Agency", "Participants"]
    assert [row[1:3] for row in rows[10:13]] == [["'=cmd", "1"], ["UNDP", "3"], ["UNICEF", "2"]]
    assert rows[13][1:3] == ["TOTAL", "6"]
    assert rows[14] == [""] * 6
    assert rows[15][1:3] == ["Non-staff participants", "5"]
    assert rows[16][1:3] == ["Certified on", "2023-12-15"]
    assert rows[17][1:3] == ["Deadline", "2023-12-31"]
    # Below the form: the entity's whole personnel (not recorded here) and who certified.
    assert rows[18][1:3] == ["Total personnel of the entity", "not recorded"]
    assert rows[19][1:3] == ["Participants of the entity's whole personnel", "not recorded"]
    assert rows[20][1:3] == ["Certification", ""]
    assert rows[21][1:3] == ["Confirmed by the Head of Entity on", ""]
    assert len(rows) == 22


def test_csv_never_starts_a_cell_with_a_formula_character() -> None:
    rows = _csv_rows(appendix_e_csv(_report(), LABELS))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_start_is_guarded(text: str) -> None:
    report = _report([UnitRow(text, 1, 1, date(2023, 10, 1), "L")])
    assert _csv_rows(appendix_e_csv(report, LABELS))[2][1] == "'" + text
    cell = _sheet(appendix_e_xlsx(report, LABELS)).cell(row=3, column=2)
    assert cell.data_type == "s"
    assert cell.quotePrefix
    # XML parsers turn a stored CR into LF; the cell is still text.
    assert cell.value == text.replace("\r", "\n")


def test_characters_xml_cannot_hold_are_dropped_from_xlsx_only() -> None:
    report = _report([UnitRow("\0=x\x07", 1, 1, date(2023, 10, 1), "L")])
    assert _csv_rows(appendix_e_csv(report, LABELS))[2][1] == "'\0=x\x07"
    cell = _sheet(appendix_e_xlsx(report, LABELS)).cell(row=3, column=2)
    assert cell.value == "=x"
    assert cell.data_type == "s"
    assert cell.quotePrefix, "guarded after cleaning, so a hidden NUL cannot shield a formula"


def test_ordinary_text_is_left_alone() -> None:
    report = _report([UnitRow("Unit = fine", 1, 1, date(2023, 10, 1), "O'Brien")])
    rows = _csv_rows(appendix_e_csv(report, LABELS))
    assert rows[2][1] == "Unit = fine"
    assert rows[2][5] == "O'Brien"
    cell = _sheet(appendix_e_xlsx(report, LABELS)).cell(row=3, column=2)
    assert cell.value == "Unit = fine"
    assert not cell.quotePrefix


def test_appendix_e_xlsx_follows_the_form() -> None:
    report = _report()
    data = appendix_e_xlsx(report, LABELS)
    ws = _sheet(data)
    assert ws.title == "Appendix E 2023 DESA"
    title = ws.cell(row=1, column=1)
    assert title.value == "LEADERSHIP DIALOGUE 2023 (Department of Economic and Social Affairs)"
    assert title.font.bold
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert _values(ws, 2, 6) == HEADERS
    assert all(ws.cell(row=2, column=c).font.bold for c in range(1, 7))

    expected = sorted(report.rows, key=lambda r: (r.session_date, r.unit))
    assert [r.unit for r in expected] == EXPECTED_ORDER
    for n, unit in enumerate(expected, 1):
        row = 2 + n
        number = ws.cell(row=row, column=1)
        assert number.value == n
        assert number.number_format == '0"."', "shown as 1., 2., ... like the guide's form"
        assert ws.cell(row=row, column=2).value == unit.unit
        assert ws.cell(row=row, column=2).data_type == "s"
        assert ws.cell(row=row, column=3).value == unit.participants
        assert ws.cell(row=row, column=4).value == unit.personnel
        when = ws.cell(row=row, column=5)
        assert when.value == datetime.combine(unit.session_date, datetime.min.time())
        assert when.is_date
        assert when.number_format == "yyyy-mm-dd"
        assert ws.cell(row=row, column=6).value == unit.leader

    injected = ws.cell(row=4, column=2)
    assert injected.value == HYPERLINK
    assert injected.data_type == "s", "stored as text, not as a formula"
    assert injected.quotePrefix
    assert ws.cell(row=5, column=2).quotePrefix, "+1 Section"
    assert ws.cell(row=5, column=6).quotePrefix, "-Kim"
    assert not ws.cell(row=6, column=2).quotePrefix, "Équipe Côte d'Ivoire"

    total = _values(ws, 7, 6)
    assert total == ["TOTAL", None, 45, 56, None, None]
    assert all(ws.cell(row=7, column=c).data_type == "n" for c in (3, 4)), "numbers, not SUM()"
    assert ws.cell(row=7, column=1).font.bold

    heading = _find(ws, 2, "Participants from other agencies")
    assert heading == 9
    assert _values(ws, 10, 3) == [None, "Agency", "Participants"]
    assert [_values(ws, r, 3)[1:] for r in range(11, 14)] == [
        ["=cmd", 1],
        ["UNDP", 3],
        ["UNICEF", 2],
    ]
    assert ws.cell(row=11, column=2).data_type == "s"
    assert _values(ws, 14, 3) == [None, "TOTAL", 6]
    assert _values(ws, 16, 3) == [None, "Non-staff participants", 5]
    assert _values(ws, 17, 3) == [None, "Certified on", datetime(2023, 12, 15)]
    assert _values(ws, 18, 3) == [None, "Deadline", datetime(2023, 12, 31)]
    assert _values(ws, 19, 3) == [None, "Total personnel of the entity", "not recorded"]
    assert ws.max_row == 22

    # No formula anywhere: the values are readable without Excel computing anything.
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml


def test_xlsx_columns_fit_their_content() -> None:
    ws = _sheet(appendix_e_xlsx(_report(), LABELS))
    widths = {c: ws.column_dimensions[c].width for c in "ABCDEF"}
    assert widths["B"] >= len("Participants from other agencies")
    assert widths["E"] >= len("2023-11-20")
    assert widths["A"] < 10, "the long title must not widen the NO. column"
    assert all(width <= 60 for width in widths.values())


def test_xlsx_properties_and_reproducible_bytes() -> None:
    report = _report()
    data = appendix_e_xlsx(report, LABELS)
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.properties.creator == "Dialogue Bot"
    assert workbook.properties.created == datetime(2023, 12, 15)
    assert workbook.properties.modified == datetime(2023, 12, 15)
    assert appendix_e_xlsx(_report(), LABELS) == data
    for entry in zipfile.ZipFile(io.BytesIO(data)).infolist():
        assert entry.date_time == (2023, 12, 15, 0, 0, 0), entry.filename
    uncertified = appendix_e_xlsx(_report(certified_on=None), LABELS)
    assert openpyxl.load_workbook(io.BytesIO(uncertified)).properties.created == datetime(
        2023, 11, 20
    ), "falls back to the latest session"


def test_empty_report_has_headers_and_zero_totals() -> None:
    report = _report([], agencies={}, non_staff=0, certified_on=None)
    rows = _csv_rows(appendix_e_csv(report, LABELS))
    assert rows[1] == HEADERS
    assert rows[2] == ["TOTAL", "", "0", "0", "", ""]
    assert rows[5][1:3] == ["Agency", "Participants"]
    assert rows[6][1:3] == ["TOTAL", "0"]
    assert rows[9][1:3] == ["Certified on", ""]

    ws = _sheet(appendix_e_xlsx(report, LABELS))
    assert _values(ws, 2, 6) == HEADERS
    assert _values(ws, 3, 6) == ["TOTAL", None, 0, 0, None, None]
    assert _values(ws, 7, 3) == [None, "TOTAL", 0]
    assert _values(ws, 10, 3) == [None, "Certified on", None]
    created = openpyxl.load_workbook(io.BytesIO(appendix_e_xlsx(report, LABELS))).properties.created
    assert created == datetime(2023, 12, 31), "no session, no certification: the deadline"


def test_labels_come_from_the_caller() -> None:
    french = Labels.from_lookup(lambda key: f"«{key}»")
    assert french.total == "«export.total»"
    french = Labels.from_lookup(
        lambda key: {"export.title": "DIALOGUE {cycle} – {entity}"}.get(key, key[7:].upper())
    )
    rows = _csv_rows(appendix_e_csv(_report(), french))
    assert rows[0][0] == "DIALOGUE 2023 – Department of Economic and Social Affairs"
    assert rows[1][0] == "NUMBER"
    assert rows[6][0] == "TOTAL"
    ws = _sheet(appendix_e_xlsx(_report(), french))
    assert ws.cell(row=2, column=2).value == "UNIT"


def test_sheet_titles_are_valid_excel_names() -> None:
    labels = Labels.from_lookup(
        lambda key: {"export.sheet": "Annexe E / [{cycle}] : {entity}*?"}.get(key, key)
    )
    report = _report(entity_code="A-VERY-LONG-ENTITY-CODE-INDEED")
    title = _sheet(appendix_e_xlsx(report, labels)).title
    assert len(title) <= 31
    assert not set(title) & set("[]:*?/\\")
    assert title.startswith("Annexe E  2023  A-VERY")


def _org_rows() -> list[OrgRow]:
    return [
        OrgRow(
            "OICT",
            "Office of Information and Communications Technology",
            3,
            40,
            50,
            0.8,
            None,
            date(2023, 12, 31),
            date(2024, 1, 31),
        ),
        OrgRow(
            "DESA", "=Department", 5, 45, 56, 45 / 56, date(2023, 12, 15), date(2023, 12, 31), None
        ),
        OrgRow(
            "DPO",
            "Département des opérations de paix",
            0,
            0,
            0,
            None,
            None,
            date(2023, 12, 31),
            None,
        ),
    ]


def test_organization_csv() -> None:
    full = _csv_rows(organization_csv(2023, _org_rows(), LABELS))
    assert all(len(row) == 13 for row in full)
    # The four columns after these (entity personnel, certification, February) have their tests
    # in test_coverage_certification.py.
    rows = [row[:9] for row in full]
    assert rows[0][0] == "LEADERSHIP DIALOGUE 2023: ALL ENTITIES"
    assert rows[1] == ORG_HEADERS
    assert rows[2] == [
        "DESA",
        "'=Department",
        "5",
        "45",
        "56",
        "80.4%",
        "2023-12-15",
        "2023-12-31",
        "",
    ]
    assert rows[3] == [
        "DPO",
        "Département des opérations de paix",
        "0",
        "0",
        "0",
        "",
        "",
        "2023-12-31",
        "",
    ]
    assert rows[4][0] == "OICT"
    assert rows[4][5:] == ["80.0%", "", "2023-12-31", "2024-01-31"]
    assert rows[5] == ["TOTAL", "", "8", "85", "106", "80.2%", "", "", ""]
    assert len(rows) == 6


def test_organization_xlsx() -> None:
    data = organization_xlsx(2023, _org_rows(), LABELS)
    ws = _sheet(data)
    assert ws.title == "Leadership Dialogue 2023"
    assert ws.cell(row=1, column=1).value == "LEADERSHIP DIALOGUE 2023: ALL ENTITIES"
    assert ws.cell(row=1, column=1).font.bold
    assert _values(ws, 2, 9) == ORG_HEADERS
    assert [ws.cell(row=r, column=1).value for r in (3, 4, 5)] == ["DESA", "DPO", "OICT"]

    desa = _values(ws, 3, 9)
    assert desa[:5] == ["DESA", "=Department", 5, 45, 56]
    assert ws.cell(row=3, column=2).data_type == "s"
    assert ws.cell(row=3, column=2).quotePrefix
    coverage = ws.cell(row=3, column=6)
    assert coverage.value == pytest.approx(45 / 56)
    assert coverage.number_format == "0.0%"
    assert desa[6:] == [datetime(2023, 12, 15), datetime(2023, 12, 31), None]
    assert ws.cell(row=3, column=7).number_format == "yyyy-mm-dd"

    assert _values(ws, 4, 9)[5] is None, "no personnel: no coverage rather than a division by zero"
    assert _values(ws, 5, 9)[8] == datetime(2024, 1, 31)

    total = _values(ws, 6, 9)
    assert total[:5] == ["TOTAL", None, 8, 85, 106]
    assert total[5] == pytest.approx(85 / 106)
    assert ws.cell(row=6, column=6).number_format == "0.0%"
    assert ws.cell(row=6, column=1).font.bold
    assert ws.max_row == 6

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.properties.creator == "Dialogue Bot"
    assert workbook.properties.created == datetime(2023, 12, 15)
    assert organization_xlsx(2023, list(reversed(_org_rows())), LABELS) == data


def test_empty_organization() -> None:
    rows = [row[:9] for row in _csv_rows(organization_csv(2023, [], LABELS))]
    assert rows[1] == ORG_HEADERS
    assert rows[2] == ["TOTAL", "", "0", "0", "0", "", "", "", ""]
    ws = _sheet(organization_xlsx(2023, [], LABELS))
    assert _values(ws, 2, 9) == ORG_HEADERS
    assert _values(ws, 3, 6) == ["TOTAL", None, 0, 0, 0, None]


def test_two_thousand_rows() -> None:
    units = [
        UnitRow(f"Unit {i:04}", i % 30, 40, date(2023, 1, 1) + timedelta(days=i % 300), f"L{i}")
        for i in range(2000)
    ]
    report = _report(units)
    rows = _csv_rows(appendix_e_csv(report, LABELS))
    assert rows[2001][0] == "2000."
    assert rows[2002][0] == "TOTAL"
    assert int(rows[2002][2]) == sum(u.participants for u in units)
    assert int(rows[2002][3]) == 80_000

    ws = _sheet(appendix_e_xlsx(report, LABELS))
    dates = [ws.cell(row=r, column=5).value for r in range(3, 2003)]
    assert dates == sorted(dates)
    assert ws.cell(row=2002, column=1).value == 2000
    assert _values(ws, 2003, 4) == ["TOTAL", None, sum(u.participants for u in units), 80_000]

    entities = [
        OrgRow(f"E{i:04}", f"Entity {i}", 1, 10, 20, 0.5, None, date(2023, 12, 31), None)
        for i in range(2000)
    ]
    org = _csv_rows(organization_csv(2023, entities, LABELS))
    assert org[2002][:9] == ["TOTAL", "", "2000", "20000", "40000", "50.0%", "", "", ""]
    ws = _sheet(organization_xlsx(2023, entities, LABELS))
    assert _values(ws, 2003, 5) == ["TOTAL", None, 2000, 20_000, 40_000]
    assert ws.cell(row=2003, column=6).value == pytest.approx(0.5)
