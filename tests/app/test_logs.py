"""Logs hold ids, verbs and counts: never a name, an e-mail or what people typed."""

from __future__ import annotations

import json
import logging

from bot.teams.logs import JsonFormatter
from testing.flows import run_to_conclusion
from testing.teams import Chat

SECRET_TEXT = "My manager's handling of the recruitment troubles me"


async def test_a_whole_session_logs_no_names_emails_or_answers(bot, connector, people, caplog):
    caplog.set_level(logging.DEBUG)
    chat, leader = Chat(), people[0]
    sid, agenda_id, keys = await run_to_conclusion(
        bot, connector, chat, leader, people[1:6], question=SECRET_TEXT
    )
    await bot.execute(
        leader,
        chat,
        agenda_id,
        "feedback.submit",
        {
            **keys,
            "c7": "4",
            "c9": "4",
            "c10": SECRET_TEXT,
            "c1": "2026-11-20",
            "c5": "5",
            "c6": "30",
        },
    )
    await bot.execute(
        people[1],
        chat,
        agenda_id,
        "assess.submit",
        {**keys, **{f"f{n}": "5" for n in range(1, 6)}, "f6": SECRET_TEXT},
    )
    await bot.execute(leader, chat, agenda_id, "attendance.add", {"sid": sid, "add_name": "Zed"})
    await bot.flush()
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert len(lines) > 20
    text = "\n".join(lines)
    for person in people:
        assert person.name not in text
    assert "@example.org" not in text
    assert SECRET_TEXT not in text
    assert "Statistics Division" not in text  # the unit, typed by the leader
    entries = [json.loads(line) for line in lines]
    correlated = [e for e in entries if e["correlation"] != "-"]
    assert correlated and {"time", "level", "logger", "message"} <= set(entries[0])
