"""Relaying a separate media node's events (its `/events` websocket) into this process.

An in-process node calls its `on_event` sink directly; a `junta media` node sends the same
events over a websocket, which can drop (the node restarts, the network blips). `EventPump`
keeps one stream open in the background and reconnects with bounded exponential backoff, so a
node that stays down costs one attempt per `max_delay`, never a busy loop. Events are not
replayed after a reconnect, so it then compares each open room's tracks with what it last
delivered and delivers the difference (a restarted node has lost its rooms: all unpublished).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from media.errors import MediaError
from media.events import MediaEvent, TrackPublished, TrackUnpublished
from media.published_track import TrackInfo
from media.remote import RemoteMediaNode

log = logging.getLogger("junta.web.media")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnection attempts: `initial`, doubling up to `max_delay` seconds.

    A stream that stayed up at least `stable` seconds starts again from `initial`; one that
    closes at once (e.g. the node cutting off a slow consumer) keeps backing off.
    """

    initial: float = 0.5
    max_delay: float = 30.0
    stable: float = 10.0

    def next(self, delay: float) -> float:
        """The delay after `delay`."""
        return min(delay * 2, self.max_delay)


DEFAULT_BACKOFF = Backoff()


class EventPump:
    """Delivers every event of `node`'s stream to `sink` until closed, reconnecting as needed."""

    def __init__(
        self,
        node: RemoteMediaNode,
        sink: Callable[[MediaEvent], None],
        backoff: Backoff = DEFAULT_BACKOFF,
        *,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._node = node
        # Told when an open stream drops: a node killed outright is noticed this way first.
        self._on_lost = on_lost
        self._sink = sink
        self._backoff = backoff
        self._task: asyncio.Task[None] | None = None
        # What was delivered so far: each open room's published tracks by id.
        self._tracks: dict[str, dict[str, TrackInfo]] = {}
        self.connections = 0  # streams opened so far (health and tests)

    def room_opened(self, room_id: str) -> None:
        """Follow a room this process opened on the node (to resync it after a reconnect)."""
        self._tracks.setdefault(room_id, {})

    def room_closed(self, room_id: str) -> None:
        """Stop following a room."""
        self._tracks.pop(room_id, None)

    def start(self) -> None:
        """Start reading in the background (inside the running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="junta-media-events")

    async def close(self) -> None:
        """Stop reading and close the stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._backoff.initial
        url = self._node.base_url
        while True:
            opened = time.monotonic()
            streamed = False
            try:
                async with self._node.events() as stream:
                    streamed = True
                    self.connections += 1
                    log.info("media.events_connected node=%s", url)
                    if self.connections > 1:
                        await self._resync()
                    async for event in stream:
                        self._deliver(event)
                reason = "closed"
            except MediaError as exc:
                reason = exc.code
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                # A transport failure mid-stream, or a message that is not JSON.
                reason = type(exc).__name__
            if self._on_lost is not None and streamed:
                try:
                    self._on_lost()
                except Exception:
                    log.exception("media.events_lost_hook_failed node=%s", url)
            if time.monotonic() - opened >= self._backoff.stable:
                delay = self._backoff.initial
            log.warning(
                "media.events_lost node=%s reason=%s retry_in=%.1fs", url, reason, delay
            )
            await asyncio.sleep(delay)
            delay = self._backoff.next(delay)

    async def _resync(self) -> None:
        """Deliver what changed in each followed room while no stream was open."""
        for room_id in list(self._tracks):
            try:
                current = {t.track_id: t for t in await self._node.tracks(room_id)}
            except MediaError as exc:
                if exc.code != "room_not_found":
                    log.warning("media.resync_failed room=%s code=%s", room_id, exc.code)
                    continue
                current = {}
            known = self._tracks.get(room_id, {})
            gone = [t for track_id, t in known.items() if track_id not in current]
            new = [t for track_id, t in current.items() if track_id not in known]
            for track in gone:
                self._deliver(TrackUnpublished(room_id, track))
            for track in new:
                self._deliver(TrackPublished(room_id, track))
            if gone or new:
                log.info("media.resynced room=%s published=%d unpublished=%d",
                         room_id, len(new), len(gone))

    def _deliver(self, event: MediaEvent) -> None:
        tracks = self._tracks.get(event.room_id)
        if tracks is not None:
            if isinstance(event, TrackPublished):
                tracks[event.track.track_id] = event.track
            else:
                tracks.pop(event.track.track_id, None)
        try:
            self._sink(event)
        except Exception:
            # One bad delivery must not end the stream for every later event.
            log.exception("media.event_delivery_failed room=%s", event.room_id)
