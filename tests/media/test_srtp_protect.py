"""SRTP protection without pylibsrtp's wrapper gives exactly what `Session.protect` gives."""

from __future__ import annotations

import os
import struct

import pytest
from pylibsrtp import Policy, Session

from media.srtp_protect import SrtpProtector, pylibsrtp_version_is_pinned

KEY = bytes(range(30))


def _session(key: bytes = KEY) -> Session:
    return Session(
        Policy(
            key=key,
            ssrc_type=Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        )
    )


def _packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("!BBHLL", 0x80, 96, sequence, 1000, 0x1234) + payload


def test_packets_are_protected_as_pylibsrtp_protects_them() -> None:
    packets = [_packet(n, os.urandom(n * 40)) for n in range(1, 30)]

    ours = SrtpProtector(_session()).protect(packets)

    reference = _session()
    assert ours == [reference.protect(packet) for packet in packets]


def test_protected_packets_decrypt_with_the_receivers_session() -> None:
    packets = [_packet(n, b"frame %d" % n) for n in range(5)]
    receiver = Session(
        Policy(
            key=KEY,
            ssrc_type=Policy.SSRC_ANY_INBOUND,
            srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        )
    )

    protected = SrtpProtector(_session()).protect(packets)

    assert [receiver.unprotect(packet) for packet in protected] == packets


def test_an_oversized_packet_is_refused() -> None:
    with pytest.raises(ValueError):
        SrtpProtector(_session()).protect([_packet(1, bytes(2000))])


def test_the_pinned_pylibsrtp_is_installed() -> None:
    assert pylibsrtp_version_is_pinned()
