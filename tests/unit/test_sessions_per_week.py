"""Sessions per week on the focal point's card: each held session once, in its ISO week."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dialogs.rollup import MAX_WEEKS, sessions_per_week
from storage.records import Person, SessionRecord


def held_on(day: date, n: int) -> SessionRecord:
    """A concluded session of DESA on a day."""
    return SessionRecord(
        session_id=f"{n:04d}",
        cycle=2026,
        entity="DESA",
        unit=f"Unit {n}",
        personnel=10,
        language="en",
        session_date=day,
        leader=Person(f"leader-{n}", f"29:{n}", f"Leader {n}"),
        conversation_id=f"19:{n}@thread.v2",
        tenant_id="t",
        service_url="https://smba.example/",
        bot_id="28:bot",
        card_id=str(n),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        status="ended",
    )


def test_each_session_counts_once_in_its_iso_week():
    days = [
        date(2026, 11, 16),  # Monday of ISO week 47
        date(2026, 11, 22),  # Sunday of the same week
        date(2026, 11, 23),  # Monday: week 48
        date(2026, 12, 4),  # week 49
        date(2026, 12, 4),  # a second session that day
    ]
    weeks = sessions_per_week([held_on(d, n) for n, d in enumerate(days)], date(2026, 12, 9))

    assert [(w.week, w.sessions) for w in weeks] == [(47, 2), (48, 1), (49, 2), (50, 0)]
    assert [w.monday for w in weeks] == [
        date(2026, 11, 16),
        date(2026, 11, 23),
        date(2026, 11, 30),
        date(2026, 12, 7),
    ]
    assert sum(w.sessions for w in weeks) == len(days)


def test_the_year_boundary_follows_iso_weeks():
    # 31 December 2026 is a Thursday: ISO week 53 of 2026; 4 January 2027 starts week 1.
    weeks = sessions_per_week(
        [held_on(date(2026, 12, 31), 1), held_on(date(2027, 1, 4), 2)], date(2027, 1, 5)
    )
    assert [(w.week, w.sessions) for w in weeks] == [(53, 1), (1, 1)]


def test_only_the_latest_weeks_are_kept_and_nothing_before_the_first_session():
    assert sessions_per_week([], date(2026, 12, 9)) == ()
    weeks = sessions_per_week([held_on(date(2026, 1, 5), 1)], date(2026, 12, 9))
    assert len(weeks) == MAX_WEEKS and all(w.sessions == 0 for w in weeks)
    assert weeks[-1].monday == date(2026, 12, 7)
