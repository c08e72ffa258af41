"""What the Ethics Office reads of Appendices C and F, on the fakes: every Appendix C item as the
form labels it (newest version only, names masked, the leader's name withheld), and Appendix F
by entity only from five sessions with released results, growing five sessions at a time."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.rollup.ethics_views import EthicsViews
from cards.catalog import Catalogs
from cards.renderer import CardRenderer
from dialogs.errors import NotAllowed
from dialogs.ethics_reads import ETHICS_MIN_SESSIONS, EthicsOfficeReads
from dialogs.names import NAME_MASK
from testing.teams import card_text

WEEK = timedelta(days=7)


@pytest.fixture
def pack(library):
    """The 2023 pack in English."""
    return library.get("2023", "en")


@pytest.fixture
def reads(directory, signin, feedback, assessment, library) -> EthicsOfficeReads:
    """The Ethics Office's reading on the fakes."""
    return EthicsOfficeReads(directory, signin, feedback, assessment, library)


async def held_session(start, signin, dialogue, leader, participants, **setup: Any):
    """A concluded session with these participants signed in."""
    session = (await start(**setup)).session
    for person in participants:
        await signin.sign_in(session, person, {})
    session = await dialogue.begin(session, "agenda-card")
    for _ in range(3):
        session = await dialogue.next_section(session, leader)
    return await dialogue.conclude(session, leader)


def form_data(pack, answers: dict[int, Any] | None = None) -> dict[str, Any]:
    """Appendix C as a leader fills it, by the item's number on the form (1-15)."""
    base = {1: "2026-11-20", 2: "Amina Diallo", 3: "DESA", 4: "Statistics Division", 5: "12"}
    base.update({6: "20", 7: "4", 8: "1,3", 9: "2", 12: "Can I like a post?"})
    base.update(answers or {})
    return {pack.leader_feedback_form[n - 1].id: str(v) for n, v in base.items()}


def by_number(entity) -> dict[int, Any]:
    return {figures.number: figures for figures in entity.items}


async def test_every_appendix_c_item_is_read_as_the_form_labels_it(
    reads, start, signin, dialogue, feedback, leader, persons, admin, pack
):
    kenji = persons[1]
    first = await held_session(start, signin, dialogue, leader, [kenji])
    second = await held_session(start, signin, dialogue, leader, persons[2:4])
    await feedback.submit(
        first,
        leader.aad_id,
        pack,
        form_data(pack, {7: 2, 10: f"{kenji.name} spoke well", 15: "Think first"}),
    )
    # Amended: only this newest version counts.
    await feedback.submit(
        first,
        leader.aad_id,
        pack,
        form_data(pack, {7: 4, 10: f"{kenji.name} spoke well", 15: f"{leader.name}: think first"}),
    )
    await feedback.submit(
        second, leader.aad_id, pack, form_data(pack, {5: 8, 7: 5, 8: "1", 11: "Late"})
    )

    report = await reads.appendix_c(admin, "en")
    [line] = report.entities
    items = by_number(line)
    assert line.forms == 2 and sorted(items) == list(range(1, 16))
    assert items[7].item.text.value.startswith("Rating of Leader's Guide")
    assert (items[7].ratings, items[7].average) == ((0, 0, 0, 1, 1), 4.5)
    assert items[9].ratings == (0, 2, 0, 0, 0)
    assert items[8].scenarios == ((1, 2), (2, 0), (3, 1))
    assert (items[5].total, items[6].total) == (20, 40)
    assert items[10].texts == (f"{NAME_MASK} spoke well",)
    assert items[11].texts == ("Late",)
    assert items[12].texts == ("Can I like a post?", "Can I like a post?")
    assert items[15].texts == (f"{NAME_MASK}: think first",)  # the leader's name too
    # Item 2 is the leader's name: withheld, in the card and in every export row.
    assert items[2].withheld and not items[2].texts
    assert all(row.values[1] is None for row in line.rows)
    assert sorted(row.values[6] for row in line.rows) == [4, 5]
    assert "Amina Diallo" not in repr(report) and kenji.name not in repr(report)


async def test_the_labels_are_the_reader_s_language(
    reads, start, signin, dialogue, feedback, leader, admin, pack
):
    session = await held_session(start, signin, dialogue, leader, [])
    await feedback.submit(session, leader.aad_id, pack, form_data(pack))
    french = await reads.appendix_c(admin, "fr")
    assert by_number(french.entities[0])[1].item.text.value == "Date de la séance"


async def test_only_an_administrator_reads_them(reads, leader):
    for read in (reads.appendix_c, reads.appendix_f):
        with pytest.raises(NotAllowed):
            await read(leader, "en")


async def released_sessions(
    count, start, signin, dialogue, assessment, leader, persons, pack, clock
):
    """`count` held sessions, each assessed by five participants, one day apart."""
    sessions = []
    for n in range(count):
        participants = persons[1:6] if n % 2 == 0 else persons[6:11]
        session = await held_session(start, signin, dialogue, leader, participants)
        for m, person in enumerate(participants):
            comment = {"f6": "For the leader only", "f8": f"Suggestion {n}.{m} from {person.name}"}
            if m == 0:
                comment["f8"] += f", thanks {leader.name}"  # the facilitator is masked too
            data = {f"f{i}": str(1 + (n + m) % 5) for i in range(1, 6)} | comment
            await assessment.submit(session, person, pack, data)
        sessions.append(session)
        clock.advance(24 * 60)
    return sessions


async def test_appendix_f_shows_nothing_below_five_released_sessions(
    reads, start, signin, dialogue, assessment, leader, persons, pack, clock, admin
):
    await released_sessions(
        ETHICS_MIN_SESSIONS - 1, start, signin, dialogue, assessment, leader, persons, pack, clock
    )
    clock.advance(WEEK.total_seconds() / 60)
    # A fifth session, held but still open, is no result yet.
    await released_sessions(1, start, signin, dialogue, assessment, leader, persons, pack, clock)
    [line] = (await reads.appendix_f(admin, "en")).entities
    assert (line.shown, line.sessions, line.answers, line.ratings, line.suggestions) == (
        False,
        0,
        0,
        (),
        (),
    )


async def test_appendix_f_by_entity_grows_five_sessions_at_a_time(
    reads, start, signin, dialogue, assessment, leader, persons, pack, clock, admin
):
    await released_sessions(
        ETHICS_MIN_SESSIONS, start, signin, dialogue, assessment, leader, persons, pack, clock
    )
    clock.advance(WEEK.total_seconds() / 60)
    first = (await reads.appendix_f(admin, "en")).entities[0]
    assert (first.shown, first.sessions, first.answers) == (True, 5, 25)
    assert [f.number for f in first.ratings] == [1, 2, 3, 4, 5]
    assert all(sum(f.ratings) == 25 for f in first.ratings)
    assert first.ratings[0].ratings == (5, 5, 5, 5, 5) and first.ratings[0].average == 3.0
    # Only the suggestions reach the Ethics Office, with the participants' names masked.
    [suggestions] = first.suggestions
    assert suggestions.number == 8 and len(suggestions.texts) == 25
    assert all(f"from {NAME_MASK}" in text for text in suggestions.texts)
    assert sum(text.endswith(f"thanks {NAME_MASK}") for text in suggestions.texts) == 5
    assert not any("For the leader only" in t for t in suggestions.texts)
    assert not any(p.name in repr(first) for p in persons)

    # A sixth session's release changes nothing: the difference would be its marks alone.
    await released_sessions(1, start, signin, dialogue, assessment, leader, persons, pack, clock)
    clock.advance(WEEK.total_seconds() / 60)
    assert (await reads.appendix_f(admin, "en")).entities[0] == first
    await released_sessions(4, start, signin, dialogue, assessment, leader, persons, pack, clock)
    clock.advance(WEEK.total_seconds() / 60)
    tenth = (await reads.appendix_f(admin, "en")).entities[0]
    assert (tenth.sessions, tenth.answers, len(tenth.suggestions[0].texts)) == (10, 50, 50)


async def test_a_session_closed_below_the_minimum_is_no_result(
    reads, start, signin, dialogue, assessment, leader, persons, pack, clock, admin
):
    await released_sessions(
        ETHICS_MIN_SESSIONS - 1, start, signin, dialogue, assessment, leader, persons, pack, clock
    )
    few = await held_session(start, signin, dialogue, leader, persons[1:3])
    for person in persons[1:3]:
        await assessment.submit(few, person, pack, {f"f{i}": "1" for i in range(1, 6)})
    clock.advance(WEEK.total_seconds() / 60 + 24 * 60)
    [line] = (await reads.appendix_f(admin, "en")).entities
    assert not line.shown


async def test_the_card_stays_within_teams_size_and_points_to_the_export(
    reads, start, signin, dialogue, feedback, leader, admin, pack, directory
):
    long = "A long answer about the discussion. " * 50
    codes = [f"E{n:02d}" for n in range(30)]
    for code in codes:
        await directory.save_entity(admin, {"entity_code": code, "entity_name": f"Entity {code}"})
        for _ in range(2):
            session = await held_session(start, signin, dialogue, leader, [], entity=code)
            await feedback.submit(
                session, leader.aad_id, pack, form_data(pack, {n: long for n in range(10, 16)})
            )
    renderer = CardRenderer(Catalogs.load())
    card = EthicsViews(renderer).appendix_c(
        await reads.appendix_c(admin, "en"), "en", csv_url="https://x/c", xlsx_url="https://x/x"
    )
    sent = json.dumps(card)
    assert len(sent) < 40_000, len(sent)
    text = card_text(card)
    assert "27 more entities: see the export" in text
    # Each quote is cut; the export has it whole.
    assert "A long answ…”" in text and long.strip() not in text
