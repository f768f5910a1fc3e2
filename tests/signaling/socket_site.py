"""Serve a socket.io server over HTTP on a free local port, for the signaling tests."""

from __future__ import annotations

import socketio
from aiohttp import web

from tests.services import free_port


async def serve_sockets(sio: socketio.AsyncServer) -> tuple[web.AppRunner, str]:
    """Attach `sio` to an aiohttp app listening on 127.0.0.1; returns its runner (clean it up
    after) and its URL."""
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"
