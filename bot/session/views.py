"""The cards of the Dialogue itself: the session plan (agenda) and a scenario."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from bot.teams.refresh import Audience
from bot.teams.replies import Notice, Replies, plain
from cards.content import AgendaSection, ContentPack, Question, Scenario, Text
from cards.renderer import Card, CardRenderer
from cards.templating import Markdown
from dialogs.common import directors, is_director
from dialogs.jobs import PreReadingReminders, ScheduledReminder
from dialogs.session import DONE, SCENARIOS, DialogueService, Progress
from storage.records import Person, QuestionRecord, SessionRecord


class DialogueViews:
    """Reads a session's plan and progress and renders its agenda and scenario cards."""

    def __init__(
        self,
        renderer: CardRenderer,
        replies: Replies,
        dialogue: DialogueService | None,
        videos: Callable[[], Awaitable[Mapping[str, str]]] | None = None,
        reminders: PreReadingReminders | None = None,
    ) -> None:
        # `dialogue` may be None where only the card builders are used (the card checks).
        self._renderer = renderer
        self._replies = replies
        self._dialogue = dialogue
        # The scenario videos the Ethics Office set for the cycle (scenario id -> https URL).
        self._videos = videos
        self._reminders = reminders

    @property
    def _service(self) -> DialogueService:
        assert self._dialogue is not None, "reading cards needs the Dialogue service"
        return self._dialogue

    # Read, then render -----------------------------------------------------------------------

    async def agenda(
        self,
        session: SessionRecord,
        lang: str,
        *,
        person: Person | None = None,
        notice: Notice | None = None,
        audience: Audience | None = None,
    ) -> Card:
        """The session plan; the leader's view adds prompts, warnings and the questions.

        `audience`: for the shared card (no `person`), whom Teams refreshes into their own view.

        The facilitator gets the leader's view without what stays with the leader: the logged
        questions (answering them is not delegated), the conclusion and the after-session forms.
        """
        director = person is not None and is_director(session, person.aad_id)
        leader = person is not None and session.is_leader(person.aad_id)
        facilitator = director and not leader
        questions = await self._service.questions(session) if leader else []
        reminder = None
        # The pre-session reminder is the leader's to schedule (the guide's "1-3 days ahead").
        if leader and self._reminders is not None and self._reminders.may_schedule(session):
            scheduled = await self._reminders.of_session(session)
            reminder = self._reminder_block(session, scheduled, lang)
        return self.agenda_card(
            session,
            self._service.pack(session, _reading_language(session, person, lang)),
            self._service.progress(session),
            lang,
            leader=director,
            facilitator=facilitator,
            questions=questions,
            notice=notice,
            reminder=reminder,
            audience=audience if person is None else None,
        )

    async def shared_agenda(
        self, session: SessionRecord, audience: Audience | None = None
    ) -> tuple[str, Card] | None:
        """The shared agenda card, if it was posted."""
        if not session.agenda_card_id:
            return None
        card = await self.agenda(session, session.language, audience=audience)
        return session.agenda_card_id, card

    async def scenario(
        self,
        session: SessionRecord,
        scenario_id: str,
        lang: str,
        *,
        person: Person | None = None,
        notice: Notice | None = None,
        audience: Audience | None = None,
    ) -> Card | None:
        """A scenario card; None when the pack has no such scenario."""
        reading = _reading_language(session, person, lang)
        scenario = self._service.pack(session, reading).scenario(scenario_id)
        if scenario is None:
            return None
        configured = await self._videos() if self._videos is not None else {}
        progress = self._service.progress(session)
        seconds = (
            progress.scenario_seconds
            if progress.scenario and progress.scenario.id == scenario_id
            else session.scenario_seconds.get(scenario_id, 0.0)
        )
        return self.scenario_card(
            session,
            scenario,
            lang,
            leader=person is not None and is_director(session, person.aad_id),
            seconds=seconds,
            notice=notice,
            # The cycle's link first: the guide says "Play the video on this link" without one.
            video_url=configured.get(scenario.id) or scenario.video_url,
            audience=audience if person is None else None,
        )

    def prereading(self, session: SessionRecord, lang: str) -> Card:
        """The participant's pre-reading (Appendix D), from the session plan."""
        return self.prereading_card(self._service.pack(session, lang), lang, session, back=True)

    def prereading_card(
        self, pack: ContentPack, lang: str, session: SessionRecord | None, *, back: bool = False
    ) -> Card:
        """Appendix D's pre-reading for the participants; `back` offers the session plan again.

        Also what is sent to the meeting chat a few days before the session (guide, "1-3 days
        ahead": "Send a reminder to participants ... Distribute the Participant's Guide").
        """
        data = {
            "sid": session.session_id if session else "",
            "topic": self._pack_text(lang, pack.title),
            "session": (
                self._text(
                    lang,
                    "prereading.session",
                    unit=plain(session.unit),
                    date=self._replies.date(lang, session.session_date),
                )
                if session
                else ""
            ),
            "untranslated": any(not t.translated for t in pack.pre_reading),
            "items": self._items(lang, pack.pre_reading),
            "office": self._replies.ethics_office(lang, pack),
            "back": back and session is not None,
        }
        return self._renderer.render("prereading", data, lang)

    # The agenda ------------------------------------------------------------------------------

    def agenda_card(
        self,
        session: SessionRecord,
        pack: ContentPack,
        progress: Progress,
        lang: str,
        *,
        leader: bool,
        questions: list[QuestionRecord],
        notice: Notice | None = None,
        facilitator: bool = False,
        reminder: dict[str, Any] | None = None,
        audience: Audience | None = None,
    ) -> Card:
        """The session plan: sections with minutes, the current one's content; leader controls.

        `leader`: the leader's view (the leader's, or the facilitator's when `facilitator`).
        `reminder`: the leader's pre-session reminder controls, before the session begins.
        """
        done = session.stage == DONE
        # What the FAQ keeps with the manager, who "must direct the session": the conclusion,
        # the questions, Appendix C. The facilitator is a participant: they may assess.
        directs = leader and not facilitator
        current = next(
            (s for s, t in zip(pack.agenda, progress.sections, strict=True) if t.current), None
        )
        stage_ids = [s.id for s in pack.agenda]
        index = stage_ids.index(session.stage) if session.stage in stage_ids else len(stage_ids)
        following = pack.agenda[index + 1] if index + 1 < len(pack.agenda) else None
        in_scenarios = session.stage == SCENARIOS
        in_conclusion = session.stage == "conclusion"
        more_scenarios = progress.next_scenario is not None
        data: dict[str, Any] = {
            "sid": session.session_id,
            "cycle": session.cycle,
            "entity": session.entity,
            "after_note": done,
            "after": {
                "assess": done and not directs,
                "feedback": done and directs,
                "results": done and directs,
                "remind": done and directs,
                "forward": done and directs and bool(questions),
            },
            "stage": session.stage,
            "refresh": _refresh(session, audience) if not leader else None,
            "refresh_hint": audience is not None and not audience.complete,
            "facilitator_note": facilitator and not done,
            "topic": self._pack_text(lang, pack.title),
            "notice": self._replies.banner(lang, notice),
            "sections": self._sections(pack, progress, lang),
            **self._current_section(session, pack, current, lang),
            "leader": leader and not done,
            "warning": self._agenda_warning(session, pack, lang) if leader else "",
            "prompts": self._items(lang, current.prompts, "›") if leader and current else [],
            # "Below is a list of general questions you can also draw on to encourage open
            # dialogue" (Scenario Discussions): the leader's, while the scenarios are discussed.
            "general_questions": (
                self._items(lang, pack.general_questions, "?") if leader and in_scenarios else []
            ),
            # "Advance to SLIDE 28, read or paraphrase the following": the closing remarks,
            # ending with the request to complete Appendix F.
            "remarks": self._items(lang, pack.conclusion_remarks, "›")
            if leader and in_conclusion
            else [],
            # The guide's conclusion names the Ethics Office and The Roadmap to everyone.
            "office": (self._replies.ethics_office(lang, pack) if in_conclusion or done else None),
            "questions_heading": (
                self._text(lang, "agenda.questions_heading", count=len(questions))
                if leader and questions and not done
                else ""
            ),
            "questions": (
                [{"text": f"? {plain(q.text)}"} for q in questions] if leader and not done else []
            ),
            "choose": self._scenario_choice(session, pack, lang),
            "reminder": reminder if leader and not done else None,
            "next_section_label": (
                self._text(lang, "agenda.next_section", section=following.title.value)
                if following
                else ""
            ),
            "next_scenario_label": (
                self._text(
                    lang,
                    "agenda.next_scenario",
                    number=progress.next_scenario.number,
                    title=progress.next_scenario.title.value,
                )
                if progress.next_scenario is not None
                else ""
            ),
            "show": {
                "prereading": True,
                "log_question": not done,
                "choose": leader and in_scenarios and session.scenario_index < 0,
                # Asked in advance (before the session) or on the day, until a scenario starts.
                "group_choice": leader and not done and session.scenario_index < 0,
                "next_scenario": leader and in_scenarios and more_scenarios,
                "next_section": leader and following is not None and not done,
                "conclude": directs and session.stage == "conclusion",
                # The shared card: everyone's own view by hand, where Teams does not refresh.
                "my_view": audience is not None,
            },
        }
        show = data["show"]
        # The leader's controls sit at the top, by the notice they cause, not below the texts.
        show["controls"] = any(
            show[k] for k in ("choose", "group_choice", "next_scenario", "next_section", "conclude")
        )
        # The leader's notes are long (thousands of pixels): folded, one click away.
        data["leader_notes"] = bool(data["prompts"] or data["general_questions"] or data["remarks"])
        data["notice_below"] = _below(data["notice"], leader)
        return self._renderer.render("agenda", data, lang)

    def reminder_when(self, lang: str, scheduled: ScheduledReminder) -> str:
        """When a reminder goes, as the leader entered it: date, time and UTC offset."""
        local = scheduled.local_due
        offset = local.strftime("%z")
        return self._text(
            lang,
            "reminder.when",
            date=self._replies.date(lang, local.date()),
            time=local.strftime("%H:%M"),
            offset=f"{offset[:3]}:{offset[3:]}",
        )

    def _reminder_block(
        self, session: SessionRecord, scheduled: ScheduledReminder | None, lang: str
    ) -> dict[str, Any]:
        """The leader's reminder controls: where it stands, and the date and time to send it."""
        state = scheduled.state if scheduled is not None else "none"
        if scheduled is not None and state != "cancelled":
            local = scheduled.local_due
            day, at = local.date().isoformat(), local.strftime("%H:%M")
            status = self._text(
                lang, f"reminder.state_{state}", when=self.reminder_when(lang, scheduled)
            )
        else:
            # The guide's "1-3 days ahead": two days before, in the morning, to start from.
            day, at = (session.session_date - timedelta(days=2)).isoformat(), "09:00"
            status = self._text(lang, "reminder.state_none")
        return {
            "status": status,
            "date": day,
            "time": at,
            "can_schedule": state in ("none", "scheduled", "cancelled"),
            "can_cancel": state == "scheduled",
        }

    def _sections(self, pack: ContentPack, progress: Progress, lang: str) -> list[dict[str, str]]:
        """Each section of the plan with its minutes used or planned; the current one stands out."""
        sections = []
        for section, time in zip(pack.agenda, progress.sections, strict=True):
            minutes = round(time.used_seconds / 60)
            used = (
                self._text(lang, "agenda.minutes", used=minutes, planned=section.minutes)
                if time.current or time.finished
                else self._text(lang, "agenda.minutes_planned", planned=section.minutes)
            )
            sections.append(
                {
                    "marker": "▶" if time.current else ("✓" if time.finished else "·"),
                    "title": self._pack_text(lang, section.title),
                    "minutes": used,
                    "weight": "Bolder" if time.current else "Default",
                    "style": "accent" if time.current else "default",
                }
            )
        return sections

    def _current_section(
        self,
        session: SessionRecord,
        pack: ContentPack,
        current: AgendaSection | None,
        lang: str,
    ) -> dict[str, Any]:
        """What the section under way shows: its title, activities and its list, if any."""
        items: list[dict[str, str]] = []
        heading = ""
        if session.stage == DONE or current is None:
            title = self._text(lang, "agenda.done_title")
            activities = self._text(lang, "agenda.thanks")
            heading = self._text(lang, "agenda.recap_heading")
            items = self._items(lang, pack.key_messages_recap)
        else:
            title = self._pack_text(lang, current.title)
            activities = self._pack_text(lang, current.activities)
            if current.id == "introduction":
                heading = self._text(lang, "agenda.ground_rules")
                items = self._items(lang, pack.ground_rules)
            elif current.id == "opening":
                heading = self._text(lang, "agenda.opening_questions")
                items = self._items(lang, pack.opening_questions)
            elif current.id == SCENARIOS:
                heading = self._text(lang, "agenda.order_heading") if session.scenario_order else ""
                items = self._scenario_order(session, pack, lang)
            elif current.id == "conclusion":
                heading = self._text(lang, "agenda.recap_heading")
                items = self._items(lang, pack.key_messages_recap)
        return {
            "current": {"title": title, "activities": activities},
            "list_heading": heading,
            "items": items,
        }

    def _agenda_warning(self, session: SessionRecord, pack: ContentPack, lang: str) -> str:
        """The leader's warning when the scenarios fall short of the guide's minimum."""
        wrapped = len(session.scenario_seconds)
        minimum = min(pack.minimum_scenarios, len(pack.scenarios))
        if session.stage == SCENARIOS and not session.scenario_order:
            return self._text(lang, "agenda.no_order", minimum=minimum)
        if session.stage == "conclusion" and wrapped < minimum:
            return self._text(lang, "agenda.scenarios_warning", minimum=minimum, count=wrapped)
        return ""

    def _scenario_choice(
        self, session: SessionRecord, pack: ContentPack, lang: str
    ) -> dict[str, Any]:
        """The leader's scenario picker: the pack's scenarios and the order chosen so far."""
        return {
            "minimum": min(pack.minimum_scenarios, len(pack.scenarios)),
            "value": ",".join(session.scenario_order) or None,
            "choices": [
                {
                    "title": self._text(
                        lang, "agenda.scenario_choice", number=s.number, title=s.title.value
                    ),
                    "value": s.id,
                }
                for s in pack.scenarios
            ],
        }

    def _scenario_order(
        self, session: SessionRecord, pack: ContentPack, lang: str
    ) -> list[dict[str, str]]:
        items = []
        for index, scenario_id in enumerate(session.scenario_order):
            scenario = pack.scenario(scenario_id)
            if scenario is None:
                continue
            if scenario_id in session.scenario_seconds and index != session.scenario_index:
                state = "agenda.scenario_done"
            elif index == session.scenario_index:
                state = "agenda.scenario_now"
            else:
                state = "agenda.scenario_later"
            items.append(
                {
                    "text": self._text(
                        lang,
                        state,
                        number=scenario.number,
                        title=self._pack_text(lang, scenario.title),
                    )
                }
            )
        return items

    # A scenario ------------------------------------------------------------------------------

    def scenario_card(
        self,
        session: SessionRecord,
        scenario: Scenario,
        lang: str,
        *,
        leader: bool,
        seconds: float,
        notice: Notice | None = None,
        video_url: str = "",
        audience: Audience | None = None,
    ) -> Card:
        """One scenario: text and questions for all; follow-ups, points and time for the leader."""
        wrapped = scenario.id in session.scenario_seconds
        is_current = (
            0 <= session.scenario_index < len(session.scenario_order)
            and session.scenario_order[session.scenario_index] == scenario.id
        )
        low, high = scenario.suggested_minutes
        over = seconds > high * 60
        video_url = video_url or scenario.video_url
        data: dict[str, Any] = {
            "sid": session.session_id,
            "scenario_id": scenario.id,
            "refresh": _refresh(session, audience) if not leader else None,
            "refresh_hint": audience is not None and not audience.complete,
            "title": self._text(
                lang, "scenario.title", number=scenario.number, title=plain(scenario.title.value)
            ),
            "subtitle": self._text(
                lang,
                "scenario.subtitle",
                format=self._text(lang, f"format.{scenario.format}"),
                low=low,
                high=high,
            ),
            "notice": self._replies.banner(lang, notice),
            "untranslated": any(not t.translated for t in _shown_texts(scenario, leader, wrapped)),
            "introduction": self._pack_text(lang, scenario.introduction),
            "video_url": video_url or None,
            # Without a link the leader is told whom to ask, rather than missing a button.
            "no_video": leader and scenario.format == "video" and not video_url,
            "paragraphs": [{"text": self._pack_text(lang, t)} for t in scenario.text],
            "script": [
                {
                    # The speaker in bold: Markdown of the bot's own, around escaped pack text.
                    "text": Markdown(
                        f"**{self._pack_text(lang, line.speaker)}**: "
                        f"{self._pack_text(lang, line.line)}"
                    )
                }
                for line in scenario.script
            ],
            "questions": [
                self._question(lang, n, question, leader)
                for n, question in enumerate(scenario.questions, start=1)
            ],
            "leader": leader,
            "timer": self._timer(session, scenario, lang, seconds, live=is_current and not wrapped),
            "timer_color": "Attention" if over and is_current and not wrapped else "Default",
            "wrapped": wrapped,
            "key_messages": self._items(lang, scenario.key_messages),
            "resources": self._items(lang, scenario.resources, "–"),
            "pack_polls": [
                {"title": plain(p.question.value), "value": p.id} for p in scenario.polls
            ],
            "show": {
                "pack_poll": leader and is_current and bool(scenario.polls),
                "adhoc_poll": leader and is_current,
                "wrap": leader and is_current and not wrapped,
                "my_view": audience is not None and is_current,
            },
            # The follow-ups and important points fold behind one toggle (the card ran to
            # 2,700 px with them shown); the leader's controls sit at the top.
            "notes_targets": [f"notes-{n}" for n in range(1, len(scenario.questions) + 1)]
            if leader
            else None,
        }
        show = data["show"]
        show["controls"] = show["pack_poll"] or show["adhoc_poll"] or show["wrap"]
        data["notice_below"] = _below(data["notice"], leader)
        return self._renderer.render("scenario", data, lang)

    def _question(self, lang: str, number: int, question: Question, leader: bool) -> dict[str, Any]:
        """A discussion question; the leader also gets its follow-ups and important points."""
        points = [
            {
                "text": "• "
                + self._pack_text(lang, p.text)
                + (f" ({self._pack_text(lang, p.reference)})" if p.reference else "")
            }
            for p in question.important_points
        ]
        return {
            "notes_id": f"notes-{number}",
            "text": f"{number}. {self._pack_text(lang, question.text)}",
            "follow_ups": self._items(lang, question.follow_ups, "›") if leader else [],
            "points": points if leader else [],
        }

    def _timer(
        self, session: SessionRecord, scenario: Scenario, lang: str, seconds: float, *, live: bool
    ) -> str:
        """Minutes against the suggested range while under way; the minutes taken once wrapped."""
        low, high = scenario.suggested_minutes
        used = round(seconds / 60)
        if not live:
            taken = session.scenario_seconds.get(scenario.id, seconds)
            return self._text(lang, "scenario.timer_done", used=round(taken / 60))
        if seconds > high * 60:
            return self._text(lang, "scenario.overtime", used=used, high=high)
        return self._text(lang, "scenario.timer", used=used, low=low, high=high)

    # Text ------------------------------------------------------------------------------------

    def _text(self, lang: str, key: str, **fields: Any) -> str:
        return self._renderer.text(lang, key, **fields)

    def _pack_text(self, lang: str, text: Text) -> str:
        """Pack text, saying plainly when it is shown in English for want of a translation."""
        value = plain(text.value)
        if text.translated:
            return value
        return f"{value} {self._text(lang, 'pack.untranslated_suffix')}"

    def _items(self, lang: str, texts: Iterable[Text], bullet: str = "•") -> list[dict[str, str]]:
        """One text block a line: the guide's numbered steps (5. … 6. … 7.) stay apart.

        Card markdown joins single line breaks into one paragraph, and "› 5." is no list.
        """
        items = []
        for text in texts:
            first, *rest = self._pack_text(lang, text).split("\n")
            items.append({"text": f"{bullet} {first}"})
            items += [{"text": line} for line in rest if line.strip()]
        return items


def _reading_language(session: SessionRecord, person: Person | None, lang: str) -> str:
    """The language of the guide's texts on this viewer's card; the controls stay in `lang`.

    The leader and the facilitator read the scenarios, prompts and key messages aloud to the
    group, so theirs are in the session's language; a participant may read along in their own.
    """
    if person is not None and is_director(session, person.aad_id):
        return session.language
    return lang


def _below(banner: dict[str, Any] | None, leader: bool) -> dict[str, Any] | None:
    """A participant's refusal shown again at the card's foot, beside "Leader controls" there.

    The leader's controls are at the top, by the notice; a participant's only control on a
    long card is at its bottom.
    """
    return banner if banner and banner.get("style") == "attention" and not leader else None


def _refresh(session: SessionRecord, audience: Audience | None) -> list[str] | None:
    """Who Teams asks for their own view: the audience given, else the leader's side."""
    if audience is not None:
        return list(audience.ids) or None
    return [p.mri for p in directors(session) if p.mri] or None


def _shown_texts(scenario: Scenario, leader: bool, wrapped: bool) -> list[Text]:
    """The pack texts a scenario card shows this viewer (to say if any is untranslated)."""
    texts = [scenario.title, scenario.introduction, *scenario.text]
    texts += [q.text for q in scenario.questions]
    if wrapped:
        texts += [*scenario.key_messages, *scenario.resources]
    if leader:
        texts += [f for q in scenario.questions for f in q.follow_ups]
    return texts
