"""What a backup archive holds, and the check of what was read from one against it (no I/O).

The manifest is the archive's last member: it is written once every other member's SHA-256 is
known, and a reader compares each member it hashed with it. A missing manifest means the
archive was cut short.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from casebook.backup.errors import BackupError

NAME = "manifest.json"
FORMAT = "junta-backup"
VERSION = 1
TABLES_DIR = "database/"
ATTACHMENTS_DIR = "attachments/"
RECORDINGS_DIR = "recordings/"


@dataclass(frozen=True)
class Entry:
    """One file of the archive: its path inside it, its SHA-256 and its size in bytes."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """A backup's table of contents."""

    created_at: str  # ISO 8601, UTC
    revision: str  # the Alembic revision of the dumped schema
    backend: str  # "sqlite" or "postgresql": where it came from
    recordings: bool  # False: database and attachments only
    tables: Mapping[str, int]  # rows per table, in the order they load
    files: tuple[Entry, ...] = field(default=())

    def to_json(self) -> bytes:
        """The manifest as the archive stores it."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": self.created_at,
            "revision": self.revision,
            "backend": self.backend,
            "recordings": self.recordings,
            "tables": [[name, rows] for name, rows in self.tables.items()],
            "files": [[e.path, e.sha256, e.size] for e in self.files],
        }
        return json.dumps(document, indent=1, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """The manifest in `raw`; BackupError if it is not one this code can read."""
        try:
            document: Any = json.loads(raw)
            if document.get("format") != FORMAT:
                raise BackupError("the archive is not a Junta backup (no Junta manifest)")
            if document.get("version") != VERSION:
                raise BackupError(
                    f"the backup's format version {document.get('version')!r} is not one this "
                    f"Junta reads ({VERSION})"
                )
            return cls(
                created_at=str(document["created_at"]),
                revision=str(document["revision"]),
                backend=str(document["backend"]),
                recordings=bool(document["recordings"]),
                tables={str(name): int(rows) for name, rows in document["tables"]},
                files=tuple(Entry(str(p), str(h), int(s)) for p, h, s in document["files"]),
            )
        except BackupError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError):
            raise BackupError("the backup's manifest is damaged (not readable JSON)") from None

    @property
    def total_bytes(self) -> int:
        """The size of every file the manifest lists."""
        return sum(e.size for e in self.files)


def problems(manifest: Manifest, seen: Mapping[str, tuple[str, int]]) -> list[str]:
    """What differs between the manifest and the members read (path → (SHA-256, size))."""
    found = []
    listed = {e.path: e for e in manifest.files}
    for path, entry in listed.items():
        if path not in seen:
            found.append(f"{path} is missing from the archive")
        elif seen[path] != (entry.sha256, entry.size):
            found.append(f"{path} does not match its SHA-256 in the manifest")
    found.extend(f"{path} is in the archive but not in its manifest"
                 for path in seen if path not in listed)
    return found


def table_member(table: str) -> str:
    """The archive path of a table's rows."""
    return f"{TABLES_DIR}{table}.jsonl.gz"
