"""Tests of the Adaptive Card checker itself: it must pass a rich 1.5 card and fail bad ones."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from cards import charts
from cards.charts import Point
from testing import cardcheck
from testing.cardcheck import CardChecker

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"


@pytest.fixture(scope="module")
def checker() -> CardChecker:
    """One checker per module; loading the schema is the only costly setup."""
    return CardChecker(NODE_MODULES)


def valid_card() -> dict:
    """A card exercising the 1.5 features the bot relies on; every check must accept it."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "refresh": {
            "action": {"type": "Action.Execute", "verb": "refreshRound", "data": {"round": 1}},
            "userIds": ["29:1a2b3c"],
        },
        "msteams": {"width": "Full"},
        "body": [
            {"type": "TextBlock", "text": "Round 1", "style": "heading", "size": "large"},
            {
                "type": "ColumnSet",
                "columns": [
                    {"type": "Column", "width": "auto", "items": [text_block("Left")]},
                    {"type": "Column", "width": "stretch", "items": [text_block("Right")]},
                ],
            },
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Facilitator", "value": "A. Person"},
                    {"title": "Date", "value": "2025-01-01"},
                ],
            },
            {
                "type": "Table",
                "firstRowAsHeader": True,
                "columns": [{"width": 1}, {"width": 2}],
                "rows": [table_row("Name", "Role"), table_row("Ana", "Lead")],
            },
            {
                "type": "Input.Text",
                "id": "reflection",
                "label": "Your reflection",
                "isRequired": True,
                "errorMessage": "Please write a reflection",
                "isMultiline": True,
                "maxLength": 500,
            },
            {
                "type": "Input.ChoiceSet",
                "id": "choice",
                "label": "Pick one",
                "style": "expanded",
                "choices": [{"title": "A", "value": "a"}, {"title": "B", "value": "b"}],
            },
            {
                "type": "Input.ChoiceSet",
                "id": "language",
                "label": "Language",
                "style": "filtered",
                "choices": [
                    {"title": "English", "value": "en"},
                    {"title": "Français", "value": "fr"},
                ],
            },
            {"type": "Input.Number", "id": "count", "label": "How many", "min": 1, "max": 10},
            {"type": "Input.Date", "id": "when", "label": "When", "min": "2025-01-01"},
        ],
        "actions": [
            {
                "type": "Action.Execute",
                "title": "Submit",
                "verb": "submitRound",
                "style": "positive",
                "data": {"round": 1},
            },
            {"type": "Action.Execute", "title": "Skip", "verb": "skip", "style": "destructive"},
        ],
    }


def text_block(text: str) -> dict:
    """A minimal TextBlock."""
    return {"type": "TextBlock", "text": text, "wrap": True}


def table_row(*texts: str) -> dict:
    """A TableRow with one TextBlock per cell."""
    cells = [{"type": "TableCell", "items": [text_block(text)]} for text in texts]
    return {"type": "TableRow", "cells": cells}


def with_body(*elements: dict) -> dict:
    """A valid 1.5 card whose body is replaced by the given elements."""
    card = valid_card()
    card["body"] = list(elements)
    return card


def only(problems: list[str], layer: str) -> list[str]:
    """The problems reported by one layer ("schema" or "renderer")."""
    return [problem for problem in problems if f": {layer}: " in problem]


def test_valid_1_5_card_has_no_problems(checker: CardChecker) -> None:
    assert checker.check([("valid", valid_card())]) == []


def test_unknown_element_type_is_reported_by_both_layers(checker: CardChecker) -> None:
    card = with_body(text_block("ok"), {"type": "Carousel", "pages": []})

    problems = checker.check([("unknown-type", card)])

    assert only(problems, "schema") == [
        "unknown-type: schema: $.body[1]: type 'Carousel' is unknown or not allowed here"
    ]
    renderer = only(problems, "renderer")
    assert len(renderer) == 1
    assert "UnknownElementType" in renderer[0] and '"Carousel"' in renderer[0]


def test_bad_enum_value_is_reported_by_both_layers(checker: CardChecker) -> None:
    card = with_body({"type": "TextBlock", "text": "Hi", "size": "gigantic"})

    problems = checker.check([("bad-size", card)])

    schema = only(problems, "schema")
    assert len(schema) == 1
    assert schema[0].startswith("bad-size: schema: $.body[0].size: 'gigantic' is not one of")
    renderer = only(problems, "renderer")
    assert len(renderer) == 1
    assert "InvalidPropertyValue" in renderer[0] and '"gigantic"' in renderer[0]


def test_enum_value_slipping_through_schema_pattern_is_caught_by_renderer(
    checker: CardChecker,
) -> None:
    # The schema's case-insensitive enum patterns are unanchored in the middle alternatives, so
    # any string containing "large" matches; only the renderer rejects it.
    card = with_body({"type": "TextBlock", "text": "Hi", "size": "verylarge"})

    problems = checker.check([("lax-pattern", card)])

    assert only(problems, "schema") == []
    assert len(problems) == 1
    assert problems[0].startswith("lax-pattern: renderer: parse InvalidPropertyValue")
    assert '"verylarge"' in problems[0]


def test_duplicate_input_ids_are_caught_by_renderer_only(checker: CardChecker) -> None:
    card = with_body(
        {"type": "Input.Text", "id": "answer", "label": "First"},
        {"type": "Input.Number", "id": "answer", "label": "Second"},
    )

    problems = checker.check([("dup-ids", card)])

    assert problems == [
        'dup-ids: renderer: validate DuplicateId: Duplicate Id "answer". [Input.Number#answer]'
    ]


def test_unknown_action_execute_property_is_caught_by_schema_only(checker: CardChecker) -> None:
    # Action.Execute requires nothing but "type" in the 1.5 schema, so the realistic mistake is
    # a misspelt property, which the renderer silently ignores.
    card = valid_card()
    card["actions"][0]["verbb"] = card["actions"][0].pop("verb")

    problems = checker.check([("exec-typo", card)])

    assert problems == [
        "exec-typo: schema: $.actions[0]: "
        "Additional properties are not allowed ('verbb' was unexpected)"
    ]


def test_refresh_with_wrong_action_type_is_reported(checker: CardChecker) -> None:
    card = valid_card()
    card["refresh"]["action"] = {"type": "Action.Submit", "title": "Refresh"}

    problems = checker.check([("bad-refresh", card)])

    assert (
        "bad-refresh: schema: $.refresh.action.type: 'Action.Submit' is not one of "
        "['Action.Execute']"
    ) in problems
    assert any("renderer: parse ActionTypeNotAllowed" in problem for problem in problems)


def test_choice_set_with_bad_style_is_reported_by_both_layers(checker: CardChecker) -> None:
    choice_set = {
        "type": "Input.ChoiceSet",
        "id": "pick",
        "label": "Pick",
        "style": "dropdown",
        "choices": [{"title": "A", "value": "a"}],
    }

    problems = checker.check([("bad-style", with_body(choice_set))])

    schema = only(problems, "schema")
    assert len(schema) == 1
    assert schema[0].startswith("bad-style: schema: $.body[0].style: 'dropdown' is not one of")
    renderer = only(problems, "renderer")
    assert len(renderer) == 1
    assert "InvalidPropertyValue" in renderer[0] and "[Input.ChoiceSet#pick]" in renderer[0]


def test_choice_and_input_missing_required_properties(checker: CardChecker) -> None:
    card = with_body(
        {"type": "Input.ChoiceSet", "label": "Pick", "choices": [{"title": "A"}]},
    )

    problems = checker.check([("missing", card)])

    assert "missing: schema: $.body[0]: 'id' is a required property" in problems
    assert "missing: schema: $.body[0].choices[0]: 'value' is a required property" in problems
    renderer = only(problems, "renderer")
    assert any("All inputs must have a unique Id" in problem for problem in renderer)
    assert any("must have their title and value" in problem for problem in renderer)


def test_required_input_without_label_or_error_message_is_reported(checker: CardChecker) -> None:
    card = with_body({"type": "Input.Text", "id": "name", "isRequired": True})

    problems = checker.check([("required", card)])

    assert problems == [
        "required: renderer: validate RequiredInputsShouldHaveLabel: "
        "Required inputs should have a label [Input.Text#name]",
        "required: renderer: validate RequiredInputsShouldHaveErrorMessage: "
        "Required inputs should have an error message [Input.Text#name]",
    ]


def test_renderer_targets_version_1_5(checker: CardChecker) -> None:
    newer = valid_card()
    newer["version"] = "1.6"
    label_position = with_body(
        {"type": "Input.Text", "id": "name", "label": "Name", "labelPosition": "inline"}
    )

    problems = checker.check([("v1.6", newer), ("v1.6-property", label_position)])

    assert len(problems) == 3
    assert problems[0].startswith("v1.6: renderer: validate UnsupportedCardVersion")
    assert "card version (1.6) is not supported" in problems[0]
    # labelPosition is 1.6-only: the schema forbids it and the renderer refuses it for 1.5.
    assert problems[1] == (
        "v1.6-property: schema: $.body[0]: "
        "Additional properties are not allowed ('labelPosition' was unexpected)"
    )
    assert problems[2].startswith("v1.6-property: renderer: parse UnsupportedProperty")


def test_missing_version_is_reported(checker: CardChecker) -> None:
    card = valid_card()
    del card["version"]

    assert checker.check([("no-version", card)]) == [
        "no-version: top-level card has no 'version' string"
    ]


def test_card_over_40_kb_is_reported(checker: CardChecker) -> None:
    card = with_body(*(text_block(f"Paragraph {i}: " + "x" * 500) for i in range(80)))

    problems = checker.check([("too-big", card)])

    assert len(problems) == 1
    assert problems[0].startswith("too-big: card JSON is ")
    assert "Teams limit is under 40,000" in problems[0]


def test_batch_uses_one_node_process_and_attributes_problems(
    checker: CardChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(cardcheck.subprocess, "run", counting_run)
    bad = with_body({"type": "TextBlock", "text": "Hi", "size": "gigantic"})
    cards = [("first-ok", valid_card()), ("second-bad", bad), ("third-ok", copy.deepcopy(bad))]
    cards[2][1]["body"][0]["size"] = "small"

    problems = checker.check(cards)

    assert len(calls) == 1
    assert problems and all(problem.startswith("second-bad: ") for problem in problems)


def test_repeated_labels_are_rejected(checker: CardChecker) -> None:
    with pytest.raises(ValueError, match="same"):
        checker.check([("same", valid_card()), ("same", valid_card())])


def chart_points() -> list[Point]:
    """Three bars, one of them zero."""
    return [Point("Yes", 3, "Yes: 3 (60%)"), Point("No", 2), Point("Not sure", 0)]


def every_chart_kind() -> list[tuple[str, dict]]:
    """One card per chart element the bot sends, built by the shared helper."""
    ratings = [Point(str(n), c) for n, c in enumerate((0, 1, 2, 3, 4), start=1)]
    texts = {"type": "TextBlock", "text": "1: 0 · 2: 1 · 3: 2 · 4: 3 · 5: 4"}
    return [
        ("vertical", with_body(charts.vertical_bar(chart_points(), title="T", x_title="x"))),
        ("horizontal", with_body(charts.horizontal_bar(chart_points(), title="T"))),
        (
            "gauge",
            with_body(
                charts.gauge(
                    22, title="T", sub_label="7 of 32", filled="a", rest="b", fallback_text="22%"
                )
            ),
        ),
        (
            "stacked",
            with_body(charts.stacked_ratings([("1. Item", ratings)], title="T", fallback=texts)),
        ),
        # Inside a container, as the templates place them.
        (
            "nested",
            with_body(
                {"type": "Container", "items": [charts.horizontal_bar(chart_points(), title="T")]}
            ),
        ),
    ]


def test_each_chart_kind_passes_and_renders_its_fallback(checker: CardChecker) -> None:
    assert checker.check(every_chart_kind()) == []


def test_a_chart_with_a_wrong_property_is_reported(checker: CardChecker) -> None:
    chart = charts.vertical_bar(chart_points(), title="T")
    chart["xAxisLabel"] = "misspelt"
    chart["color"] = "#ff0000"  # Teams chart colours are names, which each theme maps
    chart["data"][0]["value"] = chart["data"][0].pop("y")

    problems = checker.check([("wrong", with_body(chart))])

    assert (
        "wrong: chart: $.body[0]: "
        "Additional properties are not allowed ('xAxisLabel' was unexpected)" in problems
    )
    assert any(
        p.startswith("wrong: chart: $.body[0].color: '#ff0000' is not one of") for p in problems
    )
    assert "wrong: chart: $.body[0].data[0]: 'y' is a required property" in problems
    assert not [p for p in problems if ": renderer: " in p or ": schema: " in p]


def test_a_chart_without_a_fallback_is_reported_by_both_layers(checker: CardChecker) -> None:
    chart = charts.horizontal_bar(chart_points(), title="T")
    del chart["fallback"]

    problems = checker.check([("bare", with_body(text_block("ok"), chart))])

    assert (
        "bare: chart: $.body[1]: Chart.HorizontalBar has no element as fallback "
        "(clients without charts would show nothing)" in problems
    )
    renderer = only(problems, "renderer")
    assert any("has no fallback element" in p for p in renderer)
    # The library's own unknown-type warning is not swallowed for a chart without fallback.
    assert any("UnknownElementType" in p and "Chart.HorizontalBar" in p for p in renderer)


def test_a_fallback_that_is_not_valid_1_5_is_reported_by_the_schema(checker: CardChecker) -> None:
    chart = charts.horizontal_bar(chart_points(), title="T")
    chart["fallback"]["items"][0]["items"][0]["size"] = "gigantic"

    problems = checker.check([("bad-fallback", with_body(chart))])

    assert any(
        p.startswith("bad-fallback: schema: $.body[0].items[0].items[0].size: 'gigantic'")
        for p in problems
    )


def test_fallback_bars_must_carry_the_charts_numbers(checker: CardChecker) -> None:
    chart = charts.horizontal_bar(chart_points(), title="T")
    chart["data"][1]["y"] = 7  # the chart says 7 where the bars say 2

    problems = checker.check([("mismatch", with_body(chart))])

    assert problems == [
        "mismatch: chart: $.body[0]: the fallback does not show the chart's numbers [3, 7, 0] "
        "(it shows [3.0, 60.0, 3.0, 2.0, 0.0])"
    ]
