"""Shared-card work folds many requests into few runs, and the app's instances share the pace."""

from __future__ import annotations

import asyncio
import time

from bot.teams.card_updates import Coalescer


async def runs_over(coalescer: Coalescer, seconds: float) -> list[float]:
    """Ask for the work every 10 ms for `seconds`; when each run happened."""
    runs: list[float] = []

    async def work() -> None:
        runs.append(time.monotonic())

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        coalescer.schedule("sheet", work)
        await asyncio.sleep(0.01)
    await coalescer.flush()
    return runs


async def test_a_hundred_requests_fold_into_a_run_per_interval_and_the_last_one_runs():
    runs = await runs_over(Coalescer(0.2), 1.0)
    # The first at once, then one per interval, and one after the last request.
    assert 5 <= len(runs) <= 7, runs
    assert all(b - a >= 0.19 for a, b in zip(runs, runs[1:], strict=False))


async def test_with_three_instances_each_runs_a_third_as_often():
    instances = 3
    runs = await runs_over(Coalescer(0.1, spread=lambda: instances), 1.0)
    # Three instances together still edit the card about once per interval.
    assert 3 <= len(runs) <= 5, runs
    assert all(b - a >= 0.29 for a, b in zip(runs, runs[1:], strict=False))
