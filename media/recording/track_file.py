"""One track's file: encoded frames muxed as they are into WebM (VP8, Opus) or Matroska (H.264).

No decoding, no encoding: each frame the SFU taps becomes one packet, stamped with the pts its
`TrackTimeline` gives. The file is written as `<name>.part` and renamed when complete.

Crash safety: the Matroska muxer keeps a cluster in memory until it closes, so clusters are cut
at most every `CLUSTER_MILLISECONDS` and written out (`flush_packets`) as soon as they close: a
process killed mid-recording leaves a file that plays up to the last closed cluster (a segment of
unknown size, as a live stream writes, which demuxers read).
"""

from __future__ import annotations

import fractions
import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import av.stream
import av.video.stream

from media.errors import MediaError

logger = logging.getLogger(__name__)

PART_SUFFIX = ".part"
CLUSTER_MILLISECONDS = 1000
MUXER_OPTIONS = {"cluster_time_limit": str(CLUSTER_MILLISECONDS), "flush_packets": "1"}
HASH_CHUNK_BYTES = 1 << 20

# WebRTC negotiates Opus as 48 kHz stereo whatever the microphone; a stereo decoder plays mono
# packets too. Pre-skip 0: the packets are a cut from a running stream, not an encoder's start.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 0, 48000, 0, 0)
OPUS_SAMPLE_RATE = 48000


@dataclass(frozen=True, slots=True)
class ContainerFormat:
    """How one codec is stored: the muxer, PyAV's codec name and the file extension."""

    muxer: str
    codec: str
    extension: str


_CONTAINERS = {
    "VP8": ContainerFormat("webm", "vp8", ".webm"),
    "OPUS": ContainerFormat("webm", "opus", ".webm"),
    "H264": ContainerFormat("matroska", "h264", ".mkv"),
}


def container_for(codec_name: str) -> ContainerFormat:
    """The container a negotiated codec (`VP8`, `H264`, `opus`) is recorded in."""
    try:
        return _CONTAINERS[codec_name.upper()]
    except KeyError:
        raise MediaError("unsupported_codec", f"cannot record codec {codec_name!r}") from None


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe's header (RFC 6386 9.1), None for other frames."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width & 0x3FFF, height & 0x3FFF


@dataclass(frozen=True, slots=True)
class FinishedFile:
    """A track file once closed and renamed."""

    name: str
    duration: float
    frames: int
    size: int
    sha256: str


class TrackFile:
    """Muxes one track's encoded frames into `<directory>/<name>.part`; `finish` completes it.

    Each packet's duration is the distance to the next packet's pts, so one frame is held back
    until the next arrives; the file then lasts exactly as long as the media it holds.
    """

    def __init__(
        self, directory: Path, name: str, codec_name: str, clock_rate: int, first_frame: bytes
    ) -> None:
        self.name = name
        self.path = directory / name
        self.part_path = directory / (name + PART_SUFFIX)
        self.clock_rate = clock_rate
        self.frames = 0
        self._format = container_for(codec_name)
        self._time_base = fractions.Fraction(1, clock_rate)
        self._container = av.open(
            str(self.part_path), "w", format=self._format.muxer, options=MUXER_OPTIONS
        )
        stream: av.stream.Stream
        if self._format.codec == "opus":
            audio = self._container.add_stream("opus", rate=OPUS_SAMPLE_RATE)
            audio.codec_context.layout = "stereo"
            audio.codec_context.extradata = OPUS_HEAD
            stream = audio
        else:
            video = self._container.add_stream(self._format.codec)
            # H.264 needs none: the muxer reads the size from the SPS in the first keyframe.
            dimensions = vp8_dimensions(first_frame) if self._format.codec == "vp8" else None
            if dimensions is not None and isinstance(video, av.video.stream.VideoStream):
                video.codec_context.width, video.codec_context.height = dimensions
            stream = video
        stream.time_base = self._time_base
        self._stream = stream
        self._pending: tuple[int, bytes, bool] | None = None
        self._last_duration = clock_rate // 50  # until two frames say otherwise
        self._end_pts = 0

    def write(self, pts: int, data: bytes, keyframe: bool) -> None:
        """Add a frame (pts increasing, in the codec clock); the previous one is muxed now."""
        if self._pending is not None:
            self._mux(self._pending, pts - self._pending[0])
        self._pending = (pts, data, keyframe)

    def finish(self) -> FinishedFile:
        """Mux the last frame, close, hash and rename the file. Blocking: run it in a thread."""
        if self._pending is not None:
            self._mux(self._pending, self._last_duration)
            self._pending = None
        self._container.close()
        with open(self.part_path, "rb") as file:
            os.fsync(file.fileno())
        size, sha256 = file_digest(self.part_path)
        os.replace(self.part_path, self.path)
        return FinishedFile(
            self.name, self._end_pts / self.clock_rate, self.frames, size, sha256
        )

    def _mux(self, frame: tuple[int, bytes, bool], duration: int) -> None:
        pts, data, keyframe = frame
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.duration = duration
        packet.time_base = self._time_base
        packet.is_keyframe = keyframe
        packet.stream = self._stream
        try:
            self._container.mux(packet)
        except av.FFmpegError as exc:
            # One bad frame must not end the recording of the track.
            logger.warning("recording_mux_failed file=%s error=%s", self.name, exc)
            return
        self.frames += 1
        self._last_duration = duration
        self._end_pts = pts + duration


def file_digest(path: Path) -> tuple[int, str]:
    """A file's size and SHA-256 (hex). Blocking: run it in a thread for big files."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
