"""The content of a year's Dialogue (a "content pack"), as the rest of the bot reads it.

A pack is data, not code: one YAML file per cycle and language under `cards/packs/<cycle>/`,
edited by Ethics Office staff. A new year's Dialogue is a new folder; no code changes.
French and Spanish packs may leave items out: the loader fills them from the English pack and
marks them `translated=False`, so a card can say plainly that the item is not yet translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Text:
    """A piece of pack text in the pack's language, or English when not yet translated."""

    value: str
    translated: bool = True


@dataclass(frozen=True)
class Point:
    """An important point for the leader, with the rule or document it comes from."""

    text: Text
    reference: Text | None = None


@dataclass(frozen=True)
class Question:
    """A discussion question: everyone sees it; follow-ups and points are the leader's."""

    text: Text
    follow_ups: tuple[Text, ...] = ()
    important_points: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Poll:
    """A quick anonymous opinion poll the pack suggests for a scenario."""

    id: str
    question: Text
    options: tuple[Text, ...]


@dataclass(frozen=True)
class ScriptLine:
    """One line of a scripted or filmed scenario."""

    speaker: Text
    line: Text


@dataclass(frozen=True)
class Scenario:
    """One of the year's scenarios, with what the leader needs to run its discussion."""

    id: str
    number: int
    title: Text
    format: str  # "written" | "script" | "video"
    suggested_minutes: tuple[int, int]  # e.g. (25, 30)
    introduction: Text
    text: tuple[Text, ...] = ()  # paragraphs of a written scenario, or the setting of a script
    script: tuple[ScriptLine, ...] = ()
    video_url: str = ""
    questions: tuple[Question, ...] = ()
    key_messages: tuple[Text, ...] = ()
    resources: tuple[Text, ...] = ()
    polls: tuple[Poll, ...] = ()


@dataclass(frozen=True)
class AgendaSection:
    """A section of the session plan: Introduction 10, Opening 10, Scenarios 65, Conclusion 5."""

    id: str  # "introduction" | "opening" | "scenarios" | "conclusion"
    title: Text
    minutes: int
    activities: Text
    prompts: tuple[Text, ...] = ()


@dataclass(frozen=True)
class FormItem:
    """One item of a form (Appendix C or F): what it asks, and how the bot treats the answer."""

    id: str
    text: Text
    # The input and its check: "rating" (1-5, required), "text" (several lines), "line" (one
    # line), "number" (a count), "date", "scenarios" (numbers of the pack's scenarios).
    kind: str
    # Appendix C only. What the bot fills the input with before the leader checks it (one of
    # cards.packs.PREFILLS: "date", "leader", "participants", ...); "" for nothing.
    prefill: str = ""
    # Its place in what the Ethics Office reads. Appendix F: "comment" on a text item the office
    # reads by entity (the suggestions for future Dialogues); its other text items are the
    # facilitator's alone. Appendix C: "guide", "topics" (a rating) or "comment" are still
    # checked by the loader, but no longer read: the Ethics Office reads every Appendix C item
    # (dialogs/ethics_reads.py). "" for none.
    summary: str = ""


@dataclass(frozen=True)
class Tip:
    """One of the guide's tips for the facilitator (difficult topics, venting, languages)."""

    id: str
    title: Text
    items: tuple[Text, ...]


@dataclass(frozen=True)
class PreparationStep:
    """One row of the guide's pre-session checklist ("1-2 weeks ahead", ...), with its tasks."""

    id: str
    when: Text
    tasks: tuple[Text, ...]


@dataclass(frozen=True)
class EthicsOffice:
    """How to reach the Ethics Office, and the resources it publishes for staff."""

    name: Text
    email: str
    phone: str
    website: str
    helpline: Text
    resources: tuple[Text, ...]


@dataclass(frozen=True)
class ContentPack:
    """One cycle's Dialogue in one language."""

    cycle: str
    language: str
    title: Text
    source: str
    minimum_scenarios: int
    agenda: tuple[AgendaSection, ...]
    ground_rules: tuple[Text, ...]
    general_questions: tuple[Text, ...]
    opening_questions: tuple[Text, ...]
    scenarios: tuple[Scenario, ...]
    conclusion_remarks: tuple[Text, ...]
    key_messages_recap: tuple[Text, ...]
    pre_reading: tuple[Text, ...]
    key_lessons: tuple[Text, ...]
    facilitator_role: tuple[Text, ...]
    tips: tuple[Tip, ...]
    preparation: tuple[PreparationStep, ...]
    scenario_choice: tuple[Text, ...]
    ethics_office: EthicsOffice
    leader_feedback_form: tuple[FormItem, ...] = ()
    participant_assessment_form: tuple[FormItem, ...] = ()
    untranslated: tuple[str, ...] = field(default=())  # dotted paths filled from English

    def scenario(self, scenario_id: str) -> Scenario | None:
        """The scenario with this id, or None."""
        return next((s for s in self.scenarios if s.id == scenario_id), None)
