"""Soak: bots join, signal, chat and leave for minutes; errors and server memory growth.

    .venv/bin/python bench/soak.py [--minutes 10] [--bots 200] [--rooms 50] [--processes 1|2]

The bench starts real `junta serve --demo` processes on loopback (SQLite in a temporary directory;
with `--processes 2` both over their own `redis-server` on a spare port, each room split across
the two processes), measures the idle RSS of each, then runs `--bots` python-socketio bots in
`--rooms` rooms from `--bot-processes` worker processes (so the bots do not saturate before the
server). Each bot joins its room, sends its room-mates an offer, an answer or an ICE candidate
(`signal`) `--rate` times a second and a chat message every `--chat-every` seconds, leaves after
20–60 s and joins again, on a new socket every other time.

Join tokens are minted with the server's secret (`JUNTA_SECRET_KEY`), as the signaling tests do:
the demo network has a single room that is peer to peer and open without admission, with four
invited users, so 50 rooms of bots cannot get their tokens from the join API.

Errors (target 0): any `ok: false` ack, an exception or timeout in a bot, a disconnect the bot did
not ask for, a `peer-left` other than `left` (a ghost timed out), and ERROR lines in the servers'
logs. A bot about to leave first stops being a target and waits for the signals in flight to it,
so `peer_not_found` is an error too, not a race. Memory: VmRSS of every server process
(/proc/<pid>/status) every 10 s; growth = last sample against the sample at one minute, the
worst process; target < 10 %. The idle RSS before the bots join is printed as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from signaling.grants import issue_grant, sign_grant  # noqa: E402
from signaling.protocol import PROTOCOL_VERSION  # noqa: E402

ERROR_TARGET = 0
GROWTH_TARGET = 10.0  # per cent, after the first minute
SAMPLE_EVERY = 10.0  # seconds
REFERENCE_AT = 60.0  # the sample growth is measured from
STAY = (20.0, 60.0)  # seconds in the room before leaving
AWAY = (0.5, 2.0)  # seconds between leaving and joining again
SDP = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
       "a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
       "a=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n")
CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host"


# --- bots (a worker process runs the bots of its rooms) ----------------------------------------


@dataclass
class Stats:
    joins: int = 0
    leaves: int = 0
    connections: int = 0
    signals: int = 0
    signals_received: int = 0
    chats: int = 0
    chats_received: int = 0
    errors: int = 0
    examples: list[str] = field(default_factory=list)
    done: bool = False

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.examples) < 10:
            self.examples.append(what)


@dataclass
class Room:
    """The bots of one room that others may signal (joined, not leaving), and signals in flight
    to each peer (a leaving bot waits for them, so a refused signal is a real error)."""

    name: str
    members: set[str] = field(default_factory=set)
    inflight: dict[str, int] = field(default_factory=dict)


class Bot:
    def __init__(self, index: int, room: Room, url: str, secret: bytes, stats: Stats,
                 args: argparse.Namespace) -> None:
        self.index, self.room, self.url, self.secret = index, room, url, secret
        self.stats, self.args = stats, args
        self.user_id = f"bot-{index}"
        self.peer_id = ""
        self.closing = False
        self.sio: Any = None

    def token(self) -> str:
        grant = issue_grant(user_id=self.user_id, name=f"Bot {self.index}", room=self.room.name,
                            role="specialist", now=time.time())
        return sign_grant(grant, self.secret)

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(event, payload, namespace="/call", timeout=10)
        if not ack.get("ok"):
            self.stats.error(f"{self.user_id} {event}: {ack.get('error')}")
        return ack

    async def connect(self) -> None:
        import socketio

        self.closing = False
        self.peer_id = str(uuid.uuid4())  # a new page
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("signal", self._on_signal, namespace="/call")
        self.sio.on("chat", self._on_chat, namespace="/call")
        self.sio.on("peer-left", self._on_peer_left, namespace="/call")
        self.sio.on("disconnect", self._on_disconnect, namespace="/call")
        await self.sio.connect(self.url, namespaces=["/call"], transports=["websocket"],
                               wait_timeout=20)
        self.stats.connections += 1

    async def _on_signal(self, data: dict[str, Any]) -> None:
        self.stats.signals_received += 1

    async def _on_chat(self, data: dict[str, Any]) -> None:
        self.stats.chats_received += 1

    async def _on_peer_left(self, data: dict[str, Any]) -> None:
        if data.get("reason") != "left":
            self.stats.error(f"{self.user_id} saw peer-left {data}")

    async def _on_disconnect(self, *reason: Any) -> None:
        if not self.closing:
            self.stats.error(f"{self.user_id} disconnected by the other side {reason}")

    async def join(self) -> bool:
        ack = await self.call("join", {"token": self.token(), "peer_id": self.peer_id,
                                       "protocol": PROTOCOL_VERSION})
        if ack.get("status") != "joined":
            return False
        self.stats.joins += 1
        self.room.members.add(self.peer_id)
        return True

    async def leave(self) -> None:
        self.room.members.discard(self.peer_id)
        for _ in range(100):  # bounded: 10 s for the signals in flight to this peer
            if not self.room.inflight.get(self.peer_id):
                break
            await asyncio.sleep(0.1)
        self.room.inflight.pop(self.peer_id, None)
        await self.call("leave", {})
        self.stats.leaves += 1

    async def disconnect(self) -> None:
        self.closing = True
        self.room.members.discard(self.peer_id)
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()

    async def send(self, tick: int) -> None:
        others = sorted(self.room.members - {self.peer_id})
        if others:
            to = random.choice(others)
            kind = tick % 3
            payload: dict[str, Any] = {"to": to}
            if kind == 2:
                payload["candidate"] = {"candidate": CANDIDATE, "sdpMid": "0",
                                        "sdpMLineIndex": 0}
            else:
                payload["description"] = {"type": "offer" if kind == 0 else "answer", "sdp": SDP}
            self.room.inflight[to] = self.room.inflight.get(to, 0) + 1
            try:
                await self.call("signal", payload)
            finally:
                self.room.inflight[to] -= 1
            self.stats.signals += 1
        ticks_per_chat = max(1, round(self.args.chat_every * self.args.rate))
        if tick % ticks_per_chat == ticks_per_chat - 1:
            await self.call("chat", {"text": f"{self.user_id}: mensaje {tick}"})
            self.stats.chats += 1

    async def stay(self, until: float) -> None:
        """Signal and chat at a steady rate until `until` (monotonic)."""
        interval = 1 / self.args.rate
        tick = 0
        while (started := time.monotonic()) < until:
            await self.send(tick)
            tick += 1
            await asyncio.sleep(max(0.0, min(until, started + interval) - time.monotonic()))

    async def run(self, end: float, start_delay: float) -> None:
        await asyncio.sleep(start_delay)
        while time.monotonic() < end:
            try:
                await self.connect()
                for _ in range(2):  # leave and join again on the same socket, then a new socket
                    if time.monotonic() >= end or not await self.join():
                        break
                    await self.stay(min(end, time.monotonic() + random.uniform(*STAY)))
                    await self.leave()
                    if time.monotonic() < end:
                        await asyncio.sleep(random.uniform(*AWAY))
            except Exception as exc:  # counted; the bot starts over on a new socket
                self.stats.error(f"{self.user_id} {type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)
            finally:
                await self.disconnect()


def write_stats(path: Path, stats: Stats) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(stats)))
    os.replace(tmp, path)  # the sampler never reads a half-written file


async def worker(args: argparse.Namespace) -> None:
    stats = Stats()
    urls = args.urls.split(",")
    secret = os.environ["JUNTA_SECRET_KEY"].encode()
    run = args.run_id
    bots: list[Bot] = []
    rooms: dict[int, Room] = {}
    for i in range(args.bots):
        r = i % args.rooms
        if r % args.workers != args.worker:
            continue  # all the bots of a room live in one worker (the in-flight bookkeeping)
        room = rooms.setdefault(r, Room(f"soak-{run}-{r}"))
        bots.append(Bot(i, room, urls[(i // args.rooms) % len(urls)], secret, stats, args))
    end = time.monotonic() + args.seconds
    ramp = min(10.0, args.seconds / 4)  # spread the first connections out
    tasks = [asyncio.create_task(b.run(end, ramp * k / max(1, len(bots))))
             for k, b in enumerate(bots)]
    out = Path(args.out)
    try:
        while not all(t.done() for t in tasks) and time.monotonic() < end + 30:  # bounded
            write_stats(out, stats)
            await asyncio.sleep(2.0)
    finally:
        for task in tasks:
            if not task.done():
                stats.error("a bot did not finish within 30 s of the end")
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stats.done = True
        write_stats(out, stats)


# --- the bench ---------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def log_errors(path: Path) -> list[str]:
    """ERROR and CRITICAL lines of a server's JSON-lines log."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level")
        except (ValueError, AttributeError):
            level = "error" if "Traceback" in line else None
        if level in ("error", "critical"):
            found.append(line[:300])
    return found


def read_stats(paths: list[Path]) -> list[dict[str, Any]]:
    found = []
    for path in paths:
        with contextlib.suppress(OSError, ValueError):
            found.append(json.loads(path.read_text()))
    return found


def run(args: argparse.Namespace) -> int:
    from tests.faults.servers import SECRET, JuntaServe, RedisServer

    seconds = args.minutes * 60
    workdir = Path(tempfile.mkdtemp(prefix="junta-soak-"))
    redis = RedisServer(workdir).start() if args.processes > 1 else None
    env = {"JUNTA_REDIS_URL": redis.url, "JUNTA_REDIS_PREFIX": "soak:"} if redis else {}
    servers = [JuntaServe(workdir, f"serve-{i}", **env) for i in range(args.processes)]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for server in servers:  # one at a time: each upgrades the shared schema on startup
            server.start("--demo")
        time.sleep(3.0)  # settle after start-up
        pids = [s.process.pid for s in servers if s.process is not None]
        idle = [rss_kib(pid) for pid in pids]
        print(f"soak: {args.bots} bots in {args.rooms} rooms, {args.processes} `junta serve` "
              f"process(es){' over Redis' if redis else ''}, {args.bot_processes} bot process(es),"
              f" {args.minutes:g} min; tokens minted with the server's secret", flush=True)
        baseline = ", ".join(f"{s.name} {k / 1024:.1f} MiB"
                             for s, k in zip(servers, idle, strict=True))
        print(f"baseline (idle, before the bots join): {baseline}", flush=True)
        run_id = uuid.uuid4().hex[:6]
        outs = [workdir / f"bots-{w}.json" for w in range(args.bot_processes)]
        for w in range(args.bot_processes):
            workers.append(subprocess.Popen(
                [sys.executable, __file__, "--worker", str(w), "--workers",
                 str(args.bot_processes), "--urls", ",".join(s.url for s in servers),
                 "--bots", str(args.bots), "--rooms", str(args.rooms), "--seconds",
                 str(seconds + 3), "--rate", str(args.rate), "--chat-every",
                 str(args.chat_every), "--run-id", run_id, "--out", str(outs[w])],
                cwd=REPO, env={**os.environ, "JUNTA_SECRET_KEY": SECRET},
            ))
        header = "  ".join(f"{s.name + ' MiB':>13} {'×idle':>6}" for s in servers)
        print(f"{'t s':>5}  {header}  {'joins':>6} {'signals':>8} {'chats':>6} {'errors':>6}",
              flush=True)
        samples: list[tuple[float, list[int]]] = []
        started = time.monotonic()
        for k in range(1, int(seconds // SAMPLE_EVERY) + 1):  # bounded: the run's length
            time.sleep(max(0.0, started + k * SAMPLE_EVERY - time.monotonic()))
            rss = [rss_kib(pid) for pid in pids]
            samples.append((k * SAMPLE_EVERY, rss))
            stats = read_stats(outs)
            cols = "  ".join(f"{r / 1024:>13.1f} {r / i:>6.2f}" for r, i in zip(rss, idle,
                                                                                strict=True))
            print(f"{k * SAMPLE_EVERY:>5.0f}  {cols}  {sum(s['joins'] for s in stats):>6} "
                  f"{sum(s['signals'] for s in stats):>8} {sum(s['chats'] for s in stats):>6} "
                  f"{sum(s['errors'] for s in stats):>6}", flush=True)
        for process in workers:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        stats = read_stats(outs)
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
        for server in servers:
            server.stop()
        if redis is not None:
            redis.stop()

    errors = sum(s["errors"] for s in stats)
    examples = [e for s in stats for e in s["examples"]]
    if len(stats) < args.bot_processes or not all(s["done"] for s in stats):
        errors += 1
        examples.append("a bot process did not report its final counts")
    for server in servers:
        found = log_errors(server.log_path)
        errors += len(found)
        examples += [f"{server.name} log: {line}" for line in found[:5]]
    total = {key: sum(s[key] for s in stats) for key in
             ("joins", "leaves", "connections", "signals", "signals_received", "chats",
              "chats_received")}
    print("bots: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in total.items()))
    for example in examples[:10]:
        print(f"error: {example}")
    reference = [rss for at, rss in samples if at >= REFERENCE_AT]
    if len(reference) < 2:
        print(f"(a run shorter than {REFERENCE_AT + SAMPLE_EVERY:g} s has no growth to measure)")
        growth = float("nan")
    else:
        first, last = reference[0], reference[-1]
        per_server = [(b - a) / a * 100 for a, b in zip(first, last, strict=True)]
        for server, g, a, b, i in zip(servers, per_server, first, last, idle, strict=True):
            print(f"{server.name}: idle {i / 1024:.1f} MiB, at {REFERENCE_AT:g} s "
                  f"{a / 1024:.1f} MiB ({a / i:.2f}× idle), last {b / 1024:.1f} MiB "
                  f"({b / i:.2f}× idle): growth {g:+.1f} %")
        growth = max(per_server)
    met = errors <= ERROR_TARGET and growth < GROWTH_TARGET
    if errors:
        print(f"server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"result: errors={errors} rss_growth={growth:.1f}% "
          f"target={ERROR_TARGET},{GROWTH_TARGET:g}% {'met' if met else 'missed'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--processes", type=int, choices=[1, 2], default=2,
                        help="`junta serve` processes (2: over Redis)")
    parser.add_argument("--bot-processes", type=int, default=None,
                        help="worker processes running the bots (default: 1 per 100 bots)")
    parser.add_argument("--rate", type=float, default=1.0, help="signals per bot per second")
    parser.add_argument("--chat-every", type=float, default=10.0, help="seconds between chats")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        asyncio.run(worker(args))
        return 0
    if args.bots < 2 * args.rooms:
        parser.error("--bots must be at least twice --rooms (room-mates to signal)")
    if not 0 < args.rate <= 20:
        parser.error("--rate must be in (0, 20] (the server allows 50 events a second)")
    if args.bot_processes is None:
        args.bot_processes = max(1, min(args.rooms, (args.bots + 99) // 100))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
