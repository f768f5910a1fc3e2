"""Guest lecturers at the signaling edge: their grant waits in the waiting room until a moderator
admits them, is bound to one room, and does not outlive the invite link."""

from __future__ import annotations

import time

import pytest

from signaling.grants import sign_grant
from signaling.guests import issue_guest_grant

from .conftest import SECRET, CallServer


def guest_token(room: str, *, link_expires: int, now: float | None = None) -> str:
    grant = issue_guest_grant(
        guest_id="0f3a9c", name="Dr. Invitado Externo", room=room, room_kind="consultation",
        now=time.time() if now is None else now, link_expires=link_expires,
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
                              now=now, link_expires=int(now) + 10)
    assert grant.exp <= int(now) + 10
    with pytest.raises(ValueError):
        issue_guest_grant(guest_id="g", name="G", room="room-a", room_kind="lecture", now=now,
                          link_expires=int(now))
    # A token issued near the link's end expires with it.
    guest = await call_server.participant("unused", join=False)
    token = guest_token("room-a", link_expires=int(now), now=now - 5)
    ack = await guest.join(token=token)
    assert ack["ok"] is False and ack["error"]["code"] == "token_expired"
