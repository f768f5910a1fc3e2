"""The one error type of the signaling layer; its `code` is the wire contract (PROTOCOL.md)."""

from __future__ import annotations

from typing import Any, Literal, get_args

ErrorCode = Literal[
    "not_joined",
    "unknown_event",
    "payload_too_large",
    "invalid_payload",
    "invalid_sdp",
    "token_invalid",
    "token_expired",
    "protocol_mismatch",
    "already_joined",
    "peer_not_found",
    "peer_id_taken",
    "token_in_use",
    "forbidden",
    "rate_limited",
    "internal",
    "unavailable",
    "media_unavailable",
    "not_sfu",
    "media_error",
    "too_many_media_sections",
    "too_many_tracks",
    "recording_unavailable",
    "already_recording",
    "not_recording",
    "notice_outdated",
    "recording_failed",
]

ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))


class SignalingError(Exception):
    """A refused client event: `code` is stable, `message` is English for developers."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ErrorCode = code
        self.message = message

    def ack(self) -> dict[str, Any]:
        """The failure ack every client event gets for this error."""
        return {"ok": False, "error": {"code": self.code, "message": self.message}}
