"""Domain refusals, each carrying the catalog key that explains it to the person."""

from __future__ import annotations

from typing import Any


class DialogueError(Exception):
    """A request the Dialogue's rules refuse; `key` names the catalog message for the person."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


class NotAllowed(DialogueError):
    """The caller lacks the role the action needs."""


class InvalidInput(DialogueError):
    """Submitted values fail validation."""


class NoSession(DialogueError):
    """There is no active session for this chat, or the card belongs to an older one."""


class WrongState(DialogueError):
    """The session is not in a state that allows the action (e.g. sign-in closed)."""


class NotSaved(DialogueError):
    """Storage failed; the action was not stored and the person should try again."""
