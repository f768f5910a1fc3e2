"""The socket.io server with the `/call` namespace (PROTOCOL.md), built for the web app to mount."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import socketio

from .events import OnCallEvent
from .grace import Graces
from .ice import IceConfig
from .media_port import MediaPort
from .namespace import DISCONNECT_USER, CallNamespace, ProcessCommands
from .outgoing_queue import DEFAULT_LIMIT, BoundedSocketServer
from .recording import RecordingPort
from .roomstate import MemoryRoomState, RoomState

log = logging.getLogger("junta.signaling")

# Well above MAX_PAYLOAD_BYTES so an oversize event reaches trigger_event and gets an error ack;
# only a frame beyond this makes Engine.IO drop the connection.
MAX_HTTP_BUFFER_SIZE = 1024 * 1024


def build_socket_server(
    *,
    secret: bytes,
    reconnect_grace: float = 20.0,
    on_event: OnCallEvent | None = None,
    state: RoomState | None = None,
    client_manager: socketio.AsyncManager | None = None,
    clock: Callable[[], float] = time.time,
    cors_allowed_origins: str | list[str] | None = None,
    media: MediaPort | None = None,
    graces: Graces | None = None,
    recording: RecordingPort | None = None,
    ice: IceConfig | None = None,
    outgoing_limit: int = DEFAULT_LIMIT,
) -> tuple[socketio.AsyncServer, CallNamespace]:
    """The socket.io server with `/call` registered; the web app calls `sio.attach(app)`.

    `media` is the SFU for rooms of three or more, boards and lectures; without it those rooms
    stay peer to peer where they can and refuse joins (`media_unavailable`) where they cannot.
    `ice` gives admitted peers their ICE servers (TURN credentials only once admitted).
    A client with more than `outgoing_limit` bytes waiting to be sent to it is disconnected.

    `cors_allowed_origins=None` accepts only same-origin pages. `clock` drives token expiry,
    rate limits and timestamps; the reconnect grace runs on the event loop (`MemoryGraces`)
    or, with `graces=RedisGraces(...)` beside a `RedisRoomState`, in Redis.
    """
    if len(secret) < 16:
        raise ValueError("the join-token secret must be at least 16 bytes")
    if reconnect_grace < 0:
        raise ValueError("reconnect_grace must not be negative")
    if client_manager is not None and state is None:
        # Several processes sharing sockets but each with its own rooms would split calls.
        log.warning("signaling.config client_manager is shared but room state is in-memory")
    namespace = CallNamespace(
        secret=secret,
        state=state if state is not None else MemoryRoomState(),
        reconnect_grace=reconnect_grace,
        on_event=on_event,
        clock=clock,
        media=media,
        graces=graces,
        recording=recording,
        ice=ice,
    )
    sio = BoundedSocketServer(
        outgoing_limit=outgoing_limit,
        on_slow_reader=namespace.counters.slow_reader,
        async_mode="aiohttp",
        client_manager=client_manager,
        cors_allowed_origins=cors_allowed_origins,
        max_http_buffer_size=MAX_HTTP_BUFFER_SIZE,
        # One socket's events run in order (an offer before its candidates); sockets still run
        # concurrently. No polling: scaled out behind nginx there are no sticky sessions.
        async_handlers=False,
        transports=["websocket"],
    )
    sio.register_namespace(namespace)
    if isinstance(sio.manager, ProcessCommands):
        sio.manager.on_command(DISCONNECT_USER, namespace.close_user_sockets)
    return sio, namespace
