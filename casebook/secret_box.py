"""Secrets kept encrypted at rest (TOTP keys): AES-256-GCM under a key derived from the
server's secret key with HKDF-SHA256.

A sealed value reads `v1:<base64url(nonce ‖ ciphertext ‖ tag)>`; the version prefix names the
key derivation, so a later rotation can add `v2` and still open `v1` while re-sealing.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casebook.errors import CasebookError

VERSION = "v1"
_INFO = b"junta secret box v1: totp secrets"
_NONCE_BYTES = 12


class SecretBoxError(CasebookError):
    """A sealed value that does not open: tampered with, another key, or not sealed at all."""

    def __init__(self) -> None:
        super().__init__("secret_unreadable", "a stored secret does not open with this key")


def derive_key(secret_key: bytes) -> bytes:
    """The 256-bit AES key of `secret_key` (HKDF-SHA256, fixed label, no salt)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key)


def is_sealed(value: str) -> bool:
    """True when `value` has the form of a sealed secret (says nothing about the key)."""
    return value.startswith(VERSION + ":")


class SecretBox:
    """Seals and opens short text secrets with one server key."""

    def __init__(self, secret_key: bytes) -> None:
        if not secret_key:
            raise ValueError("the secret box needs a non-empty key")
        self._aead = AESGCM(derive_key(secret_key))

    def seal(self, plaintext: str) -> str:
        """`plaintext` encrypted and authenticated, with a fresh random nonce."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plaintext.encode(), VERSION.encode())
        return f"{VERSION}:{base64.urlsafe_b64encode(sealed).decode()}"

    def open(self, sealed: str) -> str:
        """The plaintext of a `seal` result; SecretBoxError when it does not open."""
        if not is_sealed(sealed):
            raise SecretBoxError()
        try:
            raw = base64.urlsafe_b64decode(sealed[len(VERSION) + 1 :].encode())
            nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            return self._aead.decrypt(nonce, body, VERSION.encode()).decode()
        except (InvalidTag, ValueError):
            raise SecretBoxError() from None
