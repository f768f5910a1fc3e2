"""Media-node registrations are signed with the media secret: web processes send that secret to
the URL a registration names, so a registration that someone with access to Redis wrote (a guest
relaying through TURN, say) must never be believed."""

from __future__ import annotations

import json

import pytest

from media.node import NodeLoad
from media.registration import (
    CLOCK_SKEW,
    MAX_AGE,
    registration_json,
    sign_registration,
    verify_registration,
)

SECRET = "media-secret-for-registration-tests-0123"
NOW = 1_700_000_000.0
LOAD = NodeLoad(rooms=2, publishers=3, subscribers=4, forwarded_streams=5)


def signed(url: str = "http://10.0.0.5:8081", node_id: str = "n1", secret: str = SECRET,
           now: float = NOW) -> str:
    return registration_json(url, LOAD, node_id=node_id, secret=secret, now=now)


def test_a_node_signed_registration_is_read_back_with_its_load() -> None:
    data = verify_registration(signed(), node_id="n1", secret=SECRET, now=NOW + 2)
    assert data["url"] == "http://10.0.0.5:8081"
    assert (data["rooms"], data["publishers"], data["subscribers"],
            data["forwarded_streams"]) == (2, 3, 4, 5)


def test_an_unsigned_registration_is_refused() -> None:
    raw = json.dumps({"url": "http://attacker:8081", "rooms": 0})
    with pytest.raises(ValueError, match="unsigned"):
        verify_registration(raw, node_id="n1", secret=SECRET, now=NOW)
    forged_time = json.dumps({"url": "http://attacker:8081", "at": int(NOW), "sig": 5})
    with pytest.raises(ValueError, match="unsigned"):
        verify_registration(forged_time, node_id="n1", secret=SECRET, now=NOW)


def test_a_registration_signed_with_another_key_is_refused() -> None:
    with pytest.raises(ValueError, match="signature"):
        verify_registration(signed(secret="x" * 40), node_id="n1", secret=SECRET, now=NOW)


def test_a_signature_holds_only_for_its_url_and_node_id() -> None:
    data = json.loads(signed())
    with pytest.raises(ValueError, match="signature"):
        verify_registration(json.dumps({**data, "url": "http://attacker:8081"}),
                            node_id="n1", secret=SECRET, now=NOW)
    with pytest.raises(ValueError, match="signature"):  # copied under another node's key
        verify_registration(signed(), node_id="n2", secret=SECRET, now=NOW)
    with pytest.raises(ValueError, match="signature"):  # re-dated
        verify_registration(json.dumps({**data, "at": data["at"] + 100}),
                            node_id="n1", secret=SECRET, now=NOW + 100)


def test_a_stale_or_future_registration_is_refused() -> None:
    verify_registration(signed(), node_id="n1", secret=SECRET, now=NOW + MAX_AGE + CLOCK_SKEW)
    with pytest.raises(ValueError, match="stale"):
        verify_registration(signed(), node_id="n1", secret=SECRET,
                            now=NOW + MAX_AGE + CLOCK_SKEW + 1)
    with pytest.raises(ValueError, match="stale"):
        verify_registration(signed(now=NOW + CLOCK_SKEW + 1), node_id="n1", secret=SECRET,
                            now=NOW)


def test_the_signature_is_an_hmac_of_id_url_and_time_with_the_secret() -> None:
    data = json.loads(signed())
    assert data["at"] == int(NOW)
    assert data["sig"] == sign_registration(SECRET, "n1", "http://10.0.0.5:8081", int(NOW))
    assert sign_registration(SECRET, "n1", "http://10.0.0.5:8081", int(NOW)) != \
        sign_registration(SECRET, "n1", "http://10.0.0.5:8082", int(NOW))
