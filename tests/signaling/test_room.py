"""Presence, state, chat, the waiting room and moderation, as the peers in a room see them."""

from __future__ import annotations

import time

from tests.media.peers import wait_until

from .conftest import CANDIDATE, CallServer, Participant, assert_relays


async def joined_pair(call_server: CallServer) -> tuple[Participant, Participant]:
    alice = await call_server.participant("alice", moderate=True)
    bob = await call_server.participant("bob")
    assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id
    return alice, bob


async def test_state_is_broadcast_to_everyone_including_the_sender(
    call_server: CallServer,
) -> None:
    alice, bob = await joined_pair(call_server)
    ack = await bob.call("state", {"audio": False, "screen": True, "screen_stream": "s-1"})
    expected = {"audio": False, "video": True, "screen": True, "hand": False,
                "screen_stream": "s-1", "speaking": False}
    assert ack == {"ok": True, "state": expected}
    for p in (alice, bob):
        assert await p.next("peer-state") == {"peer_id": bob.peer_id, "state": expected,
                                              "connected": True}
    # Only the fields sent change.
    assert (await bob.call("state", {"hand": True}))["state"] == {**expected, "hand": True}


async def test_chat_is_broadcast_trimmed_and_kept_for_late_joiners(
    call_server: CallServer,
) -> None:
    alice, bob = await joined_pair(call_server)
    ack = await alice.call("chat", {"text": "  ¿Ven la resonancia?  "})
    message = ack["message"]
    assert message["text"] == "¿Ven la resonancia?" and message["peer_id"] == alice.peer_id
    assert message["name"] == "Dr. alice" and message["at"].endswith("Z")
    assert await alice.next("chat") == message
    assert await bob.next("chat") == message
    late = await call_server.participant("carol", join=False)
    assert (await late.join())["chat"] == [message]


async def test_chat_history_keeps_the_last_hundred(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    namespace = call_server.namespace
    from datetime import UTC, datetime

    from signaling.protocol import ChatMessage

    for i in range(105):  # straight into the state: the chat rate limit is tested elsewhere
        await namespace.state.add_chat("room-a", ChatMessage(
            id=str(i), peer_id=alice.peer_id, name="a", text=str(i), at=datetime.now(UTC)))
    history = (await (await call_server.participant("bob", join=False)).join())["chat"]
    assert [m["text"] for m in history] == [str(i) for i in range(5, 105)]


async def test_leave_tells_the_others(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    assert await bob.call("leave") == {"ok": True}
    assert await alice.next("peer-left") == {"peer_id": bob.peer_id, "reason": "left"}
    assert (await bob.call("chat", {"text": "hola"}))["error"]["code"] == "not_joined"
    assert [k for k in call_server.kinds() if k[1] == "bob"] == [("joined", "bob"),
                                                                ("left", "bob")]


async def test_peer_needing_admission_waits_until_a_moderator_admits(
    call_server: CallServer,
) -> None:
    alice, bob = await joined_pair(call_server)
    guest = await call_server.participant("guest", join=False, admission=True)
    ack = await guest.join()
    assert ack["status"] == "waiting" and ack["self"]["peer_id"] == guest.peer_id
    waiting = await alice.next("waiting")
    assert [p["peer_id"] for p in waiting["added"]] == [guest.peer_id]
    await bob.nothing("waiting", wait=0.05)
    await bob.nothing("peer-joined", wait=0.0)
    # A waiting peer may only leave: no signalling, state or chat into the room.
    assert (await guest.call("chat", {"text": "hola"}))["error"]["code"] == "not_joined"
    ack = await guest.call("signal", {"to": alice.peer_id, "candidate": CANDIDATE})
    assert ack["error"]["code"] == "not_joined"

    assert await alice.call("moderate", {"action": "admit", "target": guest.peer_id}) == {
        "ok": True}
    admitted = await guest.next("admitted")
    assert admitted["status"] == "joined"
    assert {p["peer_id"] for p in admitted["peers"]} == {alice.peer_id, bob.peer_id}
    assert (await bob.next("peer-joined"))["peer_id"] == guest.peer_id
    assert (await alice.next("peer-joined"))["peer_id"] == guest.peer_id
    assert await alice.next("waiting") == {"added": [], "removed": [guest.peer_id]}
    await assert_relays(guest, bob)
    assert ("admitted", "guest") in call_server.kinds()


async def test_moderator_joining_sees_the_waiting_list(call_server: CallServer) -> None:
    guest = await call_server.participant("guest", join=False, admission=True)
    assert (await guest.join())["status"] == "waiting"
    alice = await call_server.participant("alice", join=False, moderate=True)
    ack = await alice.join()
    assert [p["peer_id"] for p in ack["waiting"]] == [guest.peer_id]
    assert ack["peers"] == []


async def test_moderators_hear_of_each_waiting_change_not_the_whole_list(
    call_server: CallServer,
) -> None:
    alice = await call_server.participant("alice", moderate=True)
    knocking = [await call_server.participant(f"guest{i}", join=False, admission=True)
                for i in range(3)]
    for guest in knocking:
        assert (await guest.join())["status"] == "waiting"
        # Only the newcomer, however many wait already (issue 20: no list sent whole).
        added = await alice.next("waiting")
        assert added["removed"] == [] and [p["peer_id"] for p in added["added"]] == [
            guest.peer_id]
    assert await knocking[1].call("leave") == {"ok": True}
    assert await alice.next("waiting") == {"added": [], "removed": [knocking[1].peer_id]}
    await knocking[2].client.disconnect()
    assert await alice.next("waiting") == {"added": [], "removed": [knocking[2].peer_id]}
    # A moderator coming back gets the whole list once, in its join ack.
    await alice.reconnect()
    ack = await alice.join()
    assert [p["peer_id"] for p in ack["waiting"]] == [knocking[0].peer_id]


async def test_refused_peer_is_told_and_cannot_come_back_with_that_token(
    call_server: CallServer,
) -> None:
    alice, bob = await joined_pair(call_server)
    guest = await call_server.participant("guest", join=False, admission=True)
    token = guest.token()
    assert (await guest.call("join", {"token": token, "peer_id": guest.peer_id,
                                      "protocol": 1}))["status"] == "waiting"
    await alice.next("waiting")
    assert (await alice.call("moderate", {"action": "refuse", "target": guest.peer_id}))["ok"]
    assert await guest.next("moderated") == {"action": "refuse", "target": guest.peer_id,
                                             "by": alice.peer_id}
    assert await alice.next("waiting") == {"added": [], "removed": [guest.peer_id]}
    await wait_until(lambda: not guest.client.connected, within=5)
    assert not guest.client.connected
    await bob.nothing("peer-joined", wait=0.0)
    await guest.reconnect()
    ack = await guest.call("join", {"token": token, "peer_id": guest.peer_id, "protocol": 1})
    assert ack["error"]["code"] == "forbidden"
    assert ("refused", "guest") in call_server.kinds()


async def test_removed_peer_leaves_the_call_for_everyone(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    carol = await call_server.participant("carol")
    assert (await alice.call("moderate", {"action": "remove", "target": bob.peer_id}))["ok"]
    assert (await bob.next("moderated"))["action"] == "remove"
    for p in (alice, carol):
        assert await p.next("peer-left") == {"peer_id": bob.peer_id, "reason": "removed"}
    await wait_until(lambda: not bob.client.connected, within=5)
    assert not bob.client.connected
    await bob.reconnect()
    assert (await bob.join(token=bob.last_token))["error"]["code"] == "forbidden"  # revoked
    # With a fresh token bob may only knock: back through the waiting room.
    assert (await bob.join(token=bob.token(now=time.time() - 5)))["status"] == "waiting"
    assert [p["peer_id"] for p in (await alice.next("waiting"))["added"]] == [bob.peer_id]
    await carol.nothing("peer-joined", wait=0.05)
    await assert_relays(alice, carol)
    assert ("removed", "bob") in call_server.kinds()


async def test_mute_and_lower_hand_change_the_targets_state(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    await bob.call("state", {"hand": True})
    await alice.next("peer-state")
    for action, field in (("mute", "audio"), ("lower-hand", "hand")):
        assert (await alice.call("moderate", {"action": action, "target": bob.peer_id}))["ok"]
        assert await bob.next("moderated") == {"action": action, "target": bob.peer_id,
                                               "by": alice.peer_id}
        assert (await alice.next("peer-state"))["state"][field] is False


async def test_non_moderator_cannot_moderate(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    for action in ("admit", "refuse", "mute", "remove", "lower-hand"):
        ack = await bob.call("moderate", {"action": action, "target": alice.peer_id})
        assert ack["error"]["code"] == "forbidden"
    await alice.nothing("moderated", wait=0.05)
    await assert_relays(alice, bob)


async def test_moderation_target_must_be_in_the_room_or_waiting(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    other = await call_server.participant("other", room="room-b")
    for action in ("mute", "remove"):
        ack = await alice.call("moderate", {"action": action, "target": other.peer_id})
        assert ack["error"]["code"] == "peer_not_found"
    ack = await alice.call("moderate", {"action": "admit", "target": bob.peer_id})
    assert ack["error"]["code"] == "peer_not_found"
    await other.nothing("moderated", wait=0.05)
