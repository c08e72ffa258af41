"""Cards after the session: Appendix C and F forms, results, the leader's list, the queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.teams.replies import Notice, Replies, plain, plain_masked
from cards import charts
from cards.catalog import Catalogs
from cards.charts import Point
from cards.content import ContentPack
from cards.renderer import Card, CardRenderer
from dialogs.assessment import Results
from dialogs.feedback import Prefill, leader_items
from storage.records import FeedbackVersion, QueuedQuestion, SessionRecord

# Room for Appendix F comments in the results card, as sent (non-ASCII escaped): Teams refuses
# messages above about 40 KB, and each rating item's chart with its fallback bars takes about
# 2.3 KB (five items: 11.5 KB; with 20 KB of comments the card came within 600 bytes of 40 KB).
_COMMENT_BYTES = 16_000


def _wire_bytes(text: str) -> int:
    """The text's size in the JSON botbuilder sends (non-ASCII escaped, as Teams receives it)."""
    return len(json.dumps(text)) - 2


def _shortened(text: str, budget: int | None) -> str:
    """The text cut to `budget` bytes as sent, with an ellipsis; whole characters only."""
    if budget is None or _wire_bytes(text) <= budget:
        return text
    kept, used = [], 0
    for char in text:
        cost = _wire_bytes(char)
        if used + cost > budget - 3:
            break
        kept.append(char)
        used += cost
    return "".join(kept) + "…"


class AfterViews:
    """Builds the cards of the post-session journeys in a language."""

    def __init__(self, renderer: CardRenderer, replies: Replies, min_answers: int) -> None:
        self._renderer = renderer
        self._replies = replies
        self._min_answers = min_answers

    @property
    def _catalogs(self) -> Catalogs:
        return self._renderer.catalogs

    def _text(self, lang: str, key: str, **fields: Any) -> str:
        return self._renderer.text(lang, key, **fields)

    def _keys(self, session: SessionRecord) -> dict[str, Any]:
        return {"sid": session.session_id, "cycle": session.cycle, "entity": session.entity}

    def _rating_choices(self, lang: str) -> list[dict[str, str]]:
        labels = {
            1: self._text(lang, "feedback.rating_low"),
            5: self._text(lang, "feedback.rating_high"),
        }
        return [{"title": labels.get(n, str(n)), "value": str(n)} for n in range(1, 6)]

    def feedback_form(
        self,
        session: SessionRecord,
        pack: ContentPack,
        lang: str,
        prefill: Prefill,
        latest: FeedbackVersion | None,
        *,
        has_questions: bool,
        entered: dict[str, Any] | None = None,
        notice: Notice | None = None,
    ) -> Card:
        """Appendix C with the bot's prefill, the last version, or what the leader just typed."""
        values: dict[str, Any] = dict(prefill.values)
        if prefill.facilitator:
            for item_id in leader_items(pack.leader_feedback_form):
                values[item_id] = self._text(
                    lang,
                    "feedback.leader_and_facilitator",
                    leader=values.get(item_id, ""),
                    facilitator=prefill.facilitator,
                )
        if latest is not None:
            values.update(latest.answers)
        if entered:
            # What the leader typed comes back after a refusal, cut to what the form accepts.
            values.update(
                {
                    k: v[:2000] if isinstance(v, str) else None
                    for k, v in entered.items()
                    if k in {item.id for item in pack.leader_feedback_form}
                }
            )
        items = []
        for number, item in enumerate(pack.leader_feedback_form, start=1):
            value = values.get(item.id)
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            kind = item.kind
            if kind == "rating" and value is not None:
                value = str(value)
            if kind == "number" and isinstance(value, str):
                value = int(value) if value.strip().isdecimal() and len(value) <= 6 else None
            if kind == "rating" and value not in {"1", "2", "3", "4", "5"}:
                value = None
            items.append(
                {
                    "id": item.id,
                    "label": f"{number}. {plain(item.text.value)}",
                    "value": value if value not in ("", None) else None,
                    "is_rating": kind == "rating",
                    "is_date": kind == "date",
                    "is_number": kind == "number",
                    "is_scenarios": kind == "scenarios",
                    "is_text": kind in ("text", "line"),
                    "multiline": kind == "text",
                }
            )
        data = {
            **self._keys(session),
            "notice": self._replies.banner(lang, notice),
            "version_note": (
                self._text(
                    lang,
                    "feedback.version_note",
                    version=latest.version,
                    date=self._catalogs.date(lang, latest.submitted_at.date()),
                )
                if latest
                else ""
            ),
            "items": items,
            "rating_choices": self._rating_choices(lang),
            "scenario_choices": [
                {
                    "title": self._text(
                        lang, "agenda.scenario_choice", number=s.number, title=s.title.value
                    ),
                    "value": str(s.number),
                }
                for s in pack.scenarios
            ],
            "has_questions": has_questions,
            # Once stored, the 15 answers fold away under the confirmation (the card ran to
            # 2,200 px with the confirmation at its top and the button at its bottom).
            "folded": latest is not None and not entered,
            "submit_label": self._text(lang, "feedback.amend" if latest else "feedback.submit"),
        }
        return self._renderer.render("feedback_form", data, lang)

    def _facts(self, session: SessionRecord, lang: str) -> dict[str, Any]:
        return {
            "leader": plain(session.leader.name),
            "date": self._catalogs.date(lang, session.session_date),
            "unit": plain(session.unit),
            "minimum": self._min_answers,
        }

    def assessment_form(
        self,
        session: SessionRecord,
        pack: ContentPack,
        lang: str,
        *,
        open_: bool,
        notice: Notice | None = None,
    ) -> Card:
        """Appendix F; after submitting, the same card without the inputs."""
        items = [
            {
                "id": item.id,
                "label": f"{index}. {plain(item.text.value)}",
                "is_rating": item.kind == "rating",
                "is_text": item.kind != "rating",
            }
            for index, item in enumerate(pack.participant_assessment_form, start=1)
        ]
        data = {
            **self._keys(session),
            "facts": self._facts(session, lang),
            "notice": self._replies.banner(lang, notice),
            "open": open_,
            "items": items,
            "rating_choices": self._rating_choices(lang),
        }
        return self._renderer.render("assessment_form", data, lang)

    def results(
        self, session: SessionRecord, pack: ContentPack, lang: str, results: Results
    ) -> Card:
        """The facilitator's Appendix F: minimum reached or not while open, then fixed results."""
        labels = {
            item.id: f"{index}. {plain(item.text.value)}"
            for index, item in enumerate(pack.participant_assessment_form, start=1)
        }
        # Chart titles are plain text (no Markdown), so they are given as written.
        titles = {
            item.id: f"{index}. {item.text.value}"
            for index, item in enumerate(pack.participant_assessment_form, start=1)
        }
        items = [
            {
                "label": labels.get(r.id, r.id),
                "mean_text": self._text(
                    lang, "results.mean", mean=self._catalogs.number(lang, round(r.mean, 1))
                ),
                "chart": self._distribution(lang, titles.get(r.id, r.id), r.counts),
            }
            for r in results.items
        ]
        shown = {item: texts for item, texts in results.comments.items() if texts}
        # Every comment is shown; when all of them would not fit in one Teams message, each is
        # shortened alike, so every voice is still heard.
        count = sum(len(texts) for texts in shown.values())
        total = sum(_wire_bytes(plain(c)) for texts in shown.values() for c in texts)
        each = _COMMENT_BYTES // count if total > _COMMENT_BYTES else None
        groups = [
            {
                "label": labels.get(item, item),
                "comments": [{"text": f"“{_shortened(plain(c), each)}”"} for c in texts],
            }
            for item, texts in shown.items()
        ]
        closes = self._catalogs.date(lang, results.closes_at.date())
        state = {"minimum": results.minimum, "date": closes}
        if not results.closed:
            # While open: only which side of the minimum, never a count, never a result.
            key = "results.open_reached" if results.reached else "results.open_below"
            status, note = (
                self._text(lang, key, **state),
                self._text(lang, "results.open_note", **state),
            )
        elif results.released:
            status = self._text(lang, "results.answers", count=results.answers)
            note = self._text(lang, "results.closed_note", **state)
        else:
            status, note = self._text(lang, "results.too_few", **state), ""
        data = {
            "subtitle": self._text(
                lang,
                "mine.heading",
                date=self._catalogs.date(lang, session.session_date),
                unit=plain(session.unit),
                entity=session.entity,
            ),
            "status": status,
            "note": note,
            "shortened": bool(results.released and each is not None),
            "items": items if results.released else [],
            "comment_groups": groups if results.released else [],
        }
        return self._renderer.render("assessment_results", data, lang)

    def _distribution(self, lang: str, title: str, counts: Sequence[int]) -> dict[str, Any]:
        """How many gave each rating, as a bar chart (bars where charts are not drawn)."""
        points = [
            Point(
                label=str(n),
                value=count,
                text=self._text(lang, "results.rating", rating=n),
            )
            for n, count in enumerate(counts, start=1)
        ]
        return charts.vertical_bar(
            points,
            title=title,
            x_title=self._text(lang, "results.chart_x"),
            y_title=self._text(lang, "results.chart_y"),
        )

    def my_sessions(
        self,
        sessions: list[tuple[SessionRecord, FeedbackVersion | None]],
        lang: str,
        entity_names: dict[str, str],
    ) -> Card:
        """The leader's own sessions with their Appendix C state."""
        rows = []
        for session, latest in sessions[:20]:
            rows.append(
                {
                    **self._keys(session),
                    "heading": self._text(
                        lang,
                        "mine.heading",
                        date=self._catalogs.date(lang, session.session_date),
                        unit=plain(session.unit),
                        entity=plain(entity_names.get(session.entity, session.entity)),
                    ),
                    "status": self._text(lang, "mine.feedback_done", version=latest.version)
                    if latest
                    else self._text(lang, "mine.feedback_missing"),
                    "feedback_label": self._text(lang, "mine.feedback"),
                }
            )
        return self._renderer.render("my_sessions", {"empty": not rows, "sessions": rows}, lang)

    def queue(
        self,
        items: list[QueuedQuestion],
        lang: str,
        entity_names: dict[str, str],
        notice: Notice | None = None,
    ) -> Card:
        """The Ethics Office's queue; no participant name is ever part of it."""
        rows = []
        for n, item in enumerate(items[:30]):
            rows.append(
                {
                    "key": item.key,
                    "cycle": item.cycle,
                    "input_id": f"reply_{n}",
                    "text": f"? {plain_masked(item.text, self._text(lang, 'mask.name'))}",
                    "context": self._text(
                        lang,
                        "queue.context",
                        entity=plain(entity_names.get(item.entity, item.entity)),
                        date=item.session_date,
                        leader=plain(item.leader_name),
                    ),
                    "reply": self._text(lang, "queue.answered", reply=plain(item.reply))
                    if item.reply
                    else "",
                    "open": item.status == "open",
                }
            )
        data = {
            "summary": {
                "open": sum(1 for i in items if i.status == "open"),
                "total": len(items),
            },
            "notice": self._replies.banner(lang, notice),
            "items": rows,
        }
        return self._renderer.render("queue", data, lang)

    def reply(self, item: QueuedQuestion, lang: str, notice: Notice | None = None) -> Card:
        """The Ethics Office's answer, in the leader's personal chat; they may share it."""
        data = {
            "facts": {"date": self._catalogs.date(lang, date.fromisoformat(item.session_date))},
            "question": plain_masked(item.text, self._text(lang, "mask.name")),
            "answer": plain(item.reply),
            "notice": self._replies.banner(lang, notice),
            "share": {"cycle": item.cycle, "key": item.key} if item.shared_at is None else None,
            "shared": self._text(
                lang, "reply.shared", date=self._catalogs.date(lang, item.shared_at.date())
            )
            if item.shared_at is not None
            else "",
        }
        return self._renderer.render("question_reply", data, lang)

    def shared_answer(self, item: QueuedQuestion, lang: str) -> Card:
        """The question and the answer as the meeting chat sees them (names masked as queued)."""
        data = {
            "facts": {"date": self._catalogs.date(lang, date.fromisoformat(item.session_date))},
            "question": plain_masked(item.text, self._text(lang, "mask.name")),
            "answer": plain(item.reply),
        }
        return self._renderer.render("shared_answer", data, lang)

    def reminder(self, session: SessionRecord, lang: str) -> Card:
        """A personal reminder to assess the facilitator."""
        data = {**self._keys(session), "facts": self._facts(session, lang)}
        return self._renderer.render("reminder", data, lang)
