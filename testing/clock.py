"""A clock the tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """A clock tests move by hand, so that 25 minutes of discussion take no time."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        """Let time pass."""
        self.now += timedelta(minutes=minutes)
