"""The secret box: what it seals opens again with the same key, and only with it, untouched."""

from __future__ import annotations

import base64

import pytest

from casebook.secret_box import SecretBox, SecretBoxError, is_sealed

KEY = b"k" * 40
SECRET = "JUNTADEMOJUNTADEMOJUNTADEMOJUNTA"


def test_a_sealed_secret_opens_to_itself_and_does_not_show_it() -> None:
    box = SecretBox(KEY)
    sealed = box.seal(SECRET)
    assert is_sealed(sealed) and SECRET not in sealed
    assert box.open(sealed) == SECRET
    # A fresh nonce each time: two seals of one secret differ.
    assert box.seal(SECRET) != sealed
    assert len(sealed) <= 128  # fits the column


def test_a_tampered_secret_is_refused() -> None:
    box = SecretBox(KEY)
    raw = bytearray(base64.urlsafe_b64decode(box.seal(SECRET)[3:]))
    raw[-1] ^= 1
    with pytest.raises(SecretBoxError):
        box.open("v1:" + base64.urlsafe_b64encode(bytes(raw)).decode())


def test_another_key_is_refused() -> None:
    sealed = SecretBox(KEY).seal(SECRET)
    with pytest.raises(SecretBoxError):
        SecretBox(b"another key, just as long as the first!!").open(sealed)


@pytest.mark.parametrize("value", [SECRET, "v1:", "v1:not base64!", "v2:" + "A" * 60])
def test_plaintext_and_garbage_are_refused(value: str) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox(KEY).open(value)
