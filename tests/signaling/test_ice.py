"""ICE servers: STUN as configured, TURN with coturn's TURN REST API (use-auth-secret) scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac

from signaling.ice import IceConfig, ice_servers, turn_credentials


def test_turn_credentials_match_a_vector_computed_with_openssl() -> None:
    # printf '%s' '1700021600:alice' | openssl dgst -sha1 -hmac 'north-secret' -binary | base64
    assert turn_credentials("north-secret", "alice", 1700021600) == (
        "1700021600:alice", "oiCBT5mB2/et2pJNwyOIOe5b/PU="
    )


def test_turn_entry_follows_the_rest_api_format() -> None:
    config = IceConfig(stun_urls=("stun:stun.example.org:3478",),
                       turn_urls=("turn:turn.example.org:3478?transport=udp",
                                  "turns:turn.example.org:5349"),
                       turn_secret="s3cret", turn_ttl=3600)
    stun, turn = ice_servers(config, "u-9", now=1_700_000_000.9)
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    assert turn["urls"] == list(config.turn_urls)
    expiry, user = turn["username"].split(":", 1)
    assert (int(expiry), user) == (1_700_003_600, "u-9")
    expected = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected


def test_no_turn_without_a_secret_and_no_stun_without_urls() -> None:
    assert ice_servers(IceConfig(turn_urls=("turn:t",)), "u", 0) == []
    only_turn = ice_servers(IceConfig(turn_urls=("turn:t",), turn_secret="k"), "u", 0)
    assert [s["urls"] for s in only_turn] == [["turn:t"]]
    assert ice_servers(IceConfig(stun_urls=("stun:s",)), "u", 0) == [{"urls": ["stun:s"]}]
