"""Joint and split sessions through the real app: the setup card, the sheet, progress, the
sheets list and the Appendix E export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import aiohttp
from openpyxl import load_workbook

from dialogs.exports import EntityReport, Labels, UnitRow, appendix_e_xlsx
from testing.flows import (
    ADMIN,
    FOCAL,
    SETUP,
    last_card,
    last_card_message,
    name_focal_points,
    rows,
    run_to_conclusion,
    start_session,
    urls,
)
from testing.teams import Chat, card_text, elements

JOINT = {
    "joint_unit_1": "Population Division",
    "joint_personnel_1": "6",
    "joint_unit_2": "Data Team",
    "joint_personnel_2": "3",
}


def joint_rows(card: dict) -> dict:
    """The setup card's container of joint-unit rows."""
    return next(n for n in elements(card) if n.get("id") == "joint_rows")


async def test_a_joint_session_is_set_up_with_its_units_and_the_sheet_shows_each(
    bot, connector, people
):
    chat = Chat()
    assert await bot.say(people[0], chat, "start") == 201
    _, setup = last_card_message(connector, chat)
    ids = {n.get("id") for n in elements(setup)}
    assert {"joint_unit_1", "joint_personnel_1", "joint_unit_5", "joint_personnel_5"} <= ids
    assert joint_rows(setup)["isVisible"] is False  # folded until the leader asks for it

    _, view = await start_session(bot, connector, chat, people[0], personnel="9", **JOINT)
    text = card_text(view)
    assert "Statistics Division, Data Section" in text
    assert "Population Division (total personnel: 6)" in text
    assert "Data Team (total personnel: 3)" in text
    stored = (await rows(bot, "sessions"))[0]
    assert (stored["Unit"], stored["Personnel"]) == (SETUP["unit"], 9)
    assert json.loads(stored["JointUnits"]) == [
        {"unit": "Population Division", "personnel": 6},
        {"unit": "Data Team", "personnel": 3},
    ]


async def test_bad_joint_units_are_refused_with_the_rows_kept_and_nothing_stored(
    bot, connector, people
):
    chat = Chat()
    leader = people[0]
    assert await bot.say(leader, chat, "start") == 201
    card_id, _ = last_card_message(connector, chat)
    bad_forms = [
        ({"joint_unit_1": "Data Team"}, "row 1: give both the unit's name"),
        ({"joint_unit_2": "Data Team", "joint_personnel_2": "0"}, "row 2: total personnel"),
        (
            {"joint_unit_1": "statistics division,  DATA SECTION", "joint_personnel_1": "4"},
            "is listed twice",
        ),
        (
            {**JOINT, "joint_unit_3": "data team", "joint_personnel_3": "2"},
            "data team is listed twice",
        ),
        ({"joint_unit_1": "x" * 121, "joint_personnel_1": "2"}, "Other unit is too long"),
    ]
    for extra, message in bad_forms:
        status, card = await bot.execute(leader, chat, card_id, "setup.submit", {**SETUP, **extra})
        assert status == 200
        assert message in card_text(card), extra
        # The rows come back open, with what the leader typed, to correct them.
        container = joint_rows(card)
        assert container["isVisible"] is True
        typed = {n["id"]: n.get("value") for n in elements(container) if n.get("id")}
        if "joint_unit_1" in extra:
            assert typed["joint_unit_1"] == extra["joint_unit_1"][:120]
    assert await rows(bot, "sessions") == []


async def test_the_focal_point_sees_each_unit_once_and_the_export_counts_participants_once(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    # A joint session of three units (4 participants), then the Data Team's own session.
    await run_to_conclusion(
        bot, connector, Chat(), people[0], people[1:5], unit="Front Office", personnel="9", **JOINT
    )
    await run_to_conclusion(
        bot, connector, Chat(), people[5], people[6:8], unit="data team", personnel="4"
    )
    await bot.flush()
    personal = Chat(kind="personal", id="a:focal-shapes")
    await bot.say(FOCAL, personal, "progress", mention=False)
    card = last_card(connector, personal)
    text = card_text(card)
    # Sessions 2, participants 4 + 2, personnel 9 + 6 + max(3, 4).
    big = [n["text"] for n in elements(card) if n.get("size") == "ExtraLarge"]
    assert big == ["2", "6", "19"]
    assert "Joint session with Population Division, Data Team." in text
    assert (
        "Held jointly with Front Office, Data Team: its participants are counted on the first "
        "unit's row." in text
    )
    table = next(n for n in elements(card) if n.get("type") == "Table")
    cells = [
        [card_text({"body": cell["items"]}).split("\n")[0] for cell in row["cells"]]
        for row in table["rows"][1:]
    ]
    assert [c[1:] for c in cells] == [
        # The units that joined sit under the first unit of the joint session.
        ["Front Office", "4", "9"],
        ["Data Team", "2", "4"],
        ["Population Division", "—", "6"],
    ]

    csv_url, _ = urls(card)
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + csv_url.split("127.0.0.1:3978")[-1]) as response:
            assert response.status == 200
            exported = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert exported[1][6] == "JOINT SESSION WITH (PARTICIPANTS ON THE FIRST UNIT'S ROW)"
    body = {row[1]: row for row in exported[2:5]}
    assert body["Front Office"][2:4] == ["4", "9"]
    assert body["Front Office"][6] == "Population Division, Data Team"
    assert body["Population Division"][2:4] == ["", "6"]
    assert body["Population Division"][6] == "Front Office, Data Team"
    assert body["Data Team"][2:4] == ["2", "4"]
    total = next(row for row in exported if row and row[0] == "TOTAL")
    assert total[2:4] == ["6", "19"]
    await bot.execute(FOCAL, personal, "1", "focal.certify", {"entity": "DESA"})
    snapshot = (await rows(bot, "certifications"))[0]
    assert (snapshot["Sessions"], snapshot["Participants"], snapshot["Personnel"]) == (2, 6, 19)


async def test_split_sessions_with_another_leader_warn_the_leader_and_the_focal_point(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await run_to_conclusion(
        bot, connector, Chat(), people[0], people[1:4], unit="Budget Section", personnel="40"
    )
    # The same leader's second (split) session: as the FAQ wants, no warning.
    _, view = await start_session(bot, connector, Chat(), people[0], unit="budget section")
    assert "Another leader" not in card_text(view)
    # Another leader for the same unit: told at setup, and still allowed to go on.
    _, view = await start_session(bot, connector, Chat(), people[5], unit="BUDGET SECTION")
    text = card_text(view)
    assert "Another leader also holds a session of BUDGET SECTION this cycle" in text
    assert "signin.close" in {a.get("verb") for a in elements(view) if a.get("verb")}
    assert people[0].name not in text  # the other leader is not named to this leader
    await bot.flush()

    personal = Chat(kind="personal", id="a:focal-split")
    await bot.say(FOCAL, personal, "progress", mention=False)
    progress = card_text(last_card(connector, personal))
    # Open sessions are not Appendix E rows yet; the held one alone has one leader.
    assert "different leaders" not in progress
    _, sessions = await bot.execute(FOCAL, personal, "1", "focal.sessions", {"entity": "DESA"})
    lines = [
        n
        for n in elements(sessions)
        if n.get("type") == "TextBlock" and "budget" in n.get("text", "").casefold()
    ]
    marked = [n for n in lines if n.get("color") == "Warning"]
    assert len(lines) == 3 and len(marked) == 3
    assert all("another leader also holds a session of" in n["text"] for n in marked)

    # Once a session of another leader is held, progress marks the unit's row.
    await run_to_conclusion(
        bot, connector, Chat(), people[9], people[10:12], unit="Budget Section", personnel="40"
    )
    await bot.flush()
    await bot.say(FOCAL, personal, "progress", mention=False)
    progress = card_text(last_card(connector, personal))
    assert "Sessions of this unit had different leaders" in progress
    assert people[0].name in progress and people[9].name in progress


def test_the_xlsx_export_adds_the_joint_column_only_for_joint_sessions():
    def sheet(rows):
        report = EntityReport(2026, "DESA", "DESA", rows, {}, 0, None, date(2026, 12, 31))
        workbook = load_workbook(io.BytesIO(appendix_e_xlsx(report, Labels.english())))
        return list(workbook.active.iter_rows(values_only=True))

    plain = sheet([UnitRow("Front Office", 4, 9, date(2026, 11, 20), "Amina Diallo")])
    assert len(plain[1]) == 6
    joint = sheet(
        [
            UnitRow("Front Office", 4, 9, date(2026, 11, 20), "Amina Diallo", "Data Team"),
            UnitRow("Data Team", None, 3, date(2026, 11, 20), "Amina Diallo", "Front Office"),
        ]
    )
    assert joint[1][6] == "JOINT SESSION WITH (PARTICIPANTS ON THE FIRST UNIT'S ROW)"
    assert joint[2][1:4] == ("Data Team", None, 3) and joint[2][6] == "Front Office"
    total = next(row for row in joint if row[0] == "TOTAL")
    assert total[2:4] == (4, 12)
