"""The media layer's one error type, with a stable code the signaling layer can relay."""

from __future__ import annotations


class MediaError(Exception):
    """A media node request failed; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
