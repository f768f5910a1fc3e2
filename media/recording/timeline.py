"""One recorded track's clock: RTP timestamps to file timestamps, and its start offset.

Pure logic, no I/O: the recorder feeds it each frame's RTP timestamp and arrival time.
"""

from __future__ import annotations

from media.timestamps import UINT32_HALF, UINT32_MASK, uint32_sub

UINT32_RANGE = 1 << 32
# A publisher starved of CPU or network sends late frames in a burst: their timestamps run
# ahead of the wall clock by the lag. Only a jump far beyond any lag is a new stream.
MAX_FORWARD_SECONDS = 30.0
# Frames a little older than the last are late duplicates (refused); much older, a new stream.
MAX_BACKWARD_SECONDS = 1.0


class TimestampUnwrapper:
    """Extends uint32 RTP timestamps to a counter that does not wrap (after 13 h at 90 kHz)."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._extended = 0

    def unwrap(self, timestamp: int) -> int:
        """The extended value of `timestamp`, taken as the nearer of forward or backward."""
        if self._last is not None:
            advance = uint32_sub(timestamp, self._last)
            self._extended += advance if advance < UINT32_HALF else advance - UINT32_RANGE
        else:
            self._extended = timestamp
        self._last = timestamp
        return self._extended


class TrackTimeline:
    """Gives each frame of a track a pts in the codec clock, the first frame at 0.

    The pts follow the RTP timestamps, so a file lasts as long as the media did, gaps in what
    was sent stay gaps, and frames a lagging publisher sends in a burst keep their spacing.
    Only a new source (`reanchor`: the publisher restarted its sender), a jump back of more
    than `MAX_BACKWARD_SECONDS` or forward by `MAX_FORWARD_SECONDS` more than the wall clock
    explains starts a new segment, which continues from the last pts plus the wall time that
    passed. A frame whose pts would not advance is refused (None): a muxer needs increasing
    timestamps.

    The start offset is when the first frame was captured, relative to the recording's start,
    estimated as the smallest `arrival - pts` seen: the frame that was delayed least on its
    way here. Every track of a recording is estimated the same way, so they line up.
    """

    def __init__(self, clock_rate: int, recording_start: float) -> None:
        self.clock_rate = clock_rate
        self._recording_start = recording_start
        self._unwrapper = TimestampUnwrapper()
        self._segment_start: tuple[int, int] | None = None  # (extended RTP, pts) at its start
        self._last: tuple[int, int, float] | None = None  # extended RTP, pts, arrival
        self.start_offset: float | None = None

    def reanchor(self) -> None:
        """The source changed: its next timestamp starts a new segment."""
        self._segment_start = None

    def pts(self, rtp_timestamp: int, arrival: float) -> int | None:
        """The pts of a frame with this RTP timestamp that arrived at `arrival` (monotonic)."""
        extended = self._unwrapper.unwrap(rtp_timestamp & UINT32_MASK)
        if self._segment_start is not None and self._last is not None:
            advance = extended - self._last[0]
            elapsed = arrival - self._last[2]
            if (
                advance < -MAX_BACKWARD_SECONDS * self.clock_rate
                or advance > (elapsed + MAX_FORWARD_SECONDS) * self.clock_rate
            ):
                self._segment_start = None
        if self._segment_start is None:
            if self._last is None:
                first_pts = 0
            else:
                # At least one tick, so two frames never share a pts across the seam.
                waited = max(1, round((arrival - self._last[2]) * self.clock_rate))
                first_pts = self._last[1] + waited
            self._segment_start = (extended, first_pts)
        pts = self._segment_start[1] + extended - self._segment_start[0]
        if self._last is not None and pts <= self._last[1]:
            return None
        self._last = (extended, pts, arrival)
        offset = arrival - self._recording_start - pts / self.clock_rate
        if self.start_offset is None or offset < self.start_offset:
            self.start_offset = offset
        return pts
