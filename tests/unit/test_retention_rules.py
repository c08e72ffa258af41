"""The purge's rules (dialogs/retention.py) on the fakes: what goes, what loses its names, what
is kept, which cycles and entities are refused or skipped, and that a rerun finds nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from cli.maintenance import purge_of
from dialogs.retention import Plan, Purge, Refused
from storage.records import (
    Certification,
    ExpectedLine,
    Job,
    Person,
    PollRecord,
    QueuedQuestion,
    SessionRecord,
)
from testing.fakes import FakeStore

# The purge runs well after the 2026 cycle: its cut-off for markers and setups is 1 January.
LATER = datetime(2027, 2, 1, tzinfo=UTC)
END_OF_2026 = datetime(2027, 1, 1, tzinfo=UTC)
HELD = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def someone(n: int) -> Person:
    """A Teams user with stable made-up ids."""
    aad = str(uuid.uuid5(uuid.NAMESPACE_URL, f"retention/{n}"))
    return Person(aad, f"29:{aad}", f"Person {n}")


def purge_over(store: FakeStore, clock) -> Purge:
    """The purge over these fakes, on this clock, wired as the command line wires it."""
    return purge_of(store, clock)  # type: ignore[arg-type]  (the fakes have the same ports)


@pytest.fixture
def purge(store: FakeStore, clock) -> Purge:
    """The purge over the test's fakes, on the test's clock."""
    return purge_over(store, clock)


async def next_cycle(store: FakeStore, year: int = 2027) -> None:
    """The Ethics Office sets the next cycle: 2026 is past."""
    current = await store.directory.cycle()
    await store.directory.save_cycle(replace(current, year=year, deadline=date(year, 12, 31)))


async def held(
    store: FakeStore,
    n: int,
    entity: str = "DESA",
    *,
    attendees: list[Person],
    leader: Person | None = None,
    monitors: list[Person] | None = None,
) -> SessionRecord:
    """A 2026 session held in its own chat, with its sheet, a poll with votes, an open Appendix F
    aggregate, an Appendix C version and a forwarded question."""
    leader = leader or someone(1000 + n)
    session = await store.sessions.create(
        SessionRecord(
            session_id=f"s{n:03d}",
            cycle=2026,
            entity=entity,
            unit=f"Unit {n}",
            personnel=20,
            language="en",
            session_date=HELD.date(),
            leader=leader,
            conversation_id=f"19:meeting_{n}@thread.v2",
            tenant_id="tenant",
            service_url="https://smba.example/",
            bot_id="28:bot",
            card_id=f"card-{n}",
            created_at=HELD,
            monitors=monitors or [],
            participants=len(attendees),
            held_at=HELD + timedelta(hours=1),
        )
    )
    sid = session.session_id
    for person in attendees:
        await store.attendance.sign_in(sid, person, HELD)
        await store.attendance.add_hint(sid, person, HELD)  # a join hint beside the sign-in
        await store.rollup.mark_attended(2026, [person.aad_id])
    await store.attendance.add_named(
        sid, "Ana Costa", HELD, identity="ana costa", category="staff", agency="", added_by="x"
    )
    poll = await store.polls.create(PollRecord(f"p{n:03d}", sid, "adhoc", "Clear?", ["Y"], HELD))
    for voter in range(2):
        await store.polls.put_vote(poll.poll_id, f"voter{voter}", [0])
    aggregate = await store.assessments.aggregate(sid, HELD + timedelta(days=7))
    await store.assessments.save(
        replace(aggregate, folded=["k1", "k2", "k3"], ratings={"f1": [0, 0, 0, 0, 3]})
    )
    await store.feedback.add(
        sid, 1, {"c2": leader.name, "c7": 4, "c10": "Lively"}, HELD, leader.aad_id
    )
    await store.queue.add(
        QueuedQuestion(
            key=store.queue.key_for(sid, "q1"),
            cycle=2026,
            entity=entity,
            session_id=sid,
            session_date="2026-11-20",
            text="May I like a post?",
            leader_id=leader.aad_id,
            leader_mri=leader.mri,
            leader_name=leader.name,
            tenant_id="tenant",
            service_url="https://smba.example/",
            forwarded_at=HELD,
        )
    )
    return session


async def certify(store: FakeStore, entity: str = "DESA") -> None:
    """The entity's focal point certifies its Appendix E."""
    await store.rollup.certify(
        Certification(2026, entity, 1, 3, 20, [], "focal", "Focal Point", HELD + timedelta(days=1))
    )


def everything_named(store: FakeStore, *people: Person) -> list[str]:
    """Where in the fakes any of these people's names or ids are still stored."""
    found = []
    for name, fake in vars(store).items():
        text = repr(vars(fake))
        found += [f"{name}: {p.name}" for p in people if p.name in text]
        found += [f"{name}: {p.aad_id}" for p in people if p.aad_id in text]
    return found


async def test_the_current_cycle_a_later_one_and_a_dialogue_without_cycle_are_refused(
    store, purge, directory, clock
):
    for cycle in (2026, 2027):
        with pytest.raises(Refused) as refused:
            await purge.plan(cycle, force_uncertified=True)
        assert (refused.value.cycle, refused.value.current) == (cycle, 2026)
    with pytest.raises(Refused) as refused:
        await purge_over(FakeStore(), clock).plan(2025)
    assert refused.value.current is None


async def test_a_certified_entitys_names_go_and_its_counts_stay(store, purge, directory, clock):
    leader, monitor, room = someone(0), someone(1), [someone(n) for n in range(2, 5)]
    session = await held(store, 1, attendees=room, leader=leader, monitors=[monitor])
    await store.rollup.replace_expected(2026, "DESA", [ExpectedLine("Unit 1", leader.name)])
    store.retention.add_legacy_receipts(session.session_id, 3)
    await certify(store)
    await next_cycle(store)
    clock.now = LATER

    plan = await purge.plan(2026)
    assert [e.code for e in plan.entities] == ["DESA"] and plan.skipped == []
    counts = plan.counts()
    assert counts["attendance"] == 7  # three sign-ins, three hints, one name
    assert counts["attended"] == 3 and counts["votes"] == 2 and counts["assessments"] == 3
    assert (counts["leaders"], counts["chats"], counts["expected"]) == (1, 1, 1)
    assert (counts["sessions"], counts["leaderfeedback"], counts["ethicsqueue"]) == (1, 1, 1)
    assert counts["aggregates"] == 1 and plan.unanswered == 1
    await purge.run(plan)

    sid = session.session_id
    assert everything_named(store, leader, monitor, *room) == []
    assert await store.retention.sheet_size(sid) == 0
    assert await store.polls.votes("p001") == []
    assert await store.sessions.active_for_chat(session.conversation_id) is None
    kept = await store.sessions.get(2026, "DESA", sid)
    assert (kept.leader, kept.monitors) == (Person("", "", ""), [])
    assert (kept.participants, kept.unit, kept.personnel, kept.held_at) == (
        3,
        "Unit 1",
        20,
        session.held_at,
    )
    (version,) = await store.feedback.versions(sid)
    assert version.answers == {"c2": "", "c7": 4, "c10": "Lively"} and version.submitted_by == ""
    (question,) = await store.queue.for_cycle(2026)
    assert question.text == "May I like a post?" and question.leader_name == ""
    aggregate = await store.assessments.find(sid)
    assert aggregate.closed and aggregate.closed_answers == 3
    assert aggregate.ratings == {"f1": [0, 0, 0, 0, 3]} and aggregate.salt == ""
    assert (await store.polls.get(sid, "p001")).question == "Clear?"  # the poll itself stays
    assert "DESA" in await store.rollup.certifications(2026)
    (audit,) = await store.directory.audit_log()
    assert audit.action == "cycle.purge" and audit.details["deleted"] == 17
    assert audit.details["entities"] == "DESA" and audit.details["uncertified"] == ""


async def test_a_rerun_plans_nothing_and_an_interrupted_purge_is_finished(
    store, purge, directory, clock
):
    await held(store, 1, attendees=[someone(2), someone(3)])
    await held(store, 2, attendees=[someone(4)])
    await certify(store)
    await next_cycle(store)
    clock.now = LATER
    plan = await purge.plan(2026)
    # Interrupted after the sheets went: the next run plans the rest from what is stored.
    for part in plan.sessions:
        await store.retention.delete_sheet(part.session.session_id)
    again = await purge.plan(2026)
    assert again.counts()["attendance"] == 0 and again.counts()["sessions"] == 2
    await purge.run(again)
    assert {k: n for k, n in (await purge.plan(2026)).counts().items() if n} == {}


async def test_an_uncertified_entity_is_skipped_unless_forced(store, purge, directory, clock):
    desa_room, dpo_room = [someone(2), someone(3)], [someone(3), someone(4)]
    await held(store, 1, attendees=desa_room)
    dpo = await held(store, 2, "DPO", attendees=dpo_room)
    await certify(store, "DESA")
    await next_cycle(store)
    clock.now = LATER

    plan = await purge.plan(2026)
    assert [e.code for e in plan.entities] == ["DESA"]
    assert [e.code for e in plan.skipped] == ["DPO"]
    assert {s.session.entity for s in plan.sessions} == {"DESA"}
    # someone(3) also attended DPO's session: their `attended` row waits for DPO's purge.
    assert plan.attended == {someone(2).aad_id}
    await purge.run(plan)
    assert len(await store.attendance.list(dpo.session_id)) == 3
    assert (await store.sessions.get(2026, "DPO", dpo.session_id)).leader == dpo.leader
    assert await store.retention.attended(2026) == {someone(3).aad_id, someone(4).aad_id}

    forced = await purge.plan(2026, force_uncertified=True)
    assert [e.code for e in forced.entities] == ["DESA", "DPO"] and forced.skipped == []
    await purge.run(forced)
    assert await store.retention.attended(2026) == set()
    assert everything_named(store, *desa_room, *dpo_room, dpo.leader) == []
    (_, audit) = await store.directory.audit_log()
    assert audit.details["uncertified"] == ""  # the first purge's entry: DESA had certified
    newest, _ = await store.directory.audit_log()
    assert newest.details["uncertified"] == "DPO"


async def test_an_entity_with_only_an_expected_list_is_purged_and_one_with_nothing_is_not(
    store, purge, directory, clock
):
    await store.rollup.replace_expected(
        2026, "OICT", [ExpectedLine("Archives", "Ana Costa"), ExpectedLine("Help desk", "")]
    )
    await next_cycle(store)
    clock.now = LATER
    plan = await purge.plan(2026)
    assert [(e.code, e.sessions) for e in plan.entities] == [("OICT", [])]
    assert plan.counts()["expected"] == 2
    await purge.run(plan)
    assert await store.rollup.expected(2026, "OICT") == []


async def test_a_setup_request_goes_with_its_cycle_and_the_next_cycles_stay(
    store, purge, directory, clock
):
    asker, late, new = someone(7), someone(8), someone(9)
    # Typed `start` in 2026 and never submitted the card: the request names the person.
    await store.setups.remember("19:a@thread.v2", "card-a", asker.aad_id, HELD)
    await store.setups.remember(
        "19:b@thread.v2", "card-b", late.aad_id, END_OF_2026 - timedelta(hours=1)
    )
    # Typed in the current cycle, after the purged one ended: theirs to submit still.
    await store.setups.remember(
        "19:c@thread.v2", "card-c", new.aad_id, END_OF_2026 + timedelta(days=3)
    )
    await next_cycle(store)
    clock.now = LATER
    plan = await purge.plan(2026)
    assert plan.setups_before == END_OF_2026 and plan.counts()["setups"] == 2
    await purge.run(plan)
    assert await store.setups.requester("19:a@thread.v2", "card-a") is None
    assert await store.setups.requester("19:b@thread.v2", "card-b") is None
    assert await store.setups.requester("19:c@thread.v2", "card-c") == new.aad_id
    assert everything_named(store, asker, late) == []


async def test_when_the_next_cycle_began_early_the_last_weeks_setups_and_days_markers_stay(
    store, purge, directory, clock
):
    # The Ethics Office set 2027 in mid-December and the purge of 2026 runs days later.
    clock.now = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
    for days, chat in ((10, "19:old"), (3, "19:recent")):
        at = clock.now - timedelta(days=days)
        await store.setups.remember(chat, "card", someone(days).aad_id, at)
        await store.dedupe.first_delivery(chat, "activity", at)
    await store.dedupe.first_delivery("19:today", "activity", clock.now - timedelta(hours=2))
    await held(store, 1, attendees=[someone(2)])
    await certify(store)
    await next_cycle(store)

    plan = await purge.plan(2026)
    assert plan.setups_before == clock.now - timedelta(days=7)
    assert plan.markers_before == clock.now - timedelta(days=1)
    assert (plan.counts()["setups"], plan.counts()["deliveries"]) == (1, 2)
    await purge.run(plan)
    assert await store.setups.requester("19:old", "card") is None
    assert await store.setups.requester("19:recent", "card") == someone(3).aad_id
    assert await store.retention.markers_before(clock.now) == 1  # today's


async def test_a_plan_changes_nothing_until_it_is_run(store, purge, directory, clock):
    session = await held(store, 1, attendees=[someone(2)])
    await store.setups.remember("19:a@thread.v2", "card-a", someone(7).aad_id, HELD)
    await certify(store)
    await next_cycle(store)
    clock.now = LATER
    before = repr([vars(fake) for fake in vars(store).values()])
    plan: Plan = await purge.plan(2026)
    assert plan.counts()["setups"] == 1
    assert repr([vars(fake) for fake in vars(store).values()]) == before
    assert (await store.sessions.get(2026, "DESA", session.session_id)).leader == session.leader


async def test_the_facilitator_named_on_the_session_goes_with_the_leader(
    store, purge, directory, clock
):
    leader, room = someone(0), [someone(n) for n in range(2, 5)]
    facilitator = room[0]
    session = await held(store, 1, attendees=room, leader=leader)
    session = await store.sessions.save(replace(session, facilitator=facilitator))
    await certify(store)
    await next_cycle(store)
    clock.now = LATER

    plan = await purge.plan(2026)
    assert plan.counts()["sessions"] == 1
    await purge.run(plan)
    assert everything_named(store, leader, facilitator) == []
    kept = await store.sessions.get(2026, "DESA", session.session_id)
    assert kept.facilitator is None and kept.participants == 3


async def test_the_cycles_jobs_go_with_it_and_the_next_cycles_stay(store, purge, directory, clock):
    leader = someone(1)
    session = await held(store, 1, attendees=[someone(2)])
    await certify(store)
    past = Job(
        key=store.jobs.key_for("prereading", session.session_id),
        kind="prereading",
        due_at=HELD - timedelta(days=2),
        payload={"cycle": 2026, "entity": session.entity, "session": session.session_id},
        created_by=leader.aad_id,
    )
    coming = Job(
        key=store.jobs.key_for("deadline", "2027", "DESA", "30"),
        kind="deadline",
        due_at=END_OF_2026 + timedelta(days=300),
        payload={"cycle": 2027, "entity": "DESA", "days": 30},
    )
    await store.jobs.schedule(past)
    await store.jobs.schedule(coming)
    await next_cycle(store)
    clock.now = LATER
    plan = await purge.plan(2026)
    assert plan.counts()["jobs"] == 1
    await purge.run(plan)
    # The reminder of the purged cycle, with the Entra id of who scheduled it, is gone.
    assert await store.jobs.get(past.key) is None
    assert await store.jobs.get(coming.key) is not None
