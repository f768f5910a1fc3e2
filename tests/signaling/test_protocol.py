"""The payload models and SDP parsing, without a network."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from signaling.errors import SignalingError
from signaling.protocol import (
    MAX_PAYLOAD_BYTES,
    ChatPayload,
    JoinPayload,
    ModeratePayload,
    PeerState,
    SessionDescription,
    SignalPayload,
    check_description,
    decode_payload,
    parse_sdp_lines,
)

from .conftest import OFFER_SDP

PEER = "0b0e4d1c-3f0a-4c55-9a51-8d2a0f6e7b11"


def test_sdp_lines_are_split_into_type_and_value() -> None:
    lines = parse_sdp_lines(OFFER_SDP)
    assert lines[0] == ("v", "0")
    assert ("m", "audio 9 UDP/TLS/RTP/SAVPF 111") in lines
    assert parse_sdp_lines("v=0\nm=video 9 RTP/AVP 96") == [("v", "0"), ("m", "video 9 RTP/AVP 96")]


@pytest.mark.parametrize("sdp", ["", "\r\n", "o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\nm=a\r\n",
                                 "v=0\r\ns=-\r\n", "v=0\r\n\r\nm=audio 9 RTP 0\r\n",
                                 "v=0\r\nM=audio\r\n", "v=0\r\nm audio\r\n", "v=0 \r\nm=a\r\n"])
def test_malformed_sdp_is_rejected(sdp: str) -> None:
    with pytest.raises(ValueError):
        parse_sdp_lines(sdp)


def test_rollback_needs_no_sdp_but_offers_do() -> None:
    check_description(SessionDescription(type="rollback"))
    with pytest.raises(SignalingError) as raised:
        check_description(SessionDescription(type="answer", sdp=""))
    assert raised.value.code == "invalid_sdp"


def test_candidate_may_be_null_or_an_init_dict() -> None:
    end = SignalPayload.model_validate({"to": PEER, "candidate": None})
    assert end.relayed("me") == {"from": "me", "candidate": None}
    partial = SignalPayload.model_validate({"to": PEER, "candidate": {"candidate": "c",
                                                                      "sdpMid": None}})
    assert partial.relayed("me") == {"from": "me", "candidate": {"candidate": "c",
                                                                 "sdpMid": None}}


@pytest.mark.parametrize("payload", [
    {"to": PEER},
    {"to": PEER, "description": None},
    {"to": PEER.upper(), "candidate": None},
    {"to": PEER, "candidate": {"candidate": "c", "sdpMLineIndex": -1}},
    {"to": PEER, "candidate": {"candidate": "c", "sdpMLineIndex": "0"}},
    {"to": PEER, "candidate": {"sdpMid": "0"}},
])
def test_bad_signal_payloads_are_rejected(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SignalPayload.model_validate(payload)


def test_state_payload_is_partial_and_strict() -> None:
    update = PeerState.model_validate({"hand": True})
    assert update.model_dump(exclude_unset=True) == {"hand": True}
    for bad in ({"audio": 1}, {"audio": None}, {"screen_stream": ""}, {"mic": True}):
        with pytest.raises(ValidationError):
            PeerState.model_validate(bad)


def test_join_and_chat_and_moderate_models() -> None:
    with pytest.raises(ValidationError):
        JoinPayload.model_validate({"token": "t", "peer_id": PEER, "protocol": True})
    with pytest.raises(ValidationError):
        JoinPayload.model_validate({"token": "t" * 4097, "peer_id": PEER, "protocol": 1})
    assert ChatPayload.model_validate({"text": " \n hola \t"}).text == "hola"
    assert len(ChatPayload.model_validate({"text": " " + "x" * 2000 + " "}).text) == 2000
    with pytest.raises(ValidationError):
        ModeratePayload.model_validate({"action": "ban", "target": PEER})


def test_payload_size_is_its_compact_utf8_json_encoding() -> None:
    overhead = len('{"text":""}')
    fits = {"text": "x" * (MAX_PAYLOAD_BYTES - overhead)}
    assert decode_payload("chat", [fits]) is fits
    with pytest.raises(SignalingError) as raised:
        decode_payload("chat", [{"text": "x" * (MAX_PAYLOAD_BYTES - overhead + 1)}])
    assert raised.value.code == "payload_too_large"
    with pytest.raises(SignalingError) as raised:  # ñ is two bytes in UTF-8
        decode_payload("chat", [{"text": "ñ" * (MAX_PAYLOAD_BYTES // 2)}])
    assert raised.value.code == "payload_too_large"


def test_payload_is_exactly_one_json_argument() -> None:
    assert decode_payload("leave", []) == {}
    assert decode_payload("chat", []) is None  # then fails validation as missing
    for args in ([{}, {}], [b"binary"]):
        with pytest.raises(SignalingError) as raised:
            decode_payload("chat", args)
        assert raised.value.code == "invalid_payload"
