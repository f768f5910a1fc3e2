"""How a subscriber's available bitrate is shared among the video tracks it receives.

Pure logic with no I/O. Audio comes off the top (a reserve per audio track, so video never
starves it); single-quality video (screen shares) is served next at its full rate, because
it carries what people read; cameras share the rest, none given more than its top layer needs
with margin, what one leaves over going to the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Opus at the browsers' default rate plus RTP/SRTP overhead, with room to spare.
AUDIO_RESERVE = 64_000.0
# A camera is given at most its top layer's bitrate times this (the selector's climbing margin).
CAMERA_HEADROOM = 1.3


@dataclass(frozen=True, slots=True)
class VideoDemand:
    """One video track a subscriber receives: its id and each layer's bitrate, lowest first."""

    track_id: str
    layer_bitrates: Sequence[float]

    @property
    def simulcast(self) -> bool:
        """Whether there are layers to choose from (a camera), not one quality (a screen)."""
        return len(self.layer_bitrates) > 1


def split_budget(
    available: float, audio_tracks: int, videos: Sequence[VideoDemand]
) -> dict[str, float]:
    """Each video track's share of `available` bits per second."""
    left = max(0.0, available - AUDIO_RESERVE * audio_tracks)
    shares: dict[str, float] = {}
    for video in videos:
        if not video.simulcast:
            shares[video.track_id] = share = min(left, video.layer_bitrates[-1])
            left -= share
    cameras = [v for v in videos if v.simulcast]
    # Water-filling: the cameras that need least are served first, the rest split what is left.
    cameras.sort(key=lambda v: v.layer_bitrates[-1])
    for index, camera in enumerate(cameras):
        fair = left / (len(cameras) - index)
        wants = camera.layer_bitrates[-1] * CAMERA_HEADROOM
        shares[camera.track_id] = share = fair if wants <= 0 else min(fair, wants)
        left -= share
    # What the cameras leave over still belongs to the screens (they may grow into it).
    for video in videos:
        if not video.simulcast:
            shares[video.track_id] += left / max(1, len(videos) - len(cameras))
    return shares
