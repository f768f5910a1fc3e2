"""Our VP8 payloads are exactly the ones aiortc's own packetizer makes."""

from __future__ import annotations

import os

from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

from media.vp8 import vp8_payloads


def test_payloads_match_aiortcs_for_every_size_and_picture_id() -> None:
    for size in (0, 1, 1295, 1296, 1297, 2592, 6250, 40_000):
        frame = os.urandom(size)
        for picture_id in (0, 1, 127, 128, 0x7FFF):
            assert vp8_payloads(frame, picture_id) == Vp8Encoder._packetize(frame, picture_id)


def test_the_payloads_depayload_to_the_frame() -> None:
    frame = os.urandom(5000)

    assert b"".join(vp8_depayload(p) for p in vp8_payloads(frame, 42)) == frame
