"""The RoomState contract; every implementation (memory now, Redis later) runs this suite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from signaling.protocol import ChatMessage, Peer, PeerState
from signaling.roomstate import MemoryRoomState, PeerRecord, RoomState

IMPLEMENTATIONS: list[Callable[[], RoomState]] = [MemoryRoomState]


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda impl: impl.__name__)
def state(request: pytest.FixtureRequest) -> RoomState:
    factory: Callable[[], RoomState] = request.param
    return factory()


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
