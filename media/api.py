"""The internal HTTP API of a `junta media` process: a `MediaNode` over JSON, for signaling.

Every `MediaNode` method is a JSON POST under `/v1/` (`create_room`, `publish`, `subscribe`,
`answer`, `add_ice_candidate`, `set_paused`, `tracks`, `leave`, `close_connection`,
`close_room`, `start_recording`, `set_recording_excluded`, `stop_recording`). Callers present
the shared secret as `Authorization: Bearer <JUNTA_MEDIA_SECRET>`; failures are
`{"error": {"code", "message"}}` with a 4xx status (5xx only for a bug), never a traceback.
`GET /healthz` (no secret: it only counts) reports the node's load.
With `JUNTA_REDIS_URL` the node also registers itself there with its load (media/registration.py)
for web processes that place rooms on several nodes, and unregisters on shutdown.

Media events (TrackPublished/TrackUnpublished) stream over a websocket at `/events`, one JSON
text message per event. A websocket rather than long-polling: events are rare but each one makes
signaling renegotiate every subscriber at once, so they should arrive as they happen; one
connection per signaling process carries them in order, heartbeats reveal a dead node, and the
server needs no event log or cursors. A consumer too slow to keep up is disconnected (close code
1013) rather than buffered without bound; after any reconnect it resyncs with `tracks`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web
from aiortc import RTCIceServer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from media.errors import MediaError
from media.events import MediaEvent
from media.node import LocalMediaNode, MediaNode
from media.registration import Registration
from media.settings import MediaSettings
from media.wire import (
    API_PREFIX,
    AUTH_HEADER,
    AUTH_SCHEME,
    EVENTS_PATH,
    HEALTH_PATH,
    event_to_json,
    load_to_json,
    offer_to_json,
    track_to_json,
)

logger = logging.getLogger(__name__)

# An SDP offer with a dozen tracks is a few tens of kB; nothing legitimate comes near this.
MAX_BODY_BYTES = 256 * 1024
EVENT_QUEUE_SIZE = 1000

# A client's mistake: 4xx, with the node's stable code.
_STATUS_BY_CODE = {
    "room_not_found": 404,
    "track_not_found": 404,
    "not_subscribed": 409,
    "not_connected": 409,
    "renegotiation_pending": 409,
    "room_closed": 409,
    "no_common_codec": 422,
    "recording_active": 409,
    "recording_exists": 409,
    "not_recording": 409,
    "recording_unavailable": 409,
}

_NODE: web.AppKey[MediaNode] = web.AppKey("node")
_EVENTS: web.AppKey[EventHub] = web.AppKey("events")
_SECRET_DIGEST: web.AppKey[bytes] = web.AppKey("secret_digest")
_REGISTRATION: web.AppKey[Registration] = web.AppKey("registration")

_Id = Field(min_length=1, max_length=128)
_Sdp = Field(min_length=1, max_length=MAX_BODY_BYTES)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _RoomRequest(_Request):
    room_id: str = _Id


class _PeerRequest(_RoomRequest):
    peer_id: str = _Id


class _SdpRequest(_PeerRequest):
    sdp: str = _Sdp


class _PublishRequest(_SdpRequest):
    layers: list[list[str]] = Field(default_factory=list, max_length=4)


class _ConnectionRequest(_PeerRequest):
    connection: Literal["publish", "subscribe"]


class _CandidateRequest(_PeerRequest):
    connection: Literal["publish", "subscribe"]
    candidate: str | None = Field(max_length=2048)
    sdp_mid: str | None = Field(default=None, max_length=64)
    sdp_mline_index: int | None = Field(default=None, ge=0, le=1024)


class _PausedRequest(_PeerRequest):
    track_id: str = Field(min_length=1, max_length=300)
    paused: bool


class _StartRecordingRequest(_RoomRequest):
    # Validated again (as a safe directory name) by the node.
    recording_id: str = Field(min_length=1, max_length=128)
    excluded: list[str] = Field(default_factory=list, max_length=1000)


class _RecordingExcludedRequest(_PeerRequest):
    excluded: bool


class EventHub:
    """Fans media events out to every connected `/events` websocket, each with a bounded queue."""

    def __init__(self, queue_size: int = EVENT_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._queues: set[asyncio.Queue[MediaEvent | None]] = set()

    def publish(self, event: MediaEvent) -> None:
        """Queue an event for every listener (the node's `on_event` callback)."""
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # Too slow: cut it off (the None tells its handler) rather than grow memory.
                self._queues.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)

    def listen(self) -> asyncio.Queue[MediaEvent | None]:
        """A new listener's queue; `None` in it means: stop, you missed events."""
        queue: asyncio.Queue[MediaEvent | None] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        return queue

    def forget(self, queue: asyncio.Queue[MediaEvent | None]) -> None:
        """Stop delivering to a listener."""
        self._queues.discard(queue)

    def close(self) -> None:
        """Tell every listener to stop (shutdown)."""
        for queue in list(self._queues):
            self.forget(queue)
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)


def create_app(
    settings: MediaSettings,
    *,
    node: MediaNode | None = None,
    events: EventHub | None = None,
) -> web.Application:
    """The media API app; without `node`, a `LocalMediaNode` whose events feed `/events`."""
    events = events or EventHub()
    if node is None:
        ice_servers = [RTCIceServer(urls=list(settings.stun_urls))] if settings.stun_urls else []
        node = LocalMediaNode(
            ice_servers=ice_servers,
            on_event=events.publish,
            recordings_dir=settings.recordings_dir,
        )
    app = web.Application(
        middlewares=[_errors_middleware, _auth_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[_NODE] = node
    app[_EVENTS] = events
    app[_SECRET_DIGEST] = _digest(settings.secret)
    if settings.redis_url is not None:
        registration = Registration(
            node, redis_url=settings.redis_url, prefix=settings.redis_prefix,
            url=settings.public_url, secret=settings.secret, ttl=settings.node_ttl,
        )
        app[_REGISTRATION] = registration
        app.on_startup.append(_register)
    app.router.add_get(HEALTH_PATH, _healthz)
    app.router.add_get(EVENTS_PATH, _events)
    for name, handler in _HANDLERS.items():
        app.router.add_post(f"{API_PREFIX}/{name}", handler)
    app.on_shutdown.append(_shutdown)
    return app


def run(settings: MediaSettings) -> None:
    """Serve the media API until interrupted (`junta media`)."""
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda text: logger.info("media.started %s", " ".join(text.split())),
        access_log=None,
    )


async def _register(app: web.Application) -> None:
    app[_REGISTRATION].start()


async def _shutdown(app: web.Application) -> None:
    # Unregister first: web processes move its rooms at once instead of after the TTL.
    registration = app.get(_REGISTRATION)
    if registration is not None:
        await registration.stop()
    app[_EVENTS].close()
    close = getattr(app[_NODE], "close", None)
    if close is not None:
        await close()


def _digest(secret: str) -> bytes:
    # Comparing fixed-length digests keeps the comparison's time independent of the length too.
    return hashlib.sha256(secret.encode()).digest()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except MediaError as exc:
        return _error(_STATUS_BY_CODE.get(exc.code, 400), exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return _error(exc.status, code, exc.reason)
    except Exception:
        logger.exception("media_api_failed path=%s", request.path)
        return _error(500, "internal", "the media node failed to handle the request")


@web.middleware
async def _auth_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    if request.path != HEALTH_PATH:
        header = request.headers.get(AUTH_HEADER, "")
        given = header[len(AUTH_SCHEME) :] if header.startswith(AUTH_SCHEME) else ""
        if not hmac.compare_digest(_digest(given), request.app[_SECRET_DIGEST]):
            return _error(401, "unauthorized", "missing or wrong media API secret")
    return await handler(request)


_ModelT = TypeVar("_ModelT", bound="_Request")


async def _body(request: web.Request, model: type[_ModelT]) -> _ModelT:
    try:
        data = await request.json()
    except ValueError:
        raise MediaError("bad_request", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise MediaError("bad_request", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise MediaError("bad_request", problems) from None


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


async def _create_room(request: web.Request) -> web.Response:
    body = await _body(request, _RoomRequest)
    await request.app[_NODE].create_room(body.room_id)
    return _ok()


async def _publish(request: web.Request) -> web.Response:
    body = await _body(request, _PublishRequest)
    answer = await request.app[_NODE].publish(body.room_id, body.peer_id, body.sdp, body.layers)
    return _ok(sdp=answer)


async def _subscribe(request: web.Request) -> web.Response:
    body = await _body(request, _PeerRequest)
    offer = await request.app[_NODE].subscribe(body.room_id, body.peer_id)
    return _ok(**offer_to_json(offer))


async def _answer(request: web.Request) -> web.Response:
    body = await _body(request, _SdpRequest)
    await request.app[_NODE].answer(body.room_id, body.peer_id, body.sdp)
    return _ok()


async def _add_ice_candidate(request: web.Request) -> web.Response:
    body = await _body(request, _CandidateRequest)
    await request.app[_NODE].add_ice_candidate(
        body.room_id,
        body.peer_id,
        body.connection,
        body.candidate,
        body.sdp_mid,
        body.sdp_mline_index,
    )
    return _ok()


async def _set_paused(request: web.Request) -> web.Response:
    body = await _body(request, _PausedRequest)
    await request.app[_NODE].set_paused(body.room_id, body.peer_id, body.track_id, body.paused)
    return _ok()


async def _tracks(request: web.Request) -> web.Response:
    body = await _body(request, _RoomRequest)
    tracks = await request.app[_NODE].tracks(body.room_id)
    return _ok(tracks=[track_to_json(t) for t in tracks])


async def _leave(request: web.Request) -> web.Response:
    body = await _body(request, _PeerRequest)
    await request.app[_NODE].leave(body.room_id, body.peer_id)
    return _ok()


async def _close_connection(request: web.Request) -> web.Response:
    body = await _body(request, _ConnectionRequest)
    close_connection = getattr(request.app[_NODE], "close_connection", None)
    if close_connection is None:
        raise MediaError("unsupported", "this media node cannot close a single connection")
    await close_connection(body.room_id, body.peer_id, body.connection)
    return _ok()


async def _close_room(request: web.Request) -> web.Response:
    body = await _body(request, _RoomRequest)
    await request.app[_NODE].close_room(body.room_id)
    return _ok()


async def _start_recording(request: web.Request) -> web.Response:
    body = await _body(request, _StartRecordingRequest)
    await request.app[_NODE].start_recording(
        body.room_id, body.recording_id, frozenset(body.excluded)
    )
    return _ok()


async def _set_recording_excluded(request: web.Request) -> web.Response:
    body = await _body(request, _RecordingExcludedRequest)
    await request.app[_NODE].set_recording_excluded(body.room_id, body.peer_id, body.excluded)
    return _ok()


async def _stop_recording(request: web.Request) -> web.Response:
    body = await _body(request, _RoomRequest)
    manifest = await request.app[_NODE].stop_recording(body.room_id)
    return _ok(manifest=manifest.to_json())


_HANDLERS: dict[str, _Handler] = {
    "create_room": _create_room,
    "publish": _publish,
    "subscribe": _subscribe,
    "answer": _answer,
    "add_ice_candidate": _add_ice_candidate,
    "set_paused": _set_paused,
    "tracks": _tracks,
    "leave": _leave,
    "close_connection": _close_connection,
    "close_room": _close_room,
    "start_recording": _start_recording,
    "set_recording_excluded": _set_recording_excluded,
    "stop_recording": _stop_recording,
}


async def _healthz(request: web.Request) -> web.Response:
    load = await request.app[_NODE].load()
    return web.json_response({"status": "ok", **load_to_json(load)})


async def _events(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    hub = request.app[_EVENTS]
    queue = hub.listen()
    # Reading lets aiohttp answer pings and notice the client closing; nothing else comes in.
    reader = asyncio.ensure_future(ws.receive())
    try:
        while not ws.closed:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                if reader.result().type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    reader = asyncio.ensure_future(ws.receive())
                    if getter not in done:
                        getter.cancel()
                        continue
                else:
                    getter.cancel()
                    break
            event = getter.result()
            if event is None:
                # Cut off as too slow, or the node is shutting down: either way, resync.
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"resync with tracks")
                break
            await ws.send_json(event_to_json(event))
    finally:
        reader.cancel()
        hub.forget(queue)
        await ws.close()
    return ws
