"""RTP timestamp arithmetic and the per-subscriber rebasing of a source's timeline."""

from __future__ import annotations

UINT32_MASK = 0xFFFFFFFF
UINT32_HALF = 1 << 31

# A source timestamp that runs this far (in seconds) ahead of or behind the wall clock since the
# previous frame is treated as a new source (publisher restarted its sender, switched SSRC), not
# as elapsed media time.
MAX_CLOCK_SKEW_SECONDS = 2.0


def uint32_add(a: int, b: int) -> int:
    """Add two RTP timestamps modulo 2**32."""
    return (a + b) & UINT32_MASK


def uint32_sub(a: int, b: int) -> int:
    """Distance from `b` forward to `a` modulo 2**32."""
    return (a - b) & UINT32_MASK


class TimestampRebaser:
    """Maps one source's RTP timestamps onto a subscriber's own continuous timeline.

    The first frame a subscriber receives gets `origin`, whenever it joined. After `reanchor()`
    (a source switch) or a detected discontinuity, the timeline continues from the last output
    timestamp plus the wall-clock time that passed, so the receiver never sees a jump backwards.
    """

    def __init__(self, clock_rate: int, origin: int = 0) -> None:
        self._clock_rate = clock_rate
        self._origin = origin & UINT32_MASK
        self._src_base: int | None = None
        self._out_base = self._origin
        self._last_src: int | None = None
        self._last_out: int | None = None
        self._last_now: float | None = None

    def reanchor(self) -> None:
        """Make the next frame start a new segment that continues the output timeline."""
        self._src_base = None

    def map(self, src_timestamp: int, now: float) -> int:
        """Return the output timestamp for a source timestamp seen at monotonic time `now`."""
        src_timestamp &= UINT32_MASK
        if self._src_base is not None and self._is_discontinuous(src_timestamp, now):
            self._src_base = None
        if self._src_base is None:
            self._start_segment(src_timestamp, now)
        assert self._src_base is not None
        out = uint32_add(self._out_base, uint32_sub(src_timestamp, self._src_base))
        self._last_src, self._last_out, self._last_now = src_timestamp, out, now
        return out

    def _start_segment(self, src_timestamp: int, now: float) -> None:
        if self._last_out is not None and self._last_now is not None:
            # At least one tick, so two frames never share a timestamp across the seam.
            elapsed = max(1, round((now - self._last_now) * self._clock_rate))
            self._out_base = uint32_add(self._last_out, elapsed)
        self._src_base = src_timestamp

    def _is_discontinuous(self, src_timestamp: int, now: float) -> bool:
        if self._last_src is None or self._last_now is None:
            return False
        advance = uint32_sub(src_timestamp, self._last_src)
        if advance >= UINT32_HALF:
            return True  # went backwards
        expected = (now - self._last_now) * self._clock_rate
        return abs(advance - expected) > MAX_CLOCK_SKEW_SECONDS * self._clock_rate
