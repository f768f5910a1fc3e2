"""CPU cost of the recorder per recorded track-second, against aiortc's MediaRecorder.

    .venv/bin/python bench/recording.py [--seconds 10] [--tracks 20] [--record-seconds 20]

(a) cost: the same encoded streams (a 640x480 moving pattern in VP8 at 30 fps, 1.5 Mbps, and
    Opus at 50 packets a second, encoded once up front) recorded two ways in this process:
    - recorder: what the SFU's recorder does per tapped frame (`TrackTimeline.pts` and
      `TrackFile.write`), then `TrackFile.finish` (close, SHA-256, rename);
    - MediaRecorder: aiortc's `contrib.media.MediaRecorder` writing WebM, fed decoded frames,
      since an aiortc receiver decodes before anything can reach it: decode + re-encode.
    CPU is `time.process_time()` (every thread of this process, encoder threads included).
(b) load: a `junta media` process pinned to one core (sched_setaffinity) records N tracks
    (N/2 publishers, VP8 + Opus) sent by aiortc peers in this process, which replay pre-encoded
    frames (packetized, not encoded, so they cost little). Every file must hold all its frames:
    frames >= 97 % of duration x rate and no gap between packets over three frame intervals.
    Its CPU is utime + stime of /proc/<pid>/stat over the recording.

The last line is
`result: recording_cost_ratio=<x> target=20x tracks=<n> gaps=<g> cores=<c> met|missed`:
met when the ratio is at least 20, no file has a gap or missing frames, and the media process
needed under one core.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.codecs import capabilities_for
from media.frames import EncodedFrame
from media.keyframes import is_keyframe
from media.recording.timeline import TrackTimeline
from media.recording.track_file import TrackFile
from media.remote import RemoteMediaNode

TARGET_RATIO = 20.0
WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_RATE, AUDIO_RATE = 90000, 48000
VIDEO_TICKS, AUDIO_TICKS = VIDEO_RATE // FPS, 960
BITRATE = 1_500_000
BOX = 96
SECRET = "b" * 40
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIN_FRAME_SHARE = 0.97
MAX_GAP_FRAMES = 3


# ---------------------------------------------------------------- the streams, encoded once


def moving_pattern(index: int) -> av.VideoFrame:
    """A gradient with a white box that moves every frame (as the test bots send)."""
    frame = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
    luma, cb, cr = frame.planes
    gradient = bytes(x * 255 // WIDTH for x in range(WIDTH))
    x0, y0 = (index * 7) % (WIDTH - BOX), (index * 5) % (HEIGHT - BOX)
    pad = bytes(luma.line_size - WIDTH)
    plain = gradient + pad
    boxed = gradient[:x0] + b"\xff" * BOX + gradient[x0 + BOX :] + pad
    luma.update(b"".join(boxed if y0 <= y < y0 + BOX else plain for y in range(HEIGHT)))
    cb.update(b"\x80" * cb.buffer_size)
    cr.update(b"\x80" * cr.buffer_size)
    return frame


def encode_video(seconds: float) -> list[EncodedFrame]:
    """VP8 at 30 fps, a keyframe every second (so a replayed loop is decodable anywhere)."""
    codec: Any = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.bit_rate = BITRATE
    codec.gop_size = FPS
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    frames: list[EncodedFrame] = []
    for index in range(int(seconds * FPS)):
        picture = moving_pattern(index)
        picture.pts = index
        for packet in codec.encode(picture):
            data = bytes(packet)
            frames.append(EncodedFrame(data, len(frames) * VIDEO_TICKS, is_keyframe("VP8", data)))
    return frames


def encode_audio(seconds: float) -> list[EncodedFrame]:
    """Opus, 20 ms packets of a 440 Hz-ish tone."""
    codec: Any = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = AUDIO_RATE, "stereo", "s16"
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    period = AUDIO_RATE // 440
    tone = b"".join(
        (6000 if (i // (period // 2)) % 2 else -6000).to_bytes(2, "little", signed=True) * 2
        for i in range(AUDIO_TICKS)
    )
    frames: list[EncodedFrame] = []
    count = int(seconds * AUDIO_RATE / AUDIO_TICKS)
    for index in range(count + 2):
        samples = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_TICKS)
        samples.planes[0].update(tone)
        samples.sample_rate = AUDIO_RATE
        samples.pts = index * AUDIO_TICKS
        samples.time_base = fractions.Fraction(1, AUDIO_RATE)
        for packet in codec.encode(samples):
            frames.append(EncodedFrame(bytes(packet), len(frames) * AUDIO_TICKS, True))
    return frames[:count]


# ---------------------------------------------------------------- (a) cost per track-second


def record_with_recorder(
    directory: Path, video: list[EncodedFrame], audio: list[EncodedFrame]
) -> float:
    """CPU-seconds to record both streams the way the SFU's recorder does."""
    started = time.process_time()
    for name, codec, rate, frames in (
        ("v.webm", "VP8", VIDEO_RATE, video),
        ("a.webm", "opus", AUDIO_RATE, audio),
    ):
        timeline = TrackTimeline(rate, recording_start=0.0)
        track_file = TrackFile(directory, name, codec, rate, frames[0].data)
        for frame in frames:
            pts = timeline.pts(frame.timestamp, frame.timestamp / rate)
            assert pts is not None
            track_file.write(pts, frame.data, frame.keyframe)
        track_file.finish()
    return time.process_time() - started


class DecodedReplay(MediaStreamTrack):
    """Decodes the encoded frames and hands them out, as an aiortc receiver would."""

    def __init__(self, kind: str, codec_name: str, rate: int, frames: list[EncodedFrame]) -> None:
        super().__init__()
        self.kind = kind
        self._decoder: Any = av.CodecContext.create(codec_name, "r")
        self._rate = rate
        self._frames = iter(frames)
        self._ready: list[Any] = []
        self.ended = asyncio.Event()

    async def recv(self) -> Any:
        while not self._ready:
            try:
                encoded = next(self._frames)
            except StopIteration:
                self.stop()
                self.ended.set()
                raise MediaStreamError from None
            packet = av.Packet(encoded.data)
            packet.pts = encoded.timestamp
            packet.time_base = fractions.Fraction(1, self._rate)
            for frame in self._decoder.decode(packet):
                frame.pts = encoded.timestamp
                frame.time_base = fractions.Fraction(1, self._rate)
                self._ready.append(frame)
        await asyncio.sleep(0)  # let the recorder's other track run
        return self._ready.pop(0)


async def record_with_media_recorder(
    directory: Path, video: list[EncodedFrame], audio: list[EncodedFrame]
) -> float:
    """CPU-seconds for aiortc's MediaRecorder to record both streams (decode + re-encode)."""
    recorder = MediaRecorder(str(directory / "baseline.webm"))
    tracks = [
        DecodedReplay("video", "vp8", VIDEO_RATE, video),
        DecodedReplay("audio", "opus", AUDIO_RATE, audio),
    ]
    for track in tracks:
        recorder.addTrack(track)
    started = time.process_time()
    await recorder.start()
    for track in tracks:
        await track.ended.wait()
    await recorder.stop()
    return time.process_time() - started


# ---------------------------------------------------------------- (b) N tracks on one core


class EncodedReplay(MediaStreamTrack):
    """Replays pre-encoded frames in a loop at their real pace, as packets (never encoded)."""

    def __init__(self, kind: str, rate: int, ticks: int, frames: list[EncodedFrame]) -> None:
        super().__init__()
        self.kind = kind
        self._rate, self._ticks, self._frames = rate, ticks, frames
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index * self._ticks / self._rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = self._frames[self._index % len(self._frames)]
        packet = av.Packet(frame.data)
        packet.pts = self._index * self._ticks
        packet.time_base = fractions.Fraction(1, self._rate)
        self._index += 1
        return packet


@dataclass
class LoadResult:
    tracks: int
    seconds: float
    cpu: float
    gaps: int
    short: int
    details: list[str]

    @property
    def cores(self) -> float:
        return self.cpu / self.seconds


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def check_file(path: Path, rate: float) -> tuple[int, float, int, float]:
    """Packets, duration (s), packets expected from the duration, largest gap (frames)."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        assert stream.time_base is not None
        times = [
            float(p.pts * stream.time_base)
            for p in container.demux(stream)
            if p.pts is not None
        ]
    duration = times[-1] - times[0] + 1 / rate
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return len(times), duration, round(duration * rate), max(gaps, default=0) * rate


async def record_load(
    tracks: int, seconds: float, video: list[EncodedFrame], audio: list[EncodedFrame]
) -> LoadResult:
    root = Path(tempfile.mkdtemp(prefix="junta-bench-recording-"))
    port = free_port()
    env = {
        **os.environ,
        "JUNTA_MEDIA_SECRET": SECRET,
        "JUNTA_MEDIA_PORT": str(port),
        "JUNTA_RECORDINGS_DIR": str(root),
    }
    process = start_media_process(env)
    node = RemoteMediaNode(f"http://127.0.0.1:{port}", SECRET)
    peers: list[RTCPeerConnection] = []
    try:
        await wait_ready(node, process)
        await node.create_room("bench")
        for index in range((tracks + 1) // 2):
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            transceiver = pc.addTransceiver(
                EncodedReplay("video", VIDEO_RATE, VIDEO_TICKS, video), direction="sendonly"
            )
            transceiver.setCodecPreferences(capabilities_for("video", "VP8"))
            pc.addTransceiver(
                EncodedReplay("audio", AUDIO_RATE, AUDIO_TICKS, audio), direction="sendonly"
            )
            await pc.setLocalDescription(await pc.createOffer())
            answer = await node.publish("bench", f"peer-{index}", pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            peers.append(pc)
        deadline = time.monotonic() + 30
        while any(pc.connectionState != "connected" for pc in peers):
            if time.monotonic() > deadline:
                raise RuntimeError("publishers did not connect")
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # warm-up: media flowing
        cpu_before, wall_before = cpu_seconds(process.pid), time.monotonic()
        await node.start_recording("bench", "load", frozenset())
        await asyncio.sleep(seconds)
        manifest = await node.stop_recording("bench")
        cpu = cpu_seconds(process.pid) - cpu_before
        wall = time.monotonic() - wall_before
        gaps = short = 0
        details: list[str] = []
        for track in manifest.tracks[:tracks]:
            rate = FPS if track.kind == "video" else AUDIO_RATE / AUDIO_TICKS
            packets, duration, expected, gap = check_file(root / "load" / track.file, rate)
            if gap > MAX_GAP_FRAMES:
                gaps += 1
            # Video starts at the first keyframe (one a second here: the replay ignores PLIs).
            if packets < MIN_FRAME_SHARE * expected or duration < seconds - 1.5:
                short += 1
            details.append(
                f"  {track.file}: {packets}/{expected} frames, {duration:.2f} s, "
                f"largest gap {gap:.1f} frames"
            )
        return LoadResult(len(manifest.tracks[:tracks]), wall, cpu, gaps, short, details)
    finally:
        for pc in peers:
            await pc.close()
        await node.close()
        process.kill()
        process.wait()
        shutil.rmtree(root, ignore_errors=True)


def start_media_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`junta media`, pinned to one core."""
    first_core = min(os.sched_getaffinity(0))
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("junta")), "media"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {first_core}),
    )


async def wait_ready(node: RemoteMediaNode, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            await node.load()
            return
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("junta media did not start") from None
            await asyncio.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- main


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="stream length for (a)")
    parser.add_argument("--tracks", type=int, default=20, help="tracks recorded at once in (b)")
    parser.add_argument("--record-seconds", type=float, default=20.0, help="recording in (b)")
    args = parser.parse_args()

    print(f"encoding {args.seconds:.0f} s of VP8 {WIDTH}x{HEIGHT}@{FPS} and Opus once ...")
    video, audio = encode_video(args.seconds), encode_audio(args.seconds)
    track_seconds = 2 * args.seconds
    with tempfile.TemporaryDirectory(prefix="junta-bench-recording-") as scratch:
        directory = Path(scratch)
        ours = record_with_recorder(directory, video, audio)
        theirs = await record_with_media_recorder(directory, video, audio)
    ours_rate, theirs_rate = ours / track_seconds, theirs / track_seconds
    ratio = theirs_rate / ours_rate
    print(
        json.dumps(
            {
                "track_seconds": track_seconds,
                "recorder_cpu_s_per_track_s": round(ours_rate, 6),
                "media_recorder_cpu_s_per_track_s": round(theirs_rate, 6),
                "ratio": round(ratio, 1),
            }
        )
    )
    print(
        f"(a) recorder {ours_rate * 1000:.2f} ms CPU per track-second, MediaRecorder "
        f"{theirs_rate * 1000:.1f} ms: {ratio:.0f}x cheaper"
    )

    print(f"(b) recording {args.tracks} tracks for {args.record_seconds:.0f} s on one core ...")
    load = await record_load(args.tracks, args.record_seconds, video, audio)
    print("\n".join(load.details))
    print(
        f"(b) {load.tracks} tracks, media process {load.cpu:.2f} CPU-s in {load.seconds:.1f} s "
        f"= {load.cores:.2f} cores (receive, SRTP, jitter buffer and recording), "
        f"{load.gaps} files with gaps, {load.short} short"
    )
    met = (
        ratio >= TARGET_RATIO
        and load.tracks == args.tracks
        and load.gaps == 0
        and load.short == 0
        and load.cores < 1.0
    )
    print(
        f"result: recording_cost_ratio={ratio:.0f}x target={TARGET_RATIO:.0f}x "
        f"tracks={load.tracks} gaps={load.gaps + load.short} cores={load.cores:.2f} "
        f"{'met' if met else 'missed'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
