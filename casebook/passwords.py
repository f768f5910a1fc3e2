"""Password hashing with Argon2id (argon2-cffi); hashes are upgraded when parameters change."""

from __future__ import annotations

from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class PasswordPolicy:
    """Argon2id cost parameters (defaults: RFC 9106's low-memory profile, argon2-cffi's own)."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


class Passwords:
    """Hashes and verifies passwords under one policy."""

    def __init__(self, policy: PasswordPolicy | None = None) -> None:
        policy = policy or PasswordPolicy()
        self._hasher = argon2.PasswordHasher(
            time_cost=policy.time_cost,
            memory_cost=policy.memory_kib,
            parallelism=policy.parallelism,
        )
        # Verified when the account does not exist, so a missing account costs the same time.
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        """A new salted hash of `password`."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches `password_hash`; malformed hashes never match."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        """Spend the time of one verification (for unknown accounts)."""
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when `password_hash` was made with other parameters than this policy's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
