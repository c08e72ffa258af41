"""Personal views that survive shared updates: who Teams refreshes, and what each refresh shows."""

from __future__ import annotations

import pytest

from cards.catalog import Catalogs
from testing.connector import REPLY, SEND, adaptive_cards
from testing.faultproxy import on
from testing.flows import (
    data_of,
    find_posted,
    first_scenario,
    open_poll,
    posted_cards,
    rows,
    start_session,
    vote,
)
from testing.teams import Chat, User, card_sid, card_text, elements, executes, verbs


def refresh_ids(card: dict) -> list[str]:
    """The Teams ids a card asks Teams to refresh automatically."""
    return list((card.get("refresh") or {}).get("userIds") or [])


def my_view_buttons(card: dict) -> list[dict]:
    """The "Show my view" buttons among the card's actions."""
    return [a for a in card.get("actions", []) if a.get("title") == "Show my view"]


async def poll_session(bot, connector, people, chat):
    """Five on the sheet, the first scenario under way, the leader's poll open."""
    leader = people[0]
    sheet_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for person in people[1:6]:
        await bot.execute(person, chat, sheet_id, "signin", {"sid": sid})
    scenario_id = await first_scenario(bot, connector, chat, leader, sid)
    await bot.execute(
        leader,
        chat,
        scenario_id,
        "poll.open_adhoc",
        {
            "sid": sid,
            "scenario": "s1",
            "poll_question": "Is this clear?",
            "poll_options": "Yes\nNo\nNot sure",
        },
    )
    poll_card_id, poll_card = find_posted(connector, chat, "poll.vote")
    return sid, sheet_id, poll_card_id, data_of(poll_card, "poll.vote")["poll"]


async def test_each_listed_person_keeps_their_own_view_through_20_shared_updates(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    sid, sheet_id, poll_card_id, poll = await poll_session(bot, connector, people, chat)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    # 20 shared updates: twelve more sign-ins, seven votes and the plan moving.
    for person in people[6:18]:
        await bot.execute(person, chat, sheet_id, "signin", {"sid": sid})
    voters = {p: str(n % 3) for n, p in enumerate(people[1:8])}
    for person, choice in voters.items():
        await vote(bot, person, chat, poll_card_id, sid, poll, choice)
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    await bot.flush()

    signed_in = people[1:18]
    latecomer = people[20]
    for card_id in (sheet_id, poll_card_id, agenda_id):
        shared = connector.latest_card(chat.id, card_id)
        assert shared is not None
        listed = refresh_ids(shared)
        # The leader first; then everyone on the sheet; never someone who did not sign in.
        assert listed[0] == leader.mri, card_id
        assert set(listed) == {leader.mri, *(p.mri for p in signed_in)}, card_id
        assert latecomer.mri not in listed
        # The shared card holds no one's own state, and nothing only the leader may press.
        text = card_text(shared)
        assert "You are signed in" not in text, card_id
        assert "Your answer:" not in text, card_id
        assert "Leader controls" not in text
        assert my_view_buttons(shared), card_id
    shared_sheet = connector.latest_card(chat.id, sheet_id)
    assert {"signin.close", "attendance.import"}.isdisjoint(verbs(shared_sheet))

    # Each listed participant's automatic refresh answers their own view, and only theirs.
    options = ["Yes", "No", "Not sure"]
    for person in signed_in:
        _, sheet = await bot.execute(
            person, chat, sheet_id, "signin.view", {"sid": sid}, trigger="automatic"
        )
        text = card_text(sheet)
        assert f"You are signed in as {person.name}" in text
        others = [p.name for p in signed_in if p != person]
        assert not any(name in text for name in others), person.name
        _, card = await bot.execute(
            person,
            chat,
            poll_card_id,
            "poll.view",
            {"sid": sid, "poll": poll},
            trigger="automatic",
        )
        text = card_text(card)
        if person in voters:
            assert f"Your answer: {options[int(voters[person])]}" in text, person.name
        else:
            assert "Your answer:" not in text
        # No count per option while the poll is open (they would move with each vote).
        assert "%" not in text
        assert not any(name in text for name in others)
    # The leader's refresh brings the leader's controls back.
    _, leader_sheet = await bot.execute(
        leader, chat, sheet_id, "signin.view", {"sid": sid}, trigger="automatic"
    )
    assert "signin.close" in verbs(leader_sheet)
    assert all(p.name in card_text(leader_sheet) for p in signed_in)

    # Someone not on the sheet gets the generic card: sign in, and no one's names.
    _, generic = await bot.execute(
        latecomer, chat, sheet_id, "signin.view", {"sid": sid}, trigger="automatic"
    )
    assert "signin" in verbs(generic) and "You are signed in" not in card_text(generic)
    assert not any(p.name in card_text(generic) for p in signed_in)
    # Pressing "Show my view" by hand is never a refusal.
    for card_id, verb, data in (
        (sheet_id, "signin.view", {"sid": sid}),
        (agenda_id, "agenda.view", {"sid": sid}),
        (poll_card_id, "poll.view", {"sid": sid, "poll": poll}),
    ):
        _, card = await bot.execute(latecomer, chat, card_id, verb, data)
        assert "Only the session's" not in card_text(card), verb


async def test_beyond_60_the_leaders_side_is_listed_first_and_everyone_can_tap(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    sheet_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    crowd = [User.make(f"Colleague {n}", 5000 + n) for n in range(61)]
    monitor = crowd[-1]
    for person in crowd:
        await bot.execute(person, chat, sheet_id, "signin", {"sid": sid})
    _, view = await bot.execute(leader, chat, sheet_id, "signin.view", {"sid": sid})
    key = next(c["value"] for c in _choices(view, "monitor_key") if c["title"] == monitor.name)
    await bot.execute(leader, chat, sheet_id, "session.monitor", {"sid": sid, "monitor_key": key})
    await bot.flush()

    shared = connector.latest_card(chat.id, sheet_id)
    listed = refresh_ids(shared)
    assert len(listed) == 60
    # The leader and the monitor never lose their automatic refresh to the crowd.
    assert listed[:2] == [leader.mri, monitor.mri]
    assert "Press “Show my view”" in card_text(shared)
    assert my_view_buttons(shared)
    left_out = [p for p in crowd if p.mri not in listed]
    assert len(left_out) == 2
    # The 61st person taps "Show my view" and sees their own sign-in.
    _, own = await bot.execute(left_out[0], chat, sheet_id, "signin.view", {"sid": sid})
    assert f"You are signed in as {left_out[0].name}" in card_text(own)

    # With 60 or fewer, the note is not shown.
    small = Chat()
    small_id, small_view = await start_session(bot, connector, small, leader)
    await bot.execute(people[1], small, small_id, "signin", {"sid": card_sid(small_view)})
    await bot.flush()
    assert "Show my view”" not in card_text(connector.latest_card(small.id, small_id))


def _choices(card: dict, input_id: str) -> list[dict]:
    from testing.teams import elements

    for element in elements(card):
        if element.get("id") == input_id:
            return element.get("choices", [])
    raise AssertionError(f"no input {input_id}")


@pytest.fixture
async def proxied(start_proxied):
    return await start_proxied()


async def test_a_refresh_reads_little_storage(proxied, proxy, connector, people, capsys):
    bot, chat = proxied, Chat()
    sid, sheet_id, poll_card_id, poll = await poll_session(bot, connector, people, chat)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    await vote(bot, people[1], chat, poll_card_id, sid, poll, "0")
    await bot.flush()
    reads, paths = {}, {}
    for name, card_id, verb, data in (
        ("sheet", sheet_id, "signin.view", {"sid": sid}),
        ("agenda", agenda_id, "agenda.view", {"sid": sid}),
        ("poll", poll_card_id, "poll.view", {"sid": sid, "poll": poll}),
    ):
        proxy.clear_log()
        await bot.execute(people[2], chat, card_id, verb, data, trigger="automatic")
        reads[name] = len(proxy.requests(on(method="GET")))
        paths[name] = [e.path.rsplit("/", 1)[-1][:40] for e in proxy.requests(on(method="GET"))]
        assert not proxy.requests(on(method="PUT")) and not proxy.requests(on(method="POST"))
        assert not proxy.requests(on(method="MERGE")) and not proxy.requests(on(method="DELETE"))
    with capsys.disabled():
        print(f"\nstorage reads per automatic refresh: {reads} {paths}")
    # What the click path reads anyway: the session (cached a moment by the process); the
    # sheet, one partition query; a poll, its row, the person's vote and the live voter count
    # (one more read allowed: a background session read may land in the window).
    assert reads["agenda"] <= 1 and reads["sheet"] <= 2 and reads["poll"] <= 5, reads


async def test_the_poll_command_brings_back_open_polls_and_the_scenario(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, poll_card_id, poll = await open_poll(bot, connector, people, chat)
    late = people[10]
    assert await bot.say(late, chat, "sondage") == 201
    posted = posted_cards(connector, chat)[-2:]
    (scenario_id, scenario), (new_poll_id, poll_card) = posted
    assert "scenario.view" in {a.get("verb") for a in executes(scenario)}
    assert new_poll_id != poll_card_id
    # The re-posted poll is the shared card, in the session's language; the late joiner votes.
    assert data_of(poll_card, "poll.vote")["poll"] == poll
    assert "Is this clear?" in card_text(poll_card)
    await vote(bot, late, chat, new_poll_id, sid, poll, "1")
    await bot.flush()
    # Later updates go to the newest cards, the ones at the bottom of the chat.
    stored = next(r for r in await rows(bot, "polls") if r["RowKey"] == poll)
    assert stored["CardId"] == new_poll_id
    session = (await rows(bot, "sessions"))[0]
    assert session["ScenarioCardId"] == scenario_id
    # With no poll open and no scenario under way, the command says so.
    await bot.execute(leader, chat, new_poll_id, "poll.close", {"sid": sid, "poll": poll})
    other = Chat()
    _, view = await start_session(bot, connector, other, leader)
    assert await bot.say(people[1], other, "poll") == 201
    replies = [op.body for op in connector.calls((SEND, REPLY), other.id)]
    assert "No poll is open" in replies[-1]["text"]


async def test_the_agenda_and_sheet_reposts_keep_the_personal_views(bot, connector, people):
    chat, leader = Chat(), people[0]
    sheet_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.execute(people[1], chat, sheet_id, "signin", {"sid": sid})
    for word in ("agenda", "sheet"):
        assert await bot.say(people[2], chat, word) == 201
        card = [op.body for op in connector.calls((SEND, REPLY), chat.id)][-1]
        shared = adaptive_cards(card)[0]
        assert set(refresh_ids(shared)) == {leader.mri, people[1].mri}, word
        assert my_view_buttons(shared), word


async def test_conclude_says_what_it_closes_and_closes_it(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, poll_card_id, poll = await open_poll(bot, connector, people, chat)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    _, view = await bot.execute(
        leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next")
    )
    text = card_text(view)
    assert "sign-in closes, every open poll closes" in text and "sheet is frozen" in text
    # The confirmation is folded behind the Conclude button.
    conclude = next(a for a in elements(view) if a.get("title") == "Conclude the Dialogue")
    assert conclude["type"] == "Action.ShowCard"
    _, done = await bot.execute(leader, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    assert "sign-in is closed, the open polls are closed" in card_text(done)
    stored = next(r for r in await rows(bot, "polls") if r["RowKey"] == poll)
    assert stored["Status"] == "closed"
    session = (await rows(bot, "sessions"))[0]
    assert session["Status"] != "signin" and session.get("FrozenAt")
    # A participant's shared agenda holds nothing only the leader may press.
    await bot.flush()
    shared = connector.latest_card(chat.id, agenda_id)
    assert "dialogue.conclude" not in verbs(shared)


async def test_the_size_advice_waits_for_the_first_sign_in(bot, connector, people):
    chat, leader = Chat(), people[0]
    sheet_id, view = await start_session(bot, connector, chat, leader)
    assert "Far below" not in card_text(view)
    sid = card_sid(view)
    await bot.execute(people[1], chat, sheet_id, "signin", {"sid": sid})
    _, view = await bot.execute(leader, chat, sheet_id, "signin.view", {"sid": sid})
    assert "Far below the recommended 10 to 25" in card_text(view)


async def test_signing_in_and_logging_a_question_confirm_to_the_clicker(bot, connector, people):
    chat, leader = Chat(), people[0]
    sheet_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    _, card = await bot.execute(people[1], chat, sheet_id, "signin", {"sid": sid})
    assert "you are on the sign-in sheet" in card_text(card)
    assert f"You are signed in as {people[1].name}" in card_text(card)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    _, card = await bot.execute(
        people[1], chat, agenda_id, "question.log", {"sid": sid, "question_text": "Who decides?"}
    )
    assert "Your question is logged for the leader, without your name" in card_text(card)
    # Neither answer offers the participant anything that would only refuse them.
    assert verbs(card) & {"agenda.next", "dialogue.conclude", "scenarios.poll"} == set()


def test_counted_nouns_take_their_plural_form():
    catalogs = Catalogs.load()
    fields = {"participants": 1, "certified": 0, "entities": 3}
    assert catalogs.text("en", "report.summary", {**fields, "sessions": 1}).startswith(
        "1 session held, 1 participant,"
    )
    assert catalogs.text("en", "report.summary", {**fields, "sessions": 2}).startswith(
        "2 sessions held,"
    )
    assert catalogs.text("fr", "report.summary", {**fields, "sessions": 1}).startswith(
        "1 séance tenue, 1 participant,"
    )
    assert catalogs.text("es", "report.summary", {**fields, "sessions": 2}).startswith(
        "2 sesiones celebradas, 1 participante,"
    )
    assert catalogs.text("en", "progress.deadline", {"date": "x", "days": 1}).endswith("1 day left")
