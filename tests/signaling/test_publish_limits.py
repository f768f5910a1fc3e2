"""Issue 20 (floods): a publish offer has at most 8 m= sections and a participant adds at most
16 tracks at once (then one a minute), refused in the ack before the offer reaches the media
node."""

from __future__ import annotations

import pytest

from signaling.errors import SignalingError
from signaling.publish_limits import (
    MAX_TRACKS,
    TRACK_REFILL_SECONDS,
    PublishBudget,
    sending_mids,
)

from .sfu_bots import SfuBot, SfuCallServer, sfu_server

__all__ = ["sfu_server"]

pytestmark = pytest.mark.timeout(60)


def offer(sections: int, direction: str = "sendonly") -> str:
    head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    return head + "".join(
        f"m={'audio' if i % 2 else 'video'} 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
        f"a=mid:{i}\r\na={direction}\r\n"
        for i in range(sections)
    )


def test_only_sending_audio_and_video_sections_are_tracks() -> None:
    sdp = offer(2) + "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n" + (
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=inactive\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:4\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:5\r\n"  # no direction: sendrecv
    )
    assert sending_mids(sdp) == ["0", "1", "5"]


def test_nine_media_sections_are_refused() -> None:
    assert len(sending_mids(offer(8))) == 8
    with pytest.raises(SignalingError) as refused:
        sending_mids(offer(9, "inactive"))
    assert refused.value.code == "too_many_media_sections"


def test_renegotiations_count_only_new_tracks_and_restarts_count_again() -> None:
    budget = PublishBudget(now=0.0)
    for _ in range(5):  # the same two tracks renegotiated
        budget.spent(budget.new_tracks(offer(2), False, 0.0), False, 0.0)
    for _ in range(7):  # each new connection: its two tracks count again
        budget.spent(budget.new_tracks(offer(2), True, 0.0), True, 0.0)
    budget.new_tracks(offer(2), False, 0.0)  # nothing new on the current connection
    with pytest.raises(SignalingError) as refused:
        budget.new_tracks(offer(2), True, 0.0)
    assert refused.value.code == "too_many_tracks"


def test_a_long_call_earns_new_tracks_back_over_time() -> None:
    budget = PublishBudget(now=0.0)
    budget.spent(budget.new_tracks(offer(8), False, 0.0), False, 0.0)
    budget.spent(budget.new_tracks(offer(8), True, 0.0), True, 0.0)
    assert MAX_TRACKS == 16
    # A screen share a little later: refused until one track's worth of time has passed.
    with pytest.raises(SignalingError):
        budget.new_tracks(offer(1), True, TRACK_REFILL_SECONDS / 2)
    later = TRACK_REFILL_SECONDS * 1.01
    budget.spent(budget.new_tracks(offer(1), True, later), True, later)
    # An hour on, a burst again, never more than MAX_TRACKS at once.
    hour = 3600.0
    budget.spent(budget.new_tracks(offer(8), True, hour), True, hour)
    budget.spent(budget.new_tracks(offer(8), True, hour), True, hour)
    with pytest.raises(SignalingError):
        budget.new_tracks(offer(1), True, hour)


async def joined_board(sfu_server: SfuCallServer, user: str) -> SfuBot:
    bot = await sfu_server.bot(user, room_kind="board")
    assert (await bot.page.join())["ok"]
    return bot


async def test_an_offer_of_nine_media_sections_never_reaches_the_media_node(
    sfu_server: SfuCallServer,
) -> None:
    presenter = await joined_board(sfu_server, "presenter")
    publish = {"action": "publish", "description": {"type": "offer", "sdp": offer(9)}}
    ack = await presenter.page.call("sfu", publish)
    assert ack["error"]["code"] == "too_many_media_sections", ack
    # Eight sections pass the limit and reach the node (which refuses this SDP: no ICE).
    publish["description"]["sdp"] = offer(8)
    assert (await presenter.page.call("sfu", publish))["error"]["code"] == "media_error"
    assert (await presenter.publish())["ok"]


async def test_a_participant_adding_a_seventeenth_track_at_once_is_refused_and_keeps_its_own(
    sfu_server: SfuCallServer,
) -> None:
    presenter = await joined_board(sfu_server, "presenter")
    viewer = await sfu_server.bot("viewer", room_kind="board", publish=False)
    assert (await viewer.page.join())["ok"]
    assert (await presenter.publish())["ok"]  # camera and microphone: 2 tracks
    for _ in range((MAX_TRACKS - 2) // 2):  # each new publish connection: 2 more
        assert (await presenter.publish(restart=True))["ok"]
    await viewer.wait_for_video(presenter.peer_id, within=8)
    # Renegotiating what is already published costs nothing.
    assert (await presenter.renegotiate())["ok"]
    # A seventeenth track, in a renegotiation or on a new connection, is refused.
    presenter.add_screen("screen-stream")
    ack = await presenter.renegotiate()
    assert ack["error"]["code"] == "too_many_tracks", ack
    tracks = [t for t in await sfu_server.media.tracks("room-a")  # type: ignore[union-attr]
              if t.publisher_id == presenter.peer_id]
    assert len(tracks) == 2  # the refused renegotiation left what was published
    ack = await presenter.publish(restart=True)
    assert ack["error"]["code"] == "too_many_tracks", ack


def test_a_cameras_lower_simulcast_layers_cost_no_track() -> None:
    budget = PublishBudget(now=0.0)
    layers = [["0", "2", "4"]]  # the camera in three qualities; 1 and 3 are audio sections
    new = budget.new_tracks(offer(5), False, 0.0, layers)
    budget.spent(new, False, 0.0)
    assert new == {"0", "1", "2", "3", "4"}

    # Three tracks spent (the camera and two audio), so 13 are left, not 11.
    budget.spent(budget.new_tracks(offer(8), True, 0.0), True, 0.0)
    budget.spent(budget.new_tracks(offer(5), True, 0.0), True, 0.0)
    with pytest.raises(SignalingError):
        budget.new_tracks(offer(1), True, 0.0)
