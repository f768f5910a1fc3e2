"""The bitrate of one encoded stream (a simulcast layer) as it arrives at the SFU.

Pure logic: fed each frame's size with the current monotonic time; `bitrate` averages over a
sliding window long enough to include a keyframe now and then, so a layer is not judged by its
delta frames alone.
"""

from __future__ import annotations

from collections import deque

WINDOW = 2.0


class BitrateMeter:
    """Bits per second over the last `window` seconds of frames."""

    def __init__(self, window: float = WINDOW) -> None:
        self._window = window
        self._frames: deque[tuple[float, int]] = deque()
        self._octets = 0

    def add(self, octets: int, now: float) -> None:
        """A frame of `octets` bytes arrived."""
        self._frames.append((now, octets))
        self._octets += octets
        self._trim(now)

    def bitrate(self, now: float) -> float:
        """Bits per second lately; 0 when nothing arrived within the window (layer stopped)."""
        self._trim(now)
        if not self._frames:
            return 0.0
        # Young streams are measured over what they have, at least a quarter of the window.
        span = max(now - self._frames[0][0], self._window / 4)
        return self._octets * 8 / span

    def _trim(self, now: float) -> None:
        frames = self._frames
        while frames and now - frames[0][0] > self._window:
            self._octets -= frames.popleft()[1]
