"""The scenario videos of a cycle (the guide: "Play the video on this link"): admins set an
https link per video scenario; anything else is refused, and the rest of the cycle stays."""

from __future__ import annotations

import pytest

from dialogs.directory import parse_https_url
from dialogs.errors import InvalidInput, NotAllowed

VIDEO = "https://media.un.org/en/asset/k1x/k1xyz2023"


@pytest.mark.parametrize(
    "raw",
    [
        "http://media.un.org/x",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://",
        "https:///path",
        "https://user:pw@evil.example/x",
        "https://evil.example/a b",
        'https://evil.example/"onmouseover',
        "https://evil.example:99999/x",
        "media.un.org/x",
        "https://x.example/" + "a" * 500,
        "",
        None,
        ["https://media.un.org/x"],
    ],
)
def test_only_an_https_web_address_is_a_video_link(raw):
    assert parse_https_url(raw) is None


def test_an_https_link_is_kept_as_typed_without_the_spaces_around():
    assert parse_https_url(f"  {VIDEO}\n") == VIDEO
    assert parse_https_url("https://media.un.org:443/v?id=3#t=10") is not None


async def test_admins_set_and_clear_a_video_and_the_rest_of_the_cycle_stays(directory, admin):
    before = await directory.cycle()
    cycle = await directory.set_videos(admin, {"video_s3": VIDEO, "video_s1": VIDEO}, ["s3"])
    # Only the scenarios named (the cycle's video scenarios) take a link.
    assert dict(cycle.videos) == {"s3": VIDEO}
    assert (cycle.year, cycle.pack, cycle.deadline) == (before.year, before.pack, before.deadline)
    assert dict(await directory.videos()) == {"s3": VIDEO}
    # Setting the cycle keeps the videos; a card without the field keeps the link too.
    await directory.set_cycle(
        admin, {"cycle_year": "2027", "cycle_pack": "2023", "cycle_deadline": "2027-12-31"}
    )
    assert dict(await directory.videos()) == {"s3": VIDEO}
    await directory.set_videos(admin, {}, ["s3"])
    assert dict(await directory.videos()) == {"s3": VIDEO}
    await directory.set_videos(admin, {"video_s3": "  "}, ["s3"])
    assert dict(await directory.videos()) == {}
    actions = [entry.action for entry in await directory.audit_log(admin)]
    assert actions.count("cycle.videos") == 2


async def test_a_bad_link_or_a_non_admin_changes_nothing(directory, admin, persons):
    with pytest.raises(NotAllowed):
        await directory.set_videos(persons[2], {"video_s3": VIDEO}, ["s3"])
    with pytest.raises(InvalidInput) as refused:
        await directory.set_videos(admin, {"video_s3": "http://media.un.org/x"}, ["s3"])
    assert (refused.value.key, refused.value.fields["field"]) == ("error.https_url", "video")
    assert dict(await directory.videos()) == {}
