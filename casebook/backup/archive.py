"""The backup as one tar stream (POSIX pax), written and read member by member with every
member hashed on the way, so neither side ever holds a file in memory or reads it twice."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from casebook.backup.errors import BackupError
from casebook.backup.manifest import Entry

CHUNK = 1024 * 1024


class HashingReader:
    """A stream that hashes what is read through it (for tarfile, gzip)."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class ArchiveWriter:
    """Members appended to a tar stream on `out`; each one's `Entry` is returned."""

    def __init__(self, out: IO[bytes]) -> None:
        # Closed by `close`, which the writer calls once the manifest is in.
        self._tar = tarfile.open(  # noqa: SIM115
            fileobj=out, mode="w|", format=tarfile.PAX_FORMAT
        )

    def add_file(self, path: str, source: Path) -> Entry:
        """Copy the file at `source` in as `path`."""
        with source.open("rb") as f:
            size = source.stat().st_size
            reader = HashingReader(f)
            self._tar.addfile(_info(path, size), reader)
        if reader.size != size:
            raise BackupError(f"{source} changed size while it was copied")
        return Entry(path, reader.digest.hexdigest(), size)

    def add_bytes(self, path: str, data: bytes) -> Entry:
        """Add `data` as `path`."""
        self._tar.addfile(_info(path, len(data)), io.BytesIO(data))
        return Entry(path, hashlib.sha256(data).hexdigest(), len(data))

    def close(self) -> None:
        """End the tar stream (the file object underneath stays open)."""
        self._tar.close()


def _info(path: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    return info


def members(source: IO[bytes]) -> Iterator[tuple[str, IO[bytes]]]:
    """Each member's path and a stream of its bytes, in archive order (read before the next)."""
    try:
        with tarfile.open(fileobj=source, mode="r|") as tar:
            for info in tar:
                path = _checked_path(info)
                stream = tar.extractfile(info)
                assert stream is not None  # a regular file, checked above
                yield path, _Guarded(stream)  # type: ignore[misc]
    except _DAMAGE as error:
        raise _damaged(error) from None


_DAMAGE = (tarfile.TarError, EOFError, OSError)


def _damaged(error: BaseException) -> BackupError:
    return BackupError(
        f"the backup is damaged or cut short ({type(error).__name__}: {error})", "backup_damaged"
    )


class _Guarded:
    """A member's stream whose read errors (the archive ends mid-member) say what happened."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except _DAMAGE as error:
            raise _damaged(error) from None


def _checked_path(info: tarfile.TarInfo) -> str:
    path = PurePosixPath(info.name)
    if not info.isfile() or path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"the backup holds an unexpected member {info.name!r}", "backup_damaged")
    return str(path)


def copy_hashed(
    stream: IO[bytes] | HashingReader, sink: Callable[[bytes], object] | None = None
) -> tuple[str, int]:
    """Read `stream` to its end, handing each chunk to `sink`; its SHA-256 and size."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink(chunk)
    return digest.hexdigest(), size
