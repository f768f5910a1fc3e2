"""A published track on the SFU: its receiver taps, its forwarder and one output per subscriber.

This is the thin edge around `Forwarder`: it turns tapped frames and subscriber feedback into
forwarder events, and carries out the actions (send a frame, send a PLI to the publisher).
A frame is packetized once and its payloads sent to every subscriber that gets it, in the tap's
callback: no queue or task switch per subscriber (see `aiortc_tap.direct_sender.DirectRtpSender`).
A simulcast camera is one track with a receiver per layer; each subscriber's layer is chosen by
`choose_quality` from its share of its link.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiortc import RTCRtpReceiver, RTCRtpSender

from media.aiortc_tap.direct_sender import DirectRtpSender
from media.aiortc_tap.forwarded_track import ForwardedTrack
from media.aiortc_tap.packetizer import Packetizer, packetizer_for
from media.aiortc_tap.receiver_tap import ReceiverTap
from media.aiortc_tap.remb import combine_estimates
from media.aiortc_tap.sender import install_packetizer, watch_keyframe_requests
from media.bitrate_meter import BitrateMeter
from media.forwarder import Action, Deliver, Forwarder, Kind, RequestKeyframe
from media.frames import EncodedFrame
from media.layer_selector import LayerSelector

logger = logging.getLogger(__name__)

# About half a second of media. A sender that falls further behind than this is not catching
# up; better to drop the backlog and restart it from a keyframe than to grow memory or latency.
VIDEO_QUEUE_FRAMES = 15
AUDIO_QUEUE_FRAMES = 25
# A single-quality video on a link too weak for it gets a keyframe this often, at the most and
# at the least (the top layer's once a second; a picture every few seconds is still a picture).
THINNED_MIN_INTERVAL = 1.0
THINNED_MAX_INTERVAL = 5.0


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


@dataclass(slots=True)
class _Layer:
    """One encoded stream of the track (the only one, or one simulcast layer)."""

    receiver: RTCRtpReceiver
    tap: ReceiverTap
    # Each frame is packetized once for every subscriber of the layer. One VP8 picture id
    # sequence per layer: a receiver takes a delta frame's picture id gap for a lost reference,
    # so the ids a subscriber sees may jump only at keyframes (a layer switch, or a resume).
    packetizer: Packetizer
    meter: BitrateMeter = field(default_factory=BitrateMeter)
    packetized: tuple[bytes, list[bytes]] | None = None
    keyframe_octets: int = 0


class PublishedTrack:
    """One publisher's track fanned out to its subscribers without decoding.

    `receiver` carries the track (its top quality); `lower_layers`, for a simulcast camera, the
    publisher's other encodings of it, from the next best down.
    """

    def __init__(
        self,
        info: TrackInfo,
        receiver: RTCRtpReceiver,
        clock_rate: int,
        *,
        lower_layers: Sequence[RTCRtpReceiver] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.info = info
        self.clock_rate = clock_rate
        self._clock = clock
        receivers = [*reversed(lower_layers), receiver]
        self.forwarder = Forwarder(info.kind, clock_rate, layers=len(receivers))
        self._outputs: dict[str, ForwardedTrack] = {}
        # Pause wishes for subscribers whose connection is not up yet.
        self._paused_before_start: set[str] = set()
        self._closed = False
        self._sinks: list[FrameSink] = []
        self._selectors: dict[str, LayerSelector] = {}
        self._layers = [self._tap_layer(index, r) for index, r in enumerate(receivers)]
        if len(receivers) > 1:
            combine_estimates(receivers)
        self.receiver = receiver
        self.tap = self._layers[-1].tap

    def _tap_layer(self, index: int, receiver: RTCRtpReceiver) -> _Layer:
        tap = ReceiverTap(
            receiver,
            self.info.codec,
            lambda frame: self._on_frame(frame, index),
            on_source_change=lambda: self._on_source_change(index),
            on_loss=lambda: self._on_source_loss(index),
        )
        return _Layer(receiver, tap, packetizer_for(self.info.codec))

    @property
    def layers(self) -> int:
        """How many encodings of the track the publisher sends (1 unless simulcast)."""
        return len(self._layers)

    @property
    def taps(self) -> list[ReceiverTap]:
        """Each layer's receiver tap, lowest quality first."""
        return [layer.tap for layer in self._layers]

    def layer_bitrates(self) -> list[float]:
        """Each layer's incoming bitrate now (bits per second), lowest quality first."""
        now = self._clock()
        return [layer.meter.bitrate(now) for layer in self._layers]

    def choose_quality(self, subscriber_id: str, budget: float | None, loss: float) -> None:
        """Fit what a subscriber gets to its share of its link (`budget`, bits per second).

        Several layers: the selector picks one. One quality: every frame if it fits, else
        keyframes only, as often as the share allows.
        """
        if self.info.kind != "video" or subscriber_id not in self.forwarder.subscriber_ids:
            return
        now = self._clock()
        bitrates = self.layer_bitrates()
        if self.layers > 1:
            selector = self._selectors.setdefault(subscriber_id, LayerSelector(self.layers))
            before = selector.target
            layer = selector.update(now, budget, bitrates, loss)
            if layer != before:
                logger.info(
                    "subscriber_layer_target track=%s subscriber=%s layer=%d budget=%s loss=%.2f",
                    self.info.track_id,
                    subscriber_id,
                    layer,
                    None if budget is None else round(budget),
                    loss,
                )
            self._run(self.forwarder.set_target_layer(subscriber_id, layer, now))
            return
        # One quality: the same selector between two rates, keyframes only and every frame.
        keyframe_bits = self._layers[0].keyframe_octets * 8
        thinned_rate = keyframe_bits / THINNED_MAX_INTERVAL
        selector = self._selectors.setdefault(subscriber_id, LayerSelector(2))
        full = selector.update(now, budget, [thinned_rate, bitrates[0]], loss) == 1
        interval = None
        if not full:
            interval = THINNED_MAX_INTERVAL
            if budget:
                interval = max(THINNED_MIN_INTERVAL, min(interval, keyframe_bits / budget))
        self._run(self.forwarder.set_keyframe_interval(subscriber_id, interval, now))

    def current_layer(self, subscriber_id: str) -> int | None:
        """The layer a subscriber gets now (None before its first keyframe, or unknown)."""
        if subscriber_id not in self.forwarder.subscriber_ids:
            return None
        return self.forwarder.current_layer(subscriber_id)

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
        self._selectors.pop(subscriber_id, None)
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
        """Ask the publisher for a keyframe of the top quality (for the recorder), throttled
        with the subscribers' requests; False until its first packet arrived."""
        if self.tap.media_ssrc is None:
            return False
        self._run(self.forwarder.request_keyframe(self._clock(), self.forwarder.top_layer))
        return True

    def close(self) -> None:
        """The publisher's track ended: end every subscriber's copy."""
        self._closed = True
        for subscriber_id in list(self._outputs):
            self.remove_subscriber(subscriber_id)

    def _on_source_change(self, layer: int = 0) -> None:
        logger.info("publisher_source_changed track=%s layer=%d", self.info.track_id, layer)
        self._run(self.forwarder.reanchor(self._clock(), layer))
        if layer == self.forwarder.top_layer:
            self._tell_sinks(lambda sink: sink.on_source_change())

    def _on_source_loss(self, layer: int = 0) -> None:
        logger.info("publisher_stream_loss track=%s layer=%d", self.info.track_id, layer)
        self._run(self.forwarder.on_source_loss(self._clock(), layer))
        if layer == self.forwarder.top_layer:
            self._tell_sinks(lambda sink: sink.on_loss())

    def _on_frame(self, frame: EncodedFrame, layer: int = 0) -> None:
        if self._closed:
            return
        now = self._clock()
        state = self._layers[layer]
        state.meter.add(len(frame.data), now)
        if frame.keyframe:
            state.keyframe_octets = len(frame.data)
        self._run(self.forwarder.on_frame(frame, now, layer), layer)
        # The recorder keeps the best quality.
        if layer == self.forwarder.top_layer:
            self._tell_sinks(lambda sink: sink.on_frame(frame))

    def _tell_sinks(self, call: Callable[[FrameSink], None]) -> None:
        for sink in list(self._sinks):
            try:
                call(sink)
            except Exception:
                # A failing recorder must not stop forwarding to the participants.
                logger.exception("frame_sink_failed track=%s", self.info.track_id)

    def _payloads(self, frame: EncodedFrame, layer: int = 0) -> list[bytes]:
        # Every subscriber's Deliver carries the same data object; packetize it once.
        state = self._layers[layer]
        cached = state.packetized
        if cached is not None and cached[0] is frame.data:
            return cached[1]
        payloads = state.packetizer.packetize(frame.data)
        state.packetized = (frame.data, payloads)
        return payloads

    def _run(self, actions: list[Action], layer: int = 0) -> None:
        """Carry out the forwarder's actions; Deliver only comes from `on_frame` of `layer`."""
        for action in actions:
            if isinstance(action, Deliver):
                output = self._outputs.get(action.subscriber_id)
                if output is None:
                    continue
                if output.sends_directly:
                    payloads = self._payloads(action.frame, layer)
                    delivered = output.send(payloads, action.frame.timestamp)
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
                self._layers[action.layer].tap.request_keyframe()
