"""Key design: how people, sessions and chats become partition and row keys."""

from __future__ import annotations

import hashlib

# Re-exported: names are compared, and name keys built, by this one normalisation.
from storage.records import normalized_name as normalized_name

# Characters Azure Tables forbids in keys (/ \ # ?) and control characters never reach a key:
# every key below is hex, a GUID, a short code or digits.


def digest(*parts: str, length: int = 32) -> str:
    """A stable hex digest of the parts, separated so ("ab","c") differs from ("a","bc")."""
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:length]


def session_partition(cycle: int, entity: str) -> str:
    """Sessions of one entity in one cycle share a partition: one query is the roll-up."""
    return f"{cycle}-{entity}"


def chat_partition(conversation_id: str) -> str:
    """Conversation ids hold characters keys cannot; hash them."""
    return digest("chat", conversation_id)


def session_id_for(conversation_id: str, card_id: str) -> str:
    """The session started from one setup card always gets the same id, so retries are no-ops."""
    return digest("session", conversation_id, card_id, length=24)


def user_key(aad_id: str) -> str:
    """Row key of a Teams user on a sign-in sheet."""
    return "u" + aad_id.lower()


def named_key(identity: str) -> str:
    """Row key of a person added by name (joined by phone): the same identity is the same row."""
    return "n" + digest("name", normalized_name(identity))


def hint_key(aad_id: str) -> str:
    """Row key of a meeting-join hint for a Teams user."""
    return "h" + aad_id.lower()
