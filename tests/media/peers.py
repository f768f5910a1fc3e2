"""Helpers for tests with real aiortc peers on loopback: negotiation and encoded test media."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
from aiortc import RTCPeerConnection
from av import AudioFrame, VideoFrame

from media.frames import EncodedFrame
from media.keyframes import is_keyframe


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """One offer/answer round between two local peers (aiortc gathers before returning)."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


async def wait_until(condition: Callable[[], bool], within: float, step: float = 0.02) -> None:
    """Poll `condition` until it holds; raise TimeoutError after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(step)


async def wait_until_steady(
    value: Callable[[], object], quiet: float, within: float, step: float = 0.02
) -> None:
    """Wait until `value` has not changed for `quiet` seconds (what was in flight has arrived);
    raise TimeoutError after `within` seconds."""
    deadline = time.monotonic() + within
    last = value()
    changed_at = time.monotonic()
    while time.monotonic() - changed_at < quiet:
        if time.monotonic() > deadline:
            raise TimeoutError(f"still changing after {within} s")
        await asyncio.sleep(step)
        current = value()
        if current != last:
            last, changed_at = current, time.monotonic()


def encoded_video(
    codec_name: str, count: int, width: int = 320, height: int = 240
) -> list[EncodedFrame]:
    """`count` frames of a changing picture, encoded by PyAV, stamped at 30 fps in 90 kHz."""
    encoder = {"VP8": "libvpx", "H264": "libx264"}[codec_name]
    codec = av.CodecContext.create(encoder, "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.framerate = fractions.Fraction(30, 1)
    codec.gop_size = 1000
    if encoder == "libx264":
        codec.options = {"tune": "zerolatency"}
        codec.profile = "Baseline"
    frames: list[EncodedFrame] = []
    for index in range(count):
        picture = VideoFrame(width=width, height=height, format="yuv420p")
        for plane_index, plane in enumerate(picture.planes):
            plane.update(bytes([(index * 9 + plane_index * 50) % 256]) * plane.buffer_size)
        picture.pts = index
        for packet in codec.encode(picture):
            data = bytes(packet)
            frames.append(EncodedFrame(data, len(frames) * 3000, is_keyframe(codec_name, data)))
    return frames


def encoded_opus(count: int) -> list[EncodedFrame]:
    """`count` 20 ms Opus packets of a tone, stamped in 48 kHz."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = 48000
    codec.layout = "stereo"
    codec.format = "s16"
    codec.time_base = fractions.Fraction(1, 48000)
    tone = b"".join(
        ((4000 if (i // 50) % 2 else -4000).to_bytes(2, "little", signed=True) * 2)
        for i in range(960)
    )
    frames: list[EncodedFrame] = []
    for index in range(count + 2):
        samples = AudioFrame(format="s16", layout="stereo", samples=960)
        samples.planes[0].update(tone)
        samples.sample_rate = 48000
        samples.pts = index * 960
        samples.time_base = fractions.Fraction(1, 48000)
        for packet in codec.encode(samples):
            frames.append(EncodedFrame(bytes(packet), len(frames) * 960, True))
    return frames[:count]
