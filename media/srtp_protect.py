"""SRTP protection of a frame's packets without pylibsrtp's per-packet Python wrapper.

`pylibsrtp.Session.protect` allocates a length cell, type-checks and copies through a cffi
buffer object on every call: a large share of a packet's protection time, on the hottest path of
forwarding (every packet, every subscriber). `SrtpProtector` calls the same libsrtp function on
the same session (`Session._srtp`, pinned to pylibsrtp 1.0.0 like `media.aiortc_tap` is to
aiortc) with one buffer and one length cell it keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pylibsrtp
from pylibsrtp import Session
from pylibsrtp._binding import ffi, lib

from media.versions import REQUIRED

PINNED_PYLIBSRTP_VERSION = REQUIRED["pylibsrtp"]
# Room for the longest packet we forward plus libsrtp's largest trailer (tag and MKI).
BUFFER_SIZE = 2048
MAX_TRAILER = 16 + 128
_OK: int = lib.srtp_err_status_ok


class SrtpProtector:
    """Protects RTP packets with one SRTP session's outbound context."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._context: Any = session._srtp[0]
        self._cdata: Any = ffi.new("char[]", BUFFER_SIZE)
        self._buffer: Any = ffi.buffer(self._cdata)
        self._length: Any = ffi.new("int *")

    def protect(self, packets: Iterable[bytes]) -> list[bytes]:
        """The SRTP packets for `packets`, in order (the session's rollover counter advances)."""
        cdata, buffer, length, context = self._cdata, self._buffer, self._length, self._context
        protect, ok = lib.srtp_protect, _OK
        protected: list[bytes] = []
        for packet in packets:
            size = len(packet)
            if size > BUFFER_SIZE - MAX_TRAILER:
                raise ValueError("packet is too long")
            buffer[0:size] = packet
            length[0] = size
            status = protect(context, cdata, length)
            if status != ok:
                raise pylibsrtp.Error(f"srtp_protect failed with status {status}")
            protected.append(buffer[0 : length[0]])
        return protected


def pylibsrtp_version_is_pinned() -> bool:
    """Whether the installed pylibsrtp is the version this module was written against."""
    return bool(pylibsrtp.__version__ == PINNED_PYLIBSRTP_VERSION)
