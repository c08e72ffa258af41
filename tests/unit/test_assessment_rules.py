"""Appendix F on the fakes: one answer per person, an open period in which the facilitator learns
only whether the minimum is reached, a release at close only from the minimum, the salt and keys
replaced by a count, and who may assess frozen at the conclusion."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from dialogs.errors import NoSession, NotAllowed, WrongState
from storage.errors import StorageUnavailable

WEEK = timedelta(days=7)


@pytest.fixture
def pack(library):
    """The 2023 pack in English."""
    return library.get("2023", "en")


def answers(rating: int = 4, comment: str = "") -> dict[str, str]:
    """Appendix F as a participant fills it: every rating item, one optional comment."""
    data = {f"f{n}": str(rating) for n in range(1, 6)}
    if comment:
        data["f6"] = comment
    return data


@pytest.fixture
async def held(start, signin, dialogue, leader, persons):
    """A concluded session with persons[1..8] signed in before the conclusion."""
    session = (await start()).session
    for person in persons[1:9]:
        await signin.sign_in(session, person, {})
    session = await dialogue.begin(session, "agenda-card")
    for _ in range(3):
        session = await dialogue.next_section(session, leader)
    return await dialogue.conclude(session, leader)


async def test_one_answer_per_person_however_often_or_at_once(assessment, held, pack, persons):
    kenji, mei = persons[1], persons[2]
    assert await assessment.submit(held, kenji, pack, answers()) == 1
    with pytest.raises(WrongState) as refused:
        await assessment.submit(held, kenji, pack, answers(rating=1))
    assert refused.value.key == "error.already_assessed"
    # Two clicks arriving together are folded as one.
    outcomes = await asyncio.gather(
        assessment.submit(held, mei, pack, answers()),
        assessment.submit(held, mei, pack, answers(rating=2)),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["WrongState", "int"]
    assert await assessment.has_answered(held, kenji) and await assessment.has_answered(held, mei)
    assert not await assessment.has_answered(held, persons[3])


async def test_only_participants_on_the_sheet_and_never_the_leader_assess(
    assessment, held, pack, leader, persons
):
    with pytest.raises(NotAllowed) as refused:
        await assessment.submit(held, leader, pack, answers())
    assert refused.value.key == "error.leader_assesses"
    with pytest.raises(NotAllowed) as refused:
        await assessment.submit(held, persons[20], pack, answers())
    assert refused.value.key == "error.not_participant"


async def test_a_room_answering_together_gets_each_its_own_refusal_in_the_forms_order(
    assessment, held, pack, persons
):
    # Checked together in one group: who is on the sheet is told before a malformed form, so
    # someone not on the sheet learns nothing of the form's rules either.
    stranger, careless, kenji, mei = persons[20], persons[3], persons[1], persons[2]
    broken = {**answers(), "f1": "9"}
    outcomes = await asyncio.gather(
        assessment.submit(held, stranger, pack, broken),
        assessment.submit(held, careless, pack, broken),
        assessment.submit(held, kenji, pack, answers()),
        assessment.submit(held, mei, pack, answers()),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], NotAllowed) and outcomes[0].key == "error.not_participant"
    assert not isinstance(outcomes[1], (int, NotAllowed)), outcomes[1]
    # Folded in one write: both are told the count after it.
    assert outcomes[2:] == [2, 2]
    assert not await assessment.has_answered(held, careless)
    # Their form mended, the careless participant is counted.
    assert await assessment.submit(held, careless, pack, answers()) == 3


async def test_while_open_the_leader_learns_only_whether_the_minimum_is_reached(
    assessment, held, pack, leader, persons, min_answers
):
    for n, person in enumerate(persons[1 : min_answers + 1], start=1):
        await assessment.submit(held, person, pack, answers(comment=f"Comment {n}"))
        seen = await assessment.results(held, leader, pack)
        assert (seen.closed, seen.released, seen.answers, seen.items, seen.comments) == (
            False,
            False,
            0,
            [],
            {},
        )
        assert seen.reached is (n >= min_answers)
    with pytest.raises(NotAllowed):
        await assessment.results(held, persons[1], pack)


async def test_at_close_results_are_released_from_the_minimum_and_keys_become_a_count(
    assessment, store, held, pack, leader, persons, clock, min_answers
):
    for n, person in enumerate(persons[1 : min_answers + 1]):
        await assessment.submit(held, person, pack, answers(rating=1 + n % 5, comment="Merci"))
    clock.advance(WEEK.total_seconds() / 60)
    seen = await assessment.results(held, leader, pack)
    assert (seen.closed, seen.released, seen.answers) == (True, True, min_answers)
    assert [i.counts for i in seen.items] == [[1, 1, 1, 1, 1]] * 5
    assert seen.items[0].mean == 3.0 and seen.comments == {"f6": ["Merci"] * min_answers}
    stored = await store.assessments.find(held.session_id)
    # Nothing stored can tell who answered any more: no salt, no keys, only how many.
    assert (stored.closed, stored.salt, stored.folded, stored.closed_answers) == (
        True,
        "",
        [],
        min_answers,
    )
    with pytest.raises(WrongState) as refused:
        await assessment.submit(held, persons[min_answers + 1], pack, answers())
    assert refused.value.key == "error.assessment_closed"
    assert await assessment.not_answered(held) == []


async def test_below_the_minimum_nothing_is_released_and_nothing_kept_but_the_count(
    assessment, store, held, pack, leader, persons, clock, min_answers
):
    for person in persons[1:min_answers]:
        await assessment.submit(held, person, pack, answers(comment="Only a few"))
    clock.advance(WEEK.total_seconds() / 60)
    seen = await assessment.results(held, leader, pack)
    assert (seen.closed, seen.reached, seen.released, seen.answers, seen.items) == (
        True,
        False,
        False,
        0,
        [],
    )
    stored = await store.assessments.find(held.session_id)
    assert (stored.ratings, stored.comments, stored.salt, stored.folded) == ({}, {}, "", [])
    assert stored.closed_answers == min_answers - 1


async def test_the_sweep_closes_the_assessments_whose_time_came(
    assessment, store, held, pack, persons, clock
):
    await assessment.submit(held, persons[1], pack, answers())
    clock.advance(WEEK.total_seconds() / 60 - 1)
    assert await assessment.close_due() == 0
    assert not (await store.assessments.find(held.session_id)).closed
    clock.advance(1)
    assert await assessment.close_due() == 1
    assert (await store.assessments.find(held.session_id)).closed
    assert await assessment.close_due() == 0


async def test_who_may_assess_froze_at_the_conclusion(
    assessment, signin, directory, admin, held, pack, persons
):
    focal = persons[25]
    await directory.add_focal_point(admin, "DESA", focal)
    late = persons[12]
    await signin.correct_add(held, focal, {"fix_category": "staff"}, person=late)
    assert (await signin.sheet(held)).find(late.aad_id) is not None  # counts on the sheet
    with pytest.raises(NotAllowed) as refused:
        await assessment.submit(held, late, pack, answers())
    assert refused.value.key == "error.not_participant"
    # Struck after the conclusion: off the sheet, but was on it when it froze.
    struck = persons[3]
    row = (await signin.sheet(held)).find(struck.aad_id)
    await signin.correct_remove(held, focal, row.key)
    assert (await signin.sheet(held)).find(struck.aad_id) is None
    assert await assessment.submit(held, struck, pack, answers()) == 1
    reminded = {r.aad_id for r in await assessment.not_answered(held)}
    assert late.aad_id not in reminded and struck.aad_id not in reminded
    assert reminded == {p.aad_id for p in persons[1:9]} - {struck.aad_id}


async def test_nobody_assesses_or_is_reminded_before_the_conclusion(
    assessment, start, signin, pack, leader, persons
):
    session = (await start()).session
    await signin.sign_in(session, persons[1], {})
    for attempt in (
        assessment.submit(session, persons[1], pack, answers()),
        assessment.require_assessor(session, persons[1]),
        assessment.may_remind(session, leader),
    ):
        with pytest.raises(WrongState) as refused:
            await attempt
        assert refused.value.key == "error.not_held"
    assert not assessment.remindable(session)


async def test_only_the_leader_reminds_and_only_while_open(
    assessment, held, leader, persons, clock
):
    assert assessment.remindable(held)
    with pytest.raises(NotAllowed) as refused:
        await assessment.may_remind(held, persons[1])
    assert refused.value.key == "error.leader_only"
    assert await assessment.may_remind(held, leader)
    clock.advance(WEEK.total_seconds() / 60)
    assert not assessment.remindable(held)
    assert not await assessment.may_remind(held, leader)


def card_keys(session) -> dict[str, object]:
    """What an Appendix F card carries to name its session."""
    return {"cycle": session.cycle, "entity": session.entity, "sid": session.session_id}


async def test_a_session_is_read_on_every_click_until_it_concludes_then_kept_for_a_while(
    start, signin, dialogue, store, leader, persons, monkeypatch
):
    reads = []
    get = store.sessions.get

    async def counted(*keys):
        reads.append(keys)
        return await get(*keys)

    monkeypatch.setattr(store.sessions, "get", counted)
    session = (await start()).session
    await signin.sign_in(session, persons[1], {})
    reads.clear()
    for _ in range(2):  # not concluded: every click reads it, so its conclusion is never missed
        assert not (await signin.concluded_by_keys(card_keys(session))).concluded
    assert len(reads) == 2
    session = await dialogue.begin(session, "agenda-card")
    for _ in range(3):
        session = await dialogue.next_section(session, leader)
    await dialogue.conclude(session, leader)
    reads.clear()
    for _ in range(25):  # a room answering Appendix F at once reads the session once
        assert (await signin.concluded_by_keys(card_keys(session))).concluded
    assert len(reads) == 1
    later = time.monotonic() + 601
    monkeypatch.setattr(time, "monotonic", lambda: later)  # and again after ten minutes
    await signin.concluded_by_keys(card_keys(session))
    assert len(reads) == 2
    for forged in (
        {**card_keys(session), "sid": "x/../y"},
        {**card_keys(session), "entity": "NOPE"},
    ):
        with pytest.raises(NoSession):
            await signin.concluded_by_keys(forged)
    assert len(reads) == 2  # refused before any read


async def test_answers_arriving_together_share_one_read_and_a_failed_read_fails_each(
    held, signin, store, monkeypatch
):
    reads = []
    get = store.sessions.get

    async def down(*keys):
        reads.append(keys)
        await asyncio.sleep(0.01)
        raise StorageUnavailable("down")

    async def slow(*keys):
        reads.append(keys)
        await asyncio.sleep(0.01)
        return await get(*keys)

    monkeypatch.setattr(store.sessions, "get", down)
    failed = await asyncio.gather(
        *(signin.concluded_by_keys(card_keys(held)) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(f, StorageUnavailable) for f in failed)  # each is told, none kept
    monkeypatch.setattr(store.sessions, "get", slow)
    together = await asyncio.gather(*(signin.concluded_by_keys(card_keys(held)) for _ in range(25)))
    assert len(reads) == 2 and {s.session_id for s in together} == {held.session_id}
