"""The casebook's one error type: a stable machine-readable `code` and an English message."""

from __future__ import annotations


class CasebookError(Exception):
    """A rule of the casebook refused an operation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
