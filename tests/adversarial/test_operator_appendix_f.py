"""An operator with the tables, the secret and backups tries to link Appendix F answers to people.

The operator reads the `assessments` table straight from Azurite, takes backups (the maintenance
export, and raw copies of the entity) while the assessment is open, and knows the secret and the
sheet. After the close nothing in the table may link an answer to a person: no salt, no keyed
hash of anyone, no date on a comment; recomputing every person's key with every salt ever seen
finds nothing. The close must happen even if nobody looks. And emoji-heavy comments, which
count double in Azure's UTF-16 limits, must neither fail the writes nor lose earlier answers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from azure.data.tables.aio import TableServiceClient

from cli.maintenance import DONE, parser, run
from storage.assessments import AssessmentRepository
from testing.clock import Clock
from testing.flows import GOOD_F, run_to_conclusion
from testing.teams import BotUnderTest, Chat, User, card_text

OPEN_DAYS = 7
SAVED = "your assessment is stored anonymously"
FULL = "your assessment was not saved"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
HEX40 = re.compile(r"\b[0-9a-f]{40}\b")


async def raw_aggregate(bot: BotUnderTest, sid: str) -> dict[str, Any]:
    """The session's aggregate entity exactly as Azurite holds it (a raw "backup")."""
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        client = service.get_table_client(bot.settings.table_prefix + "assessments")
        rows = [
            e async for e in client.query_entities("PartitionKey eq @pk", parameters={"pk": sid})
        ]
    assert [r["RowKey"] for r in rows] == ["aggregate"]
    return dict(rows[0])


async def export(bot: BotUnderTest, folder: Path) -> list[dict[str, Any]]:
    """A backup with the project's own export; the `assessments` rows it holds."""
    env = {
        "TABLES_CONNECTION_STRING": bot.settings.tables_connection_string,
        "TABLE_PREFIX": bot.settings.table_prefix,
    }
    args: argparse.Namespace = parser().parse_args(["export", "--out", str(folder)])
    assert await run(args, env, io.StringIO(), lambda _: "") == DONE
    lines = (folder / "assessments.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def key_of(secret: str, salt: str, sid: str, person: User) -> str:
    """What the operator computes: the keyed hash of a person, as the bot's source makes it."""
    message = f"{salt}\x1f{sid}\x1f{person.aad_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]


def dump(entity: dict[str, Any]) -> str:
    return json.dumps({k: str(v) for k, v in entity.items()}, ensure_ascii=False)


async def answer(bot: BotUnderTest, person: User, chat: Chat, card_id: str, keys: dict, **f: str):
    _, card = await bot.execute(person, chat, card_id, "assess.submit", {**keys, **GOOD_F, **f})
    return card_text(card)


async def test_after_the_close_nothing_in_the_table_or_a_later_backup_links_anyone(
    timed_bot, connector, clock: Clock, people, tmp_path
):
    bot, chat, leader, room = timed_bot, Chat(), people[0], people[1:7]
    secret = bot.settings.anonymity_secret
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    # Backups while the assessment is open: one after each answer, raw and exported.
    backups: list[dict[str, Any]] = []
    for n, person in enumerate(room[:5]):
        assert SAVED in await answer(bot, person, chat, agenda_id, keys, f7=f"Idea {n}")
        backups.append(await raw_aggregate(bot, sid))
        clock.advance(60)
    backups += await export(bot, tmp_path / "open")
    salts = {b["Salt"] for b in backups if b.get("Salt")}
    assert salts, "an open aggregate keeps its salt: that is what the close must remove"
    # The attack works on an open backup (this is the residual risk while open)...
    open_keys = {
        p.aad_id for p in room for s in salts if key_of(secret, s, sid, p) in dump(backups[4])
    }
    assert open_keys == {p.aad_id for p in room[:5]}
    # ...and every comment is a bare text: no day, no time, in shuffled order.
    assert not DATE.search(backups[4]["Comments0"])

    clock.advance(OPEN_DAYS * 24 * 60)
    _, results = await bot.execute(leader, chat, agenda_id, "assess.results", keys)
    assert "5 participants answered" in card_text(results)

    closed = await raw_aggregate(bot, sid)
    assert set(closed) == {"PartitionKey", "RowKey", "Ratings", "Answers", "Comments0"}, closed
    assert closed["Answers"] == 5
    assert json.loads(closed["Ratings"])["f1"] == [0, 0, 0, 0, 5]
    comments = json.loads(closed["Comments0"])
    assert sorted(comments["f7"]) == [f"Idea {n}" for n in range(5)]
    assert all(isinstance(c, str) for texts in comments.values() for c in texts)
    text = dump(closed)
    assert not DATE.search(text.replace(sid, ""))
    # Every person on the sheet, with every salt any backup ever held: nothing links.
    tried = {key_of(secret, s, sid, p) for s in salts for p in [leader, *room]}
    assert not [k for k in tried if k in text]
    assert not HEX40.findall(text.replace(sid, ""))
    # A backup taken after the close holds no salt or key either.
    (exported,) = await export(bot, tmp_path / "closed")
    assert not {k for k in exported if k == "Salt" or k.startswith("Folded")}
    assert not [k for k in tried if k in json.dumps(exported)]


async def test_the_close_happens_even_if_nobody_looks(
    make_settings, connector, clock: Clock, people
):
    settings = make_settings()
    bot = await BotUnderTest(settings, connector.url, clock=clock).start()
    chat, leader, room = Chat(), people[0], people[1:5]
    try:
        sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
        for person in room[:3]:
            assert SAVED in await answer(bot, person, chat, agenda_id, keys)
        assert "Salt" in await raw_aggregate(bot, sid)
    finally:
        await bot.stop()
    # Nobody looks again; days later two instances start (the sweep runs at start and hourly).
    clock.advance((OPEN_DAYS + 2) * 24 * 60)
    first = await BotUnderTest(settings, connector.url, clock=clock).start()
    second = await BotUnderTest(settings, connector.url, clock=clock).start()
    try:
        closed: dict[str, Any] | None = None
        for _ in range(50):
            closed = await raw_aggregate(first, sid)
            if "Answers" in closed:
                break
            await asyncio.sleep(0.1)
        assert closed is not None and closed.get("Answers") == 3, closed
        assert "Salt" not in closed and not [k for k in closed if k.startswith("Folded")]
        # Closed once: both instances, and the leader's look, see the same fixed results.
        _, a = await first.execute(leader, chat, agenda_id, "assess.results", keys)
        _, b = await second.execute(leader, chat, agenda_id, "assess.results", keys)
        assert a == b and "3 participants answered" in card_text(a)
        assert (await raw_aggregate(first, sid))["Answers"] == 3
    finally:
        await first.stop()
        await second.stop()


async def test_emoji_heavy_comments_from_25_people_are_stored_and_shown(
    timed_bot, connector, clock: Clock, people
):
    bot, chat, leader, room = timed_bot, Chat(), people[0], people[1:26]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    smileys = "😀" * 1000  # 1,000 characters, 2,000 UTF-16 code units
    texts = await asyncio.gather(
        *(answer(bot, p, chat, agenda_id, keys, f6=smileys, f7=smileys) for p in room)
    )
    assert all(SAVED in t for t in texts), [t[:120] for t in texts if SAVED not in t]
    stored = await raw_aggregate(bot, sid)
    chunks = [v for k, v in sorted(stored.items()) if k.startswith("Comments")]
    # Each part within Azure's 64 KiB (32,768 UTF-16 units), no surrogate pair cut in two.
    assert len(chunks) > 1
    assert all(len(c.encode("utf-16-le")) <= 65_536 for c in chunks)
    comments = json.loads("".join(stored[f"Comments{n}"] for n in range(len(chunks))))
    assert comments == {"f6": [smileys] * 25, "f7": [smileys] * 25}

    clock.advance(OPEN_DAYS * 24 * 60)
    _, results = await bot.execute(leader, chat, agenda_id, "assess.results", keys)
    assert "25 participants answered" in card_text(results)
    # All fifty comments are there, shortened alike so that the card fits in a Teams message.
    shown = [t for t in card_text(results).splitlines() if t.startswith("“😀")]
    assert len(shown) == 50 and len(set(shown)) == 1 and shown[0].endswith("…”")
    assert "Long comments are shortened" in card_text(results)


async def test_an_aggregate_that_would_not_fit_refuses_the_answer_and_keeps_the_others(
    timed_bot, connector, clock: Clock, people
):
    bot, chat, leader, room = timed_bot, Chat(), people[0], people[1:6]
    sid, agenda_id, keys = await run_to_conclusion(bot, connector, chat, leader, room)
    # Earlier answers already fill the entity near Azure's 1 MiB (a very large session).
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        repo = AssessmentRepository(
            service.get_table_client(bot.settings.table_prefix + "assessments")
        )
        aggregate = await repo.aggregate(sid, clock() + timedelta(days=OPEN_DAYS))
        aggregate.comments = {"f6": []}
        while repo.fits(aggregate):
            aggregate.comments["f6"].append("😀" * 1000)
            aggregate.folded.append(f"{len(aggregate.folded):040x}")
        aggregate.comments["f6"][-1] = "😀" * 500  # about 2,000 bytes of room are left
        aggregate.ratings = {"f1": [0, 0, 0, 0, len(aggregate.folded)]}
        assert repo.fits(aggregate)
        await repo.save(aggregate)
    earlier = len(aggregate.folded)
    before = await raw_aggregate(bot, sid)

    text = await answer(bot, room[0], chat, agenda_id, keys, f6="😀" * 1000, f7="😀" * 1000)
    assert FULL in text and SAVED not in text
    after = await raw_aggregate(bot, sid)
    assert after == before  # nothing lost, nothing half-written
    # A shorter answer still fits and is stored with all the earlier ones.
    assert SAVED in await answer(bot, room[1], chat, agenda_id, keys, f6="Clear")
    stored = await raw_aggregate(bot, sid)
    assert json.loads(stored["Ratings"])["f1"] == [0, 0, 0, 0, earlier + 1]


async def test_the_maintenance_command_closes_what_is_due_and_only_that(
    timed_bot, connector, clock: Clock, people
):
    bot, leader = timed_bot, people[0]
    env = {
        "TABLES_CONNECTION_STRING": bot.settings.tables_connection_string,
        "TABLE_PREFIX": bot.settings.table_prefix,
    }
    first_chat, second_chat = Chat(), Chat()
    early, early_agenda, early_keys = await run_to_conclusion(
        bot, connector, first_chat, leader, people[1:4]
    )
    for person in people[1:4]:
        assert SAVED in await answer(bot, person, first_chat, early_agenda, early_keys)
    clock.advance(3 * 24 * 60)
    late, late_agenda, late_keys = await run_to_conclusion(
        bot, connector, second_chat, people[10], people[11:14]
    )
    assert SAVED in await answer(bot, people[11], second_chat, late_agenda, late_keys)
    clock.advance((OPEN_DAYS - 2) * 24 * 60)  # the first is due, the second not yet

    out = io.StringIO()
    args = parser().parse_args(["close-assessments"])
    assert await run(args, env, out, lambda _: "", clock=clock) == DONE
    assert "Closed 1 Appendix F assessment" in out.getvalue()
    assert (await raw_aggregate(bot, early))["Answers"] == 3
    assert "Salt" in await raw_aggregate(bot, late)
    out = io.StringIO()
    assert await run(args, env, out, lambda _: "", clock=clock) == DONE
    assert "Closed 0 Appendix F" in out.getvalue()
