"""The pieces of a backup without a database: values to JSON and back, the manifest check, and
the encrypted stream (cut, altered or opened with another key, it refuses)."""

from __future__ import annotations

import io
import json
import secrets
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, LargeBinary, Numeric
from sqlalchemy.dialects import postgresql

from casebook.backup import crypto, values
from casebook.backup.errors import BackupError
from casebook.backup.manifest import Entry, Manifest, problems

MEXICO = timezone(timedelta(hours=-6))


@pytest.mark.parametrize(
    ("value", "column_type", "expected"),
    [
        (datetime(2026, 3, 1, 6, 30, 0, 123456, tzinfo=MEXICO), DateTime(timezone=True),
         datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        # SQLite hands timestamps back without a zone; the casebook stores UTC.
        (datetime(2026, 3, 1, 12, 30), DateTime(), datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        (b"\x00\xff binary \x80", LargeBinary(), b"\x00\xff binary \x80"),
        (2**62 + 1, BigInteger(), 2**62 + 1),
        (0.1 + 0.2, Float(), 0.1 + 0.2),
        (Decimal("12345678901234567890.123"), Numeric(), Decimal("12345678901234567890.123")),
        ({"a": [1, "2026-03-01", None], "b": 2**60}, JSON(), {"a": [1, "2026-03-01", None],
                                                             "b": 2**60}),
        (True, Boolean(), True),
        (date(2026, 3, 1), Date(), date(2026, 3, 1)),
        (None, DateTime(), None),
    ],
)
def test_every_value_comes_back_exactly_through_json(
    value: object, column_type: object, expected: object
) -> None:
    written = json.loads(json.dumps(values.encode(value)))
    assert values.decode(written, column_type, "sqlite") == expected  # type: ignore[arg-type]


def test_postgresql_timestamps_without_a_zone_get_naive_utc() -> None:
    written = values.encode(datetime(2026, 3, 1, 6, 30, tzinfo=MEXICO))
    naive = values.decode(written, postgresql.TIMESTAMP(timezone=False), "postgresql")
    assert naive == datetime(2026, 3, 1, 12, 30)


def test_the_manifest_check_names_missing_changed_and_extra_files() -> None:
    manifest = Manifest("2026-03-01T00:00:00+00:00", "0010", "sqlite", True, {"cases": 2},
                        (Entry("a", "1" * 64, 3), Entry("b", "2" * 64, 4)))
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert problems(manifest, {"a": ("1" * 64, 3), "b": ("2" * 64, 4)}) == []
    assert problems(manifest, {"a": ("1" * 64, 2), "c": ("3" * 64, 1)}) == [
        "a does not match its SHA-256 in the manifest",
        "b is missing from the archive",
        "c is in the archive but not in its manifest",
    ]
    with pytest.raises(BackupError, match="damaged"):
        Manifest.from_json(manifest.to_json()[:-10])


def _encrypt(plain: bytes, key: bytes, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(out, key)
    step = max(1, len(plain) // pieces)
    for start in range(0, len(plain), step):
        writer.write(plain[start:start + step])
    writer.close()
    return out.getvalue()


def _decrypt(sealed: bytes, key: bytes) -> bytes:
    reader = crypto.DecryptingReader(io.BytesIO(sealed), key)
    parts = []
    while part := reader.read(10_000):
        parts.append(part)
    return b"".join(parts)


@pytest.mark.parametrize("size", [0, 1, crypto.CHUNK, crypto.CHUNK + 1, 3 * crypto.CHUNK + 5])
def test_the_encrypted_stream_gives_back_what_went_in(size: int) -> None:
    key = secrets.token_bytes(32)
    plain = secrets.token_bytes(size)
    sealed = _encrypt(plain, key)
    assert plain not in sealed or size < 16
    assert _decrypt(sealed, key) == plain


def test_a_cut_altered_or_foreign_key_stream_is_refused() -> None:
    key = secrets.token_bytes(32)
    sealed = _encrypt(secrets.token_bytes(3 * crypto.CHUNK), key)
    header = len(crypto.MAGIC) + crypto.SALT_BYTES
    at_a_chunk_boundary = sealed[: header + 2 * (crypto.CHUNK + crypto.TAG)]
    flipped = bytearray(sealed)
    flipped[header + 100] ^= 1
    for damaged, wrong_key in ((at_a_chunk_boundary, key), (sealed[:-1], key),
                               (bytes(flipped), key), (sealed, secrets.token_bytes(32))):
        with pytest.raises(BackupError, match="does not open with this key, or it was altered"):
            _decrypt(damaged, wrong_key)
