"""The card of an anonymous poll: the question, the voter's own answer, the final tally."""

from __future__ import annotations

from typing import Any

from bot.teams.refresh import Audience
from bot.teams.replies import Notice, Replies, plain
from cards import charts
from cards.charts import Point
from cards.renderer import Card, CardRenderer
from dialogs.common import directors, is_director
from dialogs.polls import PollService, Tally, VoteResult, results_shown
from storage.records import Person, PollRecord, SessionRecord


class PollViews:
    """Reads a poll's tally and the person's own vote, and renders the poll card."""

    def __init__(self, renderer: CardRenderer, replies: Replies, polls: PollService) -> None:
        self._renderer = renderer
        self._replies = replies
        self._polls = polls

    async def poll(
        self,
        session: SessionRecord,
        poll: PollRecord,
        lang: str,
        *,
        person: Person | None = None,
        notice: Notice | None = None,
        vote: VoteResult | None = None,
        audience: Audience | None = None,
    ) -> Card:
        """A poll as a person sees it (their own vote, results once closed), or the shared view.

        `vote`: the person's vote just stored, with the tally it was counted in.
        """
        # The facilitator runs the poll as the leader does: the leader's view, and no vote.
        leader = person is not None and is_director(session, person.aad_id)
        my_vote: list[int] | None
        if vote is not None:
            my_vote, tally = vote.choices, vote.tally
        else:
            my_vote = await self._polls.my_vote(poll, person) if person and not leader else None
            tally = await self._polls.tally(poll)
        return self.poll_card(
            session,
            poll,
            tally,
            lang,
            leader=leader,
            my_vote=my_vote,
            personal=person is not None,
            notice=notice,
            audience=audience if person is None else None,
        )

    async def shared_poll(
        self, session: SessionRecord, poll_id: str, audience: Audience | None = None
    ) -> tuple[str, Card] | None:
        """The shared poll card in the session's language."""
        poll = await self._polls.get(session, poll_id)
        if not poll.card_id:
            return None
        return poll.card_id, await self.poll(session, poll, session.language, audience=audience)

    def poll_card(
        self,
        session: SessionRecord,
        poll: PollRecord,
        tally: Tally,
        lang: str,
        *,
        leader: bool,
        my_vote: list[int] | None,
        personal: bool,
        notice: Notice | None = None,
        audience: Audience | None = None,
    ) -> Card:
        """A poll: the choice, the voter's own answer, and the final tally once closed.

        Nobody, the leader included, sees counts while the poll is open: counts that move with
        each vote would let anyone looking twice (or watching people click) match votes to
        people. Below the minimum of voters the final tally is not shown either.
        """
        closed = poll.status != "open"
        # Counts only once closed (they no longer move), and never below the minimum.
        show_results = results_shown(poll, tally)
        if show_results:
            hidden_text = ""
        elif closed:
            hidden_text = self._text(lang, "poll.too_few")
        else:
            hidden_text = self._text(lang, "poll.hidden_leader" if leader else "poll.hidden")
        # The bars are written only where they are shown: an open poll has none.
        counts = [tally.counts[i] if i < len(tally.counts) else 0 for i in range(len(poll.options))]
        points = (
            [
                Point(
                    label=option,
                    value=count,
                    text=self._text(
                        lang,
                        "poll.bar",
                        option=plain(option),
                        count=count,
                        percent=round(100 * count / tally.voters) if tally.voters else 0,
                    ),
                )
                for option, count in zip(poll.options, counts, strict=True)
            ]
            if show_results
            else []
        )
        mine = [plain(poll.options[i]) for i in my_vote or [] if 0 <= i < len(poll.options)]
        can_vote = not closed and not leader
        data = {
            "sid": session.session_id,
            "poll_id": poll.poll_id,
            # The shared card asks Teams for each listed person's own view (their vote).
            "refresh": (
                (list(audience.ids) if audience else [p.mri for p in directors(session) if p.mri])
                or None
            )
            if not personal
            else None,
            "refresh_hint": audience is not None and not audience.complete,
            "question": plain(poll.question),
            "notice": self._replies.banner(lang, notice),
            "can_vote": can_vote,
            "multiple": poll.multiple,
            "vote_label": self._text(
                lang, "poll.vote_label_multi" if poll.multiple else "poll.vote_label"
            ),
            "vote_button": self._text(
                lang, "poll.change_vote" if my_vote is not None else "poll.vote"
            ),
            "my_vote": ",".join(str(v) for v in my_vote) if my_vote else None,
            "options": [{"title": plain(o), "value": str(i)} for i, o in enumerate(poll.options)],
            "tally": {"count": tally.voters},
            "my_choice": self._text(lang, "poll.your_vote", choice=", ".join(mine))
            if mine
            else None,
            "hidden": hidden_text or None,
            # Teams draws the chart; clients without charts show its bars (the fallback).
            "chart": charts.horizontal_bar(points, title=self._text(lang, "poll.chart_title"))
            if show_results
            else None,
            "closed": closed and show_results,
            "show": {
                # Showing results closes the poll: the Close button does both.
                "reveal": False,
                "close": leader and not closed,
                "use_order": leader
                and closed
                and poll.kind == "choice"
                and session.scenario_index < 0,
                "my_view": not personal and not closed,
            },
        }
        return self._renderer.render("poll", data, lang)

    def _text(self, lang: str, key: str, **fields: Any) -> str:
        return self._renderer.text(lang, key, **fields)
