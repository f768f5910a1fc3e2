"""A minimal TURN client for tests (RFC 8656): Allocate with long-term credentials, then
CreatePermission towards a peer, over UDP or TCP, reporting the server's answer.

It speaks only what the coturn test needs. STUN encoding, MESSAGE-INTEGRITY and FINGERPRINT
come from aioice (installed with aiortc); the credentials are the TURN REST API ones Junta hands
out (`signaling.ice.turn_credentials`).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aioice import stun
from aioice.turn import make_integrity_key

UDP = 17  # REQUESTED-TRANSPORT protocol numbers (RFC 8656 section 18.7, RFC 6062)
TCP = 6


@dataclass(frozen=True)
class Answer:
    """A response to one request: `ok` for a success response, else the error code."""

    ok: bool
    code: int | None
    reason: str
    attributes: dict[str, Any]


class TurnClient:
    """One control connection to a TURN server, with one allocation once `allocate` succeeds."""

    def __init__(self, server: tuple[str, int], username: str, password: str, *,
                 transport: str = "udp", timeout: float = 2.0) -> None:
        self.server = server
        self.username = username
        self.password = password
        self.timeout = timeout
        self.transport = transport
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.settimeout(timeout)
        if transport != "udp":
            self.sock.connect(server)
        self.realm: str | None = None
        self.nonce: bytes | None = None
        self.key: bytes | None = None

    def __enter__(self) -> TurnClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    # --- TURN ------------------------------------------------------------------------------------

    def allocate(self, requested_transport: int = UDP) -> Answer:
        """Allocate a relayed address: first unauthenticated, to learn the realm and nonce
        (401), then with the long-term credential."""
        attributes: dict[str, object] = {
            "REQUESTED-TRANSPORT": requested_transport << 24, "LIFETIME": 600,
        }
        first = self._exchange(stun.Method.ALLOCATE, dict(attributes), authenticated=False)
        if first.code != 401:
            return first
        self.realm = str(first.attributes["REALM"])
        self.nonce = first.attributes["NONCE"]
        self.key = make_integrity_key(self.username, self.realm, self.password)
        return self._authenticated(stun.Method.ALLOCATE, attributes)

    def create_permission(self, peer: str) -> Answer:
        """Ask for a permission towards `peer` (any port: permissions are per address)."""
        return self._authenticated(stun.Method.CREATE_PERMISSION,
                                   {"XOR-PEER-ADDRESS": (peer, 0)})

    # --- STUN transactions ---------------------------------------------------------------------

    def _authenticated(self, method: stun.Method, attributes: dict[str, object]) -> Answer:
        answer = self._exchange(method, dict(attributes), authenticated=True)
        if answer.code == 438:  # stale nonce: once more with the new one
            self.nonce = answer.attributes["NONCE"]
            answer = self._exchange(method, dict(attributes), authenticated=True)
        return answer

    def _exchange(self, method: stun.Method, attributes: dict[str, object], *,
                  authenticated: bool) -> Answer:
        request = stun.Message(method, stun.Class.REQUEST, attributes=attributes)
        if authenticated:
            assert self.realm is not None and self.nonce is not None and self.key is not None
            request.attributes.update(
                {"USERNAME": self.username, "REALM": self.realm, "NONCE": self.nonce})
            request.add_message_integrity(self.key)
        else:
            request.add_fingerprint()
        data = bytes(request)
        # UDP may lose a datagram: a few retransmissions, as RFC 8489 section 6.2.1 asks.
        for _ in range(3 if self.transport == "udp" else 1):
            self._send(data)
            try:
                response = self._receive(request.transaction_id)
            except TimeoutError:
                continue
            code, reason = response.attributes.get("ERROR-CODE", (None, ""))
            return Answer(response.message_class == stun.Class.RESPONSE, code, reason,
                          dict(response.attributes))
        raise TimeoutError(f"no answer from the TURN server at {self.server}")

    def _send(self, data: bytes) -> None:
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def _receive(self, transaction_id: bytes) -> stun.Message:
        for _ in range(10):  # skip stray answers to earlier retransmissions
            if self.transport == "udp":
                data, _ = self.sock.recvfrom(4096)
            else:
                header = self._read_exactly(20)
                (length,) = struct.unpack("!H", header[2:4])
                data = header + self._read_exactly(length)
            message = stun.parse_message(data)
            if message.transaction_id == transaction_id:
                return message
        raise TimeoutError("no answer to this request")

    def _read_exactly(self, size: int) -> bytes:
        chunks = b""
        while len(chunks) < size:
            chunk = self.sock.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("the TURN server closed the connection")
            chunks += chunk
        return chunks
