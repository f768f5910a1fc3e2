"""`RemoteMediaNode`: the `MediaNode` protocol spoken to a `junta media` process over its API.

Signaling holds a `MediaNode` and does not care which: this one turns each call into a POST to
`media.api` and the server's `{error: {code, message}}` back into a `MediaError` with that code.
Transport failures become `MediaError("node_unreachable")`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp

from media.errors import MediaError
from media.events import MediaEvent
from media.node import MediaNode, NodeLoad
from media.published_track import TrackInfo
from media.recording import RecordingManifest
from media.room import Connection, SubscriptionOffer
from media.wire import (
    API_PREFIX,
    AUTH_HEADER,
    AUTH_SCHEME,
    EVENTS_PATH,
    HEALTH_PATH,
    event_from_json,
    load_from_json,
    manifest_from_json,
    offer_from_json,
    track_from_json,
)

DEFAULT_TIMEOUT = 15.0


class RemoteMediaNode:
    """A media node in another process, reached at `base_url` (e.g. `http://10.0.0.5:8081`)."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {AUTH_HEADER: AUTH_SCHEME + secret}
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the HTTP session if this node created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, **body: Any) -> dict[str, Any]:
        url = f"{self.base_url}{API_PREFIX}/{method}"
        try:
            async with self._client().post(
                url, json=body, headers=self._headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise MediaError("node_unreachable", f"{method}: {type(exc).__name__} {exc}") from exc
        return _result(method, status, text)

    async def create_room(self, room_id: str) -> None:
        """Create a room; creating an existing room is a no-op."""
        await self._call("create_room", room_id=room_id)

    async def publish(
        self, room_id: str, peer_id: str, offer_sdp: str, layers: Sequence[Sequence[str]] = ()
    ) -> str:
        """Apply a participant's publishing offer; return the answer."""
        result = await self._call(
            "publish",
            room_id=room_id,
            peer_id=peer_id,
            sdp=offer_sdp,
            layers=[list(group) for group in layers],
        )
        return str(result["sdp"])

    async def subscribe(self, room_id: str, peer_id: str) -> SubscriptionOffer:
        """Offer a participant every other participant's tracks."""
        return offer_from_json(await self._call("subscribe", room_id=room_id, peer_id=peer_id))

    async def answer(self, room_id: str, peer_id: str, answer_sdp: str) -> None:
        """Apply a participant's answer to its latest subscription offer."""
        await self._call("answer", room_id=room_id, peer_id=peer_id, sdp=answer_sdp)

    async def add_ice_candidate(
        self,
        room_id: str,
        peer_id: str,
        connection: Connection,
        candidate: str | None,
        sdp_mid: str | None = None,
        sdp_mline_index: int | None = None,
    ) -> None:
        """Add a participant's trickled ICE candidate to one of its connections; None ends."""
        await self._call(
            "add_ice_candidate",
            room_id=room_id,
            peer_id=peer_id,
            connection=connection,
            candidate=candidate,
            sdp_mid=sdp_mid,
            sdp_mline_index=sdp_mline_index,
        )

    async def set_paused(self, room_id: str, peer_id: str, track_id: str, paused: bool) -> None:
        """Stop or restart forwarding one track to one subscriber."""
        await self._call(
            "set_paused", room_id=room_id, peer_id=peer_id, track_id=track_id, paused=paused
        )

    async def tracks(self, room_id: str) -> list[TrackInfo]:
        """The tracks published in a room."""
        result = await self._call("tracks", room_id=room_id)
        return [track_from_json(t) for t in result.get("tracks", [])]

    async def leave(self, room_id: str, peer_id: str) -> None:
        """Close a participant's connections and end what it published."""
        await self._call("leave", room_id=room_id, peer_id=peer_id)

    async def close_connection(self, room_id: str, peer_id: str, connection: Connection) -> None:
        """Close one of a participant's connections (its client replaces a failed one)."""
        await self._call(
            "close_connection", room_id=room_id, peer_id=peer_id, connection=connection
        )

    async def close_room(self, room_id: str) -> None:
        """Close every connection in a room and forget it."""
        await self._call("close_room", room_id=room_id)

    async def start_recording(
        self, room_id: str, recording_id: str, excluded: frozenset[str]
    ) -> None:
        """Record every track of the room's participants but `excluded`, now and later ones."""
        await self._call(
            "start_recording",
            room_id=room_id,
            recording_id=recording_id,
            excluded=sorted(excluded),
        )

    async def set_recording_excluded(self, room_id: str, peer_id: str, excluded: bool) -> None:
        """Stop or start recording one participant (consent withdrawn or given)."""
        await self._call(
            "set_recording_excluded", room_id=room_id, peer_id=peer_id, excluded=excluded
        )

    async def stop_recording(self, room_id: str) -> RecordingManifest:
        """Complete the room's recording; the node also writes its manifest.json."""
        result = await self._call("stop_recording", room_id=room_id)
        return manifest_from_json(result.get("manifest"))

    async def load(self) -> NodeLoad:
        """Rooms, participants and forwarded streams on the node (its `/healthz`)."""
        try:
            async with self._client().get(
                self.base_url + HEALTH_PATH, timeout=self._timeout
            ) as response:
                text = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise MediaError("node_unreachable", f"healthz: {type(exc).__name__}") from exc
        return load_from_json(_result("healthz", status, text))

    def events(self) -> MediaEventStream:
        """The node's media events as they happen: `async with node.events() as s: async for`.

        Events that happen while no stream is open are not replayed: after (re)connecting,
        call `tracks` for the current state.
        """
        return MediaEventStream(self._client(), self.base_url + EVENTS_PATH, self._headers)


class MediaEventStream:
    """An open `/events` websocket; iterating yields `MediaEvent`s until it closes."""

    def __init__(self, session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> None:
        self._session = session
        self._url = url
        self._headers = headers
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> MediaEventStream:
        try:
            self._ws = await self._session.ws_connect(
                self._url, headers=self._headers, heartbeat=20.0
            )
        except aiohttp.WSServerHandshakeError as exc:
            code = "unauthorized" if exc.status == 401 else "node_unreachable"
            raise MediaError(code, f"events: HTTP {exc.status}") from exc
        except aiohttp.ClientError as exc:
            raise MediaError("node_unreachable", f"events: {type(exc).__name__}") from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the websocket."""
        if self._ws is not None:
            await self._ws.close()

    def __aiter__(self) -> MediaEventStream:
        return self

    async def __anext__(self) -> MediaEvent:
        if self._ws is None:
            raise RuntimeError("open the stream with `async with` first")
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                return event_from_json(json.loads(message.data))
        raise StopAsyncIteration


def _result(method: str, status: int, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MediaError("bad_response", f"{method}: HTTP {status}, not a JSON object")
    if status >= 400:
        error = data.get("error")
        if isinstance(error, dict):
            raise MediaError(str(error.get("code", "error")), str(error.get("message", "")))
        raise MediaError("bad_response", f"{method}: HTTP {status}")
    return data


if TYPE_CHECKING:
    # mypy proves the client keeps up with the protocol it stands in for.
    _protocol_check: type[MediaNode] = RemoteMediaNode
