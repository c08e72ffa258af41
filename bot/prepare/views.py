"""The leader's preparation card, from the content pack (views read, never write)."""

from __future__ import annotations

from typing import Any

from bot.teams.replies import Notice, Replies, plain
from cards.content import ContentPack, Text
from cards.renderer import Card, CardRenderer


class PrepareViews:
    """Renders the guide's "Preparing for the Dialogue" for one leader."""

    def __init__(self, renderer: CardRenderer, replies: Replies) -> None:
        self._renderer = renderer
        self._replies = replies

    def prepare_card(
        self, pack: ContentPack, lang: str, *, sid: str = "", notice: Notice | None = None
    ) -> Card:
        """The checklist, resources, personal story, scenario choice, role, tips and contacts.

        `sid`: opened from that session's sign-in sheet, so the card offers the sheet again.
        """
        r = self._replies
        minimum = min(pack.minimum_scenarios, len(pack.scenarios))
        data: dict[str, Any] = {
            "sid": sid,
            "back": bool(sid),
            "notice": r.banner(lang, notice),
            "topic": r.pack_text(lang, pack.title),
            "untranslated": any(not t.translated for t in _shown_texts(pack)),
            "key_lessons": r.items(lang, pack.key_lessons),
            "role": [{"text": r.pack_text(lang, t)} for t in pack.facilitator_role],
            # The guide's "Pre-session checklist": "1-2 weeks ahead", "1-3 days ahead",
            # "Dialogue Day", each with its tasks.
            "steps": [
                {"when": r.pack_text(lang, step.when), "tasks": r.items(lang, step.tasks, "☐")}
                for step in pack.preparation
            ],
            # "Review the following resources": the same list as Appendix D's pre-reading.
            "resources": r.items(lang, pack.pre_reading, "–"),
            # "In your example, address the following questions" (Opening Activity).
            "story": r.items(lang, pack.opening_questions, "?"),
            "choose_heading": self._renderer.text(lang, "prepare.choose", minimum=minimum),
            "choices": r.items(lang, pack.scenario_choice),
            "scenarios": [
                {
                    "text": self._renderer.text(
                        lang,
                        "prepare.scenario",
                        number=s.number,
                        title=plain(s.title.value),
                        format=self._renderer.text(lang, f"format.{s.format}"),
                        low=s.suggested_minutes[0],
                        high=s.suggested_minutes[1],
                    )
                }
                for s in pack.scenarios
            ],
            "tips": r.tips(lang, pack),
            "office": r.ethics_office(lang, pack),
        }
        return self._renderer.render("prepare", data, lang)


def _shown_texts(pack: ContentPack) -> list[Text]:
    """The pack texts the preparation card shows (to say if any is untranslated)."""
    office = pack.ethics_office
    texts = [pack.title, *pack.key_lessons, *pack.facilitator_role, *pack.pre_reading]
    texts += [*pack.opening_questions, *pack.scenario_choice, office.helpline, *office.resources]
    texts += [s.title for s in pack.scenarios]
    texts += [t for step in pack.preparation for t in (step.when, *step.tasks)]
    texts += [t for tip in pack.tips for t in (tip.title, *tip.items)]
    return texts
