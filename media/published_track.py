"""A published track on the SFU: its receiver tap, its forwarder and one output per subscriber.

This is the thin edge around `Forwarder`: it turns tapped frames and subscriber feedback into
forwarder events, and carries out the actions (send a frame, send a PLI to the publisher).
A frame is packetized once and its payloads sent to every subscriber that gets it, in the tap's
callback: no queue or task switch per subscriber (see `aiortc_tap.direct_sender.DirectRtpSender`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiortc import RTCRtpReceiver, RTCRtpSender

from media.aiortc_tap.direct_sender import DirectRtpSender
from media.aiortc_tap.forwarded_track import ForwardedTrack
from media.aiortc_tap.packetizer import packetizer_for
from media.aiortc_tap.receiver_tap import ReceiverTap
from media.aiortc_tap.sender import install_packetizer, watch_keyframe_requests
from media.forwarder import Action, Deliver, Forwarder, Kind, RequestKeyframe
from media.frames import EncodedFrame

logger = logging.getLogger(__name__)

# About half a second of media. A sender that falls further behind than this is not catching
# up; better to drop the backlog and restart it from a keyframe than to grow memory or latency.
VIDEO_QUEUE_FRAMES = 15
AUDIO_QUEUE_FRAMES = 25


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """What a subscriber (and the signaling layer) needs to know about a published track."""

    track_id: str
    publisher_id: str
    kind: Kind
    codec: str
    stream_id: str


class FrameSink(Protocol):
    """Something besides subscribers that takes a track's encoded frames (the recorder)."""

    def on_frame(self, frame: EncodedFrame) -> None:
        """A frame the tap assembled, in arrival order."""
        ...

    def on_source_change(self) -> None:
        """The publisher's stream restarted: timestamps and references start over."""
        ...

    def on_loss(self) -> None:
        """Packets were lost for good: video frames until the next keyframe are broken."""
        ...


class PublishedTrack:
    """One publisher's track fanned out to its subscribers without decoding."""

    def __init__(
        self,
        info: TrackInfo,
        receiver: RTCRtpReceiver,
        clock_rate: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.info = info
        self.clock_rate = clock_rate
        self._clock = clock
        self.forwarder = Forwarder(info.kind, clock_rate)
        self._outputs: dict[str, ForwardedTrack] = {}
        # Pause wishes for subscribers whose connection is not up yet.
        self._paused_before_start: set[str] = set()
        self._closed = False
        self._sinks: list[FrameSink] = []
        # Each frame is packetized once for every subscriber (one VP8 picture id sequence per
        # track: a subscriber that skipped frames sees a gap, which receivers accept).
        self._packetizer = packetizer_for(info.codec)
        self._packetized: tuple[bytes, list[bytes]] | None = None
        self.receiver = receiver
        self.tap = ReceiverTap(
            receiver,
            info.codec,
            self._on_frame,
            on_source_change=self._on_source_change,
            on_loss=self._on_source_loss,
        )

    def output(self, subscriber_id: str) -> ForwardedTrack | None:
        """The track a subscriber's sender reads, if it subscribes."""
        return self._outputs.get(subscriber_id)

    @property
    def subscriber_count(self) -> int:
        """How many subscribers this track is forwarded to."""
        return len(self._outputs)

    @property
    def closed(self) -> bool:
        """Whether the publisher's track has gone."""
        return self._closed

    def add_subscriber(self, subscriber_id: str) -> ForwardedTrack:
        """Create the track a subscriber's sender reads.

        Forwarding (and, for video, the keyframe request) starts when the sender first reads,
        i.e. once the subscriber's connection is up, so the first frame it gets is a fresh
        keyframe rather than one that went stale in the queue during ICE and DTLS.
        """
        if subscriber_id in self._outputs:
            raise ValueError(f"{subscriber_id} already subscribes to {self.info.track_id}")
        max_frames = VIDEO_QUEUE_FRAMES if self.info.kind == "video" else AUDIO_QUEUE_FRAMES
        output = ForwardedTrack(
            self.info.kind,
            self.clock_rate,
            max_frames,
            track_id=self.info.track_id,
            on_start=lambda: self._start_forwarding(subscriber_id),
        )
        self._outputs[subscriber_id] = output
        return output

    def _start_forwarding(self, subscriber_id: str) -> None:
        if self._closed or subscriber_id not in self._outputs:
            return
        self._run(self.forwarder.subscribe(subscriber_id, self._clock()))
        if subscriber_id in self._paused_before_start:
            self._paused_before_start.discard(subscriber_id)
            self.forwarder.pause(subscriber_id)

    def attach_sender(self, subscriber_id: str, sender: RTCRtpSender) -> None:
        """Send a subscriber's frames through its sender directly, and route its PLIs to us.

        The packetizer is a safety net: the sender's own loop never gets a frame to encode.
        """
        install_packetizer(sender, self.info.codec)
        watch_keyframe_requests(sender, lambda: self.on_keyframe_request(subscriber_id))
        output = self._outputs.get(subscriber_id)
        if output is not None:
            output.direct = DirectRtpSender(sender)

    def remove_subscriber(self, subscriber_id: str) -> None:
        """Stop forwarding to a subscriber and end its track."""
        self.forwarder.unsubscribe(subscriber_id)
        self._paused_before_start.discard(subscriber_id)
        output = self._outputs.pop(subscriber_id, None)
        if output is not None:
            output.stop()

    def set_paused(self, subscriber_id: str, paused: bool) -> None:
        """Pause or resume forwarding to one subscriber."""
        if subscriber_id not in self.forwarder.subscriber_ids:
            if paused:
                self._paused_before_start.add(subscriber_id)
            else:
                self._paused_before_start.discard(subscriber_id)
            return
        if paused:
            self.forwarder.pause(subscriber_id)
        else:
            self._run(self.forwarder.resume(subscriber_id, self._clock()))

    def on_keyframe_request(self, subscriber_id: str) -> None:
        """A subscriber's PLI/FIR reached its sender on the SFU."""
        self._run(self.forwarder.on_keyframe_request(subscriber_id, self._clock()))

    def add_sink(self, sink: FrameSink) -> None:
        """Also hand every frame (and stream change) to `sink`, until `remove_sink`."""
        self._sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        """Stop handing frames to `sink`."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def request_keyframe(self) -> bool:
        """Ask the publisher for a keyframe now; False until its first packet arrived."""
        return self.tap.request_keyframe()

    def close(self) -> None:
        """The publisher's track ended: end every subscriber's copy."""
        self._closed = True
        for subscriber_id in list(self._outputs):
            self.remove_subscriber(subscriber_id)

    def _on_source_change(self) -> None:
        logger.info("publisher_source_changed track=%s", self.info.track_id)
        self._run(self.forwarder.reanchor(self._clock()))
        self._tell_sinks(lambda sink: sink.on_source_change())

    def _on_source_loss(self) -> None:
        logger.info("publisher_stream_loss track=%s", self.info.track_id)
        self._run(self.forwarder.on_source_loss(self._clock()))
        self._tell_sinks(lambda sink: sink.on_loss())

    def _on_frame(self, frame: EncodedFrame) -> None:
        if not self._closed:
            self._run(self.forwarder.on_frame(frame, self._clock()))
            self._tell_sinks(lambda sink: sink.on_frame(frame))

    def _tell_sinks(self, call: Callable[[FrameSink], None]) -> None:
        for sink in list(self._sinks):
            try:
                call(sink)
            except Exception:
                # A failing recorder must not stop forwarding to the participants.
                logger.exception("frame_sink_failed track=%s", self.info.track_id)

    def _payloads(self, frame: EncodedFrame) -> list[bytes]:
        # Every subscriber's Deliver carries the same data object; packetize it once.
        cached = self._packetized
        if cached is not None and cached[0] is frame.data:
            return cached[1]
        payloads = self._packetizer.packetize(frame.data)
        self._packetized = (frame.data, payloads)
        return payloads

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Deliver):
                output = self._outputs.get(action.subscriber_id)
                if output is None:
                    continue
                if output.sends_directly:
                    delivered = output.send(self._payloads(action.frame), action.frame.timestamp)
                else:
                    delivered = output.push(action.frame)
                if not delivered:
                    logger.info(
                        "subscriber_backlog_dropped track=%s subscriber=%s",
                        self.info.track_id,
                        action.subscriber_id,
                    )
                    self._run(self.forwarder.on_dropped(action.subscriber_id, self._clock()))
            elif isinstance(action, RequestKeyframe):
                self.tap.request_keyframe()
