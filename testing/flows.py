"""Steps of the Teams journeys that many tests share."""

from __future__ import annotations

import re
from typing import Any

from azure.data.tables.aio import TableServiceClient

from testing.connector import REPLY, SEND, FakeConnector, adaptive_cards
from testing.teams import BotUnderTest, Chat, User, card_sid, card_text, data_of, elements, verbs

SETUP = {
    "entity": "DESA",
    "unit": "Statistics Division, Data Section",
    "personnel": "30",
    "language": "en",
    "date": "2026-11-20",
}
# A question the group could not answer, and a complete Appendix C answer.
QUESTION = "May I share a UN job advert on LinkedIn with my own comment?"
GOOD_C = {"c7": "4", "c9": "5", "c10": "Lively discussion", "c15": "Impartiality online"}
# An Ethics Office admin and the focal points of DESA and DPO.
ADMIN = User.make("Layla Haddad", 500)
FOCAL = User.make("Mateo Fernández", 501)
OTHER_FOCAL = User.make("Ingrid Berg", 502)
# A complete Appendix F answer: every rating item, and one comment.
GOOD_F = {"f1": "5", "f2": "4", "f3": "5", "f4": "3", "f5": "4", "f6": "Well prepared"}


def last_card_message(connector: FakeConnector, chat: Chat) -> tuple[str, dict[str, Any]]:
    """The id and card of the newest card message the bot posted in the chat."""
    for op in reversed(connector.calls((SEND, REPLY), chat.id)):
        cards = adaptive_cards(op.body)
        if cards:
            assert op.activity_id
            return op.activity_id, cards[0]
    raise AssertionError("the bot posted no card in this chat")


async def start_session(
    bot: BotUnderTest,
    connector: FakeConnector,
    chat: Chat,
    leader: User,
    **form: Any,
) -> tuple[str, dict[str, Any]]:
    """`@bot start`, then the leader submits the setup card; the card id and leader's view."""
    assert await bot.say(leader, chat, "start") == 201
    card_id, card = last_card_message(connector, chat)
    assert any(el.get("id") == "entity" for el in card["body"]), (
        "the bot did not answer start with the setup card"
    )
    status, view = await bot.execute(leader, chat, card_id, "setup.submit", {**SETUP, **form})
    assert status == 200 and view is not None
    return card_id, view


def posted_cards(connector: FakeConnector, chat: Chat) -> list[tuple[str, dict[str, Any]]]:
    """(message id, card) of every card the bot posted in the chat, oldest first."""
    out = []
    for op in connector.calls((SEND, REPLY), chat.id):
        for card in adaptive_cards(op.body):
            out.append((op.activity_id, card))
    return out


def find_posted(connector: FakeConnector, chat: Chat, verb: str) -> tuple[str, dict[str, Any]]:
    """The newest posted card offering this verb."""
    for card_id, card in reversed(posted_cards(connector, chat)):
        if verb in verbs(card):
            return card_id, card
    raise AssertionError(f"no posted card offers {verb}")


async def run_to_conclusion(
    bot: BotUnderTest,
    connector: FakeConnector,
    chat: Chat,
    leader: User,
    participants: list[User],
    *,
    question: str | None = None,
    named: tuple[str, ...] = (),
    **form: Any,
) -> tuple[str, str, dict[str, Any]]:
    """A whole session: sign-ins, names the leader adds, two scenarios, a question, conclusion.

    Returns the session id, the agenda card's id, and the keys after-session actions carry.
    """
    card_id, view = await start_session(bot, connector, chat, leader, **form)
    sid = card_sid(view)
    for person in participants:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    for name in named:
        _, card = await bot.execute(
            leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": name}
        )
        assert f"{name} is on the sheet" in card_text(card)
    agenda_id, _ = find_posted(connector, chat, "question.log")

    async def next_section() -> None:
        _, card = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(card, "agenda.next"))

    await next_section()
    await next_section()
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    for scenario in ("s1", "s2"):
        await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
        scenario_id, _ = find_posted(connector, chat, "scenario.view")
        await bot.execute(
            leader, chat, scenario_id, "scenario.wrap", {"sid": sid, "scenario": scenario}
        )
    if question:
        await bot.execute(
            participants[0],
            chat,
            agenda_id,
            "question.log",
            {"sid": sid, "question_text": question},
        )
    await next_section()
    _, card = await bot.execute(leader, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    return sid, agenda_id, data_of(card, "feedback.open")


def urls(card: dict[str, Any]) -> list[str]:
    """The links a card offers (Action.OpenUrl)."""
    return [n["url"] for n in elements(card) if n.get("type") == "Action.OpenUrl"]


async def hold_two_sessions(
    bot: BotUnderTest, connector: FakeConnector, people: list[User]
) -> None:
    """Two sessions of DESA in two units, and one of DPO."""
    await run_to_conclusion(
        bot, connector, Chat(), people[0], people[1:5], unit="Population Division", personnel="20"
    )
    await run_to_conclusion(
        bot, connector, Chat(), people[5], people[6:9], unit="Statistics Division", personnel="12"
    )
    await run_to_conclusion(
        bot,
        connector,
        Chat(),
        people[10],
        people[11:13],
        entity="DPO",
        unit="Policy Team",
        personnel="8",
    )


async def rows(bot: BotUnderTest, table: str) -> list[dict]:
    """Every entity of one of the bot's tables, read straight from Azurite."""
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        client = service.get_table_client(bot.settings.table_prefix + table)
        return [entity async for entity in client.list_entities()]


async def shared_card(connector: FakeConnector, chat: Chat, card_id: str, expect: str) -> dict:
    """The shared card once a background update shows the expected text."""
    return await connector.wait_for(
        lambda: (
            (card := connector.latest_card(chat.id, card_id)) and expect in card_text(card) and card
        ),
        timeout=5,
    )


def last_card(connector: FakeConnector, chat: Chat) -> dict[str, Any]:
    """The newest card the bot sent in the chat, in any activity."""
    for activity in reversed(connector.activities(chat.id)):
        cards = adaptive_cards(activity)
        if cards:
            return cards[0]
    raise AssertionError("no card")


async def name_focal_points(bot: BotUnderTest, connector: FakeConnector) -> None:
    """The admin names FOCAL for DESA by mention, OTHER_FOCAL for DPO by e-mail (UPN)."""
    group = Chat()
    connector.set_members(group.id, [ADMIN.member(), FOCAL.member(), OTHER_FOCAL.member()])
    at = f"<at>{FOCAL.name}</at>"
    activity = bot.activity(
        ADMIN,
        group,
        type="message",
        text=f"<at>Dialogue Bot</at> focal DESA {at}",
        entities=[
            {
                "type": "mention",
                "mentioned": {"id": "28:dialogue-bot", "name": "Dialogue Bot"},
                "text": "<at>Dialogue Bot</at>",
            },
            {"type": "mention", "mentioned": {"id": FOCAL.mri, "name": FOCAL.name}, "text": at},
        ],
    )
    assert (await bot.post(activity))[0] == 201
    assert (
        "Mateo Fernández is now focal point for DESA" in connector.activities(group.id)[-1]["text"]
    )
    status, card = await bot.execute(
        ADMIN,
        group,
        "1",
        "admin.focal",
        {"focal_entity": "DPO", "focal_upn": OTHER_FOCAL.member()["userPrincipalName"]},
    )
    assert "Ingrid Berg is now focal point for DPO" in card_text(card)


# A results bar as the card words it: "Yes: 2 (67%)" (French and Spanish put a space before %).
COUNTS = re.compile(r": \d+ \(\d+\s?%\)")


async def to_scenarios(bot, connector, chat: Chat, leader: User, sid: str) -> str:
    """The leader moves the session plan on to the scenarios; the agenda card's id."""
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for _ in range(2):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    return agenda_id


async def first_scenario(bot, connector, chat: Chat, leader: User, sid: str) -> str:
    """To the scenarios, in the order s1, s2, and the first one under way; its card's id."""
    agenda_id = await to_scenarios(bot, connector, chat, leader, sid)
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    return scenario_id


async def open_poll(bot, connector, people, chat, *, options: str = "Yes\nNo\nNot sure"):
    """A session in its first scenario with the leader's own poll open: (sid, card id, poll)."""
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for person in people[1:6]:
        await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    scenario_id = await first_scenario(bot, connector, chat, leader, sid)
    await bot.execute(
        leader,
        chat,
        scenario_id,
        "poll.open_adhoc",
        {"sid": sid, "scenario": "s1", "poll_question": "Is this clear?", "poll_options": options},
    )
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    return sid, poll_card_id, data_of(poll_card, "poll.vote")["poll"]


async def vote(bot, person, chat, card_id: str, sid: str, poll: str, choice: str) -> dict[str, Any]:
    """One participant's vote, seen to be recorded."""
    status, card = await bot.execute(
        person, chat, card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": choice}
    )
    assert status == 200 and "Your vote is recorded" in card_text(card)
    return card


async def import_members(
    bot: BotUnderTest,
    leader: User,
    chat: Chat,
    card_id: str,
    sid: str,
    *,
    only: list[User] | None = None,
) -> dict[str, Any]:
    """ "Add chat members": the checklist, then every offered member (or `only` those) ticked."""
    status, checklist = await bot.execute(leader, chat, card_id, "attendance.import", {"sid": sid})
    assert status == 200 and checklist is not None
    offered = [
        c["value"]
        for el in checklist["body"]
        if el.get("id") == "roster_pick"
        for c in el["choices"]
    ]
    picked = [u.aad_id for u in only] if only is not None else offered
    _, sheet = await bot.execute(
        leader,
        chat,
        card_id,
        "attendance.import_confirm",
        {"sid": sid, "roster_pick": ",".join(picked)},
    )
    assert sheet is not None
    return sheet
