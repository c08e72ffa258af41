"""What Teams' meeting start and end mean for a session (hints only: nothing depends on them)."""

from __future__ import annotations

from datetime import datetime

from storage.records import SessionRecord

# Markers of what a meeting event already did for a session: one each, insert-only.
STARTED = "meeting-start"
ENDED_PROMPT = "meeting-end"
SIGNIN_NUDGE = "nudge-signin"
ASSESS_NUDGE = "nudge-assess"


def event_marker(session: SessionRecord, kind: str) -> str:
    """The key of the one marker a session may hold for this kind of meeting event."""
    return f"{kind}:{session.session_id}"


def planned_ahead(session: SessionRecord, meeting_started_at: datetime, first_stage: str) -> bool:
    """Set up before the meeting began, and its plan not yet under way.

    Such a session's sheet and plan were posted days or minutes before, far up the chat: at the
    meeting's start they are posted again where people look. A session set up once the meeting
    was running needs nothing: its cards are fresh.
    """
    return (
        session.created_at < meeting_started_at
        and session.status == "signin"
        and session.held_at is None
        and session.stage == first_stage
        and not session.stage_seconds
        and session.scenario_index < 0
    )


def needs_end_prompt(session: SessionRecord) -> bool:
    """Whether the leader still has to close sign-in or conclude when the meeting ends."""
    return session.status == "signin" or not session.concluded
