"""Teams chart elements (Chart.VerticalBar, Chart.HorizontalBar, Chart.Gauge), each carrying the
ColumnSet bars clients without charts (mobile, older hosts) render instead, as its `fallback`.

Charts are not in the Adaptive Cards 1.5 schema: Teams desktop and web draw them, other clients
take the element's fallback. The fallback is built here from the same points, so both show the
same numbers. Colours are Teams' chart colour names, which each theme (light, dark, high
contrast) maps to its own palette; never hex values, which would not adapt.

Chart texts (titles, legends, axis labels) are plain text, not Markdown: they are passed as
typed. The fallback's TextBlocks are escaped by the templating like any bound element.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# One colour for a single series; the gauge's filled and remaining parts.
SERIES_COLOR = "categoricalBlue"
GAUGE_FILLED = "good"
GAUGE_REST = "neutral"


@dataclass(frozen=True)
class Point:
    """One bar: its short label on the chart, its value, and the line above it in the fallback."""

    label: str
    value: int
    text: str = ""  # the fallback's label line; the chart label when empty


def bars(points: Sequence[Point]) -> dict[str, Any]:
    """The ColumnSet bars (scaled to the largest value), one labelled row per point."""
    top = max((p.value for p in points), default=0)
    rows = []
    for point in points:
        filled = round(100 * point.value / top) if top else 0
        count = {"type": "TextBlock", "text": str(point.value), "size": "Small"}
        columns = []
        if filled:
            columns.append(
                {
                    "type": "Column",
                    "width": filled,
                    "style": "accent",
                    "items": [{**count, "weight": "Bolder"}],
                }
            )
        if filled < 100:
            # A zero shows its count in the empty part, so every row carries its number.
            items = [count] if not filled else []
            columns.append(
                {"type": "Column", "width": 100 - filled, "style": "emphasis", "items": items}
            )
        rows.append(
            {
                "type": "Container",
                "spacing": "Small",
                "items": [
                    {
                        "type": "TextBlock",
                        "text": point.text or point.label,
                        "wrap": True,
                        "size": "Small",
                    },
                    {"type": "ColumnSet", "spacing": "None", "columns": columns},
                ],
            }
        )
    return {"type": "Container", "items": rows}


def vertical_bar(
    points: Sequence[Point],
    *,
    title: str,
    x_title: str = "",
    y_title: str = "",
    show_title: bool = False,
) -> dict[str, Any]:
    """A vertical bar chart of the points, with its bars as fallback.

    Teams hides a chart's title unless asked (it is still read out by screen readers): show it
    where no text above the chart says what it is.
    """
    chart: dict[str, Any] = {
        "type": "Chart.VerticalBar",
        "title": title,
        "showTitle": show_title,
        "color": SERIES_COLOR,
        "showBarValues": True,
        "data": [{"x": p.label, "y": p.value} for p in points],
        "fallback": bars(points),
    }
    if x_title:
        chart["xAxisTitle"] = x_title
    if y_title:
        chart["yAxisTitle"] = y_title
    return chart


def horizontal_bar(points: Sequence[Point], *, title: str) -> dict[str, Any]:
    """A horizontal bar chart of the points, with its bars as fallback."""
    return {
        "type": "Chart.HorizontalBar",
        "title": title,
        "color": SERIES_COLOR,
        "data": [{"x": p.label, "y": p.value} for p in points],
        "fallback": bars(points),
    }


def gauge(
    percent: int, *, title: str, sub_label: str, filled: str, rest: str, fallback_text: str
) -> dict[str, Any]:
    """A 0–100 gauge at `percent`, its two segments named; the fallback is the text and a bar."""
    percent = max(0, min(100, percent))
    blank = {"type": "TextBlock", "text": " ", "size": "Small"}
    columns = [
        {"type": "Column", "width": width, "style": style, "items": [blank]}
        for width, style in ((percent, "good"), (100 - percent, "emphasis"))
        if width
    ]
    return {
        "type": "Chart.Gauge",
        "title": title,
        "showTitle": True,
        "subLabel": sub_label,
        "min": 0,
        "max": 100,
        "value": percent,
        "valueFormat": "Percentage",
        "segments": [
            segment
            for segment in (
                {"legend": filled, "size": percent, "color": GAUGE_FILLED},
                {"legend": rest, "size": 100 - percent, "color": GAUGE_REST},
            )
            if segment["size"]
        ],
        "fallback": {
            "type": "Container",
            "items": [
                {"type": "TextBlock", "text": fallback_text, "wrap": True},
                {"type": "ColumnSet", "spacing": "Small", "columns": columns},
            ],
        },
    }


# Ratings 1 (low) to 5 (high) on a diverging scale: red through grey to blue, so the colour
# reads as bad-to-good without relying on red against green.
RATING_COLORS = (
    "divergingRed",
    "divergingPeach",
    "divergingGray",
    "divergingLightBlue",
    "divergingBlue",
)


def stacked_ratings(
    series: Sequence[tuple[str, Sequence[Point]]], *, title: str, fallback: dict[str, Any]
) -> dict[str, Any]:
    """One stacked bar per series (a form item), a segment per rating; `fallback` as given."""
    return {
        "type": "Chart.HorizontalBar.Stacked",
        "title": title,
        "showTitle": True,
        "data": [
            {
                "title": name,
                "data": [
                    {
                        "legend": point.label,
                        "value": point.value,
                        "color": RATING_COLORS[index % len(RATING_COLORS)],
                    }
                    for index, point in enumerate(points)
                ],
            }
            for name, points in series
        ],
        "fallback": fallback,
    }
