"""Storage and Bot Connector faults, injected under the real bot through real card actions.

The bot reaches Azurite through a fault-injecting proxy (testing/faultproxy.py); what
is stored is read straight from Azurite, past the proxy, so a fault never hides a row.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from azure.data.tables.aio import TableServiceClient

from storage.tables import TABLES
from testing.azurite import Azurite
from testing.cardcheck import CardChecker
from testing.connector import UPDATE, FakeConnector
from testing.env import ROOT
from testing.faultproxy import FORWARDED, FORWARDED_THEN_FAILED, INJECTED, on
from testing.flows import (
    FOCAL,
    GOOD_C,
    GOOD_F,
    QUESTION,
    data_of,
    find_posted,
    hold_two_sessions,
    import_members,
    last_card,
    name_focal_points,
    run_to_conclusion,
    start_session,
    urls,
)
from testing.teams import BotUnderTest, Chat, StartBot, User, card_sid, card_text, inputs

NOT_SAVED = "Sorry, that was not saved: storage is not answering"
ADMIN = User.make("Layla Haddad", 500)


@pytest.fixture
async def bot(start_proxied: StartBot) -> BotUnderTest:
    """The real app, its storage behind the proxy."""
    return await start_proxied()


def table(bot: BotUnderTest, name: str) -> str:
    """The account-level name of one of the bot's tables."""
    return bot.settings.table_prefix + name


async def stored(azurite: Azurite, bot: BotUnderTest, name: str) -> list[dict]:
    """Every entity of one of the bot's tables, read from Azurite itself (not the proxy)."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    async with service:
        client = service.get_table_client(table(bot, name))
        return [entity async for entity in client.list_entities()]


async def healthz(bot: BotUnderTest) -> int:
    """The status of GET /healthz."""
    async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/healthz") as response:
        return response.status


async def shared_sheet(
    connector: FakeConnector, chat: Chat, card_id: str, expect: str, *, within: float
) -> None:
    """Wait until the shared card, as it stands in the chat, shows the expected text."""
    await connector.wait_for(
        lambda: expect in card_text(connector.latest_card(chat.id, card_id)), timeout=within
    )


async def settled_sheet(
    bot: BotUnderTest, connector: FakeConnector, chat: Chat, leader: User
) -> tuple[str, str]:
    """A session started, its background work settled; the sheet card's id and the session id."""
    card_id, view = await start_session(bot, connector, chat, leader)
    await bot.flush()
    return card_id, card_sid(view)


async def to_scenarios_stage(
    bot: BotUnderTest, connector: FakeConnector, chat: Chat, leader: User
) -> tuple[str, str]:
    """Setup, then on to the scenario discussions; the session id and the agenda card's id."""
    _, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    for _ in range(2):
        _, card = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
        await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(card, "agenda.next"))
    return sid, agenda_id


async def test_the_proxy_is_transparent_tables_batches_and_signatures(
    bot, proxy, azurite, connector, people
):
    # The bot created its tables through the proxy: the Shared Key signature holds there.
    creates = proxy.requests(on("POST", contains="/Tables"))
    assert {e.table for e in creates} == {table(bot, name) for name in TABLES}
    assert {e.status for e in creates} == {201}
    # Signed for the proxy's host and port, checked by Azurite on another: the host is unsigned.
    assert {e.headers.get("Host") for e in creates} == {f"127.0.0.1:{proxy.port}"}
    chat, leader = Chat(), people[0]
    connector.set_members(chat.id, [p.member() for p in people[:6]])
    card_id, view = await start_session(bot, connector, chat, leader)
    card = await import_members(bot, leader, chat, card_id, card_sid(view))
    assert "5 chat members were added" in card_text(card)
    # The import is one entity group transaction: a multipart $batch passes through as well.
    batches = proxy.requests(on("POST", table(bot, "attendance"), batch=True))
    assert [(e.outcome, e.status) for e in batches] == [(FORWARDED, 202)]
    assert len(await stored(azurite, bot, "attendance")) == 5
    assert all(e.status < 400 or e.status in (404, 409) for e in proxy.log)
    assert not [e for e in proxy.log if e.status == 403], "a signature was refused"


async def test_a_503_then_success_on_a_sign_in_stores_one_row(
    bot, proxy, azurite, connector, people
):
    chat, leader, person = Chat(), people[0], people[1]
    card_id, view = await start_session(bot, connector, chat, leader)
    upserts = on("PUT", table(bot, "attendance"))
    proxy.fail_next(upserts, 503)
    status, card = await bot.execute(person, chat, card_id, "signin", {"sid": card_sid(view)})
    assert status == 200
    assert f"You are signed in as {person.name}" in card_text(card)
    attempts = proxy.requests(upserts)
    assert [(e.outcome, e.status) for e in attempts] == [(INJECTED, 503), (FORWARDED, 204)]
    assert [r["AadId"] for r in await stored(azurite, bot, "attendance")] == [person.aad_id]


async def test_a_lost_answer_on_the_chat_pointer_insert_gives_one_session(
    bot, proxy, azurite, connector, people
):
    chat, leader = Chat(), people[0]
    inserts = on("POST", table(bot, "chats"), insert=True)
    proxy.forward_then_fail(inserts, 503)
    _, view = await start_session(bot, connector, chat, leader)
    assert "Sign-in is open" in card_text(view)
    # The write landed, its answer was lost; the SDK's retry met 409 and the bot read it back.
    assert [(e.outcome, e.status) for e in proxy.requests(inserts)] == [
        (FORWARDED_THEN_FAILED, 503),
        (FORWARDED, 409),
    ]
    pointers = await stored(azurite, bot, "chats")
    sessions = await stored(azurite, bot, "sessions")
    assert len(pointers) == 1 and len(sessions) == 1
    assert pointers[0]["SessionId"] == sessions[0]["RowKey"] == card_sid(view)


async def test_a_lost_answer_on_a_logged_question_gives_one_row(
    bot, proxy, azurite, connector, people
):
    chat, leader = Chat(), people[0]
    _, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    agenda_id, _ = find_posted(connector, chat, "question.log")
    inserts = on("POST", table(bot, "questions"), insert=True)
    proxy.forward_then_fail(inserts, 503)
    status, card = await bot.execute(
        people[2], chat, agenda_id, "question.log", {"sid": sid, "question_text": QUESTION}
    )
    assert status == 200
    assert "logged for the leader, without your name" in card_text(card)
    assert [e.outcome for e in proxy.requests(inserts)] == [FORWARDED_THEN_FAILED, FORWARDED]
    assert [q["Text"] for q in await stored(azurite, bot, "questions")] == [QUESTION]


async def test_a_lost_answer_on_a_poll_insert_opens_one_poll(
    bot, proxy, azurite, connector, people
):
    chat, leader = Chat(), people[0]
    sid, agenda_id = await to_scenarios_stage(bot, connector, chat, leader)
    inserts = on("POST", table(bot, "polls"), insert=True)
    proxy.forward_then_fail(inserts, 503)
    status, card = await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
    assert status == 200 and "The poll is open" in card_text(card)
    assert [e.outcome for e in proxy.requests(inserts)] == [FORWARDED_THEN_FAILED, FORWARDED]
    polls = await stored(azurite, bot, "polls")
    assert len(polls) == 1 and polls[0]["Status"] == "open"
    poll_id, _ = find_posted(connector, chat, "poll.vote")
    assert polls[0]["CardId"] == poll_id


async def test_a_lost_answer_on_an_appendix_c_version_stores_one_version(
    bot, proxy, azurite, connector, people
):
    chat, leader = Chat(), people[0]
    _, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, people[1:5])
    _, form = await bot.execute(leader, chat, agenda_id, "feedback.open", keys)
    # What Teams submits: every input as the form prefilled it, plus the leader's answers.
    filled = {k: str(v) for k, v in inputs(form).items() if v is not None}
    filled.pop("forward_questions", None)
    inserts = on("POST", table(bot, "leaderfeedback"), insert=True)
    proxy.forward_then_fail(inserts, 503)
    status, card = await bot.execute(
        leader, chat, agenda_id, "feedback.submit", {**keys, **filled, **GOOD_C}
    )
    versions = await stored(azurite, bot, "leaderfeedback")
    # The retried insert of v00001 met 409: that is our own write, not a rival's version.
    assert [v["RowKey"] for v in versions] == ["v00001"], "a lost answer made a second version"
    assert status == 200 and "Appendix C is stored (version 1)" in card_text(card)


async def test_lost_answers_on_appendix_f_inserts_fold_the_answer_once(
    bot, proxy, azurite, connector, people
):
    chat, leader, person = Chat(), people[0], people[2]
    _, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, people[1:4])
    # The aggregate's first creation lands in Azurite while its answer is lost.
    inserts = on("POST", table(bot, "assessments"), insert=True)
    proxy.forward_then_fail(inserts, 503)
    status, card = await bot.execute(person, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert FORWARDED_THEN_FAILED in {e.outcome for e in proxy.requests(inserts)}
    assert status == 200 and "stored anonymously" in card_text(card), card_text(card)[:400]
    rows = await stored(azurite, bot, "assessments")
    aggregate = next(e for e in rows if e["RowKey"] == "aggregate")
    assert sum(json.loads(aggregate["Ratings"])["f1"]) == 1
    assert len(json.loads(aggregate["Folded0"])) == 1
    _, again = await bot.execute(person, chat, agenda_id, "assess.open", keys)
    assert "already assessed" in card_text(again)


async def test_a_lost_answer_on_an_audit_entry_saves_once_and_audits_once(
    start_proxied, proxy, azurite
):
    bot = await start_proxied(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    inserts = on("POST", table(bot, "audit"), insert=True)
    proxy.forward_then_fail(inserts, 503)
    personal = Chat(kind="personal", id="a:admin-faults")
    status, card = await bot.execute(
        ADMIN,
        personal,
        "1",
        "admin.entity",
        {"entity_code": "UNEP", "entity_name": "United Nations Environment Programme"},
    )
    entries = await stored(azurite, bot, "audit")
    assert [e["Action"] for e in entries] == ["entity.add"]
    assert status == 200 and card is not None, f"the click answered {status}: {card}"
    assert "UNEP is saved" in card_text(card)
    entities = await stored(azurite, bot, "directory")
    assert [e["RowKey"] for e in entities if e["PartitionKey"] == "entity"].count("UNEP") == 1


async def test_the_admin_card_before_any_focal_point_is_named_is_a_valid_card(start_proxied):
    bot = await start_proxied(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    personal = Chat(kind="personal", id="a:admin-first-day")
    _, card = await bot.execute(
        ADMIN,
        personal,
        "1",
        "admin.entity",
        {"entity_code": "UNEP", "entity_name": "United Nations Environment Programme"},
    )
    assert "UNEP is saved" in card_text(card)
    # What Teams would show an Ethics Office admin on the first day, before any focal point.
    problems = CardChecker(ROOT / "node_modules").check([("admin card", card)])
    assert not problems, problems


async def test_a_failed_group_commit_tells_each_of_its_sign_ins_not_saved(
    bot, proxy, azurite, connector, people
):
    # Sign-ins arriving together go in one transaction; when the transaction fails, everyone
    # in it is told "not saved" and nothing of it is stored, while a sign-in written alone
    # (the first of the burst) is kept and confirmed.
    chat, leader, group = Chat(), people[0], people[1:11]
    card_id, sid = await settled_sheet(bot, connector, chat, leader)
    batches = on("POST", table(bot, "attendance"), batch=True)
    proxy.fail_next(batches, 503, count=30)
    answers = await asyncio.gather(
        *(bot.execute(p, chat, card_id, "signin", {"sid": sid}) for p in group)
    )
    told = {p.aad_id: card_text(card) for p, (_, card) in zip(group, answers, strict=True)}
    assert all(status == 200 for status, _ in answers)
    refused = {aad for aad, text in told.items() if NOT_SAVED in text}
    confirmed = {aad for aad, text in told.items() if "You are signed in as" in text}
    assert refused | confirmed == set(told) and not refused & confirmed
    attempts = proxy.requests(batches)
    assert attempts and {e.outcome for e in attempts} == {INJECTED}
    assert len(refused) >= 2
    await bot.flush()
    rows = {r["AadId"] for r in await stored(azurite, bot, "attendance")}
    assert rows == confirmed
    # Clicked again, each is stored once, and the session's count is exact.
    proxy.clear_faults()
    for p in group:
        if p.aad_id in refused:
            status, card = await bot.execute(p, chat, card_id, "signin", {"sid": sid})
            assert status == 200 and f"You are signed in as {p.name}" in card_text(card)
    await bot.flush()
    rows = [r["AadId"] for r in await stored(azurite, bot, "attendance")]
    assert sorted(rows) == sorted(p.aad_id for p in group)
    assert (await stored(azurite, bot, "sessions"))[0]["Participants"] == len(group)


@pytest.mark.parametrize("mode", ["refuse", "reset", "503"])
async def test_storage_down_past_the_retries_says_not_saved_then_recovers(
    bot, proxy, azurite, connector, people, mode
):
    chat, leader, person = Chat(), people[0], people[3]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.flush()
    assert await healthz(bot) == 200
    proxy.down(mode)
    assert await healthz(bot) == 503
    started = time.monotonic()
    status, card = await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    # Answered well within Teams' invoke timeout, with the reason, and not as an HTTP error.
    assert status == 200 and time.monotonic() - started < 10
    assert NOT_SAVED in card_text(card)
    assert "You are signed in" not in card_text(card)
    await bot.flush()
    proxy.up()
    assert await stored(azurite, bot, "attendance") == []
    assert (await stored(azurite, bot, "sessions"))[0]["Participants"] == 0
    assert await healthz(bot) == 200
    status, card = await bot.execute(person, chat, card_id, "signin", {"sid": sid})
    assert status == 200 and f"You are signed in as {person.name}" in card_text(card)
    assert [r["AadId"] for r in await stored(azurite, bot, "attendance")] == [person.aad_id]


async def test_a_429_on_the_shared_card_update_is_honoured_and_the_sign_in_kept_once(
    bot, proxy, azurite, connector, people
):
    chat, leader, person = Chat(), people[0], people[4]
    card_id, view = await start_session(bot, connector, chat, leader)
    await bot.flush()
    connector.fail_next(UPDATE, 429, count=1, retry_after=2, conversation_id=chat.id)
    status, card = await bot.execute(person, chat, card_id, "signin", {"sid": card_sid(view)})
    assert status == 200 and "You are signed in" in card_text(card)
    await shared_sheet(connector, chat, card_id, "1 participant signed in", within=10)
    throttled = [op for op in connector.failures if op.kind == UPDATE and op.status == 429]
    assert len(throttled) == 1
    after = [op for op in connector.calls(UPDATE, chat.id) if op.at > throttled[0].at]
    assert after and after[0].at - throttled[0].at >= 2.0, "Retry-After was not honoured"
    # The card update is retried, never the sign-in: one write, one row.
    assert len(proxy.requests(on("PUT", table(bot, "attendance")))) == 1
    assert [r["AadId"] for r in await stored(azurite, bot, "attendance")] == [person.aad_id]


async def test_a_card_edit_refused_for_good_is_not_retried_and_the_next_change_shows(
    bot, proxy, azurite, connector, people, caplog
):
    # A 403 (the bot was removed, the message is no longer the bot's) is not retried: the
    # card would never change, and every retry would spend the app's shared budget.
    chat, leader, first, second = Chat(), people[0], people[5], people[6]
    card_id, view = await start_session(bot, connector, chat, leader)
    await bot.flush()
    connector.fail_next(UPDATE, 403, count=1, conversation_id=chat.id)
    await bot.execute(first, chat, card_id, "signin", {"sid": card_sid(view)})
    await bot.flush()
    refused = [op for op in connector.failures if op.kind == UPDATE]
    assert [op.status for op in refused] == [403]
    assert not [op for op in connector.calls(UPDATE, chat.id) if op.at > refused[0].at]
    assert "background update failed" in caplog.text
    assert first.name not in caplog.text and first.aad_id not in caplog.text
    # The sign-in was stored all the same, and the next change shows both people.
    await bot.execute(second, chat, card_id, "signin", {"sid": card_sid(view)})
    await shared_sheet(connector, chat, card_id, "2 participants signed in", within=10)
    # Each edit carries the card as the Adaptive Card attachment Teams shows.
    edits = connector.calls(UPDATE, chat.id)
    assert edits and all(
        op.body["attachments"][0]["content"]["type"] == "AdaptiveCard" for op in edits
    )


async def test_a_5xx_on_a_card_update_does_not_lose_the_stored_sign_in(
    bot, proxy, azurite, connector, people
):
    chat, leader, person = Chat(), people[0], people[1]
    card_id, view = await start_session(bot, connector, chat, leader)
    await bot.flush()
    connector.fail_next(UPDATE, 503, count=1, conversation_id=chat.id)
    status, card = await bot.execute(person, chat, card_id, "signin", {"sid": card_sid(view)})
    assert status == 200 and "You are signed in" in card_text(card)
    await shared_sheet(connector, chat, card_id, "1 participant signed in", within=10)
    assert [op.status for op in connector.failures if op.kind == UPDATE] == [503]
    assert len(proxy.requests(on("PUT", table(bot, "attendance")))) == 1
    assert [r["AadId"] for r in await stored(azurite, bot, "attendance")] == [person.aad_id]
    await bot.flush()
    assert (await stored(azurite, bot, "sessions"))[0]["Participants"] == 1


async def test_card_updates_outlast_a_5xx_burst_longer_than_the_http_clients_retries(
    bot, proxy, azurite, connector, people
):
    chat, leader, person = Chat(), people[0], people[2]
    card_id, view = await start_session(bot, connector, chat, leader)
    await bot.flush()
    # A card edit is retried with back-off (bot/teams/edits.py): 6 failures in a row, more
    # than the SDK's HTTP client would retry by itself, are outlasted.
    connector.fail_next(UPDATE, 503, count=6, conversation_id=chat.id)
    status, card = await bot.execute(person, chat, card_id, "signin", {"sid": card_sid(view)})
    assert status == 200 and "You are signed in" in card_text(card)
    assert [r["AadId"] for r in await stored(azurite, bot, "attendance")] == [person.aad_id]
    try:
        await shared_sheet(connector, chat, card_id, "1 participant signed in", within=15)
    except TimeoutError:
        failed = [op.status for op in connector.failures if op.kind == UPDATE]
        raise AssertionError(
            f"the shared card never showed the sign-in: {len(failed)} update attempts failed "
            "and none followed (the bot's retries of a card update did not run)"
        ) from None


async def test_storage_down_on_an_export_link_says_try_again_and_the_link_keeps_working(
    start_proxied, proxy, connector, people
):
    bot = await start_proxied(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await hold_two_sessions(bot, connector, people)
    await bot.flush()
    personal = Chat(kind="personal", id="a:focal-chat")
    await bot.say(FOCAL, personal, "progress", mention=False)
    path = "/exports/" + urls(last_card(connector, personal))[0].split("/exports/")[1]
    proxy.down("503")
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + path) as response:
            # Not "invalid link": the link is good, storage is not answering.
            assert response.status == 503
            assert "Open the same link again" in await response.text()
        # A typed command is answered with the reason too, never left unanswered.
        await bot.say(FOCAL, personal, "progress", mention=False)
        assert NOT_SAVED in connector.activities(personal.id)[-1].get("text", "")
        proxy.up()
        async with http.get(bot.url + path) as response:
            assert response.status == 200
            assert "LEADERSHIP DIALOGUE" in (await response.read()).decode("utf-8-sig")


async def test_a_room_signing_in_at_once_shares_its_reads_and_every_count_is_exact(
    bot, proxy, azurite, connector, people
):
    # 25 clicks arriving together read their session and their sheet a few times between
    # them, not 25 times each; each person still sees a count that includes them, and the
    # stored count is every one of them.
    chat, leader, room = Chat(), people[0], people[1:26]
    card_id, sid = await settled_sheet(bot, connector, chat, leader)
    proxy.clear_log()
    answers = await asyncio.gather(
        *(bot.execute(p, chat, card_id, "signin", {"sid": sid}) for p in room)
    )
    for person, (status, card) in zip(room, answers, strict=True):
        text = card_text(card)
        assert status == 200 and f"You are signed in as {person.name}." in text
        shown = [n for n in range(1, 26) if f"{n} participant" in text]
        assert shown, text
    session_reads = proxy.requests(on("GET", table(bot, "sessions")))
    sheet_reads = proxy.requests(on("GET", table(bot, "attendance")))
    assert len(session_reads) <= 6, f"{len(session_reads)} session reads for 25 sign-ins"
    assert len(sheet_reads) <= 6, f"{len(sheet_reads)} sheet reads for 25 sign-ins"
    await bot.flush()
    assert sorted(r["AadId"] for r in await stored(azurite, bot, "attendance")) == sorted(
        p.aad_id for p in room
    )
    assert (await stored(azurite, bot, "sessions"))[0]["Participants"] == 25
    await shared_sheet(connector, chat, card_id, "25 participants signed in", within=5)


async def test_a_room_voting_at_once_shares_its_poll_reads_and_the_tally_is_exact(
    bot, proxy, azurite, connector, people
):
    # Each vote reads its poll back after writing it (is it still open, how many voted); 25
    # votes arriving together share those reads, and every vote is counted once.
    chat, leader, room = Chat(), people[0], people[1:26]
    sid, agenda_id = await to_scenarios_stage(bot, connector, chat, leader)
    await bot.execute(leader, chat, agenda_id, "scenarios.poll", {"sid": sid})
    poll_id, poll_card = find_posted(connector, chat, "poll.vote")
    poll = data_of(poll_card, "poll.vote")["poll"]
    await bot.flush()
    proxy.clear_log()
    choices = [str(n % 3) for n in range(25)]
    answers = await asyncio.gather(
        *(
            bot.execute(p, chat, poll_id, "poll.vote", {"sid": sid, "poll": poll, "vote": v})
            for p, v in zip(room, choices, strict=True)
        )
    )
    assert all(s == 200 and "Your vote is recorded" in card_text(c) for s, c in answers)
    poll_reads = proxy.requests(on("GET", table(bot, "polls")))
    voter_counts = proxy.requests(on("GET", table(bot, "votes")))
    assert len(poll_reads) <= 6, f"{len(poll_reads)} poll reads for 25 votes"
    assert len(voter_counts) <= 6, f"{len(voter_counts)} vote counts for 25 votes"
    await bot.execute(leader, chat, poll_id, "poll.close", {"sid": sid, "poll": poll})
    closed = (await stored(azurite, bot, "polls"))[0]
    assert json.loads(closed["Results"]) == [choices.count(str(n)) for n in range(3)]
    assert closed["Voters"] == 25
