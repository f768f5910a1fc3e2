"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), with HMAC-SHA1, 6 digits, 30 s.

Pure functions: the clock is a parameter. These are the parameters every authenticator app
(Google Authenticator, FreeOTP, Aegis, 1Password…) uses by default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
# Codes of the previous and next step are accepted too: phone clocks drift, people type slowly.
WINDOW = 1


def new_secret() -> str:
    """A new random secret: 160 bits (RFC 4226's recommendation), base32 without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def key_bytes(secret: str) -> bytes:
    """The HMAC key a base32 secret stands for."""
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226: the one-time password of `counter` under `key`."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_at(unix_time: float) -> int:
    """The RFC 6238 time step of a moment."""
    return int(unix_time // STEP_SECONDS)


def code_at(secret: str, unix_time: float) -> str:
    """The code an authenticator app shows at `unix_time`."""
    return hotp(key_bytes(secret), step_at(unix_time))


def matching_step(secret: str, code: str, unix_time: float, *, after: int = 0) -> int | None:
    """The time step (within ±WINDOW of now, later than `after`) whose code is `code`, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = key_bytes(secret)
    now = step_at(unix_time)
    for step in range(now - WINDOW, now + WINDOW + 1):
        if step > after and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str = "Junta") -> str:
    """The otpauth:// URI authenticator apps read (from a QR code) to add the account."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
         "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
