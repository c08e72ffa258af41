"""An Ethics Office administrator tries to become a focal point and read the sign-in sheets.

The guide: "Do not submit the sign-in sheets (Appendix A) to the Ethics Office". An admin may
name focal points, never themselves, and a focal row of someone listed as admin opens nothing.
Naming a focal point tells the entity's current focal points; a focal point reads the audit of
their own entity only.
"""

from __future__ import annotations

from typing import Any

from testing.connector import CREATE_CONVERSATION, FakeConnector, adaptive_cards
from testing.flows import rows, run_to_conclusion
from testing.teams import BotUnderTest, Chat, User, card_text, data_of, verbs

ADMIN = User.make("Layla Haddad", 500)
FOCAL = User.make("Mateo Fernández", 501)
OTHER_FOCAL = User.make("Ingrid Berg", 502)
SECOND_FOCAL = User.make("Chen Wei", 503)
OTHER_ADMIN = User.make("Oumar Sy", 504)

REFUSED = "Ethics Office administrators cannot be focal points"


def upn(user: User) -> str:
    """The user principal name the local connector knows the user by."""
    return user.member()["userPrincipalName"]


def mention_focal(bot: BotUnderTest, admin: User, chat: Chat, code: str, who: User) -> dict:
    """`@Dialogue Bot focal CODE @who` typed in a group chat."""
    at = f"<at>{who.name}</at>"
    return bot.activity(
        admin,
        chat,
        type="message",
        text=f"<at>Dialogue Bot</at> focal {code} {at}",
        entities=[
            {
                "type": "mention",
                "mentioned": {"id": "28:dialogue-bot", "name": "Dialogue Bot"},
                "text": "<at>Dialogue Bot</at>",
            },
            {"type": "mention", "mentioned": {"id": who.mri, "name": who.name}, "text": at},
        ],
    )


async def name_by_card(
    bot: BotUnderTest, connector: FakeConnector, admin: User, code: str, who: User
) -> str:
    """The admin card's "name a focal point" in a chat both are in; the card's text."""
    chat = Chat()
    connector.set_members(chat.id, [admin.member(), who.member()])
    _, card = await bot.execute(
        admin, chat, "1", "admin.focal", {"focal_entity": code, "focal_upn": upn(who)}
    )
    return card_text(card)


async def focal_rows(bot: BotUnderTest) -> list[dict[str, Any]]:
    """The directory's focal point rows and their reverse index, straight from Azurite."""
    return [
        r
        for r in await rows(bot, "directory")
        if r["PartitionKey"].startswith(("focal-", "person-"))
    ]


async def test_an_admin_cannot_name_themselves_focal_point_by_command_or_card(start_bot, connector):
    bot = await start_bot(ETHICS_ADMIN_IDS=f"{ADMIN.aad_id},{OTHER_ADMIN.aad_id}")
    group = Chat()
    connector.set_members(group.id, [ADMIN.member(), OTHER_ADMIN.member(), FOCAL.member()])

    assert (await bot.post(mention_focal(bot, ADMIN, group, "DESA", ADMIN)))[0] == 201
    assert REFUSED in connector.activities(group.id)[-1]["text"]
    # Nor another admin: an admin never becomes a focal point, whoever names them.
    assert (await bot.post(mention_focal(bot, ADMIN, group, "DESA", OTHER_ADMIN)))[0] == 201
    assert REFUSED in connector.activities(group.id)[-1]["text"]
    assert REFUSED in await name_by_card(bot, connector, ADMIN, "DESA", ADMIN)
    assert REFUSED in await name_by_card(bot, connector, ADMIN, "DPO", OTHER_ADMIN)

    assert await focal_rows(bot) == []
    assert not [a for a in await rows(bot, "audit") if a["Action"] == "focal.add"]
    # Naming a colleague who is not an admin still works.
    assert "is now focal point for DESA" in await name_by_card(bot, connector, ADMIN, "DESA", FOCAL)
    assert {r["RowKey"] for r in await focal_rows(bot)} == {FOCAL.aad_id, "focal-DESA"}


async def test_a_focal_point_listed_as_admin_opens_no_sheet(start_bot, connector, people):
    # Named while not an admin, then added to ETHICS_ADMIN_IDS: the focal row stays stored.
    before = await start_bot(ETHICS_ADMIN_IDS=OTHER_ADMIN.aad_id)
    assert "is now focal point" in await name_by_card(before, connector, OTHER_ADMIN, "DESA", ADMIN)
    await run_to_conclusion(before, connector, Chat(), people[0], people[1:4])
    await before.flush()
    assert {r["RowKey"] for r in await focal_rows(before)} == {ADMIN.aad_id, "focal-DESA"}
    session = next(r for r in await rows(before, "sessions"))
    keys = {"entity": "DESA", "cycle": 2026, "sid": session["RowKey"]}

    bot = await start_bot(ETHICS_ADMIN_IDS=f"{OTHER_ADMIN.aad_id},{ADMIN.aad_id}")
    personal = Chat(kind="personal", id="a:admin-focal")
    seen = []
    for verb, data in (
        ("focal.sheet", keys),
        ("focal.sessions", {"entity": "DESA"}),
        ("focal.progress", {"entity": "DESA"}),
        ("focal.history", {"entity": "DESA"}),
    ):
        _, card = await bot.execute(ADMIN, personal, "1", verb, data)
        seen.append(card_text(card))
        assert "Only the entity's focal point" in card_text(card), verb
    await bot.say(ADMIN, personal, "progress", mention=False)
    reply = connector.activities(personal.id)[-1]
    assert "not focal point for any entity" in reply.get("text", "")
    seen += [card_text(c) for a in connector.activities(personal.id) for c in adaptive_cards(a)]
    assert not any(p.name in text for p in people[1:4] for text in seen)


async def test_naming_a_focal_point_tells_the_entitys_current_focal_points(start_bot, connector):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_by_card(bot, connector, ADMIN, "DESA", FOCAL)
    await name_by_card(bot, connector, ADMIN, "DPO", OTHER_FOCAL)
    await bot.flush()
    connector.clear()

    # FOCAL has never written to the bot: it reaches them through what was kept when named.
    group = Chat()
    connector.set_members(group.id, [ADMIN.member(), SECOND_FOCAL.member()])
    assert (await bot.post(mention_focal(bot, ADMIN, group, "DESA", SECOND_FOCAL)))[0] == 201
    assert "Chen Wei is now focal point for DESA" in connector.activities(group.id)[-1]["text"]
    await bot.flush()
    created = connector.calls(CREATE_CONVERSATION)
    assert [op.body["members"][0]["id"] for op in created] == [FOCAL.mri]
    told = [card_text(c) for c in connector.cards(created[0].conversation_id)]
    assert told and "Chen Wei" in told[0] and "Economic and Social Affairs" in told[0]

    # The next naming tells both DESA focal points, and nobody of DPO.
    connector.clear()
    third = User.make("Rosa Quispe", 505)
    assert "is now focal point for DESA" in await name_by_card(bot, connector, ADMIN, "DESA", third)
    await bot.flush()
    told_ids = sorted(op.body["members"][0]["id"] for op in connector.calls(CREATE_CONVERSATION))
    assert told_ids == sorted([FOCAL.mri, SECOND_FOCAL.mri])


async def test_a_focal_point_reads_the_history_of_their_own_entity_only(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_by_card(bot, connector, ADMIN, "DESA", FOCAL)
    await name_by_card(bot, connector, ADMIN, "DPO", OTHER_FOCAL)
    await run_to_conclusion(
        bot, connector, Chat(), people[0], people[1:3], entity="DPO", unit="Policy Team"
    )
    await bot.flush()
    admin_chat = Chat(kind="personal", id="a:admin")
    _, card = await bot.execute(
        ADMIN,
        admin_chat,
        "1",
        "admin.entity",
        {"entity_code": "DPO", "entity_name": "Department of Peace Operations (renamed)"},
    )
    dpo_chat = Chat(kind="personal", id="a:dpo")
    _, card = await bot.execute(OTHER_FOCAL, dpo_chat, "1", "focal.certify", {"entity": "DPO"})
    assert "Certified" in card_text(card)

    personal = Chat(kind="personal", id="a:desa")
    await bot.say(FOCAL, personal, "progress", mention=False)
    progress = adaptive_cards(connector.activities(personal.id)[-1])[0]
    assert "focal.history" in verbs(progress)
    _, history = await bot.execute(
        FOCAL, personal, "1", "focal.history", data_of(progress, "focal.history")
    )
    text = card_text(history)
    assert "focal.add" in text and "DESA" in text
    assert "DPO" not in text and "entity.certify" not in text and "entity.rename" not in text

    # The DPO focal point sees DPO's entries; asking for DESA's is refused.
    _, own = await bot.execute(OTHER_FOCAL, dpo_chat, "1", "focal.history", {"entity": "DPO"})
    assert "entity.certify" in card_text(own) and "entity.rename" in card_text(own)
    _, card = await bot.execute(OTHER_FOCAL, dpo_chat, "1", "focal.history", {"entity": "DESA"})
    assert "Only the entity's focal point" in card_text(card)
