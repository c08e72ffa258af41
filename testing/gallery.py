"""The card gallery: every card the bot sends, as each role sees it, rendered as Teams would.

The cards are collected by driving the real app (the same flows as tests/app), in English,
French and Spanish, then rendered by the `adaptivecards` JS renderer with Teams' host configs
(light, dark, high contrast) in headless Chromium, all in one page load. Each card is saved as
a PNG under `.artifacts/gallery/` with an index (`index.json`: heights, notices, buttons) for
the tests in tests/web/ and for a person to look at. Run it alone with `make gallery`
(`python -m testing.gallery`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.settings import Settings
from testing.azurite import Azurite
from testing.browser import ARTIFACTS, Browser
from testing.connector import FakeConnector
from testing.env import ROOT, bot_env
from testing.flows import (
    ADMIN,
    FOCAL,
    GOOD_C,
    GOOD_F,
    QUESTION,
    find_posted,
    last_card,
    last_card_message,
    name_focal_points,
)
from testing.teams import BotUnderTest, Chat, User, card_sid, data_of, elements, inputs

GALLERY = ARTIFACTS / "gallery"
THEMES = ("light", "dark", "contrast")
LANGUAGES = ("en", "fr", "es")
LOCALES = {"en": "en-US", "fr": "fr-FR", "es": "es-ES"}
HOST_CONFIGS = Path(__file__).with_name("hostconfigs")
PAGE = Path(__file__).with_name("gallery.html")
RENDERER = ROOT / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.min.js"
# Teams' chat column, where the bot's cards sit: 500 px wide on a desktop client.
WIDTH = 500
# Container styles the bot uses for a notice (a confirmation, a warning, a refusal).
NOTICE_STYLES = {"good", "attention", "warning"}
# The window is this tall, so a whole card fits in it (a taller card is cut, and fails its budget).
MAX_SHOT = 6000

# The quick poll the leader types in every language's Dialogue: the leader's words, not ours.
TYPED_POLL = ("Is this clear?", "Yes", "No", "Not sure")


@dataclass
class Shot:
    """One card as one person sees it: what kind of card, whose view, which language."""

    kind: str
    role: str
    lang: str
    step: str
    card: dict[str, Any]
    # The verb whose answer this card is (None for a posted card or a typed command).
    verb: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """A file-name-safe label, unique within one language."""
        return f"{self.kind}--{self.role}--{self.step}--{self.lang}"


@dataclass
class Rendered:
    """What the browser measured for one shot in one theme."""

    shot: Shot
    theme: str
    height: int
    notices: list[dict[str, int]]
    buttons: list[dict[str, Any]]
    png: Path | None = None


class Collector:
    """Drives the real app through a whole Dialogue and keeps each card a person would see."""

    def __init__(self, bot: BotUnderTest, connector: FakeConnector, lang: str) -> None:
        self.bot = bot
        self.connector = connector
        self.lang = lang
        self.shots: list[Shot] = []

    def keep(
        self, kind: str, role: str, step: str, card: dict[str, Any] | None, verb: str | None = None
    ) -> dict[str, Any]:
        """Record a card (a copy: later steps must not change what was seen)."""
        assert card is not None and card.get("type") == "AdaptiveCard", (kind, role, step)
        self.shots.append(Shot(kind, role, self.lang, step, copy.deepcopy(card), verb))
        return card

    async def click(
        self,
        kind: str,
        role: str,
        step: str,
        person: User,
        chat: Chat,
        card_id: str,
        verb: str,
        data: dict[str, Any],
    ) -> dict[str, Any]:
        """Click an action as `person` and keep the card Teams shows them back."""
        status, card = await self.bot.execute(person, chat, card_id, verb, data)
        assert status == 200, (verb, status)
        return self.keep(kind, role, step, card, verb)

    def person(self, name: str, n: int) -> User:
        """A colleague whose Teams client runs in this language."""
        return User.make(name, n, LOCALES[self.lang])

    async def dialogue(self) -> None:
        """A whole session in this language, every card from every seat."""
        bot, lang, n0 = self.bot, self.lang, 100 * (LANGUAGES.index(self.lang) + 1)
        chat = Chat()
        leader = self.person("Amina Diallo", n0)
        monitor = self.person("Kenji Watanabe", n0 + 1)
        others = [self.person(f"Colleague {i}", n0 + 2 + i) for i in range(4)]
        participants = [monitor, *others]
        self.connector.set_members(chat.id, [p.member() for p in [leader, *participants]])

        assert await bot.say(leader, chat, "start") == 201
        setup_id, setup = last_card_message(self.connector, chat)
        self.keep("setup", "leader", "form", setup)
        form = {
            "entity": "DESA",
            "unit": "Statistics Division",
            "personnel": "30",
            "language": lang,
            "date": "2026-11-20",
        }
        await self.click(
            "setup", "leader", "refused", leader, chat, setup_id, "setup.submit",
            {**form, "personnel": "-3"},
        )  # fmt: skip
        view = await self.click(
            "sheet", "leader", "started", leader, chat, setup_id, "setup.submit", form
        )
        sid = card_sid(view)
        await self.click(
            "sheet", "participant", "before", others[0], chat, setup_id, "signin.view",
            {"sid": sid},
        )  # fmt: skip
        for i, person in enumerate(participants):
            card = await self.bot.execute(person, chat, setup_id, "signin", {"sid": sid})
            if i == 0:
                self.keep("sheet", "participant", "signed-in", card[1], "signin")
        sheet = await self.click(
            "sheet", "leader", "five-in", leader, chat, setup_id, "signin.view", {"sid": sid}
        )
        monitor_key = next(
            c["value"]
            for n in elements(sheet)
            if n.get("id") == "monitor_key"
            for c in n["choices"]
            if c["title"].startswith("Kenji")
        )
        await self.click(
            "sheet", "leader", "monitor-named", leader, chat, setup_id, "session.monitor",
            {"sid": sid, "monitor_key": monitor_key},
        )  # fmt: skip
        await self.click(
            "sheet", "monitor", "view", monitor, chat, setup_id, "signin.view", {"sid": sid}
        )
        await self.click(
            "sheet", "monitor", "added", monitor, chat, setup_id, "attendance.add",
            {"sid": sid, "add_name": "Phone Caller"},
        )  # fmt: skip
        await self.click(
            "sheet", "leader", "add-refused", leader, chat, setup_id, "attendance.add",
            {"sid": sid, "add_name": ""},
        )  # fmt: skip

        # The session plan, section by section, from the leader's and a participant's seat.
        agenda_id, posted = find_posted(self.connector, chat, "question.log")
        self.keep("plan", "participant", "posted", posted)
        for step in ("introduction", "opening"):
            card = await self.click(
                "plan", "leader", step, leader, chat, agenda_id, "agenda.view", {"sid": sid}
            )
            await self.click(
                "plan", "participant", step, others[1], chat, agenda_id, "agenda.view",
                {"sid": sid},
            )  # fmt: skip
            await self.bot.execute(
                leader, chat, agenda_id, "agenda.next", data_of(card, "agenda.next")
            )
        await self.click(
            "choice", "leader", "view", leader, chat, agenda_id, "agenda.view", {"sid": sid}
        )
        await self.click(
            "choice", "participant", "view", others[1], chat, agenda_id, "agenda.view",
            {"sid": sid},
        )  # fmt: skip
        await self.click(
            "choice", "leader", "refused", leader, chat, agenda_id, "scenarios.choose",
            {"sid": sid, "scenarios": "s1"},
        )  # fmt: skip
        await self.click(
            "choice", "leader", "chosen", leader, chat, agenda_id, "scenarios.choose",
            {"sid": sid, "scenarios": "s1,s2"},
        )  # fmt: skip
        await self.click(
            "plan", "participant", "question-logged", others[2], chat, agenda_id, "question.log",
            {"sid": sid, "question_text": QUESTION},
        )  # fmt: skip
        await self.bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
        scenario_id, posted = find_posted(self.connector, chat, "scenario.view")
        self.keep("scenario", "participant", "posted", posted)
        scenario = {"sid": sid, "scenario": "s1"}
        await self.click(
            "scenario", "leader", "view", leader, chat, scenario_id, "scenario.view", scenario
        )
        await self.click(
            "scenario", "monitor", "view", monitor, chat, scenario_id, "scenario.view", scenario
        )
        await self.click(
            "scenario", "participant", "view", others[1], chat, scenario_id, "scenario.view",
            scenario,
        )  # fmt: skip

        # A quick poll: the leader's controls, a participant's vote, the closed results.
        await self.bot.execute(
            leader, chat, scenario_id, "poll.open_adhoc",
            {**scenario, "poll_question": TYPED_POLL[0], "poll_options": "\n".join(TYPED_POLL[1:])},
        )  # fmt: skip
        poll_id, posted = find_posted(self.connector, chat, "poll.vote")
        poll = {"sid": sid, "poll": data_of(posted, "poll.vote")["poll"]}
        self.keep("poll", "participant", "posted", posted)
        await self.click("poll", "leader", "view", leader, chat, poll_id, "poll.view", poll)
        await self.click(
            "poll", "participant", "refused", others[0], chat, poll_id, "poll.vote", poll
        )
        for i, person in enumerate(participants):
            choice = ("Yes", "No", "Yes", "Not sure", "Yes")[i]
            status, card = await self.bot.execute(
                person, chat, poll_id, "poll.vote", {**poll, "vote": choice}
            )
            if i == 1:
                self.keep("poll", "participant", "voted", card, "poll.vote")
        await self.click("poll", "leader", "closed", leader, chat, poll_id, "poll.close", poll)
        await self.click(
            "poll", "participant", "closed", others[1], chat, poll_id, "poll.view", poll
        )

        for name in ("s1", "s2"):
            if name == "s2":
                await self.bot.execute(leader, chat, agenda_id, "scenario.next", {"sid": sid})
                scenario_id, _ = find_posted(self.connector, chat, "scenario.view")
            await self.bot.execute(
                leader, chat, scenario_id, "scenario.wrap", {"sid": sid, "scenario": name}
            )
        card = await self.click(
            "plan", "leader", "conclusion", leader, chat, agenda_id, "agenda.view", {"sid": sid}
        )
        if "agenda.next" in {a.get("verb") for a in elements(card)}:
            card = await self.click(
                "plan", "leader", "conclusion", leader, chat, agenda_id, "agenda.next",
                data_of(card, "agenda.next"),
            )  # fmt: skip
        after = await self.click(
            "plan", "leader", "concluded", leader, chat, agenda_id, "dialogue.conclude",
            {"sid": sid},
        )  # fmt: skip
        await self.click(
            "plan", "participant", "concluded", others[1], chat, agenda_id, "agenda.view",
            {"sid": sid},
        )  # fmt: skip

        # After: Appendix C (the leader), Appendix F (a participant).
        keys = data_of(after, "feedback.open")
        form_c = await self.click(
            "feedback", "leader", "form", leader, chat, agenda_id, "feedback.open", keys
        )
        answers = {**keys, **{k: str(v) for k, v in inputs(form_c).items() if v is not None}}
        answers.pop("forward_questions", None)
        await self.click(
            "feedback", "leader", "refused", leader, chat, agenda_id, "feedback.submit",
            {**answers, **GOOD_C, "c7": ""},
        )  # fmt: skip
        await self.click(
            "feedback", "leader", "stored", leader, chat, agenda_id, "feedback.submit",
            {**answers, **GOOD_C},
        )  # fmt: skip
        await self.click(
            "assessment", "participant", "form", others[1], chat, agenda_id, "assess.open", keys
        )
        await self.click(
            "assessment", "participant", "refused", others[1], chat, agenda_id, "assess.submit",
            {**keys, **GOOD_F, "f1": ""},
        )  # fmt: skip
        await self.click(
            "assessment", "participant", "stored", others[1], chat, agenda_id, "assess.submit",
            {**keys, **GOOD_F},
        )  # fmt: skip

    async def personal(self) -> None:
        """The focal point's and the Ethics Office's cards, and the help card, in this language."""
        lang, locale = self.lang, LOCALES[self.lang]
        focal, admin = replace(FOCAL, locale=locale), replace(ADMIN, locale=locale)
        chat = Chat(kind="personal", id=f"a:gallery-{lang}-{uuid.uuid4().hex[:6]}")
        await self.bot.say(focal, chat, "help", mention=False)
        self.keep("help", "focal", "command", last_card(self.connector, chat))
        await self.bot.say(focal, chat, "progress", mention=False)
        progress = self.keep("progress", "focal", "command", last_card(self.connector, chat))
        entity = data_of(progress, "focal.sessions")
        sessions = await self.click(
            "sessions", "focal", "list", focal, chat, "1", "focal.sessions", entity
        )
        await self.click(
            "sheet", "focal", "read", focal, chat, "1", "focal.sheet",
            data_of(sessions, "focal.sheet"),
        )  # fmt: skip
        await self.click(
            "certify", "focal", "preview", focal, chat, "1", "focal.certify_preview", entity
        )
        achat = Chat(kind="personal", id=f"a:gallery-admin-{lang}-{uuid.uuid4().hex[:6]}")
        await self.bot.say(admin, achat, "report", mention=False)
        self.keep("report", "admin", "command", last_card(self.connector, achat))
        await self.bot.say(admin, achat, "admin", mention=False)
        self.keep("admin", "admin", "command", last_card(self.connector, achat))
        await self.click("feedback", "admin", "list", admin, achat, "1", "admin.feedback", {})


def tag_notices(shot: Shot) -> dict[str, Any]:
    """A copy of the card whose notice containers carry ids the page can find."""
    card = copy.deepcopy(shot.card)
    ids: list[str] = []
    for n, node in enumerate(elements(card)):
        if node.get("type") == "Container" and node.get("style") in NOTICE_STYLES:
            node["id"] = node.get("id") or f"gallery-notice-{n}"
            ids.append(node["id"])
    shot.notices = ids
    return card


async def collect(bot: BotUnderTest, connector: FakeConnector) -> list[Shot]:
    """Every card of a whole Dialogue in each language, and the personal chats' cards."""
    await name_focal_points(bot, connector)
    shots: list[Shot] = []
    collectors = [Collector(bot, connector, lang) for lang in LANGUAGES]
    for collector in collectors:
        await collector.dialogue()
    await bot.flush()
    for collector in collectors:
        await collector.personal()
        shots.extend(collector.shots)
    return unique(shots)


def unique(shots: list[Shot]) -> list[Shot]:
    """Shots with unique names (a step seen twice keeps a numbered second copy)."""
    seen: dict[str, int] = {}
    for shot in shots:
        count = seen.get(shot.name, 0)
        seen[shot.name] = count + 1
        if count:
            shot.step = f"{shot.step}-{count + 1}"
    return shots


def page_html() -> str:
    """The gallery page: the renderer, the three host configs, the measuring script."""
    configs = {
        theme: json.loads((HOST_CONFIGS / f"teams-{theme}.json").read_text("utf-8"))
        for theme in THEMES
    }
    return (
        PAGE.read_text("utf-8")
        .replace("ADAPTIVECARDS_JS", RENDERER.resolve().as_uri())
        .replace("HOST_CONFIGS_JSON", json.dumps(configs))
    )


async def render(
    browser: Browser,
    shots: list[Shot],
    *,
    themes: tuple[str, ...] = THEMES,
    screenshots: bool = True,
    folder: Path = GALLERY,
) -> list[Rendered]:
    """Render every shot in every theme in one page load; measure and save each as a PNG."""
    page = await asyncio.to_thread(_write_page, folder)
    await browser.run(browser.driver.set_window_size, WIDTH + 64, MAX_SHOT + 100)
    await browser.open(page.as_uri())
    items = [
        {"id": f"{i}-{theme}", "theme": theme, "card": tag_notices(shot), "notices": shot.notices}
        for i, shot in enumerate(shots)
        for theme in themes
    ]
    measured = await browser.script("return window.renderAll(arguments[0]);", items)
    problems = [m for m in measured if m.get("errors")]
    assert not problems, problems[:5]
    out: list[Rendered] = []
    for item, m in zip(items, measured, strict=True):
        shot = shots[int(item["id"].split("-")[0])]
        rendered = Rendered(shot, item["theme"], m["height"], m["notices"], m["buttons"])
        if screenshots:
            rendered.png = await _capture(
                browser, item["id"], folder / item["theme"] / f"{shot.name}.png"
            )
        out.append(rendered)
    return out


def _write_page(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "page.html"
    page.write_text(page_html(), "utf-8")
    return page


async def _capture(browser: Browser, item_id: str, path: Path) -> Path:
    """One bubble, whole, shown alone at the top of a window taller than any card."""

    def capture() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        driver = browser.driver
        box = driver.execute_script("return window.showOnly(arguments[0]);", item_id)
        clip = {
            "x": box["x"],
            "y": box["y"],
            "width": box["width"],
            "height": max(1, min(box["height"], MAX_SHOT)),
            "scale": 1,
        }
        data = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "optimizeForSpeed": True}
        )["data"]
        path.write_bytes(base64.b64decode(data))

    await browser.run(capture)
    return path


def write_index(rendered: list[Rendered], folder: Path = GALLERY) -> None:
    """index.json: every shot with its height, notices and buttons, for people and tests."""
    index = [
        {
            "name": r.shot.name,
            "kind": r.shot.kind,
            "role": r.shot.role,
            "lang": r.shot.lang,
            "step": r.shot.step,
            "theme": r.theme,
            "verb": r.shot.verb,
            "height": r.height,
            "notices": r.notices,
            "buttons": [b["title"] for b in r.buttons],
            "png": str(r.png.relative_to(folder)) if r.png else None,
        }
        for r in rendered
    ]
    (folder / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False), "utf-8")


def heights(rendered: list[Rendered], theme: str = "light") -> Iterator[tuple[str, int]]:
    """(name, height) of each shot in one theme, tallest first."""
    rows = [(r.shot.name, r.height) for r in rendered if r.theme == theme]
    yield from sorted(rows, key=lambda row: -row[1])


async def main(argv: list[str] | None = None) -> None:
    """Collect, render and save the gallery; print the tallest cards."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GALLERY, help="folder for the PNGs")
    parser.add_argument("--themes", default=",".join(THEMES), help="comma-separated themes")
    args = parser.parse_args(argv)
    started = time.monotonic()
    azurite = Azurite(ROOT)
    azurite.start()
    connector = FakeConnector()
    await connector.start()
    env = {**bot_env(azurite, "g" + uuid.uuid4().hex[:10]), "ETHICS_ADMIN_IDS": ADMIN.aad_id}
    bot = BotUnderTest(Settings.from_env(env, dev=True), connector.url)
    await bot.start()
    try:
        shots = await collect(bot, connector)
    finally:
        await bot.stop()
        await connector.stop()
        azurite.stop()
    browser = Browser(width=WIDTH + 64, height=900)
    try:
        rendered = await render(
            browser, shots, themes=tuple(args.themes.split(",")), folder=args.out
        )
    finally:
        browser.close()
    write_index(rendered, args.out)
    took = time.monotonic() - started
    print(f"{len(shots)} cards, {len(rendered)} PNGs in {args.out} ({took:.0f} s)")
    for name, height in list(heights(rendered))[:12]:
        print(f"{height:6d} px  {name}")


if __name__ == "__main__":
    asyncio.run(main())
