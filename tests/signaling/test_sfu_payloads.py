"""The `sfu` payloads and the subscription offer event, without a network."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from signaling.media_port import MediaTrack, SubscriptionOffer
from signaling.protocol import (
    Peer,
    PeerState,
    SfuAnswer,
    SfuCandidate,
    SfuPayload,
    SfuPublish,
    SfuResubscribe,
)
from signaling.roomstate import PeerRecord
from signaling.sfu_session import offer_event

SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
PEER = "0b0e4f6a-8f2a-4d7e-9a51-0a4c2a9e1f00"


def parse(payload: Any) -> object:
    return SfuPayload.model_validate(payload).root


def test_each_action_parses_to_its_model() -> None:
    publish = parse({"action": "publish", "description": {"type": "offer", "sdp": SDP}})
    assert isinstance(publish, SfuPublish) and publish.restart is False
    restart = parse({"action": "publish", "description": {"type": "offer", "sdp": SDP},
                     "restart": True})
    assert isinstance(restart, SfuPublish) and restart.restart
    simulcast = parse({"action": "publish", "description": {"type": "offer", "sdp": SDP},
                       "layers": [["1", "2", "3"]]})
    assert isinstance(simulcast, SfuPublish) and simulcast.layers == [["1", "2", "3"]]
    assert isinstance(parse({"action": "answer", "description": {"type": "answer", "sdp": SDP}}),
                      SfuAnswer)
    candidate = parse({"action": "candidate", "leg": "subscribe",
                       "candidate": {"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host",
                                     "sdpMid": "0"}})
    assert isinstance(candidate, SfuCandidate) and candidate.leg == "subscribe"
    end = parse({"action": "candidate", "leg": "publish", "candidate": None})
    assert isinstance(end, SfuCandidate) and end.candidate is None
    assert isinstance(parse({"action": "resubscribe"}), SfuResubscribe)


@pytest.mark.parametrize("payload", [
    None,
    {},
    {"action": "subscribe"},
    {"action": "publish"},
    {"action": "publish", "description": {"type": "answer", "sdp": SDP}},
    {"action": "publish", "description": {"type": "rollback", "sdp": ""}},
    {"action": "publish", "description": {"type": "offer", "sdp": SDP}, "restart": "yes"},
    {"action": "publish", "description": {"type": "offer", "sdp": SDP}, "layers": [["1"]]},
    {"action": "publish", "description": {"type": "offer", "sdp": SDP},
     "layers": [["1", "2", "3", "4", "5"]]},
    {"action": "publish", "description": {"type": "offer", "sdp": SDP},
     "layers": [["1", "2"], ["3", "4"], ["5", "6"]]},
    {"action": "answer", "description": {"type": "offer", "sdp": SDP}},
    {"action": "answer", "description": {"type": "answer"}},
    {"action": "candidate", "leg": "publish"},  # `candidate` is required, null ends them
    {"action": "candidate", "leg": "both", "candidate": None},
    {"action": "resubscribe", "extra": 1},
    {"action": "answer", "description": {"type": "answer", "sdp": SDP}, "to": PEER},
])
def test_malformed_sfu_payloads_are_refused(payload: Any) -> None:
    with pytest.raises(ValidationError):
        SfuPayload.model_validate(payload)


def record(peer_id: str, screen_stream: str | None) -> PeerRecord:
    peer = Peer(peer_id=peer_id, user_id="u", name="n", role="r", moderator=False,
                state=PeerState(screen=screen_stream is not None, screen_stream=screen_stream),
                connected=True)
    return PeerRecord(peer=peer, sid="s", admitted=True, token_id="t")


def test_the_offer_event_names_each_mids_peer_kind_and_source() -> None:
    camera = MediaTrack(f"{PEER}/0", PEER, "video", "cam-stream")
    mic = MediaTrack(f"{PEER}/1", PEER, "audio", "cam-stream")
    screen = MediaTrack(f"{PEER}/2", PEER, "video", "screen-stream")
    offer = SubscriptionOffer("v=0\r\n...", {"0": camera, "1": mic, "2": screen})

    offered, event = offer_event(offer, {PEER: record(PEER, "screen-stream")})

    assert event == {
        "kind": "offer",
        "description": {"type": "offer", "sdp": "v=0\r\n..."},
        "tracks": {
            "0": {"peer_id": PEER, "kind": "video", "source": "camera", "stream_id": "cam-stream"},
            "1": {"peer_id": PEER, "kind": "audio", "source": "camera", "stream_id": "cam-stream"},
            "2": {"peer_id": PEER, "kind": "video", "source": "screen",
                  "stream_id": "screen-stream"},
        },
    }
    assert offered == {(f"{PEER}/0", "camera"), (f"{PEER}/1", "camera"), (f"{PEER}/2", "screen")}


def test_a_track_of_a_publisher_no_longer_known_is_a_camera() -> None:
    track = MediaTrack(f"{PEER}/0", PEER, "video", "s")
    _, event = offer_event(SubscriptionOffer("v=0\r\n", {"0": track}), {})
    assert event["tracks"]["0"]["source"] == "camera"
