"""Turns a template name, view data and a language into an Adaptive Card."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from cards.catalog import Catalogs
from cards.templating import expand

# A rendered Adaptive Card: plain JSON, ready to send.
Card = dict[str, Any]
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


class CardRenderer:
    """Holds every template and the catalogs, loaded once at start."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.catalogs = catalogs
        folder = resources.files("cards").joinpath("templates")
        self._templates: dict[str, Any] = {
            entry.name.removesuffix(".json"): json.loads(entry.read_text("utf-8"))
            for entry in folder.iterdir()
            if entry.name.endswith(".json")
        }

    def template_names(self) -> list[str]:
        """Names of every template."""
        return sorted(self._templates)

    def template(self, name: str) -> Any:
        """The raw template, for checks."""
        return self._templates[name]

    def render(self, name: str, data: Mapping[str, Any], lang: str) -> dict[str, Any]:
        """The card `name` with the data bound and strings in `lang`."""
        return expand(
            self._templates[name],
            data,
            lambda key, fields: self.catalogs.text(lang, key, fields),
        )

    def text(self, lang: str, key: str, **fields: Any) -> str:
        """A catalog string, for plain-text replies."""
        return self.catalogs.text(lang, key, fields)
