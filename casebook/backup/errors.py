"""The one error of backups and restores: a message an operator can act on."""

from __future__ import annotations

from casebook.errors import CasebookError


class BackupError(CasebookError):
    """A backup cannot be written, read or restored; the message says why."""

    def __init__(self, message: str, code: str = "backup_failed") -> None:
        super().__init__(code, message)
