"""Short-lived grants signed with a key derived from the bot's secret, one key per purpose."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

# An unpadded base64url payload (a grant is a few hundred characters), a dot and the 43
# characters of an HMAC-SHA256. Anything else is refused before any decoding, so odd input
# (non-ASCII, escapes, dots, megabytes) is a plain refusal and never an error.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,1024}\.[A-Za-z0-9_-]{43}")


class Signer:
    """Signs a small JSON object into a URL-safe token and reads it back if untouched."""

    def __init__(self, secret: str, purpose: bytes) -> None:
        # A key of its own per purpose: an export link can never pass as an event ticket, and
        # neither as a vote key.
        self._key = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()

    def sign(self, grant: dict[str, Any]) -> str:
        """The token carrying this grant."""
        payload = _b64(json.dumps(grant, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The grant a token carries, if its signature is right (expiry is the caller's)."""
        if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
            return None
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature, self._mac(payload)):
            return None
        try:
            grant = json.loads(_unb64(payload))
        except ValueError:
            return None
        return grant if isinstance(grant, dict) else None

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
