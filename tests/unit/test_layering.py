"""dialogs/ depends on the ports, not on the repositories: checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

DIALOGS = Path(__file__).resolve().parents[2] / "dialogs"

# What dialogs/ may take from storage/: records, errors, and (until the poll rewrite lands)
# the poll id's digest.
ALLOWED = {
    "storage": {"ActiveSessionExists", "AttendeeRecord", "SessionRecord", "StorageUnavailable"}
    | {"WriteConflict"},
    "storage.keys": {"digest", "normalized_name"},
}
ANYTHING_FROM = {"storage.records", "storage.errors"}
KEYS_STILL_BUILT_IN = {"polls.py"}


def _imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def test_dialogs_import_no_repository_and_no_web_framework():
    wrong = []
    for path in sorted(DIALOGS.glob("*.py")):
        for module, name in _imports(path):
            top = module.split(".")[0]
            if top in ("aiohttp", "botbuilder", "azure", "bot"):
                wrong.append(f"{path.name}: {module}")
            if top != "storage" or module in ANYTHING_FROM:
                continue
            if module == "storage.keys" and path.name not in KEYS_STILL_BUILT_IN:
                wrong.append(f"{path.name}: {module}.{name} (keys are built in storage/)")
            elif name not in ALLOWED.get(module, set()):
                wrong.append(f"{path.name}: {module}.{name}")
    assert wrong == []


def test_the_command_line_leaves_keys_and_property_names_to_storage():
    cli = DIALOGS.parent / "cli"
    wrong = [
        f"{path.name}: {module}"
        for path in sorted(cli.glob("*.py"))
        for module, _ in _imports(path)
        if module.split(".")[0] in ("azure", "aiohttp", "botbuilder") or module == "storage.keys"
    ]
    assert wrong == []
