"""Keyframe recognition on real VP8 and H.264 bitstreams encoded with PyAV."""

from __future__ import annotations

import fractions

import av
import pytest
from av import VideoFrame

from media.keyframes import is_h264_keyframe, is_keyframe, is_vp8_keyframe


def encode(codec_name: str, frames: int = 4) -> list[tuple[bytes, bool]]:
    """Encode a few changing frames; return each packet's bytes and the encoder's key flag."""
    codec = av.CodecContext.create(codec_name, "w")
    codec.width, codec.height = 160, 120
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.framerate = fractions.Fraction(30, 1)
    codec.gop_size = 100
    if codec_name == "libx264":
        codec.options = {"tune": "zerolatency"}
        codec.profile = "Baseline"
    packets: list[av.Packet] = []
    for index in range(frames):
        frame = VideoFrame(width=160, height=120, format="yuv420p")
        for plane_index, plane in enumerate(frame.planes):
            value = (index * 40 + plane_index * 30) % 256
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts = index
        packets.extend(codec.encode(frame))
    packets.extend(codec.encode(None))
    return [(bytes(p), bool(p.is_keyframe)) for p in packets]


def test_vp8_keyframes_are_recognised_and_delta_frames_are_not() -> None:
    packets = encode("libvpx")

    assert [is_vp8_keyframe(data) for data, _ in packets] == [key for _, key in packets]
    assert packets[0][1] and not all(key for _, key in packets)


def test_h264_idr_frames_are_recognised_and_other_frames_are_not() -> None:
    packets = encode("libx264")

    assert [is_h264_keyframe(data) for data, _ in packets] == [key for _, key in packets]
    assert packets[0][1] and not all(key for _, key in packets)


def test_a_vp8_frame_starting_mid_partition_is_not_taken_for_a_keyframe() -> None:
    keyframe = encode("libvpx", frames=1)[0][0]

    assert not is_vp8_keyframe(keyframe[7:])
    assert not is_vp8_keyframe(b"")


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x01", b"\x00\x00\x01\x67" * 40, b"garbage"])
def test_h264_without_a_slice_is_not_a_keyframe(data: bytes) -> None:
    assert not is_h264_keyframe(data)


def test_every_audio_frame_is_a_keyframe() -> None:
    assert is_keyframe("opus", b"\x01\x02")
    assert is_keyframe("vp8", encode("libvpx", frames=1)[0][0])
