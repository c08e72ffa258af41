"""What every service needs: safe session changes and short-lived shared reads.

A storage failure (StorageUnavailable) is not caught here: it travels up to the one boundary
that tells the person "not saved, try again" (bot/teams/router.py) or logs it (the sweeps).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from dialogs.errors import DialogueError, NoSession, NotAllowed, NotSaved
from dialogs.ports import SessionStore
from storage import SessionRecord, WriteConflict
from storage.records import Person

log = logging.getLogger(__name__)
T = TypeVar("T")
K = TypeVar("K")

# Conditional writes to one entity retry this often before the person is asked to try again.
CONFLICT_RETRIES = 5


async def change(
    record: T,
    edit: Callable[[T], T],
    save: Callable[[T], Awaitable[T]],
    reload: Callable[[], Awaitable[T | None]],
    gone: DialogueError,
) -> T:
    """Read-modify-write under an ETag condition; a concurrent change makes us re-read."""
    current = record
    for _ in range(CONFLICT_RETRIES):
        changed = edit(current)
        if changed == current:
            return current
        try:
            return await save(changed)
        except WriteConflict:
            fresh = await reload()
            if fresh is None:
                raise gone from None
            current = fresh
    raise NotSaved("error.busy")


async def change_session(
    sessions: SessionStore,
    session: SessionRecord,
    edit: Callable[[SessionRecord], SessionRecord],
) -> SessionRecord:
    """Change a session safely against concurrent writers."""
    return await change(
        session,
        edit,
        sessions.save,
        lambda: sessions.get(session.cycle, session.entity, session.session_id),
        NoSession("error.no_session"),
    )


def require_leader(session: SessionRecord, caller: Person) -> None:
    """Only the session's discussion leader may go on."""
    if not session.is_leader(caller.aad_id):
        raise NotAllowed("error.leader_only")


# The FAQ ("Can I ask someone from my team to facilitate the session?"): "Although managers
# are required to lead the sessions, they can delegate the task of facilitating the session
# e.g. directing the PowerPoint presentation, reading from the slides, asking for volunteers
# to read etc., to one of the participants. However, the manager must direct the session and
# cannot delegate certain tasks, such as (i) sharing a personal story during the "Opening
# Activity" or (ii) responding to questions."
# So the facilitator moves the agenda, starts the scenarios and runs the polls (the
# presentation); the leader alone closes or reopens sign-in, concludes, answers and forwards
# questions, submits Appendix C, names monitors and the facilitator, and ends the session.
def is_director(session: SessionRecord, aad_id: str) -> bool:
    """Whether this person runs the session's plan: its leader, or the facilitator they named."""
    return session.is_leader(aad_id) or session.is_facilitator(aad_id)


def require_director(session: SessionRecord, caller: Person) -> None:
    """Only the leader or the facilitator the leader named may go on (the plan, the polls)."""
    if not is_director(session, caller.aad_id):
        raise NotAllowed("error.director_only")


def directors(session: SessionRecord) -> list[Person]:
    """Who sees the leader's view of the plan, scenario and poll cards."""
    return [session.leader, *([session.facilitator] if session.facilitator else [])]


class Expiring(Generic[T]):
    """A value read from storage and kept a few seconds; callers meanwhile share one read."""

    # Without sharing, the moment the value expires every click in flight (250 in a burst)
    # reads it again, all at once.

    def __init__(self, load: Callable[[], Awaitable[T]], seconds: float) -> None:
        self._load = load
        self._seconds = seconds
        self._value: tuple[float, T] | None = None
        self._reading: asyncio.Future[T] | None = None
        self._generation = 0

    async def get(self) -> T:
        """The value, read again when older than the lifetime."""
        if self._value is not None and time.monotonic() - self._value[0] <= self._seconds:
            return self._value[1]
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
        # Shielded: a caller that gives up does not cancel the read the others wait for.
        return await asyncio.shield(self._reading)

    def forget(self) -> None:
        """Drop the value (after a change): the next caller reads it again."""
        self._value = None
        self._reading = None
        self._generation += 1

    async def _read(self) -> T:
        generation, started = self._generation, time.monotonic()
        try:
            value = await self._load()
        finally:
            if generation == self._generation:
                self._reading = None
        # A value read before a change is handed to those who asked, but not kept.
        if generation == self._generation:
            self._value = (started, value)
        return value


class ExpiringMap(Generic[K, T]):
    """`Expiring` values by key, the `size` most recently used; a value `keep` refuses (one
    that may still change, say) is handed to the callers sharing its read but not kept."""

    def __init__(
        self,
        load: Callable[[K], Awaitable[T]],
        seconds: float,
        size: int,
        keep: Callable[[T], bool] = lambda _: True,
    ) -> None:
        self._load = load
        self._seconds = seconds
        self._size = size
        self._keep = keep
        self._entries: OrderedDict[K, Expiring[T]] = OrderedDict()

    async def get(self, key: K) -> T:
        """The key's value, read again when older than the lifetime or not kept."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = Expiring(lambda: self._load(key), self._seconds)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        value = await entry.get()
        if not self._keep(value):
            entry.forget()
        return value

    def forget(self, key: K) -> None:
        """Drop the key's value (after a change this process made)."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.forget()
