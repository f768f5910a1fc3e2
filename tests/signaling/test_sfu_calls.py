"""Calls through the SFU end to end: `/call` with an in-process media node and aiortc bots that
publish, answer subscription offers and decode what they receive. Nothing is mocked."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.media.peers import wait_until

from .conftest import OFFER_SDP, CallServer, assert_relays
from .sfu_bots import SfuBot, SfuCallServer, sfu_server

__all__ = ["sfu_server"]

pytestmark = pytest.mark.timeout(30)


async def join(bot: SfuBot) -> dict[str, object]:
    ack = await bot.page.join()
    assert ack["ok"], ack
    return ack


async def test_a_third_peer_moves_a_consultation_to_the_sfu_and_everyone_sees_everyone(
    sfu_server: SfuCallServer,
) -> None:
    alice, bob, carol = [await sfu_server.bot(name) for name in ("alice", "bob", "carol")]
    assert (await join(alice))["mode"] == "p2p"
    assert (await join(bob))["mode"] == "p2p"
    assert (await join(carol))["mode"] == "sfu"
    for earlier in (alice, bob):
        assert await earlier.page.next("mode") == {"mode": "sfu"}
        # Told before the newcomer arrives, so nobody opens a P2P connection to it.
        assert earlier.page.order[-2:] == ["mode", "peer-joined"]
    await carol.page.nothing("mode", wait=0.0)

    started = time.monotonic()
    for bot in (alice, bob, carol):
        ack = await bot.publish()
        assert ack["ok"] and ack["description"]["type"] == "answer", ack
    for bot, others in ((alice, (bob, carol)), (bob, (alice, carol)), (carol, (alice, bob))):
        await bot.wait_for_video(*(o.peer_id for o in others), within=8)
    print(f"three bots decode each other through the SFU {time.monotonic() - started:.1f}s "
          "after publishing")

    for bot in (alice, bob, carol):
        tracks = [t for offer in bot.offers for t in offer["tracks"].values()]
        assert {t["peer_id"] for t in tracks} == {b.peer_id for b in (alice, bob, carol)} - {
            bot.peer_id}
        assert {(t["kind"], t["source"]) for t in tracks} == {("audio", "camera"),
                                                               ("video", "camera")}


async def test_a_board_is_sfu_from_the_first_joiner_and_a_late_joiner_sees_at_once(
    sfu_server: SfuCallServer,
) -> None:
    chair = await sfu_server.bot("chair", room_kind="board")
    assert (await join(chair))["mode"] == "sfu"
    assert (await chair.publish())["ok"]
    speaker = await sfu_server.bot("speaker", room_kind="board")
    assert (await join(speaker))["mode"] == "sfu"
    assert (await speaker.publish())["ok"]
    await chair.wait_for_video(speaker.peer_id, within=8)
    await speaker.wait_for_video(chair.peer_id, within=8)

    late = await sfu_server.bot("late", room_kind="board", publish=False)
    assert (await join(late))["mode"] == "sfu"
    await late.wait_for_media(chair.peer_id, speaker.peer_id, within=5)
    # Its first offer carried two tracks of each kind, and all four arrived on the one bundled
    # transport (browsers bundle; aiortc's default policy once left the second pair aside).
    assert len(late.offers[0]["tracks"]) == 4
    answered = late.answered_at[0]
    for publisher in (chair, speaker):
        video = late.video_from(publisher.peer_id)
        assert video is not None and video.first_at is not None
        print(f"late joiner: first frame of {publisher.page.user_id} "
              f"{video.first_at - answered:.2f}s after answering")
        assert video.first_at - answered < 1.5

    # The speaker leaves: the others get an offer without its tracks.
    before = {bot.peer_id: len(bot.offers) for bot in (chair, late)}
    assert await speaker.page.call("leave") == {"ok": True}
    for bot in (chair, late):
        await wait_for_offers(bot, before[bot.peer_id] + 1)
        assert speaker.peer_id not in {t["peer_id"] for t in bot.offers[-1]["tracks"].values()}
    assert {t["peer_id"] for t in late.offers[-1]["tracks"].values()} == {chair.peer_id}
    assert chair.offers[-1]["tracks"] == {}


async def wait_for_offers(bot: SfuBot, count: int) -> None:
    await wait_until(lambda: len(bot.offers) >= count and len(bot.answered_at) >= count, 5)


async def test_sfu_refusals_leave_the_room_working(sfu_server: SfuCallServer) -> None:
    # A consultation of two is peer to peer: `sfu` has nothing to talk to.
    alice = await sfu_server.participant("alice", room="small")
    bob = await sfu_server.participant("bob", room="small")
    publish = {"action": "publish", "description": {"type": "offer", "sdp": OFFER_SDP}}
    assert (await alice.call("sfu", publish))["error"]["code"] == "not_sfu"
    await assert_relays(alice, bob)

    viewer = await sfu_server.bot("viewer", room_kind="board", publish=False)
    await join(viewer)
    presenter = await sfu_server.bot("presenter", room_kind="board")
    await join(presenter)
    assert (await viewer.page.call("sfu", publish))["error"]["code"] == "forbidden"
    bogus = {"action": "publish", "description": {"type": "offer", "sdp": "v=0\r\nbogus\r\n"}}
    assert (await presenter.page.call("sfu", bogus))["error"]["code"] == "invalid_sdp"
    # Well-formed SDP the media node cannot use (no ICE credentials, no DTLS fingerprint).
    refused = await presenter.page.call("sfu", publish)
    assert refused["error"]["code"] == "media_error", refused
    answer = {"action": "answer", "description": {"type": "answer", "sdp": OFFER_SDP}}
    assert (await presenter.page.call("sfu", answer))["error"]["code"] == "media_error"
    no_answer = {"action": "answer", "description": {"type": "offer", "sdp": OFFER_SDP}}
    assert (await presenter.page.call("sfu", no_answer))["error"]["code"] == "invalid_payload"
    candidate = {"action": "candidate", "leg": "subscribe", "candidate": None}
    assert (await presenter.page.call("sfu", candidate))["error"]["code"] == "media_error"

    assert (await presenter.publish())["ok"]
    await viewer.wait_for_video(presenter.peer_id, within=8)
    assert (await presenter.page.call("sfu", {"action": "candidate", "leg": "publish",
                                              "candidate": None})) == {"ok": True}


async def test_without_a_media_node_boards_are_refused_and_consultations_stay_p2p(
    call_server: CallServer,
) -> None:
    page = await call_server.participant("chair", room="board", join=False, room_kind="board")
    assert (await page.join())["error"]["code"] == "media_unavailable"
    for name in ("alice", "bob"):
        await call_server.participant(name)
    carol = await call_server.participant("carol", join=False)
    assert (await carol.join())["mode"] == "p2p"
    publish = {"action": "publish", "description": {"type": "offer", "sdp": OFFER_SDP}}
    assert (await carol.call("sfu", publish))["error"]["code"] == "not_sfu"


async def test_admission_to_a_board_carries_the_mode_and_the_offer_follows(
    sfu_server: SfuCallServer,
) -> None:
    chair = await sfu_server.bot("chair", room_kind="board", moderate=True)
    await join(chair)
    assert (await chair.publish())["ok"]
    guest = await sfu_server.bot("guest", room_kind="board", admission=True)
    assert (await guest.page.join())["status"] == "waiting"
    await chair.page.next("waiting")
    assert (await chair.page.call("moderate", {"action": "admit",
                                               "target": guest.peer_id}))["ok"]
    admitted = await guest.page.next("admitted")
    assert admitted["mode"] == "sfu"
    await guest.wait_for_video(chair.peer_id, within=5)
    assert guest.page.order.index("admitted") < guest.page.order.index("sfu")


async def test_audio_only_pauses_every_video_track_for_that_peer_and_later_ones_too(
    sfu_server: SfuCallServer,
) -> None:
    chair = await sfu_server.bot("chair", room_kind="board")
    viewer = await sfu_server.bot("viewer", room_kind="board", publish=False)
    assert (await join(chair))["mode"] == "sfu"
    assert (await chair.publish())["ok"]
    assert (await join(viewer))["mode"] == "sfu"
    await viewer.wait_for_media(chair.peer_id, within=8)

    assert await viewer.page.call("sfu", {"action": "receive", "video": False}) == {"ok": True}
    video, audio = viewer.video_from(chair.peer_id), viewer.media_from(chair.peer_id, "audio")
    assert video is not None and audio is not None
    await _settle()
    frozen_at, heard_at = video.frames, audio.frames
    await _settle()
    assert video.frames == frozen_at, "video still forwarded in audio only"
    assert audio.frames > heard_at, "audio stopped with the video"

    # A publisher arriving later: its video is paused for the viewer from its first offer.
    speaker = await sfu_server.bot("speaker", room_kind="board")
    assert (await join(speaker))["mode"] == "sfu"
    assert (await speaker.publish())["ok"]
    await wait_until(lambda: viewer.media_from(speaker.peer_id, "audio") is not None, 8)
    await _settle()
    assert viewer.video_from(speaker.peer_id) is None

    # Video again: both publishers' video flows once more (from a keyframe).
    assert await viewer.page.call("sfu", {"action": "receive", "video": True}) == {"ok": True}
    await wait_until(lambda: video.frames > frozen_at, 8)
    await viewer.wait_for_video(speaker.peer_id, within=8)


async def test_receive_needs_the_sfu_and_a_boolean(sfu_server: SfuCallServer) -> None:
    alice = await sfu_server.participant("alice", room="small")
    await sfu_server.participant("bob", room="small")
    answer = await alice.call("sfu", {"action": "receive", "video": False})
    assert answer["ok"] is False and answer["error"]["code"] == "not_sfu", answer
    chair = await sfu_server.bot("chair", room_kind="board")
    assert (await join(chair))["mode"] == "sfu"
    for bad in ({"action": "receive"}, {"action": "receive", "video": "no"},
                {"action": "receive", "video": False, "audio": False}):
        answer = await chair.page.call("sfu", bad)
        assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload", bad


async def _settle() -> None:
    """Long enough for frames in flight to arrive (a keyframe interval is shorter)."""
    await asyncio.sleep(1.0)
