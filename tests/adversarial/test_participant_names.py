"""A leader or monitor adds the same person again under a name that only looks the same.

Invisible characters (word joiner, right-to-left override, zero-width space, BOM: Unicode
category Cf) and letters of another script that look like Latin ones (Cyrillic а, Greek ο)
would otherwise make a second row for the same person and inflate every count derived from the
sheet: the session's participants, the entity's roll-up, Appendix E.
"""

from __future__ import annotations

import pytest

from dialogs.names import name_skeleton, strip_invisible
from testing.flows import rows, shared_card, start_session
from testing.teams import Chat, User, card_sid, card_text

SAME_PERSON = [
    "Jane Doe",
    "Jane\u2060 Doe",  # word joiner
    "\u202eJane Doe",  # right-to-left override
    "J\u0430ne Doe",  # Cyrillic а
    "Jane D\u03bfe",  # Greek ο
    "\ufeffJa\u200bne \u200dDoe\u200e",  # BOM, zero-width space and joiner, left-to-right mark
    "JANE DOE",
    "Ｊａｎｅ Ｄｏｅ",  # fullwidth
    "\u0408\u0430n\u0435 D\u043e\u0435",  # Cyrillic Ј, а, е, о
]


async def test_look_alike_names_are_one_row_and_count_once(bot, connector, people):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    for name in SAME_PERSON[:8]:
        await bot.execute(leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": name})
    stored = [r for r in await rows(bot, "attendance") if r["Source"] == "added"]
    assert [r["Name"] for r in stored] == ["Jane Doe"], "one person, one row"
    await bot.flush()
    session = (await rows(bot, "sessions"))[0]
    assert session["Participants"] == 1
    await shared_card(connector, chat, card_id, "1 participant signed in")


async def test_a_stored_name_holds_no_invisible_characters(bot, connector, people):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    _, card = await bot.execute(
        leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": "\u202eMa\u2060ry Roe"}
    )
    assert "Mary Roe is on the sheet" in card_text(card)
    (row,) = [r for r in await rows(bot, "attendance") if r["Source"] == "added"]
    assert row["Name"] == "Mary Roe"


async def test_a_name_of_invisible_characters_only_is_refused(bot, connector, people):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    _, card = await bot.execute(
        leader, chat, card_id, "attendance.add", {"sid": sid, "add_name": "\u200b\u2060\u202e"}
    )
    assert "required" in card_text(card)
    assert not [r for r in await rows(bot, "attendance") if r["Source"] == "added"]


async def test_a_signed_in_person_is_not_added_again_under_a_look_alike(bot, connector, people):
    chat, leader, participant = Chat(), people[0], people[3]  # Olena Kovalenko
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    await bot.execute(participant, chat, card_id, "signin", {"sid": sid})
    _, card = await bot.execute(
        leader,
        chat,
        card_id,
        "attendance.add",
        {"sid": sid, "add_name": "\u041el\u0435n\u0430 K\u03bfvalenko"},
    )
    assert "already on the sheet" in card_text(card)
    assert len(await rows(bot, "attendance")) == 1


@pytest.mark.parametrize("name", SAME_PERSON)
def test_every_look_alike_has_the_same_skeleton(name):
    assert name_skeleton(name) == name_skeleton("Jane Doe")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Jane Doe", "Jane Dole"),
        ("José Ramírez", "Jose Ramirez"),  # accents are part of the name
        ("Ivan Petrov", "Иван Петров"),  # a name written in Cyrillic is not a look-alike
        ("Mei Lin", "Mei Lin Wang"),
    ],
)
def test_different_names_stay_different(one, other):
    assert name_skeleton(one) != name_skeleton(other)


def test_free_text_keeps_the_joiners_that_scripts_and_emoji_need():
    # ZWNJ in Persian, ZWJ in a family emoji: visible meaning, not a disguise.
    persian, family = "می\u200cخواهم", "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert strip_invisible(persian) == persian and strip_invisible(family) == family
    assert strip_invisible("a\u202eb\u2066c\ufeffd\u2060e") == "abcde"


async def test_a_teams_display_name_is_stored_without_invisible_characters(bot, connector, people):
    chat, leader = Chat(), people[0]
    card_id, view = await start_session(bot, connector, chat, leader)
    sid = card_sid(view)
    disguised = User.make("\u202eKenji\u2060 Watanabe\u200b", 1)
    await bot.execute(disguised, chat, card_id, "signin", {"sid": sid})
    (row,) = await rows(bot, "attendance")
    assert row["Name"] == "Kenji Watanabe"
