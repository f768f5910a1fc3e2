"""Content-addressed files under a storage root: `<root>/sha256/ab/cd/abcd…` by SHA-256.

An upload is streamed into a temporary file under `<root>/tmp/`, hashed and sniffed as it goes
(`casebook.filetypes`), and renamed into place only when complete and acceptable. A refused or
interrupted upload leaves nothing behind; identical files are stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from casebook.errors import CasebookError
from casebook.filetypes import HEAD_BYTES, TAIL_BYTES, sniff
from casebook.models import AttachmentKind


class FileTooLarge(CasebookError):
    """The upload exceeds the size limit (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__("too_large", f"files may be at most {limit // (1024 * 1024)} MiB")


class UnsupportedFileType(CasebookError):
    """The content is not one of the accepted kinds (HTTP 415)."""

    def __init__(self) -> None:
        super().__init__("unsupported_type", "only PDF, JPEG, PNG and DICOM files are accepted")


@dataclass(frozen=True)
class StoredFile:
    """A file now in the store."""

    sha256: str
    size: int
    kind: AttachmentKind


class FileStore:
    """Content-addressed files under `root`."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    @property
    def temp_dir(self) -> Path:
        """Where uploads in progress live (same filesystem as the store, so renames are atomic)."""
        return self.root / "tmp"

    def path_of(self, sha256: str) -> Path:
        """Where the file with this digest is stored."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    async def receive(self, chunks: AsyncIterator[bytes]) -> StoredFile:
        """Store the streamed file; raises FileTooLarge / UnsupportedFileType leaving nothing."""
        fd, temp = await asyncio.to_thread(self._temporary)
        try:
            with os.fdopen(fd, "wb") as out:
                stored = await self._copy(chunks, out)
            final = self.path_of(stored.sha256)
            await asyncio.to_thread(_place, temp, final)
            return stored
        finally:
            # Not in a thread: this must run even when the request is cancelled mid-upload.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def _temporary(self) -> tuple[int, Path]:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.temp_dir, prefix="upload-")
        return fd, Path(name)

    async def _copy(self, chunks: AsyncIterator[bytes], out: IO[bytes]) -> StoredFile:
        digest = hashlib.sha256()
        head = b""
        tail = b""
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > self.max_bytes:
                raise FileTooLarge(self.max_bytes)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            tail = (tail + chunk)[-TAIL_BYTES:]
            digest.update(chunk)
            await asyncio.to_thread(out.write, chunk)
        kind = sniff(head, tail, size)
        if kind is None:
            raise UnsupportedFileType()
        return StoredFile(digest.hexdigest(), size, kind)

    def open(self, sha256: str) -> Path:
        """The path of a stored file (FileNotFoundError if the store lost it)."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise FileNotFoundError(sha256)
        return path


def _place(temp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        return  # the same content is stored already; the temporary copy is dropped
    os.replace(temp, final)
