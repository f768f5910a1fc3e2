"""A subscriber's copy of a published track, read by the subscriber's aiortc sender.

Sets `MediaStreamTrack._id` (the msid track id); pinned by `tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.aiortc_tap.direct_sender import DirectRtpSender
from media.frames import EncodedFrame

logger = logging.getLogger(__name__)


class ForwardedTrack(MediaStreamTrack):
    """A subscriber's copy of a published track, read by the subscriber's sender.

    With a `DirectRtpSender` (what the SFU uses), frames are sent as they come in, through
    `send`; `recv()` only tells us the sender started and then waits for the end. Without one,
    `recv()` yields encoded frames as `av.Packet`s, which the sender only packs: frames wait in a
    bounded queue, and when the sender falls behind, the backlog is discarded (stale media is
    worse than a skip) and `push` says so, so the caller can ask for a keyframe and hold back
    delta frames until it arrives. Either way `on_start` runs when the sender first asks for a
    frame, that is once the subscriber's connection is up.
    """

    def __init__(
        self,
        kind: str,
        clock_rate: int,
        max_frames: int,
        *,
        track_id: str | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        if track_id is not None:
            # MediaStreamTrack keeps its id in `_id`; the sender announces it in the SDP msid.
            self._id = track_id
        self._on_start = on_start
        self.started = False
        self._time_base = fractions.Fraction(1, clock_rate)
        self._queue: asyncio.Queue[EncodedFrame | None] = asyncio.Queue(max_frames)
        self.direct: DirectRtpSender | None = None
        self.frames_sent = 0
        self.frames_dropped = 0

    @property
    def sends_directly(self) -> bool:
        """Whether frames go out through `send` (payloads) rather than `push` (the queue)."""
        return self.direct is not None and self.direct.ready

    @property
    def packets_sent(self) -> int:
        """RTP packets sent directly so far (retransmissions aside)."""
        stamper = None if self.direct is None else self.direct.stamper
        return 0 if stamper is None else stamper.packets_sent

    @property
    def octets_sent(self) -> int:
        """Payload bytes sent directly so far."""
        stamper = None if self.direct is None else self.direct.stamper
        return 0 if stamper is None else stamper.octets_sent

    def send(self, payloads: list[bytes], timestamp: int) -> bool:
        """Send one packetized frame now; False when the subscriber is backed up (dropped)."""
        if self.readyState != "live" or self.direct is None:
            return True
        try:
            sent = self.direct.send_frame(payloads, timestamp)
        except Exception:
            # One subscriber's failure (SRTP, say) must not cost the others their frame.
            logger.exception("direct_send_failed track=%s", self.id)
            return True
        if not sent:
            self.frames_dropped += 1
            return False
        self.frames_sent += 1
        return True

    def push(self, frame: EncodedFrame) -> bool:
        """Queue a frame; False when the queue was full and its backlog was discarded."""
        if self.readyState != "live":
            return True
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.frames_dropped += self._discard_backlog() + 1
            return False
        return True

    async def recv(self) -> av.Packet:
        """The next encoded frame, as a packet stamped in the codec's clock."""
        if self.readyState != "live":
            raise MediaStreamError
        if not self.started:
            # The sender pulls its first frame once DTLS is up: only now is it worth asking
            # the publisher for a keyframe, and only now does queueing frames make sense.
            self.started = True
            if self._on_start is not None:
                self._on_start()
        frame = await self._queue.get()  # only None (stop) once frames are sent directly
        if frame is None:
            raise MediaStreamError
        packet = av.Packet(frame.data)
        packet.pts = frame.timestamp
        packet.time_base = self._time_base
        self.frames_sent += 1
        return packet

    def stop(self) -> None:
        """End the track; a sender waiting in `recv()` wakes up and stops."""
        if self.readyState == "live":
            self._discard_backlog()
            self._queue.put_nowait(None)
        super().stop()

    def _discard_backlog(self) -> int:
        discarded = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            discarded += 1
        return discarded
