"""Focal points and the Ethics Office: roles, progress, sheets, exports, certification,
extensions, the cascade and the Organization report."""

from __future__ import annotations

import csv
import io
import json

import aiohttp
from openpyxl import load_workbook

from testing.flows import (
    ADMIN,
    FOCAL,
    OTHER_FOCAL,
    hold_two_sessions,
    last_card,
    name_focal_points,
    rows,
    run_to_conclusion,
    urls,
)
from testing.teams import Chat, card_text, data_of, elements, executes


async def settle(bot):
    """Wait until background card updates and totals are written."""
    await bot.flush()


async def test_focal_point_follows_progress_reads_sheets_exports_and_certifies(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await hold_two_sessions(bot, connector, people)
    await settle(bot)

    personal = Chat(kind="personal", id="a:focal-chat")
    await bot.say(FOCAL, personal, "progress", mention=False)
    card = last_card(connector, personal)
    text = card_text(card)
    assert "Department of Economic and Social Affairs" in text
    assert "Population Division" in text and "Statistics Division" in text
    assert "Policy Team" not in text  # DPO is not this focal point's entity
    assert "Not certified yet" in text
    # Sessions held 2, participants 4 + 3, personnel 20 + 12, coverage 7/32.
    big = [n["text"] for n in elements(card) if n.get("size") == "ExtraLarge"]
    assert big == ["2", "7", "32"]
    assert "Coverage: 22% of personnel" in text

    # The sign-in sheets, with names: the guide sends Appendix A to the focal point.
    _, sessions = await bot.execute(FOCAL, personal, "1", "focal.sessions", {"entity": "DESA"})
    assert "Population Division" in card_text(sessions)
    sheet_data = data_of(sessions, "focal.sheet")
    _, sheet = await bot.execute(FOCAL, personal, "1", "focal.sheet", sheet_data)
    assert sum(p.name in card_text(sheet) for p in people[1:9]) in (3, 4)
    assert not {"signin", "attendance.add", "signin.close"} & {a["verb"] for a in executes(sheet)}

    # Export Appendix E: CSV and Excel through short-lived signed links served by the bot.
    csv_url, xlsx_url = urls(card)
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + csv_url.split("127.0.0.1:3978")[-1]) as response:
            assert response.status == 200
            table = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
        async with http.get(bot.url + xlsx_url.split("127.0.0.1:3978")[-1]) as response:
            assert response.status == 200
            workbook = load_workbook(io.BytesIO(await response.read()))
        forged = csv_url.split("/exports/")[1][:-3] + "abc"
        async with http.get(f"{bot.url}/exports/{forged}") as response:
            assert response.status == 404
    assert "LEADERSHIP DIALOGUE 2026" in table[0][0]
    total = next(row for row in table if row and row[0] == "TOTAL")
    assert total[2:4] == ["7", "32"]
    sheet_rows = list(workbook.active.iter_rows(values_only=True))
    xlsx_total = next(row for row in sheet_rows if row and row[0] == "TOTAL")
    assert xlsx_total[2:4] == (7, 32)

    # Certify: a confirmation with the totals, then a stored snapshot.
    _, preview = await bot.execute(
        FOCAL, personal, "1", "focal.certify_preview", {"entity": "DESA"}
    )
    assert "Certify Appendix E" in card_text(preview)
    _, certified = await bot.execute(FOCAL, personal, "1", "focal.certify", {"entity": "DESA"})
    assert "Certified: 7 participants in 2 sessions" in card_text(certified)
    snapshot = (await rows(bot, "certifications"))[0]
    assert (snapshot["Participants"], snapshot["Sessions"], snapshot["Personnel"]) == (7, 2, 32)
    assert snapshot["CertifiedBy"] == FOCAL.aad_id

    # A later session is flagged against the snapshot; Appendix C can no longer be amended.
    sid, agenda_id, keys = await run_to_conclusion(
        bot, connector, Chat(), people[14], people[15:17], unit="Late Unit", personnel="5"
    )
    await settle(bot)
    _, card = await bot.execute(FOCAL, personal, "1", "focal.progress", {"entity": "DESA"})
    assert "Changed since certification" in card_text(card)
    audit = [json.loads(a["Details"]) | {"action": a["Action"]} for a in await rows(bot, "audit")]
    assert {"focal.add", "entity.certify"} <= {a["action"] for a in audit}


async def test_roles_are_checked_for_every_view(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await hold_two_sessions(bot, connector, people)
    await settle(bot)
    personal = Chat(kind="personal", id="a:someone")

    # A focal point of DPO cannot read DESA, whatever the card's data says.
    for verb in ("focal.progress", "focal.sessions", "focal.certify", "focal.cascade"):
        _, card = await bot.execute(OTHER_FOCAL, personal, "1", verb, {"entity": "DESA"})
        assert "Only the entity's focal point" in card_text(card), verb
    desa = (await rows(bot, "sessions"))[0]
    _, card = await bot.execute(
        OTHER_FOCAL,
        personal,
        "1",
        "focal.sheet",
        {"entity": "DESA", "cycle": 2026, "sid": desa["RowKey"]},
    )
    assert "Only the entity's focal point" in card_text(card)
    assert not any(p.name in card_text(card) for p in people)

    # A participant is politely refused everything.
    participant = people[2]
    for command in ("progress", "report", "admin", "focal DESA someone@example.org"):
        await bot.say(participant, personal, command, mention=False)
        reply = connector.activities(personal.id)[-1]
        assert reply.get("text") and (
            "Only Ethics Office administrators" in reply["text"]
            or "not focal point for any entity" in reply["text"]
        ), command
    for verb in ("admin.cycle", "admin.entity", "admin.focal", "admin.extension", "admin.feedback"):
        _, card = await bot.execute(participant, personal, "1", verb, {"entity_code": "X"})
        assert "Only Ethics Office administrators" in card_text(card), verb

    # The Ethics Office never receives a name: not in its cards, not in its exports.
    await bot.say(ADMIN, personal, "report", mention=False)
    report = last_card(connector, personal)
    _, feedback = await bot.execute(ADMIN, personal, "1", "admin.feedback", {})
    await bot.say(ADMIN, personal, "admin", mention=False)
    admin_card = last_card(connector, personal)
    async with aiohttp.ClientSession() as http:
        exports = []
        for url in urls(report):
            async with http.get(bot.url + url.split("127.0.0.1:3978")[-1]) as response:
                assert response.status == 200
                exports.append(await response.read())
    seen = card_text(report) + card_text(feedback) + card_text(admin_card)
    workbook = load_workbook(io.BytesIO(exports[1]))
    seen += exports[0].decode("utf-8-sig") + json.dumps(
        [list(r) for r in workbook.active.iter_rows(values_only=True)], default=str
    )
    participant_names = [p.name for p in people[1:5] + people[6:9] + people[11:13]]
    assert not any(name in seen for name in participant_names)
    assert "DESA" in card_text(report) and "7" in card_text(report)


async def test_extension_request_reaches_the_admins_who_grant_a_new_date(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    admin_chat = Chat(kind="personal", id="a:admin")
    await bot.say(ADMIN, admin_chat, "report", mention=False)  # the bot now knows how to reach her
    personal = Chat(kind="personal", id="a:focal")
    _, card = await bot.execute(
        FOCAL,
        personal,
        "1",
        "focal.extension",
        {"entity": "DESA", "reason": "Two field missions hold their sessions in January."},
    )
    assert "sent to the Ethics Office" in card_text(card)
    await bot.flush()
    notified = [c for c in connector.cards() if "Two field missions" in card_text(c)]
    assert notified, "the admin was not told"
    await bot.say(ADMIN, admin_chat, "report", mention=False)
    report = last_card(connector, admin_chat)
    assert "extension requested" in card_text(report)
    grant = data_of(report, "admin.extension")
    _, card = await bot.execute(
        ADMIN, admin_chat, "1", "admin.extension", {**grant, grant["field"]: "2027-01-31"}
    )
    assert "DESA now has until" in card_text(card)
    _, progress = await bot.execute(FOCAL, personal, "1", "focal.progress", {"entity": "DESA"})
    assert "31 January 2027" in card_text(progress) or "January 31, 2027" in card_text(progress)
    assert "(extension granted)" in card_text(progress)


async def test_cascade_shows_who_attended_before_leading_and_missing_units(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    # The head of unit leads first; one of her participants then leads his own team.
    await run_to_conclusion(
        bot, connector, Chat(), people[0], people[1:4], unit="Front Office", personnel="6"
    )
    await run_to_conclusion(
        bot, connector, Chat(), people[1], people[10:13], unit="Data Section", personnel="9"
    )
    await settle(bot)
    personal = Chat(kind="personal", id="a:focal")
    _, card = await bot.execute(
        FOCAL,
        personal,
        "1",
        "focal.expected",
        {
            "entity": "DESA",
            "expected_csv": "Front Office, Amina Diallo\nData Section\nArchives Unit, Ana Costa\n",
        },
    )
    text = card_text(card)

    assert "3 expected units imported" in text
    assert "✓ Kenji Watanabe (Data Section) attended a session first" in text
    assert "✗ Amina Diallo (Front Office) has not attended" in text
    assert "1 expected unit has not held its session" in text and "Archives Unit" in text
    _, card = await bot.execute(
        FOCAL, personal, "1", "focal.expected", {"entity": "DESA", "expected_csv": "x" * 200}
    )
    assert "Line 1" in card_text(card)


async def test_admins_manage_the_cycle_entities_and_focal_points_with_an_audit(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    personal = Chat(kind="personal", id="a:admin")
    _, card = await bot.execute(
        ADMIN,
        personal,
        "1",
        "admin.cycle",
        {"cycle_year": "2027", "cycle_pack": "2023", "cycle_deadline": "2027-12-31"},
    )
    assert "The cycle is saved" in card_text(card) and "Cycle 2027" in card_text(card)
    for bad, message in (
        ({"cycle_year": "1999", "cycle_pack": "2023", "cycle_deadline": "2027-12-31"}, "2013"),
        ({"cycle_year": "2027", "cycle_pack": "1066", "cycle_deadline": "2027-12-31"}, "valid"),
        ({"cycle_year": "2027", "cycle_pack": "2023", "cycle_deadline": "soon"}, "valid date"),
    ):
        _, card = await bot.execute(ADMIN, personal, "1", "admin.cycle", bad)
        assert message in card_text(card), message
    _, card = await bot.execute(
        ADMIN,
        personal,
        "1",
        "admin.entity",
        {"entity_code": "unep", "entity_name": "United Nations Environment Programme"},
    )
    assert "UNEP is saved" in card_text(card)
    _, card = await bot.execute(
        ADMIN, personal, "1", "admin.entity", {"entity_code": "x' or 1", "entity_name": "Bad"}
    )
    assert "A code is 2 to 20 capital letters" in card_text(card)
    _, card = await bot.execute(
        ADMIN, personal, "1", "admin.focal_remove", {"withdraw_focal": f"DPO|{OTHER_FOCAL.aad_id}"}
    )
    assert "withdrawn" in card_text(card)
    _, card = await bot.execute(
        ADMIN, personal, "1", "admin.entity_remove", {"deactivate_entity": "DPO"}
    )
    assert "DPO is no longer offered" in card_text(card)
    # A new session in the meeting chat can pick UNEP, not DPO, and belongs to the 2027 cycle.
    chat = Chat()
    await bot.say(people[0], chat, "start")
    setup = next(c for c in reversed(connector.cards(chat.id)) if "setup.submit" in str(c))
    choices = [c["value"] for n in elements(setup) if n.get("id") == "entity" for c in n["choices"]]
    assert "UNEP" in choices and "DPO" not in choices
    await bot.say(OTHER_FOCAL, Chat(kind="personal", id="a:former"), "progress", mention=False)
    assert "not focal point for any entity" in connector.activities("a:former")[-1]["text"]
    actions = [a["Action"] for a in await rows(bot, "audit")]
    assert {"cycle.set", "entity.add", "focal.remove", "entity.deactivate", "focal.add"} <= set(
        actions
    )
    assert all(a["Actor"] == ADMIN.aad_id for a in await rows(bot, "audit"))
