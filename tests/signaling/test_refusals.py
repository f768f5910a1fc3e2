"""Every malformed or disallowed event gets its error ack, and the room carries on unaffected."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from signaling.protocol import MAX_PAYLOAD_BYTES, PROTOCOL_VERSION

from .conftest import CANDIDATE, OFFER_SDP, CallServer, Participant, assert_relays, make_token


async def pair(call_server: CallServer) -> tuple[Participant, Participant]:
    alice = await call_server.participant("alice")
    bob = await call_server.participant("bob")
    assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id
    return alice, bob


def code(ack: dict[str, Any]) -> str:
    assert ack["ok"] is False and set(ack) == {"ok", "error"}
    assert isinstance(ack["error"]["message"], str)
    return str(ack["error"]["code"])


async def test_unknown_event_is_refused(call_server: CallServer) -> None:
    alice, bob = await pair(call_server)
    assert code(await alice.call("teleport", {"to": bob.peer_id})) == "unknown_event"
    # Socket.io's own event names are not client events.
    assert code(await alice.call("disconnect", {})) == "unknown_event"
    assert code(await alice.call("connect", {})) == "unknown_event"
    await assert_relays(alice, bob)


async def test_payload_over_64_kib_is_refused(call_server: CallServer) -> None:
    alice, bob = await pair(call_server)
    huge = {"to": bob.peer_id, "description": {"type": "offer", "sdp": "v=0\r\n" + "a" * 70000}}
    assert code(await alice.call("signal", huge)) == "payload_too_large"
    assert code(await alice.call("chat", {"text": "x" * (MAX_PAYLOAD_BYTES + 1)})) == (
        "payload_too_large"
    )
    await bob.nothing("signal")
    await assert_relays(alice, bob)


@pytest.mark.parametrize("sdp", ["", "hello", "v=0\r\ns=-\r\n", "v=1\r\nm=audio 9 RTP 0\r\n",
                                 "v=0\r\nnot a line\r\nm=audio 9 RTP 0\r\n"])
async def test_offer_with_bad_sdp_is_refused(call_server: CallServer, sdp: str) -> None:
    alice, bob = await pair(call_server)
    ack = await alice.call("signal", {"to": bob.peer_id, "description": {"type": "offer",
                                                                         "sdp": sdp}})
    assert code(ack) == "invalid_sdp"
    await bob.nothing("signal", wait=0.05)
    await assert_relays(alice, bob)


async def test_signal_to_peer_not_in_the_room_is_refused(call_server: CallServer) -> None:
    alice, bob = await pair(call_server)
    stranger = "00000000-0000-4000-8000-000000000000"
    assert code(await alice.call("signal", {"to": stranger, "candidate": CANDIDATE})) == (
        "peer_not_found"
    )
    await assert_relays(alice, bob)


@pytest.mark.parametrize(
    ("event", "payload"),
    [("signal", {"to": "00000000-0000-4000-8000-000000000000", "candidate": None}),
     ("state", {"audio": False}), ("chat", {"text": "hola"}),
     ("moderate", {"action": "mute", "target": "00000000-0000-4000-8000-000000000000"}),
     ("leave", {})],
)
async def test_events_before_join_are_refused(
    call_server: CallServer, event: str, payload: dict[str, Any]
) -> None:
    alice, bob = await pair(call_server)
    early = await call_server.participant("early", join=False)
    assert code(await early.call(event, payload)) == "not_joined"
    await alice.nothing("chat", wait=0.05)
    await assert_relays(alice, bob)


@pytest.mark.parametrize(
    ("payload", "why"),
    [(None, "missing"), ([], "not an object"), ({"to": "x", "candidate": None}, "bad peer id"),
     ({"to": "00000000-0000-4000-8000-000000000000"}, "neither description nor candidate"),
     ({"to": "00000000-0000-4000-8000-000000000000", "candidate": None,
       "description": {"type": "offer", "sdp": OFFER_SDP}}, "both"),
     ({"to": "00000000-0000-4000-8000-000000000000", "description": {"type": "pranswer",
                                                                       "sdp": OFFER_SDP}},
      "unknown description type"),
     ({"to": "00000000-0000-4000-8000-000000000000", "candidate": {"candidate": 1}},
      "candidate not a string"),
     ({"to": "00000000-0000-4000-8000-000000000000", "candidate": None, "extra": 1}, "extra key")],
)
async def test_malformed_signal_is_refused(
    call_server: CallServer, payload: Any, why: str
) -> None:
    alice, bob = await pair(call_server)
    assert code(await alice.call("signal", payload)) == "invalid_payload", why
    await assert_relays(alice, bob)


async def test_malformed_join_and_state_and_chat_are_refused(call_server: CallServer) -> None:
    alice, bob = await pair(call_server)
    assert code(await alice.call("state", {"audio": "yes"})) == "invalid_payload"
    assert code(await alice.call("state", {"screen_stream": "s" * 65})) == "invalid_payload"
    assert code(await alice.call("chat", {"text": "   "})) == "invalid_payload"
    assert code(await alice.call("chat", {"text": "x" * 2001})) == "invalid_payload"
    assert code(await alice.call("leave", {"now": True})) == "invalid_payload"
    newcomer = await call_server.participant("carol", join=False)
    assert code(await newcomer.call("join", {"token": newcomer.token()})) == "invalid_payload"
    await assert_relays(alice, bob)


@pytest.mark.parametrize("mangle", ["garbage", "tamper_payload", "tamper_signature",
                                    "wrong_secret", "expired", "too_long_lived"])
async def test_bad_join_token_is_refused(call_server: CallServer, mangle: str) -> None:
    alice, bob = await pair(call_server)
    carol = await call_server.participant("carol", join=False)
    token = carol.token()
    body, signature = token.split(".")
    expected = "token_invalid"
    if mangle == "garbage":
        token = "not-a-token"
    elif mangle == "tamper_payload":
        token = f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"
    elif mangle == "tamper_signature":
        token = f"{body}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    elif mangle == "wrong_secret":
        from signaling.grants import issue_grant, sign_grant

        grant = issue_grant(user_id="carol", name="c", room="room-a", role="r", now=time.time())
        token = sign_grant(grant, b"another-secret-of-enough-length")
    elif mangle == "expired":
        token = make_token("carol", "room-a", now=time.time() - 301)
        expected = "token_expired"
    elif mangle == "too_long_lived":
        token = make_token("carol", "room-a", now=time.time() + 3600)
    ack = await carol.call("join", {"token": token, "peer_id": carol.peer_id,
                                    "protocol": PROTOCOL_VERSION})
    assert code(ack) == expected
    await alice.nothing("peer-joined", wait=0.05)
    await assert_relays(alice, bob)


async def test_other_protocol_version_is_refused(call_server: CallServer) -> None:
    await pair(call_server)
    carol = await call_server.participant("carol", join=False)
    assert code(await carol.join(protocol=PROTOCOL_VERSION + 1)) == "protocol_mismatch"
    assert (await carol.join())["ok"]


async def test_second_join_on_a_socket_is_refused(call_server: CallServer) -> None:
    alice, bob = await pair(call_server)
    assert code(await alice.join()) == "already_joined"
    await assert_relays(alice, bob)


async def test_peer_id_of_another_users_peer_is_taken(call_server: CallServer) -> None:
    alice, bob = await pair(call_server)
    mallory = await call_server.participant("mallory", join=False)
    mallory.peer_id = alice.peer_id
    assert code(await mallory.join()) == "peer_id_taken"
    await bob.nothing("peer-left", wait=0.05)
    await assert_relays(alice, bob)


async def test_more_than_five_chats_a_second_are_rate_limited(call_server: CallServer) -> None:
    alice, bob = await pair(call_server)
    acks = await asyncio.gather(*(alice.call("chat", {"text": f"m{i}"}) for i in range(8)))
    assert [a["ok"] for a in acks[:5]] == [True] * 5
    assert code(acks[7]) == "rate_limited"
    await assert_relays(alice, bob)


async def test_more_than_fifty_events_a_second_are_rate_limited(call_server: CallServer) -> None:
    alice, _ = await pair(call_server)
    acks = await asyncio.gather(*(alice.call("state", {"hand": i % 2 == 0}) for i in range(80)))
    assert all(a["ok"] for a in acks[:49])
    assert code(acks[-1]) == "rate_limited"
    await asyncio.sleep(0.2)  # the bucket refills at 50 a second
    assert (await alice.call("state", {"hand": False}))["ok"]


async def test_unexpected_error_is_internal_with_a_reference_and_no_payload_in_logs(
    call_server: CallServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await pair(call_server)

    async def broken(room: str, message: Any) -> None:
        raise RuntimeError(f"storage refused {message.text}")

    monkeypatch.setattr(call_server.namespace.state, "add_chat", broken)
    with caplog.at_level(logging.INFO, logger="junta.signaling"):
        ack = await alice.call("chat", {"text": "paciente Juan Pérez, 7 años"})
        await assert_relays(alice, bob)
    assert code(ack) == "internal"
    reference = ack["error"]["message"].rsplit(" ", 1)[-1]
    assert f"ref={reference}" in caplog.text
    assert "Juan" not in caplog.text and "v=0" not in caplog.text
