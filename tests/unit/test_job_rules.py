"""Jobs on the fakes: claimed once among instances, re-claimable after a lease, never run twice;
the leader's pre-reading reminder (its checks, cancel, move); the focal points' deadline
reminders at 30, 14, 7 and 1 days, once each, none after certification."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from dialogs.errors import InvalidInput, NotAllowed, WrongState
from dialogs.jobs import (
    DEADLINE,
    LEASE,
    MAX_ATTEMPTS,
    PREREADING,
    DeadlineReminders,
    Jobs,
    PreReadingReminders,
)
from storage.records import JOB_RUNNING, Certification, Job

ZONE = timezone(timedelta(hours=3))  # the leader's clock: Nairobi


def _job(clock, key: str = "k", **changes) -> Job:
    return Job(**{"key": key, "kind": PREREADING, "due_at": clock(), "payload": {}, **changes})


@pytest.fixture
def reminders(store, clock) -> PreReadingReminders:
    """The leader's reminder on the fakes."""
    return PreReadingReminders(store.jobs, store.sessions, clock)


@pytest.fixture
def deadlines(store, directory, clock) -> DeadlineReminders:
    """The deadline reminders on the fakes."""
    return DeadlineReminders(store.jobs, store.rollup, directory, clock)


async def test_two_instances_sweeping_the_same_due_job_run_it_once(store, clock):
    ran: list[str] = []

    async def handler(job: Job) -> bool:
        ran.append(job.key)
        await asyncio.sleep(0)  # the other instance sweeps meanwhile
        return True

    first, second = Jobs(store.jobs, clock), Jobs(store.jobs, clock)
    for instance in (first, second):
        instance.handle(PREREADING, handler)
    await store.jobs.schedule(_job(clock))
    assert sorted(await asyncio.gather(first.sweep(), second.sweep())) == [0, 1]
    assert ran == ["k"]
    # Done: later sweeps, on either instance, never run it again.
    clock.advance(60 * 24 * 3)
    assert await first.sweep() + await second.sweep() == 0 and ran == ["k"]
    assert (await store.jobs.get("k")).status == "done"


async def test_a_job_not_due_yet_waits_and_a_restart_loses_nothing(store, clock):
    ran: list[str] = []

    async def handler(job: Job) -> bool:
        ran.append(job.key)
        return True

    await store.jobs.schedule(_job(clock, due_at=clock() + timedelta(hours=2)))
    before = Jobs(store.jobs, clock)
    before.handle(PREREADING, handler)
    assert await before.sweep() == 0
    clock.advance(121)
    restarted = Jobs(store.jobs, clock)  # a new process: the row is the job
    restarted.handle(PREREADING, handler)
    assert await restarted.sweep() == 1 and ran == ["k"]


async def test_a_claim_whose_instance_died_is_claimed_again_after_its_lease(store, clock):
    ran: list[str] = []

    async def handler(job: Job) -> bool:
        ran.append(job.key)
        return True

    job = await store.jobs.schedule(_job(clock))
    # An instance claimed it and died before marking it done.
    await store.jobs.save(replace(job, status=JOB_RUNNING, lease_until=clock() + LEASE, attempts=1))
    other = Jobs(store.jobs, clock)
    other.handle(PREREADING, handler)
    assert await other.sweep() == 0 and ran == []
    clock.advance(LEASE.total_seconds() / 60 + 1)
    assert await other.sweep() == 1 and ran == ["k"]
    assert (await store.jobs.get("k")).attempts == 2


async def test_a_failing_job_is_retried_later_then_given_up(store, clock):
    calls: list[int] = []

    async def refused(job: Job) -> bool:
        calls.append(job.attempts)
        return False

    jobs = Jobs(store.jobs, clock)
    jobs.handle(PREREADING, refused)
    await store.jobs.schedule(_job(clock))
    for _ in range(MAX_ATTEMPTS + 3):
        await jobs.sweep()
        clock.advance(6)
    assert calls == list(range(1, MAX_ATTEMPTS + 1))
    assert (await store.jobs.get("k")).status == "failed"


async def test_the_leader_schedules_a_reminder_checked_on_the_server(
    start, reminders, leader, persons, clock
):
    sheet = await start(date="2026-11-25")
    session = sheet.session
    wanted = {"reminder_date": "2026-11-23", "reminder_time": "09:30"}
    with pytest.raises(NotAllowed):
        await reminders.schedule(session, persons[3], wanted, ZONE)
    for bad, key in (
        ({"reminder_date": "2026-11-20", "reminder_time": "08:00"}, "error.reminder_past"),
        ({"reminder_date": "2026-11-26", "reminder_time": "08:00"}, "error.reminder_after_session"),
        ({"reminder_date": "23/11/2026", "reminder_time": "08:00"}, "error.reminder_date"),
        ({"reminder_date": "2026-11-23", "reminder_time": "8h"}, "error.reminder_time"),
        ({"reminder_date": "2026-11-23"}, "error.reminder_time"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await reminders.schedule(session, leader, bad, ZONE)
        assert refused.value.key == key, bad
    scheduled = await reminders.schedule(session, leader, wanted, ZONE)
    assert scheduled.due_at == datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    assert scheduled.local_due.strftime("%H:%M %z") == "09:30 +0300"
    assert scheduled.state == "scheduled"
    # Ids only in the job: nothing of a name.
    assert scheduled.job.payload == {
        "cycle": 2026,
        "entity": "DESA",
        "session": session.session_id,
        "offset": 180,
    }
    # Moved to another time: still one job.
    moved = await reminders.schedule(
        session, leader, {"reminder_date": "2026-11-24", "reminder_time": "10:00"}, ZONE
    )
    assert moved.job.key == scheduled.job.key and moved.due_at.hour == 7


async def test_a_reminder_at_most_thirty_days_ahead(start, reminders, leader):
    session = (await start(date="2027-02-10")).session
    with pytest.raises(InvalidInput) as refused:
        await reminders.schedule(
            session, leader, {"reminder_date": "2027-01-05", "reminder_time": "09:00"}, ZONE
        )
    assert refused.value.key == "error.reminder_too_far"


async def test_a_cancelled_reminder_never_runs_and_a_sent_one_cannot_be_moved(
    start, reminders, store, leader, clock
):
    session = (await start(date="2026-11-25")).session
    wanted = {"reminder_date": "2026-11-23", "reminder_time": "09:30"}
    await reminders.schedule(session, leader, wanted, ZONE)
    cancelled = await reminders.cancel(session, leader)
    assert cancelled.state == "cancelled"
    sent: list[str] = []

    async def send(job: Job) -> bool:
        sent.append(job.key)
        return True

    jobs = Jobs(store.jobs, clock)
    jobs.handle(PREREADING, send)
    clock.now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert await jobs.sweep() == 0 and sent == []
    # Scheduled again, it runs once; then it can be neither moved nor cancelled.
    clock.now = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    await reminders.schedule(session, leader, wanted, ZONE)
    clock.now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert await jobs.sweep() == 1 and len(sent) == 1
    assert (await reminders.of_session(session)).state == "sent"
    clock.now = datetime(2026, 11, 23, 7, 5, tzinfo=UTC)
    with pytest.raises(WrongState) as refused:
        await reminders.schedule(
            session, leader, {"reminder_date": "2026-11-24", "reminder_time": "09:30"}, ZONE
        )
    assert refused.value.key == "error.reminder_already_sent"
    with pytest.raises(WrongState):
        await reminders.cancel(session, leader)


async def test_a_reminder_for_a_session_that_began_is_not_sent(
    start, reminders, dialogue, leader, clock
):
    session = (await start(date="2026-11-25")).session
    scheduled = await reminders.schedule(
        session, leader, {"reminder_date": "2026-11-23", "reminder_time": "09:30"}, ZONE
    )
    assert await reminders.session_of(scheduled.job) is not None
    begun = await dialogue.next_section(await dialogue.begin(session, "agenda-1"), leader)
    assert await reminders.session_of(scheduled.job) is None
    with pytest.raises(WrongState):
        await reminders.schedule(
            begun, leader, {"reminder_date": "2026-11-23", "reminder_time": "10:30"}, ZONE
        )


async def _run_days(deadlines, jobs, clock, until: datetime, *, hours: int = 6) -> None:
    """Sweep every few hours until `until`, as instances would."""
    while clock() < until:
        await deadlines.plan()
        await jobs.sweep()
        clock.advance(hours * 60)


async def test_deadline_reminders_at_each_threshold_once_even_with_two_instances(
    store, directory, deadlines, clock, admin, persons
):
    told: list[tuple[str, int]] = []

    async def remind(job: Job) -> bool:
        notice = await deadlines.notice(job)
        if notice is not None:
            told.append((notice.entity, notice.days))
        return True

    first, second = Jobs(store.jobs, clock), Jobs(store.jobs, clock)
    for instance in (first, second):
        instance.handle(DEADLINE, remind)
    other = DeadlineReminders(store.jobs, store.rollup, directory, clock)
    clock.now = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 41 days to 31 December
    while clock() < datetime(2027, 1, 2, tzinfo=UTC):
        await asyncio.gather(deadlines.plan(), other.plan())
        await asyncio.gather(first.sweep(), second.sweep())
        clock.advance(3 * 60)
    for code in ("DESA", "DPO", "OICT"):
        assert sorted(d for e, d in told if e == code) == [1, 7, 14, 30], code


async def test_no_deadline_reminder_after_certification_and_the_extension_counts(
    store, directory, deadlines, clock, admin
):
    told: list[tuple[str, int, date]] = []

    async def remind(job: Job) -> bool:
        notice = await deadlines.notice(job)
        if notice is not None:
            told.append((notice.entity, notice.days, notice.deadline))
        return True

    jobs = Jobs(store.jobs, clock)
    jobs.handle(DEADLINE, remind)
    clock.now = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    await directory.grant_extension(admin, "DPO", date(2027, 1, 31))
    await _run_days(deadlines, jobs, clock, datetime(2026, 12, 10, tzinfo=UTC))
    # DESA certifies on 10 December: its 14-, 7- and 1-day reminders never come.
    await store.rollup.certify(
        Certification(2026, "DESA", 1, 10, 12, [], "aad-focal", "Focal", clock())
    )
    await _run_days(deadlines, jobs, clock, datetime(2027, 2, 1, tzinfo=UTC))
    assert [d for e, d, _ in told if e == "DESA"] == [30]
    # DPO's reminders follow its extension: 30 days before 31 January, not before December.
    assert sorted((d, when) for e, d, when in told if e == "DPO") == [
        (days, date(2027, 1, 31)) for days in (1, 7, 14, 30)
    ]
    assert sorted(d for e, d, _ in told if e == "OICT") == [1, 7, 14, 30]


async def test_a_deadline_reminder_planned_before_an_extension_is_not_sent(
    store, directory, deadlines, clock, admin
):
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 30 days to 31 December
    assert await deadlines.plan() == 3
    job = next(j for j in await store.jobs.due(clock()) if j.payload["entity"] == "DPO")
    assert job.payload == {"cycle": 2026, "entity": "DPO", "deadline": "2026-12-31", "days": 30}
    await directory.grant_extension(admin, "DPO", date(2027, 1, 31))
    assert await deadlines.notice(job) is None
