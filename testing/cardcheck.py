"""Validate Adaptive Cards (schema 1.5, as Teams renders them) against two independent checks.

The JSON Schema catches structural mistakes (missing required properties, unknown properties,
wrong types); the adaptivecards JS library catches what the schema cannot express (duplicate
input ids, unknown types with a clear message) and what its lax enum patterns let through.

Teams charts (`Chart.*`) are in neither: each chart is validated against our own schema of the
chart elements (chart-schema.json, from Microsoft's chart documentation), must carry an element
as `fallback` with the same numbers as the chart, and the card is checked by the 1.5 schema as
a client without charts shows it (every chart replaced by its fallback). The JS renderer gets
the card as sent and must render each chart's fallback in its place.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError

SCHEMA_PACKAGE = "adaptive_cards"
SCHEMA_PATH = ("schemas", "schema-1.5.json")
NODE_SCRIPT = Path(__file__).with_name("cardcheck.js")
CHART_SCHEMA = Path(__file__).with_name("chart-schema.json")
CHART_PREFIX = "Chart."
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Teams rejects bot messages above roughly 40 KB, and the card is most of the message.
MAX_CARD_BYTES = 40_000
NODE_TIMEOUT_SECONDS = 120
MAX_MESSAGE_CHARS = 240


class CardChecker:
    """Checks batches of Adaptive Cards against the 1.5 JSON Schema and the JS renderer."""

    def __init__(self, node_modules: Path) -> None:
        """Load the 1.5 schema and locate node; node_modules must contain `adaptivecards`."""
        self._node_modules = Path(node_modules).resolve()
        if not (self._node_modules / "adaptivecards" / "dist" / "adaptivecards.js").is_file():
            raise FileNotFoundError(f"adaptivecards is not installed in {self._node_modules}")
        node = shutil.which("node")
        if node is None:
            raise FileNotFoundError("node is not on PATH")
        self._node = node
        schema_file = files(SCHEMA_PACKAGE).joinpath(*SCHEMA_PATH)
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
        self._adapt_schema_to_teams(schema)
        Draft6Validator.check_schema(schema)
        self._validator = Draft6Validator(schema)
        # jsonschema takes ~150 ms a card against this schema, fastjsonschema's compiled check
        # ~10 ms: the run's thousands of cards are passed by the fast one, and jsonschema only
        # explains the few that fail (its messages say which element and property).
        self._passes = fastjsonschema.compile(copy.deepcopy(schema))  # it rewrites $refs
        self._charts = self._chart_validators()

    @staticmethod
    def _chart_validators() -> dict[str, Draft6Validator]:
        """One validator per chart type, its shared property groups merged in, nothing else."""
        schema = json.loads(CHART_SCHEMA.read_text(encoding="utf-8"))
        definitions = schema["definitions"]
        validators: dict[str, Draft6Validator] = {}
        for name, definition in definitions.items():
            if not name.startswith(CHART_PREFIX):
                continue
            properties: dict[str, Any] = {}
            required: list[str] = []
            for group in definition.get("extends", []):
                properties.update(definitions[group].get("properties", {}))
                required += definitions[group].get("required", [])
            properties.update(definition["properties"])
            required += definition.get("required", [])
            merged = {
                "type": "object",
                "properties": properties,
                "required": sorted(set(required)),
                "additionalProperties": False,
                "definitions": definitions,
            }
            Draft6Validator.check_schema(merged)
            for chart_type in definition["properties"]["type"]["enum"]:
                validators[chart_type] = Draft6Validator(merged)
        return validators

    @staticmethod
    def _adapt_schema_to_teams(schema: dict) -> None:
        definitions = schema["definitions"]
        # schema-1.5.json omits Input.ChoiceSet style "filtered", which Adaptive Cards 1.5
        # introduced (the JS library accepts it from 1.5 on); without it valid cards would fail.
        for branch in definitions["ChoiceInputStyle"]["anyOf"]:
            if "enum" in branch and "filtered" not in branch["enum"]:
                branch["enum"].append("filtered")
        # Teams reads a top-level "msteams" object (full width, @mention entities) that the
        # generic schema forbids through additionalProperties: false.
        definitions["AdaptiveCard"]["properties"].setdefault("msteams", {"type": "object"})

    def check(self, cards: Sequence[tuple[str, dict]]) -> list[str]:
        """Return readable problems, each prefixed with its card's label; empty means all good."""
        labels = [label for label, _ in cards]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            # Problems are attributed by label, so a repeated label would make them ambiguous.
            raise ValueError(f"card labels must be unique, repeated: {duplicates}")
        renderer = self._renderer_problems(cards) if cards else {}
        problems: list[str] = []
        for label, card in cards:
            problems.extend(f"{label}: {message}" for message in self._envelope_problems(card))
            problems.extend(f"{label}: chart: {text}" for text in self._chart_problems(card))
            # The 1.5 schema judges the card as a client without charts renders it.
            shown = without_charts(card)
            problems.extend(f"{label}: schema: {text}" for text in self._schema_problems(shown))
            problems.extend(f"{label}: renderer: {text}" for text in renderer.get(label, []))
        return problems

    @staticmethod
    def _envelope_problems(card: dict) -> list[str]:
        problems: list[str] = []
        # Neither layer catches a missing top-level version: the schema makes it optional and
        # the JS library silently defaults it to 1.0, but clients need it to pick a renderer.
        if not isinstance(card.get("version"), str):
            problems.append("top-level card has no 'version' string")
        # Measured as Python's default json.dumps output because that is how botbuilder puts
        # the attachment on the wire (non-ASCII escaped), so this is the size Teams receives.
        size = len(json.dumps(card).encode("utf-8"))
        if size >= MAX_CARD_BYTES:
            problems.append(f"card JSON is {size:,} bytes, Teams limit is under {MAX_CARD_BYTES:,}")
        return problems

    def _chart_problems(self, card: dict) -> list[str]:
        problems: list[str] = []
        for path, chart in charts_in(card):
            validator = self._charts.get(chart["type"])
            if validator is None:
                problems.append(f"{path}: chart type {chart['type']!r} is not in chart-schema.json")
                continue
            if not isinstance(chart.get("fallback"), dict):
                problems.append(
                    f"{path}: {chart['type']} has no element as fallback "
                    "(clients without charts would show nothing)"
                )
            for error in validator.iter_errors(chart):
                if list(error.absolute_path) == [] and "'fallback'" in error.message:
                    continue  # reported above, in words
                where = path + self._json_path(error)[1:]
                problems.append(f"{where}: {self._shorten(error.message)}")
            fallback = chart.get("fallback")
            if isinstance(fallback, dict):
                wanted = chart_values(chart)
                shown = fallback_numbers(fallback)
                if not _in_order(wanted, shown):
                    problems.append(
                        f"{path}: the fallback does not show the chart's numbers {wanted} "
                        f"(it shows {shown})"
                    )
        return problems

    def _schema_problems(self, card: dict) -> list[str]:
        try:
            self._passes(card)
        except fastjsonschema.JsonSchemaException:
            pass
        else:
            return []
        messages: list[str] = []
        for error in self._validator.iter_errors(card):
            for message in self._explain(error):
                if message not in messages:
                    messages.append(message)
        return messages

    def _explain(self, error: ValidationError) -> Iterator[str]:
        # The schema wraps every element/action in an anyOf over all known types, so the raw
        # error is "<whole object> is not valid under any of the given schemas". Descend into
        # the branch whose "type" matched to report the actual leaf problem instead.
        if error.validator not in ("anyOf", "oneOf") or not error.context:
            yield f"{self._json_path(error)}: {self._shorten(error.message)}"
            return
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        matching = [
            errors
            for errors in branches.values()
            if not any(self._rules_out_branch(sub, error) for sub in errors)
        ]
        if matching:
            # Several branches can survive for value-level anyOfs (an enum plus a
            # case-insensitive pattern); the schema lists the enum first, which reads best.
            for sub in matching[0]:
                yield from self._explain(sub)
            return
        where, instance = self._json_path(error), error.instance
        if isinstance(instance, dict) and "type" not in instance:
            yield f"{where}: object has no 'type'"
        elif isinstance(instance, dict):
            yield f"{where}: type {instance['type']!r} is unknown or not allowed here"
        else:
            yield f"{where}: {self._shorten(repr(instance))} has the wrong type"

    @staticmethod
    def _rules_out_branch(sub: ValidationError, parent: ValidationError) -> bool:
        # A branch was never the intended one when it fails on the discriminator itself: the
        # object's "type" value, a missing "type", or the JSON type of the value.
        parent_path = list(parent.absolute_path)
        sub_path = list(sub.absolute_path)
        if sub.validator == "enum" and sub_path == [*parent_path, "type"]:
            return True
        if sub.validator == "required" and sub_path == parent_path:
            return "'type'" in sub.message
        return sub.validator == "type" and sub_path == parent_path

    @staticmethod
    def _json_path(error: ValidationError) -> str:
        path = "$"
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        return path

    @staticmethod
    def _shorten(text: str) -> str:
        if len(text) <= MAX_MESSAGE_CHARS:
            return text
        return text[: MAX_MESSAGE_CHARS - 3] + "..."

    def _renderer_problems(self, cards: Sequence[tuple[str, dict]]) -> dict[str, list[str]]:
        # One node process for the whole batch: starting node per card would dominate test time.
        payload = json.dumps([{"label": label, "card": card} for label, card in cards])
        result = subprocess.run(
            [self._node, str(NODE_SCRIPT), str(self._node_modules)],
            input=payload,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            # A crash of the checker itself is not a card problem; fail loudly instead.
            raise RuntimeError(f"cardcheck.js failed ({result.returncode}): {result.stderr}")
        grouped: dict[str, list[str]] = {}
        for problem in json.loads(result.stdout):
            grouped.setdefault(problem["label"], []).append(problem["message"])
        return grouped


def charts_in(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every chart element of a card with its JSON path (charts inside a fallback included)."""
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str) and kind.startswith(CHART_PREFIX):
            yield path, node
        for key, value in node.items():
            yield from charts_in(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from charts_in(item, f"{path}[{index}]")


def without_charts(card: dict[str, Any]) -> dict[str, Any]:
    """The card as a client without charts renders it: each chart replaced by its fallback."""

    def replace(node: Any) -> Any:
        if isinstance(node, list):
            out = []
            for item in node:
                if isinstance(item, dict) and str(item.get("type", "")).startswith(CHART_PREFIX):
                    fallback = item.get("fallback")
                    if isinstance(fallback, dict):
                        out.append(replace(fallback))
                    continue  # without an element to fall back to, the client drops it
                out.append(replace(item))
            return out
        if isinstance(node, dict):
            return {key: replace(value) for key, value in node.items()}
        return node

    result: dict[str, Any] = replace(copy.deepcopy(card))
    return result


def chart_values(chart: dict[str, Any]) -> list[float]:
    """The numbers a chart draws, in order: bar heights, slice values, or the gauge's value."""
    if chart.get("type") == "Chart.Gauge":
        return [chart.get("value", 0)]
    values: list[float] = []
    for point in chart.get("data", []):
        if not isinstance(point, dict):
            continue
        if "y" in point:
            values.append(point["y"])
        elif "value" in point:
            values.append(point["value"])
        # Series: a line's or grouped bar's values, a stacked bar's segments.
        for inner in [*point.get("values", []), *point.get("data", [])]:
            if isinstance(inner, dict) and "y" in inner:
                values.append(inner["y"])
            elif isinstance(inner, dict) and "value" in inner:
                values.append(inner["value"])
    return values


def fallback_numbers(element: Any) -> list[float]:
    """Every number written in the texts of an element, in reading order."""
    numbers: list[float] = []
    if isinstance(element, dict):
        text = element.get("text")
        if element.get("type") == "TextBlock" and isinstance(text, str):
            numbers += [float(n.replace(",", ".")) for n in _NUMBER.findall(text)]
        for value in element.values():
            if isinstance(value, (dict, list)):
                numbers += fallback_numbers(value)
    elif isinstance(element, list):
        for item in element:
            numbers += fallback_numbers(item)
    return numbers


def _in_order(wanted: list[float], shown: list[float]) -> bool:
    """Whether every wanted number appears in `shown`, in the same order."""
    remaining = iter(shown)
    return all(any(float(number) == seen for seen in remaining) for number in wanted)


class CardLog:
    """Every card the bot showed during the run, validated once at the end."""

    def __init__(self) -> None:
        self._cards: dict[str, tuple[str, dict[str, Any]]] = {}

    def add(self, label: str, card: dict[str, Any]) -> None:
        """Remember a card (identical cards are checked once)."""
        key = json.dumps(card, sort_keys=True)
        self._cards.setdefault(key, (f"{label}#{len(self._cards)}", card))

    def cards(self) -> list[tuple[str, dict[str, Any]]]:
        """The distinct cards seen."""
        return list(self._cards.values())
