"""The Ethics Office's cards of Appendix C and F by entity: figures and masked text, cut to what
a Teams message holds, with the complete export a click away."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.teams.replies import plain, plain_masked
from cards import charts
from cards.charts import Point
from cards.renderer import Card, CardRenderer
from dialogs.ethics_reads import AppendixCReport, AppendixFReport, ItemFigures

# Teams refuses messages above about 40 KB: the entities' figures and quotes get roughly this
# much of the card (non-ASCII escaped), and the whole card as rendered at most CARD_LIMIT; what
# does not fit is in the export the card links to.
CARD_BYTES = 24_000
CARD_LIMIT = 32_000
QUOTES_PER_ITEM = 3
QUOTE_CHARS = 300


def _wire_bytes(value: Any) -> int:
    """The size of a value in the JSON botbuilder sends (non-ASCII escaped)."""
    return len(json.dumps(value))


def _cut(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


class EthicsViews:
    """Builds the Ethics Office's Appendix C and F cards in a language."""

    def __init__(self, renderer: CardRenderer) -> None:
        self._renderer = renderer

    def _text(self, lang: str, key: str, **fields: Any) -> str:
        return self._renderer.text(lang, key, **fields)

    def _number(self, lang: str, value: int | float) -> str:
        return self._renderer.catalogs.number(lang, value)

    def _fitted(self, template: str, data: dict[str, Any], total: int, lang: str) -> Card:
        """The card, with entities dropped from the end until it fits CARD_LIMIT as sent."""
        entities = list(data["entities"])
        while True:
            left = total - len(entities)
            more = self._text(lang, "ethics.more_entities", count=left) if left > 0 else ""
            card = self._renderer.render(
                template, {**data, "entities": entities, "more": more}, lang
            )
            if not entities or _wire_bytes(card) <= CARD_LIMIT:
                return card
            entities.pop()

    def _ratings(self, lang: str, figures: ItemFigures) -> str:
        average = figures.average
        if average is None:
            return self._text(lang, "ethics.no_answer")
        return self._text(
            lang,
            "ethics.ratings",
            average=self._number(lang, round(average, 1)),
            count=sum(figures.ratings),
            spread=" · ".join(f"{n}: {c}" for n, c in enumerate(figures.ratings, 1)),
        )

    def _quotes(self, lang: str, texts: tuple[str, ...]) -> list[dict[str, str]]:
        mask = self._text(lang, "mask.name")
        quotes = [{"text": f"“{plain_masked(_cut(t), mask)}”"} for t in texts[:QUOTES_PER_ITEM]]
        more = len(texts) - QUOTES_PER_ITEM
        if more > 0:
            quotes.append({"text": self._text(lang, "ethics.more_quotes", count=more)})
        return quotes

    def _c_line(self, lang: str, figures: ItemFigures) -> dict[str, Any]:
        label = f"{figures.number}. {plain(figures.item.text.value)}"
        kind = figures.item.kind
        quotes: list[dict[str, str]] = []
        if figures.withheld:
            value = self._text(lang, "ethics.withheld")
        elif kind == "rating":
            value = self._ratings(lang, figures)
        elif kind == "number":
            value = self._text(
                lang,
                "ethics.total",
                total=self._number(lang, figures.total),
                count=figures.answered,
            )
        elif kind == "scenarios":
            value = " · ".join(
                self._text(lang, "ethics.scenario", number=n, count=c) for n, c in figures.scenarios
            )
        elif kind == "date":
            value = (
                self._text(
                    lang,
                    "ethics.dates",
                    first=self._renderer.catalogs.date(lang, figures.first),
                    last=self._renderer.catalogs.date(lang, figures.last),
                )
                if figures.first and figures.last
                else self._text(lang, "ethics.no_answer")
            )
        else:
            value = self._text(lang, "ethics.texts", count=len(figures.texts))
            quotes = self._quotes(lang, figures.texts)
        return {"label": label, "value": value, "quotes": quotes}

    def appendix_c(
        self, report: AppendixCReport, lang: str, *, csv_url: str, xlsx_url: str
    ) -> Card:
        """Every Appendix C item by entity, as much as a card holds; the export has all."""
        entities, used = [], 0
        for entity in report.entities:
            block = {
                "heading": self._text(
                    lang, "ethics.c_entity", entity=plain(entity.entity.name), count=entity.forms
                ),
                "lines": [self._c_line(lang, figures) for figures in entity.items],
            }
            used += _wire_bytes(block)
            if used > CARD_BYTES:
                break
            entities.append(block)
        left = len(report.entities) - len(entities)
        data = {
            "title": self._text(lang, "feedbacksummary.title", cycle=str(report.cycle.year)),
            "privacy": self._text(lang, "ethics.c_privacy"),
            "empty": not report.entities,
            "entities": entities,
            "more": self._text(lang, "ethics.more_entities", count=left) if left > 0 else "",
            "csv_url": csv_url,
            "xlsx_url": xlsx_url,
        }
        return self._fitted("feedback_summary", data, len(report.entities), lang)

    def _ratings_chart(
        self, lang: str, figures: Sequence[ItemFigures], lines: list[dict[str, str]]
    ) -> dict[str, Any] | None:
        """The entity's rating items as stacked bars, a segment per rating; the text lines (their
        average and spread) where charts are not drawn. None when no item has an answer."""
        if not any(sum(f.ratings) for f in figures):
            return None
        series = [
            (
                f"{f.number}. {f.item.text.value}",  # chart texts are plain, not Markdown
                [
                    Point(label=self._text(lang, "results.rating", rating=n), value=count)
                    for n, count in enumerate(f.ratings, start=1)
                ],
            )
            for f in figures
            if sum(f.ratings)  # an item nobody rated has no bar; its line says so
        ]
        fallback = {
            "type": "Container",
            "items": [
                {
                    "type": "Container",
                    "spacing": "Small",
                    "items": [
                        {
                            "type": "TextBlock",
                            "text": line["label"],
                            "wrap": True,
                            "size": "Small",
                            "weight": "Bolder",
                        },
                        {
                            "type": "TextBlock",
                            "text": line["value"],
                            "wrap": True,
                            "size": "Small",
                            "spacing": "None",
                        },
                    ],
                }
                for line in lines
            ],
        }
        return charts.stacked_ratings(
            series, title=self._text(lang, "ethics.f_chart"), fallback=fallback
        )

    def appendix_f(
        self, report: AppendixFReport, lang: str, *, csv_url: str, xlsx_url: str
    ) -> Card:
        """Appendix F by entity from the minimum of released sessions; nothing below it."""
        entities, used = [], 0
        for entity in report.entities:
            if not entity.shown:
                block: dict[str, Any] = {
                    "heading": self._text(
                        lang,
                        "ethics.f_too_few",
                        entity=plain(entity.entity.name),
                        minimum=report.minimum,
                    ),
                    "chart": None,
                    "lines": [],
                }
            else:
                ratings = [
                    {
                        "label": f"{f.number}. {plain(f.item.text.value)}",
                        "value": self._ratings(lang, f),
                    }
                    for f in entity.ratings
                ]
                chart = self._ratings_chart(lang, entity.ratings, ratings)
                # Without a chart (no rating answered), the rating lines show as text.
                lines: list[dict[str, Any]] = (
                    [] if chart else [{**line, "quotes": []} for line in ratings]
                )
                lines += [
                    {
                        "label": f"{f.number}. {plain(f.item.text.value)}",
                        "value": self._text(lang, "ethics.texts", count=len(f.texts)),
                        "quotes": self._quotes(lang, f.texts),
                    }
                    for f in entity.suggestions
                ]
                block = {
                    "heading": self._text(
                        lang,
                        "ethics.f_entity",
                        entity=plain(entity.entity.name),
                        sessions=entity.sessions,
                        answers=entity.answers,
                    ),
                    "chart": chart,
                    "lines": lines,
                }
            used += _wire_bytes(block)
            if used > CARD_BYTES:
                break
            entities.append(block)
        left = len(report.entities) - len(entities)
        data = {
            "title": self._text(lang, "ethics.f_title", cycle=str(report.cycle.year)),
            "privacy": self._text(lang, "ethics.f_privacy", minimum=report.minimum),
            "empty": not report.entities,
            "entities": entities,
            "more": self._text(lang, "ethics.more_entities", count=left) if left > 0 else "",
            "csv_url": csv_url,
            "xlsx_url": xlsx_url,
        }
        return self._fitted("assessment_summary", data, len(report.entities), lang)
