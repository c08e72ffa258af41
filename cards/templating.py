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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_WHOLE = re.compile(r"^\$\{(!?)([$\w.]+)\}$")
_INLINE = re.compile(r"\$\{([$\w.]+)\}")
_CATALOG = re.compile(r"^@\{([\w.]+)(?:\|([$\w.]+))?\}$")

Translate = Callable[[str, Mapping[str, Any]], str]


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


def _expand(node: Any, scope: _Scope, translate: Translate) -> Any:
    if isinstance(node, dict):
        return _expand_object(node, scope, translate)
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            value = _expand(item, scope, translate)
            if isinstance(value, _Repeated):
                out.extend(value.items)
            elif value is not _DROP:
                out.append(value)
        return out
    if isinstance(node, str):
        return _expand_string(node, scope, translate)
    return node


class _Repeated:
    def __init__(self, items: list[Any]) -> None:
        self.items = items


def _expand_object(node: dict[str, Any], scope: _Scope, translate: Translate) -> Any:
    if "$data" in node:
        items = _binding(node["$data"], scope)
        rest = {k: v for k, v in node.items() if k != "$data"}
        if items is None:
            items = []  # nothing to repeat over: the element disappears
        if isinstance(items, list):
            expanded = [_expand_object(rest, _Scope(item, scope.root), translate) for item in items]
            return _Repeated([e for e in expanded if e is not _DROP])
        return _expand_object(rest, _Scope(items, scope.root), translate)
    if "$when" in node and not _binding(node["$when"], scope):
        return _DROP
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$when":
            continue
        expanded = _expand(value, scope, translate)
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


def _expand_string(text: str, scope: _Scope, translate: Translate) -> Any:
    catalog = _CATALOG.match(text)
    if catalog:
        key, path = catalog.groups()
        fields = scope.lookup(path) if path else scope.fields()
        return translate(key, fields)
    whole = _WHOLE.match(text)
    if whole:
        return _binding(text, scope)
    if "${" in text:
        return _INLINE.sub(lambda m: str(scope.lookup(m.group(1))), text)
    return text
