"""Calls through the SFU when things change under them: sockets dropping and coming back, peers
timing out, failed legs replaced, a screen shared. Real media node, aiortc bots."""

from __future__ import annotations

import asyncio

import pytest

from tests.media.peers import wait_until

from .sfu_bots import SFU_GRACE, SfuBot, SfuCallServer, sfu_server

__all__ = ["sfu_server"]

pytestmark = pytest.mark.timeout(30)


async def board(server: SfuCallServer, *names: str, publish: bool = True) -> list[SfuBot]:
    bots = []
    for name in names:
        bot = await server.bot(name, room_kind="board")
        assert (await bot.page.join())["mode"] == "sfu"
        if publish:
            assert (await bot.publish())["ok"]
        bots.append(bot)
    return bots


def peers_offered(bot: SfuBot) -> set[str]:
    return {t["peer_id"] for t in bot.offers[-1]["tracks"].values()}


async def test_media_outlives_a_dropped_socket_and_a_missed_offer_comes_after_the_rejoin(
    sfu_server: SfuCallServer,
) -> None:
    alice, bob = await board(sfu_server, "alice", "bob")
    await bob.wait_for_video(alice.peer_id, within=8)

    await bob.page.client.disconnect()
    video = bob.video_from(alice.peer_id)
    assert video is not None
    before = video.frames
    (carol,) = await board(sfu_server, "carol")  # bob's offer for carol's tracks waits
    await wait_until(lambda: video.frames > before + 5, within=3)  # still flowing meanwhile
    assert not bob.video_from(carol.peer_id)

    await bob.page.reconnect()
    assert (await bob.page.join())["mode"] == "sfu"
    await bob.wait_for_video(carol.peer_id, within=5)
    assert peers_offered(bob) == {alice.peer_id, carol.peer_id}
    await alice.page.nothing("peer-left", wait=0.0)


async def test_a_peer_timing_out_ends_its_tracks_for_the_others(
    sfu_server: SfuCallServer,
) -> None:
    alice, bob = await board(sfu_server, "alice", "bob")
    await alice.wait_for_video(bob.peer_id, within=8)
    offers = len(alice.offers)

    assert await sfu_server.namespace.drop_peer(bob.peer_id)
    assert await alice.page.next("peer-left", within=SFU_GRACE + 3) == {
        "peer_id": bob.peer_id, "reason": "timeout"}
    await wait_until(lambda: len(alice.offers) > offers, within=3)
    assert peers_offered(alice) == set()


async def test_a_replaced_subscribe_leg_gets_a_fresh_offer(sfu_server: SfuCallServer) -> None:
    alice, bob = await board(sfu_server, "alice", "bob")
    await bob.wait_for_video(alice.peer_id, within=8)
    first = bob.offers[-1]["description"]["sdp"]

    assert await bob.resubscribe() == {"ok": True}
    await bob.wait_for_video(alice.peer_id, within=5)
    assert bob.offers[-1]["description"]["sdp"] != first


async def test_a_restarted_publish_leg_reaches_the_others_again(
    sfu_server: SfuCallServer,
) -> None:
    alice, bob = await board(sfu_server, "alice", "bob")
    await bob.wait_for_video(alice.peer_id, within=8)

    assert (await alice.publish(restart=True))["ok"]
    await wait_until(lambda: sum(d.kind == "video" and d.peer_id == alice.peer_id
                                 for d in bob.decoded) == 2, within=5)
    latest = [d for d in bob.decoded if d.kind == "video"][-1]
    await wait_until(lambda: latest.frames > 0, within=5)
    assert len(bob.offers[-1]["tracks"]) == 2


async def test_a_shared_screen_is_offered_as_the_screen(sfu_server: SfuCallServer) -> None:
    alice, bob = await board(sfu_server, "alice", "bob")
    await bob.wait_for_video(alice.peer_id, within=8)

    ack = await alice.page.call("state", {"screen": True, "screen_stream": "screen-1"})
    assert ack["ok"]
    alice.add_screen("screen-1")
    assert (await alice.renegotiate())["ok"]

    await wait_until(lambda: "screen" in {t["source"] for t in bob.offers[-1]["tracks"].values()}
                     and len(bob.answered_at) == len(bob.offers), within=5)
    screen = [(mid, t) for mid, t in bob.offers[-1]["tracks"].items() if t["source"] == "screen"]
    assert [t["stream_id"] for _, t in screen] == ["screen-1"]
    await wait_until(lambda: sum(d.kind == "video" and d.frames > 0 for d in bob.decoded) == 2,
                     within=5)
    await asyncio.sleep(0)


def msid_track_ids(sdp: str) -> list[str]:
    """The track id of every `a=msid:<stream> <track>` line, in order."""
    return [line.split()[-1] for line in sdp.splitlines() if line.startswith("a=msid:")]


async def test_offers_after_a_publish_restart_never_repeat_a_track_id(
    sfu_server: SfuCallServer,
) -> None:
    # Chromium refuses an offer with two `a=msid` lines for one track id; the old connection's
    # m= sections stay in the subscriber's offers (inactive), so new tracks need new ids.
    alice, bob = await board(sfu_server, "alice", "bob")
    await bob.wait_for_video(alice.peer_id, within=8)
    first_ids = set(msid_track_ids(bob.offers[-1]["description"]["sdp"]))
    offers, decoded = len(bob.offers), len(bob.decoded)

    assert (await alice.publish(restart=True))["ok"]
    await wait_until(lambda: len(bob.offers) > offers and len(bob.offers[-1]["tracks"]) == 2
                     and len(bob.answered_at) == len(bob.offers), within=5)
    for offer in bob.offers[offers:]:
        ids = msid_track_ids(offer["description"]["sdp"])
        assert len(ids) == len(set(ids)), ids
    latest_ids = set(msid_track_ids(bob.offers[-1]["description"]["sdp"]))
    assert len(latest_ids - first_ids) == 2  # the new connection's audio and video
    await wait_until(lambda: any(d.kind == "video" and d.peer_id == alice.peer_id
                                 and d.frames > 0 for d in bob.decoded[decoded:]), within=5)
