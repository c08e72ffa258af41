"""Work the Bot Framework SDK repeats for every message, done once per process instead."""

from __future__ import annotations

from msrest.universal_http.requests import ClientRetryPolicy


def cheap_retry_policies() -> None:
    """Let msrest build each connector client's retry policy without a 500 000-step scan."""
    # msrest lists the status codes to retry by testing 999 codes against a 500-item *list*
    # of safe codes, about 2 ms of CPU for every connector client, and botbuilder makes a new
    # client for every turn and card update. A frozenset holds the same codes; membership is
    # all msrest asks of it, so the retry behaviour is unchanged.
    if not isinstance(ClientRetryPolicy.safe_codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]
