"""Backups encrypted at rest under a key the operator holds: AES-256-GCM from `cryptography`
in the STREAM construction (the one `age` uses for its payload), so an archive of any size is
encrypted and checked as it streams.

Layout: `MAGIC ‖ salt (16 bytes)`, then chunks of 64 KiB of plaintext, each sealed with the
key HKDF-SHA256(operator key, salt) under the nonce `counter (11 bytes) ‖ last (1 byte)` and
the header as associated data. Reordered, altered, dropped or cut-off chunks (a cut at a chunk
boundary included, as the chunk before it was not sealed as the last) fail to open.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casebook.backup.errors import BackupError

MAGIC = b"JUNTA-BACKUP-AES256GCM-STREAM-1\n"
KEY_BYTES = 32
SALT_BYTES = 16
CHUNK = 64 * 1024
TAG = 16
_INFO = b"junta backup payload v1"


def new_key_file(path: Path) -> None:
    """Write a new random key to `path` (mode 0600); refuses to replace an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} exists already; a key file is never overwritten") from None
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")


def read_key(path: Path) -> bytes:
    """The key in the key file at `path`."""
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except FileNotFoundError:
        raise BackupError(f"the key file {path} does not exist") from None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise BackupError(f"{path} is not a backup key file (made by `junta backup --new-key`)")
    return key


def is_encrypted(path: Path) -> bool:
    """True when the file at `path` starts like an encrypted backup."""
    with path.open("rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _aead(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(key)
    return AESGCM(derived)


class EncryptingWriter:
    """A binary sink that writes what it is given to `out`, encrypted; `close` seals the end."""

    def __init__(self, out: IO[bytes], key: bytes) -> None:
        salt = secrets.token_bytes(SALT_BYTES)
        self._header = MAGIC + salt
        self._aead = _aead(key, salt)
        self._out = out
        self._buffer = bytearray()
        self._counter = 0
        out.write(self._header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        # A full chunk is sealed only once more follows: the last chunk carries the end flag.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, plain: bytes, *, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._counter, last), plain, self._header))
        self._counter += 1


class DecryptingReader:
    """A binary source of the plaintext of an encrypted backup read from `source`."""

    def __init__(self, source: IO[bytes], key: bytes) -> None:
        header = source.read(len(MAGIC) + SALT_BYTES)
        if len(header) != len(MAGIC) + SALT_BYTES or not header.startswith(MAGIC):
            raise BackupError("the file is not an encrypted Junta backup", "backup_damaged")
        self._header = header
        self._aead = _aead(key, header[len(MAGIC):])
        self._source = source
        self._ahead: bytes | None = None
        self._counter = 0
        self._done = False
        self._plain = bytearray()

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._plain) < size):
            self._plain += self._open_next()
        if size < 0:
            size = len(self._plain)
        data = bytes(self._plain[:size])
        del self._plain[:size]
        return data

    def _open_next(self) -> bytes:
        block = self._ahead if self._ahead is not None else self._read_block()
        self._ahead = self._read_block()
        last = not self._ahead
        try:
            plain = self._aead.decrypt(_nonce(self._counter, last), block, self._header)
        except InvalidTag:
            raise BackupError(
                "the backup does not open with this key, or it was altered or cut short",
                "backup_damaged",
            ) from None
        self._counter += 1
        self._done = last
        return plain

    def _read_block(self) -> bytes:
        wanted = CHUNK + TAG
        parts = []
        while wanted:
            part = self._source.read(wanted)
            if not part:
                break
            parts.append(part)
            wanted -= len(part)
        return b"".join(parts)
