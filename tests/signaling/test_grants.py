"""Join tokens: what they carry, and every way a bad one is told apart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from signaling.errors import SignalingError
from signaling.grants import JoinGrant, issue_grant, sign_grant, verify_grant

SECRET = b"grant-test-secret-0123456789abcd"
NOW = 1_800_000_000.0


def grant(**overrides: object) -> JoinGrant:
    fields: dict[str, object] = dict(user_id="u-1", name="Dra. Núñez", room="room-7",
                                     role="oncologist", now=NOW, moderate=True)
    fields.update(overrides)
    return issue_grant(**fields)  # type: ignore[arg-type]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(claims: dict[str, object], secret: bytes = SECRET) -> str:
    body = b64(json.dumps(claims).encode())
    return f"{body}.{b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def code_of(token: str, now: float = NOW) -> str:
    with pytest.raises(SignalingError) as raised:
        verify_grant(token, SECRET, now)
    return raised.value.code


def test_round_trip_keeps_every_field() -> None:
    g = grant(admission=True, publish=False, room_kind="board")
    assert verify_grant(sign_grant(g, SECRET), SECRET, NOW) == g
    assert g.room_kind == "board"
    assert g.exp == int(NOW) + 300 and g.may_signal


def test_token_matches_the_documented_format() -> None:
    token = sign_grant(grant(), SECRET)
    body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert claims == {"v": 1, "sub": "u-1", "name": "Dra. Núñez", "room": "room-7",
                      "role": "oncologist", "publish": True, "subscribe": True,
                      "moderate": True, "admission": False, "exp": int(NOW) + 300,
                      "kind": "consultation"}
    assert signature == b64(hmac.new(SECRET, body.encode(), hashlib.sha256).digest())
    assert "=" not in token


def test_a_token_forged_by_hand_to_the_format_is_accepted() -> None:
    claims = {"v": 1, "sub": "u-2", "name": "n", "room": "r", "role": "x", "publish": True,
              "subscribe": False, "moderate": False, "admission": True, "exp": int(NOW) + 60,
              "kind": "lecture"}
    forged = verify_grant(forge(claims), SECRET, NOW)
    assert forged.admission is True and forged.room_kind == "lecture"


def test_expired_token_is_refused() -> None:
    token = sign_grant(grant(), SECRET)
    assert verify_grant(token, SECRET, NOW + 299).user_id == "u-1"
    assert code_of(token, NOW + 300) == "token_expired"


def test_token_living_longer_than_five_minutes_is_refused() -> None:
    claims = {"v": 1, "sub": "u", "name": "n", "room": "r", "role": "x", "publish": True,
              "subscribe": True, "moderate": False, "admission": False, "exp": int(NOW) + 3600,
              "kind": "board"}
    assert code_of(forge(claims)) == "token_invalid"
    assert code_of(sign_grant(grant(now=NOW + 600), SECRET)) == "token_invalid"
    # A little clock skew between web and signaling is tolerated.
    assert verify_grant(sign_grant(grant(now=NOW + 20), SECRET), SECRET, NOW)


def test_tampered_payload_or_signature_is_refused() -> None:
    body, signature = sign_grant(grant(), SECRET).split(".")
    raised = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raised["moderate"] = True
    raised["room"] = "room-8"
    assert code_of(f"{b64(json.dumps(raised).encode())}.{signature}") == "token_invalid"
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert code_of(f"{body}.{flipped}") == "token_invalid"


def test_token_signed_with_another_secret_is_refused() -> None:
    assert code_of(sign_grant(grant(), b"some-other-secret-0123456789abcd")) == "token_invalid"


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "a.b.c", "a+b.c/d",
                                   "é.é", "A.AAAAA"])
def test_malformed_token_is_refused(token: str) -> None:
    assert code_of(token) == "token_invalid"


@pytest.mark.parametrize("claims", [
    {"v": 2, "sub": "u", "name": "n", "room": "r", "role": "x", "publish": True,
     "subscribe": True, "moderate": False, "admission": False, "exp": int(NOW) + 60,
     "kind": "board"},
    {"v": 1, "sub": "u", "name": "n", "room": "r", "role": "x", "publish": "yes",
     "subscribe": True, "moderate": False, "admission": False, "exp": int(NOW) + 60,
     "kind": "board"},
    {"v": 1, "sub": "u", "name": "n", "room": "r", "role": "x", "publish": True,
     "subscribe": True, "moderate": False, "admission": False, "exp": int(NOW) + 60,
     "kind": "board", "x": 1},
    {"v": 1, "sub": "u", "name": "n", "room": "r", "role": "x", "publish": True,
     "subscribe": True, "moderate": False, "admission": False, "exp": int(NOW) + 60,
     "kind": "seminar"},
    {"v": 1, "sub": "u", "name": "n", "room": "r", "role": "x", "publish": True,
     "subscribe": True, "moderate": False, "admission": False, "exp": int(NOW) + 60},
    {"v": 1, "sub": "u", "name": "n", "room": "r", "role": "x", "publish": True},
    ["not", "an", "object"],
])
def test_signed_but_malformed_claims_are_refused(claims: object) -> None:
    body = b64(json.dumps(claims).encode())
    token = f"{body}.{b64(hmac.new(SECRET, body.encode(), hashlib.sha256).digest())}"
    assert code_of(token) == "token_invalid"


def test_signed_garbage_that_is_not_json_is_refused() -> None:
    body = b64(b"\xff\xfe not json")
    token = f"{body}.{b64(hmac.new(SECRET, body.encode(), hashlib.sha256).digest())}"
    assert code_of(token) == "token_invalid"


def test_issue_refuses_lifetimes_over_five_minutes() -> None:
    with pytest.raises(ValueError):
        grant(ttl=301)
