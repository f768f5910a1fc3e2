"""A quick CPU sanity check of the SFU (not a benchmark, not collected by pytest).

Runs 1 publisher -> N subscribers for a few seconds with the bots in a child process, and
measures `time.process_time()` of this process only (the SFU side), for two SFUs:
`forward` (ours: encoded frames forwarded) and `relay` (aiortc's MediaRelay: decode once,
encode per subscriber).

    .venv/bin/python -m tests.media.cpu_sanity [seconds] [subscribers] [forward,relay]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from media.room import Room

WARM_UP_SECONDS = 2.0


async def _ask(conn: Connection, message: tuple[Any, ...]) -> Any:
    conn.send(message)
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


def run_bots(conn: Connection, subscribers: int, seconds: float) -> None:
    """Child process: one publisher and `subscribers` decoding subscribers."""
    from tests.media.bots import PublisherBot, SubscriberBot

    async def main() -> None:
        publisher = PublisherBot("presenter")
        await publisher.pc.setLocalDescription(await publisher.pc.createOffer())
        answer = await _ask(conn, ("publish", publisher.pc.localDescription.sdp))
        await publisher.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        bots = [SubscriberBot(f"viewer-{i}") for i in range(subscribers)]
        for bot in bots:
            offer = await _ask(conn, ("subscribe", bot.peer_id))
            await bot.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            await bot.pc.setLocalDescription(await bot.pc.createAnswer())
            await _ask(conn, ("answer", bot.peer_id, bot.pc.localDescription.sdp))
        await asyncio.sleep(WARM_UP_SECONDS + seconds + 0.5)
        frames = [{kind: r.frames for kind, r in bot.received.items()} for bot in bots]
        conn.send(("done", frames))
        for bot in bots:
            await bot.close()
        await publisher.close()

    asyncio.run(main())


class RelaySfu:
    """The path we replace: aiortc decodes the publisher and encodes again per subscriber."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: list[MediaStreamTrack] = []
        self.pcs: dict[str, RTCPeerConnection] = {}

    async def publish(self, offer: str) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs["presenter"] = pc
        pc.on("track", self.tracks.append)
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def subscribe(self, peer_id: str) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs[peer_id] = pc
        for track in self.tracks:
            pc.addTrack(self.relay.subscribe(track))
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp

    async def answer(self, peer_id: str, sdp: str) -> None:
        await self.pcs[peer_id].setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def close(self) -> None:
        for pc in self.pcs.values():
            await pc.close()


class ForwardSfu:
    """Ours."""

    def __init__(self) -> None:
        self.room = Room("measure")

    async def publish(self, offer: str) -> str:
        return await self.room.publish("presenter", offer)

    async def subscribe(self, peer_id: str) -> str:
        return (await self.room.subscribe(peer_id)).sdp

    async def answer(self, peer_id: str, sdp: str) -> None:
        await self.room.answer(peer_id, sdp)

    async def close(self) -> None:
        await self.room.close()


async def measure(mode: str, seconds: float, subscribers: int) -> dict[str, Any]:
    """Serve the child's bots with one SFU and measure this process's CPU over `seconds`."""
    sfu: ForwardSfu | RelaySfu = ForwardSfu() if mode == "forward" else RelaySfu()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=run_bots, args=(child, subscribers, seconds)
    )
    process.start()
    loop = asyncio.get_running_loop()
    answered = 0
    while answered < subscribers:
        message = await loop.run_in_executor(None, parent.recv)
        if message[0] == "publish":
            parent.send(await sfu.publish(message[1]))
        elif message[0] == "subscribe":
            parent.send(await sfu.subscribe(message[1]))
        elif message[0] == "answer":
            await sfu.answer(message[1], message[2])
            parent.send("ok")
            answered += 1
    await asyncio.sleep(WARM_UP_SECONDS)
    cpu_start, wall_start = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu_start
    wall = time.monotonic() - wall_start
    _, frames = await loop.run_in_executor(None, parent.recv)
    await sfu.close()
    process.join(timeout=10)
    return {
        "mode": mode,
        "cpu_s": cpu,
        "wall_s": wall,
        "core_pct": 100 * cpu / wall,
        "frames": frames,
    }


def main() -> None:
    """Measure both SFUs once and print the figures."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    subscribers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    modes = sys.argv[3].split(",") if len(sys.argv) > 3 else ["forward", "relay"]
    for mode in modes:
        result = asyncio.run(measure(mode, seconds, subscribers))
        print(
            f"{result['mode']:8s} 1 -> {subscribers}: SFU CPU {result['cpu_s']:.2f} s over "
            f"{result['wall_s']:.1f} s = {result['core_pct']:.1f} % of a core; "
            f"frames decoded per subscriber {result['frames']}"
        )


if __name__ == "__main__":
    main()
