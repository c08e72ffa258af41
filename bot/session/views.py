"""Cards for the Dialogue itself: the agenda, a scenario, a poll."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.teams.replies import plain
from cards.content import ContentPack, Scenario, Text
from cards.renderer import CardRenderer
from cards.templating import Markdown
from dialogs.polls import Tally
from dialogs.session import DONE, SCENARIOS, Progress
from storage.records import PollRecord, QuestionRecord, SessionRecord


class DialogueViews:
    """Builds the agenda, scenario and poll cards in a language."""

    def __init__(self, renderer: CardRenderer) -> None:
        self._r = renderer

    def _t(self, lang: str, key: str, **fields: Any) -> str:
        return self._r.text(lang, key, **fields)

    def _pack_text(self, lang: str, text: Text) -> str:
        """Pack text, saying plainly when it is shown in English for want of a translation."""
        value = plain(text.value)
        if text.translated:
            return value
        return f"{value} {self._t(lang, 'pack.untranslated_suffix')}"

    def _items(self, lang: str, texts: Iterable[Text], bullet: str = "•") -> list[dict[str, str]]:
        return [{"text": f"{bullet} {self._pack_text(lang, t)}"} for t in texts]

    def agenda(
        self,
        session: SessionRecord,
        pack: ContentPack,
        progress: Progress,
        lang: str,
        *,
        leader: bool,
        questions: list[QuestionRecord],
        notice_text: str | None = None,
        notice_style: str = "good",
    ) -> dict[str, Any]:
        """The session plan: sections with minutes, the current one's content; leader controls."""
        sections = []
        current = None
        for section, time in zip(pack.agenda, progress.sections, strict=True):
            if time.current:
                current = section
            minutes = round(time.used_seconds / 60)
            used = (
                self._t(lang, "agenda.minutes", used=minutes, planned=section.minutes)
                if time.current or time.finished
                else self._t(lang, "agenda.minutes_planned", planned=section.minutes)
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
        done = session.stage == DONE
        stage_ids = [s.id for s in pack.agenda]
        items: list[dict[str, str]] = []
        list_heading = ""
        if done:
            current_title = self._t(lang, "agenda.done_title")
            activities = self._t(lang, "agenda.thanks")
            list_heading = self._t(lang, "agenda.recap_heading")
            items = self._items(lang, pack.key_messages_recap)
        else:
            assert current is not None
            current_title = self._pack_text(lang, current.title)
            activities = self._pack_text(lang, current.activities)
            if current.id == "introduction":
                list_heading = self._t(lang, "agenda.ground_rules")
                items = self._items(lang, pack.ground_rules)
            elif current.id == "opening":
                list_heading = self._t(lang, "agenda.opening_questions")
                items = self._items(lang, pack.opening_questions)
            elif current.id == SCENARIOS:
                list_heading = (
                    self._t(lang, "agenda.order_heading") if session.scenario_order else ""
                )
                items = self._scenario_order(session, pack, lang)
            elif current.id == "conclusion":
                list_heading = self._t(lang, "agenda.recap_heading")
                items = self._items(lang, pack.key_messages_recap)
        in_scenarios = session.stage == SCENARIOS
        wrapped = len(session.scenario_seconds)
        minimum = min(pack.minimum_scenarios, len(pack.scenarios))
        warning = ""
        if leader and in_scenarios and not session.scenario_order:
            warning = self._t(lang, "agenda.no_order", minimum=minimum)
        elif leader and session.stage == "conclusion" and wrapped < minimum:
            warning = self._t(lang, "agenda.scenarios_warning", minimum=minimum, count=wrapped)
        index = stage_ids.index(session.stage) if session.stage in stage_ids else len(stage_ids)
        following = pack.agenda[index + 1] if index + 1 < len(pack.agenda) else None
        more_scenarios = progress.next_scenario is not None
        data = {
            "sid": session.session_id,
            "cycle": session.cycle,
            "entity": session.entity,
            "after_note": done,
            "after": {
                "assess": done and not leader,
                "feedback": done and leader,
                "results": done and leader,
                "remind": done and leader,
                "forward": done and leader and bool(questions),
            },
            "stage": session.stage,
            "refresh": [session.leader.mri] if not leader and session.leader.mri else None,
            "topic": self._pack_text(lang, pack.title),
            "notice": {"text": notice_text, "style": notice_style} if notice_text else None,
            "sections": sections,
            "current": {"title": current_title, "activities": activities},
            "list_heading": list_heading,
            "items": items,
            "leader": leader and not done,
            "warning": warning,
            "prompts": self._items(lang, current.prompts, "›") if leader and current else [],
            "questions_heading": (
                self._t(lang, "agenda.questions_heading", count=len(questions))
                if leader and questions and not done
                else ""
            ),
            "questions": (
                [{"text": f"? {plain(q.text)}"} for q in questions] if leader and not done else []
            ),
            "choose": {
                "minimum": minimum,
                "value": ",".join(session.scenario_order) or None,
                "choices": [
                    {
                        "title": self._t(
                            lang,
                            "agenda.scenario_choice",
                            number=s.number,
                            title=s.title.value,
                        ),
                        "value": s.id,
                    }
                    for s in pack.scenarios
                ],
            },
            "next_section_label": (
                self._t(lang, "agenda.next_section", section=following.title.value)
                if following
                else ""
            ),
            "next_scenario_label": (
                self._t(
                    lang,
                    "agenda.next_scenario",
                    number=progress.next_scenario.number,
                    title=progress.next_scenario.title.value,
                )
                if more_scenarios
                else ""
            ),
            "show": {
                "log_question": not done,
                "choose": leader and in_scenarios and session.scenario_index < 0,
                "group_choice": leader and in_scenarios and session.scenario_index < 0,
                "next_scenario": leader and in_scenarios and more_scenarios,
                "next_section": leader and following is not None and not done,
                "conclude": leader and session.stage == "conclusion",
                "leader_view": not leader and not done,
            },
        }
        return self._r.render("agenda", data, lang)

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
                    "text": self._t(
                        lang,
                        state,
                        number=scenario.number,
                        title=self._pack_text(lang, scenario.title),
                    )
                }
            )
        return items

    def scenario(
        self,
        session: SessionRecord,
        scenario: Scenario,
        lang: str,
        *,
        leader: bool,
        seconds: float,
        notice_text: str | None = None,
        notice_style: str = "good",
    ) -> dict[str, Any]:
        """One scenario: text and questions for all; follow-ups, points and time for the leader."""
        wrapped = scenario.id in session.scenario_seconds
        is_current = (
            0 <= session.scenario_index < len(session.scenario_order)
            and session.scenario_order[session.scenario_index] == scenario.id
        )
        low, high = scenario.suggested_minutes
        used = round(seconds / 60)
        over = seconds > high * 60
        texts = [scenario.title, scenario.introduction, *scenario.text]
        texts += [q.text for q in scenario.questions]
        if wrapped:
            texts += [*scenario.key_messages, *scenario.resources]
        questions = []
        for n, question in enumerate(scenario.questions, start=1):
            questions.append(
                {
                    "text": f"{n}. {self._pack_text(lang, question.text)}",
                    "follow_ups": self._items(lang, question.follow_ups, "›") if leader else [],
                    "points": [
                        {
                            "text": "• "
                            + self._pack_text(lang, p.text)
                            + (f" ({self._pack_text(lang, p.reference)})" if p.reference else "")
                        }
                        for p in question.important_points
                    ]
                    if leader
                    else [],
                }
            )
            if leader:
                texts += list(question.follow_ups)
        data = {
            "sid": session.session_id,
            "scenario_id": scenario.id,
            "refresh": [session.leader.mri] if not leader and session.leader.mri else None,
            "title": self._t(
                lang, "scenario.title", number=scenario.number, title=plain(scenario.title.value)
            ),
            "subtitle": self._t(
                lang,
                "scenario.subtitle",
                format=self._t(lang, f"format.{scenario.format}"),
                low=low,
                high=high,
            ),
            "notice": {"text": notice_text, "style": notice_style} if notice_text else None,
            "untranslated": any(not t.translated for t in texts),
            "introduction": self._pack_text(lang, scenario.introduction),
            "video_url": scenario.video_url or None,
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
            "questions": questions,
            "leader": leader,
            "timer": (
                self._t(lang, "scenario.overtime", used=used, high=high)
                if over
                else self._t(lang, "scenario.timer", used=used, low=low, high=high)
            )
            if is_current and not wrapped
            else self._t(
                lang,
                "scenario.timer_done",
                used=round(session.scenario_seconds.get(scenario.id, seconds) / 60),
            ),
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
                "leader_view": not leader and is_current,
            },
        }
        return self._r.render("scenario", data, lang)

    def poll(
        self,
        session: SessionRecord,
        poll: PollRecord,
        tally: Tally,
        lang: str,
        *,
        leader: bool,
        my_vote: list[int] | None,
        personal: bool,
        notice_text: str | None = None,
        notice_style: str = "good",
    ) -> dict[str, Any]:
        """A poll: the choice, the voter's own answer, and the final tally once closed.

        Nobody, the leader included, sees counts while the poll is open: counts that move with
        each vote would let anyone looking twice (or watching people click) match votes to
        people. Below the minimum of voters the final tally is not shown either.
        """
        closed = poll.status != "open"
        # Counts only once closed (they no longer move), and never below the minimum.
        show_results = closed and tally.showable
        if show_results:
            hidden_text = ""
        elif closed:
            hidden_text = self._t(lang, "poll.too_few")
        else:
            hidden_text = self._t(lang, "poll.hidden_leader" if leader else "poll.hidden")
        top = max(tally.counts) if tally.counts else 0
        bars = []
        for index, option in enumerate(poll.options):
            count = tally.counts[index] if index < len(tally.counts) else 0
            share = round(100 * count / tally.voters) if tally.voters else 0
            filled = round(100 * count / top) if top else 0
            bars.append(
                {
                    "label": self._t(
                        lang, "poll.bar", option=plain(option), count=count, percent=share
                    ),
                    "count_text": str(count),
                    "filled": filled or None,
                    "empty": (100 - filled) or None,
                    "zero": count == 0,
                }
            )
        mine = [plain(poll.options[i]) for i in my_vote or [] if 0 <= i < len(poll.options)]
        can_vote = not closed and not leader
        data = {
            "sid": session.session_id,
            "poll_id": poll.poll_id,
            "refresh": [session.leader.mri] if not personal and session.leader.mri else None,
            "question": plain(poll.question),
            "notice": {"text": notice_text, "style": notice_style} if notice_text else None,
            "can_vote": can_vote,
            "multiple": poll.multiple,
            "vote_label": self._t(
                lang, "poll.vote_label_multi" if poll.multiple else "poll.vote_label"
            ),
            "vote_button": self._t(
                lang, "poll.change_vote" if my_vote is not None else "poll.vote"
            ),
            "my_vote": ",".join(str(v) for v in my_vote) if my_vote else None,
            "options": [{"title": plain(o), "value": str(i)} for i, o in enumerate(poll.options)],
            "tally": {"count": tally.voters},
            "my_choice": self._t(lang, "poll.your_vote", choice=", ".join(mine)) if mine else None,
            "hidden": hidden_text or None,
            "bars": bars if show_results else None,
            "closed": closed and show_results,
            "show": {
                # Showing results closes the poll: the Close button does both.
                "reveal": False,
                "close": leader and not closed,
                "use_order": leader
                and closed
                and poll.kind == "choice"
                and session.scenario_index < 0,
                "leader_view": not personal and not closed,
            },
        }
        return self._r.render("poll", data, lang)
