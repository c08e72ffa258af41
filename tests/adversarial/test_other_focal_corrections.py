"""Corrections to a frozen sign-in sheet: by the entity's focal point only, audited, and never a
change of who may assess the facilitator.

A person the focal point strikes no longer counts but may still assess; a person the focal point
adds counts but may not assess. A focal point of another entity corrects nothing.
"""

from __future__ import annotations

import json
from typing import Any

from testing.connector import FakeConnector
from testing.flows import GOOD_F, rows, run_to_conclusion, start_session
from testing.teams import BotUnderTest, Chat, User, card_sid, card_text, data_of, verbs

ADMIN = User.make("Layla Haddad", 500)
FOCAL = User.make("Mateo Fernández", 501)
OTHER_FOCAL = User.make("Ingrid Berg", 502)


async def name(bot: BotUnderTest, connector: FakeConnector, code: str, who: User) -> None:
    """The admin names a focal point from the admin card, in a chat both are in."""
    chat = Chat()
    connector.set_members(chat.id, [ADMIN.member(), who.member()])
    _, card = await bot.execute(
        ADMIN,
        chat,
        "1",
        "admin.focal",
        {"focal_entity": code, "focal_upn": who.member()["userPrincipalName"]},
    )
    assert "is now focal point" in card_text(card)


async def open_sheet(bot: BotUnderTest, focal: User, chat: Chat) -> dict[str, Any]:
    """progress -> sign-in sheets -> the first sheet, as the focal point clicks through."""
    _, sessions = await bot.execute(focal, chat, "1", "focal.sessions", {"entity": "DESA"})
    _, sheet = await bot.execute(focal, chat, "1", "focal.sheet", data_of(sessions, "focal.sheet"))
    assert sheet is not None
    return sheet


async def attendance(bot: BotUnderTest) -> dict[str, dict[str, Any]]:
    return {r["RowKey"]: r for r in await rows(bot, "attendance")}


async def corrections(bot: BotUnderTest) -> list[dict[str, Any]]:
    return [
        {"actor": a["Actor"], "action": a["Action"], **json.loads(a["Details"])}
        for a in await rows(bot, "audit")
        if a["Action"].startswith("sheet.")
    ]


async def test_focal_corrections_count_on_the_sheet_but_never_choose_assessors(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name(bot, connector, "DESA", FOCAL)
    chat, leader = Chat(), people[0]
    critic, absent = people[1], people[10]
    participants = people[1:5]
    connector.set_members(chat.id, [p.member() for p in [leader, *participants, absent]])
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, participants)
    await bot.flush()

    personal = Chat(kind="personal", id="a:focal")
    sheet = await open_sheet(bot, FOCAL, personal)
    assert {"focal.sheet_add", "focal.sheet_remove"} <= verbs(sheet)
    assert critic.name in card_text(sheet)

    # Strike the critic: off the sheet and the counts, still an assessor.
    _, sheet = await bot.execute(
        FOCAL,
        personal,
        "1",
        "focal.sheet_remove",
        {**data_of(sheet, "focal.sheet_remove"), "fix_remove_key": f"u{critic.aad_id}"},
    )
    assert "4 participants" not in card_text(sheet) and "3 participants" in card_text(sheet)
    stored = await attendance(bot)
    assert stored[f"u{critic.aad_id}"]["StruckAt"]

    # Add a colleague of the meeting chat by e-mail, and a phone participant by name.
    add = data_of(sheet, "focal.sheet_add")
    _, sheet = await bot.execute(
        FOCAL,
        personal,
        "1",
        "focal.sheet_add",
        {**add, "fix_name": "", "fix_upn": absent.member()["userPrincipalName"]},
    )
    assert absent.name in card_text(sheet)
    _, sheet = await bot.execute(
        FOCAL, personal, "1", "focal.sheet_add", {**add, "fix_name": "Rosa Quispe (phone)"}
    )
    assert "Rosa Quispe (phone)" in card_text(sheet) and "5 participants" in card_text(sheet)
    await bot.flush()
    session = (await rows(bot, "sessions"))[0]
    assert session["Participants"] == 5
    stored = await attendance(bot)
    assert stored[f"u{absent.aad_id}"]["AddedAfterFreeze"] is True

    # The struck critic may assess; the colleague added afterwards may not.
    _, card = await bot.execute(critic, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert "stored anonymously" in card_text(card)
    for verb in ("assess.open", "assess.submit"):
        _, card = await bot.execute(absent, chat, agenda_id, verb, {**keys, **GOOD_F})
        assert "Only participants on this session's sign-in sheet" in card_text(card), verb

    # Each correction is in the audit, by the focal point, for this entity and session.
    audit = await corrections(bot)
    assert sorted(a["action"] for a in audit) == ["sheet.add", "sheet.add", "sheet.remove"]
    assert all(a["actor"] == FOCAL.aad_id and a["entity"] == "DESA" for a in audit)
    assert all(a["session"] == sid for a in audit)
    # The audit the Ethics Office reads names no participant.
    assert not any(p.name in json.dumps(audit, ensure_ascii=False) for p in people)
    assert "Rosa Quispe" not in json.dumps(audit, ensure_ascii=False)


async def test_a_focal_point_of_another_entity_corrects_nothing(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name(bot, connector, "DESA", FOCAL)
    await name(bot, connector, "DPO", OTHER_FOCAL)
    chat, leader = Chat(), people[0]
    await run_to_conclusion(bot, connector, chat, leader, people[1:4])
    await bot.flush()
    sheet = await open_sheet(bot, FOCAL, Chat(kind="personal", id="a:focal"))
    add, remove = data_of(sheet, "focal.sheet_add"), data_of(sheet, "focal.sheet_remove")
    before = await attendance(bot)

    stranger = Chat(kind="personal", id="a:other")
    for entity in ("DESA", "DPO"):
        for verb, data in (
            ("focal.sheet_add", {**add, "fix_name": "Someone Else"}),
            ("focal.sheet_remove", {**remove, "fix_remove_key": f"u{people[1].aad_id}"}),
        ):
            _, card = await bot.execute(
                OTHER_FOCAL, stranger, "1", verb, {**data, "entity": entity}
            )
            text = card_text(card)
            # DESA: not their entity; DPO: no such session in their entity.
            assert "Only the entity's focal point" in text or "no active session" in text, (
                verb,
                entity,
            )
            assert not any(p.name in text for p in people[1:4])
    # The leader and an admin are no focal point either.
    for who in (leader, ADMIN):
        _, card = await bot.execute(who, stranger, "1", "focal.sheet_remove", remove)
        assert "Only the entity's focal point" in card_text(card)
    await bot.flush()
    assert await attendance(bot) == before
    assert await corrections(bot) == []


async def test_the_focal_point_waits_until_the_session_concluded(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name(bot, connector, "DESA", FOCAL)
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.execute(people[1], chat, card_id, "signin", {"sid": sid})
    keys = {"entity": "DESA", "cycle": 2026, "sid": sid}
    personal = Chat(kind="personal", id="a:focal")
    _, card = await bot.execute(
        FOCAL, personal, "1", "focal.sheet_add", {**keys, "fix_name": "Early Entry"}
    )
    assert "until the session concludes" in card_text(card)
    assert "Early Entry" not in json.dumps(await rows(bot, "attendance"), default=str)
    assert await corrections(bot) == []


async def test_a_struck_entry_put_back_is_an_assessor_as_before(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name(bot, connector, "DESA", FOCAL)
    chat, leader, colleague = Chat(), people[0], people[2]
    connector.set_members(chat.id, [p.member() for p in people[:4]])
    _, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, people[1:4])
    personal = Chat(kind="personal", id="a:focal")
    sheet = await open_sheet(bot, FOCAL, personal)
    remove = {**data_of(sheet, "focal.sheet_remove"), "fix_remove_key": f"u{colleague.aad_id}"}
    _, sheet = await bot.execute(FOCAL, personal, "1", "focal.sheet_remove", remove)
    assert "2 participants" in card_text(sheet)
    # Struck by mistake: added again by e-mail, the row comes back as it was.
    add = {**data_of(sheet, "focal.sheet_add"), "fix_upn": colleague.member()["userPrincipalName"]}
    _, sheet = await bot.execute(FOCAL, personal, "1", "focal.sheet_add", add)
    assert "back on the sheet" in card_text(sheet) and "3 participants" in card_text(sheet)
    row = (await attendance(bot))[f"u{colleague.aad_id}"]
    assert row["Source"] == "self" and not row.get("StruckAt") and not row.get("AddedAfterFreeze")
    _, card = await bot.execute(colleague, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert "stored anonymously" in card_text(card)
    assert [a["action"] for a in await corrections(bot)] in (
        ["sheet.restore", "sheet.remove"],
        ["sheet.remove", "sheet.restore"],
    )
