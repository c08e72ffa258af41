"""`python -m cli.maintenance purge`: a past cycle's names go; counts and certifications stay."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import sys
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from azure.data.tables import EdmType, EntityProperty
from azure.data.tables.aio import TableServiceClient

from cli.maintenance import DONE, NOT_CONFIRMED, REFUSED, SKIPPED, parser, purge_of, run
from storage import keys
from storage.records import ExpectedLine, PollRecord
from storage.tables import DATA_TABLES, TABLES, TableStore
from testing.flows import (
    ADMIN,
    FOCAL,
    GOOD_C,
    GOOD_F,
    QUESTION,
    SETUP,
    last_card,
    last_card_message,
    name_focal_points,
    rows,
    run_to_conclusion,
)
from testing.teams import Chat, card_text, elements, inputs

ROOT = Path(__file__).resolve().parents[2]
UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
# A clock for the purge well after the 2026 cycle, so the marker cut-off is 1 January 2027.
LATER = datetime(2027, 2, 1, tzinfo=UTC)


def env_of(bot) -> dict[str, str]:
    """What the purge reads: the bot's storage settings."""
    return {
        "TABLES_CONNECTION_STRING": bot.settings.tables_connection_string,
        "TABLE_PREFIX": bot.settings.table_prefix,
    }


async def maintenance(
    bot, *argv: str, answer: str = "", env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run a maintenance command in-process; its exit status and what it printed."""
    out = io.StringIO()
    args = parser().parse_args(list(argv))
    status = await run(args, env or env_of(bot), out, lambda _prompt: answer, clock=lambda: LATER)
    return status, out.getvalue()


async def purge(bot, *argv: str, answer: str = "") -> tuple[int, str]:
    """`purge` with these flags."""
    return await maintenance(bot, "purge", *argv, answer=answer)


async def set_cycle(bot, year: int) -> None:
    """The Ethics Office moves the Dialogue to another year (the admin card)."""
    _, card = await bot.execute(
        ADMIN,
        Chat(kind="personal", id="a:admin"),
        "1",
        "admin.cycle",
        {"cycle_year": str(year), "cycle_pack": "2023", "cycle_deadline": f"{year}-12-31"},
    )
    assert "The cycle is saved" in card_text(card)


async def progress(bot, connector) -> dict:
    """The focal point's progress card for DESA."""
    personal = Chat(kind="personal", id="a:focal")
    await bot.say(FOCAL, personal, "progress", mention=False)
    return last_card(connector, personal)


def counted(said: str) -> dict[str, int]:
    """The per-table counts the purge printed before asking."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^  (\w+) +(\d+)  ", said, re.MULTILINE)}


def figures(card: dict) -> list[str]:
    """The big numbers: sessions held, participants, personnel."""
    return [n["text"] for n in elements(card) if n.get("size") == "ExtraLarge"]


async def everything(bot) -> dict[str, list[dict]]:
    """Every row of every table that holds data."""
    return {table: await rows(bot, table) for table in DATA_TABLES}


def dump(tables: dict[str, list[dict]]) -> str:
    return json.dumps(
        {t: [{k: str(v) for k, v in e.items()} for e in es] for t, es in tables.items()}
    )


async def add_poll_with_votes(bot, session_id: str, voters: int) -> str:
    """A closed poll of the session with its anonymous votes, as the poll service stores them."""
    store = TableStore(bot.settings.tables_connection_string, bot.settings.table_prefix)
    await store.open()
    try:
        poll = await store.polls.create(
            PollRecord(f"p{session_id[:8]}", session_id, "adhoc", "Clear?", ["Yes", "No"], LATER)
        )
        for n in range(voters):
            await store.polls.put_vote(poll.poll_id, f"voter{n}", [n % 2])
    finally:
        await store.close()
    return poll.poll_id


async def add_markers(bot) -> None:
    """Delivered-activity markers: one from the cycle, one after it ended."""
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        client = service.get_table_client(bot.settings.table_prefix + "deliveries")
        for row, at in (("old", datetime(2026, 6, 1, tzinfo=UTC)), ("new", LATER)):
            await client.upsert_entity(
                {"PartitionKey": keys.chat_partition("19:x"), "RowKey": row, "Claim": "c", "At": at}
            )


async def add_legacy_receipts(bot, session_id: str, count: int) -> None:
    """Appendix F receipt rows as earlier versions kept them, apart from the aggregate."""
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        client = service.get_table_client(bot.settings.table_prefix + "assessments")
        for n in range(count):
            await client.upsert_entity(
                {"PartitionKey": session_id, "RowKey": f"r-{n:040x}", "State": "done"}
            )


async def test_purge_deletes_a_certified_cycles_names_and_keeps_its_counts(
    start_bot, connector, people
):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    # DESA: a session with a monitor, a forwarded question, Appendix C and three Appendix F.
    chat, leader, participants = Chat(), people[0], people[1:5]
    sid, agenda_id, after = await run_to_conclusion(
        bot,
        connector,
        chat,
        leader,
        participants,
        question=QUESTION,
        unit="Population Division",
        personnel="20",
    )
    _, card = await bot.execute(
        leader,
        chat,
        agenda_id,
        "session.monitor",
        {"sid": sid, "monitor_key": "u" + people[1].aad_id},
    )
    assert "is now the monitor" in card_text(card)
    _, form = await bot.execute(leader, chat, agenda_id, "feedback.open", after)
    prefilled = {k: str(v) for k, v in inputs(form).items() if v is not None}
    _, card = await bot.execute(
        leader,
        chat,
        agenda_id,
        "feedback.submit",
        {**after, **prefilled, **GOOD_C, "forward_questions": "true"},
    )
    assert "Appendix C is stored" in card_text(card)
    for person in participants[:3]:
        _, card = await bot.execute(person, chat, agenda_id, "assess.submit", {**after, **GOOD_F})
        assert "stored anonymously" in card_text(card)
    await run_to_conclusion(
        bot, connector, Chat(), people[5], people[6:9], unit="Statistics Division", personnel="12"
    )
    # DPO holds a session and does not certify.
    dpo_sid, _, _ = await run_to_conclusion(
        bot,
        connector,
        Chat(),
        people[10],
        people[11:13],
        entity="DPO",
        unit="Policy",
        personnel="8",
    )
    await add_poll_with_votes(bot, sid, 3)
    dpo_poll = await add_poll_with_votes(bot, dpo_sid, 2)
    await add_markers(bot)
    # Tables written by an earlier version still hold receipts: the purge deletes them too.
    await add_legacy_receipts(bot, sid, 3)
    await bot.flush()
    _, certified = await bot.execute(
        FOCAL, Chat(kind="personal", id="a:focal"), "1", "focal.certify", {"entity": "DESA"}
    )
    assert "Certified: 7 participants in 2 sessions" in card_text(certified)
    assert figures(await progress(bot, connector)) == ["2", "7", "32"]
    before = await everything(bot)
    monitored = next(s for s in before["sessions"] if s["RowKey"] == sid)
    assert people[1].name in monitored["Monitors"] and monitored["LeaderName"] == leader.name

    # The current cycle is refused, whatever the flags.
    status, said = await purge(bot, "--cycle", "2026", "--yes", "--force-uncertified")
    assert status == REFUSED and "current cycle is 2026" in said
    assert await everything(bot) == before

    await set_cycle(bot, 2027)
    before = await everything(bot)
    # Not confirmed: nothing changes.
    status, said = await purge(bot, "--cycle", "2026", answer="yes")
    assert status == NOT_CONFIRMED and "nothing changed" in said
    assert await everything(bot) == before

    status, said = await purge(bot, "--cycle", "2026", answer="2026")
    assert status == SKIPPED, said
    assert "purge  DESA" in said and "skip   DPO" in said
    plan = counted(said)
    assert plan["attendance"] == 7 and plan["attended"] == 7  # 4 + 3 sign-ins
    assert (plan["assessments"], plan["votes"], plan["leaders"], plan["chats"]) == (3, 3, 2, 2)
    assert (plan["sessions"], plan["leaderfeedback"], plan["ethicsqueue"]) == (2, 1, 1)
    assert plan["aggregates"] == 1

    after_purge = await everything(bot)
    desa = {s["RowKey"] for s in after_purge["sessions"] if s["Entity"] == "DESA"}
    dpo = {s["RowKey"] for s in after_purge["sessions"] if s["Entity"] == "DPO"}
    assert len(desa) == 2 and dpo == {dpo_sid}
    # No name, Entra id or Teams id of anyone in DESA's sessions remains, in any table.
    desa_people = people[0:9]
    stored = dump(after_purge)
    for person in desa_people:
        assert person.name not in stored, person.name
        assert person.aad_id not in stored and person.mri[3:] not in stored, person.name
    assert {r["PartitionKey"] for r in after_purge["attendance"]} == {dpo_sid}
    assert not [r for r in after_purge["leaders"] if r["RowKey"] in desa]
    assert [r["RowKey"] for r in after_purge["leaders"]] == [dpo_sid]
    assert [r["PartitionKey"] for r in after_purge["votes"]] == [dpo_poll] * 2
    assert not [r for r in after_purge["assessments"] if r["RowKey"].startswith("r-")]
    assert [r["SessionId"] for r in after_purge["chats"]] == [dpo_sid]
    markers = keys.chat_partition("19:x")
    assert [r["RowKey"] for r in after_purge["deliveries"] if r["PartitionKey"] == markers] == [
        "new"
    ]
    # DPO's participants keep their `attended` rows; DESA's are gone.
    assert sorted(r["RowKey"] for r in after_purge["attended"]) == sorted(
        p.aad_id for p in people[11:13]
    )

    # What is kept: counts, certification, totals, Appendix C answers, Appendix F aggregate.
    sessions = {s["RowKey"]: s for s in after_purge["sessions"]}
    for row in before["sessions"]:
        kept = sessions[row["RowKey"]]
        for name in ("Participants", "NonStaff", "Agencies", "Unit", "Personnel", "HeldAt"):
            assert kept.get(name) == row.get(name), name
        if row["Entity"] == "DESA":
            assert (kept["LeaderId"], kept["LeaderName"], kept["Monitors"]) == ("", "", "[]")
        else:
            assert kept["LeaderName"] == people[10].name
    assert after_purge["certifications"] == before["certifications"]
    assert after_purge["entitytotals"] == before["entitytotals"]
    assert after_purge["questions"] == before["questions"]
    (version,) = after_purge["leaderfeedback"]
    answers = json.loads(version["Answers"])
    assert answers["c2"] == "" and version["SubmittedBy"] == ""
    assert answers["c7"] == 4 and answers["c10"] == "Lively discussion"
    (queued,) = after_purge["ethicsqueue"]
    assert queued["Text"] == QUESTION and queued["LeaderName"] == queued["LeaderId"] == ""
    (aggregate,) = [r for r in after_purge["assessments"] if r["RowKey"] == "aggregate"]
    # Closed by the purge as its time would: the salt and keys replaced by the count.
    assert aggregate["Answers"] == 3
    assert "Salt" not in aggregate and not [k for k in aggregate if k.startswith("Folded")]
    assert json.loads(aggregate["Ratings"])["f1"] == [0, 0, 0, 0, 3]
    assert any(a["Action"] == "cycle.purge" for a in after_purge["audit"])

    # Back in 2026 for a look: the focal point's roll-up shows the same, certified, totals.
    await set_cycle(bot, 2026)
    card = await progress(bot, connector)
    assert figures(card) == ["2", "7", "32"]
    assert "Certified on" in card_text(card) and "Changed since" not in card_text(card)
    _, sheet = await bot.execute(
        FOCAL,
        Chat(kind="personal", id="a:focal"),
        "1",
        "focal.sheet",
        {"entity": "DESA", "cycle": 2026, "sid": sorted(desa)[0]},
    )
    assert not any(p.name in card_text(sheet) for p in desa_people)
    # A participant can no longer assess: nobody is on the sheet.
    _, card = await bot.execute(people[4], chat, agenda_id, "assess.submit", {**after, **GOOD_F})
    assert "stored anonymously" not in card_text(card)

    # Running it again changes nothing more.
    await set_cycle(bot, 2027)
    store = TableStore(bot.settings.tables_connection_string, bot.settings.table_prefix)
    await store.open()
    try:
        again = await purge_of(store, lambda: LATER).plan(2026)
    finally:
        await store.close()
    # (Only the markers of the messages typed since, which the clock of the run makes old.)
    left = {table: n for table, n in again.counts().items() if n and table != "deliveries"}
    assert left == {}


async def test_uncertified_entities_are_purged_only_when_forced(start_bot, connector, people):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    await run_to_conclusion(
        bot, connector, Chat(), people[0], people[1:6], unit="Population Division", personnel="20"
    )
    await bot.flush()
    assert figures(await progress(bot, connector)) == ["1", "5", "20"]
    # The expected list names leaders too.
    _, card = await bot.execute(
        FOCAL,
        Chat(kind="personal", id="a:focal"),
        "1",
        "focal.expected",
        {
            "entity": "DESA",
            "expected_csv": "Population Division, Amina Diallo\nArchives, Ana Costa",
        },
    )
    assert "2 expected units imported" in card_text(card)
    await set_cycle(bot, 2027)
    before = await everything(bot)

    status, said = await purge(bot, "--cycle", "2026", "--yes")
    assert status == SKIPPED and "skip   DESA" in said and "Nothing to purge" in said
    assert await everything(bot) == before

    status, said = await purge(bot, "--cycle", "2026", "--yes", "--force-uncertified")
    assert status == DONE, said
    assert "NOT certified (--force-uncertified)" in said
    after = await everything(bot)
    assert after["attendance"] == [] and after["attended"] == [] and after["leaders"] == []
    assert after["expected"] == [] and counted(said)["expected"] == 2
    assert after["entitytotals"] == before["entitytotals"]
    stored = dump(after)
    assert not any(p.name in stored or p.aad_id in stored for p in people[0:6])
    assert "Ana Costa" not in stored
    (audit,) = [a for a in after["audit"] if a["Action"] == "cycle.purge"]
    assert json.loads(audit["Details"])["uncertified"] == "DESA"

    await set_cycle(bot, 2026)
    card = await progress(bot, connector)
    assert figures(card) == ["1", "5", "20"] and "Not certified yet" in card_text(card)


async def test_the_command_line_refuses_without_settings_or_for_the_current_cycle(bot):
    async def command(env: dict[str, str]) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "cli.maintenance", "purge", "--cycle", "2026", "--yes"),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode, out.decode()

    base = {k: v for k, v in os.environ.items() if k not in ("TABLES_CONNECTION_STRING",)}
    status, said = await command(base)
    assert status == REFUSED and "TABLES_CONNECTION_STRING" in said
    before = await everything(bot)
    status, said = await command({**base, **env_of(bot)})
    assert status == REFUSED and "Cycle 2026 is not past: the current cycle is 2026" in said
    assert await everything(bot) == before


async def test_export_and_restore_carry_every_row_and_type_to_other_tables(
    bot, connector, people, make_settings, tmp_path
):
    await run_to_conclusion(bot, connector, Chat(), people[0], people[1:4], question=QUESTION)
    await bot.flush()
    service = TableServiceClient.from_connection_string(bot.settings.tables_connection_string)
    async with service:
        # Every type Azure Tables has, beyond the strings, numbers and times the bot writes.
        await service.get_table_client(bot.settings.table_prefix + "audit").upsert_entity(
            {
                "PartitionKey": "types",
                "RowKey": "all",
                "Big": EntityProperty(2**40, EdmType.INT64),
                "Ratio": 0.25,
                "Blob": b"\x00\xff",
                "Id": UUID,
                "Flag": False,
                "Small": -3,
                "When": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            }
        )
    folder = tmp_path / "backup"
    status, said = await maintenance(bot, "export", "--out", str(folder))
    assert status == DONE and "Exported" in said
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["tables"]) == set(TABLES) and manifest["tables"]["attendance"] == 3
    status, said = await maintenance(bot, "export", "--out", str(folder))
    assert status == REFUSED  # never over an earlier export

    other = make_settings()  # fresh tables, another prefix, same account
    target = {**env_of(bot), "TABLE_PREFIX": other.table_prefix}
    status, said = await maintenance(bot, "restore", "--from", str(folder), env=target)
    assert status == NOT_CONFIRMED
    status, said = await maintenance(bot, "restore", "--from", str(folder), "--yes", env=target)
    assert status == DONE, said

    class Restored:
        settings = other

    for table in DATA_TABLES:
        original = sorted(await rows(bot, table), key=lambda e: (e["PartitionKey"], e["RowKey"]))
        copied = sorted(await rows(Restored, table), key=lambda e: (e["PartitionKey"], e["RowKey"]))
        assert copied == original, table
    (typed,) = [e for e in await rows(Restored, "audit") if e["PartitionKey"] == "types"]
    assert typed["Big"] == EntityProperty(2**40, EdmType.INT64) and typed["Blob"] == b"\x00\xff"
    assert typed["Id"] == UUID and typed["Ratio"] == 0.25 and typed["Flag"] is False


async def test_a_setup_card_asked_for_in_the_purged_cycle_and_never_used_is_forgotten(
    timed_bot, connector, clock, people
):
    bot = timed_bot
    asked, current = Chat(), Chat()
    # Typed `start` in November 2026 and never submitted the card.
    assert await bot.say(people[7], asked, "start") == 201
    old_card, _ = last_card_message(connector, asked)
    # Typed in January, once the 2027 cycle was set; submitted after the purge.
    clock.now = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    assert await bot.say(people[8], current, "start") == 201
    new_card, _ = last_card_message(connector, current)
    stored = await rows(bot, "setups")
    assert sorted(r["RequesterId"] for r in stored) == sorted([people[7].aad_id, people[8].aad_id])
    store = TableStore(bot.settings.tables_connection_string, bot.settings.table_prefix)
    await store.open()
    try:
        cycle = await store.directory.cycle()
        await store.directory.save_cycle(replace(cycle, year=2027, deadline=date(2027, 12, 31)))
        # Something of 2026 to purge: DESA's expected list.
        await store.rollup.replace_expected(2026, "DESA", [ExpectedLine("Archives", "")])
    finally:
        await store.close()

    status, said = await purge(bot, "--cycle", "2026", "--yes")
    assert status == DONE, said
    assert counted(said)["setups"] == 1
    assert [r["RequesterId"] for r in await rows(bot, "setups")] == [people[8].aad_id]
    assert people[7].aad_id not in dump(await everything(bot))
    # The current cycle's card is still its requester's to submit; the purged one is nobody's.
    _, view = await bot.execute(people[8], current, new_card, "setup.submit", SETUP)
    assert "Sign-in is open" in card_text(view)
    _, card = await bot.execute(people[7], asked, old_card, "setup.submit", SETUP)
    assert "Only the person who typed “start”" in card_text(card)
