"""Who Teams refreshes a shared card for: the user-specific views of Universal Actions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.records import AttendeeRecord, Person

# Teams runs a card's refresh automatically for at most 60 users listed in `refresh.userIds`;
# everyone else sees the shared card and refreshes it by hand.
AUTO_REFRESH_MAX = 60


@dataclass(frozen=True)
class Audience:
    """The Teams ids a shared card's refresh lists, and whether everyone on the sheet fits."""

    ids: tuple[str, ...]
    complete: bool


def audience(first: Iterable[Person], rows: Iterable[AttendeeRecord]) -> Audience:
    """The leader's side first (they must never lose their controls), then the sheet.

    The sheet's ids are sorted, not in sign-in order: the card's JSON reaches every member
    of the chat, and the order would tell who arrived when.
    """
    ids: list[str] = []
    for person in first:
        if person.mri and person.mri not in ids:
            ids.append(person.mri)
    lead = set(ids)
    others = sorted({r.mri for r in rows if r.mri and r.on_sheet} - lead)
    room = max(AUTO_REFRESH_MAX - len(ids), 0)
    return Audience(tuple(ids + others[:room])[:AUTO_REFRESH_MAX], len(others) <= room)
