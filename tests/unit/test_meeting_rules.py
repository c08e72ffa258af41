"""What Teams' meeting start and end mean for a session, on the fakes."""

from __future__ import annotations

from datetime import timedelta

from dialogs.meeting import STARTED, event_marker, needs_end_prompt, planned_ahead


async def test_only_a_session_set_up_before_the_meeting_and_not_yet_moving_is_planned_ahead(
    start, signin, dialogue, leader, clock
):
    session = (await start()).session
    first = dialogue.pack(session).agenda[0].id
    later = clock() + timedelta(days=2)
    assert planned_ahead(session, later, first)
    # Set up once the meeting was running: its cards are fresh.
    assert not planned_ahead(session, clock() - timedelta(minutes=1), first)
    # Its plan under way, or sign-in closed: the leader is already running it.
    moved = await dialogue.next_section(session, leader)
    assert not planned_ahead(moved, later, first)
    other = (await start()).session
    closed = (await signin.close(other, leader)).session
    assert not planned_ahead(closed, later, first)


async def test_replanning_at_the_meetings_start_restarts_an_untouched_clock_only(
    start, dialogue, leader, clock
):
    session = await dialogue.begin((await start()).session, "agenda-1")
    set_up_at = session.stage_started_at
    clock.advance(60 * 24 * 2)  # two days later the meeting starts
    replanned = await dialogue.replan(session, "agenda-2")
    assert replanned.agenda_card_id == "agenda-2"
    assert replanned.stage_started_at == clock() != set_up_at
    moved = await dialogue.next_section(replanned, leader)
    clock.advance(5)
    again = await dialogue.replan(moved, "agenda-3")
    # Once the plan moved, its times are the leader's: only the card changes.
    assert again.stage_started_at == moved.stage_started_at
    assert again.stage_seconds == moved.stage_seconds


async def test_the_end_prompt_is_for_an_open_sheet_or_an_unconcluded_session(start, signin, leader):
    session = (await start()).session
    assert needs_end_prompt(session)
    closed = (await signin.close(session, leader)).session
    assert needs_end_prompt(closed)  # closed, not concluded
    assert event_marker(session, STARTED) != event_marker(closed, "meeting-end")
