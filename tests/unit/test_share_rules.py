"""The Ethics Office's answer back to the team, on the fakes: only the session's leader shares
it, only once answered, once however often they click; a failed post hands the claim back.

The FAQ: "After your consultation, you can go back to your staff and share helpful information."
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogs.errors import InvalidInput, NoSession, NotAllowed
from storage import WriteConflict


@pytest.fixture
async def forwarded(start, dialogue, queue, signin, persons, store):
    """A session's question naming a participant, forwarded; the queue item."""
    session = (await start()).session
    await signin.sign_in(session, persons[1], {})
    await dialogue.log_question(
        session, {"question_text": f"As {persons[1].name} asked: may I like a post?"}
    )
    await queue.forward(session, session.leader, await dialogue.questions(session))
    (item,) = await store.queue.for_cycle(2026)
    return item


async def test_the_leader_shares_an_answered_question_once(
    forwarded, queue, admin, leader, persons, clock, store
):
    await queue.answer(admin, 2026, forwarded.key, {"reply": "Yes, impartially."})
    clock.advance(60)
    item, session, claimed = await queue.share(leader, "2026", forwarded.key)
    assert claimed and item.shared_at == clock() and session.session_id == item.session_id
    # What is shared is the queue's text: the participant's name is masked there.
    assert persons[1].name not in item.text and item.reply == "Yes, impartially."
    again, _, claimed_again = await queue.share(leader, 2026, forwarded.key)
    assert not claimed_again and again.shared_at == item.shared_at
    stored = await store.queue.get(2026, forwarded.key)
    assert stored.shared_at == item.shared_at


async def test_only_the_leader_shares_and_only_an_answered_known_question(
    forwarded, queue, admin, leader, persons, store
):
    with pytest.raises(InvalidInput) as refused:
        await queue.share(leader, 2026, forwarded.key)  # not answered yet
    assert refused.value.key == "error.unknown_question"
    await queue.answer(admin, 2026, forwarded.key, {"reply": "Yes."})
    for caller in (persons[1], admin):
        with pytest.raises(NotAllowed) as refused:
            await queue.share(caller, 2026, forwarded.key)
        assert refused.value.key == "error.leader_only"
    for cycle, key in ((2026, "unknown"), (2025, forwarded.key), ("x", forwarded.key)):
        with pytest.raises(InvalidInput):
            await queue.share(leader, cycle, key)
    for cycle, key in ((True, forwarded.key), (2026, ["k"]), (2026, "k" * 101)):
        with pytest.raises(InvalidInput):
            await queue.share(leader, cycle, key)
    assert (await store.queue.get(2026, forwarded.key)).shared_at is None


async def test_a_session_gone_is_refused_without_a_word_of_the_question(
    forwarded, queue, admin, leader, store
):
    await queue.answer(admin, 2026, forwarded.key, {"reply": "Yes."})
    item = await store.queue.get(2026, forwarded.key)
    await store.queue.save(replace(item, session_id="gone"))
    with pytest.raises(NoSession):
        await queue.share(leader, 2026, forwarded.key)


async def test_a_failed_post_hands_the_claim_back_so_the_leader_can_retry(
    forwarded, queue, admin, leader, store
):
    await queue.answer(admin, 2026, forwarded.key, {"reply": "Yes."})
    item, _, claimed = await queue.share(leader, 2026, forwarded.key)
    assert claimed
    await queue.unshare(item)
    assert (await store.queue.get(2026, forwarded.key)).shared_at is None
    _, _, claimed = await queue.share(leader, 2026, forwarded.key)
    assert claimed


async def test_two_clicks_at_once_share_once(forwarded, queue, admin, leader, store, monkeypatch):
    await queue.answer(admin, 2026, forwarded.key, {"reply": "Yes."})
    real_save = store.queue.save
    first = True

    async def other_click_first(item):
        nonlocal first
        if first:
            first = False
            # The other click's claim lands between this click's read and its write.
            current = await store.queue.get(item.cycle, item.key)
            await real_save(replace(current, shared_at=item.shared_at))
            raise WriteConflict("changed meanwhile")
        return await real_save(item)

    monkeypatch.setattr(store.queue, "save", other_click_first)
    _, _, claimed = await queue.share(leader, 2026, forwarded.key)
    assert not claimed
