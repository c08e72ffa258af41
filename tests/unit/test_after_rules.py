"""Appendix C and the questions queue on the fakes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogs.errors import InvalidInput, NotAllowed, NotSaved, WrongState
from dialogs.feedback import LeaderFeedbackService
from storage import WriteConflict
from storage.records import QuestionRecord


def complete_form(**changes):
    """Appendix C as a leader fills it."""
    data = {
        "c1": "2026-11-20",
        "c2": "Amina Diallo",
        "c3": "DESA",
        "c4": "Statistics Division",
        "c5": "12",
        "c6": "20",
        "c7": "4",
        "c8": "1,3",
        "c9": 5,
        "c10": "Good\r\ndiscussion\x07",
        "c12": "Can I like a post?",
    }
    data.update(changes)
    return data


@pytest.fixture
def pack(library):
    """The 2023 pack in English."""
    return library.get("2023", "en")


async def test_the_form_is_prefilled_from_what_the_session_knows(start, feedback, pack, clock):
    session = replace((await start()).session, scenario_order=["s3", "s1"])
    questions = [
        QuestionRecord("q1", session.session_id, "First?", clock()),
        QuestionRecord("q2", session.session_id, "Second?", clock()),
    ]
    prefill = feedback.prefill(session, pack, "Economic and Social Affairs", 12, questions)
    assert set(prefill.values) == {f"c{n}" for n in (1, 2, 3, 4, 5, 6, 8, 12)}
    assert prefill.values["c1"] == "2026-11-20"
    assert prefill.values["c2"] == session.leader.name
    assert (prefill.values["c3"], prefill.values["c4"]) == (
        "Economic and Social Affairs",
        "Statistics Division",
    )
    assert (prefill.values["c5"], prefill.values["c6"]) == (12, 20)
    assert prefill.values["c8"] == "1,3" and prefill.scenario_numbers == [1, 3]
    assert prefill.values["c12"] == "First?\nSecond?"
    # Scenarios actually discussed win over the planned order.
    discussed = replace(session, scenario_seconds={"s1": 60.0})
    assert feedback.prefill(discussed, pack, "", 0, []).scenario_numbers == [1]


async def test_only_the_leader_submits_and_not_once_certified(start, feedback, pack, persons):
    session = (await start()).session
    with pytest.raises(NotAllowed):
        await feedback.submit(session, persons[1].aad_id, pack, complete_form())
    with pytest.raises(WrongState) as refused:
        await feedback.submit(session, session.leader.aad_id, pack, complete_form(), locked=True)
    assert refused.value.key == "error.feedback_locked"
    assert await feedback.latest(session) is None


@pytest.mark.parametrize(
    ("changes", "field", "key"),
    [
        ({"c7": None}, "c7", "error.rating"),
        ({"c7": "6"}, "c7", "error.rating"),
        ({"c9": "0"}, "c9", "error.rating"),
        ({"c9": True}, "c9", "error.rating"),
        ({"c5": "-1"}, "c5", "error.number"),
        ({"c6": "100001"}, "c6", "error.number"),
        ({"c1": "yesterday"}, "c1", "error.date"),
        ({"c8": "1,7"}, "c8", "error.invalid_field"),
        ({"c8": "one"}, "c8", "error.invalid_field"),
        ({"c10": "x" * 2001}, "c10", "error.too_long"),
        ({"c11": ["a list"]}, "c11", "error.invalid_field"),
    ],
)
async def test_every_item_is_validated(start, feedback, pack, changes, field, key):
    session = (await start()).session
    with pytest.raises(InvalidInput) as refused:
        await feedback.submit(session, session.leader.aad_id, pack, complete_form(**changes))
    assert (refused.value.key, refused.value.fields["field"]) == (key, field)
    assert await feedback.versions(session) == []


async def test_each_submission_is_a_new_version_and_answers_are_cleaned(
    start, feedback, pack, clock
):
    session = (await start()).session
    first = await feedback.submit(session, session.leader.aad_id, pack, complete_form())
    assert first.version == 1
    assert first.answers["c7"] == 4 and first.answers["c5"] == 12 and first.answers["c8"] == [1, 3]
    assert first.answers["c10"] == "Good\ndiscussion"
    assert first.answers["c11"] == ""
    clock.advance(10)
    second = await feedback.submit(session, session.leader.aad_id, pack, complete_form(c7="2"))
    assert second.version == 2
    versions = await feedback.versions(session)
    assert [(v.version, v.answers["c7"]) for v in versions] == [(1, 4), (2, 2)]
    assert (await feedback.latest(session)).submitted_at == clock()


class TakesTheNextNumberFirst:
    """The Appendix C store, with another instance storing a version just before each of ours."""

    def __init__(self, store, rounds: int) -> None:
        self._store = store
        self._rounds = rounds

    async def versions(self, session_id):
        return await self._store.versions(session_id)

    async def add(self, session_id, version, answers, at, by):
        if self._rounds:
            self._rounds -= 1
            await self._store.add(session_id, version, {"other": True}, at, "other-instance")
        return await self._store.add(session_id, version, answers, at, by)


async def test_a_version_number_taken_meanwhile_is_retried_then_refused(start, store, pack, clock):
    session = (await start()).session
    racing = LeaderFeedbackService(TakesTheNextNumberFirst(store.feedback, 2), clock)
    stored = await racing.submit(session, session.leader.aad_id, pack, complete_form())
    assert stored.version == 3
    assert [v.submitted_by for v in await store.feedback.versions(session.session_id)] == [
        "other-instance",
        "other-instance",
        session.leader.aad_id,
    ]
    losing = LeaderFeedbackService(TakesTheNextNumberFirst(store.feedback, 5), clock)
    with pytest.raises(NotSaved) as refused:
        await losing.submit(session, session.leader.aad_id, pack, complete_form())
    assert refused.value.key == "error.busy"


async def test_questions_reach_the_ethics_office_once_and_only_admins_read_them(
    start, dialogue, queue, admin, persons, clock
):
    session = (await start()).session
    for text in ("Can I like a post?", "What about private accounts?"):
        await dialogue.log_question(session, {"question_text": text})
    questions = await dialogue.questions(session)
    with pytest.raises(NotAllowed):
        await queue.forward(session, persons[1], questions)
    assert await queue.forward(session, session.leader, questions) == 2
    assert await queue.forward(session, session.leader, questions) == 0
    with pytest.raises(NotAllowed) as refused:
        await queue.items(session.leader, 2026)
    assert refused.value.key == "error.admin_only"
    items = await queue.items(admin, 2026)
    assert [i.text for i in items] == [q.text for q in questions]
    assert {(i.entity, i.leader_id, i.status) for i in items} == {
        ("DESA", session.leader.aad_id, "open")
    }
    assert await queue.items(admin, 2025) == []


async def test_an_admin_answers_a_question_once_and_answered_ones_sort_last(
    start, dialogue, queue, admin, clock
):
    session = (await start()).session
    for text in ("First?", "Second?"):
        await dialogue.log_question(session, {"question_text": text})
        clock.advance(1)
        await queue.forward(session, session.leader, await dialogue.questions(session))
    first = (await queue.items(admin, 2026))[0]
    clock.advance(5)
    answered = await queue.answer(admin, 2026, first.key, {"reply": "Yes,\r\nwithin limits."})
    assert (answered.status, answered.reply, answered.answered_by) == (
        "answered",
        "Yes,\nwithin limits.",
        admin.aad_id,
    )
    assert answered.answered_at == clock()
    assert [i.text for i in await queue.items(admin, 2026)] == ["Second?", "First?"]
    with pytest.raises(WrongState) as refused:
        await queue.answer(admin, 2026, first.key, {"reply": "Again"})
    assert refused.value.key == "error.already_answered"


@pytest.mark.parametrize(
    ("key", "data", "error"),
    [
        ("unknown", {"reply": "Yes"}, "error.unknown_question"),
        (["list"], {"reply": "Yes"}, "error.unknown_question"),
        ("k" * 101, {"reply": "Yes"}, "error.unknown_question"),
        ("known", {"reply": "  "}, "error.required"),
        ("known", {"reply": "x" * 2001}, "error.too_long"),
    ],
)
async def test_bad_answers_are_refused(start, dialogue, queue, admin, key, data, error):
    session = (await start()).session
    await dialogue.log_question(session, {"question_text": "Known?"})
    await queue.forward(session, session.leader, await dialogue.questions(session))
    known = (await queue.items(admin, 2026))[0].key
    with pytest.raises(InvalidInput) as refused:
        await queue.answer(admin, 2026, known if key == "known" else key, data)
    assert refused.value.key == error
    with pytest.raises(NotAllowed):
        await queue.answer(session.leader, 2026, known, {"reply": "Leader answers?"})


async def test_an_answer_written_meanwhile_wins_over_a_second_one(
    start, dialogue, queue, store, admin, clock
):
    session = (await start()).session
    await dialogue.log_question(session, {"question_text": "Known?"})
    await queue.forward(session, session.leader, await dialogue.questions(session))
    item = (await queue.items(admin, 2026))[0]
    answered = replace(item, status="answered", reply="First", answered_at=clock())
    await store.queue.save(answered)
    with pytest.raises(WriteConflict):
        await store.queue.save(replace(item, reply="Stale"))
    with pytest.raises(WrongState):
        await queue.answer(admin, 2026, item.key, {"reply": "Second"})
    assert (await store.queue.get(2026, item.key)).reply == "First"
