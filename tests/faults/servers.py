"""Real processes the fault tests start, stop and kill, all on loopback at spare ports.

Each test starts its own `redis-server` and PostgreSQL (`initdb` in a temporary directory), so
the machine's shared services are never touched. `junta serve` runs as a real subprocess (so a
SIGKILL is a real crash). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import glob
import inspect
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import aiohttp
import socketio

from signaling.grants import issue_grant, sign_grant
from signaling.protocol import PROTOCOL_VERSION
from tests.services import free_port, port_open, require

REPO = Path(__file__).resolve().parents[2]
SECRET = "fault-tests-secret-0123456789abcdef-0123456789"


def wait_until(check: Callable[[], bool], within: float, what: str) -> None:
    """Poll `check` every 0.1 s for at most `within` seconds."""
    for _ in range(int(within / 0.1) + 1):
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {within} s")


async def eventually(check: Callable[[], Any], within: float, what: str) -> Any:
    """Call (and await, if a coroutine) `check()` every 0.1 s until it returns something truthy
    (bounded); errors count as not yet."""
    for _ in range(int(within / 0.1) + 1):
        try:
            found = check()
            if inspect.isawaitable(found):
                found = await found
        except Exception:
            found = None
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {within} s")


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class RedisServer:
    """A `redis-server` with an append-only file in its own directory (a restart keeps data)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server")
        self.binary = str(binary)
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        log = (self.dir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        wait_until(lambda: port_open("127.0.0.1", self.port), 10, "redis-server listening")
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    require(bool(found), f"PostgreSQL's {name} (/usr/lib/postgresql/*/bin)")
    return found[-1]


class PostgresServer:
    """A PostgreSQL cluster made with `initdb` in a temporary directory, on a spare port.

    As root, the server runs as the `postgres` system user (PostgreSQL refuses root).
    """

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="junta-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://junta@127.0.0.1:{self.port}/junta"
        self._as: list[str] = []
        if os.geteuid() == 0:
            require(shutil.which("runuser") is not None, "runuser (to run PostgreSQL as root)")
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def initdb(self) -> PostgresServer:
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-U", "junta",
                  "--auth=trust", "--no-sync", "-E", "UTF8")
        return self

    def start(self) -> PostgresServer:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "pg.log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def create_database(self) -> None:
        self._run(_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "junta", "junta")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class _JuntaProcess:
    """A `junta` subcommand in a subprocess on a spare port; its output goes to `log_path`."""

    command: tuple[str, ...] = ()
    start_timeout = 60.0

    def __init__(self, workdir: Path, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> Self:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.app.cli", *self.command, *args], cwd=REPO, env=self.env,
            stdout=log, stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, self.start_timeout, f"{self.name} serving (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
        return port_open("127.0.0.1", self.port)

    def kill(self) -> None:
        """A crash: SIGKILL, nothing cleaned up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


class JuntaServe(_JuntaProcess):
    """`junta serve`; its log is JSON lines."""

    command = ("serve",)
    start_timeout = 90.0

    def __init__(self, workdir: Path, name: str, **env: str) -> None:
        super().__init__(workdir, name, {
            "JUNTA_SECRET_KEY": SECRET,
            "JUNTA_HOST": "127.0.0.1",
            "JUNTA_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'junta.db'}",
            "JUNTA_RECORDINGS_DIR": str(workdir / "recordings"),
            "JUNTA_STORAGE_DIR": str(workdir / "storage"),
            "JUNTA_ARGON2_TIME_COST": "1",
            "JUNTA_ARGON2_MEMORY_KIB": "1024",
            "JUNTA_ARGON2_PARALLELISM": "1",
            "JUNTA_LOG_FORMAT": "json",
            **env,
        })
        self.env["JUNTA_PORT"] = str(self.port)


MEDIA_SECRET = "fault-tests-media-secret-0123456789abcdef"


class JuntaMediaNode(_JuntaProcess):
    """`junta media`, registering itself in the test's Redis (its registration expires by
    itself after a kill)."""

    command = ("media",)

    def __init__(self, workdir: Path, name: str, *, redis_url: str, prefix: str,
                 recordings_dir: Path, ttl: float = 3.0) -> None:
        super().__init__(workdir, name, {
            "JUNTA_MEDIA_SECRET": MEDIA_SECRET,
            "JUNTA_MEDIA_HOST": "127.0.0.1",
            "JUNTA_RECORDINGS_DIR": str(recordings_dir),
            "JUNTA_REDIS_URL": redis_url,
            "JUNTA_REDIS_PREFIX": prefix,
            "JUNTA_MEDIA_NODE_TTL": str(ttl),
        })
        self.env["JUNTA_MEDIA_PORT"] = str(self.port)


class FailoverProxy:
    """What nginx does for websockets: each new TCP connection goes to the first backend that
    accepts it, so a client whose process died reconnects to the next one."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> FailoverProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for port in self.backends:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            for source, sink in ((reader, up_writer), (up_reader, writer)):
                task = asyncio.create_task(self._pipe(source, sink))
                self._pipes.add(task)
                task.add_done_callback(self._pipes.discard)
            return
        writer.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            sink.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


class Caller:
    """A call page at the signaling level: joins on every (re)connection, as the browser does."""

    def __init__(self, url: str, user_id: str, room: str) -> None:
        self.url, self.user_id, self.room = url, user_id, room
        self.peer_id = str(uuid.uuid4())
        self.events: list[tuple[str, Any]] = []
        self.joins: list[dict[str, Any]] = []
        self.client = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5,
            randomization_factor=0.0,
        )
        self.client.on("*", self._record, namespace="/call")
        self.client.on("connect", self._join, namespace="/call")

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    def token(self) -> str:
        grant = issue_grant(user_id=self.user_id, name=self.user_id, room=self.room,
                            role="specialist", now=time.time())
        return sign_grant(grant, SECRET.encode())

    async def _join(self) -> None:
        # The connect handler must not block the client's loop: join in a task.
        asyncio.get_running_loop().create_task(self._send_join())

    async def _send_join(self) -> None:
        payload = {"token": self.token(), "peer_id": self.peer_id, "protocol": PROTOCOL_VERSION}
        try:
            ack = await self.client.call("join", payload, namespace="/call", timeout=5)
        except Exception as exc:
            ack = {"ok": False, "error": {"code": type(exc).__name__}}
        self.joins.append(ack)

    async def connect(self) -> Caller:
        await self.client.connect(self.url, namespaces=["/call"], transports=["websocket"],
                                  wait_timeout=10)
        await eventually(self._joined, 10, f"{self.user_id} joined")
        return self

    async def _joined(self) -> bool:
        return bool(self.joins) and self.joins[-1].get("status") == "joined"

    async def signal(self, to: Caller, note: str) -> dict[str, Any]:
        """Send an ICE candidate carrying `note` as its ufrag; returns the ack."""
        candidate = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host",
                     "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": note}
        ack: dict[str, Any] = await self.client.call(
            "signal", {"to": to.peer_id, "candidate": candidate}, namespace="/call", timeout=3
        )
        return ack

    def received_signal(self, note: str) -> bool:
        return any(event == "signal" and data.get("candidate", {}).get("usernameFragment") == note
                   for event, data in self.events)

    def seen(self, event: str, **match: Any) -> list[Any]:
        return [data for name, data in self.events if name == event
                and all(data.get(k) == v for k, v in match.items())]

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()


async def relays(sender: Caller, receiver: Caller, within: float) -> None:
    """Within `within` seconds a signal from `sender` reaches `receiver` (retried)."""
    attempt = 0

    async def once() -> bool:
        nonlocal attempt
        attempt += 1
        note = f"n{attempt}{uuid.uuid4().hex[:6]}"
        ack = await sender.signal(receiver, note)
        if not ack.get("ok"):
            return False
        for _ in range(10):
            if receiver.received_signal(note):
                return True
            await asyncio.sleep(0.05)
        return False

    await eventually(once, within, f"{sender.user_id} → {receiver.user_id} relay")


async def http_json(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json(content_type=None)
