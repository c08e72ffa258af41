"""Running the 90 minutes: the agenda, the scenarios in their order, questions, conclusion."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from cards.content import ContentPack, Scenario
from cards.library import PackLibrary
from dialogs.common import change_session, require_director, require_leader
from dialogs.errors import InvalidInput, WrongState
from dialogs.forms import clean_text
from dialogs.polls import PollService
from dialogs.ports import QuestionStore, SessionStore
from dialogs.signin import SIGNIN, SIGNIN_CLOSED
from storage.records import CONCLUDED, Person, QuestionRecord, SessionRecord

log = logging.getLogger(__name__)

DONE = CONCLUDED
SCENARIOS = "scenarios"
MAX_QUESTION = 500


@dataclass(frozen=True)
class SectionTime:
    """One agenda section: planned and used minutes, and whether it is the current one."""

    id: str
    planned: int
    used_seconds: float
    current: bool
    finished: bool


@dataclass(frozen=True)
class Progress:
    """Where the session stands, computed from stored times and the clock."""

    sections: list[SectionTime]
    scenario: Scenario | None
    scenario_seconds: float
    over_time: bool
    next_scenario: Scenario | None


class DialogueService:
    """Moves the session through the guide's plan; the leader moves it, or their facilitator."""

    def __init__(
        self,
        sessions: SessionStore,
        questions: QuestionStore,
        library: PackLibrary,
        polls: PollService,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._questions = questions
        self._library = library
        self._polls = polls
        self._clock = clock

    def pack(self, session: SessionRecord, language: str | None = None) -> ContentPack:
        """The session's pack in a language (the session's own by default)."""
        return self._library.get(session.pack, language or session.language)

    def progress(self, session: SessionRecord) -> Progress:
        """Minutes used per section and on the current scenario, as of now."""
        pack = self.pack(session)
        now = self._clock()
        ids = [s.id for s in pack.agenda]
        current_index = ids.index(session.stage) if session.stage in ids else len(ids)
        sections = []
        for index, section in enumerate(pack.agenda):
            used = session.stage_seconds.get(section.id, 0.0)
            if index == current_index and session.stage_started_at is not None:
                used += (now - session.stage_started_at).total_seconds()
            sections.append(
                SectionTime(
                    section.id, section.minutes, used, index == current_index, index < current_index
                )
            )
        scenario = self.current_scenario(session)
        seconds = 0.0
        if scenario is not None and session.scenario_started_at is not None:
            seconds = (now - session.scenario_started_at).total_seconds()
        over = scenario is not None and seconds > scenario.suggested_minutes[1] * 60
        following = session.scenario_order[session.scenario_index + 1 :]
        next_scenario = pack.scenario(following[0]) if following else None
        return Progress(sections, scenario, seconds, over, next_scenario)

    def current_scenario(self, session: SessionRecord) -> Scenario | None:
        """The scenario being discussed, if any."""
        if session.stage != SCENARIOS or not 0 <= session.scenario_index < len(
            session.scenario_order
        ):
            return None
        return self.pack(session).scenario(session.scenario_order[session.scenario_index])

    async def begin(self, session: SessionRecord, agenda_card_id: str) -> SessionRecord:
        """Start the clock on the introduction and remember the agenda card's message."""
        now = self._clock()
        return await change_session(
            self._sessions,
            session,
            lambda s: replace(
                s,
                agenda_card_id=agenda_card_id,
                stage_started_at=s.stage_started_at or now,
            ),
        )

    async def replan(self, session: SessionRecord, agenda_card_id: str) -> SessionRecord:
        """The plan posted again at the meeting's start: its clock restarts if nothing moved.

        A session set up days ahead would otherwise show its introduction running since then.
        """
        now = self._clock()
        first = self.pack(session).agenda[0].id

        def edit(s: SessionRecord) -> SessionRecord:
            moved = s.stage != first or s.stage_seconds or s.scenario_index >= 0
            if moved or s.held_at is not None:
                return replace(s, agenda_card_id=agenda_card_id)
            return replace(s, agenda_card_id=agenda_card_id, stage_started_at=now)

        return await change_session(self._sessions, session, edit)

    async def attach_scenario_card(self, session: SessionRecord, card_id: str) -> SessionRecord:
        """Remember which message shows the scenario under discussion."""
        return await change_session(
            self._sessions, session, lambda s: replace(s, scenario_card_id=card_id)
        )

    async def next_section(self, session: SessionRecord, caller: Person) -> SessionRecord:
        """Close the current section and open the next (leader or facilitator)."""
        require_director(session, caller)
        pack = self.pack(session)
        ids = [s.id for s in pack.agenda]
        if session.stage not in ids or session.stage == ids[-1]:
            # The last section ends with "conclude", which marks the session held.
            raise WrongState("error.dialogue_done")
        now = self._clock()
        expected = session.stage

        def edit(s: SessionRecord) -> SessionRecord:
            if s.stage != expected:
                return s  # someone already moved on: a double click moves only once
            seconds = dict(s.stage_seconds)
            if s.stage_started_at is not None:
                seconds[s.stage] = (
                    seconds.get(s.stage, 0.0) + (now - s.stage_started_at).total_seconds()
                )
            following = ids[ids.index(s.stage) + 1]
            return replace(
                s,
                stage=following,
                stage_started_at=now,
                stage_seconds=seconds,
                **self._finish_scenario(s, now),
            )

        return await change_session(self._sessions, session, edit)

    async def choose_scenarios(
        self, session: SessionRecord, caller: Person, chosen: Sequence[str] | str | Any
    ) -> SessionRecord:
        """Set the order of the scenarios picked (the guide's minimum; leader or facilitator)."""
        require_director(session, caller)
        pack = self.pack(session)
        order = _parse_choice(chosen, {s.id for s in pack.scenarios})
        minimum = min(pack.minimum_scenarios, len(pack.scenarios))
        if len(order) < minimum:
            raise InvalidInput("error.choose_minimum", field="scenarios", minimum=minimum)
        return await self._set_order(session, order)

    async def order_from_votes(
        self, session: SessionRecord, caller: Person, counts: Mapping[str, int]
    ) -> SessionRecord:
        """The group's choice: scenarios by votes, most first; ties in the guide's order."""
        require_director(session, caller)
        pack = self.pack(session)
        order = [
            s.id for s in sorted(pack.scenarios, key=lambda s: (-counts.get(s.id, 0), s.number))
        ]
        return await self._set_order(session, order)

    async def _set_order(self, session: SessionRecord, order: list[str]) -> SessionRecord:
        if session.scenario_index >= 0:
            # Scenarios already discussed keep their place; the choice orders the rest.
            done = session.scenario_order[: session.scenario_index + 1]
            order = done + [s for s in order if s not in done]
        return await change_session(
            self._sessions, session, lambda s: replace(s, scenario_order=order)
        )

    async def next_scenario(self, session: SessionRecord, caller: Person) -> SessionRecord:
        """Start the next scenario in the chosen order (leader or facilitator)."""
        require_director(session, caller)
        require_scenarios(session)
        if not session.scenario_order:
            raise WrongState("error.choose_first")
        if session.scenario_index + 1 >= len(session.scenario_order):
            raise WrongState("error.no_more_scenarios")
        now = self._clock()
        expected = session.scenario_index

        def edit(s: SessionRecord) -> SessionRecord:
            if s.scenario_index != expected:
                return s
            # Starting the next scenario stops the current one's clock, if it still runs.
            finished = {**self._finish_scenario(s, now), "scenario_started_at": now}
            return replace(s, scenario_index=s.scenario_index + 1, **finished)

        return await change_session(self._sessions, session, edit)

    async def wrap_up(
        self, session: SessionRecord, caller: Person, scenario_id: Any
    ) -> SessionRecord:
        """Show the current scenario's key messages and stop its clock (leader or facilitator)."""
        require_director(session, caller)
        scenario = self.current_scenario(session)
        if scenario is None or scenario.id != scenario_id:
            raise WrongState("error.not_current_scenario")
        now = self._clock()
        return await change_session(
            self._sessions, session, lambda s: replace(s, **self._finish_scenario(s, now))
        )

    async def conclude(self, session: SessionRecord, caller: Person) -> SessionRecord:
        """End the Dialogue (leader only): held, sign-in closed, the sheet frozen."""
        # The manager "must direct the session" (FAQ): concluding it is not delegated.
        require_leader(session, caller)
        if session.stage != "conclusion":
            raise WrongState("error.not_conclusion")
        # Every poll still open closes with the Dialogue: its salt and votes go.
        await self._polls.close_all(session)
        now = self._clock()

        def edit(s: SessionRecord) -> SessionRecord:
            if s.stage == DONE:
                return s
            seconds = dict(s.stage_seconds)
            if s.stage_started_at is not None:
                seconds[s.stage] = (
                    seconds.get(s.stage, 0.0) + (now - s.stage_started_at).total_seconds()
                )
            # Conclusion closes sign-in and freezes the sheet: who may assess is fixed now.
            return replace(
                s,
                stage=DONE,
                stage_seconds=seconds,
                stage_started_at=None,
                held_at=now,
                frozen_at=s.frozen_at or now,
                status=SIGNIN_CLOSED if s.status == SIGNIN else s.status,
                closed_at=s.closed_at or now,
            )

        held = await change_session(self._sessions, session, edit)
        log.info("session held session=%s", held.session_id)
        return held

    async def log_question(self, session: SessionRecord, data: Mapping[str, Any]) -> QuestionRecord:
        """Anyone may log a question the group could not answer; its author is not kept."""
        text = clean_text(
            data.get("question_text"), field="question", max_length=MAX_QUESTION, required=True
        )
        return await self._questions.add(session.session_id, text, self._clock())

    async def questions(self, session: SessionRecord) -> list[QuestionRecord]:
        """The session's unanswered questions."""
        return await self._questions.for_session(session.session_id)

    def wrapped(self, session: SessionRecord) -> set[str]:
        """Scenarios whose discussion the leader wrapped up."""
        return self._wrapped(session)

    @staticmethod
    def _wrapped(session: SessionRecord) -> set[str]:
        return set(session.scenario_seconds)

    def _finish_scenario(self, s: SessionRecord, now: datetime) -> dict[str, Any]:
        """Stop the current scenario's clock, if it runs; what to change on the session."""
        if s.scenario_started_at is None or not 0 <= s.scenario_index < len(s.scenario_order):
            return {}
        current = s.scenario_order[s.scenario_index]
        seconds = dict(s.scenario_seconds)
        seconds[current] = seconds.get(current, 0.0) + (now - s.scenario_started_at).total_seconds()
        return {"scenario_seconds": seconds, "scenario_started_at": None}


def _parse_choice(chosen: Any, valid: set[str]) -> list[str]:
    """Adaptive Cards submit a multi-select as "s1,s3"; keep the order, refuse the unknown."""
    if isinstance(chosen, str):
        items = [c.strip() for c in chosen.split(",") if c.strip()]
    elif isinstance(chosen, list) and all(isinstance(c, str) for c in chosen):
        items = chosen
    else:
        raise InvalidInput("error.invalid_field", field="scenarios")
    if any(item not in valid for item in items) or len(set(items)) != len(items):
        raise InvalidInput("error.invalid_field", field="scenarios")
    return items


# The guide, "Scenario Discussions": "How you choose the scenarios is up to you. You can: Make
# the decision yourself. Ask participants in advance to let you know which scenarios they would
# like to discuss ... Agree on the day with participants". So the leader may open the group's
# choice before the session (in the meeting chat, during sign-in, days ahead) as well as on the
# day, until the first scenario starts; it is the same anonymous poll, and its result sets the
# order (`order_from_votes`).
def require_choice_poll(session: SessionRecord, caller: Person) -> None:
    """The leader (or the facilitator) opens the scenario choice, before the first scenario."""
    require_director(session, caller)
    if session.stage == DONE or session.scenario_index >= 0:
        raise WrongState("error.scenarios_started")


def choice_poll_closes_at(session: SessionRecord) -> datetime | None:
    """When a choice asked ahead closes by itself: at the end of the session's day (UTC).

    Asked in the scenario section itself, it is the ordinary poll, with the ordinary timeout.
    """
    if session.stage == SCENARIOS:
        return None
    return datetime.combine(session.session_date + timedelta(days=1), time(0, 0), tzinfo=UTC)


def require_scenarios(session: SessionRecord) -> None:
    """Refuse what only the scenario section allows (the next scenario, the choice poll)."""
    if session.stage != SCENARIOS:
        raise WrongState("error.not_scenarios")
