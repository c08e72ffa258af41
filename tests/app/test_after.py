"""After the session: Appendix C, anonymous Appendix F, reminders and the questions' path."""

from __future__ import annotations

import asyncio
import json

from testing.connector import CREATE_CONVERSATION, adaptive_cards
from testing.flows import GOOD_C, GOOD_F, QUESTION, rows, run_to_conclusion
from testing.teams import Chat, User, card_text, inputs


async def test_appendix_c_is_prefilled_validated_versioned_and_forwards_questions(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    sid, agenda_id, keys = await run_to_conclusion(
        bot, connector, chat, leader, people[1:5], question=QUESTION
    )
    _, form = await bot.execute(leader, chat, agenda_id, "feedback.open", keys)
    prefill = inputs(form)
    assert prefill["c1"] == "2026-11-20"
    assert prefill["c2"] == "Amina Diallo"
    assert prefill["c3"] == "Department of Economic and Social Affairs"
    assert prefill["c4"] == "Statistics Division, Data Section"
    assert prefill["c5"] == 4 and prefill["c6"] == 30
    assert prefill["c8"] == "1,2"
    assert prefill["c12"] == QUESTION
    assert "Leader's Guide" in card_text(form)
    # What Teams submits: every input with its value, as the leader left or changed it.
    keys = {**keys, **{k: str(v) for k, v in prefill.items() if v is not None}}
    keys.pop("forward_questions", None)

    # Refused, with a clear message, and nothing stored.
    refusals = [
        (people[1], {**keys, **GOOD_C}, "Only the session's discussion leader"),
        (leader, {**keys, **GOOD_C, "c7": ""}, "Item 7: choose a rating from 1 to 5"),
        (leader, {**keys, **GOOD_C, "c9": "6"}, "Item 9: choose a rating from 1 to 5"),
        (leader, {**keys, **GOOD_C, "c13": "x" * 2001}, "Item 13 is too long"),
        (leader, {**keys, **GOOD_C, "c5": "-1"}, "Item 5 must be a whole number"),
        (leader, {**keys, **GOOD_C, "c8": "1,7"}, "Item 8: this value is not valid"),
    ]
    for person, data, message in refusals:
        _, card = await bot.execute(person, chat, agenda_id, "feedback.submit", data)
        assert message in card_text(card), card_text(card)[:600]
    assert await rows(bot, "leaderfeedback") == []

    _, card = await bot.execute(
        leader,
        chat,
        agenda_id,
        "feedback.submit",
        {**keys, **GOOD_C, "c5": "5", "c8": "1,2", "forward_questions": "true"},
    )
    assert "Appendix C is stored (version 1)" in card_text(card)
    _, card = await bot.execute(
        leader, chat, agenda_id, "feedback.submit", {**keys, **GOOD_C, "c7": "2"}
    )
    assert "version 2" in card_text(card)
    assert inputs(card)["c7"] == "2"  # the form shows the latest version
    versions = sorted(await rows(bot, "leaderfeedback"), key=lambda r: r["Version"])
    assert [v["Version"] for v in versions] == [1, 2]
    assert json.loads(versions[0]["Answers"])["c7"] == 4
    assert json.loads(versions[1]["Answers"])["c7"] == 2
    assert json.loads(versions[0]["Answers"])["c5"] == 5
    queued = await rows(bot, "ethicsqueue")
    assert [q["Text"] for q in queued] == [QUESTION]


async def test_appendix_f_is_anonymous_once_per_person_and_withheld_below_three(
    bot, connector, people
):
    chat, leader = Chat(), people[0]
    participants = people[1:6]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, participants)
    # At conclusion a card in the meeting chat asks participants to assess the facilitator.
    reminders = [c for c in connector.cards(chat.id) if "assess.open" in json.dumps(c)]
    assert reminders

    # Not before conclusion, not by the leader, not by someone who did not sign in.
    outsider = people[20]
    _, card = await bot.execute(outsider, chat, agenda_id, "assess.open", keys)
    assert "Only participants on this session's sign-in sheet" in card_text(card)
    _, card = await bot.execute(leader, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert "the assessment is for its participants" in card_text(card)
    _, card = await bot.execute(outsider, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert "Only participants" in card_text(card)
    _, card = await bot.execute(
        participants[0], chat, agenda_id, "assess.submit", {**keys, **GOOD_F, "f3": "9"}
    )
    assert "Question 3: choose a rating from 1 to 5" in card_text(card)

    # A concurrent double submit stores one answer.
    first, second = await asyncio.gather(
        bot.execute(participants[0], chat, agenda_id, "assess.submit", {**keys, **GOOD_F}),
        bot.execute(participants[0], chat, agenda_id, "assess.submit", {**keys, **GOOD_F}),
    )
    texts = [card_text(first[1]), card_text(second[1])]
    assert sum("stored anonymously" in t for t in texts) == 1
    assert sum("already assessed" in t for t in texts) == 1
    _, again = await bot.execute(participants[0], chat, agenda_id, "assess.open", keys)
    assert "already assessed" in card_text(again)

    # Below the minimum the facilitator sees a count only.
    await bot.execute(participants[1], chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    _, results = await bot.execute(leader, chat, agenda_id, "assess.results", keys)
    assert "2 participants answered" in card_text(results)
    assert "at least 3 participants" in card_text(results)
    assert "Well prepared" not in card_text(results)
    _, card = await bot.execute(participants[2], chat, agenda_id, "assess.results", keys)
    assert "Only the session's discussion leader" in card_text(card)

    await asyncio.gather(
        *(
            bot.execute(
                p,
                chat,
                agenda_id,
                "assess.submit",
                {**keys, **GOOD_F, "f1": "3", "f7": "More time for scenario 2"},
            )
            for p in participants[2:5]
        )
    )
    _, results = await bot.execute(leader, chat, agenda_id, "assess.results", keys)
    text = card_text(results)
    assert "5 participants answered" in text
    assert "Average 3.8 out of 5" in text  # f1: 5, 5, 3, 3, 3
    assert "“Well prepared”" in text and "“More time for scenario 2”" in text

    # What is stored names nobody: no ids, no names, no per-answer times.
    stored = await rows(bot, "assessments")
    dump = json.dumps([{k: str(v) for k, v in e.items()} for e in stored], ensure_ascii=False)
    for person in people:
        assert person.aad_id not in dump and person.name not in dump and person.mri not in dump
    aggregate = next(e for e in stored if e["RowKey"] == "aggregate")
    assert json.loads(aggregate["Ratings"])["f1"] == [0, 0, 3, 0, 2]
    comments = json.loads(aggregate["Comments0"])
    # Comments keep the day only (YYYY-MM-DD), never a time.
    assert all(len(c["day"]) == 10 for group in comments.values() for c in group)
    assert sorted(c["text"] for group in comments.values() for c in group) == sorted(
        ["Well prepared"] * 5 + ["More time for scenario 2"] * 3
    )
    # Who answered is known only inside the aggregate, as keyed hashes mixed with the counts.
    assert [e["RowKey"] for e in stored] == ["aggregate"]
    folded = json.loads(aggregate["Folded0"])
    assert len(folded) == len(set(folded)) == 5 and folded == sorted(folded)


async def test_reminders_reach_only_those_who_have_not_answered(bot, connector, people):
    chat, leader = Chat(), people[0]
    participants = people[1:5]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, participants)
    await bot.execute(participants[0], chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    _, card = await bot.execute(people[3], chat, agenda_id, "assess.remind", keys)
    assert "Only the session's discussion leader" in card_text(card)
    _, card = await bot.execute(leader, chat, agenda_id, "assess.remind", keys)
    assert "Reminders are being sent" in card_text(card)
    # The leader's card names nobody who has or has not answered.
    assert not any(p.name in card_text(card) for p in participants)
    created = await connector.wait_for(
        lambda: (
            len(connector.calls(CREATE_CONVERSATION)) >= 3 and connector.calls(CREATE_CONVERSATION)
        ),
        timeout=10,
    )
    members = sorted(op.body["members"][0]["id"] for op in created)
    assert members == sorted(p.mri for p in participants[1:])
    await asyncio.sleep(0.3)
    assert len(connector.calls(CREATE_CONVERSATION)) == 3


async def test_a_question_goes_from_the_meeting_to_the_ethics_office_and_back(
    bot, connector, people, make_settings
):
    chat, leader = Chat(), people[0]
    admin = User.make("Layla Haddad", 500)
    await bot.stop()
    from testing.teams import BotUnderTest

    bot = BotUnderTest(make_settings(ETHICS_ADMIN_IDS=admin.aad_id), connector.url)
    await bot.start()
    try:
        sid, agenda_id, keys = await run_to_conclusion(
            bot, connector, chat, leader, people[1:4], question=QUESTION
        )
        _, card = await bot.execute(leader, chat, agenda_id, "questions.forward", keys)
        assert "1 question was sent to the Ethics Office" in card_text(card)
        _, card = await bot.execute(leader, chat, agenda_id, "questions.forward", keys)
        assert "0 questions were sent" in card_text(card)

        # The admin lists the queue in personal chat; nobody else can.
        admin_chat = Chat(kind="personal", id="a:admin-chat")
        participant_chat = Chat(kind="personal", id="a:participant-chat")
        await bot.say(people[2], participant_chat, "questions", mention=False)
        refusal = connector.activities(participant_chat.id)[-1]
        assert "Only Ethics Office administrators" in refusal["text"]
        await bot.say(admin, admin_chat, "questions", mention=False)
        queue = adaptive_cards(connector.activities(admin_chat.id)[-1])[0]
        text = card_text(queue)
        assert QUESTION in text and "Amina Diallo" in text
        assert not any(p.name in text for p in people[1:4])  # no participant is named
        status, card = await bot.execute(
            people[2],
            admin_chat,
            "1",
            "queue.answer",
            {"key": f"{sid}-x", "cycle": "2026", "field": "reply_0", "reply_0": "No."},
        )
        assert "Only Ethics Office administrators" in card_text(card)
        queued = (await rows(bot, "ethicsqueue"))[0]
        answer = "Yes, if your comment stays impartial; see the 2019 guidelines."
        _, card = await bot.execute(
            admin,
            admin_chat,
            "1",
            "queue.answer",
            {"key": queued["RowKey"], "cycle": 2026, "field": "reply_0", "reply_0": answer},
        )
        assert "sent to Amina Diallo" in card_text(card)
        # The reply reaches the leader in a personal chat.
        created = connector.calls(CREATE_CONVERSATION)
        assert created[-1].body["members"][0]["id"] == leader.mri
        personal = created[-1].conversation_id or ""
        delivered = [
            c
            for op in connector.operations
            for c in adaptive_cards(op.body)
            if op.kind in ("send", "reply") and answer in json.dumps(c)
        ]
        assert delivered and QUESTION in card_text(delivered[-1]), personal
        stored = (await rows(bot, "ethicsqueue"))[0]
        assert stored["Status"] == "answered" and stored["Reply"] == answer
        _, card = await bot.execute(
            admin,
            admin_chat,
            "1",
            "queue.answer",
            {"key": queued["RowKey"], "cycle": 2026, "field": "reply_0", "reply_0": "Again"},
        )
        assert "already been answered" in card_text(card)
    finally:
        await bot.stop()


async def test_a_leader_lists_their_sessions_in_personal_chat(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, people[1:4])
    personal = Chat(kind="personal", id="a:leader-chat")
    await bot.say(leader, personal, "feedback", mention=False)
    card = adaptive_cards(connector.activities(personal.id)[-1])[0]
    assert "Statistics Division, Data Section" in card_text(card)
    assert "Appendix C not submitted yet" in card_text(card)
    _, form = await bot.execute(leader, personal, "1", "feedback.open", keys)
    assert inputs(form)["c5"] == 3
    submitted = {**keys, **{k: str(v) for k, v in inputs(form).items() if v is not None}, **GOOD_C}
    _, card = await bot.execute(leader, personal, "1", "feedback.submit", submitted)
    assert "Appendix C is stored (version 1)" in card_text(card)
