"""Build the Teams app package (manifest, localisations, icons) from the templates and settings.

Usage:
    .venv/bin/python deploy/teams/build_package.py --app-id <GUID> --base-url https://bot.example.org
        [--version 1.0.0] [--out build/dialogue-bot-teams.zip] [--template-dir DIR]

Flags fall back to the environment (MicrosoftAppId, PUBLIC_BASE_URL, TEAMS_APP_VERSION,
TEAMS_WEBSITE_URL, TEAMS_PRIVACY_URL, TEAMS_TERMS_URL), then to defaults (the version from
pyproject.toml). Every problem found is listed and the exit code is 1; nothing is written then.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import struct
import sys
import tomllib
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TEMPLATES = HERE / "templates"
CATALOGS = ROOT / "cards" / "catalogs"
SCHEMAS = ROOT / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
DEFAULT_OUT = ROOT / "build" / "dialogue-bot-teams.zip"
SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v{version}/{name}"
MANIFEST_SCHEMA = "MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = "MicrosoftTeams.Localization.schema.json"

# Placeholder values the deployer may set; the defaults are the United Nations' public pages.
DEFAULT_LINKS = {
    "website_url": ("TEAMS_WEBSITE_URL", "https://www.un.org/en/ethics/"),
    "privacy_url": ("TEAMS_PRIVACY_URL", "https://www.un.org/en/about-us/privacy-notice"),
    "terms_url": ("TEAMS_TERMS_URL", "https://www.un.org/en/about-us/terms-of-use"),
}

# Limits Teams enforces on upload that the JSON schema leaves looser (it allows 12 commands,
# 128-character titles and 4000-character descriptions).
MAX_COMMANDS = 10
MAX_TITLE = 32
MAX_DESCRIPTION = 128

COLOR_SIZE = 192
OUTLINE_SIZE = 32
UN_BLUE = (0x00, 0x9E, 0xDB)
WHITE = (255, 255, 255)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Teams takes MAJOR.MINOR.PATCH only: no pre-release or build suffix.
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class BuildError(Exception):
    """The package cannot be built; `problems` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Options:
    """What the build needs from the command line and the environment, validated."""

    app_id: str
    base_url: str
    host: str
    version: str
    links: Mapping[str, str]
    out: Path
    template_dir: Path
    schema_dir: Path
    catalog_dir: Path


# --- Options -----------------------------------------------------------------------------------


def parse_options(argv: list[str] | None, env: Mapping[str, str]) -> Options:
    """Read flags, then the environment, then defaults; raise BuildError naming each bad value."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-id", help="the bot's Microsoft App ID (env MicrosoftAppId)")
    parser.add_argument("--base-url", help="the bot's public https address (env PUBLIC_BASE_URL)")
    parser.add_argument("--version", help="app version MAJOR.MINOR.PATCH (default: pyproject)")
    parser.add_argument("--out", type=Path, help=f"zip to write (default: {DEFAULT_OUT})")
    parser.add_argument("--template-dir", type=Path, default=TEMPLATES)
    parser.add_argument("--schema-dir", type=Path, default=SCHEMAS)
    parser.add_argument("--catalog-dir", type=Path, default=CATALOGS)
    for name, (variable, _default) in DEFAULT_LINKS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", help=f"developer link (env {variable})")
    args = parser.parse_args(argv)

    problems: list[str] = []
    app_id = (args.app_id or env.get("MicrosoftAppId", "")).strip()
    if not app_id:
        problems.append("app id is missing: pass --app-id <GUID> or set MicrosoftAppId.")
    elif not _GUID.match(app_id):
        problems.append(
            f"app id {app_id[:60]!r} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): "
            "use the bot's Microsoft App ID from its Azure Bot registration."
        )

    base_url = (args.base_url or env.get("PUBLIC_BASE_URL", "")).strip().rstrip("/")
    host = _check_https(
        "base URL",
        base_url,
        problems,
        missing="pass --base-url or set PUBLIC_BASE_URL (the bot's public https address).",
    )

    version = (args.version or env.get("TEAMS_APP_VERSION", "")).strip() or _pyproject_version()
    if not _VERSION.match(version):
        problems.append(
            f"version {version!r} must be MAJOR.MINOR.PATCH in digits (e.g. 1.0.0): "
            "Teams refuses other forms."
        )

    links: dict[str, str] = {}
    for name, (variable, default) in DEFAULT_LINKS.items():
        value = (getattr(args, name) or env.get(variable, "") or default).strip()
        _check_https(name.replace("_", " "), value, problems, missing="")
        links[name] = value

    if problems:
        raise BuildError(problems)
    return Options(
        app_id=app_id.lower(),
        base_url=base_url,
        host=host,
        version=version,
        links=links,
        out=args.out or DEFAULT_OUT,
        template_dir=args.template_dir,
        schema_dir=args.schema_dir,
        catalog_dir=args.catalog_dir,
    )


def _check_https(label: str, url: str, problems: list[str], *, missing: str) -> str:
    """The host of an https URL; a problem is recorded when the URL is not one."""
    if not url:
        problems.append(f"{label} is missing: {missing}")
        return ""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        problems.append(
            f"{label} {url!r} must start with https:// (Teams only talks to bots over HTTPS)."
        )
        return ""
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        problems.append(f"{label} {url!r} must be https://host[/path], with no query or login.")
        return ""
    return parts.hostname


def _pyproject_version() -> str:
    """The project's version in pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


# --- Templates -----------------------------------------------------------------------------------


def load_json(path: Path, problems: list[str]) -> Any:
    """A JSON file, or None with a problem naming the file and the position of the error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{_show(path)} is missing.")
    except json.JSONDecodeError as error:
        problems.append(
            f"{_show(path)} line {error.lineno} column {error.colno}: invalid JSON ({error.msg})."
        )
    return None


def fill(value: Any, values: Mapping[str, str], where: str, problems: list[str]) -> Any:
    """The template with every {{name}} replaced; unknown names are problems."""
    if isinstance(value, dict):
        return {k: fill(v, values, f"{where}.{k}", problems) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            problems.append(
                f"{where}: unknown placeholder {{{{{name}}}}} (known: {', '.join(sorted(values))})."
            )
            return match.group(0)
        return values[name]

    return _PLACEHOLDER.sub(replace, value)


def load_catalogs(catalog_dir: Path, problems: list[str]) -> dict[str, dict[str, Any]]:
    """The bot's message catalogs by language code (en, fr, es)."""
    catalogs = {}
    for path in sorted(catalog_dir.glob("*.json")):
        catalog = load_json(path, problems)
        if isinstance(catalog, dict):
            catalogs[path.stem] = catalog
    if "en" not in catalogs:
        problems.append(f"{_show(catalog_dir / 'en.json')}: the English catalog is missing.")
    return catalogs


@dataclass(frozen=True)
class Command:
    """One entry of a manifest command list and the catalog key behind its word."""

    list_index: int
    index: int
    key: str


def resolve_commands(
    manifest: dict[str, Any],
    catalogs: Mapping[str, Mapping[str, Any]],
    catalog_dir: Path,
    problems: list[str],
) -> list[Command]:
    """Match each manifest command word to the bot's `command.*` key; fill missing descriptions."""
    english = catalogs.get("en", {})
    by_word = {
        str(word): key.removeprefix("command.")
        for key, word in english.items()
        if key.startswith("command.")
    }
    found: list[Command] = []
    bots = manifest.get("bots") or [{}]
    for li, command_list in enumerate(bots[0].get("commandLists") or []):
        where = f"manifest.json: bots[0].commandLists[{li}]"
        commands = command_list.get("commands") or []
        if len(commands) > MAX_COMMANDS:
            problems.append(
                f"{where}: {len(commands)} commands; Teams shows at most {MAX_COMMANDS}."
            )
        seen: set[str] = set()
        for ci, command in enumerate(commands):
            title = command.get("title", "")
            key = by_word.get(title)
            if key is None:
                problems.append(
                    f"{where}.commands[{ci}].title {title!r} is not a command the bot knows: no "
                    f"command.* key in {_show(catalog_dir / 'en.json')} has this word "
                    f"(known: {', '.join(sorted(by_word))})."
                )
                continue
            if key in seen:
                problems.append(f"{where}.commands[{ci}]: {title!r} is listed twice.")
            seen.add(key)
            for lang, catalog in sorted(catalogs.items()):
                for needed in (f"command.{key}", f"help.cmd.{key}"):
                    if needed not in catalog:
                        problems.append(f"catalog {lang}.json has no {needed!r} for {title!r}.")
            command.setdefault("description", str(english.get(f"help.cmd.{key}", "")))
            found.append(Command(li, ci, key))
    return found


def localize(
    template: dict[str, Any], commands: list[Command], catalog: Mapping[str, Any]
) -> dict[str, Any]:
    """A localisation file: the template's texts plus every command's title and description.

    The template's optional "commands" object gives shorter texts where the catalog's text is
    longer than Teams allows (it is not part of the written file).
    """
    shorter = template.get("commands") or {}
    result = {k: v for k, v in template.items() if k != "commands"}
    for command in commands:
        prefix = f"bots[0].commandLists[{command.list_index}].commands[{command.index}]"
        own = shorter.get(command.key) or {}
        result[f"{prefix}.title"] = own.get("title") or str(catalog[f"command.{command.key}"])
        result[f"{prefix}.description"] = own.get("description") or str(
            catalog[f"help.cmd.{command.key}"]
        )
    return result


# --- Checks ------------------------------------------------------------------------------------


def load_schema(schema_dir: Path, version: str, name: str, problems: list[str]) -> Any:
    """One of the offline Teams schemas shipped by @microsoft/app-manifest."""
    path = schema_dir / f"v{version}" / name
    if not path.is_file():
        problems.append(
            f"no offline schema {name} for manifestVersion {version!r} at {_show(path)}: run "
            "`npm ci` (the npm package @microsoft/app-manifest ships them), or use a version "
            "it has."
        )
        return None
    return load_json(path, problems)


def schema_errors(document: Any, schema: dict[str, Any], url: str, label: str) -> list[str]:
    """Every place where the document breaks the schema, as `label: $.path: message`."""
    from jsonschema import Draft4Validator, Draft7Validator, validators
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT4

    base = validators.validator_for(schema, default=Draft4Validator)
    # The Teams schemas declare draft-04 yet use `const` (manifestVersion) and `if`/`then`,
    # which a draft-04 validator would silently skip: borrow them from draft-07.
    extra = {
        keyword: Draft7Validator.VALIDATORS[keyword]
        for keyword in ("const", "if", "contains", "propertyNames")
        if keyword not in base.VALIDATORS
    }
    validator_class = validators.extend(base, extra) if extra else base

    def offline(uri: str) -> Resource[Any]:
        # Never fetch: a $ref outside the shipped file is a broken schema, not a download.
        raise NoSuchResource(ref=uri)

    resource = Resource.from_contents(schema, default_specification=DRAFT4)
    registry = Registry(retrieve=offline).with_resource(url, resource)
    validator = validator_class(schema, registry=registry)
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        found.append(f"{label}: {json_path(error.absolute_path)}: {_short(error.message)}")
    return found


def json_path(parts: Iterable[Any]) -> str:
    """A JSONPath such as $.bots[0].scopes[1]."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def teams_limits(
    manifest: dict[str, Any], localizations: Mapping[str, dict[str, Any]]
) -> list[str]:
    """The upload limits Teams applies beyond the schema, for every language."""
    found = []
    bots = manifest.get("bots") or [{}]
    for li, command_list in enumerate(bots[0].get("commandLists") or []):
        for ci, command in enumerate(command_list.get("commands") or []):
            at = f"bots[0].commandLists[{li}].commands[{ci}]"
            found += _text_limits(
                "manifest.json", at, command.get("title", ""), command.get("description", "")
            )
    for file, texts in localizations.items():
        for key, value in texts.items():
            if key.startswith("bots[0].commandLists[") and key.endswith(".title"):
                at = key.removesuffix(".title")
                found += _text_limits(file, at, value, texts.get(f"{at}.description", ""))
    return found


def _text_limits(file: str, at: str, title: str, description: str) -> list[str]:
    found = []
    if not title.strip():
        found.append(f"{file}: {at}.title is empty.")
    if len(title) > MAX_TITLE:
        found.append(f"{file}: {at}.title {title!r} is over {MAX_TITLE} characters.")
    if len(description) > MAX_DESCRIPTION:
        found.append(
            f"{file}: {at}.description is {len(description)} characters; Teams allows "
            f'{MAX_DESCRIPTION} (give a shorter one in the template\'s "commands").'
        )
    return found


def identity_checks(manifest: dict[str, Any], options: Options) -> list[str]:
    """The bot, RSC and domain entries must name this deployment's app and host."""
    found = []
    bots = manifest.get("bots") or [{}]
    if str(bots[0].get("botId", "")).lower() != options.app_id:
        found.append("manifest.json: $.bots[0].botId must be the app id ({{app_id}}).")
    info = manifest.get("webApplicationInfo") or {}
    if str(info.get("id", "")).lower() != options.app_id:
        found.append(
            "manifest.json: $.webApplicationInfo.id must be the app id ({{app_id}}): "
            "resource-specific consent is granted to it."
        )
    if options.host not in (manifest.get("validDomains") or []):
        found.append(f"manifest.json: $.validDomains must list the bot's host {options.host!r}.")
    return found


# --- Icons -------------------------------------------------------------------------------------


def png_encode(width: int, height: int, pixels: list[tuple[int, int, int, int]]) -> bytes:
    """An 8-bit RGBA PNG of the pixels (row by row)."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type None: the image is small, size does not matter
        for r, g, b, a in pixels[y * width : (y + 1) * width]:
            raw += bytes((r, g, b, a))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def png_decode(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit non-interlaced PNG; ValueError otherwise."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    pos, header, palette, alpha, idat = 8, b"", b"", b"", bytearray()
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            alpha = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise ValueError("PNG without a valid IHDR header")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise ValueError("unsupported PNG format: save it as 8-bit RGBA, not interlaced")
    stride = width * channels
    raw = zlib.decompress(bytes(idat))
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                row[i] = (row[i] + _paeth(left, up, corner)) & 0xFF
        rows.append(row)
        previous = row
    pixels = []
    for row in rows:
        for x in range(width):
            px = row[x * channels : (x + 1) * channels]
            if color == 6:
                pixels.append((px[0], px[1], px[2], px[3]))
            elif color == 2:
                pixels.append((px[0], px[1], px[2], 255))
            elif color == 0:
                pixels.append((px[0], px[0], px[0], 255))
            elif color == 4:
                pixels.append((px[0], px[0], px[0], px[1]))
            else:
                index = px[0]
                r, g, b = palette[index * 3 : index * 3 + 3] or b"\0\0\0"
                pixels.append((r, g, b, alpha[index] if index < len(alpha) else 255))
    return width, height, pixels


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _sd_round_rect(x: float, y: float, box: tuple[float, float, float, float, float]) -> float:
    """Signed distance to a rounded rectangle (centre x, centre y, half width, half height, r)."""
    cx, cy, hx, hy, r = box
    qx, qy = abs(x - cx) - (hx - r), abs(y - cy) - (hy - r)
    return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - r


def _sd_triangle(x: float, y: float, points: tuple[tuple[float, float], ...]) -> float:
    """Signed distance to a triangle (negative inside)."""
    (ax, ay), (bx, by), (cx, cy) = points
    best, inside = math.inf, True
    orientation = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    for (px, py), (qx, qy) in (((ax, ay), (bx, by)), ((bx, by), (cx, cy)), ((cx, cy), (ax, ay))):
        ex, ey, vx, vy = qx - px, qy - py, x - px, y - py
        t = max(0.0, min(1.0, (vx * ex + vy * ey) / (ex * ex + ey * ey)))
        best = min(best, math.hypot(vx - ex * t, vy - ey * t))
        if (ex * vy - ey * vx) * orientation < 0:
            inside = False
    return -best if inside else best


# The glyph: two overlapping speech bubbles (a dialogue), the front one with three dots, drawn
# in a unit square. The back bubble stops short of the front one so they read apart at 32 px.
_BACK = (0.40, 0.36, 0.26, 0.18, 0.08)
_BACK_TAIL = ((0.22, 0.48), (0.36, 0.48), (0.17, 0.66))
_FRONT = (0.60, 0.62, 0.26, 0.18, 0.08)
_FRONT_TAIL = ((0.64, 0.74), (0.78, 0.74), (0.83, 0.92))
_DOTS = ((0.49, 0.62), (0.60, 0.62), (0.71, 0.62))
_DOT_RADIUS = 0.04
_GAP = 0.05


def _glyph_distance(x: float, y: float) -> float:
    """Signed distance to the dialogue glyph in unit-square coordinates."""
    front = min(_sd_round_rect(x, y, _FRONT), _sd_triangle(x, y, _FRONT_TAIL))
    back = min(_sd_round_rect(x, y, _BACK), _sd_triangle(x, y, _BACK_TAIL))
    dots = min(math.hypot(x - dx, y - dy) - _DOT_RADIUS for dx, dy in _DOTS)
    return min(max(front, -dots), max(back, _GAP - front))


def _coverage(distance_px: float) -> float:
    """How much of a pixel a shape covers, from its signed distance in pixels (anti-aliasing)."""
    return max(0.0, min(1.0, 0.5 - distance_px))


def draw_icon(size: int, *, outline: bool) -> bytes:
    """The colour icon (white glyph on a UN-blue rounded square) or the white outline icon."""
    # The colour icon keeps the glyph inside Teams' safe area; the outline one fills its 32 px.
    glyph_size = size * (0.96 if outline else 0.74)
    offset = (size - glyph_size) / 2
    corner = size * 0.18
    pixels = []
    for py in range(size):
        for px in range(size):
            x, y = px + 0.5, py + 0.5
            glyph = _coverage(
                _glyph_distance((x - offset) / glyph_size, (y - offset) / glyph_size) * glyph_size
            )
            if outline:
                # Teams rejects any colour but white in the outline icon, even where transparent.
                pixels.append((*WHITE, round(glyph * 255)))
                continue
            half = size / 2
            square = _coverage(_sd_round_rect(x, y, (half, half, half, half, corner)))
            rgb = tuple(
                round(w * glyph + b * (1 - glyph)) for w, b in zip(WHITE, UN_BLUE, strict=True)
            )
            pixels.append((*rgb, round(square * 255)))
    return png_encode(size, size, pixels)


def icon_checks(name: str, data: bytes, size: int, *, outline: bool) -> list[str]:
    """Size, format and (for the outline icon) colours Teams requires."""
    try:
        width, height, pixels = png_decode(data)
    except (ValueError, zlib.error, struct.error) as error:
        return [f"{name}: {error}."]
    if (width, height) != (size, size):
        return [f"{name} is {width}×{height} pixels; Teams requires {size}×{size}."]
    if not outline:
        return []
    found = []
    coloured = [i for i, (r, g, b, a) in enumerate(pixels) if a and (r, g, b) != WHITE]
    if coloured:
        x, y = coloured[0] % width, coloured[0] // width
        found.append(
            f"{name}: {len(coloured)} pixel(s) are neither white nor fully transparent "
            f"(first at x={x}, y={y}: {pixels[coloured[0]]}); Teams accepts only white on "
            "a transparent background."
        )
    if not any(a for _, _, _, a in pixels):
        found.append(f"{name} is fully transparent: it shows nothing.")
    return found


def icons(template_dir: Path) -> dict[str, bytes]:
    """The icons: a PNG placed in the template folder wins over the drawn one."""
    result = {}
    for name, size, outline in (
        ("color.png", COLOR_SIZE, False),
        ("outline.png", OUTLINE_SIZE, True),
    ):
        own = template_dir / name
        result[name] = own.read_bytes() if own.is_file() else draw_icon(size, outline=outline)
    return result


# --- Build -------------------------------------------------------------------------------------


def build(options: Options) -> dict[str, bytes]:
    """Render, check and return the package's files; raise BuildError listing every problem."""
    problems: list[str] = []
    values = {
        "app_id": options.app_id,
        "base_url": options.base_url,
        "host": options.host,
        "version": options.version,
        **options.links,
    }
    template = load_json(options.template_dir / "manifest.json", problems)
    catalogs = load_catalogs(options.catalog_dir, problems)
    if not isinstance(template, dict) or problems:
        raise BuildError(problems or ["templates/manifest.json must hold a JSON object."])
    manifest = fill(template, values, "manifest.json: $", problems)
    commands = resolve_commands(manifest, catalogs, options.catalog_dir, problems)

    version = str(manifest.get("manifestVersion", ""))
    expected = SCHEMA_URL.format(version=version, name=MANIFEST_SCHEMA)
    if manifest.get("$schema") != expected:
        problems.append(
            f"manifest.json: $.$schema must be {expected} to match manifestVersion {version!r}."
        )
    schema = load_schema(options.schema_dir, version, MANIFEST_SCHEMA, problems)
    loc_schema = load_schema(options.schema_dir, version, LOCALIZATION_SCHEMA, problems)
    if isinstance(schema, dict):
        problems += schema_errors(manifest, schema, expected, "manifest.json")

    localizations: dict[str, dict[str, Any]] = {}
    info = manifest.get("localizationInfo") or {}
    loc_url = SCHEMA_URL.format(version=version, name=LOCALIZATION_SCHEMA)
    for entry in info.get("additionalLanguages") or []:
        file, tag = str(entry.get("file", "")), str(entry.get("languageTag", ""))
        lang = tag.split("-")[0].lower()
        if file in localizations:
            continue
        if lang not in catalogs:
            problems.append(f"manifest.json: language {tag!r} has no bot catalog {lang}.json.")
            continue
        if "/" in file or "\\" in file or not file.endswith(".json"):
            problems.append(f"manifest.json: localisation file {file!r} must be a .json name.")
            continue
        loc_template = load_json(options.template_dir / file, problems)
        if not isinstance(loc_template, dict):
            continue
        filled = fill(loc_template, values, f"{file}: $", problems)
        try:
            texts = localize(filled, commands, catalogs[lang])
        except KeyError as error:
            problems.append(f"{file}: catalog {lang}.json lacks {error}.")
            continue
        if texts.get("$schema") != loc_url:
            problems.append(f"{file}: $.$schema must be {loc_url}.")
        if isinstance(loc_schema, dict):
            problems += schema_errors(texts, loc_schema, loc_url, file)
        localizations[file] = texts

    problems += teams_limits(manifest, localizations)
    if _GUID.match(options.app_id):
        problems += identity_checks(manifest, options)

    files = {"manifest.json": _dump(manifest)}
    drawn = icons(options.template_dir)
    declared = manifest.get("icons") or {}
    for kind, name, size in (
        ("color", "color.png", COLOR_SIZE),
        ("outline", "outline.png", OUTLINE_SIZE),
    ):
        if declared.get(kind) != name:
            problems.append(f"manifest.json: $.icons.{kind} must be {name!r}.")
        problems += icon_checks(name, drawn[name], size, outline=kind == "outline")
        files[name] = drawn[name]
    for file, texts in localizations.items():
        files[file] = _dump(texts)
    if problems:
        raise BuildError(problems)
    return files


def write_zip(files: Mapping[str, bytes], out: Path) -> None:
    """The app package: every file at the zip's root, with fixed times so builds compare equal."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    partial.replace(out)  # a failed run never leaves a half-written package behind


def _dump(document: Any) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Build the package; print what went wrong and return 1, or return 0."""
    try:
        options = parse_options(argv, os.environ if env is None else env)
        files = build(options)
        write_zip(files, options.out)
    except BuildError as error:
        lines = "\n".join(f"  - {problem}" for problem in error.problems)
        print(f"Teams app package NOT built:\n{lines}", file=sys.stderr)
        return 1
    print(f"Wrote {options.out} ({', '.join(files)}).")
    print(f"Azure Bot messaging endpoint: {options.base_url}/api/messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
