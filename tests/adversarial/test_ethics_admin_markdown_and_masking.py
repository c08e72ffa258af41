"""What people type reaches the Ethics Office: shown as typed, never as live Markdown.

Teams renders a subset of Markdown in a card's TextBlock and FactSet texts: a link typed into an
extension reason would reach the admins as a working link ("click here to grant"), `**` as bold.
Every value a person supplied is escaped when bound into card text; only the year's content pack
and the catalogs are Markdown the bot trusts.
"""

from __future__ import annotations

import re
from typing import Any

from cards.templating import Markdown, escape_markdown
from tests.flows import start_session
from tests.support.teams import Chat, card_sid, elements
from tests.test_rollup import ADMIN, FOCAL, name_focal_points

LINK = "[click](https://evil.example)"
REASON = f"{LINK} to approve **now**, see <https://evil.example/x> or https://evil.example"
HOSTILE_NAME = "**Boss** [x](https://evil.example)"
# An escaped character (backslash and ASCII punctuation) shows as the character itself.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_LIVE = re.compile(
    r"\[[^\]\n]*\]\(|\*\*|__|<https?:|^[ \t]*#|https?://|www\.", re.IGNORECASE | re.MULTILINE
)


def markdown_texts(card: dict[str, Any] | None) -> list[str]:
    """Every string of a card that Teams renders as Markdown: TextBlock and fact texts."""
    texts = []
    for node in elements(card):
        if node.get("type") == "TextBlock" and isinstance(node.get("text"), str):
            texts.append(node["text"])
        if node.get("type") == "FactSet":
            for fact in node.get("facts") or []:
                texts += [fact.get("title", ""), fact.get("value", "")]
    return texts


def live_markdown(text: str) -> list[str]:
    """The Markdown a renderer would act on in this text (escaped characters are literal)."""
    return _LIVE.findall(_ESCAPED.sub("", text))


def shown(text: str) -> str:
    """The text as a person reads it once the escapes are rendered."""
    return _ESCAPED.sub(r"\1", text)


def assert_literal(cards: list[dict[str, Any]], typed: str) -> None:
    """Some card shows `typed` word for word, and no card holds live Markdown."""
    texts = [t for card in cards for t in markdown_texts(card)]
    assert any(typed in shown(t) for t in texts), f"nobody sees {typed!r} as typed"
    live = [(t, live_markdown(t)) for t in texts if live_markdown(t)]
    assert not live, f"live Markdown on a card: {live}"


async def test_an_extension_reason_reaches_the_admins_without_a_link(start_bot, connector):
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    await name_focal_points(bot, connector)
    admin_chat = Chat(kind="personal", id="a:admin-md")
    await bot.say(ADMIN, admin_chat, "report", mention=False)  # the bot now knows how to reach her
    personal = Chat(kind="personal", id="a:focal-md")
    _, card = await bot.execute(
        FOCAL, personal, "1", "focal.extension", {"entity": "DESA", "reason": REASON}
    )
    await bot.flush()
    notified = [c for c in connector.cards() if "evil" in str(c)]
    assert notified, "the admin was not told"
    assert_literal(notified, LINK)
    assert_literal([card], "")  # the focal point's own card
    await bot.say(ADMIN, admin_chat, "report", mention=False)
    report = connector.cards(admin_chat.id)[-1]
    assert_literal([report], LINK)


async def test_a_typed_name_with_markdown_shows_as_typed(bot, connector, people):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    _, card = await bot.execute(
        leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": HOSTILE_NAME}
    )
    assert_literal([card], HOSTILE_NAME)
    _, card = await bot.execute(
        leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": HOSTILE_NAME}
    )
    assert_literal([card], HOSTILE_NAME)  # "already on the sheet" names it too
    await bot.flush()
    assert_literal(connector.cards(chat.id), "")  # the shared cards too


def test_escaping_is_idempotent_and_leaves_trusted_markdown_alone():
    once = escape_markdown(REASON)
    assert escape_markdown(once) == once
    assert shown(once) == REASON and not live_markdown(once)
    assert escape_markdown(Markdown("**Omar**: hello")) == "**Omar**: hello"
    assert shown(escape_markdown("# h")) == "# h" and not live_markdown(escape_markdown("# h"))
    # Already escaped by hand, or a backslash typed on purpose: never a way back to Markdown.
    for sneaky in ("\\[x\\](https://e.example)", "\\\\[x](https://e.example)", "\\**b**"):
        assert not live_markdown(escape_markdown(sneaky)), sneaky
