"""Several `junta media` nodes behind signaling's one `MediaPort`: each room on its own node.

The nodes register in Redis (`media.registration`). A room is placed on the least loaded live
node (`signaling.placement`) and the choice is stored with `RoomState.claim_media_node`, so
every web process sends that room's calls to the same node, for as long as the node lives.

A node is dead when its registration expired, or sooner when this process saw its event stream
drop and its API stop answering. Every process watches the nodes of the rooms it uses; for each
of those rooms on a dead node it moves the placement (`move_media_node`, a compare-and-set: one
process wins, the others read the winner's choice), re-creates the room there and tells
signaling (`RoomMoved`), which has the room's participants publish and subscribe again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from media.errors import MediaError
from media.recording import RecordingManifest
from media.registration import node_key, nodes_key, verify_registration
from signaling.media_port import (
    Leg,
    MediaChange,
    MediaRefused,
    MediaTrack,
    RoomMoved,
    SubscriptionOffer,
    TrackListener,
)
from signaling.placement import NodeRecord, least_loaded, rooms_to_move, with_room
from signaling.redis_client import text
from signaling.roomstate import RoomState
from web.calls.media_bridge import MediaBridge

log = logging.getLogger("junta.web.media")

CHECK_INTERVAL = 0.5  # seconds between looks at the registrations
PROBE_TIMEOUT = 1.0  # a node whose stream dropped must answer /healthz this fast
SUSPECT_SECONDS = 10.0  # how long a node that failed a probe is left out of placement


class NodeRegistry:
    """The live media nodes, as they registered themselves in Redis (signed with the media
    secret: a registration anyone else wrote is ignored)."""

    def __init__(self, redis: aioredis.Redis, prefix: str, secret: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._secret = secret

    async def live(self) -> dict[str, NodeRecord]:
        """Every node whose registration has not expired, by id (expired ids are pruned)."""
        ids = sorted(text(raw) for raw in await self._redis.smembers(nodes_key(self._prefix)))
        if not ids:
            return {}
        raws = await self._redis.mget([node_key(self._prefix, i) for i in ids])
        live: dict[str, NodeRecord] = {}
        gone: list[str] = []
        now = time.time()
        for node_id, raw in zip(ids, raws, strict=True):
            if raw is None:
                gone.append(node_id)
                continue
            try:
                data = verify_registration(raw, node_id=node_id, secret=self._secret, now=now)
                live[node_id] = NodeRecord(
                    node_id, data["url"], int(data.get("rooms", 0)),
                    int(data.get("publishers", 0)), int(data.get("subscribers", 0)),
                    int(data.get("forwarded_streams", 0)),
                )
            except (ValueError, TypeError) as exc:
                # Not the node's own words: never send the media secret to its URL.
                log.warning("media.bad_registration node=%s error=%s reason=%s", node_id,
                            type(exc).__name__, exc)
        if gone:
            await self._redis.srem(nodes_key(self._prefix), *gone)
        return live


class MediaFleet:
    """Implements `signaling.media_port.MediaPort` (and the recorder calls) over the registered
    nodes. `start` (in the running loop) and `close` bracket its life."""

    def __init__(
        self, *, redis: aioredis.Redis, prefix: str, state: RoomState, secret: str,
        check_interval: float = CHECK_INTERVAL,
    ) -> None:
        self._registry = NodeRegistry(redis, prefix, secret)
        self._state = state
        self._secret = secret
        self._interval = check_interval
        self._listeners: list[TrackListener] = []
        self._live: dict[str, NodeRecord] = {}
        self._suspects: dict[str, float] = {}  # node id → until (monotonic)
        self._bridges: dict[str, MediaBridge] = {}
        self.rooms: dict[str, str] = {}  # room → node id, for the rooms this process uses
        self._check_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._probes: set[asyncio.Task[None]] = set()

    # --- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the registrations and start watching them."""
        with contextlib.suppress(RedisError, OSError):
            self._live = await self._registry.live()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="junta-media-fleet")

    async def close(self) -> None:
        """Stop watching and close every node's connection."""
        self._closed = True
        self._wake.set()
        tasks = [t for t in [self._task, *self._probes] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        for bridge in self._bridges.values():
            await bridge.close()
        self._bridges.clear()

    async def _run(self) -> None:
        # The flag as well as cancellation: a cancel that lands as a wait ends is easily lost.
        while not self._closed:
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=self._interval)
            finally:
                waiter.cancel()
            if self._closed:
                return
            self._wake.clear()
            try:
                await self.check()
            except (RedisError, OSError) as exc:
                log.warning("media.fleet_check_failed error=%s", type(exc).__name__)
            except Exception:
                log.exception("media.fleet_check_failed")

    # --- nodes --------------------------------------------------------------------------------

    def usable(self) -> dict[str, NodeRecord]:
        """Live nodes this process has not seen fail lately."""
        now = time.monotonic()
        return {i: n for i, n in self._live.items() if self._suspects.get(i, 0.0) <= now}

    async def check(self) -> None:
        """Refresh the registrations; move this process's rooms off nodes that died."""
        async with self._check_lock:
            self._live = await self._registry.live()
            for room, dead in rooms_to_move(self.rooms, self.usable()).items():
                await self._move(room, dead)
            in_use = set(self.rooms.values())
            for node_id in [i for i in self._bridges if i not in self._live and i not in in_use]:
                await self._bridges.pop(node_id).close()

    def _bridge(self, node_id: str) -> MediaBridge:
        bridge = self._bridges.get(node_id)
        if bridge is not None:
            return bridge
        record = self._live.get(node_id)
        if record is None:
            raise MediaRefused("node_unreachable", f"media node {node_id} is not registered")
        bridge = MediaBridge.remote(record.url, self._secret,
                                    on_lost=lambda: self._lost(node_id))
        bridge.listen(lambda change: self._deliver(node_id, change))
        self._bridges[node_id] = bridge
        if bridge.events is not None:
            bridge.events.start()
        return bridge

    def _lost(self, node_id: str) -> None:
        # The event stream dropped: a killed node is noticed here long before its key expires.
        task = asyncio.ensure_future(self._probe(node_id))
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _probe(self, node_id: str) -> None:
        bridge = self._bridges.get(node_id)
        if bridge is None:
            return
        try:
            await asyncio.wait_for(bridge.node.load(), PROBE_TIMEOUT)
            return
        except (MediaError, TimeoutError, OSError) as exc:
            log.warning("media.node_unresponsive node=%s error=%s", node_id, type(exc).__name__)
        self.suspect(node_id)

    def suspect(self, node_id: str) -> None:
        """Leave a node out of placement for a while and move its rooms now."""
        self._suspects[node_id] = time.monotonic() + SUSPECT_SECONDS
        self._wake.set()

    async def _move(self, room: str, dead: str) -> None:
        if await self._state.get_media_node(room) is None:
            self.rooms.pop(room, None)  # closed by another process meanwhile
            return
        target = least_loaded(self.usable().values())
        if target is None:
            log.error("media.no_node_for_room room=%s dead=%s", room, dead)
            return
        first = await self._state.move_media_node(room, dead, target.node_id)
        owner = await self._state.get_media_node(room) or target.node_id
        if first:
            self._live[owner] = with_room(target)
        self.rooms[room] = owner
        old = self._bridges.get(dead)
        if old is not None and old.events is not None:
            old.events.room_closed(room)
        try:
            await self._bridge(owner).create_room(room)
        except MediaRefused as exc:
            log.error("media.room_move_failed room=%s to=%s code=%s", room, owner, exc.code)
            return
        log.warning("media.room_moved room=%s from=%s to=%s first=%s", room, dead, owner, first)
        self._deliver(owner, RoomMoved(room, first))

    # --- placement ----------------------------------------------------------------------------

    async def _place(self, room: str) -> str:
        """The node the room is on, placing it (or moving it off a dead node) if need be."""
        usable = self.usable()
        owner = await self._state.get_media_node(room)
        if owner is None or owner not in usable:
            await self.check()  # a node registered since the last look, or one just died
            usable = self.usable()
            owner = await self._state.get_media_node(room)
        if owner is not None and owner in usable:
            return owner
        target = least_loaded(usable.values())
        if target is None:
            raise MediaRefused("node_unreachable", "no media node is registered")
        if owner is None:
            owner = await self._state.claim_media_node(room, target.node_id)
        else:
            await self._state.move_media_node(room, owner, target.node_id)
            owner = await self._state.get_media_node(room) or target.node_id
        if owner == target.node_id:
            self._live[owner] = with_room(target)
        log.info("media.room_placed room=%s node=%s", room, owner)
        return owner

    async def _node_for(self, room: str) -> MediaBridge:
        # Read every time (one GET): another process may have closed the room and re-placed it
        # elsewhere since this one last used it.
        node_id = await self._state.get_media_node(room)
        if node_id is None:
            raise MediaRefused("room_not_found", f"room {room} is on no media node")
        self.rooms[room] = node_id
        if node_id not in self.usable():
            await self.check()
            node_id = self.rooms.get(room, node_id)
        return self._bridge(node_id)

    def _failed(self, room: str, exc: MediaRefused) -> MediaRefused:
        if exc.code == "node_unreachable" and room in self.rooms:
            self._wake.set()  # look at the registrations now rather than in a moment
        return exc

    # --- MediaPort ----------------------------------------------------------------------------

    def _deliver(self, node_id: str, change: MediaChange) -> None:
        # A node's events count only for the rooms still placed on it.
        if self.rooms.get(change.room_id) != node_id:
            return
        for listener in self._listeners:
            try:
                listener(change)
            except Exception as exc:
                log.error("media.listener_failed room=%s error=%s", change.room_id,
                          type(exc).__name__)

    def listen(self, listener: TrackListener) -> None:
        """Call `listener` on every track change and room move."""
        self._listeners.append(listener)

    async def create_room(self, room_id: str) -> None:
        """Place the room (or find where it is) and create it there."""
        for attempt in range(2):
            node_id = await self._place(room_id)
            self.rooms[room_id] = node_id
            try:
                await self._bridge(node_id).create_room(room_id)
                return
            except MediaRefused as exc:
                if exc.code != "node_unreachable" or attempt:
                    raise
                self.suspect(node_id)  # try the next least loaded node once

    async def publish(
        self, room_id: str, peer_id: str, offer_sdp: str, layers: Sequence[Sequence[str]] = ()
    ) -> str:
        bridge = await self._node_for(room_id)
        try:
            return await bridge.publish(room_id, peer_id, offer_sdp, layers)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def subscribe(self, room_id: str, peer_id: str) -> SubscriptionOffer:
        bridge = await self._node_for(room_id)
        try:
            return await bridge.subscribe(room_id, peer_id)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def answer(self, room_id: str, peer_id: str, answer_sdp: str) -> None:
        bridge = await self._node_for(room_id)
        try:
            await bridge.answer(room_id, peer_id, answer_sdp)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def add_ice_candidate(
        self, room_id: str, peer_id: str, leg: Leg, candidate: str | None,
        sdp_mid: str | None, sdp_mline_index: int | None,
    ) -> None:
        bridge = await self._node_for(room_id)
        try:
            await bridge.add_ice_candidate(room_id, peer_id, leg, candidate, sdp_mid,
                                           sdp_mline_index)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def tracks(self, room_id: str) -> list[MediaTrack]:
        bridge = await self._node_for(room_id)
        try:
            return await bridge.tracks(room_id)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def set_paused(self, room_id: str, peer_id: str, track_id: str, paused: bool) -> None:
        bridge = await self._node_for(room_id)
        try:
            await bridge.set_paused(room_id, peer_id, track_id, paused)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def close_leg(self, room_id: str, peer_id: str, leg: Leg) -> None:
        bridge = await self._node_for(room_id)
        try:
            await bridge.close_leg(room_id, peer_id, leg)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def leave(self, room_id: str, peer_id: str) -> None:
        bridge = await self._node_for(room_id)
        try:
            await bridge.leave(room_id, peer_id)
        except MediaRefused as exc:
            raise self._failed(room_id, exc) from None

    async def close_room(self, room_id: str) -> None:
        """Close the room on its node and forget its placement."""
        node_id = self.rooms.pop(room_id, None) or await self._state.get_media_node(room_id)
        if node_id is None:
            return
        await self._state.release_media_node(room_id, node_id)
        bridge = self._bridges.get(node_id)
        if bridge is not None:
            await bridge.close_room(room_id)

    # --- recording ----------------------------------------------------------------------------

    async def start_recording(
        self, room_id: str, recording_id: str, excluded: frozenset[str]
    ) -> None:
        await (await self._node_for(room_id)).start_recording(room_id, recording_id, excluded)

    async def set_recording_excluded(self, room_id: str, peer_id: str, excluded: bool) -> None:
        await (await self._node_for(room_id)).set_recording_excluded(room_id, peer_id, excluded)

    async def stop_recording(self, room_id: str) -> RecordingManifest:
        return await (await self._node_for(room_id)).stop_recording(room_id)

    def nodes(self) -> Iterable[NodeRecord]:
        """The live nodes as last read (health and tests)."""
        return self._live.values()
