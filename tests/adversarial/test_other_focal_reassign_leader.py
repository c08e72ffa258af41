"""The entity's focal point can give a session another leader, or end it; nobody else can."""

from __future__ import annotations

from typing import Any

from testing.connector import CREATE_CONVERSATION, adaptive_cards
from testing.flows import ADMIN, FOCAL, OTHER_FOCAL, name_focal_points, rows, start_session
from testing.teams import BotUnderTest, Chat, User, card_sid, card_text, data_of, elements

TAKER = User.make("Marker Taker", 950)
REAL = User.make("Leaderia Zed", 951)
PARTICIPANT = User.make("Marker Alpha", 952)


def choices(card: dict[str, Any], input_id: str) -> dict[str, str]:
    """Title -> value of a choice input on the card."""
    found = next(n for n in elements(card) if n.get("id") == input_id)
    return {c["title"]: c["value"] for c in found["choices"]}


async def focal_sheet(bot: BotUnderTest, focal: User, entity: str = "DESA") -> dict[str, Any]:
    """The focal point opens the entity's sessions, then the newest session's sheet."""
    personal = Chat(kind="personal", id=f"a:{focal.aad_id}")
    _, sessions = await bot.execute(focal, personal, "1", "focal.sessions", {"entity": entity})
    _, sheet = await bot.execute(
        focal, personal, "1", "focal.sheet", data_of(sessions, "focal.sheet")
    )
    assert sheet is not None
    return sheet


async def test_the_focal_point_reassigns_a_taken_session_and_others_are_refused(
    start_bot, connector
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    chat = Chat()
    # Someone took the session: they lead it; the real leader signs in like anyone.
    card_id, view = await start_session(bot, connector, chat, TAKER)
    sid = card_sid(view)
    for person in (REAL, PARTICIPANT):
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})

    sheet = await focal_sheet(bot, FOCAL)
    keys = data_of(sheet, "focal.reassign")
    assert {"sid", "cycle", "entity"} <= set(keys)
    candidates = choices(sheet, "new_leader_key")
    assert set(candidates) == {REAL.name, PARTICIPANT.name}
    audit_before = len(await rows(bot, "audit"))

    # A focal point of another entity, with DESA's keys or with their own entity's: refused.
    personal = Chat(kind="personal", id="a:other-focal")
    for data in (keys, {**keys, "entity": "DPO"}):
        for verb in ("focal.reassign", "focal.end"):
            wanted = {**data, "new_leader_key": candidates[REAL.name]}
            _, card = await bot.execute(OTHER_FOCAL, personal, "1", verb, wanted)
            text = card_text(card)
            assert "Only the entity's focal point" in text or "no active session" in text, text
            assert REAL.name not in text and TAKER.name not in text
    # A participant, in the meeting chat or in personal chat: refused.
    for where in (chat, Chat(kind="personal", id="a:participant")):
        for verb in ("focal.reassign", "focal.end"):
            wanted = {**keys, "new_leader_key": "u" + PARTICIPANT.aad_id}
            _, card = await bot.execute(PARTICIPANT, where, "1", verb, wanted)
            assert "Only the entity's focal point" in card_text(card)
    # The admin sees no names and leads nothing: refused too.
    _, card = await bot.execute(ADMIN, personal, "1", "focal.reassign", wanted)
    assert "Only the entity's focal point" in card_text(card)
    session = (await rows(bot, "sessions"))[0]
    assert session["LeaderId"] == TAKER.aad_id and session["Status"] == "signin"
    assert len(await rows(bot, "audit")) == audit_before

    # The entity's focal point names the real leader.
    connector.clear()
    focal_chat = Chat(kind="personal", id=f"a:{FOCAL.aad_id}")
    _, card = await bot.execute(
        FOCAL, focal_chat, "1", "focal.reassign", {**keys, "new_leader_key": candidates[REAL.name]}
    )
    assert f"{REAL.name} now leads this session" in card_text(card)
    session = (await rows(bot, "sessions"))[0]
    assert session["LeaderId"] == REAL.aad_id and session["LeaderName"] == REAL.name
    leaders = {r["PartitionKey"] for r in await rows(bot, "leaders")}
    assert leaders == {REAL.aad_id}
    entries = [a for a in await rows(bot, "audit") if a["Action"] == "session.reassign"]
    assert [e["Actor"] for e in entries] == [FOCAL.aad_id]
    assert sid in entries[0]["Details"] and REAL.aad_id in entries[0]["Details"]
    # The new leader is told in personal chat.
    await bot.flush()
    created = connector.calls(CREATE_CONVERSATION)
    assert [op.body["members"][0]["id"] for op in created] == [REAL.mri]
    told = [c for c in connector.cards(created[0].conversation_id or "")]
    assert told and "named you discussion leader" in card_text(told[-1])

    # The old leader is refused the leader's controls; the new one has them.
    _, card = await bot.execute(TAKER, chat, card_id, "signin.close", {"sid": sid})
    assert "Only the session's discussion leader" in card_text(card)
    _, card = await bot.execute(
        TAKER, chat, card_id, "attendance.add", {"sid": sid, "add_name": "X"}
    )
    assert "Only the session's discussion leader" in card_text(card)
    _, card = await bot.execute(REAL, chat, card_id, "signin.view", {"sid": sid})
    assert "signin.close" in {a.get("verb") for a in elements(card)}
    _, card = await bot.execute(REAL, chat, card_id, "signin.close", {"sid": sid})
    assert "Sign-in is closed" in card_text(card)

    # Then the focal point ends the session: the chat is free, and that is audited too.
    sheet = await focal_sheet(bot, FOCAL)
    _, card = await bot.execute(FOCAL, focal_chat, "1", "focal.end", data_of(sheet, "focal.end"))
    assert "The session is ended" in card_text(card)
    assert (await rows(bot, "sessions"))[0]["Status"] == "ended"
    assert await rows(bot, "chats") == []
    actions = [a["Action"] for a in await rows(bot, "audit")]
    assert actions.count("session.end") == 1
    assert "focal.end" not in {a.get("verb") for a in elements(card)}


async def test_the_new_leader_must_be_on_the_sheet(start_bot, connector):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, TAKER)
    await bot.execute(
        TAKER, chat, card_id, "attendance.add", {"sid": card_sid(view), "add_name": "Phone Person"}
    )
    sheet = await focal_sheet(bot, FOCAL)
    # Nobody on the sheet has a Teams id: the card offers nobody, and says how to proceed.
    assert "ask them to sign in on this session's sheet first" in card_text(sheet)
    assert "focal.reassign" not in {a.get("verb") for a in elements(sheet)}
    keys = data_of(sheet, "focal.end")
    focal_chat = Chat(kind="personal", id=f"a:{FOCAL.aad_id}")
    # Forged: someone not on the sheet, the current leader, a name added by phone (no Teams id).
    for key in ("u" + PARTICIPANT.aad_id, "u" + TAKER.aad_id, "x' or 1 eq 1", None, 7):
        _, card = await bot.execute(
            FOCAL, focal_chat, "1", "focal.reassign", {**keys, "new_leader_key": key}
        )
        assert "That person is not on the sheet" in card_text(card), key
    phone_key = next(r["RowKey"] for r in await rows(bot, "attendance"))
    _, card = await bot.execute(
        FOCAL, focal_chat, "1", "focal.reassign", {**keys, "new_leader_key": phone_key}
    )
    assert "That person is not on the sheet" in card_text(card)
    assert (await rows(bot, "sessions"))[0]["LeaderId"] == TAKER.aad_id
    assert not [
        c for c in connector.operations if adaptive_cards(c.body) and "You now lead" in str(c.body)
    ]
