"""How much a subscriber's downlink sustains, from the RTCP feedback its connection sends back.

Pure logic with no I/O: fed the receiver's estimate (REMB) when it sends one, its receiver
reports (fraction lost, jitter), its NACKs and what the SFU sent it, each with the current
monotonic time. `available` is the smaller of the receiver's own estimate and a loss-based one
(the loss half of Google congestion control): made when more than a tenth is lost, by cutting
what was being sent or estimated, then grown slowly while nothing is, and dropped once it is
back above the receiver's own estimate. A receiver that sends no REMB and loses nothing gives
no number at all: nothing says its link is short.
"""

from __future__ import annotations

from collections import deque

# A REMB older than this no longer describes the link (receivers send one every second or so).
REMB_LIFETIME = 5.0
# Loss and NACKs are judged over this window.
LOSS_WINDOW = 2.0
HIGH_LOSS = 0.10
LOW_LOSS = 0.02
# Jitter above this (seconds) means queues are building: no growth even without loss.
HIGH_JITTER = 0.030
# The loss-based estimate grows by this factor per second on a clean link, and never past this.
GROWTH_PER_SECOND = 1.08
MAX_ESTIMATE = 20_000_000.0


class LinkEstimate:
    """One subscriber connection's available bitrate and loss, from its feedback."""

    def __init__(self, *, settle: float = 0.0) -> None:
        # Estimates are withheld until this long after the first feedback: a receiver's first
        # ones describe its start (nothing received yet), not its link.
        self._settle = settle
        self._first_feedback: float | None = None
        self._remb: tuple[float, float] | None = None  # (bits per second, when)
        self._loss_based: float | None = None
        self._last_growth: float | None = None
        self._reports: deque[tuple[float, float, float]] = deque()  # (when, lost, jitter)
        self._nacks: deque[tuple[float, int]] = deque()
        self._sent: deque[tuple[float, int, int]] = deque()  # (when, packets, octets) totals

    def on_remb(self, bitrate: float, now: float) -> None:
        """The receiver's estimate of its maximum bitrate (REMB)."""
        self._remb = (float(bitrate), now)
        self._heard(now)

    def on_report(self, fraction_lost: float, jitter: float, now: float) -> None:
        """A receiver report block: fraction lost (0-1) and interarrival jitter in seconds."""
        self._reports.append((now, fraction_lost, jitter))
        self._trim(now)
        self._heard(now)
        loss = self.loss(now)
        base = self._loss_based
        remb = self._fresh_remb(now)
        if loss > HIGH_LOSS:
            if base is None:
                base = remb if remb is not None else self.sending(now)
            base *= 1 - 0.5 * loss
        elif base is not None and loss <= LOW_LOSS and self.jitter(now) <= HIGH_JITTER:
            since = 1.0 if self._last_growth is None else now - self._last_growth
            base = min(base * GROWTH_PER_SECOND ** min(since, 1.0), MAX_ESTIMATE)
            if remb is not None and base >= remb:
                base = None  # recovered: the receiver's own estimate speaks again
        self._last_growth = now
        self._loss_based = base

    def on_nacks(self, count: int, now: float) -> None:
        """The receiver asked for `count` packets again."""
        self._nacks.append((now, count))
        self._trim(now)

    def on_sent(self, packets: int, octets: int, now: float) -> None:
        """What the SFU has sent this subscriber so far (running totals, media only)."""
        self._sent.append((now, packets, octets))
        self._trim(now)

    def sending(self, now: float) -> float:
        """What the SFU sent this subscriber lately, in bits per second."""
        self._trim(now)
        if len(self._sent) < 2:
            return 0.0
        (t0, _, o0), (t1, _, o1) = self._sent[0], self._sent[-1]
        return (o1 - o0) * 8 / (t1 - t0) if t1 > t0 else 0.0

    def loss(self, now: float) -> float:
        """Recent loss: the worse of what receiver reports say and the share of packets NACKed."""
        self._trim(now)
        reported = max((lost for _, lost, _ in self._reports), default=0.0)
        nacked = sum(count for _, count in self._nacks)
        sent = self._sent[-1][1] - self._sent[0][1] if len(self._sent) >= 2 else 0
        return max(reported, min(1.0, nacked / sent) if sent > 0 else 0.0)

    def jitter(self, now: float) -> float:
        """The highest jitter reported lately, in seconds."""
        self._trim(now)
        return max((jitter for _, _, jitter in self._reports), default=0.0)

    def available(self, now: float, audio: float = 0.0) -> float | None:
        """The bitrate video may take on the link now, in bits per second; None when nothing
        says (no feedback yet, or no REMB and no loss).

        A REMB already speaks for the video streams it names. The loss-based estimate is of
        everything sent, so the audio's bitrate (`audio`, headers included) comes off it first:
        audio is never starved to make room for video.
        """
        if self._first_feedback is None or now - self._first_feedback < self._settle:
            return None
        loss_based = None if self._loss_based is None else max(0.0, self._loss_based - audio)
        known = [value for value in (self._fresh_remb(now), loss_based) if value is not None]
        return min(known) if known else None

    def _fresh_remb(self, now: float) -> float | None:
        if self._remb is None or now - self._remb[1] > REMB_LIFETIME:
            return None
        return self._remb[0]

    def _heard(self, now: float) -> None:
        if self._first_feedback is None:
            self._first_feedback = now

    def _trim(self, now: float) -> None:
        for window in (self._reports, self._nacks, self._sent):
            while window and now - window[0][0] > LOSS_WINDOW:
                window.popleft()
