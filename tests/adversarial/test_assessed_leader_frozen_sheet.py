"""The leader being assessed tries to choose who assesses them after the session concluded.

At conclusion sign-in closes and the sheet freezes: the leader (or the monitor) can no longer
remove a critic, add a friend, import the chat, confirm join hints or reopen sign-in, and
nobody can sign in or out, so who may assess the facilitator is fixed then.
"""

from __future__ import annotations

from typing import Any

from testing.flows import GOOD_F, rows, run_to_conclusion
from testing.teams import BotUnderTest, Chat, card_text, verbs

FROZEN = "The session has concluded: its sign-in sheet is final"


def sheet_state(found: list[dict[str, Any]]) -> list[tuple]:
    """What the sheet holds, comparable between two reads."""
    return sorted(
        (r["RowKey"], r["Name"], r.get("Category"), r.get("Agency"), r.get("StruckAt"))
        for r in found
    )


async def join_hint(bot: BotUnderTest, chat: Chat, user) -> None:
    """Teams tells the bot someone joined the meeting."""
    activity = bot.activity(
        user,
        chat,
        type="event",
        name="application/vnd.microsoft.meetingParticipantJoin",
        value={
            "members": [{"user": {"id": user.mri, "aadObjectId": user.aad_id, "name": user.name}}]
        },
    )
    await bot.post(activity)


async def test_after_conclusion_the_leader_changes_nothing_on_the_sheet(bot, connector, people):
    chat, leader = Chat(), people[0]
    critic, friend, late = people[1], people[10], people[11]
    participants = people[1:5]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, participants)
    await bot.flush()
    stored = await rows(bot, "sessions")
    assert stored[0]["Status"] == "signin_closed" and stored[0]["ClosedAt"]
    assert stored[0]["FrozenAt"]
    before = sheet_state(await rows(bot, "attendance"))
    connector.set_members(chat.id, [p.member() for p in [leader, *participants, friend]])
    await join_hint(bot, chat, late)

    attempts = [
        (leader, "attendance.remove", {"remove_key": f"u{critic.aad_id}"}),
        (leader, "attendance.add", {"add_name": friend.name, "add_category": "staff"}),
        (leader, "attendance.import", {}),
        (leader, "attendance.import_confirm", {"roster_pick": friend.aad_id}),
        (leader, "attendance.confirm_hints", {}),
        (leader, "signin.reopen", {}),
        (friend, "signin", {}),
        (critic, "signin.undo", {}),
    ]
    for who, verb, data in attempts:
        _, card = await bot.execute(who, chat, agenda_id, verb, {"sid": sid, **data})
        assert FROZEN in card_text(card), verb
    await bot.flush()
    assert sheet_state(await rows(bot, "attendance")) == before
    after = (await rows(bot, "sessions"))[0]
    assert after["Status"] == "signin_closed"

    # Who may assess is who was on the sheet at conclusion: the critic yes, the friend no.
    _, card = await bot.execute(critic, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert "stored anonymously" in card_text(card)
    _, card = await bot.execute(friend, chat, agenda_id, "assess.submit", {**keys, **GOOD_F})
    assert "Only participants on this session's sign-in sheet" in card_text(card)


async def test_the_leaders_view_after_conclusion_offers_no_sheet_changes(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, agenda_id, _ = await run_to_conclusion(bot, connector, chat, leader, people[1:4])
    _, card = await bot.execute(leader, chat, agenda_id, "signin.view", {"sid": sid})
    offered = verbs(card)
    assert not offered & {
        "attendance.add",
        "attendance.remove",
        "attendance.import",
        "session.monitor",
        "signin.reopen",
        "signin",
        "signin.undo",
    }
    assert FROZEN in card_text(card)
