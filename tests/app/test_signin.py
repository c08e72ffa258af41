"""Appendix A end to end: through the real app and adapter, against Azurite and a connector."""

from __future__ import annotations

import asyncio
import time

from testing.connector import UPDATE
from testing.flows import SETUP, import_members, last_card_message, rows, shared_card, start_session
from testing.teams import BotUnderTest, Chat, card_sid, card_text, verbs


async def test_start_in_group_chat_shows_setup_then_leader_view(bot, connector, people):
    chat = Chat()
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    text = card_text(view)
    assert "Sign-in is open" in text
    assert "Department of Economic and Social Affairs" in text
    assert "Statistics Division, Data Section" in text
    assert "Amina Diallo" in text
    assert {"attendance.add", "attendance.import", "signin.close"} <= verbs(view)
    # The setup card everyone saw becomes the shared sign-in card, for everyone.
    shared = await shared_card(connector, chat, card_id, "0 participants signed in")
    assert "signin" in verbs(shared)
    assert "attendance.add" not in verbs(shared)
    assert shared["refresh"]["userIds"] == [leader.mri]
    sessions = await rows(bot, "sessions")
    assert len(sessions) == 1
    assert sessions[0]["PartitionKey"] == "2026-DESA"
    assert sessions[0]["Unit"] == SETUP["unit"]
    assert sessions[0]["Personnel"] == 30
    assert sessions[0]["LeaderId"] == leader.aad_id


async def test_twenty_five_concurrent_sign_ins_store_twenty_five_rows(bot, connector, people):
    chat = Chat()
    leader, participants = people[0], people[1:26]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    started = time.perf_counter()
    results = await asyncio.gather(
        *(bot.execute(p, chat, card_id, "signin", {"sid": sid}) for p in participants)
    )
    elapsed = time.perf_counter() - started
    assert all(status == 200 for status, _ in results)
    for (_, card), person in zip(results, participants, strict=True):
        assert f"You are signed in as {person.name}" in card_text(card)
        # A participant's own view never lists the other names.
        others = [p.name for p in participants if p is not person]
        assert not any(name in card_text(card) for name in others)
    attendance = await rows(bot, "attendance")
    assert sorted(r["AadId"] for r in attendance) == sorted(p.aad_id for p in participants)
    shared = await shared_card(connector, chat, card_id, "25 participants signed in")
    assert "Liam O'Connor" not in card_text(shared)
    # Coalesced: far fewer updates than clicks, and never more than 7 a second.
    assert len(connector.calls(UPDATE, chat.id)) < len(participants)
    assert connector.max_in_window(chat.id, window=1.0) <= 7
    print(f"\n25 concurrent sign-ins answered in {elapsed:.3f} s")


async def test_double_click_and_redelivered_invoke_store_one_row(bot, connector, people):
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, people[0])
    sid = card_sid(view)
    user = people[3]
    first, second = await asyncio.gather(
        bot.execute(user, chat, card_id, "signin", {"sid": sid}),
        bot.execute(user, chat, card_id, "signin", {"sid": sid}),
    )
    # Teams redelivers an invoke with the same activity id after ~15 s without an answer.
    again = await bot.execute(user, chat, card_id, "signin", {"sid": sid}, activity_id="same-id")
    again2 = await bot.execute(user, chat, card_id, "signin", {"sid": sid}, activity_id="same-id")
    assert {first[0], second[0], again[0], again2[0]} == {200}
    attendance = await rows(bot, "attendance")
    assert [r["AadId"] for r in attendance] == [user.aad_id]
    await shared_card(connector, chat, card_id, "1 participant signed in")


async def test_setup_submitted_twice_gives_one_session(bot, connector, people):
    chat = Chat()
    leader = people[0]
    assert await bot.say(leader, chat, "start") == 201
    card_id, _ = last_card_message(connector, chat)
    results = await asyncio.gather(
        *(bot.execute(leader, chat, card_id, "setup.submit", SETUP) for _ in range(3))
    )
    assert {status for status, _ in results} == {200}
    assert len({card_sid(card) for _, card in results}) == 1
    assert len(await rows(bot, "sessions")) == 1


async def test_participant_cannot_use_leader_controls_even_with_forged_data(bot, connector, people):
    chat = Chat()
    leader, intruder = people[0], people[5]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.execute(people[1], chat, card_id, "signin", {"sid": sid})
    before = await rows(bot, "attendance")
    forged = {"sid": sid, "leader": leader.aad_id, "aadObjectId": leader.aad_id}
    attempts = [
        ("attendance.add", {**forged, "add_name": "Ghost Person"}),
        ("attendance.remove", {**forged, "remove_key": before[0]["RowKey"]}),
        ("attendance.import", forged),
        ("session.monitor", {**forged, "monitor_key": before[0]["RowKey"]}),
        ("signin.close", forged),
    ]
    for verb, data in attempts:
        status, card = await bot.execute(intruder, chat, card_id, verb, data)
        assert status == 200
        assert "Only the session's discussion leader" in card_text(card), verb
    assert await rows(bot, "attendance") == before
    sessions = await rows(bot, "sessions")
    assert sessions[0]["Status"] == "signin" and sessions[0]["Monitors"] == "[]"
    assert not connector.calls("get_paged_members")


async def test_forged_session_id_and_unknown_verb_change_nothing(bot, connector, people):
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, people[0])
    status, card = await bot.execute(people[2], chat, card_id, "signin", {"sid": "x' or 1 eq 1"})
    assert status == 200 and "belongs to a session that has ended" in card_text(card)
    status, card = await bot.execute(people[2], chat, card_id, "drop.tables", {})
    assert status == 200 and "not available" in card_text(card)
    other_chat = Chat()
    status, card = await bot.execute(
        people[2], other_chat, card_id, "signin", {"sid": card_sid(view)}
    )
    assert "no active session" in card_text(card)
    assert await rows(bot, "attendance") == []


async def test_undo_takes_the_person_off_the_sheet(bot, connector, people):
    chat = Chat()
    card_id, view = await start_session(bot, connector, chat, people[0])
    sid = card_sid(view)
    await bot.execute(people[1], chat, card_id, "signin", {"sid": sid})
    await bot.execute(people[2], chat, card_id, "signin", {"sid": sid})
    status, card = await bot.execute(people[1], chat, card_id, "signin.undo", {"sid": sid})
    assert status == 200 and "no longer on the sign-in sheet" in card_text(card)
    assert "signin" in verbs(card)
    assert [r["AadId"] for r in await rows(bot, "attendance")] == [people[2].aad_id]
    await shared_card(connector, chat, card_id, "1 participant signed in")


async def test_leader_adds_people_by_name_and_monitor_may_too(bot, connector, people):
    chat = Chat()
    leader, monitor = people[0], people[1]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.execute(monitor, chat, card_id, "signin", {"sid": sid})
    _, card = await bot.execute(
        leader,
        chat,
        card_id,
        "attendance.add",
        {
            "sid": sid,
            "add_name": "  Joseph   Mwangi ",
            "add_category": "non_staff",
            "add_agency": "UNDP",
        },
    )
    assert "Joseph Mwangi is on the sheet" in card_text(card)
    assert "Joseph Mwangi (non-staff, UNDP)" in card_text(card)
    # The same name again is one row, not two.
    _, card = await bot.execute(
        leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": "joseph mwangi"}
    )
    assert "already on the sheet" in card_text(card)
    # A participant who is not monitor is refused; once named monitor, allowed.
    _, card = await bot.execute(
        monitor, chat, card_id, "attendance.add", {"sid": sid, "add_name": "Phone Caller"}
    )
    assert "leader or monitor" in card_text(card)
    monitor_row = next(r for r in await rows(bot, "attendance") if r["AadId"] == monitor.aad_id)
    _, card = await bot.execute(
        leader, chat, card_id, "session.monitor", {"sid": sid, "monitor_key": monitor_row["RowKey"]}
    )
    assert "Kenji Watanabe is now the monitor" in card_text(card)
    _, card = await bot.execute(
        monitor, chat, card_id, "attendance.add", {"sid": sid, "add_name": "Phone Caller"}
    )
    assert "Phone Caller is on the sheet" in card_text(card)
    assert "signin.close" not in verbs(card)
    stored = await rows(bot, "attendance")
    assert sorted(r["Name"] for r in stored) == ["Joseph Mwangi", "Kenji Watanabe", "Phone Caller"]
    joseph = next(r for r in stored if r["Name"] == "Joseph Mwangi")
    assert (joseph["Category"], joseph["Agency"], joseph["Source"]) == (
        "non_staff",
        "UNDP",
        "added",
    )
    shared = await shared_card(connector, chat, card_id, "3 participants signed in")
    assert monitor.mri in shared["refresh"]["userIds"]
    # The monitor is a participant too: the card everyone sees does not name them.
    assert monitor.name not in card_text(shared)


async def test_invalid_inputs_are_refused_with_a_clear_message(bot, connector, people):
    chat = Chat()
    leader = people[0]
    assert await bot.say(leader, chat, "start") == 201
    card_id, _ = last_card_message(connector, chat)
    bad_forms = [
        ({**SETUP, "entity": "NOPE"}, "Choose your entity from the list"),
        ({**SETUP, "unit": "   "}, "Unit, section or team is required"),
        ({**SETUP, "unit": "x" * 500}, "too long"),
        ({**SETUP, "personnel": "-3"}, "whole number from 1 to 100,000"),
        ({**SETUP, "personnel": "ten"}, "whole number"),
        ({**SETUP, "language": "de"}, "English, French or Spanish"),
        ({**SETUP, "date": "2026-02-30"}, "valid date"),
    ]
    for form, message in bad_forms:
        status, card = await bot.execute(leader, chat, card_id, "setup.submit", form)
        assert status == 200
        assert message in card_text(card), form
        # The form comes back with what the leader typed, to correct it.
        assert any(el.get("id") == "entity" for el in card["body"])
    assert await rows(bot, "sessions") == []
    _, view = await bot.execute(leader, chat, card_id, "setup.submit", SETUP)
    sid = card_sid(view)
    status, card = await bot.execute(
        leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": "y" * 101}
    )
    assert "too long" in card_text(card)
    status, card = await bot.execute(
        leader,
        chat,
        card_id,
        "attendance.add",
        {"sid": sid, "add_name": "A", "add_category": "boss"},
    )
    assert "category" in card_text(card)
    assert await rows(bot, "attendance") == []


async def test_chat_members_are_offered_as_a_checklist_and_only_the_ticked_are_added(
    bot, connector, people
):
    chat = Chat()
    leader = people[0]
    connector.max_page_size = 4
    connector.set_members(chat.id, [p.member() for p in people[:11]])
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.execute(people[1], chat, card_id, "signin", {"sid": sid})
    _, checklist = await bot.execute(leader, chat, card_id, "attendance.import", {"sid": sid})
    # Nobody is added by asking: the leader ticks who is really here.
    assert [r["AadId"] for r in await rows(bot, "attendance")] == [people[1].aad_id]
    assert "9 members of this chat are not on the sheet" in card_text(checklist)
    (choices,) = [el["choices"] for el in checklist["body"] if el.get("id") == "roster_pick"]
    offered = {c["value"] for c in choices}
    assert offered == {p.aad_id for p in people[2:11]}  # not the leader, not the signed-in
    assert "signin.view" in verbs(checklist)  # a way back without adding anyone
    ticked = [people[3], people[5]]
    sheet = await import_members(bot, leader, chat, card_id, sid, only=ticked)
    assert "2 chat members were added" in card_text(sheet)
    stored = await rows(bot, "attendance")
    assert sorted(r["AadId"] for r in stored) == sorted(p.aad_id for p in people[1:2] + ticked)
    assert len(connector.calls("get_paged_members")) >= 6  # three pages, twice


async def test_a_ticked_id_not_in_the_chat_adds_nobody(bot, connector, people):
    chat, leader = Chat(), people[0]
    connector.set_members(chat.id, [p.member() for p in people[:4]])
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    outsider = people[9]  # never a member of this chat
    _, card = await bot.execute(
        leader,
        chat,
        card_id,
        "attendance.import_confirm",
        {"sid": sid, "roster_pick": f"{outsider.aad_id},{leader.aad_id}"},
    )
    assert "0 chat members were added" in card_text(card)
    _, card = await bot.execute(
        leader, chat, card_id, "attendance.import_confirm", {"sid": sid, "roster_pick": ""}
    )
    assert "Tick at least one person" in card_text(card)
    _, card = await bot.execute(
        people[1],
        chat,
        card_id,
        "attendance.import_confirm",
        {"sid": sid, "roster_pick": people[2].aad_id},
    )
    assert "Only the session's discussion leader" in card_text(card)
    assert await rows(bot, "attendance") == []


async def test_close_shows_summary_and_advice_and_stops_sign_in(bot, connector, people):
    chat = Chat()
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for p in people[1:4]:
        await bot.execute(p, chat, card_id, "signin", {"sid": sid})
    status, card = await bot.execute(leader, chat, card_id, "signin.close", {"sid": sid})
    text = card_text(card)
    assert "Sign-in is closed" in text
    assert "3 participants signed in" in text
    assert "joint session" in text  # far below 10
    for n, p in enumerate(people[1:4], start=1):
        assert f"{n}." in text and p.name in text
    assert "November 20, 2026" in text or "20 November 2026" in text
    status, card = await bot.execute(people[9], chat, card_id, "signin", {"sid": sid})
    assert "Sign-in is closed" in card_text(card)
    assert len(await rows(bot, "attendance")) == 3
    shared = await shared_card(connector, chat, card_id, "Sign-in is closed")
    assert "signin" not in verbs(shared)
    assert "Olena Kovalenko" not in card_text(shared)
    sessions = await rows(bot, "sessions")
    assert sessions[0]["Status"] == "signin_closed" and sessions[0]["ClosedAt"]


async def test_more_than_twenty_five_suggests_splitting(bot, connector, people):
    chat = Chat()
    leader = people[0]
    connector.set_members(chat.id, [p.member() for p in people])
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await import_members(bot, leader, chat, card_id, sid)
    _, card = await bot.execute(
        leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": "Extra Person"}
    )
    assert "26 participants signed in" in card_text(card)
    assert "splitting into several sessions" in card_text(card)


async def test_restart_loses_nothing(bot, connector, people, make_settings):
    chat = Chat()
    leader = people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for p in people[1:6]:
        await bot.execute(p, chat, card_id, "signin", {"sid": sid})
    await bot.stop()
    restarted = BotUnderTest(bot.settings, connector.url)
    await restarted.start()
    try:
        _, card = await restarted.execute(leader, chat, card_id, "signin.view", {"sid": sid})
        assert "5 participants signed in" in card_text(card)
        assert all(p.name in card_text(card) for p in people[1:6])
        _, card = await restarted.execute(people[6], chat, card_id, "signin", {"sid": sid})
        assert "You are signed in" in card_text(card)
    finally:
        await restarted.stop()
    assert len(await rows(bot, "attendance")) == 6
