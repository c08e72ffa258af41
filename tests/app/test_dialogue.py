"""The 90 minutes, in compressed time: agenda, scenario choice, scenarios, polls, conclusion."""

from __future__ import annotations

import asyncio
import json

from testing.flows import data_of, find_posted, first_scenario, rows, shared_card, start_session
from testing.teams import Chat, User, card_sid, card_text, verbs


async def begin(bot, connector, people, chat):
    """Setup, five sign-ins; returns (sign-in card id, sid, agenda card id)."""
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for p in people[1:6]:
        await bot.execute(p, chat, card_id, "signin", {"sid": sid})
    agenda_id, agenda = find_posted(connector, chat, "question.log")
    return card_id, sid, agenda_id


async def test_a_whole_session_from_start_to_conclusion(timed_bot, connector, people, clock):
    bot, chat, leader = timed_bot, Chat(), people[0]
    participants = people[1:6]
    _, sid, agenda_id = await begin(bot, connector, people, chat)

    # Introduction: everyone sees the four sections and the ground rules.
    _, agenda = await bot.execute(
        participants[0], chat, agenda_id, "agenda.view", {"sid": sid}, trigger="automatic"
    )
    text = card_text(agenda)
    for section in ("Introduction", "Opening Activity", "Scenario Discussions", "Conclusion"):
        assert section in text
    assert "Ground rules" in text and "Turn judgement into curiosity" in text
    assert "agenda.next" not in verbs(agenda)

    clock.advance(11)
    _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    assert "11 of 10 min" in card_text(view)
    _, view = await bot.execute(
        leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next")
    )
    assert "On to: Opening Activity" in card_text(view)
    # A second click on the same button moves nothing.
    _, again = await bot.execute(
        leader, chat, agenda_id, "agenda.next", {"sid": sid, "stage": "introduction"}
    )
    assert "What did you learn from the experience?" in card_text(again)
    clock.advance(9)
    _, view = await bot.execute(
        leader, chat, agenda_id, "agenda.next", data_of(again, "agenda.next")
    )
    assert "Discuss at least 2 scenarios" in card_text(view)

    # The group chooses the scenarios in an anonymous multi-choice poll.
    _, view = await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
    assert "The poll is open" in card_text(view)
    poll_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    votes = ["0,1", "1", "1,2", "2,1", "1"]
    results = await asyncio.gather(
        *(
            bot.execute(p, chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": v})
            for p, v in zip(participants, votes, strict=True)
        )
    )
    assert all("Your vote is recorded" in card_text(card) for _, card in results)
    _, closed = await bot.execute(leader, chat, poll_id, "poll.close", {"sid": sid, "poll": poll})
    assert "final results" in card_text(closed)
    _, ordered = await bot.execute(
        leader, chat, poll_id, "scenarios.from_poll", {"sid": sid, "poll": poll}
    )
    assert "set in this order" in card_text(ordered)
    session = (await rows(bot, "sessions"))[0]
    assert json.loads(session["ScenarioOrder"]) == ["s2", "s3", "s1"]

    # Scenario 2: text and questions for everyone; follow-ups and points for the leader only.
    _, view = await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    assert "Scenario 2 is shown to everyone" in card_text(view)
    scenario_id, scenario_card = find_posted(connector, chat, "scenario.view")
    shared_text = card_text(scenario_card)
    assert "Sepideh" in shared_text and "What is happening in this scenario?" in shared_text
    assert "Follow-up questions" not in shared_text
    _, leader_view = await bot.execute(
        leader,
        chat,
        scenario_id,
        "scenario.view",
        {"sid": sid, "scenario": "s2"},
        trigger="automatic",
    )
    assert "Follow-up questions (leader only)" in card_text(leader_view)
    assert "Standards of Conduct para. 37" in card_text(leader_view)
    _, participant_view = await bot.execute(
        participants[0], chat, scenario_id, "scenario.view", {"sid": sid, "scenario": "s2"}
    )
    assert "Follow-up questions" not in card_text(participant_view)
    # "Show my view" gives a participant their own view: no refusal, no controls to refuse.
    assert "Only the session's discussion leader" not in card_text(participant_view)
    assert verbs(participant_view) <= {"scenario.view"}

    # A quick poll from the pack, then past the suggested time the leader is told.
    _, view = await bot.execute(
        leader,
        chat,
        scenario_id,
        "poll.open_pack",
        {"sid": sid, "scenario": "s2", "pack_poll": "s2-p1"},
    )
    quick_id, quick_card = find_posted(connector, chat, "poll.vote")
    assert quick_id != poll_id
    quick = data_of(quick_card, "poll.vote")["poll"]
    for p in participants[:3]:
        await bot.execute(p, chat, quick_id, "poll.vote", {"sid": sid, "poll": quick, "vote": "0"})
    await bot.execute(leader, chat, quick_id, "poll.close", {"sid": sid, "poll": quick})
    clock.advance(31)
    _, leader_view = await bot.execute(
        leader, chat, scenario_id, "scenario.view", {"sid": sid, "scenario": "s2"}
    )
    assert "past the suggested 30 minutes" in card_text(leader_view)
    _, wrapped = await bot.execute(
        leader, chat, scenario_id, "scenario.wrap", {"sid": sid, "scenario": "s2"}
    )
    assert "Key messages" in card_text(wrapped)
    assert "your status as a UN staff member is not private" in card_text(wrapped)
    shared = await shared_card(connector, chat, scenario_id, "Key messages")
    assert "Follow-up questions" not in card_text(shared)

    # Scenario 3, an unanswered question, then on to the conclusion.
    _, view = await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    second_id, _ = find_posted(connector, chat, "scenario.view")
    assert second_id != scenario_id
    clock.advance(25)
    await bot.execute(leader, chat, second_id, "scenario.wrap", {"sid": sid, "scenario": "s3"})
    _, view = await bot.execute(
        participants[2],
        chat,
        agenda_id,
        "question.log",
        {"sid": sid, "question_text": "Can I post photos of a UN event on my personal account?"},
    )
    assert "logged for the leader, without your name" in card_text(view)
    _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    assert "1 question the group could not answer" in card_text(view)
    _, view = await bot.execute(
        leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next")
    )
    assert "Key messages recap" in card_text(view)
    clock.advance(5)
    _, view = await bot.execute(leader, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    assert "recorded as held" in card_text(view)
    await shared_card(connector, chat, agenda_id, "The Dialogue is concluded")

    session = (await rows(bot, "sessions"))[0]
    assert session["Stage"] == "done" and session["HeldAt"]
    assert json.loads(session["ScenarioSeconds"]) == {"s2": 31 * 60, "s3": 25 * 60}
    questions = await rows(bot, "questions")
    assert [q["Text"] for q in questions] == [
        "Can I post photos of a UN event on my personal account?"
    ]
    assert set(questions[0]) - {"PartitionKey", "RowKey", "Text", "AskedAt", "Timestamp"} <= set()
    polls = await rows(bot, "polls")
    assert {p["Status"] for p in polls} == {"closed"} and {p["Salt"] for p in polls} == {""}
    choice = next(p for p in polls if p["Kind"] == "choice")
    assert json.loads(choice["Results"]) == [1, 5, 2] and choice["Voters"] == 5


async def test_twenty_five_concurrent_voters_some_changing_are_each_counted_once(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
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
            "poll_options": "Yes\nNo\n\nPartly\nYes",
        },
    )
    poll_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    voters = people[1:26]
    first = [str(n % 3) for n in range(25)]
    await asyncio.gather(
        *(
            bot.execute(p, chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": v})
            for p, v in zip(voters, first, strict=True)
        )
    )
    # Ten people change their minds to "No" while the others click again.
    second = ["1" if n < 10 else first[n] for n in range(25)]
    results = await asyncio.gather(
        *(
            bot.execute(p, chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": v})
            for p, v in zip(voters, second, strict=True)
        )
    )
    assert {status for status, _ in results} == {200}
    # While the poll is open, nothing in the votes table names or identifies a voter.
    votes = await rows(bot, "votes")
    assert len(votes) == 25
    dump = json.dumps([{k: str(v) for k, v in vote.items()} for vote in votes])
    for person in voters:
        assert person.aad_id not in dump and person.name not in dump and person.mri not in dump
    assert all(set(v) <= {"PartitionKey", "RowKey", "Choices", "Timestamp"} for v in votes)
    _, closed = await bot.execute(leader, chat, poll_id, "poll.close", {"sid": sid, "poll": poll})
    expected = [second.count("0"), second.count("1"), second.count("2")]
    stored = next(p for p in await rows(bot, "polls") if p["Kind"] == "adhoc")
    assert json.loads(stored["Options"]) == ["Yes", "No", "Partly"]
    assert json.loads(stored["Results"]) == expected and stored["Voters"] == 25
    assert f"Yes: {expected[0]} (" in card_text(closed)
    # The close keeps the tally in the poll row and deletes the vote rows.
    assert await rows(bot, "votes") == []
    # Votes after the close are refused and stored nowhere.
    status, card = await bot.execute(
        voters[0], chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "0"}
    )
    assert "The poll is closed: your vote was not counted" in card_text(card)
    assert await rows(bot, "votes") == []


async def test_forged_polls_and_options_are_refused(bot, connector, people):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for _ in range(2):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    # Choosing fewer than two scenarios, or one that does not exist, is refused.
    _, card = await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1"}
    )
    assert "Choose at least 2 scenarios" in card_text(card)
    _, card = await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s9"}
    )
    assert "not valid" in card_text(card)
    # A participant cannot open polls or move the agenda.
    _, card = await bot.execute(people[1], chat, agenda_id, "scenarios.poll", {"sid": sid})
    assert "Only the session's discussion leader" in card_text(card)
    await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
    poll_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    for vote in ("7", "-1", "0,0", "x", "", None, ["0"]):
        _, card = await bot.execute(
            people[2], chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": vote}
        )
        assert "not one of the options" in card_text(card), vote
    for forged in ("doesnotexist", "x' or 1 eq 1", 42):
        _, card = await bot.execute(
            people[2], chat, poll_id, "poll.vote", {"sid": sid, "poll": forged, "vote": "0"}
        )
        assert "not part of this session" in card_text(card)
    _, card = await bot.execute(people[2], chat, poll_id, "poll.close", {"sid": sid, "poll": poll})
    assert "Only the session's discussion leader" in card_text(card)
    _, card = await bot.execute(
        leader, chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "0"}
    )
    assert "the leader does not vote" in card_text(card)
    assert await rows(bot, "votes") == []
    # Participants see no results while the poll is open, before voting or after.
    _, card = await bot.execute(
        people[3], chat, poll_id, "poll.view", {"sid": sid, "poll": poll}, trigger="automatic"
    )
    assert "Results appear for everyone once the poll is closed" in card_text(card)
    _, card = await bot.execute(
        people[3], chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "0,2"}
    )
    assert "Your answer: Scenario 1: Omar's Instagram activities" in card_text(card)
    # One vote: its count would be this person's answer, so none is shown (from 3 voters).
    assert "(100%)" not in card_text(card)
    assert "Results appear for everyone once the poll is closed" in card_text(card)


async def test_a_french_participant_sees_french_in_an_english_session(bot, connector, people):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    agenda_id, shared = find_posted(connector, chat, "question.log")
    assert "Ground rules" in card_text(shared)
    french = User.make("Élodie Martin", 77, locale="fr-FR")
    _, card = await bot.execute(
        french, chat, agenda_id, "agenda.view", {"sid": sid}, trigger="automatic"
    )
    assert "Règles de base" in card_text(card)
    assert "Noter une question restée sans réponse" in card_text(card)
    for _ in range(2):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s3"}
    )
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    _, card = await bot.execute(
        french,
        chat,
        scenario_id,
        "scenario.view",
        {"sid": sid, "scenario": "s1"},
        trigger="automatic",
    )
    text = card_text(card)
    assert "Scénario 1" in text and "Questions pour la discussion" in text
    assert "What is happening in this scenario?" not in text


async def test_starting_the_next_scenario_without_wrapping_up_stops_the_first_clock(
    timed_bot, connector, people, clock
):
    bot, chat, leader = timed_bot, Chat(), people[0]
    _, sid, agenda_id = await begin(bot, connector, people, chat)
    for _ in range(2):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s2"}
    )
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    clock.advance(20)
    status, view = await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    assert status == 200 and "Scenario 2 is shown to everyone" in card_text(view)
    session = (await rows(bot, "sessions"))[0]
    assert json.loads(session["ScenarioSeconds"]) == {"s1": 20 * 60}
    assert session["ScenarioIndex"] == 1


async def test_the_leader_reads_a_french_session_in_french_with_controls_in_english(
    bot, connector, people
):
    chat, leader = Chat(), people[0]  # an English-speaking Teams client
    card_id, view = await start_session(bot, connector, chat, leader, language="fr")
    sid = card_sid(view)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for _ in range(2):
        _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    await bot.execute(
        leader, chat, agenda_id, "scenarios.choose", {"sid": sid, "scenarios": "s1,s3"}
    )
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    _, card = await bot.execute(
        leader, chat, scenario_id, "scenario.view", {"sid": sid, "scenario": "s1"}
    )
    text = card_text(card)
    # What she reads aloud is the session's French; the card's own words are her English.
    assert "Que se passe-t-il dans ce scénario ?" in text
    assert "What is happening in this scenario?" not in text
    assert "Discussion questions" in text
