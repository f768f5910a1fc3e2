"""Guest lecturers at the signaling edge: their grant waits in the waiting room until a moderator
admits them, is bound to one room, and does not outlive the invite link."""

from __future__ import annotations

import time
from typing import Any

import pytest

from signaling.grants import sign_grant
from signaling.guests import issue_guest_grant

from .conftest import SECRET, CallServer, Participant


def guest_token(room: str, *, link_expires: int, now: float | None = None,
                guest_id: str = "0f3a9c", link_id: str = "link-1") -> str:
    grant = issue_guest_grant(
        guest_id=guest_id, name="Dr. Invitado Externo", room=room, room_kind="consultation",
        now=time.time() if now is None else now, link_expires=link_expires, link_id=link_id,
    )
    return sign_grant(grant, SECRET)


async def test_a_guest_waits_and_is_admitted_by_a_moderator(call_server: CallServer) -> None:
    chair = await call_server.participant("chair", moderate=True)
    guest = await call_server.participant("unused", join=False)
    ack = await guest.join(token=guest_token("room-a", link_expires=int(time.time()) + 3600))
    assert ack["ok"] and ack["status"] == "waiting", ack
    assert ack["self"]["role"] == "guest" and ack["self"]["user_id"] == "guest:0f3a9c"
    (waiting,) = (await chair.next("waiting"))["added"]
    assert (waiting["peer_id"], waiting["name"]) == (guest.peer_id, "Dr. Invitado Externo")

    assert await chair.call("moderate", {"action": "admit", "target": guest.peer_id}) == {
        "ok": True}
    admitted = await guest.next("admitted")
    assert admitted["status"] == "joined"
    assert [p["peer_id"] for p in admitted["peers"]] == [chair.peer_id]
    assert (await chair.next("peer-joined"))["peer_id"] == guest.peer_id


async def test_a_guest_grant_is_bound_to_its_room(call_server: CallServer) -> None:
    await call_server.participant("chair", room="room-b", moderate=True)
    guest = await call_server.participant("unused", room="room-b", join=False)
    ack = await guest.join(token=guest_token("room-a", link_expires=int(time.time()) + 3600))
    # It waits in room-a, which it was invited to: room-b's moderator never hears of it.
    assert ack["status"] == "waiting"
    await call_server.participants[0].nothing("waiting")


async def test_a_guest_grant_never_outlives_its_link(call_server: CallServer) -> None:
    now = time.time()
    grant = issue_guest_grant(guest_id="g", name="G", room="room-a", room_kind="lecture",
                              now=now, link_expires=int(now) + 10, link_id="l")
    assert grant.exp <= int(now) + 10
    with pytest.raises(ValueError):
        issue_guest_grant(guest_id="g", name="G", room="room-a", room_kind="lecture", now=now,
                          link_expires=int(now), link_id="l")
    # A token issued near the link's end expires with it.
    guest = await call_server.participant("unused", join=False)
    token = guest_token("room-a", link_expires=int(now), now=now - 5)
    ack = await guest.join(token=token)
    assert ack["ok"] is False and ack["error"]["code"] == "token_expired"


async def admitted_guest(call_server: CallServer, chair: Participant, **token: Any) -> Participant:
    guest = await call_server.participant("unused", join=False)
    ack = await guest.join(token=guest_token("room-a", link_expires=int(time.time()) + 3600,
                                             **token))
    assert ack["status"] == "waiting", ack
    await chair.next("waiting")
    assert (await chair.call("moderate", {"action": "admit", "target": guest.peer_id}))["ok"]
    await guest.next("admitted")
    assert (await chair.next("peer-joined"))["peer_id"] == guest.peer_id
    return guest


async def test_a_removed_guest_cannot_come_back_with_the_same_link(
    call_server: CallServer,
) -> None:
    chair = await call_server.participant("chair", moderate=True)
    guest = await admitted_guest(call_server, chair)
    assert (await chair.call("moderate", {"action": "remove", "target": guest.peer_id}))["ok"]
    await chair.next("peer-left")
    # A new name on the same link is a new guest id, and a fresh token: still the same link.
    again = await call_server.participant("unused", join=False)
    ack = await again.join(token=guest_token("room-a", link_expires=int(time.time()) + 3600,
                                             guest_id="another"))
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack
    # Another link for the same room still works.
    other = await call_server.participant("unused", join=False)
    ack = await other.join(token=guest_token("room-a", link_expires=int(time.time()) + 3600,
                                             guest_id="third", link_id="link-2"))
    assert ack["status"] == "waiting", ack


async def test_a_revoked_link_removes_its_guest_and_lets_nobody_in(
    call_server: CallServer,
) -> None:
    chair = await call_server.participant("chair", moderate=True)
    guest = await admitted_guest(call_server, chair)
    await call_server.namespace.revoke_guest_link("room-a", "link-1", until=time.time() + 3600)
    assert (await chair.next("peer-left")) == {"peer_id": guest.peer_id, "reason": "removed"}
    assert (await guest.next("moderated"))["action"] == "remove"
    ack = await (await call_server.participant("unused", join=False)).join(
        token=guest_token("room-a", link_expires=int(time.time()) + 3600, guest_id="new"))
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack


async def test_a_link_revoked_before_the_call_stays_revoked(call_server: CallServer) -> None:
    # Nobody is in the room yet: the revocation outlives calls, until the link's expiry.
    await call_server.namespace.revoke_guest_link("room-a", "link-1", until=time.time() + 3600)
    await call_server.participant("chair", moderate=True)
    ack = await (await call_server.participant("unused", join=False)).join(
        token=guest_token("room-a", link_expires=int(time.time()) + 3600))
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack
