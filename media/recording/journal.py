"""The recording's journal: JSON lines appended as the recording runs, read after a crash.

The journal says which files belong to which tracks before those files are complete, so a
recording cut short by a crash can still be put together (`recovery.py`). Each record is one
short line, written and flushed to the OS at once: a process killed mid-write loses at most
its last line, which `read_journal` skips.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TextIO

from media.errors import MediaError

JOURNAL_NAME = "journal.jsonl"

logger = logging.getLogger(__name__)


class Journal:
    """Appends records to a recording's journal."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL_NAME
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def append(self, record: dict[str, Any]) -> None:
        """Write one record (a few hundred bytes: cheap enough for the event loop)."""
        if self._file is None:
            raise RuntimeError("the journal is closed")
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the journal file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_journal(directory: Path) -> list[dict[str, Any]]:
    """Every complete record of a recording's journal, in order."""
    path = directory / JOURNAL_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MediaError("recording_not_found", f"{directory} has no recording journal") from None
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            # The line a crash cut short: expected only as the last one.
            logger.warning("recording_journal_bad_line path=%s line=%d", path, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
