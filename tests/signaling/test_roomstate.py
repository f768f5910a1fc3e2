"""The RoomState contract; every implementation (memory and Redis) runs this suite."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from signaling.protocol import ChatMessage, Peer, PeerState
from signaling.recording import Consent, RecordingInfo
from signaling.roomstate import MemoryRoomState, PeerRecord, RoomState
from signaling.roomstate_redis import RedisRoomState
from tests.services import REDIS_URL, port_open, require

IMPLEMENTATIONS = ["memory", "redis"]


async def drop_keys(client: aioredis.Redis, prefix: str) -> None:
    """Delete every key under `prefix` (the shared Redis is never flushed)."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture(params=IMPLEMENTATIONS)
async def state(request: pytest.FixtureRequest) -> AsyncIterator[RoomState]:
    if request.param == "memory":
        yield MemoryRoomState()
        return
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"junta-test:{uuid.uuid4().hex}:"
    try:
        yield RedisRoomState(client, prefix=prefix)
    finally:
        await drop_keys(client, prefix)
        await client.aclose()


def record(n: int, *, sid: str = "sid", admitted: bool = True) -> PeerRecord:
    peer = Peer(peer_id=f"00000000-0000-4000-8000-{n:012d}", user_id=f"u{n}", name="n",
                role="r", moderator=False, state=PeerState(), connected=True)
    return PeerRecord(peer=peer, sid=sid, admitted=admitted, token_id=f"t{n}")


async def test_peers_are_listed_in_arrival_order_per_room(state: RoomState) -> None:
    for n in (3, 1, 2):
        await state.put_peer("a", record(n))
    await state.put_peer("b", record(9))
    await state.put_peer("a", record(3, sid="new"))  # replacing keeps the place
    assert [r.peer.user_id for r in await state.list_peers("a")] == ["u3", "u1", "u2"]
    assert (await state.get_peer("a", record(3).peer.peer_id)).sid == "new"  # type: ignore[union-attr]
    assert await state.get_peer("b", record(3).peer.peer_id) is None


async def test_a_token_is_held_by_one_peer_of_the_room(state: RoomState) -> None:
    first = record(1)
    copy = record(2).model_copy(update={"token_id": first.token_id})
    assert await state.claim_peer("a", first) is None
    assert await state.claim_peer("a", copy) == first.peer.peer_id  # refused, nothing changed
    assert [r.peer.peer_id for r in await state.list_peers("a")] == [first.peer.peer_id]
    assert await state.claim_peer("b", copy) is None  # another room's token is another's
    # The holder replaces itself (a resumed peer), even on another socket.
    assert await state.claim_peer("a", record(1, sid="new")) is None
    assert (await state.get_peer("a", first.peer.peer_id)).sid == "new"  # type: ignore[union-attr]
    await state.remove_peer("a", first.peer.peer_id)
    assert await state.claim_peer("a", copy) is None  # its holder left: free again


async def test_update_changes_only_what_is_given(state: RoomState) -> None:
    r = record(1, admitted=False)
    await state.put_peer("a", r)
    pid = r.peer.peer_id
    updated = await state.update_peer("a", pid, state={"hand": True}, admitted=True)
    assert updated is not None and updated.admitted and updated.peer.state.hand
    assert updated.peer.state.audio and updated.peer.connected
    assert await state.update_peer("a", pid, connected=False, if_sid="other") is None
    assert (await state.get_peer("a", pid)).peer.connected  # type: ignore[union-attr]
    assert await state.update_peer("a", "missing", connected=False) is None


async def test_expiry_removes_only_a_still_disconnected_peer(state: RoomState) -> None:
    r = record(1, sid="s1")
    pid = r.peer.peer_id
    await state.put_peer("a", r)
    assert await state.remove_peer("a", pid, if_disconnected_sid="s1") is None  # connected
    await state.update_peer("a", pid, connected=False)
    assert await state.remove_peer("a", pid, if_disconnected_sid="s0") is None  # other socket
    assert await state.remove_peer("a", pid, if_disconnected_sid="s1") is not None
    assert await state.list_peers("a") == []


async def test_chat_keeps_the_last_hundred_and_goes_with_the_room(state: RoomState) -> None:
    r = record(1)
    await state.put_peer("a", r)
    for i in range(101):
        await state.add_chat("a", ChatMessage(id=str(i), peer_id=r.peer.peer_id, name="n",
                                              text="t", at=datetime.now(UTC)))
    history = await state.chat_history("a")
    assert len(history) == 100 and history[0].id == "1"
    await state.remove_peer("a", r.peer.peer_id)
    assert await state.chat_history("a") == []


async def test_bars_last_until_their_time_or_the_end_of_the_call(state: RoomState) -> None:
    r = record(1)
    await state.bar("a", "token:t1", until=100.0)  # nobody in the room: no call to bar from
    assert not await state.is_barred("a", "token:t1", now=99.0)
    await state.put_peer("a", r)
    await state.bar("a", "token:t1", until=100.0)
    await state.bar("a", "user:u9", until=float("inf"))
    assert await state.is_barred("a", "token:t1", now=99.0)
    assert not await state.is_barred("a", "token:t1", now=100.0)
    assert not await state.is_barred("b", "token:t1", now=99.0)
    assert await state.is_barred("a", "user:u9", now=1e12)
    await state.remove_peer("a", r.peer.peer_id)
    assert not await state.is_barred("a", "user:u9", now=0.0)


async def test_a_revoked_guest_link_stays_revoked_until_its_expiry(state: RoomState) -> None:
    # Unlike bars, a revocation needs nobody in the room and outlives the call.
    await state.revoke_link("a", "l1", until=1e10)
    assert await state.is_link_revoked("a", "l1", now=1e9)
    assert not await state.is_link_revoked("a", "l1", now=1e10)
    assert not await state.is_link_revoked("a", "l2", now=1e9)
    assert not await state.is_link_revoked("b", "l1", now=1e9)
    await state.put_peer("a", record(1))
    await state.remove_peer("a", record(1).peer.peer_id)
    assert await state.is_link_revoked("a", "l1", now=1e9)


async def test_the_mode_lasts_as_long_as_the_call(state: RoomState) -> None:
    r = record(1)
    await state.set_mode("a", "sfu")  # nobody in the room: no call to have a mode
    assert await state.get_mode("a") == "p2p"
    await state.put_peer("a", r)
    await state.set_mode("a", "sfu")
    assert await state.get_mode("a") == "sfu"
    assert await state.get_mode("b") == "p2p"
    await state.remove_peer("a", r.peer.peer_id)
    assert await state.get_mode("a") == "p2p"


async def test_concurrent_updates_lose_nothing(state: RoomState) -> None:
    r = record(1)
    await state.put_peer("a", r)
    pid = r.peer.peer_id
    await asyncio.gather(
        state.update_peer("a", pid, state={"hand": True}),
        state.update_peer("a", pid, state={"audio": False}),
        state.update_peer("a", pid, state={"screen_stream": "s1", "screen": True}),
        state.update_peer("a", pid, admitted=False),
        state.update_peer("a", pid, connected=False),
    )
    got = await state.get_peer("a", pid)
    assert got is not None and not got.admitted and not got.peer.connected
    assert got.peer.state == PeerState(audio=False, hand=True, screen=True, screen_stream="s1")
    cleared = await state.update_peer("a", pid, state={"screen_stream": None, "screen": False})
    assert cleared is not None and cleared.peer.state.screen_stream is None


async def test_records_and_chat_keep_any_text(state: RoomState) -> None:
    room = "sala {ñandú}:peers/\\\"x\""
    peer = record(1).peer.model_copy(update={"name": "Dra. Núñez 🩺 \"/\\", "user_id": "ü/1"})
    r = PeerRecord(peer=peer, sid="s/ñ", admitted=True, token_id="t")
    await state.put_peer(room, r)
    assert await state.update_peer(room, peer.peer_id, state={"hand": True}) == r.model_copy(
        update={"peer": peer.model_copy(update={"state": PeerState(hand=True)})}
    )
    at = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
    message = ChatMessage(id="1", peer_id=peer.peer_id, name=peer.name, text="¿duele? 🤕", at=at)
    await state.add_chat(room, message)
    assert await state.chat_history(room) == [message]
    assert await state.list_peers("sala {ñandú}") == []


async def test_redis_rooms_expire_as_a_safety_net_and_vanish_when_empty() -> None:
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"junta-test:{uuid.uuid4().hex}:"
    state = RedisRoomState(client, prefix=prefix, room_ttl=60)
    try:
        r = record(1)
        await state.put_peer("a", r)
        await state.set_mode("a", "sfu")
        await state.set_agenda("a", 1)
        await state.bar("a", "token:t9", until=float("inf"))
        await state.add_chat("a", ChatMessage(id="1", peer_id=r.peer.peer_id, name="n",
                                              text="t", at=datetime.now(UTC)))
        keys = state.keys("a")
        assert await client.exists(*keys) == len(keys)
        for key in keys:
            assert 0 < await client.ttl(key) <= 60
        await state.remove_peer("a", r.peer.peer_id)
        assert await client.exists(*keys) == 0
    finally:
        await drop_keys(client, prefix)
        await client.aclose()


async def test_a_recording_runs_until_ended_and_keeps_every_answer(state: RoomState) -> None:
    info = RecordingInfo(id="rec-1", since=1795443905.9215107, by="p1")
    assert await state.get_recording("a") is None
    assert await state.start_recording("a", info)
    assert not await state.start_recording("a", info.model_copy(update={"id": "rec-2"}))
    assert await state.get_recording("a") == info
    assert await state.get_recording("b") is None
    yes = Consent(granted=True, name="Dra. Núñez 🩺", recorded=True)
    assert await state.set_consent("a", "rec-2", "p1", yes) is None  # not the running one
    after = await state.set_consent("a", "rec-1", "p1", yes)
    no = Consent(granted=False, name="n")
    after = await state.set_consent("a", "rec-1", "p2", no)
    assert after == info.model_copy(update={"consents": {"p1": yes, "p2": no}})
    assert await state.get_recording("a") == after
    # It outlives the room's peers: the departure that empties a room still finds it to stop.
    r = record(1)
    await state.put_peer("a", r)
    await state.remove_peer("a", r.peer.peer_id)
    assert await state.get_recording("a") == after
    assert await state.end_recording("a", "rec-2") is None
    assert await state.end_recording("a", "rec-1") == after
    assert await state.get_recording("a") is None
    assert await state.end_recording("a", "rec-1") is None
    assert await state.start_recording("a", info.model_copy(update={"id": "rec-3"}))
    assert (await state.get_recording("a")).consents == {}  # type: ignore[union-attr]


async def test_concurrent_answers_to_a_recording_lose_nothing(state: RoomState) -> None:
    await state.start_recording("a", RecordingInfo(id="r", since=1.5, by="p0"))
    await asyncio.gather(*(
        state.set_consent("a", "r", f"p{n}", Consent(granted=n % 2 == 0, name=f"n{n}"))
        for n in range(10)
    ))
    got = await state.get_recording("a")
    assert got is not None and got.since == 1.5
    assert {p: c.granted for p, c in got.consents.items()} == {f"p{n}": n % 2 == 0
                                                               for n in range(10)}


async def test_a_room_stays_on_the_media_node_it_was_first_placed_on(state: RoomState) -> None:
    assert await state.get_media_node("r") is None
    assert await state.claim_media_node("r", "node-a") == "node-a"
    assert await state.claim_media_node("r", "node-b") == "node-a"  # another process agrees
    assert await state.get_media_node("r") == "node-a"
    assert await state.get_media_node("other") is None


async def test_a_room_leaves_a_dead_media_node_exactly_once(state: RoomState) -> None:
    await state.claim_media_node("r", "dead")
    moves = await asyncio.gather(*(state.move_media_node("r", "dead", f"n{i}") for i in range(5)))
    assert sum(moves) == 1
    winner = await state.get_media_node("r")
    assert winner == f"n{moves.index(True)}"
    # Moving "from dead" again changes nothing: the room is on a live node now.
    assert not await state.move_media_node("r", "dead", "late")
    assert await state.get_media_node("r") == winner
    # A room with no placement (e.g. expired) may be placed by a move.
    assert await state.move_media_node("fresh", "dead", "n9")
    assert await state.get_media_node("fresh") == "n9"


async def test_releasing_a_placement_needs_its_node(state: RoomState) -> None:
    await state.claim_media_node("r", "node-a")
    await state.release_media_node("r", "node-b")
    assert await state.get_media_node("r") == "node-a"
    await state.release_media_node("r", "node-a")
    assert await state.get_media_node("r") is None
    assert await state.claim_media_node("r", "node-b") == "node-b"
