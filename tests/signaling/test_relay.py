"""Two peers in a room: offer/answer/ICE relay, and what may not be relayed."""

from __future__ import annotations

from .conftest import CANDIDATE, OFFER_SDP, CallServer, assert_relays


async def test_two_peers_relay_offer_answer_and_candidates(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    bob = await call_server.participant("bob")
    assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id

    await assert_relays(alice, bob)
    answer = {"type": "answer", "sdp": OFFER_SDP}
    assert await bob.call("signal", {"to": alice.peer_id, "description": answer}) == {"ok": True}
    assert await alice.next("signal") == {"from": bob.peer_id, "description": answer}
    assert await bob.call("signal", {"to": alice.peer_id, "candidate": None}) == {"ok": True}
    assert await alice.next("signal") == {"from": bob.peer_id, "candidate": None}


async def test_join_ack_lists_the_peers_already_there(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    bob = await call_server.participant("bob", join=False)
    ack = await bob.join(state={"video": False})
    assert ack["status"] == "joined" and ack["mode"] == "p2p" and ack["chat"] == []
    assert [p["peer_id"] for p in ack["peers"]] == [alice.peer_id]
    assert ack["self"] == {
        "peer_id": bob.peer_id, "user_id": "bob", "name": "Dr. bob", "role": "specialist",
        "moderator": False, "connected": True, "audience": False,
        "state": {"audio": True, "video": False, "screen": False, "hand": False,
                  "screen_stream": None, "speaking": False},
    }
    assert "waiting" not in ack


async def test_rollback_is_relayed_without_sdp(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    bob = await call_server.participant("bob")
    rollback = {"type": "rollback", "sdp": ""}
    assert await alice.call("signal", {"to": bob.peer_id, "description": rollback}) == {"ok": True}
    assert await bob.next("signal") == {"from": alice.peer_id, "description": rollback}


async def test_signal_to_peer_in_other_room_is_refused(call_server: CallServer) -> None:
    alice = await call_server.participant("alice", room="room-a")
    bob = await call_server.participant("bob", room="room-a")
    mallory = await call_server.participant("mallory", room="room-b")
    for target in (alice, bob):
        ack = await mallory.call("signal", {"to": target.peer_id, "candidate": CANDIDATE})
        assert ack["error"]["code"] == "peer_not_found"
    await alice.nothing("signal")
    await assert_relays(alice, bob)


async def test_signal_without_publish_or_subscribe_grant_is_forbidden(
    call_server: CallServer,
) -> None:
    alice = await call_server.participant("alice")
    observer = await call_server.participant("observer", publish=False, subscribe=False)
    ack = await observer.call("signal", {"to": alice.peer_id, "candidate": CANDIDATE})
    assert ack["error"]["code"] == "forbidden"
    await alice.nothing("signal")


async def test_receive_only_viewer_may_signal(call_server: CallServer) -> None:
    alice = await call_server.participant("alice")
    viewer = await call_server.participant("viewer", publish=False)
    assert (await viewer.call("signal", {"to": alice.peer_id, "candidate": None}))["ok"]
