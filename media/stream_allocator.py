"""How a subscriber's available bitrate is shared among the video tracks it receives.

Pure logic with no I/O. The available bitrate is for video (audio is reserved before, see
`audio_bitrate`); single-quality video (screen shares) is served first, at its full rate with
the margin a selector needs to climb back, because it carries what people read; cameras share
the rest, none given more than its top layer needs with margin, what one leaves over going to
the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Opus frames are small and frequent: RTP, SRTP, UDP and IPv4 headers on 50 packets a second.
AUDIO_HEADERS = 50 * (12 + 10 + 8 + 20) * 8
# A track is given at most its top quality's bitrate times this (the selector's climbing margin).
HEADROOM = 1.3


@dataclass(frozen=True, slots=True)
class VideoDemand:
    """One video track a subscriber receives: its id and each layer's bitrate, lowest first."""

    track_id: str
    layer_bitrates: Sequence[float]

    @property
    def simulcast(self) -> bool:
        """Whether there are layers to choose from (a camera), not one quality (a screen)."""
        return len(self.layer_bitrates) > 1


def audio_bitrate(payload_bitrates: Sequence[float]) -> float:
    """What audio tracks of these payload bitrates take on the wire."""
    return sum(rate + AUDIO_HEADERS for rate in payload_bitrates)


def split_budget(available: float, videos: Sequence[VideoDemand]) -> dict[str, float]:
    """Each video track's share of `available` bits per second (for video)."""
    left = available
    shares: dict[str, float] = {}
    for video in videos:
        if not video.simulcast:
            wants = video.layer_bitrates[-1] * HEADROOM
            shares[video.track_id] = share = min(left, wants)
            left -= share
    cameras = [v for v in videos if v.simulcast]
    # Water-filling: the cameras that need least are served first, the rest split what is left.
    cameras.sort(key=lambda v: v.layer_bitrates[-1])
    for index, camera in enumerate(cameras):
        fair = left / (len(cameras) - index)
        wants = camera.layer_bitrates[-1] * HEADROOM
        shares[camera.track_id] = share = fair if wants <= 0 else min(fair, wants)
        left -= share
    # What the cameras leave over still belongs to the screens (they may grow into it).
    for video in videos:
        if not video.simulcast:
            shares[video.track_id] += left / max(1, len(videos) - len(cameras))
    return shares
