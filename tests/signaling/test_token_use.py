"""One join token, one live participant (issue 20): a second page joining with a token that a
peer in the room holds is refused with `token_in_use`; the same peer coming back replaces
itself."""

from __future__ import annotations

from .conftest import CallServer, assert_relays


async def test_a_token_in_use_is_refused_to_a_second_peer(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    bob = await call_server.participant("bob")
    assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id
    assert alice.last_token is not None
    copy = await call_server.participant("alice", join=False)
    ack = await copy.join(token=alice.last_token)
    assert ack["ok"] is False and ack["error"]["code"] == "token_in_use", ack
    await bob.nothing("peer-joined", wait=0.1)
    await assert_relays(alice, bob)


async def test_a_token_in_use_is_refused_while_its_peer_waits(call_server: CallServer) -> None:
    await call_server.participant("chair", moderate=True)
    guest = await call_server.participant("guest", admission=True)
    assert guest.last_token is not None
    copy = await call_server.participant("guest", join=False, admission=True)
    ack = await copy.join(token=guest.last_token)
    assert ack["ok"] is False and ack["error"]["code"] == "token_in_use", ack


async def test_the_same_peer_resumes_with_its_token(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    bob = await call_server.participant("bob")
    assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id
    token = bob.last_token
    await bob.reconnect()  # the page reconnected: same peer, same token
    ack = await bob.join(token=token)
    assert ack["ok"] and ack["status"] == "joined", ack
    await assert_relays(alice, bob)


async def test_a_token_is_free_again_once_its_peer_left(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    await call_server.participant("bob")
    token = alice.last_token
    assert await alice.call("leave", {}) == {"ok": True}
    other = await call_server.participant("alice", join=False)
    assert (await other.join(token=token))["ok"]
