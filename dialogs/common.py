"""What every service needs: storage failures told to the person, and safe session changes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from dialogs.errors import NoSession, NotAllowed, NotSaved
from storage import SessionRecord, StorageUnavailable, WriteConflict
from storage.records import Person
from storage.sessions import SessionRepository

log = logging.getLogger(__name__)
T = TypeVar("T")

# Conditional writes to one entity retry this often before the person is asked to try again.
CONFLICT_RETRIES = 5


async def guard(awaitable: Awaitable[T]) -> T:
    """Await a storage call; a storage failure becomes a 'not saved' the person is told."""
    try:
        return await awaitable
    except StorageUnavailable as error:
        log.warning("storage unavailable: %s", error)
        raise NotSaved("error.not_saved") from error


async def change_session(
    sessions: SessionRepository,
    session: SessionRecord,
    edit: Callable[[SessionRecord], SessionRecord],
) -> SessionRecord:
    """Read-modify-write under an ETag condition; a concurrent change makes us re-read."""
    current = session
    for _ in range(CONFLICT_RETRIES):
        changed = edit(current)
        if changed == current:
            return current
        try:
            return await guard(sessions.save(changed))
        except WriteConflict:
            fresh = await guard(sessions.get(session.cycle, session.entity, session.session_id))
            if fresh is None:
                raise NoSession("error.no_session") from None
            current = fresh
    raise NotSaved("error.busy")


def require_leader(session: SessionRecord, caller: Person) -> None:
    """Only the session's discussion leader may go on."""
    if not session.is_leader(caller.aad_id):
        raise NotAllowed("error.leader_only")
