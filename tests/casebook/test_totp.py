"""TOTP against the RFC test vectors, and what the verifier accepts."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

from casebook import totp

# RFC 6238 appendix B (SHA-1 key "12345678901234567890"), 8 digits.
RFC_KEY = b"12345678901234567890"
RFC_VECTORS = {
    59: "94287082",
    1111111109: "07081804",
    1111111111: "14050471",
    1234567890: "89005924",
    2000000000: "69279037",
    20000000000: "65353130",
}
# RFC 4226 appendix D: HOTP values for counters 0..9, 6 digits.
RFC4226 = ["755224", "287082", "359152", "969429", "338314",
           "254676", "287922", "162583", "399871", "520489"]


def test_hotp_matches_rfc_4226() -> None:
    assert [totp.hotp(RFC_KEY, c) for c in range(10)] == RFC4226


def test_totp_matches_rfc_6238() -> None:
    for unix_time, code in RFC_VECTORS.items():
        assert totp.hotp(RFC_KEY, totp.step_at(unix_time), digits=8) == code


def test_codes_of_neighbouring_steps_are_accepted_once_each() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000.0
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        code = totp.hotp(totp.key_bytes(secret), step + offset)
        assert totp.matching_step(secret, code, now) == step + offset
        # Replay: a step at or before the last accepted one is refused.
        assert totp.matching_step(secret, code, now, after=step + offset) is None
    far = totp.hotp(totp.key_bytes(secret), step + 2)
    assert totp.matching_step(secret, far, now) is None


def test_malformed_codes_are_refused() -> None:
    secret = totp.new_secret()
    for code in ("", "12345", "1234567", "abcdef", "12 34 5x"):
        assert totp.matching_step(secret, code, 1_700_000_000.0) is None


def test_provisioning_uri_carries_the_secret_and_issuer() -> None:
    secret = base64.b32encode(RFC_KEY).decode()
    uri = totp.provisioning_uri(secret, "dra.ramirez@junta.example")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert parsed.path == "/Junta:dra.ramirez@junta.example"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret] and query["issuer"] == ["Junta"]
    assert query["digits"] == ["6"] and query["period"] == ["30"]
    assert totp.code_at(secret, 59) == "287082"
