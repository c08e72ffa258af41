"""Teams app package: one command builds a valid zip, and refuses bad settings or templates."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft7Validator, validators
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT4

from testing.env import ROOT

BUILD = ROOT / "deploy" / "teams" / "build_package.py"
TEMPLATES = ROOT / "deploy" / "teams" / "templates"
SCHEMAS = ROOT / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
CATALOGS = ROOT / "cards" / "catalogs"
APP_ID = "2f6a9c4e-8b1d-4e7a-a3c5-9d0e1f2a3b4c"
BASE_URL = "https://dialogue.example.org"
MEMBERS = {"manifest.json", "color.png", "outline.png", "fr.json", "es.json"}
# What `help` lists, in its order: personal chat, then the meeting chat.
PERSONAL = ["help", "feedback", "progress", "report", "admin", "questions"]
MEETING = ["start", "sheet", "agenda", "remind", "end", "help"]
RSC = {
    "OnlineMeeting.ReadBasic.Chat",
    "OnlineMeetingParticipant.Read.Chat",
    "ChatMember.Read.Chat",
}


def run_build(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # The caller's own MicrosoftAppId or PUBLIC_BASE_URL must not leak into the test.
    clean = {k: v for k, v in os.environ.items() if k not in ("MicrosoftAppId", "PUBLIC_BASE_URL")}
    return subprocess.run(
        [sys.executable, str(BUILD), *map(str, args)],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
        check=False,
    )


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width and height from IHDR, and the pixels of an 8-bit RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    assert (depth, color) == (8, 6), "expected 8-bit RGBA"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw, stride, rows = zlib.decompress(idat), width * 4, []
    previous = bytearray(stride)
    for y in range(height):
        kind, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 :][:stride])
        for i in range(stride):
            a, b = (row[i - 4] if i >= 4 else 0), previous[i]
            c = previous[i - 4] if i >= 4 else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            row[i] = (row[i] + (0, a, b, (a + b) // 2, paeth)[kind]) & 0xFF
        rows.append(row)
        previous = row
    pixels = [tuple(row[x * 4 : x * 4 + 4]) for row in rows for x in range(width)]
    return width, height, pixels


def write_png(path: Path, size: int, rgba: tuple[int, int, int, int]) -> None:
    """A one-colour square PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    raw = b"".join(b"\0" + bytes(rgba) * size for _ in range(size))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def schema_validator(schema: dict[str, Any], url: str) -> Draft4Validator:
    """The schema's own draft (04) plus `const`/`if`, which it uses, resolved offline only."""
    cls = validators.extend(
        validators.validator_for(schema),
        {k: Draft7Validator.VALIDATORS[k] for k in ("const", "if")},
    )

    def refuse(uri: str) -> Resource:
        raise NoSuchResource(ref=uri)

    resource = Resource.from_contents(schema, default_specification=DRAFT4)
    return cls(schema, registry=Registry(retrieve=refuse).with_resource(url, resource))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("teams") / "dialogue-bot-teams.zip"
    result = run_build(
        "--app-id", APP_ID, "--base-url", BASE_URL, "--version", "1.2.3", "--out", out
    )
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope="module")
def manifest(package: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(package["manifest.json"])


def catalog(lang: str) -> dict[str, Any]:
    return json.loads((CATALOGS / f"{lang}.json").read_text(encoding="utf-8"))


def test_the_zip_holds_the_package_files_at_its_root(package):
    assert set(package) == MEMBERS


def test_manifest_and_localisations_are_valid_against_the_offline_schemas(package, manifest):
    version = manifest["manifestVersion"]
    assert tuple(map(int, version.split("."))) >= (1, 19)
    folder = SCHEMAS / f"v{version}"
    url = f"https://developer.microsoft.com/json-schemas/teams/v{version}/"
    assert manifest["$schema"] == url + "MicrosoftTeams.schema.json"
    schema = json.loads((folder / "MicrosoftTeams.schema.json").read_text(encoding="utf-8"))
    errors = list(schema_validator(schema, manifest["$schema"]).iter_errors(manifest))
    assert not errors, [e.message for e in errors]

    loc_schema = json.loads(
        (folder / "MicrosoftTeams.Localization.schema.json").read_text(encoding="utf-8")
    )
    info = manifest["localizationInfo"]
    assert info["defaultLanguageTag"] == "en-us"
    assert {(a["languageTag"], a["file"]) for a in info["additionalLanguages"]} == {
        ("fr-fr", "fr.json"),
        ("es-es", "es.json"),
    }
    for file in ("fr.json", "es.json"):
        texts = json.loads(package[file])
        assert texts["$schema"] == url + "MicrosoftTeams.Localization.schema.json"
        errors = list(schema_validator(loc_schema, texts["$schema"]).iter_errors(texts))
        assert not errors, (file, [e.message for e in errors])
        assert texts["name.short"] == "Dialogue Bot"  # what people type after @ in the chat


def test_the_bot_serves_personal_and_meeting_chats_with_the_help_commands(manifest):
    assert manifest["id"] == APP_ID
    assert manifest["version"] == "1.2.3"
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) == {"personal", "groupChat"}
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False
    lists = {tuple(c["scopes"]): c["commands"] for c in bot["commandLists"]}
    en = catalog("en")
    for scope, names in ((("personal",), PERSONAL), (("groupChat",), MEETING)):
        commands = lists[scope]
        assert [c["title"] for c in commands] == [en[f"command.{n}"] for n in names]
        assert len(commands) <= 10
        for command, name in zip(commands, names, strict=True):
            assert command["description"] == en[f"help.cmd.{name}"]
            assert len(command["title"]) <= 32 and len(command["description"]) <= 128


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_localised_command_titles_are_the_bots_own_words(package, manifest, lang):
    texts = json.loads(package[f"{lang}.json"])
    words = catalog(lang)
    for li, command_list in enumerate(manifest["bots"][0]["commandLists"]):
        names = PERSONAL if command_list["scopes"] == ["personal"] else MEETING
        for ci, name in enumerate(names):
            prefix = f"bots[0].commandLists[{li}].commands[{ci}]"
            assert texts[f"{prefix}.title"] == words[f"command.{name}"]
            assert 0 < len(texts[f"{prefix}.description"]) <= 128


def test_resource_specific_consent_covers_meeting_events_and_members(manifest):
    permissions = manifest["authorization"]["permissions"]["resourceSpecific"]
    assert {p["name"] for p in permissions} >= RSC
    assert all(p["type"] == "Application" for p in permissions if p["name"] in RSC)
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    assert manifest["validDomains"] == ["dialogue.example.org"]


def test_the_dashboard_is_a_personal_tab_on_the_bots_host_in_the_users_language(package, manifest):
    tabs = {tab["entityId"]: tab for tab in manifest["staticTabs"]}
    # The bot's chat stays the first tab of the personal app; the dashboard comes next.
    assert [tab["entityId"] for tab in manifest["staticTabs"]] == ["conversations", "dashboard"]
    dashboard = tabs["dashboard"]
    assert dashboard["scopes"] == ["personal"]
    # Teams fills {locale} and {theme}, so the page opens in the user's language and theme.
    assert dashboard["contentUrl"] == f"{BASE_URL}/web/dashboard?lang={{locale}}&theme={{theme}}"
    names = {
        lang: json.loads(package[f"{lang}.json"])["staticTabs[1].name"] for lang in ("fr", "es")
    }
    assert names == {"fr": "Tableau de bord", "es": "Panel"}


def test_icons_have_teams_sizes_and_the_outline_is_white_on_transparent(package):
    width, height, colour = read_png(package["color.png"])
    assert (width, height) == (192, 192)
    assert colour[96 * 192 + 8] == (0x00, 0x9E, 0xDB, 255)  # UN blue near the left edge
    assert (255, 255, 255, 255) in colour
    width, height, outline = read_png(package["outline.png"])
    assert (width, height) == (32, 32)
    assert all(a == 0 or (r, g, b) == (255, 255, 255) for r, g, b, a in outline)
    assert any(a == 255 for *_, a in outline) and any(a == 0 for *_, a in outline)


def test_settings_come_from_the_environment_when_flags_are_absent(tmp_path):
    out = tmp_path / "env.zip"
    result = run_build(
        "--out", out, env={"MicrosoftAppId": APP_ID.upper(), "PUBLIC_BASE_URL": BASE_URL + "/"}
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["dialogue.example.org"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app-id", "not-a-guid", "--base-url", BASE_URL], "is not a GUID"),
        (["--base-url", BASE_URL], "app id is missing"),
        (
            ["--app-id", APP_ID, "--base-url", "http://dialogue.example.org"],
            "must start with https://",
        ),
        (["--app-id", APP_ID], "base URL is missing"),
        (["--app-id", APP_ID, "--base-url", BASE_URL, "--version", "1.0"], "MAJOR.MINOR.PATCH"),
    ],
)
def test_bad_settings_fail_with_a_message_naming_them(tmp_path, args, message):
    out = tmp_path / "bad.zip"
    result = run_build(*args, "--out", out)
    assert result.returncode == 1
    assert message in result.stderr
    assert not out.exists()


def broken_templates(tmp_path: Path, change) -> Path:
    """A copy of the templates with the manifest changed by `change`."""
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    change(manifest, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _scope(manifest, folder):
    manifest["bots"][0]["scopes"] = ["personal", "groupchat"]


def _command(manifest, folder):
    manifest["bots"][0]["commandLists"][1]["commands"][0]["title"] = "strat"


def _too_many(manifest, folder):
    manifest["bots"][0]["commandLists"][0]["commands"] *= 2


def _colour_size(manifest, folder):
    write_png(folder / "color.png", 100, (0, 158, 219, 255))


def _outline_colour(manifest, folder):
    write_png(folder / "outline.png", 32, (0, 158, 219, 255))


def _rsc_app(manifest, folder):
    manifest["webApplicationInfo"]["id"] = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_scope, "$.bots[0].scopes[1]: 'groupchat' is not one of"),
        (_command, "'strat' is not a command the bot knows"),
        (_too_many, "Teams shows at most 10"),
        (_colour_size, "color.png is 100×100 pixels; Teams requires 192×192"),
        (_outline_colour, "outline.png: 1024 pixel(s) are neither white nor fully transparent"),
        (_rsc_app, "$.webApplicationInfo.id must be the app id"),
    ],
)
def test_a_broken_template_fails_with_a_message_naming_the_problem(tmp_path, change, message):
    folder = broken_templates(tmp_path, change)
    out = tmp_path / "broken.zip"
    result = run_build(
        "--app-id", APP_ID, "--base-url", BASE_URL, "--template-dir", folder, "--out", out
    )
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert not out.exists()


def test_a_template_that_is_not_json_fails_naming_the_line(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    text = (folder / "fr.json").read_text(encoding="utf-8")
    (folder / "fr.json").write_text(text.replace('"name.short"', "name.short", 1), encoding="utf-8")
    result = run_build(
        "--app-id",
        APP_ID,
        "--base-url",
        BASE_URL,
        "--template-dir",
        folder,
        "--out",
        tmp_path / "x",
    )
    assert result.returncode == 1
    assert "fr.json line 3 column 3: invalid JSON" in result.stderr, result.stderr


def test_the_meeting_tab_offers_the_side_panel_and_the_stage_with_teams_sso(manifest):
    (tab,) = manifest["configurableTabs"]
    assert tab["configurationUrl"] == "https://dialogue.example.org/web/config"
    assert {"meetingSidePanel", "meetingStage"} <= set(tab["context"])
    assert set(tab["meetingSurfaces"]) == {"sidePanel", "stage"}
    # The SSO token's audience: the bot's settings check WEB_SSO_RESOURCE against it.
    assert manifest["webApplicationInfo"]["resource"] == f"api://dialogue.example.org/{APP_ID}"
    permissions = manifest["authorization"]["permissions"]["resourceSpecific"]
    assert {"name": "MeetingStage.Write.Chat", "type": "Delegated"} in permissions
