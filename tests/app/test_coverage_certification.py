"""Through HTTP: the entity's whole personnel beside the Appendix E ratio, the Head of Entity's
confirmation of Appendix E, and extensions past February in the report and its export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import aiohttp
from azure.data.tables.aio import TableServiceClient

from dialogs.exports import Labels, OrgRow, organization_csv
from testing.connector import CREATE_CONVERSATION, adaptive_cards
from testing.flows import (
    ADMIN,
    FOCAL,
    OTHER_FOCAL,
    hold_two_sessions,
    last_card,
    name_focal_points,
    rows,
    urls,
)
from testing.teams import Chat, User, card_text, data_of, verbs

HEAD = User.make("Li Wei", 503)
PERSONAL = Chat(kind="personal", id="a:focal-chat")


async def name_head(bot, connector) -> None:
    """The admin names HEAD as Head of Entity of DESA from the admin card, by e-mail."""
    group = Chat()
    connector.set_members(group.id, [ADMIN.member(), HEAD.member()])
    data = {"head_entity": "DESA", "head_upn": HEAD.member()["userPrincipalName"]}
    _, card = await bot.execute(ADMIN, group, "1", "admin.head", data)
    assert "Li Wei is now Head of Entity for DESA" in card_text(card)
    assert "Head of Entity: Li Wei" in card_text(card)


async def csv_of(bot, url: str) -> list[list[str]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + url.split("127.0.0.1:3978")[-1]) as response:
            assert response.status == 200
            return list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))


def head_cards(connector) -> list[dict]:
    """The cards the bot sent to the Head of Entity in personal chat."""
    created = [
        op.conversation_id
        for op in connector.calls(CREATE_CONVERSATION)
        if op.body["members"][0]["id"] == HEAD.mri
    ]
    return [
        card
        for op in connector.operations
        if op.kind in ("send", "reply") and op.conversation_id in created
        for card in adaptive_cards(op.body)
    ]


async def test_coverage_of_the_whole_entity_is_recorded_and_shown_beside_appendix_e(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await hold_two_sessions(bot, connector, people)
    await bot.flush()

    await bot.say(FOCAL, PERSONAL, "progress", mention=False)
    text = card_text(last_card(connector, PERSONAL))
    # 7 participants of the 32 personnel of the two units that held a session.
    assert "Coverage: 22% of personnel in the units that held a session" in text
    assert "The entity's whole personnel is not recorded" in text

    for bad in ("0", "lots", "-3", "2000000"):
        status, card = await bot.execute(
            FOCAL, PERSONAL, "1", "focal.personnel", {"entity": "DESA", "entity_personnel": bad}
        )
        assert status == 200, (status, card)
        assert "whole number" in card_text(card).lower() or "between" in card_text(card), bad
    # Another entity's focal point cannot set DESA's figure, whatever the card says.
    _, card = await bot.execute(
        OTHER_FOCAL, PERSONAL, "1", "focal.personnel", {"entity": "DESA", "entity_personnel": "9"}
    )
    assert "Only the entity's focal point" in card_text(card)

    _, card = await bot.execute(
        FOCAL, PERSONAL, "1", "focal.personnel", {"entity": "DESA", "entity_personnel": "350"}
    )
    text = card_text(card)
    assert "Total personnel of Department of Economic and Social Affairs recorded: 350" in text
    assert "Of the entity's whole personnel: 2% took part (7 of 350)" in text
    assert "Coverage: 22% of personnel in the units that held a session" in text
    stored = [r for r in await rows(bot, "directory") if r["PartitionKey"] == "personnel-2026"]
    assert [(r["RowKey"], r["Personnel"], r["RecordedBy"]) for r in stored] == [
        ("DESA", 350, FOCAL.aad_id)
    ]
    audit = [r for r in await rows(bot, "audit") if r["Action"] == "entity.personnel"]
    assert json.loads(audit[0]["Details"]) == {"entity": "DESA", "personnel": 350}

    # The admin records DPO's figure from the admin card; the report shows both ratios.
    _, card = await bot.execute(
        ADMIN, PERSONAL, "1", "admin.personnel", {"personnel_entity": "DPO", "entity_personnel": 40}
    )
    assert "Total personnel of DPO recorded: 40" in card_text(card)
    await bot.say(ADMIN, PERSONAL, "report", mention=False)
    report = last_card(connector, PERSONAL)
    assert "of the entity's whole personnel" in card_text(report)
    table = await csv_of(bot, urls(report)[0])
    header = table[1]
    assert header[9:11] == [
        "Total personnel of the entity",
        "Participants of the entity's whole personnel",
    ]
    by_code = {row[0]: row for row in table[2:] if row[0] in ("DESA", "DPO")}
    assert by_code["DESA"][9:11] == ["350", "2.0%"]
    assert by_code["DPO"][9:11] == ["40", "5.0%"]
    # The focal point's Appendix E export carries it too.
    entity_table = await csv_of(bot, urls(last_card_of_progress(connector))[0])
    facts = {row[1]: row[2] for row in entity_table if len(row) > 2 and row[1]}
    assert facts["Total personnel of the entity"] == "350"
    assert facts["Participants of the entity's whole personnel"] == "2.0%"


def last_card_of_progress(connector) -> dict:
    """The newest progress card in the focal point's chat."""
    for activity in reversed(connector.activities(PERSONAL.id)):
        for card in adaptive_cards(activity):
            if "focal.certify_preview" in verbs(card):
                return card
    raise AssertionError("no progress card")


async def test_the_focal_point_submits_and_only_the_head_of_entity_confirms(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await hold_two_sessions(bot, connector, people)
    await name_head(bot, connector)
    await bot.flush()

    _, preview = await bot.execute(
        FOCAL, PERSONAL, "1", "focal.certify_preview", {"entity": "DESA"}
    )
    assert "Submit to the Head of Entity" in card_text(preview)
    assert "Li Wei" in card_text(preview)
    _, card = await bot.execute(FOCAL, PERSONAL, "1", "focal.certify", {"entity": "DESA"})
    text = card_text(card)
    assert "Submitted to the Head of Entity, Li Wei: 7 participants in 2 sessions" in text
    assert "awaiting the Head of Entity's confirmation" in text
    snapshot = (await rows(bot, "certifications"))[0]
    assert snapshot["CertifiedBy"] == FOCAL.aad_id and snapshot["HeadOfEntity"] == HEAD.aad_id
    assert "ConfirmedAt" not in snapshot

    # The Head of Entity's personal card: the Appendix E summary, and Confirm.
    await bot.flush()
    sent = head_cards(connector)
    assert sent, "the Head of Entity got no card"
    head_card = sent[-1]
    assert "Certify Appendix E" in card_text(head_card)
    assert "Prepared by the focal point, Mateo Fernández" in card_text(head_card)
    assert "Population Division" in card_text(head_card)
    assert not any(p.name in card_text(head_card) for p in people[1:9])  # no participant names
    confirm = data_of(head_card, "head.confirm")

    # The focal point, another entity's focal point, the admin, a participant: refused alike.
    for someone in (FOCAL, OTHER_FOCAL, ADMIN, people[2]):
        _, refused = await bot.execute(someone, PERSONAL, "1", "head.confirm", confirm)
        assert "Only the entity's named Head of Entity" in card_text(refused), someone.name
        assert "Population Division" not in card_text(refused)
    assert "ConfirmedAt" not in (await rows(bot, "certifications"))[0]

    head_chat = Chat(kind="personal", id="a:head")
    _, done = await bot.execute(HEAD, head_chat, "1", "head.confirm", confirm)
    assert "Confirmed on" in card_text(done) and "head.confirm" not in verbs(done)
    stored = (await rows(bot, "certifications"))[0]
    assert stored["ConfirmedAt"] and stored["CertifiedBy"] == FOCAL.aad_id
    assert stored["HeadOfEntity"] == HEAD.aad_id and stored["HeadOfEntityName"] == "Li Wei"

    _, card = await bot.execute(FOCAL, PERSONAL, "1", "focal.progress", {"entity": "DESA"})
    assert "confirmed by the Head of Entity, Li Wei" in card_text(card)
    await bot.say(ADMIN, PERSONAL, "report", mention=False)
    report = card_text(last_card(connector, PERSONAL))
    assert "by the Head of Entity" in report and "Li Wei" not in report
    audit = {r["Action"] for r in await rows(bot, "audit")}
    assert {"head.name", "entity.certify", "entity.certify_confirm"} <= audit


async def test_a_snapshot_stored_before_heads_of_entity_reads_as_the_focal_points(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await hold_two_sessions(bot, connector, people)
    await bot.flush()
    # A row as the bot stored it before Heads of Entity confirmed: none of their properties.
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        table = service.get_table_client(bot.settings.table_prefix + "certifications")
        await table.upsert_entity(
            {
                "PartitionKey": "2026",
                "RowKey": "DESA",
                "Sessions": 2,
                "Participants": 7,
                "Personnel": 32,
                "Units": "[]",
                "CertifiedBy": FOCAL.aad_id,
                "CertifiedByName": FOCAL.name,
                "CertifiedAt": bot_time(),
            }
        )
    _, card = await bot.execute(FOCAL, PERSONAL, "1", "focal.progress", {"entity": "DESA"})
    assert "Certified on" in card_text(card) and "by Mateo Fernández" in card_text(card)
    await bot.say(ADMIN, PERSONAL, "report", mention=False)
    assert "by the focal point" in card_text(last_card(connector, PERSONAL))


def bot_time():
    from datetime import UTC, datetime

    return datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


async def test_the_report_marks_an_extension_past_february(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await bot.execute(
        FOCAL, PERSONAL, "1", "focal.extension", {"entity": "DESA", "reason": "Mission"}
    )
    await bot.say(ADMIN, PERSONAL, "report", mention=False)
    report = last_card(connector, PERSONAL)
    grant = data_of(report, "admin.extension")
    _, report = await bot.execute(
        ADMIN, PERSONAL, "1", "admin.extension", {**grant, grant["field"]: "2027-03-15"}
    )
    text = card_text(report)
    assert "beyond February" in text
    assert (
        "“will not be included among those offices that have completed the Dialogue in that"
        " report” (FAQ)"
    ) in text
    table = await csv_of(bot, urls(report)[0])
    assert table[1][12] == "Extension beyond February"
    desa = next(row for row in table if row[0] == "DESA")
    assert "will not be included among those offices that have completed" in desa[12]
    assert not next(row for row in table if row[0] == "DPO")[12]


def test_the_organization_export_names_who_certified_and_february() -> None:
    rows_ = [
        OrgRow("A", "A", 1, 5, 10, 0.5, date(2026, 12, 1), date(2026, 12, 31), None, 100, "head"),
        OrgRow("B", "B", 1, 5, 10, 0.5, date(2026, 12, 1), date(2026, 12, 31), None, None, "focal"),
        OrgRow(
            "C",
            "C",
            1,
            5,
            10,
            0.5,
            None,
            date(2026, 12, 31),
            date(2027, 3, 9),
            None,
            "awaiting",
            True,
        ),
    ]
    table = list(
        csv.reader(io.StringIO(organization_csv(2026, rows_, Labels.english()).decode("utf-8-sig")))
    )
    assert [row[9:] for row in table[2:5]] == [
        ["100", "5.0%", "Confirmed by the Head of Entity", ""],
        ["not recorded", "", "Certified by the focal point", ""],
        [
            "not recorded",
            "",
            "Awaiting the Head of Entity's confirmation",
            "Yes: “will not be included among those offices that have completed the Dialogue in"
            " that report” (FAQ)",
        ],
    ]
