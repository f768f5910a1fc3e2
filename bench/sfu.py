"""CPU cost of the SFU per subscriber, against aiortc's MediaRelay re-encoding the same stream.

    .venv/bin/python bench/sfu.py [--quick] [--seconds 10]

One publisher (an aiortc bot: a 640x480 moving pattern, 30 fps, VP8 pinned at 1.5 Mbps) sends to
N subscriber bots through a media process, N = 1, 5, 10, 20, 40 (`--quick`: 1 and 5). Every
party is its own OS process: the media process, the publisher, and subscriber workers hosting up
to 10 RTCPeerConnections each. Subscribers count the encoded frames they receive (tapped before
the decoder, so they do not decode); subscriber 0 decodes, and its picture is checked (size, and
the white box found and moving). Only the media process's CPU is counted: utime + stime of its
/proc/<pid>/stat over the measurement window, after a warm-up.

(a) sfu: `media.api` serving a `LocalMediaNode`, exactly what `junta media` serves.
(b) relay: a media process on the same API whose publisher track is decoded once and re-encoded
    per subscriber (aiortc `MediaRelay`, unbuffered so a starved encoder skips rather than
    queues; its VP8 encoders pinned at 1.5 Mbps too). Up to N = 20, the largest N whose
    encoders this machine still carries at full frame rate; at N = 40 its encoders alone would
    need more than the two cores this machine shares with the bots.
(c) Janus VideoRoom: not measured. Janus (Debian's 1.1.2 here) never gathers an ICE candidate on
    the loopback interface, and every target of this benchmark is a loopback address; the line
    says so when `janus` is installed, and that it is not installed otherwise.

ICE is restricted to 127.0.0.1 in every process of the benchmark. Bots' sockets get 4 MB
receive buffers (a starved worker would otherwise lose frames the SFU sent); `udp drops` is the
machine-wide count of datagrams the kernel still dropped for full receive buffers in the window.
With two cores the bots compete with the media process for CPU: the fps reported is what the
subscribers really got.
The cost ratio is (b)/(a) in CPU-seconds per subscriber-second at the largest N both measured.
`per_frame_ratio` is the same ratio per frame the subscribers received: when the relay's
encoders are starved of CPU they skip frames, and per subscriber-second it then looks cheaper
than it is. "met" is judged on sfu_cost_ratio (per subscriber-second), as the issue defines it.
The last line is `result: sfu_cost_ratio=<x> per_frame_ratio=<f> min_fps_at_40=<y>
target=20x,29fps met|missed` (with `--quick`, where N = 40 is not run:
`result: sfu_cost_ratio=<x> per_frame_ratio=<f> target=20 met|missed`).
`JUNTA_BENCH_PROFILE=<file>` runs the SFU media process under cProfile and writes its stats
there when it stops (the profile slows it down: use it to see where the time goes, not to
measure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROOM = "bench"
BITRATE = 1_500_000
SFU_COUNTS = (1, 5, 10, 20, 40)
RELAY_COUNTS = (1, 5, 10, 20)
QUICK_COUNTS = (1, 5)
SUBSCRIBERS_PER_WORKER = 10
WARM_UP_SECONDS = 3.0
TARGET_RATIO = 20.0
TARGET_FPS = 29.0
SETUP_TIMEOUT = 90.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BOT_RECEIVE_BUFFER = 4 << 20
NOISE_TOP, NOISE_HEIGHT, NOISE_WIDTH = 400, 64, 160
BRIGHT = bytes(1 if value >= 235 else 0 for value in range(256))


# ---------------------------------------------------------------- every process of the benchmark


def use_loopback_only() -> None:
    """Make aiortc gather only 127.0.0.1 host candidates in this process."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def enlarge_receive_buffers() -> None:
    """Give every UDP socket aiortc opens in this (bot) process a 4 MB receive buffer.

    Ten subscribers share one worker process; on a busy machine a worker can be off the CPU
    long enough for the default ~200 kB socket buffers to overflow, and the frames then lost
    would be counted against the SFU. Only bots get this: the media process runs as shipped.
    """
    import aioice.ice

    original = aioice.ice.StunProtocol.connection_made

    def connection_made(self: Any, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BOT_RECEIVE_BUFFER)
        original(self, transport)

    aioice.ice.StunProtocol.connection_made = connection_made  # type: ignore[method-assign]


def udp_receive_drops() -> int:
    """Datagrams the kernel dropped, machine-wide, because a socket's receive buffer was full."""
    with open("/proc/net/snmp") as snmp:
        rows = [line.split() for line in snmp if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def pin_vp8_bitrate() -> None:
    """Make every VP8 encoder aiortc creates in this process encode at `BITRATE`, REMB or not."""
    import aiortc.rtcrtpsender
    from aiortc.codecs.vpx import Vp8Encoder

    class PinnedVp8Encoder(Vp8Encoder):
        def __init__(self) -> None:
            super().__init__()
            Vp8Encoder.target_bitrate.fset(self, BITRATE)  # type: ignore[attr-defined]

        @property
        def target_bitrate(self) -> int:
            return BITRATE

        @target_bitrate.setter
        def target_bitrate(self, bitrate: int) -> None:
            pass  # the benchmark's load is fixed: ignore REMB

    original = aiortc.rtcrtpsender.get_encoder

    def get_encoder(codec: Any) -> Any:
        if codec.mimeType.lower() == "video/vp8":
            return PinnedVp8Encoder()
        return original(codec)

    aiortc.rtcrtpsender.get_encoder = get_encoder


# ---------------------------------------------------------------- the media processes


class RelayNode:
    """The baseline behind the same API: decode the publisher once, encode per subscriber."""

    def __init__(self) -> None:
        from aiortc.contrib.media import MediaRelay

        self.relay = MediaRelay()
        self.source: Any = None
        self.pcs: dict[str, Any] = {}

    async def create_room(self, room_id: str) -> None:
        pass

    async def publish(self, room_id: str, peer_id: str, offer_sdp: str) -> str:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs[peer_id] = pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video":
                self.source = track

        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def subscribe(self, room_id: str, peer_id: str) -> Any:
        from aiortc import RTCConfiguration, RTCPeerConnection

        from media.codecs import capabilities_for
        from media.errors import MediaError
        from media.room import SubscriptionOffer

        if self.source is None:
            raise MediaError("track_not_found", "nothing published yet")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs[peer_id] = pc
        transceiver = pc.addTransceiver(
            self.relay.subscribe(self.source, buffered=False), direction="sendonly"
        )
        transceiver.setCodecPreferences(capabilities_for("video", "VP8"))
        await pc.setLocalDescription(await pc.createOffer())
        return SubscriptionOffer(sdp=pc.localDescription.sdp, tracks_by_mid={})

    async def answer(self, room_id: str, peer_id: str, answer_sdp: str) -> None:
        from aiortc import RTCSessionDescription

        await self.pcs[peer_id].setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))

    async def load(self) -> Any:
        from media.node import NodeLoad

        subscribers = len(self.pcs) - (self.source is not None)
        return NodeLoad(rooms=1, publishers=1, subscribers=subscribers, forwarded_streams=0)

    async def close(self) -> None:
        for pc in self.pcs.values():
            await pc.close()

    def __getattr__(self, name: str) -> Any:
        async def unsupported(*args: Any, **kwargs: Any) -> None:
            from media.errors import MediaError

            raise MediaError("unsupported", f"the relay baseline has no {name}")

        return unsupported


def serve(system: str, port: int) -> None:
    """The media process: the API on 127.0.0.1:`port`, with our SFU or the relay behind it."""
    from aiohttp import web

    from media.api import create_app
    from media.settings import MediaSettings

    use_loopback_only()
    settings = MediaSettings.from_env(host="127.0.0.1", port=port)
    if system == "relay":
        pin_vp8_bitrate()
        app = create_app(settings, node=RelayNode())  # type: ignore[arg-type]
    else:
        app = create_app(settings)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# ---------------------------------------------------------------- bot processes


def noisy_moving_box_track() -> Any:
    """The test suite's moving box on a gradient, plus a patch of fresh noise every frame.

    Without the noise the picture is so easy to compress that VP8 undershoots to ~400 kbps
    whatever its target; the noise patch makes the encoder spend its whole 1.5 Mbps budget.
    """
    from tests.media.bots import MovingBoxTrack

    class NoisyMovingBoxTrack(MovingBoxTrack):
        async def recv(self) -> Any:
            frame = await super().recv()
            luma = frame.planes[0]
            data = bytearray(bytes(luma))
            stride = luma.line_size
            for y in range(NOISE_TOP, NOISE_TOP + NOISE_HEIGHT):
                data[y * stride : y * stride + NOISE_WIDTH] = os.urandom(NOISE_WIDTH)
            luma.update(bytes(data))
            return frame

    return NoisyMovingBoxTrack()


async def _until_told(conn: Connection, word: str) -> Any:
    loop = asyncio.get_running_loop()
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message[0] == word:
            return message


def run_publisher(conn: Connection, base_url: str, secret: str) -> None:
    """Publisher process: the moving pattern at 30 fps, VP8 at `BITRATE`."""
    use_loopback_only()
    enlarge_receive_buffers()
    pin_vp8_bitrate()

    async def main() -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        from media.codecs import capabilities_for
        from media.remote import RemoteMediaNode

        node = RemoteMediaNode(base_url, secret)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        track = noisy_moving_box_track()
        transceiver = pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(capabilities_for("video", "VP8"))
        await pc.setLocalDescription(await pc.createOffer())
        answer = await node.publish(ROOM, "presenter", pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        conn.send(("ready",))

        async def sent() -> tuple[int, int]:
            for stats in (await transceiver.sender.getStats()).values():
                if stats.type == "outbound-rtp":
                    return stats.bytesSent, stats.packetsSent
            return 0, 0

        await _until_told(conn, "mark")
        # The sender encodes every frame it pulls from the track: frames made = frames sent.
        start, started, first_frame = await sent(), time.monotonic(), track._index
        await _until_told(conn, "stop")
        end, elapsed = await sent(), time.monotonic() - started
        conn.send(
            (
                "result",
                {
                    "kbps": 8 * (end[0] - start[0]) / elapsed / 1000,
                    "fps": (track._index - first_frame) / elapsed,
                },
            )
        )
        await _until_told(conn, "close")
        await pc.close()
        await node.close()

    asyncio.run(main())


@dataclass
class _Viewer:
    peer_id: str
    decodes: bool
    frames: int = 0
    marked: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    checked: int = 0
    box_rows: list[int] = field(default_factory=list)


def _box_top(frame: Any) -> int | None:
    """The first row of the white box in a decoded picture, or None if there is no box."""
    plane = frame.planes[0]
    data, stride = bytes(plane), plane.line_size
    rows = [
        y
        for y in range(frame.height)
        if data[y * stride : y * stride + frame.width].translate(BRIGHT).count(1) > 75
    ]
    return rows[0] if 80 <= len(rows) <= 112 else None


def run_subscribers(
    conn: Connection, base_url: str, secret: str, peer_ids: list[str], decoding: list[str]
) -> None:
    """Subscriber worker: many receive-only connections counting frames, a few decoding."""
    use_loopback_only()
    enlarge_receive_buffers()

    async def main() -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from aiortc.mediastreams import MediaStreamError

        from media.aiortc_tap.receiver_tap import ReceiverTap
        from media.remote import RemoteMediaNode
        from tests.media.peers import wait_until

        node = RemoteMediaNode(base_url, secret, timeout=60)
        viewers = [_Viewer(peer_id, peer_id in decoding) for peer_id in peer_ids]
        pcs: list[Any] = []
        taps: list[Any] = []
        tasks: list[asyncio.Task[None]] = []

        async def decode(viewer: _Viewer, track: Any) -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    viewer.frames += 1
                    viewer.sizes.add((frame.width, frame.height))
                    if viewer.frames % 30 == 1:  # check about one picture a second
                        viewer.checked += 1
                        top = _box_top(frame)
                        if top is not None:
                            viewer.box_rows.append(top)

        def count(viewer: _Viewer) -> Any:
            def on_frame(frame: Any) -> None:
                viewer.frames += 1

            return on_frame

        async def join(viewer: _Viewer, gate: asyncio.Semaphore) -> None:
            async with gate:
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                pcs.append(pc)
                if viewer.decodes:
                    pc.on(
                        "track",
                        lambda track: tasks.append(asyncio.ensure_future(decode(viewer, track))),
                    )
                offer = await node.subscribe(ROOM, viewer.peer_id)
                await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
                if not viewer.decodes:
                    for transceiver in pc.getTransceivers():
                        if transceiver.kind == "video":
                            taps.append(ReceiverTap(transceiver.receiver, "VP8", count(viewer)))
                await pc.setLocalDescription(await pc.createAnswer())
                await node.answer(ROOM, viewer.peer_id, pc.localDescription.sdp)

        gate = asyncio.Semaphore(5)
        await asyncio.gather(*(join(viewer, gate) for viewer in viewers))
        with contextlib.suppress(TimeoutError):
            await wait_until(lambda: all(v.frames for v in viewers), SETUP_TIMEOUT / 2, 0.1)
        conn.send(("ready", sum(1 for v in viewers if v.frames)))

        await _until_told(conn, "mark")
        started = time.monotonic()
        for viewer in viewers:
            viewer.marked = viewer.frames
        await _until_told(conn, "stop")
        elapsed = time.monotonic() - started
        fps = [(v.frames - v.marked) / elapsed for v in viewers]
        checks = [
            {
                "sizes": sorted(v.sizes),
                "checked": v.checked,
                "boxes": len(v.box_rows),
                "positions": len(set(v.box_rows)),
            }
            for v in viewers
            if v.decodes
        ]
        conn.send(("result", {"fps": fps, "checks": checks}))
        await _until_told(conn, "close")
        for task in tasks:
            task.cancel()
        for pc in pcs:
            await pc.close()
        await node.close()

    asyncio.run(main())


# ---------------------------------------------------------------- the orchestrator


@dataclass
class Measurement:
    """One system at one N."""

    system: str
    subscribers: int
    cpu_s: float
    wall_s: float
    fps: list[float]
    publisher_kbps: float
    publisher_fps: float
    bots_cores: float
    udp_drops: int
    checks: list[dict[str, Any]]
    forwarded: int

    @property
    def cores(self) -> float:
        return self.cpu_s / self.wall_s

    @property
    def per_subscriber(self) -> float:
        """CPU-seconds per subscriber-second."""
        return self.cpu_s / (self.subscribers * self.wall_s)

    @property
    def per_frame_ms(self) -> float:
        """CPU-milliseconds per frame a subscriber received: fair when a system falls short
        of 30 fps (a starved relay skips frames, and so spends less per subscriber-second)."""
        frames = sum(self.fps) * self.wall_s
        return 1000 * self.cpu_s / frames if frames else math.inf


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(url: str, secret: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def _receive(conn: Connection, word: str, within: float) -> Any:
    if not conn.poll(within):
        raise TimeoutError(f"no {word!r} from a bot within {within:.0f} s")
    message = conn.recv()
    if message[0] != word:
        raise RuntimeError(f"expected {word!r}, got {message!r}")
    return message[1] if len(message) > 1 else None


def _wait_healthy(base_url: str, secret: str, media: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if media.poll() is not None:
            raise RuntimeError(f"the media process exited with status {media.returncode}")
        with contextlib.suppress(OSError):
            _http(base_url + "/healthz", secret)
            return
        time.sleep(0.2)
    raise TimeoutError("the media process did not answer /healthz within 30 s")


def measure(system: str, subscribers: int, seconds: float) -> Measurement:
    """Start a media process and the bots, measure, tear everything down."""
    secret = secrets.token_urlsafe(32)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    media = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", system, "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "JUNTA_MEDIA_SECRET": secret},
    )
    context = multiprocessing.get_context("spawn")
    bots: list[tuple[Any, Connection]] = []

    def start(target: Any, *args: Any) -> Connection:
        parent, child = context.Pipe()
        process = context.Process(target=target, args=(child, base_url, secret, *args))
        process.start()
        bots.append((process, parent))
        return parent

    try:
        _wait_healthy(base_url, secret, media)
        _http(base_url + "/v1/create_room", secret, {"room_id": ROOM})
        publisher = start(run_publisher)
        _receive(publisher, "ready", SETUP_TIMEOUT)
        ids = [f"viewer-{i}" for i in range(subscribers)]
        workers = math.ceil(subscribers / SUBSCRIBERS_PER_WORKER)
        conns = [start(run_subscribers, ids[w::workers], ids[:1]) for w in range(workers)]
        ready = sum(_receive(conn, "ready", SETUP_TIMEOUT) for conn in conns)
        if ready < subscribers:
            print(f"  warning: {subscribers - ready} subscribers got no frame before measuring")
        time.sleep(WARM_UP_SECONDS)
        everyone = [publisher, *conns]
        bot_pids = [process.pid for process, _ in bots]
        for conn in everyone:
            conn.send(("mark",))
        cpu_start, bots_start, wall_start, drops_start = (
            _cpu_seconds(media.pid),
            sum(_cpu_seconds(pid) for pid in bot_pids),
            time.monotonic(),
            udp_receive_drops(),
        )
        time.sleep(seconds)
        cpu_end, bots_end, wall_end, drops_end = (
            _cpu_seconds(media.pid),
            sum(_cpu_seconds(pid) for pid in bot_pids),
            time.monotonic(),
            udp_receive_drops(),
        )
        for conn in everyone:
            conn.send(("stop",))
        health = _http(base_url + "/healthz", secret)
        published = _receive(publisher, "result", 30)
        results = [_receive(conn, "result", 30) for conn in conns]
        for conn in everyone:
            conn.send(("close",))
        wall = wall_end - wall_start
        return Measurement(
            system=system,
            subscribers=subscribers,
            cpu_s=cpu_end - cpu_start,
            wall_s=wall,
            fps=[fps for result in results for fps in result["fps"]],
            publisher_kbps=published["kbps"],
            publisher_fps=published["fps"],
            bots_cores=(bots_end - bots_start) / wall,
            udp_drops=drops_end - drops_start,
            checks=[check for result in results for check in result["checks"]],
            forwarded=int(health.get("forwarded_streams", 0)),
        )
    finally:
        for process, _ in bots:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        if media.poll() is None:
            media.send_signal(signal.SIGTERM)
            try:
                media.wait(timeout=10)
            except subprocess.TimeoutExpired:
                media.kill()
                media.wait(timeout=5)


def _picture(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "-"
    check = checks[0]
    ok = (
        check["sizes"] == [(640, 480)]
        and check["checked"] > 0
        and check["boxes"] == check["checked"]
        and check["positions"] > 1
    )
    verdict = "ok" if ok else "BAD"
    return f"{verdict} {check['boxes']}/{check['checked']}"


def main() -> int:
    """Measure, print the table and the result line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 5 only, short runs")
    parser.add_argument("--seconds", type=float, help="measured seconds per run (default 10)")
    parser.add_argument(
        "--counts", help="comma-separated N values (default 1,5,10,20,40; relay only up to 20)"
    )
    parser.add_argument("--serve", choices=["sfu", "relay"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        profile_path = os.environ.get("JUNTA_BENCH_PROFILE")
        if profile_path and args.serve == "sfu":
            # Where the media process's CPU goes: cProfile stats written when it stops, timed
            # in CPU time (a shared machine's wall clock counts the time others ran).
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            try:
                profiler.runcall(serve, args.serve, args.port)
            finally:
                profiler.dump_stats(profile_path)
        else:
            serve(args.serve, args.port)
        return 0
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    sfu_counts = QUICK_COUNTS if args.quick else SFU_COUNTS
    if args.counts:
        sfu_counts = tuple(int(n) for n in args.counts.split(","))
    relay_counts = tuple(n for n in sfu_counts if n <= max(RELAY_COUNTS))
    print(
        f"1 publisher (640x480, 30 fps, VP8 {BITRATE // 1000} kbps) -> N subscribers; "
        f"{seconds:.0f} s measured after {WARM_UP_SECONDS:.0f} s warm-up; {os.cpu_count()} cores "
        "shared by the media process and the bots",
        flush=True,
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other work on this machine)")
    runs: list[Measurement] = []
    # Alternate the systems at each N so that both see the same machine load.
    for n in sorted(set(sfu_counts) | set(relay_counts)):
        for system in ("sfu", "relay"):
            if n in (sfu_counts if system == "sfu" else relay_counts):
                run = measure(system, n, seconds)
                runs.append(run)
                print(
                    f"  {system:5s} N={n:2d}: {run.cores:.2f} cores, min fps {min(run.fps):.1f}",
                    flush=True,
                )
    print()
    print(
        f"{'system':6s} {'N':>3s} {'media CPU s':>11s} {'cores':>6s} {'CPU-s/sub-s':>11s} "
        f"{'min fps':>7s} {'med fps':>7s} {'pub fps':>7s} {'pub kbps':>8s} {'bots cores':>10s} "
        f"{'fwd':>4s} {'ms/frame':>8s} {'udp drops':>9s} picture"
    )
    for run in runs:
        print(
            f"{run.system:6s} {run.subscribers:3d} {run.cpu_s:11.2f} {run.cores:6.2f} "
            f"{run.per_subscriber:11.4f} {min(run.fps):7.1f} {statistics.median(run.fps):7.1f} "
            f"{run.publisher_fps:7.1f} {run.publisher_kbps:8.0f} {run.bots_cores:10.2f} "
            f"{run.forwarded:4d} {run.per_frame_ms:8.3f} {run.udp_drops:9d} "
            f"{_picture(run.checks)}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print()
    by_key = {(run.system, run.subscribers): run for run in runs}
    common = sorted(n for system, n in by_key if system == "relay" and ("sfu", n) in by_key)
    for n in common:
        ratio = by_key["relay", n].per_subscriber / by_key["sfu", n].per_subscriber
        per_frame = by_key["relay", n].per_frame_ms / by_key["sfu", n].per_frame_ms
        print(
            f"(b)/(a) per subscriber at N={n}: {ratio:.1f}x "
            f"(per frame received: {per_frame:.1f}x)"
        )
    if shutil.which("janus") is None:
        print("(c) Janus VideoRoom: skipped, `janus` is not installed")
    else:
        # Janus gathers ICE candidates on every interface but loopback (its ice.c skips
        # IFF_LOOPBACK interfaces; ice_enforce_list cannot bring them back), and this
        # benchmark sends load to loopback addresses only.
        print(
            "(c) Janus VideoRoom: not measured: Janus offers no candidate on the loopback "
            "interface, and the bots send media to loopback addresses only"
        )
    print(
        f"(b) runs only for N <= {max(RELAY_COUNTS)}: beyond that the relay's per-subscriber "
        "encoders alone exceed the cores this machine has"
    )
    if not common:
        # `--counts` without any N the relay runs at: nothing to compare against.
        print(
            "result: no relay run to compare with "
            f"(use an N of at most {max(RELAY_COUNTS)} in --counts)"
        )
        return 0
    headline = common[-1]
    ratio = by_key["relay", headline].per_subscriber / by_key["sfu", headline].per_subscriber
    frame_ratio = by_key["relay", headline].per_frame_ms / by_key["sfu", headline].per_frame_ms
    print(f"sfu_cost_ratio is taken at N={headline}, the largest N both systems ran")
    at_40 = by_key.get(("sfu", 40))
    if at_40 is None:
        met = ratio >= TARGET_RATIO
        print(
            f"result: sfu_cost_ratio={ratio:.1f} per_frame_ratio={frame_ratio:.1f} "
            f"target=20 {'met' if met else 'missed'}"
        )
    else:
        min_fps = min(at_40.fps)
        print(
            f"SFU at N=40: {at_40.cores:.2f} cores (target: at most one); the publisher bot "
            f"made {at_40.publisher_fps:.1f} fps"
        )
        if at_40.publisher_fps < TARGET_FPS:
            # Subscribers cannot get frames the publisher never made: the bots were short of CPU.
            print("  the publisher bot itself fell short of 30 fps (CPU shared with the bots)")
        met = ratio >= TARGET_RATIO and min_fps >= TARGET_FPS and at_40.cores <= 1.0
        print(
            f"result: sfu_cost_ratio={ratio:.1f} per_frame_ratio={frame_ratio:.1f} "
            f"min_fps_at_40={min_fps:.1f} target=20x,29fps {'met' if met else 'missed'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
