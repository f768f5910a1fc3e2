"""The one place that reaches into aiortc's private internals, pinned to aiortc 1.16.0.

aiortc has no public hook for forwarding encoded media: its receiver always decodes and its
sender encodes decoded frames. The modules of this package, each named for what it implements:
- `receiver_tap`: taps a receiver's jitter buffer for the encoded frames (so the decoder thread
  sits idle), and sends a PLI on a receiver's connection.
- `arrival`: hands a connection's incoming RTP to its receiver as the datagram arrives
  (`receive_rtp_on_arrival`).
- `packetizer`: VP8, H.264 and Opus packetizers that stand in for a sender's encoder.
- `sender`: what the SFU changes on an aiortc sender (its packetizer, msid stream, the PLI/FIR
  it reports).
- `direct_sender`: sends a subscriber's packets without the sender's RTP loop.
- `remb`: one combined receiver estimate for a simulcast camera's layers.
- `forwarded_track`: a subscriber's copy of a published track.
No module outside this package touches an aiortc private name.
`tests/media/test_aiortc_tap.py` exercises every private name used here: if an aiortc upgrade
breaks them, that file fails, not the product.
"""

from __future__ import annotations

import aiortc

from media.versions import REQUIRED

PINNED_AIORTC_VERSION = REQUIRED["aiortc"]


def aiortc_version_is_pinned() -> bool:
    """Whether the installed aiortc is the version this package was written against."""
    return aiortc.__version__ == PINNED_AIORTC_VERSION
