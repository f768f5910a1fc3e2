"""The case panel's agenda position (PROTOCOL.md, "The agenda"), with real socket.io clients."""

from __future__ import annotations

from signaling.roomstate import PeerRecord, RoomState
from tests.signaling.conftest import CallServer
from tests.signaling.test_roomstate import record, state

__all__ = ["state"]  # the fixture: both room-state backends, as test_roomstate runs them


async def test_only_a_moderator_moves_the_agenda_and_everyone_follows(
    call_server: CallServer,
) -> None:
    chair = await call_server.participant("chair", moderate=True)
    member = await call_server.participant("member")
    elsewhere = await call_server.participant("other", room="room-b", moderate=True)

    assert await chair.call("agenda", {"item": 2}) == {"ok": True, "item": 2}
    told = {"item": 2, "by": chair.peer_id}
    assert await chair.next("agenda") == told
    assert await member.next("agenda") == told
    await elsewhere.nothing("agenda")

    refused = await member.call("agenda", {"item": 1})
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    await chair.nothing("agenda")
    await member.nothing("agenda", wait=0)

    # The room still says 2: a late joiner starts there, in its join ack.
    late = await call_server.participant("late", join=False)
    ack = await late.join()
    assert ack["status"] == "joined" and ack["agenda"] == 2


async def test_a_room_the_chair_has_not_moved_has_no_position_and_bad_items_are_refused(
    call_server: CallServer,
) -> None:
    chair = await call_server.participant("chair", join=False, moderate=True)
    assert (await chair.join())["agenda"] is None
    for bad in ({"item": 0}, {"item": "2"}, {"item": 501}, {}, {"item": 1, "code": "x"}):
        ack = await chair.call("agenda", bad)
        assert ack["error"]["code"] == "invalid_payload", bad
    await chair.nothing("agenda")


async def test_the_agenda_needs_a_join_and_ends_with_the_call(call_server: CallServer) -> None:
    outsider = await call_server.participant("outsider", join=False, moderate=True)
    assert (await outsider.call("agenda", {"item": 1}))["error"]["code"] == "not_joined"

    chair = await call_server.participant("chair", moderate=True)
    assert (await chair.call("agenda", {"item": 3}))["ok"]
    assert await chair.call("leave", {}) == {"ok": True}
    # The room emptied: the next call on it starts from the top again.
    again = await call_server.participant("again", join=False)
    assert (await again.join())["agenda"] is None


async def test_a_waiting_peer_is_not_told_the_position(call_server: CallServer) -> None:
    chair = await call_server.participant("chair", moderate=True)
    guest = await call_server.participant("guest", join=False, admission=True)
    assert (await guest.join())["status"] == "waiting"
    assert (await chair.call("agenda", {"item": 4}))["ok"]
    await guest.nothing("agenda")
    assert (await guest.call("agenda", {"item": 1}))["error"]["code"] == "not_joined"
    assert (await chair.call("moderate", {"action": "admit", "target": guest.peer_id}))["ok"]
    admitted = await guest.next("admitted")
    assert admitted["agenda"] == 4


async def test_the_position_is_kept_while_someone_is_in_the_room(state: RoomState) -> None:
    first: PeerRecord = record(1)
    assert await state.set_agenda("a", 2) is False  # nobody there: nothing to remember
    assert await state.get_agenda("a") is None
    await state.put_peer("a", first)
    assert await state.set_agenda("a", 2) is True
    assert await state.set_agenda("a", 5) is True
    assert await state.get_agenda("a") == 5
    assert await state.get_agenda("b") is None
    await state.remove_peer("a", first.peer.peer_id)
    assert await state.get_agenda("a") is None
