"""What people type reaches the Ethics Office: shown as typed, never as live Markdown.

Teams renders a subset of Markdown in a card's TextBlock and FactSet texts: a link typed into an
extension reason would reach the admins as a working link ("click here to grant"), `**` as bold.
Every value a person supplied is escaped when bound into card text; only the year's content pack
and the catalogs are Markdown the bot trusts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cards.templating import Markdown, escape_markdown
from dialogs.names import NAME_MASK, NameMask
from testing.flows import ADMIN, FOCAL, name_focal_points, rows, run_to_conclusion, start_session
from testing.teams import Chat, User, card_sid, card_text, elements, inputs

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
    # An escaped character still takes its place: "\\<#" is "<#", no heading.
    return _LIVE.findall(_ESCAPED.sub("x", text))


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


# Names, reasons and comments as someone set on breaking a card might type them.
RISKY_TEXT = st.text(
    alphabet=st.sampled_from(list("wW.:/#\\*_[]<>~()!-' \n\tx\u00a0é")), max_size=40
)


@settings(max_examples=600, deadline=None)
@given(RISKY_TEXT)
def test_any_typed_text_shows_as_typed_and_never_as_markdown(typed):
    escaped = escape_markdown(typed)
    assert escape_markdown(escaped) == escaped
    assert not live_markdown(escaped), escaped
    if "\\" not in typed:  # a typed escape pair is kept as such, so it shows as its character
        assert shown(escaped) == typed


# --------------------------------------------------------------------------- names masked

# Participants of the session below: Kenji Watanabe, Sofía Ramírez, Olena Kovalenko, Thabo Nkosi,
# and Joseph Mwangi, added by name (joined by phone). The leader is Amina Diallo.
NAMING_QUESTION = (
    "Why did Kenji Watanabe and sofia say Thabo's team hides posts? "
    "Ask J\u043eseph, or OLENA KOVALENKO."  # a Cyrillic о in Joseph
)
NAMING_COMMENT = "Ramírez and Kenji spoke most; Mwangi was quiet. A grace period was discussed."
PARTICIPANT_WORDS = ("Kenji", "Watanabe", "Sof", "Ramírez", "Thabo", "seph", "Olena", "OLENA")


async def naming_session(start_bot, connector, people):
    """A held session whose logged question names participants; the bot and its keys."""
    bot = await start_bot(ETHICS_ADMIN_IDS=ADMIN.aad_id)
    chat, leader = Chat(), people[0]
    # Joseph joined by phone: the leader adds him by name during the session.
    sid, agenda_id, keys = await run_to_conclusion(
        bot,
        connector,
        chat,
        leader,
        people[1:5],
        question=NAMING_QUESTION,
        named=("Joseph Mwangi",),
    )
    return bot, chat, leader, agenda_id, keys


def names_in(text: str) -> list[str]:
    """The participants' names (or parts of them) found in a text."""
    return [word for word in PARTICIPANT_WORDS if word.lower() in text.lower()]


async def test_forwarded_questions_reach_the_queue_without_participants_names(
    start_bot, connector, people
):
    bot, chat, leader, agenda_id, keys = await naming_session(start_bot, connector, people)
    _, card = await bot.execute(leader, chat, agenda_id, "questions.forward", keys)
    assert "1 question was sent to the Ethics Office" in card_text(card)

    (queued,) = await rows(bot, "ethicsqueue")
    assert not names_in(queued["Text"]), "the Ethics Office's queue holds a participant's name"
    assert "hides posts" in queued["Text"] and "team" in queued["Text"]
    # The session's own record, the leader's, keeps the question as it was logged.
    assert [q["Text"] for q in await rows(bot, "questions")] == [NAMING_QUESTION]

    admin_chat = Chat(kind="personal", id="a:admin-queue")
    await bot.say(ADMIN, admin_chat, "questions", mention=False)
    queue = connector.cards(admin_chat.id)[-1]
    text = "\n".join(shown(t) for t in markdown_texts(queue))
    assert not names_in(text)
    assert "Why did [name] and [name] say [name]'s team hides posts? Ask [name], or [name]." in text
    assert "Amina Diallo" in text, "the leader is named on purpose, so the reply reaches her"

    french = User.make("Layla Haddad", 500, locale="fr-FR")
    await bot.say(french, admin_chat, "questions", mention=False)
    assert "[nom]" in shown(card_text(connector.cards(admin_chat.id)[-1]))


async def test_appendix_c_comments_reach_the_ethics_office_without_participants_names(
    start_bot, connector, people
):
    bot, chat, leader, agenda_id, keys = await naming_session(start_bot, connector, people)
    _, form = await bot.execute(leader, chat, agenda_id, "feedback.open", keys)
    submitted = {**keys, **{k: str(v) for k, v in inputs(form).items() if v is not None}}
    submitted.pop("forward_questions", None)
    _, card = await bot.execute(
        leader,
        chat,
        agenda_id,
        "feedback.submit",
        {**submitted, "c7": "4", "c9": "5", "c10": NAMING_COMMENT, "c13": "Thabo Nkosi: thanks"},
    )
    assert "Appendix C is stored" in card_text(card)
    (version,) = await rows(bot, "leaderfeedback")
    assert NAMING_COMMENT in json.dumps(version, ensure_ascii=False, default=str), (
        "the leader's record changed"
    )

    admin_chat = Chat(kind="personal", id="a:admin-feedback")
    _, summary = await bot.execute(ADMIN, admin_chat, "1", "admin.feedback", {})
    text = "\n".join(shown(t) for t in markdown_texts(summary))
    assert "[name] and [name] spoke most; [name] was quiet. A grace period was discussed." in text
    assert "[name]: thanks" in text
    assert not names_in(text) and "Amina Diallo" not in text


def test_the_mask_spares_ordinary_words_and_short_name_parts():
    mask = NameMask(["Grace Mensah", "Mei Lin", "Ana van der Berg", "Liam O'Connor", "Li Na"])

    def masked(text: str) -> str:
        return mask.apply(text).replace(NAME_MASK, "[name]")

    assert masked("A grace period, then Grace spoke") == "A grace period, then [name] spoke"
    assert masked("mei lin and MENSAH") == "[name] and [name]"
    assert masked("the van broke down; Berg and Ana") == "the van broke down; [name] and [name]"
    assert masked("O'Connor's point") == "[name]'s point"
    assert masked("Li Na asked, Li agreed, na") == "[name] asked, Li agreed, na"
    assert masked("Nothing to hide") == "Nothing to hide"
