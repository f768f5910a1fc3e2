"""Reading codecs out of SDP and restricting transceivers to one codec."""

from __future__ import annotations

import pytest

from media.codecs import capabilities_for, choose_codec, media_sections

OFFER = """v=0
o=- 1 1 IN IP4 0.0.0.0
s=-
t=0 0
m=audio 9 UDP/TLS/RTP/SAVPF 111 0
a=mid:0
a=msid:stream-a track-1
a=rtpmap:111 opus/48000/2
a=rtpmap:0 PCMU/8000
m=video 9 UDP/TLS/RTP/SAVPF 102 103 96 97
a=mid:1
a=msid:- track-2
a=rtpmap:96 VP8/90000
a=rtpmap:97 rtx/90000
a=rtpmap:102 H264/90000
a=rtpmap:103 rtx/90000
"""


def test_media_sections_list_codecs_in_payload_order_without_rtx() -> None:
    audio, video = media_sections(OFFER)

    assert (audio.mid, audio.kind, audio.codecs, audio.stream_id) == (
        "0",
        "audio",
        ("opus", "PCMU"),
        "stream-a",
    )
    assert (video.mid, video.kind, video.codecs, video.stream_id) == (
        "1",
        "video",
        ("H264", "VP8"),
        None,
    )


def test_our_preference_wins_over_the_offer_order() -> None:
    assert choose_codec(("H264", "VP8"), ("VP8", "H264")) == "VP8"
    assert choose_codec(("H264",), ("VP8", "H264")) == "H264"
    assert choose_codec(("AV1",), ("VP8", "H264")) is None
    assert choose_codec(("OPUS",), ("opus",)) == "opus"


def test_capabilities_keep_one_codec_and_rtx() -> None:
    names = {c.name for c in capabilities_for("video", "H264")}

    assert names == {"H264", "rtx"}
    assert {c.name for c in capabilities_for("audio", "opus")} == {"opus"}
    with pytest.raises(ValueError):
        capabilities_for("video", "AV1")


def test_direction_is_read_and_a_rejected_section_is_inactive() -> None:
    sdp = (
        OFFER.replace("a=mid:0\n", "a=mid:0\na=recvonly\n").replace("m=video 9", "m=video 0")
        + "m=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:2\na=sendonly\na=rtpmap:96 VP8/90000\n"
    )

    audio, rejected, screen = media_sections(sdp)

    assert (audio.direction, audio.remote_sends) == ("recvonly", False)
    assert (rejected.direction, rejected.remote_sends) == ("inactive", False)
    assert (screen.direction, screen.remote_sends) == ("sendonly", True)
