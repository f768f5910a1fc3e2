"""`RoomState` in Redis, so several signaling processes share their rooms.

Each method is one Redis round trip: a single command for reads, one Lua script for every write
(Redis runs a script without interleaving any other command), so the compare-and-delete of a
reconnect grace and the "only while someone is in the room" rules hold across processes.

Keys of room `r` (all share the hash tag `{r}`, so they live on one Redis Cluster slot):

    <prefix>room:{r}:peers   hash  peer_id -> PeerRecord JSON
    <prefix>room:{r}:order   list  peer_ids in order of first arrival
    <prefix>room:{r}:chat    list  ChatMessage JSON, the last CHAT_HISTORY
    <prefix>room:{r}:bars    hash  key -> barred-until (a float; "inf" for ever)
    <prefix>room:{r}:mode    string "p2p" | "sfu"
    <prefix>room:{r}:agenda  string the case panel's agenda position (an integer)

Outside the room's lifetime: `<prefix>room:{r}:revoked-link:<link id>`, a string holding until
when the guest link is revoked, expiring then (a link outlives calls).

The room ends, as in memory, when its last peer is removed: the script deletes all of them.
As a safety net every write sets a TTL (`room_ttl`, default a day) on all of them together, so a
room whose processes crashed before its peers were removed disappears a day after its last
write instead of never. A call idle of writes for longer than `room_ttl` would lose its state,
hence the generous default.
"""

from __future__ import annotations

import json
import math
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel

from .protocol import CHAT_HISTORY, ChatMessage
from .recording import Consent, RecordingInfo
from .redis_client import reaching_redis, redis_client, text
from .roomstate import PeerRecord, RoomState
from .topology import Mode

ROOM_TTL = 24 * 3600

_KEYS = ("peers", "order", "chat", "bars", "mode", "agenda")

# Every write script gets the keys in _KEYS order and the TTL as ARGV[1].
_TOUCH = """
local function touch()
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[1]) end
end
"""

# ARGV: ttl, peer_id, record JSON. A new peer goes to the end of the order; a replaced one stays.
_PUT_PEER = _TOUCH + """
if redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
touch()
return 1
"""

# ARGV: ttl, peer_id, record JSON, token_id. As _PUT_PEER unless another peer holds the token:
# then that peer's id. A scan of the room's records: one per join, never on a hot path.
_CLAIM_PEER = _TOUCH + """
local held = redis.call('HGETALL', KEYS[1])
for i = 1, #held, 2 do
  if held[i] ~= ARGV[2] and cjson.decode(held[i + 1]).token_id == ARGV[4] then
    return held[i]
  end
end
if redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
touch()
return false
"""

# ARGV: ttl, peer_id, changes JSON {state?, connected?, admitted?, if_sid?} (absent = keep).
_UPDATE_PEER = _TOUCH + """
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return false end
local record = cjson.decode(raw)
local changes = cjson.decode(ARGV[3])
if changes.if_sid ~= nil and record.sid ~= changes.if_sid then return false end
if changes.state ~= nil then
  for name, value in pairs(changes.state) do record.peer.state[name] = value end
end
if changes.connected ~= nil then record.peer.connected = changes.connected end
if changes.admitted ~= nil then record.admitted = changes.admitted end
raw = cjson.encode(record)
redis.call('HSET', KEYS[1], ARGV[2], raw)
touch()
return raw
"""

# ARGV: ttl, peer_id, sid or "" (remove only if that socket is the peer's and is disconnected).
_REMOVE_PEER = _TOUCH + """
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return false end
if ARGV[3] ~= '' then
  local record = cjson.decode(raw)
  if record.sid ~= ARGV[3] or record.peer.connected then return false end
end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('LREM', KEYS[2], 0, ARGV[2])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', unpack(KEYS))
else
  touch()
end
return raw
"""

_LIST_PEERS = """
local ids = redis.call('LRANGE', KEYS[2], 0, -1)
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[1], unpack(ids))
"""

# ARGV: ttl, message JSON, history length.
_ADD_CHAT = _TOUCH + """
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
touch()
return 1
"""

# ARGV: ttl, key, until. Only while someone is in the room, as in memory.
_BAR = _TOUCH + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
touch()
return 1
"""

# ARGV: ttl, mode. Only while someone is in the room.
_SET_MODE = _TOUCH + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[5], ARGV[2])
touch()
return 1
"""


# ARGV: ttl, item. Only while someone is in the room. The key's index comes from _KEYS, so
# fields appended there later leave this script right.
_SET_AGENDA = _TOUCH + f"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[{_KEYS.index("agenda") + 1}], ARGV[2])
touch()
return 1
"""

# A room's recording lives in two keys of its own, outside _KEYS, because it outlives the peers
# (it lasts until ended): `room:{r}:recording` hash {id, since, by} and `room:{r}:consents` hash
# peer_id -> Consent JSON. Every script gets them in that order, the TTL as ARGV[1], and
# answers with both hashes (HGETALL), which `_recording` turns back into a RecordingInfo.
_RECORDING_READ = """
local function both()
  return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
end
local function touch()
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[1]) end
end
"""

# ARGV: ttl, id, since, by.
_START_RECORDING = _RECORDING_READ + """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'since', ARGV[3], 'by', ARGV[4])
touch()
return both()
"""

# ARGV: ttl, recording id, peer_id, Consent JSON.
_SET_CONSENT = _RECORDING_READ + """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return false end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
touch()
return both()
"""

# ARGV: ttl, recording id.
_END_RECORDING = _RECORDING_READ + """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return false end
local was = both()
redis.call('DEL', KEYS[1], KEYS[2])
return was
"""

_GET_RECORDING = _RECORDING_READ + """
return both()
"""


def _pairs(flat: list[Any]) -> dict[str, str]:
    return {text(flat[i]): text(flat[i + 1]) for i in range(0, len(flat), 2)}


def _recording(raw: list[Any] | None) -> RecordingInfo | None:
    """The RecordingInfo a recording script answered with (None for false or no recording)."""
    if not raw:
        return None
    meta, consents = _pairs(raw[0]), _pairs(raw[1])
    if "id" not in meta:
        return None
    return RecordingInfo(
        id=meta["id"], since=float(meta["since"]), by=meta["by"],
        consents={peer: Consent.model_validate_json(c) for peer, c in consents.items()},
    )


def _json(model: BaseModel) -> str:
    return model.model_dump_json()


class RedisRoomState(RoomState):
    """Rooms shared by every process using the same Redis and `prefix` (see module docstring).

    Pass a URL (the state owns the client; `close()` it) or a `redis.asyncio.Redis` (yours).
    """

    def __init__(
        self, redis_url_or_client: str | aioredis.Redis, *, prefix: str = "junta:",
        room_ttl: int = ROOM_TTL,
    ) -> None:
        if room_ttl <= 0:
            raise ValueError("room_ttl must be positive")
        self._redis, self._owns_client = redis_client(redis_url_or_client)
        self.prefix = prefix
        self.room_ttl = room_ttl
        register = self._redis.register_script
        self._put_peer = register(_PUT_PEER)
        self._claim_peer = register(_CLAIM_PEER)
        self._update_peer = register(_UPDATE_PEER)
        self._remove_peer = register(_REMOVE_PEER)
        self._list_peers = register(_LIST_PEERS)
        self._add_chat = register(_ADD_CHAT)
        self._bar = register(_BAR)
        self._set_mode = register(_SET_MODE)
        self._set_agenda = register(_SET_AGENDA)
        self._start_recording = register(_START_RECORDING)
        self._set_consent = register(_SET_CONSENT)
        self._end_recording = register(_END_RECORDING)
        self._get_recording = register(_GET_RECORDING)

    async def close(self) -> None:
        """Close the client if this state made it from a URL."""
        if self._owns_client:
            await self._redis.aclose()

    def keys(self, room: str) -> list[str]:
        """The room's keys in script order (peers, order, chat, bars, mode, agenda)."""
        return [f"{self.prefix}room:{{{room}}}:{name}" for name in _KEYS]

    def _key(self, room: str, name: str) -> str:
        return f"{self.prefix}room:{{{room}}}:{name}"

    @reaching_redis
    async def get_peer(self, room: str, peer_id: str) -> PeerRecord | None:
        raw = await self._redis.hget(self._key(room, "peers"), peer_id)
        return PeerRecord.model_validate_json(raw) if raw is not None else None

    @reaching_redis
    async def list_peers(self, room: str) -> list[PeerRecord]:
        raws = await self._list_peers(keys=self.keys(room))
        # An id without a record would only follow a partial expiry; skip it rather than fail.
        return [PeerRecord.model_validate_json(raw) for raw in raws if raw is not None]

    @reaching_redis
    async def put_peer(self, room: str, record: PeerRecord) -> None:
        await self._put_peer(
            keys=self.keys(room), args=[self.room_ttl, record.peer.peer_id, _json(record)]
        )

    @reaching_redis
    async def claim_peer(self, room: str, record: PeerRecord) -> str | None:
        holder = await self._claim_peer(
            keys=self.keys(room),
            args=[self.room_ttl, record.peer.peer_id, _json(record), record.token_id],
        )
        return text(holder) if holder is not None else None

    @reaching_redis
    async def update_peer(
        self, room: str, peer_id: str, *, state: dict[str, Any] | None = None,
        connected: bool | None = None, admitted: bool | None = None, if_sid: str | None = None,
    ) -> PeerRecord | None:
        changes: dict[str, Any] = {}
        if state:
            changes["state"] = state
        if connected is not None:
            changes["connected"] = connected
        if admitted is not None:
            changes["admitted"] = admitted
        if if_sid is not None:
            changes["if_sid"] = if_sid
        raw = await self._update_peer(
            keys=self.keys(room), args=[self.room_ttl, peer_id, json.dumps(changes)]
        )
        return PeerRecord.model_validate_json(raw) if raw is not None else None

    @reaching_redis
    async def remove_peer(
        self, room: str, peer_id: str, *, if_disconnected_sid: str | None = None
    ) -> PeerRecord | None:
        if if_disconnected_sid == "":
            return None  # no socket has an empty id; "" means "unconditionally" to the script
        raw = await self._remove_peer(
            keys=self.keys(room), args=[self.room_ttl, peer_id, if_disconnected_sid or ""]
        )
        return PeerRecord.model_validate_json(raw) if raw is not None else None

    @reaching_redis
    async def add_chat(self, room: str, message: ChatMessage) -> None:
        await self._add_chat(
            keys=self.keys(room), args=[self.room_ttl, _json(message), CHAT_HISTORY]
        )

    @reaching_redis
    async def chat_history(self, room: str) -> list[ChatMessage]:
        raws = await self._redis.lrange(self._key(room, "chat"), 0, -1)
        return [ChatMessage.model_validate_json(raw) for raw in raws]

    @reaching_redis
    async def bar(self, room: str, key: str, until: float) -> None:
        await self._bar(keys=self.keys(room), args=[self.room_ttl, key, repr(float(until))])

    @reaching_redis
    async def is_barred(self, room: str, key: str, now: float) -> bool:
        raw = await self._redis.hget(self._key(room, "bars"), key)
        return raw is not None and float(text(raw)) > now

    @reaching_redis
    async def revoke_link(self, room: str, link_id: str, until: float) -> None:
        key = self._key(room, f"revoked-link:{link_id}")
        await self._redis.set(key, repr(until), exat=max(1, math.ceil(until)))

    @reaching_redis
    async def is_link_revoked(self, room: str, link_id: str, now: float) -> bool:
        raw = await self._redis.get(self._key(room, f"revoked-link:{link_id}"))
        return raw is not None and float(text(raw)) > now

    @reaching_redis
    async def get_mode(self, room: str) -> Mode:
        raw = await self._redis.get(self._key(room, "mode"))
        return "sfu" if raw is not None and text(raw) == "sfu" else "p2p"

    @reaching_redis
    async def set_mode(self, room: str, mode: Mode) -> None:
        await self._set_mode(keys=self.keys(room), args=[self.room_ttl, mode])

    @reaching_redis
    async def get_agenda(self, room: str) -> int | None:
        raw = await self._redis.get(self._key(room, "agenda"))
        return int(text(raw)) if raw is not None else None

    @reaching_redis
    async def set_agenda(self, room: str, item: int) -> bool:
        return bool(await self._set_agenda(keys=self.keys(room), args=[self.room_ttl, item]))

    def recording_keys(self, room: str) -> list[str]:
        """The keys of the room's recording (recording, consents), outside `keys(room)`."""
        return [self._key(room, "recording"), self._key(room, "consents")]

    @reaching_redis
    async def get_recording(self, room: str) -> RecordingInfo | None:
        return _recording(await self._get_recording(keys=self.recording_keys(room),
                                                    args=[self.room_ttl]))

    @reaching_redis
    async def start_recording(self, room: str, info: RecordingInfo) -> bool:
        raw = await self._start_recording(
            keys=self.recording_keys(room),
            args=[self.room_ttl, info.id, repr(float(info.since)), info.by],
        )
        return raw is not None

    @reaching_redis
    async def set_consent(
        self, room: str, recording_id: str, peer_id: str, consent: Consent
    ) -> RecordingInfo | None:
        return _recording(await self._set_consent(
            keys=self.recording_keys(room),
            args=[self.room_ttl, recording_id, peer_id, _json(consent)],
        ))

    @reaching_redis
    async def end_recording(self, room: str, recording_id: str) -> RecordingInfo | None:
        return _recording(await self._end_recording(
            keys=self.recording_keys(room), args=[self.room_ttl, recording_id]
        ))

    # --- the media node a room is placed on: <prefix>room:{r}:media, a node id ------------
    # Scripts made on use (a Script only hashes its text), so placement touches no constructor.

    def _media_key(self, room: str) -> str:
        return self._key(room, "media")

    async def get_media_node(self, room: str) -> str | None:
        raw = await self._redis.get(self._media_key(room))
        return text(raw) if raw is not None else None

    async def claim_media_node(self, room: str, node_id: str) -> str:
        script = self._redis.register_script(_CLAIM_MEDIA)
        return text(await script(keys=[self._media_key(room)], args=[self.room_ttl, node_id]))

    async def move_media_node(self, room: str, dead_node: str, node_id: str) -> bool:
        script = self._redis.register_script(_MOVE_MEDIA)
        return bool(await script(keys=[self._media_key(room)],
                                 args=[self.room_ttl, dead_node, node_id]))

    async def release_media_node(self, room: str, node_id: str) -> None:
        script = self._redis.register_script(_RELEASE_MEDIA)
        await script(keys=[self._media_key(room)], args=[node_id])


# ARGV: ttl, node_id. SET NX that also returns the owner when there is one already.
_CLAIM_MEDIA = """
local current = redis.call('GET', KEYS[1])
if current then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return current
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
return ARGV[2]
"""

# ARGV: ttl, dead node id, new node id. Compare-and-set: one process moves a room, once.
_MOVE_MEDIA = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[1])
return 1
"""

# ARGV: node id.
_RELEASE_MEDIA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
