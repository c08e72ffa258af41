"""An operator with the tables, the secret and backups must not link a closed poll's votes.

A vote's row key is HMAC(secret, salt, poll, person). Whoever holds the secret, a salt and the
row keys can hash every name on the sheet and compare. So every poll closes (leader, conclusion,
`end`, timeout), its vote rows go at the close, and a backup holds neither salts nor vote rows
(nor Appendix F's salt and keyed hashes), even one taken while a poll was open.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
from dataclasses import replace
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError

from cli.maintenance import DONE, parser, run
from testing.flows import COUNTS, GOOD_F, data_of, find_posted, open_poll, rows, shared_card, vote
from testing.teams import BotUnderTest, Chat, card_text


def voter_key(secret: str, salt: str, poll_id: str, aad_id: str) -> str:
    """The row key dialogs/polls.py gives a vote (its `_voter_key`)."""
    message = f"{salt}\x1f{poll_id}\x1f{aad_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]


def links(secret: str, salts: set[str], poll_ids: set[str], row_keys: set[str], people) -> set:
    """Every (row key, person) an attacker can match, trying every salt on every poll."""
    found = set()
    for salt in salts | {""}:
        for poll_id in poll_ids:
            for person in people:
                key = voter_key(secret, salt, poll_id, person.aad_id)
                if key in row_keys:
                    found.add((key, person.aad_id))
    return found


def backup_rows(folder: Path) -> dict[str, list[dict]]:
    """Every row of an export, by table."""
    return {
        path.stem: [json.loads(line) for line in path.read_text().splitlines() if line]
        for path in folder.glob("*.jsonl")
    }


def loot(tables: dict[str, list[dict]]) -> tuple[set[str], set[str], set[str]]:
    """What an attacker takes from tables or a backup: salts, poll ids, every row key."""
    salts = {str(row["Salt"]) for table in tables.values() for row in table if row.get("Salt")}
    polls = {row["RowKey"] for row in tables.get("polls", [])}
    keys = {str(row["RowKey"]) for table in tables.values() for row in table}
    return salts, polls, keys


async def export(bot, folder: Path) -> Path:
    out = io.StringIO()
    env = {
        "TABLES_CONNECTION_STRING": bot.settings.tables_connection_string,
        "TABLE_PREFIX": bot.settings.table_prefix,
    }
    status = await run(parser().parse_args(["export", "--out", str(folder)]), env, out, input)
    assert status == DONE, out.getvalue()
    return folder


async def live(bot) -> dict[str, list[dict]]:
    """The tables an attacker reads for polls and Appendix F (a missing table: no rows)."""
    found = {}
    for table in ("polls", "votes", "openpolls", "assessments"):
        try:
            found[table] = await rows(bot, table)
        except ResourceNotFoundError:
            found[table] = []
    return found


async def conclude(bot, connector, chat, leader, sid: str) -> dict:
    """From the first scenario to the conclusion; the after-session keys of the leader's card."""
    agenda_id, _ = find_posted(connector, chat, "question.log")
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    await bot.execute(leader, chat, scenario_id, "scenario.wrap", {"sid": sid, "scenario": "s1"})
    await bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
    scenario_id, _ = find_posted(connector, chat, "scenario.view")
    await bot.execute(leader, chat, scenario_id, "scenario.wrap", {"sid": sid, "scenario": "s2"})
    _, view = await bot.execute(leader, chat, agenda_id, "agenda.view", {"sid": sid})
    await bot.execute(leader, chat, agenda_id, "agenda.next", data_of(view, "agenda.next"))
    _, card = await bot.execute(leader, chat, agenda_id, "dialogue.conclude", {"sid": sid})
    assert "recorded as held" in card_text(card)
    return data_of(card, "feedback.open")


def assert_closed_and_unlinkable(tables: dict[str, list[dict]], poll: str) -> dict:
    (stored,) = [p for p in tables["polls"] if p["RowKey"] == poll]
    assert stored["Status"] == "closed" and stored.get("Salt", "") == ""
    assert [v for v in tables["votes"] if v["PartitionKey"] == poll] == []
    assert [i for i in tables["openpolls"] if i["RowKey"] == poll] == []
    return stored


async def test_no_backup_and_no_table_links_a_vote_after_the_conclusion(
    bot, connector, people, tmp_path
):
    chat, leader, secret = Chat(), people[0], bot.settings.anonymity_secret
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    for person, choice in zip(people[1:5], "0120", strict=True):
        await vote(bot, person, chat, card_id, sid, poll, choice)

    # While the poll is open, the tables and the secret do link every vote: the residual risk
    # the close ends (and why a poll must never stay open).
    tables = await live(bot)
    assert (
        len(
            links(
                secret,
                *loot(tables),
                people,
            )
        )
        == 4
    )
    (open_row,) = tables["polls"]
    salt = open_row["Salt"]
    vote_keys = {v["RowKey"] for v in tables["votes"]}

    during = await export(bot, tmp_path / "during")
    after_keys = await conclude(bot, connector, chat, leader, sid)
    for person in people[1:4]:
        _, card = await bot.execute(
            person, chat, card_id, "assess.submit", {**after_keys, **GOOD_F}
        )
        assert "stored anonymously" in card_text(card)
    tables = await live(bot)
    stored = assert_closed_and_unlinkable(tables, poll)
    assert json.loads(stored["Results"]) == [2, 1, 1] and stored["Voters"] == 4
    (aggregate,) = [a for a in tables["assessments"] if a["RowKey"] == "aggregate"]
    answer_keys = set(json.loads(aggregate.get("Folded0", "[]")))
    secrets_of_f = {aggregate.get("Salt", "")} - {""}
    after = await export(bot, tmp_path / "after")

    everything = {}
    for folder in (during, after):
        text = "".join(p.read_text() for p in folder.glob("*.jsonl"))
        # No salt, no vote key, no Appendix F key in any file.
        assert salt not in text
        assert not any(key in text for key in vote_keys | answer_keys)
        assert not any(s in text for s in secrets_of_f)
        backup = backup_rows(folder)
        assert backup["votes"] == [] and backup["openpolls"] == []
        for row in backup["assessments"]:
            assert "Salt" not in row and not any(k.startswith("Folded") for k in row)
        (exported,) = backup["polls"]
        # The poll open at the export is in it as closed, with its tally at that moment.
        assert exported["Status"] == "closed" and "Salt" not in exported
        assert json.loads(exported["Results"]) == [2, 1, 1] and exported["Voters"] == 4
        for table, found in backup.items():
            everything.setdefault(table, []).extend(found)
    (exported_f,) = [a for a in backup_rows(after)["assessments"] if a["RowKey"] == "aggregate"]
    assert exported_f["Answers"] == 3
    # Every salt and row key from both backups and the tables now, against every person.
    tables_now = await live(bot)
    combined = {t: everything.get(t, []) + tables_now.get(t, []) for t in everything | tables_now}
    assert links(secret, *loot(combined), people) == set()

    # A restore of the backup taken while the poll was open gives it back closed, with its tally.
    target = {
        "TABLES_CONNECTION_STRING": bot.settings.tables_connection_string,
        "TABLE_PREFIX": "r" + bot.settings.table_prefix[1:],
    }
    args = parser().parse_args(["restore", "--from", str(during), "--yes"])
    assert await run(args, target, io.StringIO(), input) == DONE

    class Restored:
        settings = replace(bot.settings, table_prefix=target["TABLE_PREFIX"])

    restored = await live(Restored)
    stored = assert_closed_and_unlinkable(restored, poll)
    assert json.loads(stored["Results"]) == [2, 1, 1] and stored["Voters"] == 4


async def test_end_closes_the_open_polls_and_deletes_their_votes(bot, connector, people):
    chat, leader = Chat(), people[0]
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    for person in people[1:4]:
        await vote(bot, person, chat, card_id, sid, poll, "1")
    assert await bot.say(leader, chat, "end") == 201
    assert_closed_and_unlinkable(await live(bot), poll)
    # The card in the chat shows the poll closed, with its results (3 voters).
    shared = await shared_card(connector, chat, card_id, "final results")
    assert "No: 3 (100%)" in card_text(shared) and "poll.vote" not in json.dumps(shared)


async def test_a_forgotten_poll_closes_after_the_timeout_by_the_sweep(
    make_settings, connector, people, clock
):
    connector.reset()
    bot = BotUnderTest(make_settings(POLL_SWEEP_SECONDS="1"), connector.url, clock=clock)
    await bot.start()
    try:
        chat = Chat()
        sid, card_id, poll = await open_poll(bot, connector, people, chat)
        for person in people[1:3]:
            await vote(bot, person, chat, card_id, sid, poll, "0")
        clock.advance(119)
        await asyncio.sleep(1.5)
        assert (await rows(bot, "polls"))[0]["Status"] == "open"
        clock.advance(2)
        for _ in range(50):
            if (await rows(bot, "polls"))[0]["Status"] == "closed":
                break
            await asyncio.sleep(0.1)
        assert_closed_and_unlinkable(await live(bot), poll)
        # Nobody looked at it: the shared card was updated by the sweep.
        shared = await shared_card(connector, chat, card_id, "Too few votes")
        assert not COUNTS.search(card_text(shared))
    finally:
        await bot.stop()


async def test_a_forgotten_poll_closes_when_it_is_next_used(timed_bot, connector, people, clock):
    bot, chat = timed_bot, Chat()
    sid, card_id, poll = await open_poll(bot, connector, people, chat)
    for person in people[1:4]:
        await vote(bot, person, chat, card_id, sid, poll, "0")
    clock.advance(121)
    # The default sweep (every 5 minutes) has not run since: the vote itself finds it too old.
    _, card = await bot.execute(
        people[4], chat, card_id, "poll.vote", {"sid": sid, "poll": poll, "vote": "1"}
    )
    assert "The poll is closed: your vote was not counted" in card_text(card)
    stored = assert_closed_and_unlinkable(await live(bot), poll)
    assert json.loads(stored["Results"]) == [3, 0, 0]
    await shared_card(connector, chat, card_id, "final results")
