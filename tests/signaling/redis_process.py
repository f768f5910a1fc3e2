"""One `/call` server over Redis in a process of its own, for tests that need two real processes.

    python -m tests.signaling.redis_process --port P --redis URL --prefix PREFIX

Besides socket.io it answers `POST /disconnect-user/{user_id}`, which calls the namespace's
`disconnect_user` as the web app's account and admin pages do.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import web

from signaling.scaleout import RedisScaleOut
from signaling.server import build_socket_server
from tests.services import free_port, port_open, stop_process

REPO = Path(__file__).resolve().parents[2]
SECRET = b"test-secret-for-join-tokens-0123"  # as tests/signaling/conftest.py
GRACE = 0.5


async def serve(port: int, redis_url: str, prefix: str) -> None:
    scale_out = RedisScaleOut(redis_url, prefix=prefix, poll=0.2, liveness_ttl=2.0)
    sio, namespace = build_socket_server(
        secret=SECRET, reconnect_grace=GRACE, client_manager=scale_out.manager,
        state=scale_out.rooms, graces=scale_out.graces,
    )

    async def disconnect_user(request: web.Request) -> web.Response:
        await namespace.disconnect_user(request.match_info["user_id"])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/disconnect-user/{user_id}", disconnect_user)
    sio.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    scale_out.start(sio)
    try:
        await asyncio.Event().wait()
    finally:
        await namespace.shutdown()
        await scale_out.close()
        await runner.cleanup()


class RedisProcess:
    """A started `redis_process` server; `stop()` it."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.signaling.redis_process", "--port", str(self.port),
             "--redis", redis_url, "--prefix", prefix],
            cwd=REPO,
        )
        for _ in range(300):  # bounded: 30 s
            if self.process.poll() is not None:
                raise RuntimeError(f"the signaling process exited ({self.process.returncode})")
            if port_open("127.0.0.1", self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the signaling process did not start within 30 s")

    def stop(self) -> None:
        stop_process(self.process)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.redis, args.prefix))


if __name__ == "__main__":
    main()
