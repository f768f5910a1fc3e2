"""A lost socket keeps its peer for the reconnect grace; after it, the others see it leave."""

from __future__ import annotations

import asyncio

from tests.media.peers import wait_until

from .conftest import GRACE, CallServer, Participant, assert_relays


async def joined_pair(call_server: CallServer) -> tuple[Participant, Participant]:
    alice = await call_server.participant("alice")
    bob = await call_server.participant("bob")
    assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id
    return alice, bob


async def test_reconnect_within_grace_keeps_the_same_peer(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    await bob.client.disconnect()
    lost = await alice.next("peer-state")
    assert lost["peer_id"] == bob.peer_id and lost["connected"] is False
    await bob.reconnect()
    ack = await bob.join()
    assert ack["status"] == "joined" and [p["peer_id"] for p in ack["peers"]] == [alice.peer_id]
    back = await alice.next("peer-state")
    assert back["peer_id"] == bob.peer_id and back["connected"] is True
    await asyncio.sleep(GRACE + 0.3)
    await alice.nothing("peer-left", wait=0.0)
    await alice.nothing("peer-joined", wait=0.0)
    await assert_relays(alice, bob)
    assert call_server.kinds().count(("joined", "bob")) == 1


async def test_peer_left_after_the_grace(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    await bob.client.disconnect()
    assert (await alice.next("peer-state"))["connected"] is False
    assert await alice.next("peer-left", within=GRACE + 2) == {"peer_id": bob.peer_id,
                                                                "reason": "timeout"}
    assert ("left", "bob") in call_server.kinds()
    await bob.reconnect()
    ack = await bob.join()  # too late to resume: a new arrival
    assert ack["status"] == "joined"
    assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id


async def test_state_survives_a_reconnection(call_server: CallServer) -> None:
    _, bob = await joined_pair(call_server)
    await bob.call("state", {"video": False})
    await bob.reconnect()
    assert (await bob.join())["self"]["state"]["video"] is False


async def test_dropped_peer_rejoins_as_itself(call_server: CallServer) -> None:
    alice, bob = await joined_pair(call_server)
    assert await call_server.namespace.drop_peer(bob.peer_id) is True
    assert (await alice.next("peer-state"))["connected"] is False
    await wait_until(lambda: not bob.client.connected, within=5)
    assert not bob.client.connected
    await bob.reconnect()
    assert (await bob.join())["status"] == "joined"
    assert (await alice.next("peer-state"))["connected"] is True
    await asyncio.sleep(GRACE + 0.2)
    await alice.nothing("peer-left", wait=0.0)
    await assert_relays(bob, alice)
    assert await call_server.namespace.drop_peer("00000000-0000-4000-8000-000000000000") is False


async def test_new_socket_takes_over_a_peer_whose_old_socket_seems_alive(
    call_server: CallServer,
) -> None:
    alice, bob = await joined_pair(call_server)
    old = bob.client
    bob.client = bob._new_client()  # the page reconnected before the server saw the loss
    await bob.connect()
    assert (await bob.join())["status"] == "joined"
    await wait_until(lambda: not old.connected, within=5)
    assert not old.connected
    await alice.nothing("peer-left", wait=0.0)
    await alice.nothing("peer-joined", wait=0.0)
    await assert_relays(alice, bob)
