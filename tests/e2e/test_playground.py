"""End to end in the Microsoft 365 Agents Playground: a group chat's whole sign-in."""

from __future__ import annotations

import io

import aiohttp
import pytest
from openpyxl import load_workbook

from testing.flows import SETUP, rows
from testing.playground import PlaygroundProcess
from testing.teams import (
    BotUnderTest,
    card_sid,
    card_text,
    elements,
    executes,
    inputs,
    verbs,
)

pytestmark = pytest.mark.e2e

PLAYGROUND_TENANT = "7d3c1f0e-5a2b-4c8d-9e6f-0a1b2c3d4e5f"


async def test_five_users_sign_in_through_the_playground(make_settings, card_log):
    bot = BotUnderTest(make_settings(ALLOWED_TENANT_IDS=PLAYGROUND_TENANT), "")
    await bot.start()
    try:
        async with PlaygroundProcess(f"{bot.url}/api/messages") as playground:
            async with playground.client() as client:
                config = await client.config()
                chat = config.group_chat_id
                leader = config.current_user
                others = [u for u in config.users if u["id"] != leader["id"]]
                assert len(others) >= 5

                await client.send(chat, leader["id"], "start")
                setup = await client.wait_for_message(
                    lambda m: (
                        m.conversation_id == chat
                        and m.card is not None
                        and "setup.submit" in verbs(m.card)
                    ),
                    timeout=15,
                )
                view = await client.invoke(chat, leader["id"], setup.id, "setup.submit", SETUP)
                assert "Sign-in is open" in card_text(view)
                sid = card_sid(view)

                for user in others[:5]:
                    card = await client.invoke(chat, user["id"], setup.id, "signin", {"sid": sid})
                    assert f"You are signed in as {user['name']}" in card_text(card)
                    card_log.add("playground-signin", card)

                # The shared card, updated in place through the Playground's connector.
                updated = await client.wait_for_message(
                    lambda m: (
                        m.action == "updateMessage"
                        and m.id == setup.id
                        and m.card is not None
                        and "5 participants signed in" in card_text(m.card)
                    ),
                    timeout=15,
                )
                assert all(u["name"] not in card_text(updated.card) for u in others)

                closed = await client.invoke(
                    chat, leader["id"], setup.id, "signin.close", {"sid": sid}
                )
                text = card_text(closed)
                assert "Sign-in is closed" in text
                assert all(u["name"] in text for u in others[:5])
                for message in client.messages(chat):
                    if message.card:
                        card_log.add("playground-stream", message.card)

        stored = await rows(bot, "attendance")
        assert sorted(r["AadId"] for r in stored) == sorted(u["aadObjectId"] for u in others[:5])
    finally:
        await bot.stop()


async def test_the_whole_dialogue_and_its_forms_through_the_playground(make_settings, card_log):
    bot = BotUnderTest(make_settings(ALLOWED_TENANT_IDS=PLAYGROUND_TENANT), "")
    await bot.start()
    try:
        async with PlaygroundProcess(f"{bot.url}/api/messages") as playground:
            async with playground.client() as client:
                config = await client.config()
                chat = config.group_chat_id
                leader = config.current_user["id"]
                others = [u["id"] for u in config.users if u["id"] != leader][:5]

                def posted(verb: str):
                    return lambda m: (
                        m.conversation_id == chat
                        and m.action == "createMessage"
                        and m.card is not None
                        and verb in verbs(m.card)
                    )

                await client.send(chat, leader, "start")
                setup = await client.wait_for_message(posted("setup.submit"), timeout=15)
                view = await client.invoke(chat, leader, setup.id, "setup.submit", SETUP)
                sid = card_sid(view)
                for user in others:
                    await client.invoke(chat, user, setup.id, "signin", {"sid": sid})
                agenda = await client.wait_for_message(posted("question.log"), timeout=15)

                async def leader_clicks(message_id: str, verb: str, data: dict) -> dict:
                    card = await client.invoke(chat, leader, message_id, verb, data)
                    card_log.add(f"playground-{verb}", card)
                    return card

                for stage in ("introduction", "opening"):
                    await leader_clicks(agenda.id, "agenda.next", {"sid": sid, "stage": stage})
                mark = client.mark()
                await leader_clicks(agenda.id, "scenarios.poll", {"sid": sid})
                poll = await client.wait_for_message(posted("poll.vote"), after=mark)
                poll_id = next(
                    a["data"]["poll"] for a in poll.card["actions"] if a.get("verb") == "poll.vote"
                )
                for user, vote in zip(others, ["0,1", "1", "1,2", "0,1", "1"], strict=True):
                    card = await client.invoke(
                        chat,
                        user,
                        poll.id,
                        "poll.vote",
                        {"sid": sid, "poll": poll_id, "vote": vote},
                    )
                    assert "Your vote is recorded" in card_text(card)
                await leader_clicks(poll.id, "poll.close", {"sid": sid, "poll": poll_id})
                await leader_clicks(poll.id, "scenarios.from_poll", {"sid": sid, "poll": poll_id})
                for _ in range(2):
                    mark = client.mark()
                    await leader_clicks(agenda.id, "scenario.next", {"sid": sid})
                    scenario = await client.wait_for_message(posted("scenario.view"), after=mark)
                    scenario_id = next(
                        a["data"]["scenario"]
                        for a in scenario.card["actions"]
                        if a.get("verb") == "scenario.view"
                    )
                    assert "Discussion questions" in card_text(scenario.card)
                    wrapped = await leader_clicks(
                        scenario.id, "scenario.wrap", {"sid": sid, "scenario": scenario_id}
                    )
                    assert "Key messages" in card_text(wrapped)
                await client.invoke(
                    chat,
                    others[2],
                    agenda.id,
                    "question.log",
                    {"sid": sid, "question_text": "Can I like a post criticising a Member State?"},
                )
                await leader_clicks(agenda.id, "agenda.next", {"sid": sid, "stage": "scenarios"})
                done = await leader_clicks(agenda.id, "dialogue.conclude", {"sid": sid})
                assert "recorded as held" in card_text(done)
                keys = next(a["data"] for a in done["actions"] if a.get("verb") == "feedback.open")

                form = await leader_clicks(agenda.id, "feedback.open", keys)
                assert "Can I like a post criticising a Member State?" in card_text(form)
                answers = {"c7": "4", "c9": "5", "forward_questions": "true"}
                for input_id, value in inputs(form).items():
                    answers.setdefault(input_id, str(value or ""))
                saved = await leader_clicks(agenda.id, "feedback.submit", {**keys, **answers})
                assert "Appendix C is stored (version 1)" in card_text(saved)
                for user in others[:4]:
                    ratings = {f"f{n}": "4" for n in range(1, 6)}
                    card = await client.invoke(
                        chat, user, agenda.id, "assess.submit", {**keys, **ratings}
                    )
                    assert "stored anonymously" in card_text(card)
                # Open for days after the conclusion: the leader learns only which side of the
                # minimum (the release at close is tested with a clock in the app suites).
                results = await leader_clicks(agenda.id, "assess.results", keys)
                assert "3 or more participants have answered so far" in card_text(results)
                assert "Average" not in card_text(results)
        sessions = await rows(bot, "sessions")
        assert sessions[0]["Stage"] == "done"
        assert len(await rows(bot, "ethicsqueue")) == 1
    finally:
        await bot.stop()


async def test_focal_point_and_ethics_office_through_the_playground(make_settings, card_log):
    amina = "a1d1a110-0001-4000-8000-00000000a001"
    layla = "a1d1a110-0006-4000-8000-00000000a006"
    # In the Playground only the current user (Amina) has a personal chat with the bot. An
    # admin is never a focal point: Layla (the development admin) names Amina focal point of
    # DESA; for the Ethics Office's report a second bot on the same tables lists Amina as an
    # admin, and her focal role then opens nothing.
    bot = BotUnderTest(
        make_settings(ALLOWED_TENANT_IDS=PLAYGROUND_TENANT, ETHICS_ADMIN_IDS=layla), ""
    )
    office = BotUnderTest(
        make_settings(ALLOWED_TENANT_IDS=PLAYGROUND_TENANT, ETHICS_ADMIN_IDS=f"{layla},{amina}"),
        "",
    )
    await bot.start()
    await office.start()
    try:
        async with PlaygroundProcess(f"{bot.url}/api/messages") as playground:
            async with playground.client() as client:
                config = await client.config()
                chat, personal = config.group_chat_id, config.personal_chat_id
                leader = config.current_user["id"]
                others = [u for u in config.users if u["id"] != leader]

                def posted(conversation: str, verb: str, after: int = 0):
                    return client.wait_for_message(
                        lambda m: (
                            m.conversation_id == conversation
                            and m.card is not None
                            and verb in verbs(m.card)
                        ),
                        timeout=15,
                        after=after,
                    )

                # The admin names the focal point of DESA in the group chat (member lookup).
                admin = next(u["id"] for u in others if u["name"] == "Layla Haddad")
                mark = client.mark()
                await client.send(chat, admin, f"focal DESA {leader}")
                named = await client.wait_for_message(
                    lambda m: (
                        m.conversation_id == chat and "focal point for DESA" in (m.text or "")
                    ),
                    timeout=15,
                    after=mark,
                )
                assert "Amina Diallo" in named.text

                # Two sessions in two units, one after the other in the same chat.
                for unit, people in (
                    ("Population Division", others[:3]),
                    ("Data Team", others[3:5]),
                ):
                    mark = client.mark()
                    await client.send(chat, leader, "start")
                    setup = await posted(chat, "setup.submit", mark)
                    view = await client.invoke(
                        chat, leader, setup.id, "setup.submit", {**SETUP, "unit": unit}
                    )
                    sid = card_sid(view)
                    for user in people:
                        await client.invoke(chat, user["id"], setup.id, "signin", {"sid": sid})
                    await client.invoke(chat, leader, setup.id, "signin.close", {"sid": sid})
                    mark = client.mark()
                    await client.send(chat, leader, "end")
                    await client.wait_for_message(
                        lambda m: m.conversation_id == chat and "has ended" in (m.text or ""),
                        timeout=15,
                        after=mark,
                    )
                await bot.flush()

                # The focal point's progress, a sign-in sheet, the exports, the certification.
                mark = client.mark()
                await client.send(personal, leader, "progress")
                progress = await posted(personal, "focal.certify_preview", mark)
                text = card_text(progress.card)
                assert "Population Division" in text and "Data Team" in text
                card_log.add("playground-progress", progress.card)
                sessions = await client.invoke(
                    personal, leader, progress.id, "focal.sessions", {"entity": "DESA"}
                )
                sheet_data = next(
                    a["data"] for a in executes(sessions) if a["verb"] == "focal.sheet"
                )
                sheet = await client.invoke(
                    personal, leader, progress.id, "focal.sheet", sheet_data
                )
                assert any(u["name"] in card_text(sheet) for u in others[:5])
                links = [
                    n["url"] for n in elements(progress.card) if n.get("type") == "Action.OpenUrl"
                ]
                async with aiohttp.ClientSession() as http:
                    path = links[1].split("/exports/")[1]
                    async with http.get(f"{bot.url}/exports/{path}") as response:
                        assert response.status == 200
                        workbook = load_workbook(io.BytesIO(await response.read()))
                values = list(workbook.active.iter_rows(values_only=True))
                total = next(row for row in values if row and row[0] == "TOTAL")
                assert total[2] == 5  # three and two participants
                certified = await client.invoke(
                    personal, leader, progress.id, "focal.certify", {"entity": "DESA"}
                )
                assert "Certified: 5 participants in 2 sessions" in card_text(certified)

        async with PlaygroundProcess(f"{office.url}/api/messages") as playground:
            async with playground.client() as client:
                # The Ethics Office's report: DESA certified, counts only, no names.
                mark = client.mark()
                await client.send(personal, leader, "report")
                report = await posted(personal, "admin.feedback", mark)
                card_log.add("playground-report", report.card)
                text = card_text(report.card)
                assert "DESA" in text and "certified" in text and "5" in text
                assert not any(u["name"] in text for u in others)
                # Amina is an admin for this bot: her focal role opens no sheet.
                refused = await client.invoke(
                    personal, leader, report.id, "focal.sheet", sheet_data
                )
                assert "Only the entity's focal point" in card_text(refused)
                assert not any(u["name"] in card_text(refused) for u in others)
    finally:
        await bot.stop()
        await office.stop()
