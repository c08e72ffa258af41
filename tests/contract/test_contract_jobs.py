"""JobStore: the fake and the Azure Tables repository agree on insert-only scheduling, the due
list and claims under the ETag (the one write that lets only one instance run a job)."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import replace
from datetime import timedelta

import pytest

from dialogs import ports
from storage import WriteConflict
from storage.records import JOB_CANCELLED, JOB_DONE, JOB_RUNNING, Job
from testing.fakes import FakeStore


def _job(build, key: str = "k1", *, minutes: int = 0, **changes) -> Job:
    values = {
        "key": key,
        "kind": "prereading",
        "due_at": build.t0 + timedelta(minutes=minutes),
        "payload": {"cycle": 2026, "entity": "DESA", "session": "s0001"},
        "created_by": "aad-leader",
    }
    values.update(changes)
    return Job(**values)


async def test_the_jobs_repository_has_the_ports_methods_with_its_signatures(repos):
    implementation = repos.jobs
    assert isinstance(implementation, ports.JobStore)
    for name, method in vars(ports.JobStore).items():
        if not inspect.isfunction(method) or name.startswith("_"):
            continue
        wanted = inspect.signature(method)
        found = inspect.signature(getattr(type(implementation), name))
        assert list(found.parameters) == list(wanted.parameters), name
        assert inspect.iscoroutinefunction(
            getattr(type(implementation), name)
        ) == inspect.iscoroutinefunction(method), name


async def test_scheduling_is_insert_only_and_times_come_back_in_utc(repos, build):
    jobs = repos.jobs
    first = await jobs.schedule(_job(build))
    again = await jobs.schedule(_job(build, minutes=60, payload={"cycle": 2027}))
    assert again == first and again.etag
    assert again.due_at == build.t0 and build.in_utc(again.due_at)
    assert again.payload == {"cycle": 2026, "entity": "DESA", "session": "s0001"}
    assert (again.status, again.attempts, again.lease_until) == ("due", 0, None)
    assert await jobs.get("k1") == first
    assert await jobs.get("nope") is None


async def test_keys_are_stable_and_safe_in_a_row_key(repos):
    key = repos.jobs.key_for("deadline", "2026", "DESA", "2026-12-31", "30")
    assert key == repos.jobs.key_for("deadline", "2026", "DESA", "2026-12-31", "30")
    assert key != repos.jobs.key_for("deadline", "2026", "DESA", "2026-12-31", "14")
    assert key.isalnum() and key == FakeStore().jobs.key_for(
        "deadline", "2026", "DESA", "2026-12-31", "30"
    )


async def test_due_lists_unfinished_jobs_at_or_before_now_soonest_first(repos, build):
    jobs = repos.jobs
    await jobs.schedule(_job(build, "late", minutes=30))
    await jobs.schedule(_job(build, "soon", minutes=10))
    await jobs.schedule(_job(build, "future", minutes=120))
    done = await jobs.schedule(_job(build, "done", minutes=5))
    await jobs.save(replace(done, status=JOB_DONE, finished_at=build.t0))
    cancelled = await jobs.schedule(_job(build, "gone", minutes=5))
    await jobs.save(replace(cancelled, status=JOB_CANCELLED))
    running = await jobs.schedule(_job(build, "held", minutes=20))
    await jobs.save(replace(running, status=JOB_RUNNING, lease_until=build.t0 + timedelta(hours=1)))
    due = await jobs.due(build.t0 + timedelta(minutes=30))
    assert [j.key for j in due] == ["soon", "held", "late"]
    assert [j.key for j in await jobs.due(build.t0)] == []


async def test_a_claim_is_a_conditional_write_only_one_of_two_wins(repos, build):
    jobs = repos.jobs
    job = await jobs.schedule(_job(build))
    lease = build.t0 + timedelta(minutes=10)
    claims = [replace(job, status=JOB_RUNNING, lease_until=lease, attempts=1) for _ in range(2)]
    results = await asyncio.gather(*(jobs.save(c) for c in claims), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Job", "WriteConflict"]
    won = next(r for r in results if isinstance(r, Job))
    assert won.etag != job.etag and (await jobs.get("k1")).etag == won.etag
    stored = await jobs.get("k1")
    assert (stored.status, stored.attempts, stored.lease_until) == (JOB_RUNNING, 1, lease)
    # The claim's own ETag marks it done; a stale one (the loser's) cannot.
    with pytest.raises(WriteConflict):
        await jobs.save(replace(job, status=JOB_DONE))
    finished = await jobs.save(replace(won, status=JOB_DONE, finished_at=lease))
    assert finished.finished and (await jobs.get("k1")).finished_at == lease
    assert await jobs.due(lease + timedelta(days=1)) == []
    with pytest.raises(ValueError):
        await jobs.save(replace(finished, etag=None))


async def test_a_cycles_jobs_are_listed_finished_or_not_and_deleted_one_by_one(repos, build):
    jobs = repos.jobs
    await jobs.schedule(_job(build, "a"))
    finished = await jobs.schedule(_job(build, "b", minutes=5))
    await jobs.save(replace(finished, status=JOB_DONE, finished_at=build.t0))
    await jobs.schedule(_job(build, "next", payload={"cycle": 2027, "entity": "DESA"}))
    assert sorted(j.key for j in await jobs.of_cycle(2026)) == ["a", "b"]
    await jobs.delete("a")
    await jobs.delete("a")  # gone already: nothing to do
    assert [j.key for j in await jobs.of_cycle(2026)] == ["b"]
    assert [j.key for j in await jobs.of_cycle(2027)] == ["next"]
