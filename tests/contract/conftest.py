"""The contract suite's one fixture: every port, once from testing/fakes.py, once over Azurite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from storage import TableStore
from storage.records import Person, SessionRecord
from testing.fakes import FakeStore


@pytest.fixture(params=["fake", "azurite"])
async def repos(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The repositories, as a FakeStore or as a TableStore on fresh Azurite tables."""
    if request.param == "fake":
        yield FakeStore()
        return
    # Only the Azurite half asks for Azurite: `-k fake` runs the suite without starting it.
    azurite = request.getfixturevalue("azurite")
    store = TableStore(azurite.connection_string, prefix="c" + uuid.uuid4().hex[:12])
    await store.open()
    yield store
    await store.close()


class Build:
    """Records to store: people, sessions with every kind of field filled, and a time."""

    # A time off UTC with microseconds: both backends must give it back equal, and in UTC.
    t0 = datetime(2026, 11, 20, 15, 30, 12, 345678, tzinfo=timezone(timedelta(hours=1)))

    @staticmethod
    def person(n: int, name: str | None = None) -> Person:
        """A Teams user with stable made-up ids."""
        aad = str(uuid.uuid5(uuid.NAMESPACE_URL, f"contract/{n}"))
        return Person(aad, f"29:1{aad.replace('-', '')}", name or f"Person {n}")

    @staticmethod
    def in_utc(value: datetime | None) -> bool:
        """Whether a time read back is in UTC (None passes)."""
        return value is None or value.utcoffset() == timedelta(0)

    def session(self, n: int = 1, **changes: Any) -> SessionRecord:
        """Session number n of the DESA 2026 partition, with `changes`."""
        values: dict[str, Any] = {
            "session_id": f"s{n:04d}" + "a" * 19,
            "cycle": 2026,
            "entity": "DESA",
            "unit": "Statistics Division",
            "personnel": 40,
            "language": "fr",
            "session_date": date(2026, 11, 20),
            "leader": self.person(0, "Amina Diallo"),
            "conversation_id": f"19:meeting_{n}@thread.v2",
            "tenant_id": "tenant",
            "service_url": "https://smba.example/amer/",
            "bot_id": "28:bot",
            "card_id": f"card-{n}",
            "created_at": self.t0,
            "monitors": [self.person(1, "Kenji Watanabe")],
            "stage_started_at": self.t0 + timedelta(minutes=1),
            "stage_seconds": {"introduction": 612.5},
            "scenario_order": ["s2", "s1"],
            "agencies": {"UNDP": 2, "Ünïcode": 1},
            "participants": 3,
        }
        values.update(changes)
        return SessionRecord(**values)


@pytest.fixture
def build() -> Build:
    """Builders of records for the contract tests."""
    return Build()
