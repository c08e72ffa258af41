"""The 90 minutes on the fakes: sections, the scenario choice and order, conclusion, questions."""

from __future__ import annotations

import pytest

from dialogs.errors import InvalidInput, NotAllowed, WrongState


@pytest.fixture
async def begun(start, dialogue):
    """A session whose introduction has started."""
    return await dialogue.begin((await start()).session, "agenda-card")


async def at_scenarios(dialogue, session, leader):
    """Move a session on to the scenario discussions."""
    session = await dialogue.next_section(session, leader)
    return await dialogue.next_section(session, leader)


async def test_the_leader_moves_section_by_section_and_time_used_is_kept(
    begun, dialogue, leader, clock, store
):
    assert (begun.stage, begun.agenda_card_id) == ("introduction", "agenda-card")
    clock.advance(12)
    moved = await dialogue.next_section(begun, leader)
    assert moved.stage == "opening"
    assert moved.stage_seconds == {"introduction": 720.0}
    stored = await store.sessions.get(moved.cycle, moved.entity, moved.session_id)
    assert stored.stage == "opening" and stored.stage_started_at == clock()
    clock.advance(3)
    progress = dialogue.progress(moved)
    current = [s for s in progress.sections if s.current]
    assert [(s.id, s.used_seconds) for s in current] == [("opening", 180.0)]
    assert [s.id for s in progress.sections if s.finished] == ["introduction"]


async def test_a_double_click_on_next_moves_once(begun, dialogue, leader):
    first = await dialogue.next_section(begun, leader)
    # The second click still carries the session as it was before the first.
    second = await dialogue.next_section(begun, leader)
    assert first.stage == second.stage == "opening"


async def test_only_the_leader_moves_the_session(begun, dialogue, persons):
    # Moving the plan may be delegated to a facilitator (tests/unit/test_facilitator_rules.py):
    # a participant who is not one is told so; concluding stays the leader's alone.
    for move, key in (
        (dialogue.next_section(begun, persons[1]), "error.director_only"),
        (dialogue.choose_scenarios(begun, persons[1], "s1,s2"), "error.director_only"),
        (dialogue.order_from_votes(begun, persons[1], {"s1": 3}), "error.director_only"),
        (dialogue.next_scenario(begun, persons[1]), "error.director_only"),
        (dialogue.conclude(begun, persons[1]), "error.leader_only"),
    ):
        with pytest.raises(NotAllowed) as refused:
            await move
        assert refused.value.key == key


@pytest.mark.parametrize("chosen", ["s1", "", [], ["s1"]])
async def test_at_least_two_scenarios_are_chosen(begun, dialogue, leader, chosen):
    with pytest.raises(InvalidInput) as refused:
        await dialogue.choose_scenarios(begun, leader, chosen)
    assert (refused.value.key, refused.value.fields["minimum"]) == ("error.choose_minimum", 2)


@pytest.mark.parametrize("chosen", ["s1,s9", "s1,s1", ["s1", 2], {"s1": 1}, 12])
async def test_forged_scenario_choices_are_refused(begun, dialogue, leader, chosen):
    with pytest.raises(InvalidInput) as refused:
        await dialogue.choose_scenarios(begun, leader, chosen)
    assert refused.value.key == "error.invalid_field"


async def test_the_leaders_choice_sets_the_order(begun, dialogue, leader):
    assert (await dialogue.choose_scenarios(begun, leader, "s3, s1")).scenario_order == ["s3", "s1"]
    assert (await dialogue.choose_scenarios(begun, leader, ["s2", "s3"])).scenario_order == [
        "s2",
        "s3",
    ]


async def test_the_groups_votes_order_the_scenarios_ties_in_the_guides_order(
    begun, dialogue, leader
):
    ordered = await dialogue.order_from_votes(begun, leader, {"s3": 4, "s2": 7, "s1": 7})
    assert ordered.scenario_order == ["s1", "s2", "s3"]
    ordered = await dialogue.order_from_votes(begun, leader, {"s3": 9})
    assert ordered.scenario_order == ["s3", "s1", "s2"]


async def test_scenarios_run_in_order_and_each_clock_stops_when_the_next_starts(
    begun, dialogue, leader, clock
):
    with pytest.raises(WrongState) as refused:
        await dialogue.next_scenario(begun, leader)
    assert refused.value.key == "error.not_scenarios"
    session = await at_scenarios(dialogue, begun, leader)
    with pytest.raises(WrongState) as refused:
        await dialogue.next_scenario(session, leader)
    assert refused.value.key == "error.choose_first"
    session = await dialogue.choose_scenarios(session, leader, "s2,s1")
    session = await dialogue.next_scenario(session, leader)
    assert dialogue.current_scenario(session).id == "s2"
    clock.advance(31)
    assert dialogue.progress(session).over_time  # the guide suggests 25 to 30 minutes
    session = await dialogue.next_scenario(session, leader)
    assert dialogue.current_scenario(session).id == "s1"
    assert session.scenario_seconds == {"s2": 31 * 60.0}
    assert dialogue.progress(session).next_scenario is None
    with pytest.raises(WrongState) as refused:
        await dialogue.next_scenario(session, leader)
    assert refused.value.key == "error.no_more_scenarios"


async def test_a_new_choice_keeps_the_scenarios_already_discussed_in_place(begun, dialogue, leader):
    session = await at_scenarios(dialogue, begun, leader)
    session = await dialogue.choose_scenarios(session, leader, "s1,s2")
    session = await dialogue.next_scenario(session, leader)
    session = await dialogue.choose_scenarios(session, leader, "s3,s2,s1")
    assert session.scenario_order == ["s1", "s3", "s2"]


async def test_wrapping_up_shows_the_current_scenario_only_and_stops_its_clock(
    begun, dialogue, leader, clock
):
    session = await at_scenarios(dialogue, begun, leader)
    session = await dialogue.choose_scenarios(session, leader, "s1,s2")
    session = await dialogue.next_scenario(session, leader)
    with pytest.raises(WrongState):
        await dialogue.wrap_up(session, leader, "s2")
    clock.advance(26)
    session = await dialogue.wrap_up(session, leader, "s1")
    assert dialogue.wrapped(session) == {"s1"}
    assert session.scenario_seconds == {"s1": 26 * 60.0} and session.scenario_started_at is None
    clock.advance(5)  # time after the wrap-up is not the scenario's
    session = await dialogue.next_scenario(session, leader)
    assert session.scenario_seconds == {"s1": 26 * 60.0}


async def test_concluding_holds_the_session_once(begun, dialogue, leader, clock):
    with pytest.raises(WrongState) as refused:
        await dialogue.conclude(begun, leader)
    assert refused.value.key == "error.not_conclusion"
    session = await at_scenarios(dialogue, begun, leader)
    session = await dialogue.next_section(session, leader)
    assert session.stage == "conclusion"
    with pytest.raises(WrongState) as refused:
        await dialogue.next_section(session, leader)
    assert refused.value.key == "error.dialogue_done"
    clock.advance(5)
    held = await dialogue.conclude(session, leader)
    assert held.held and held.stage == "done" and held.held_at == clock()
    assert held.stage_seconds["conclusion"] == 300.0
    clock.advance(1)
    again = await dialogue.conclude(session, leader)  # the older copy, clicked twice
    assert again.held_at == held.held_at


async def test_anyone_logs_a_question_once_and_empty_or_long_ones_are_refused(
    begun, dialogue, clock
):
    await dialogue.log_question(begun, {"question_text": "May I share a post from work?"})
    clock.advance(1)
    await dialogue.log_question(begun, {"question_text": "may i share a post  from work?"})
    await dialogue.log_question(begun, {"question_text": "Second\nquestion"})
    assert [q.text for q in await dialogue.questions(begun)] == [
        "May I share a post from work?",
        "Second question",
    ]
    for data in ({}, {"question_text": "   "}, {"question_text": "x" * 501}, {"question_text": 5}):
        with pytest.raises(InvalidInput):
            await dialogue.log_question(begun, data)
