"""A small subset of the Adaptive Cards Templating language, plus catalog lookups.

Supported in a template (JSON):
- `"${path}"` as a whole string: the value at that dotted path (any JSON type).
- `"text ${path} text"`: the value interpolated as text.
- `"@{key}"`: the catalog string `key` in the card's language, formatted with the current scope
  (`{name}` fields); `"@{key|path}"` formats with the object at `path` instead.
- `"$data": "${path}"` on an object: repeat the object for each item of that list (scope = item).
- `"$when": "${path}"` (or `"${!path}"`): keep the object only when the value is truthy (falsy).
- A property whose whole-string binding gives None is left out.
Paths may start with `$root.` to reach the top-level data from inside a `$data` repetition.

Teams renders a subset of Markdown in TextBlock and fact texts, so every value bound into those
(whole, inline, as a catalog string's field, or inside card elements a view built) is escaped,
unless it is `Markdown`: text the bot trusts as written (the content pack, the catalogs). One
place, so a view that forgets cannot turn a typed name or reason into a link.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from typing import Any

_WHOLE = re.compile(r"^\$\{(!?)([$\w.]+)\}$")
_INLINE = re.compile(r"\$\{([$\w.]+)\}")
_CATALOG = re.compile(r"^@\{([\w.]+)(?:\|([$\w.]+))?\}$")

Translate = Callable[[str, Mapping[str, Any]], str]


class Markdown(str):
    """Text shown as written, Markdown and all: only for what the bot itself ships."""


# CommonMark lets a backslash escape any ASCII punctuation; a pair already escaped is kept, so
# escaping twice changes nothing (views may have escaped a value before binding it).
_ESCAPABLE = frozenset(string.punctuation)
# Emphasis, code, links and images ([), autolinks and HTML (<), strikethrough, and the escape
# itself; anywhere in the text. Hyphens, dots and apostrophes are common in names and harmless
# mid-line.
_ALWAYS = frozenset("\\`*_[]<>~")


# One pass finds only what needs escaping (the text between is copied by the regex engine, not
# looped over in Python): an escape pair kept as it is, an always-escaped character, "#" after
# nothing but spaces on its line, the ":" of "://" and the "." of "www.".
_RISKY = re.compile(
    r"\\[" + re.escape(string.punctuation) + r"]"
    r"|[" + re.escape("".join(sorted(_ALWAYS))) + r"]"
    r"|(?<=[wW][wW][wW])\."
    r"|:(?=//)"
    r"|(?:^|(?<=\n))[^\S\n]*#"
)


def _escape_match(match: re.Match[str]) -> str:
    found = match.group()
    if len(found) == 2 and found[0] == "\\" and found[1] in _ESCAPABLE:
        return found
    # "#" at a line's start comes with the spaces before it, which stay as they are.
    return found[:-1] + "\\" + found[-1]


def escape_markdown(text: str) -> str:
    """Text that renders as typed: no emphasis, link, heading or bare URL a renderer links."""
    if isinstance(text, Markdown):
        return text
    return _RISKY.sub(_escape_match, text)


class TemplateError(ValueError):
    """A template refers to something the data or the catalog does not have."""


class _Drop:
    """Marks an element removed by `$when`."""


_DROP = _Drop()


def expand(template: Any, data: Mapping[str, Any], translate: Translate) -> Any:
    """Bind the data and the catalog into a copy of the template."""
    return _expand(template, _Scope(data, data), translate)


class _Scope:
    def __init__(self, current: Any, root: Mapping[str, Any]) -> None:
        self.current = current
        self.root = root

    def lookup(self, path: str) -> Any:
        parts = path.split(".")
        value: Any = self.current
        if parts[0] == "$root":
            value, parts = self.root, parts[1:]
        for part in parts:
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                raise TemplateError(f"no value for ${{{path}}}")
        return value

    def fields(self) -> Mapping[str, Any]:
        return self.current if isinstance(self.current, Mapping) else {}


def _expand(node: Any, scope: _Scope, translate: Translate, markdown: bool = False) -> Any:
    """Expand a node; `markdown` when the strings made here are rendered as Markdown."""
    if isinstance(node, dict):
        return _expand_object(node, scope, translate)
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            value = (
                _expand_fact(item, scope, translate)
                if markdown and isinstance(item, dict)
                else _expand(item, scope, translate)
            )
            if isinstance(value, _Repeated):
                out.extend(value.items)
            elif value is not _DROP:
                out.append(value)
        return out
    if isinstance(node, str):
        return _expand_string(node, scope, translate, markdown)
    return node


class _Repeated:
    def __init__(self, items: list[Any]) -> None:
        self.items = items


def _markdown_keys(node: Mapping[str, Any], fact: bool) -> frozenset[str]:
    """The properties of this element that Teams renders as Markdown."""
    if fact:
        return frozenset(("title", "value"))
    kind = node.get("type")
    if kind == "TextBlock":
        return frozenset(("text",))
    if kind == "FactSet":
        return frozenset(("facts",))  # a list of facts: their title and value
    return frozenset()


def _expand_fact(node: dict[str, Any], scope: _Scope, translate: Translate) -> Any:
    return _expand_object(node, scope, translate, fact=True)


def _expand_object(
    node: dict[str, Any], scope: _Scope, translate: Translate, *, fact: bool = False
) -> Any:
    if "$data" in node:
        items = _binding(node["$data"], scope)
        rest = {k: v for k, v in node.items() if k != "$data"}
        if items is None:
            items = []  # nothing to repeat over: the element disappears
        if isinstance(items, list):
            expanded = [
                _expand_object(rest, _Scope(item, scope.root), translate, fact=fact)
                for item in items
            ]
            return _Repeated([e for e in expanded if e is not _DROP])
        return _expand_object(rest, _Scope(items, scope.root), translate, fact=fact)
    if "$when" in node and not _binding(node["$when"], scope):
        return _DROP
    markdown_keys = _markdown_keys(node, fact)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$when":
            continue
        expanded = _expand(value, scope, translate, key in markdown_keys)
        # A property bound to a missing value (None) is left out, as the templating SDK does.
        if expanded is _DROP or (expanded is None and isinstance(value, str)):
            continue
        out[key] = expanded
    return out


def _binding(expression: Any, scope: _Scope) -> Any:
    if not isinstance(expression, str):
        return expression
    match = _WHOLE.match(expression)
    if not match:
        raise TemplateError(f"not a binding: {expression!r}")
    value = scope.lookup(match.group(2))
    return not value if match.group(1) else value


def _expand_string(text: str, scope: _Scope, translate: Translate, markdown: bool) -> Any:
    catalog = _CATALOG.match(text)
    if catalog:
        key, path = catalog.groups()
        fields = scope.lookup(path) if path else scope.fields()
        if markdown and isinstance(fields, Mapping):
            # The catalog string is trusted; the values formatted into it are not.
            fields = {k: _escaped(v) for k, v in fields.items()}
        return translate(key, fields)
    whole = _WHOLE.match(text)
    if whole:
        value = _binding(text, scope)
        if markdown and isinstance(value, str):
            return escape_markdown(value)
        # Elements or facts a view built in code: their texts are escaped just the same.
        return _escape_elements(value, facts=markdown)
    if "${" in text:

        def substitute(match: re.Match[str]) -> str:
            value = str(scope.lookup(match.group(1)))
            return escape_markdown(value) if markdown else value

        return _INLINE.sub(substitute, text)
    return text


def _escaped(value: Any) -> Any:
    return escape_markdown(value) if isinstance(value, str) else value


def _escape_elements(value: Any, *, facts: bool = False) -> Any:
    """A bound list or object with the Markdown texts of its elements escaped."""
    if isinstance(value, list):
        return [_escape_elements(item, facts=facts) for item in value]
    if not isinstance(value, dict):
        return value
    keys = _markdown_keys(value, facts)
    out = {}
    for key, item in value.items():
        if key in keys and isinstance(item, str):
            out[key] = escape_markdown(item)
        elif key in keys and key == "facts":
            out[key] = _escape_elements(item, facts=True)
        else:
            out[key] = _escape_elements(item)
    return out
