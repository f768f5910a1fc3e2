"""Signaling relay: messages per second and relay latency of `/call`, against a bare relay.

    .venv/bin/python bench/signaling.py [--clients 1000] [--seconds 10] [--rate 1] [--no-redis]

N socket.io clients (python-socketio, websocket) join rooms of four and send ICE-candidate
`signal` messages round each room (peer i → peer i+1), in four servers, each its own process:

- `bare`: a python-socketio relay with no validation, no auth, no room state (the baseline);
- `junta`: the real `/call` namespace (`signaling.server.build_socket_server`, memory state);
- `bare×2`: the bare relay in two processes over Redis (python-socketio's AsyncRedisManager),
  the baseline of
- `junta×2`: two `/call` processes over Redis (AsyncRedisManager, RedisRoomState, RedisGraces),
  each room split across both (needs Redis at JUNTA_TEST_REDIS_URL or 127.0.0.1:6379).

Per server, two phases, latency first (before the saturating phase leaves a backlog, and within
the first engine.io ping interval, so the pings of clients that all connected at once do not
land in one burst): *throughput* (every client sends its next message once the previous was
acknowledged, at most 40 a second each: under the namespace's rate limit), messages delivered per
second and the server processes' CPU-seconds per 1,000 messages; *latency* at a fixed offered
load (`--rate` messages per client per second), p50/p99 from send to delivery (one clock: clients
share the bench process). A thousand python-socketio clients in one process usually saturate
before the server does, so delivered msg/s measures the clients as much as the server; the
server's *capacity* (messages per server CPU-second) does not, and is what the throughput ratio
compares, junta against bare and junta×2 against bare×2. Targets: junta capacity at least
70 % of bare's in both topologies, p99 under 25 ms at 1,000 clients in both.
On a busy machine the numbers are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from signaling.grants import issue_grant, sign_grant  # noqa: E402
from signaling.protocol import PROTOCOL_VERSION  # noqa: E402
from signaling.scaleout import MANAGER_CONNECTIONS  # noqa: E402
from web.app.heap import settle_collector  # noqa: E402

SECRET = b"bench-signaling-secret-0123456789abcdef"
ROOM_SIZE = 4
MIN_INTERVAL = 1 / 40  # per client, below EVENTS_PER_SECOND (50)
CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host"
THROUGHPUT_TARGET = 0.70
P99_TARGET_MS = 25.0


# --- servers (run as `--serve KIND --port P` in their own process) ----------------------------


def serve(kind: str, port: int, redis_url: str | None, prefix: str) -> None:
    from aiohttp import web

    from signaling.server import build_socket_server

    async def main() -> None:
        app = web.Application()
        scale_out = None
        if kind == "bare":
            # Each peer is a room of its own, so that a message reaches a peer connected to
            # another process when the relay runs over Redis (the manager publishes it).
            # The pool as large as junta's (redis-py's default fails commands past 100).
            manager = (
                socketio.AsyncRedisManager(
                    redis_url, redis_options={"max_connections": MANAGER_CONNECTIONS}
                )
                if redis_url
                else None
            )
            sio = socketio.AsyncServer(
                async_mode="aiohttp", transports=["websocket"], async_handlers=False,
                client_manager=manager,
            )

            @sio.on("join", namespace="/call")
            async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
                await sio.enter_room(sid, data["peer_id"], namespace="/call")
                return {"ok": True, "status": "joined"}

            @sio.on("signal", namespace="/call")
            async def signal(sid: str, data: dict[str, Any]) -> dict[str, Any]:
                await sio.emit("signal", data, to=data.pop("to"), namespace="/call")
                return {"ok": True}
        else:
            kwargs: dict[str, Any] = {}
            if redis_url:
                from signaling.scaleout import RedisScaleOut

                scale_out = RedisScaleOut(redis_url, prefix=prefix)
                kwargs = {"client_manager": scale_out.manager, "state": scale_out.rooms,
                          "graces": scale_out.graces}
            sio, _ = build_socket_server(secret=SECRET, **kwargs)
            # No media node runs here, so every room reaching three peers stays peer to peer
            # and says so once per join: a warning a deployment needs, noise in this output.
            logging.getLogger("junta.signaling.sfu").setLevel(logging.ERROR)
        sio.attach(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        if scale_out is not None:
            scale_out.start(sio)
        settle_collector()  # as `junta serve` does; the bare relay alike, so the two compare
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(kind: str, redis_url: str | None = None, prefix: str = "") -> tuple[
    subprocess.Popen[bytes], str
]:
    port = free_port()
    args = [sys.executable, __file__, "--serve", kind, "--port", str(port), "--prefix", prefix]
    if redis_url:
        args += ["--redis", redis_url]
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL)
    for _ in range(200):  # bounded: 20 s
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the {kind} server did not start")


# --- clients ---------------------------------------------------------------------------------


@dataclass
class Clock:
    """Send times by message id, and latencies (seconds) of delivered messages."""

    sent: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    refused: int = 0
    timed_out: int = 0  # acks that did not come within 30 s (counted, not fatal)
    recording: bool = True

    def received(self, data: dict[str, Any]) -> None:
        at = self.sent.pop(data["candidate"]["usernameFragment"], None)
        if at is not None and self.recording:
            self.delivered += 1
            self.latencies.append(time.perf_counter() - at)


@dataclass
class Client:
    sio: socketio.AsyncClient
    peer_id: str
    target: str = ""


async def connect_all(urls: list[str], n: int, clock: Clock, bare: bool) -> list[Client]:
    clients: list[Client] = []
    rooms = (n + ROOM_SIZE - 1) // ROOM_SIZE
    run = uuid.uuid4().hex[:8]

    async def one(i: int) -> Client:
        room = f"bench-{run}-{i // ROOM_SIZE}"
        sio = socketio.AsyncClient(reconnection=False)

        async def on_signal(data: dict[str, Any]) -> None:
            clock.received(data)

        sio.on("signal", on_signal, namespace="/call")
        await sio.connect(urls[i % len(urls)], namespaces=["/call"], transports=["websocket"],
                          wait_timeout=30)
        peer_id = str(uuid.uuid4())
        if bare:
            payload: dict[str, Any] = {"peer_id": peer_id, "room": room}
        else:
            grant = issue_grant(user_id=f"u{i}", name=f"u{i}", room=room, role="specialist",
                                now=time.time())
            payload = {"token": sign_grant(grant, SECRET), "peer_id": peer_id,
                       "protocol": PROTOCOL_VERSION}
        ack = await sio.call("join", payload, namespace="/call", timeout=30)
        if ack.get("status") != "joined":
            raise SystemExit(f"join refused: {ack}")
        return Client(sio, peer_id)

    for start in range(0, n, 50):  # connect in batches: a burst of 1,000 handshakes times out
        clients += await asyncio.gather(*(one(i) for i in range(start, min(n, start + 50))))
    for r in range(rooms):
        members = clients[r * ROOM_SIZE:(r + 1) * ROOM_SIZE]
        for k, client in enumerate(members):
            client.target = members[(k + 1) % len(members)].peer_id
    return clients


async def send(client: Client, clock: Clock) -> None:
    note = uuid.uuid4().hex
    clock.sent[note] = time.perf_counter()
    try:
        ack = await client.sio.call(
            "signal",
            {"to": client.target, "candidate": {"candidate": CANDIDATE, "sdpMid": "0",
                                                 "sdpMLineIndex": 0, "usernameFragment": note}},
            namespace="/call", timeout=30,
        )
    except socketio.exceptions.TimeoutError:
        clock.timed_out += 1
        return
    if not ack.get("ok"):
        clock.refused += 1


async def closed_loop(clients: list[Client], clock: Clock, seconds: float) -> float:
    """Messages delivered per second with one message in flight per client."""
    end = time.perf_counter() + seconds

    async def loop(client: Client) -> None:
        while (now := time.perf_counter()) < end:
            await send(client, clock)
            await asyncio.sleep(max(0.0, MIN_INTERVAL - (time.perf_counter() - now)))

    await asyncio.gather(*(loop(c) for c in clients))
    await asyncio.sleep(0.5)  # the last deliveries
    return clock.delivered / seconds


async def fixed_rate(clients: list[Client], clock: Clock, seconds: float, rate: float) -> None:
    """Every client sends `rate` messages a second, on a fixed timetable with the clients'
    phases spread evenly over the interval.

    The timetable is absolute (client i sends at start + i/N·interval + k·interval): scheduling
    each send one interval after the previous one began lets any stall shift the phases of the
    clients it delayed onto the same instant, and they then stay bunched, a self-made burst of
    hundreds of messages once a second that no real set of browsers sends. A slot missed
    because the client was still waiting is skipped, not made up in a burst.
    """
    start = time.perf_counter()
    end = start + seconds
    interval = 1 / rate

    async def loop(index: int, client: Client) -> None:
        due = start + interval * index / len(clients)
        while due < end:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await send(client, clock)
            due += interval
            now = time.perf_counter()
            if due < now:
                due += interval * ((now - due) // interval + 1)

    await asyncio.gather(*(loop(i, c) for i, c in enumerate(clients)))
    await asyncio.sleep(0.5)


@dataclass
class Result:
    name: str
    throughput: float
    cpu_per_kmsg: float  # server CPU-seconds per 1,000 delivered messages
    p50_ms: float
    p99_ms: float
    refused: int
    timed_out: int

    @property
    def capacity(self) -> float:
        """Messages per server CPU-second."""
        return 1000 / self.cpu_per_kmsg if self.cpu_per_kmsg > 0 else float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


async def measure(name: str, urls: list[str], pids: list[int],
                  args: argparse.Namespace) -> Result:
    clock = Clock()
    clients = await connect_all(urls, args.clients, clock, bare=name == "bare")
    settle_collector()  # the load generator's own collection pauses are not the server's
    try:
        clock.recording = False
        await fixed_rate(clients, clock, 1.0, args.rate)  # warm-up
        # Latency first: after the saturating phase, sockets and queues hold a backlog that
        # would be measured instead of the steady state; and within the first engine.io ping
        # interval (25 s), because clients that all connected in the same few seconds are
        # pinged in one burst, which real clients, connecting at different times, never are.
        clock.recording, clock.delivered, clock.latencies = True, 0, []
        await fixed_rate(clients, clock, args.seconds, args.rate)
        lat = sorted(clock.latencies)
        clock.delivered, clock.latencies = 0, []
        cpu_before = cpu_seconds(pids)
        throughput = await closed_loop(clients, clock, args.seconds)
        cpu = cpu_seconds(pids) - cpu_before
        cpu_per_kmsg = cpu / max(1, clock.delivered) * 1000
        p50 = statistics.median(lat) * 1000 if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
        return Result(name, throughput, cpu_per_kmsg, p50, p99, clock.refused, clock.timed_out)
    finally:
        await asyncio.gather(*(c.sio.disconnect() for c in clients), return_exceptions=True)


def run(args: argparse.Namespace) -> int:
    results: list[Result] = []
    plans: list[tuple[str, list[tuple[str, str | None]]]] = [
        ("bare", [("bare", None)]), ("junta", [("junta", None)]),
    ]
    redis_url = os.environ.get("JUNTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not args.no_redis:
        plans.append(("bare×2 redis", [("bare", redis_url), ("bare", redis_url)]))
        plans.append(("junta×2 redis", [("junta", redis_url), ("junta", redis_url)]))
    for name, servers in plans:
        prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        started = [start_server(kind, url, prefix) for kind, url in servers]
        try:
            if len(started) > 1:
                time.sleep(1.0)  # the managers subscribe before clients arrive
            results.append(asyncio.run(measure(
                name, [url for _, url in started], [p.pid for p, _ in started], args
            )))
        finally:
            for process, _ in started:
                process.terminate()
                process.wait(timeout=10)
            if len(started) > 1:
                _drop_keys(redis_url, prefix)
        r = results[-1]
        print(f"{name:>14}: {r.throughput:8.0f} msg/s delivered   server "
              f"{r.cpu_per_kmsg:6.3f} CPU-s/1000 msgs ({r.capacity:7.0f} msg per CPU-s)   "
              f"p50 {r.p50_ms:7.2f} ms   p99 {r.p99_ms:7.2f} ms   refused {r.refused}"
              f"   timed out {r.timed_out}",
              flush=True)
    # Each junta server against the bare relay in the same topology: one process, then two
    # over Redis (where the bare relay pays for the same manager).
    pairs = [(results[0], results[1])]
    if len(results) > 2:
        pairs.append((results[2], results[3]))
    ratios = [junta.capacity / bare.capacity for bare, junta in pairs]
    for (bare, junta), ratio in zip(pairs, ratios, strict=True):
        print(f"{junta.name}/{bare.name}: capacity {ratio:.2f} (target ≥ {THROUGHPUT_TARGET:.2f}), "
              f"delivered {junta.throughput / bare.throughput:.2f} (client-bound)")
    ratio = min(ratios)
    worst_p99 = max(junta.p99_ms for _, junta in pairs)
    print(f"worst junta p99 {worst_p99:.1f} ms at {args.clients} clients, {args.rate:g} msg/s "
          f"each (target < {P99_TARGET_MS:g} ms)")
    met = ratio >= THROUGHPUT_TARGET and worst_p99 < P99_TARGET_MS
    print(f"result: capacity_ratio={ratio:.2f},p99_ms={worst_p99:.1f} "
          f"target={THROUGHPUT_TARGET:.2f},{P99_TARGET_MS:g} {'met' if met else 'missed'}")
    return 0


def _drop_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1.0, help="messages/s per client (latency)")
    parser.add_argument("--no-redis", action="store_true", help="skip the two-process run")
    parser.add_argument("--serve", choices=["bare", "junta"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="bench:", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.redis, args.prefix)
        return 0
    if args.clients < ROOM_SIZE:
        parser.error(f"--clients must be at least {ROOM_SIZE}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
