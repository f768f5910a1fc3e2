"""Argon2id hashing."""

from __future__ import annotations

from casebook.passwords import PasswordPolicy, Passwords

CHEAP = Passwords(PasswordPolicy(time_cost=1, memory_kib=1024, parallelism=1))


def test_hash_verifies_only_its_password() -> None:
    hashed = CHEAP.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert CHEAP.verify(hashed, "correct horse")
    assert not CHEAP.verify(hashed, "Correct horse")


def test_malformed_hash_never_matches_and_needs_rehash() -> None:
    assert not CHEAP.verify("not-a-hash", "anything")
    assert CHEAP.needs_rehash("not-a-hash")


def test_default_policy_is_rfc9106_low_memory() -> None:
    hashed = Passwords().hash("x")
    assert "m=65536,t=3,p=4" in hashed
    assert CHEAP.needs_rehash(hashed)
