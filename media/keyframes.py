"""Recognising keyframes in depacketized VP8 and H.264 frames (what the jitter buffer emits)."""

from __future__ import annotations

VP8_START_CODE = b"\x9d\x01\x2a"
H264_START_CODE = b"\x00\x00\x01"
H264_NAL_SLICE = 1
H264_NAL_IDR = 5
# A frame that carries neither an IDR nor a non-IDR slice within this many NAL units is not a
# keyframe we can recognise; the cap bounds work on malformed input.
H264_MAX_NAL_UNITS = 32


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded frame can be decoded on its own. Audio frames always can."""
    name = codec_name.upper()
    if name == "VP8":
        return is_vp8_keyframe(data)
    if name == "H264":
        return is_h264_keyframe(data)
    return True


def is_vp8_keyframe(data: bytes) -> bool:
    """VP8 (RFC 6386 9.1): frame-type bit clear, and the keyframe start code after the tag."""
    # The start code check guards against a frame that begins mid-partition after packet loss.
    return len(data) >= 10 and not data[0] & 0x01 and data[3:6] == VP8_START_CODE


def is_h264_keyframe(data: bytes) -> bool:
    """Annex-B H.264: an IDR slice appears before any non-IDR slice."""
    pos = 0
    for _ in range(H264_MAX_NAL_UNITS):
        start = data.find(H264_START_CODE, pos)
        if start < 0 or start + 3 >= len(data):
            return False
        nal_type = data[start + 3] & 0x1F
        if nal_type == H264_NAL_IDR:
            return True
        if nal_type == H264_NAL_SLICE:
            return False
        pos = start + 3
    return False
