"""Questions, the Ethics Office queue, Appendix C versions, Appendix F aggregates and polls:
the fakes and the Azure Tables repositories agree."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from azure.core.exceptions import ResourceNotFoundError

from storage import WriteConflict
from storage.errors import AggregateTooLarge
from storage.records import OpenPoll, PollRecord, QueuedQuestion

WEEK = timedelta(days=7)


def queued(key: str, cycle: int, at, **changes) -> QueuedQuestion:
    """A forwarded question."""
    values = {
        "key": key,
        "cycle": cycle,
        "entity": "DESA",
        "session_id": "s1",
        "session_date": "2026-11-20",
        "text": "Peut-on « aimer » un message ?",
        "leader_id": "leader",
        "leader_mri": "29:leader",
        "leader_name": "Amina Diallo",
        "tenant_id": "tenant",
        "service_url": "https://smba.example/",
        "forwarded_at": at,
    }
    values.update(changes)
    return QueuedQuestion(**values)


def poll(poll_id: str, at, **changes) -> PollRecord:
    """An open poll of session s1."""
    values = {
        "poll_id": poll_id,
        "session_id": "s1",
        "kind": "adhoc",
        "question": "Which scenario?",
        "options": ["One", "Two"],
        "created_at": at,
        "salt": "ab" * 16,
    }
    values.update(changes)
    return PollRecord(**values)


async def test_a_question_logged_twice_is_one_and_keeps_its_first_text(repos, build):
    t0 = build.t0
    first = await repos.questions.add("s1", "Can I like a post?", t0)
    again = await repos.questions.add("s1", "can i  LIKE a post?", t0 + timedelta(minutes=1))
    assert again.question_id == first.question_id
    assert [(q.text, q.asked_at) for q in await repos.questions.for_session("s1")] == [
        ("Can I like a post?", t0)
    ]


async def test_questions_come_oldest_first_per_session(repos, build):
    t0 = build.t0
    await repos.questions.add("s1", "Later", t0 + timedelta(minutes=2))
    await repos.questions.add("s1", "Sooner", t0)
    await repos.questions.add("s2", "Elsewhere", t0)
    found = await repos.questions.for_session("s1")
    assert [q.text for q in found] == ["Sooner", "Later"]
    assert all(q.session_id == "s1" and build.in_utc(q.asked_at) for q in found)
    assert await repos.questions.for_session("s3") == []


async def test_the_queue_is_insert_only_and_oldest_first_per_cycle(repos, build):
    t0 = build.t0
    key = repos.queue.key_for("s1", "q1")
    assert key == repos.queue.key_for("s1", "q1") != repos.queue.key_for("s1", "q2")
    assert await repos.queue.add(queued(key, 2026, t0 + timedelta(seconds=5))) is True
    assert await repos.queue.add(queued(key, 2026, t0, text="changed")) is False
    await repos.queue.add(queued(repos.queue.key_for("s1", "q0"), 2026, t0))
    await repos.queue.add(queued(key, 2025, t0))
    items = await repos.queue.for_cycle(2026)
    assert [(i.key, i.text) for i in items] == [
        (repos.queue.key_for("s1", "q0"), "Peut-on « aimer » un message ?"),
        (key, "Peut-on « aimer » un message ?"),
    ]
    assert all(i.etag and build.in_utc(i.forwarded_at) for i in items)
    assert await repos.queue.get(2026, key) == items[1]
    assert await repos.queue.get(2027, key) is None


async def test_answering_a_queued_question_is_guarded_by_its_etag(repos, build):
    await repos.queue.add(queued("s1-q1", 2026, build.t0))
    read = await repos.queue.get(2026, "s1-q1")
    answered = await repos.queue.save(
        replace(read, status="answered", reply="Yes.", answered_by="admin", answered_at=build.t0)
    )
    assert answered.etag != read.etag and answered.answered_at == build.t0
    assert await repos.queue.get(2026, "s1-q1") == answered
    with pytest.raises(WriteConflict):
        await repos.queue.save(replace(read, reply="Stale"))
    assert (await repos.queue.get(2026, "s1-q1")).reply == "Yes."


async def test_feedback_versions_are_kept_in_order_and_never_overwritten(repos, build):
    t0 = build.t0
    answers = {"c7": 4, "c8": (1, 3), "c10": "Très bien\nmerci"}
    for number in range(1, 12):
        await repos.feedback.add("s1", number, answers, t0 + timedelta(minutes=number), "leader")
    versions = await repos.feedback.versions("s1")
    assert [v.version for v in versions] == list(range(1, 12))
    # JSON gives back a list where a tuple went in.
    assert versions[0].answers == {"c7": 4, "c8": [1, 3], "c10": "Très bien\nmerci"}
    assert versions[0].submitted_at == t0 + timedelta(minutes=1)
    assert build.in_utc(versions[0].submitted_at) and versions[0].submitted_by == "leader"
    with pytest.raises(WriteConflict):
        await repos.feedback.add("s1", 3, {"c7": 1}, t0, "leader")
    # The same answers at the same time are our own retried insert: accepted, nothing changes.
    same = await repos.feedback.add("s1", 3, answers, t0 + timedelta(minutes=3), "leader")
    assert same.version == 3
    assert len(await repos.feedback.versions("s1")) == 11
    assert await repos.feedback.versions("s2") == []


async def test_an_aggregate_is_made_once_with_its_salt_and_saved_under_its_etag(repos, build):
    closes = build.t0 + WEEK
    first = await repos.assessments.aggregate("s1", closes)
    assert len(first.salt) == 32 and first.etag and first.answers == 0
    assert first.closes_at == closes and not first.closed
    again = await repos.assessments.aggregate("s1", closes + WEEK)
    assert (again.salt, again.etag, again.closes_at) == (first.salt, first.etag, closes)
    assert build.in_utc(again.closes_at)
    assert (await repos.assessments.aggregate("s2", closes)).salt != first.salt
    folded = replace(
        first,
        ratings={"f1": [0, 0, 1, 0, 2]},
        comments={"f6": [{"text": "Merci — très utile", "day": "2026-11-20"}]},
        folded=["k1", "k2", "k3"],
    )
    saved = await repos.assessments.save(folded)
    assert saved.etag != first.etag
    # Comments come back as texts only: a day stored by an earlier version is dropped.
    assert await repos.assessments.aggregate("s1", closes) == replace(
        saved, comments={"f6": ["Merci — très utile"]}
    )
    with pytest.raises(WriteConflict):
        await repos.assessments.save(replace(first, folded=["k9"]))
    assert (await repos.assessments.aggregate("s1", closes)).answers == 3


async def test_a_poll_is_created_once_and_read_in_its_session_only(repos, build):
    t0 = build.t0
    made = await repos.polls.create(poll("p2", t0 + timedelta(seconds=1)))
    assert made.etag and made.options == ["One", "Two"] and made.results is None
    same = await repos.polls.create(poll("p2", t0, question="Another"))
    assert same == made
    await repos.polls.create(poll("p0", t0, session_id="s2"))
    assert await repos.polls.get("s1", "p2") == made
    assert await repos.polls.get("s1", "p0") is None
    assert (await repos.polls.get("s2", "p0")).session_id == "s2"


async def test_closing_a_poll_is_guarded_and_its_tally_reads_back(repos, build):
    made = await repos.polls.create(poll("p1", build.t0))
    closed = await repos.polls.save(
        replace(made, status="closed", salt="", results=[2, 1], voters=3, closed_at=build.t0)
    )
    assert (closed.status, closed.salt, closed.results, closed.voters) == ("closed", "", [2, 1], 3)
    assert closed.etag != made.etag and build.in_utc(closed.closed_at)
    with pytest.raises(WriteConflict):
        await repos.polls.save(replace(made, question="Stale"))
    with pytest.raises(ValueError):
        await repos.polls.save(replace(made, etag=None))


async def test_who_may_not_vote_reads_back_and_an_older_poll_has_no_list(repos, build):
    listed = await repos.polls.create(poll("p1", build.t0, barred=("leader", "facilitator")))
    older = await repos.polls.create(poll("p2", build.t0))
    assert listed.barred == ("leader", "facilitator") and older.barred is None
    emptied = await repos.polls.save(replace(listed, barred=()))
    assert emptied.barred == () and (await repos.polls.get("s1", "p1")).barred == ()


async def test_one_changeable_vote_per_key_with_its_storage_time(repos, build):
    made = await repos.polls.create(poll("p1", build.t0))
    first = await repos.polls.put_vote("p1", "k1", [0])
    changed = await repos.polls.put_vote("p1", "k1", [1])
    await repos.polls.put_vote("p1", "k0", [0, 1])
    await repos.polls.put_vote("p2", "k1", [0])
    assert build.in_utc(first) and first <= changed
    assert await repos.polls.get_vote("p1", "k1") == [1]
    assert await repos.polls.get_vote("p1", "nobody") is None
    votes = await repos.polls.votes("p1")
    assert [choices for choices, _ in votes] == [[0, 1], [1]]  # by voter key
    assert votes[1][1] == changed
    # The close instant is the storage time of the poll's write: after every vote before it.
    await repos.polls.save(replace(made, status="closing"))
    cutoff = await repos.polls.server_time_of("s1", "p1")
    assert build.in_utc(cutoff) and cutoff >= changed
    late = await repos.polls.put_vote("p1", "k2", [0])
    assert late >= cutoff
    await repos.polls.delete_vote("p1", "k2")
    await repos.polls.delete_vote("p1", "k2")  # a missing vote is no error
    assert len(await repos.polls.votes("p1")) == 2
    assert await repos.polls.voter_count("p1") == 2  # a changed vote is one voter
    assert await repos.polls.voter_count("p2") == 1
    assert await repos.polls.voter_count("nobody voted") == 0
    with pytest.raises(ResourceNotFoundError):
        await repos.polls.server_time_of("s1", "missing")


async def test_comments_outside_the_basic_plane_fit_in_an_aggregate(repos, build):
    # Found by this suite (then fixed in storage/): Azure's 64 KiB property limit counts
    # UTF-16 units, two per emoji, so the JSON is chunked by units, never inside a pair.
    aggregate = await repos.assessments.aggregate("s1", build.t0 + WEEK)
    comments = {"f6": ["😀" * 1000 for _ in range(17)]}
    assert repos.assessments.fits(replace(aggregate, comments=comments))
    saved = await repos.assessments.save(replace(aggregate, comments=comments))
    assert (await repos.assessments.aggregate("s1", build.t0)).comments == saved.comments
    assert saved.comments == comments


async def test_an_aggregate_too_large_is_refused_whole_and_the_stored_one_kept(repos, build):
    aggregate = await repos.assessments.aggregate("s1", build.t0 + WEEK)
    stored = await repos.assessments.save(replace(aggregate, folded=["k1"]))
    huge = replace(stored, comments={"f6": ["é" * 1000 for _ in range(400)]})
    assert repos.assessments.fits(huge) is False
    with pytest.raises(AggregateTooLarge):
        await repos.assessments.save(huge)
    assert await repos.assessments.find("s1") == stored


async def test_find_never_creates_and_due_lists_the_open_ones_whose_time_came(repos, build):
    t0 = build.t0
    assert await repos.assessments.find("s1") is None
    assert await repos.assessments.due(t0 + 10 * WEEK) == []
    assert await repos.assessments.find("s1") is None
    await repos.assessments.aggregate("s2", t0 + WEEK)
    await repos.assessments.aggregate("s1", t0 + WEEK)
    await repos.assessments.aggregate("s3", t0 + 2 * WEEK)
    assert await repos.assessments.due(t0) == []
    due = await repos.assessments.due(t0 + WEEK)  # at the closing time itself: due
    assert [a.session_id for a in due] == ["s1", "s2"]  # by session id
    assert due[0] == await repos.assessments.find("s1")
    await repos.assessments.close(due[0], keep_results=True)
    assert [a.session_id for a in await repos.assessments.due(t0 + 3 * WEEK)] == ["s2", "s3"]


@pytest.mark.parametrize("keep", [True, False])
async def test_closing_replaces_salt_and_keys_by_a_count_once(repos, build, keep):
    opened = await repos.assessments.aggregate("s1", build.t0 + WEEK)
    answered = await repos.assessments.save(
        replace(
            opened,
            ratings={"f1": [0, 0, 1, 0, 2]},
            comments={"f6": ["Merci"]},
            folded=["k1", "k2", "k3"],
        )
    )
    with pytest.raises(WriteConflict):
        await repos.assessments.close(opened, keep_results=keep)
    closed = await repos.assessments.close(answered, keep_results=keep)
    assert closed.etag != answered.etag
    stored = await repos.assessments.find("s1")
    assert stored == closed
    assert (stored.closed, stored.answers, stored.salt, stored.folded, stored.closes_at) == (
        True,
        3,
        "",
        [],
        None,
    )
    expected = ({"f1": [0, 0, 1, 0, 2]}, {"f6": ["Merci"]}) if keep else ({}, {})
    assert (stored.ratings, stored.comments) == expected
    # Read again later, it stays closed with its count; a second close of the old copy loses.
    assert await repos.assessments.aggregate("s1", build.t0) == stored
    with pytest.raises(WriteConflict):
        await repos.assessments.close(answered, keep_results=keep)


async def test_a_poll_is_indexed_open_until_unindexed_and_found_by_age(repos, build):
    t0 = build.t0
    await repos.polls.create(poll("p2", t0 + timedelta(minutes=5)), cycle=2026, entity="DESA")
    await repos.polls.create(poll("p1", t0, session_id="s2"), cycle=2025, entity="DPO")
    await repos.polls.create(poll("p3", t0 + timedelta(minutes=10)))
    assert await repos.polls.open_before(t0) == []  # strictly before
    found = await repos.polls.open_before(t0 + timedelta(minutes=10))
    assert found == [
        OpenPoll("p1", "s2", 2025, "DPO", t0),
        OpenPoll("p2", "s1", 2026, "DESA", t0 + timedelta(minutes=5)),
    ]
    assert all(build.in_utc(e.created_at) for e in found)
    await repos.polls.unindex("p1")
    await repos.polls.unindex("p1")  # a missing entry is no error
    later = [e.poll_id for e in await repos.polls.open_before(t0 + timedelta(hours=1))]
    assert later == ["p2", "p3"]
    assert await repos.polls.get("s2", "p1") is not None  # the poll itself stays
    # Opening the same poll again indexes it again: the sweep then finds it and finishes.
    await repos.polls.create(poll("p1", t0, session_id="s2"), cycle=2025, entity="DPO")
    assert "p1" in [e.poll_id for e in await repos.polls.open_before(t0 + timedelta(hours=1))]


async def test_a_sessions_polls_come_oldest_first(repos, build):
    t0 = build.t0
    await repos.polls.create(poll("pa", t0 + timedelta(seconds=2)))
    await repos.polls.create(poll("pz", t0))
    await repos.polls.create(poll("pm", t0 + timedelta(seconds=1), session_id="s2"))
    found = await repos.polls.for_session("s1")
    assert [p.poll_id for p in found] == ["pz", "pa"]
    assert found[0] == await repos.polls.get("s1", "pz")
    assert await repos.polls.for_session("s9") == []


async def test_deleting_a_polls_votes_takes_all_of_them_past_one_batch(repos, build):
    await repos.polls.create(poll("p1", build.t0))
    for n in range(130):
        await repos.polls.put_vote("p1", f"k{n:03d}", [n % 2])
    await repos.polls.put_vote("p2", "k000", [1])
    assert await repos.polls.delete_votes("p1") == 130
    assert await repos.polls.votes("p1") == []
    assert await repos.polls.get_vote("p1", "k007") is None
    assert await repos.polls.delete_votes("p1") == 0  # again (a retried close): nothing left
    assert [c for c, _ in await repos.polls.votes("p2")] == [[1]]  # another poll's are kept


async def test_a_shared_answer_keeps_its_time_and_can_be_unshared(repos, build):
    await repos.queue.add(queued("s1-q1", 2026, build.t0))
    read = await repos.queue.get(2026, "s1-q1")
    assert read.shared_at is None
    at = build.t0 + timedelta(days=3)
    shared = await repos.queue.save(replace(read, status="answered", reply="Yes.", shared_at=at))
    again = await repos.queue.get(2026, "s1-q1")
    assert again == shared and again.shared_at == at
    with pytest.raises(WriteConflict):
        await repos.queue.save(replace(read, shared_at=at))
    unshared = await repos.queue.save(replace(again, shared_at=None))
    assert unshared.shared_at is None
    assert (await repos.queue.get(2026, "s1-q1")).shared_at is None
