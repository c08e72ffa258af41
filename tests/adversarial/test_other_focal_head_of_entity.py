"""Another entity's focal point against DESA's certification: they cannot confirm DESA's
Appendix E (not even once named Head of their own entity), cannot name a Head of Entity, cannot
submit DESA's Appendix E or change its personnel; each refusal shows only its reason.
"""

from __future__ import annotations

from testing.connector import CREATE_CONVERSATION, FakeConnector, adaptive_cards
from testing.flows import ADMIN, FOCAL, OTHER_FOCAL, hold_two_sessions, name_focal_points, rows
from testing.teams import BotUnderTest, Chat, User, card_text, data_of

HEAD = User.make("Li Wei", 503)
ATTACKER_CHAT = Chat(kind="personal", id="a:other-focal")


async def name_head(bot: BotUnderTest, connector: FakeConnector, code: str, who: User) -> None:
    """The admin names a Head of Entity from the admin card, in a chat both are in."""
    chat = Chat()
    connector.set_members(chat.id, [ADMIN.member(), who.member()])
    data = {"head_entity": code, "head_upn": who.member()["userPrincipalName"]}
    _, card = await bot.execute(ADMIN, chat, "1", "admin.head", data)
    assert "is now Head of Entity" in card_text(card)


def confirm_data(connector: FakeConnector) -> dict:
    """The data of the Confirm button on the card the Head of Entity received."""
    chats = {
        op.conversation_id
        for op in connector.calls(CREATE_CONVERSATION)
        if op.body["members"][0]["id"] == HEAD.mri
    }
    for op in reversed(connector.operations):
        if op.kind in ("send", "reply") and op.conversation_id in chats:
            for card in adaptive_cards(op.body):
                return data_of(card, "head.confirm")
    raise AssertionError("the Head of Entity got no card")


async def test_another_entitys_focal_point_cannot_confirm_or_steer_desas_certification(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)  # FOCAL for DESA, OTHER_FOCAL for DPO
    await hold_two_sessions(bot, connector, people)
    await name_head(bot, connector, "DESA", HEAD)
    await bot.flush()
    _, card = await bot.execute(
        FOCAL, Chat(kind="personal", id="a:focal"), "1", "focal.certify", {"entity": "DESA"}
    )
    assert "Submitted to the Head of Entity" in card_text(card)
    await bot.flush()
    wanted = confirm_data(connector)
    before = await rows(bot, "certifications")
    directory_before = await rows(bot, "directory")

    # Confirming DESA with the real card's data, or with forged data: refused, and the refusal
    # carries none of DESA's figures or units.
    for data in (
        wanted,
        {**wanted, "submitted": "2026-01-01T00:00:00+00:00"},
        {"entity": "DESA"},
        {"entity": ["DESA"], "submitted": wanted["submitted"]},
    ):
        _, refused = await bot.execute(OTHER_FOCAL, ATTACKER_CHAT, "1", "head.confirm", data)
        text = card_text(refused)
        assert "Only the entity's named Head of Entity" in text, data
        assert "Population Division" not in text and "Statistics Division" not in text
        assert "Li Wei" not in text

    # Named Head of their own entity (DPO), they still confirm nothing of DESA's.
    await name_head(bot, connector, "DPO", OTHER_FOCAL)
    _, refused = await bot.execute(OTHER_FOCAL, ATTACKER_CHAT, "1", "head.confirm", wanted)
    assert "Only the entity's named Head of Entity" in card_text(refused)

    # They cannot name themselves (or anyone) Head of DESA, by card or by command.
    connector.set_members(ATTACKER_CHAT.id, [OTHER_FOCAL.member()])
    self_named = {"head_entity": "DESA", "head_upn": OTHER_FOCAL.member()["userPrincipalName"]}
    _, refused = await bot.execute(OTHER_FOCAL, ATTACKER_CHAT, "1", "admin.head", self_named)
    assert "Only Ethics Office administrators" in card_text(refused)
    await bot.say(OTHER_FOCAL, ATTACKER_CHAT, f"head DESA {OTHER_FOCAL.mri}", mention=False)
    assert "Only Ethics Office administrators" in connector.activities(ATTACKER_CHAT.id)[-1]["text"]

    # Nor submit DESA's Appendix E again, nor change DESA's personnel.
    for verb, data in (
        ("focal.certify", {"entity": "DESA"}),
        ("focal.certify_preview", {"entity": "DESA"}),
        ("focal.personnel", {"entity": "DESA", "entity_personnel": "5"}),
        ("admin.personnel", {"personnel_entity": "DESA", "entity_personnel": "5"}),
    ):
        _, refused = await bot.execute(OTHER_FOCAL, ATTACKER_CHAT, "1", verb, data)
        assert "Only the entity's focal point" in card_text(
            refused
        ) or "Only Ethics Office administrators" in card_text(refused), verb
        assert "Population Division" not in card_text(refused)

    # Nothing of DESA's changed: the snapshot still awaits its own Head; no DESA personnel.
    assert await rows(bot, "certifications") == before
    heads = {
        r["RowKey"]: r["AadId"] for r in await rows(bot, "directory") if r["PartitionKey"] == "head"
    }
    assert heads == {"DESA": HEAD.aad_id, "DPO": OTHER_FOCAL.aad_id}
    assert not [
        r
        for r in await rows(bot, "directory")
        if r["PartitionKey"].startswith("personnel-") and r not in directory_before
    ]

    # The real Head confirms: the attacker's attempts left the card good.
    _, done = await bot.execute(
        HEAD, Chat(kind="personal", id="a:head"), "1", "head.confirm", wanted
    )
    assert "Confirmed on" in card_text(done)
