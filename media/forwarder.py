"""The forwarding rules for one published track fanned out to many subscribers.

Pure logic with no I/O and no asyncio: it is fed frames and events with the current monotonic
time and returns the actions to take, so every rule is tested frame by frame without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from media.frames import EncodedFrame
from media.timestamps import TimestampRebaser

# Many subscribers losing a picture at once (one network hiccup) must cost the publisher one
# keyframe, not one per subscriber: keyframes are 5-10 times the size of a delta frame.
KEYFRAME_REQUEST_INTERVAL = 0.3
# A request can be lost (RTCP over UDP) or ignored; ask again while anyone still waits.
KEYFRAME_RETRY_INTERVAL = 1.0
# A simulcast source's top layer feeds every strong subscriber and the recorder: a weak
# subscriber's troubles must not cost all of them a keyframe more often than this.
TOP_LAYER_KEYFRAME_INTERVAL = 1.0

Kind = Literal["audio", "video"]


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand `frame` (already rebased to the subscriber's timeline) to one subscriber."""

    subscriber_id: str
    frame: EncodedFrame


@dataclass(frozen=True, slots=True)
class RequestKeyframe:
    """Ask the publisher for a keyframe of one layer (an RTCP PLI on that layer's receiver)."""

    layer: int = 0


Action = Deliver | RequestKeyframe


@dataclass(slots=True)
class _Subscriber:
    rebaser: TimestampRebaser
    waiting_for_keyframe: bool
    target: int
    # The layer whose frames it gets now; None until its first keyframe.
    layer: int | None
    paused: bool = False
    # Keyframes only, at most one per this many seconds (a link too weak for every frame).
    keyframe_interval: float | None = None
    # Whether delta frames are held back now: thinning starts at once, ends at a keyframe
    # (the deltas after it reference pictures the subscriber never got).
    thinned: bool = False


@dataclass(slots=True)
class _KeyframeRequests:
    interval: float
    retry_interval: float
    pending: bool = False
    last_sent: float | None = None
    last_keyframe: float | None = None
    sent: int = field(default=0)


class Forwarder:
    """Decides, frame by frame, which subscribers get a published track's frames.

    Video subscribers receive nothing until a keyframe (on subscribe, on resume, and after a
    dropped frame), because a delta frame without its references decodes to garbage. Requests
    for keyframes from any source are collapsed to at most one per `keyframe_request_interval`.

    A simulcast source has several layers (0 the lowest quality, `layers - 1` the top), each its
    own encoded stream; every subscriber gets the frames of one layer, and moves to the layer it
    is given as a target at that layer's next keyframe, on the same continuous timeline. The top
    layer, which every strong subscriber and the recorder take, is asked for a keyframe at most
    once per `top_layer_keyframe_interval`.
    """

    def __init__(
        self,
        kind: Kind,
        clock_rate: int,
        *,
        layers: int = 1,
        keyframe_request_interval: float = KEYFRAME_REQUEST_INTERVAL,
        keyframe_retry_interval: float = KEYFRAME_RETRY_INTERVAL,
        top_layer_keyframe_interval: float = TOP_LAYER_KEYFRAME_INTERVAL,
    ) -> None:
        if layers < 1:
            raise ValueError("a track has at least one layer")
        self.kind: Kind = kind
        self.clock_rate = clock_rate
        self.layers = layers
        self._subscribers: dict[str, _Subscriber] = {}
        self._requests = [
            _KeyframeRequests(
                max(keyframe_request_interval, top_layer_keyframe_interval)
                if layers > 1 and layer == layers - 1
                else keyframe_request_interval,
                keyframe_retry_interval,
            )
            for layer in range(layers)
        ]

    @property
    def top_layer(self) -> int:
        """The best quality's layer index."""
        return self.layers - 1

    @property
    def subscriber_ids(self) -> list[str]:
        """The current subscribers, in the order they subscribed."""
        return list(self._subscribers)

    @property
    def keyframe_requests_sent(self) -> int:
        """How many keyframe requests this forwarder has asked the publisher for."""
        return sum(r.sent for r in self._requests)

    def keyframe_requests_sent_for(self, layer: int) -> int:
        """How many keyframe requests went to one layer."""
        return self._requests[layer].sent

    def is_waiting_for_keyframe(self, subscriber_id: str) -> bool:
        """Whether a subscriber is held back until the next keyframe."""
        return self._subscribers[subscriber_id].waiting_for_keyframe

    def current_layer(self, subscriber_id: str) -> int | None:
        """The layer a subscriber gets frames of now (None before its first keyframe)."""
        return self._subscribers[subscriber_id].layer

    def target_layer(self, subscriber_id: str) -> int:
        """The layer a subscriber is moving to (or is on)."""
        return self._subscribers[subscriber_id].target

    def subscribe(self, subscriber_id: str, now: float, layer: int | None = None) -> list[Action]:
        """Add a subscriber (on the top layer unless told); video waits for a keyframe."""
        target = self._layer(self.top_layer if layer is None else layer)
        self._subscribers[subscriber_id] = _Subscriber(
            rebaser=TimestampRebaser(self.clock_rate),
            waiting_for_keyframe=self._is_video,
            target=target,
            layer=None if self._is_video else target,
        )
        return self._ask_for_keyframe(now, target) if self._is_video else []

    def unsubscribe(self, subscriber_id: str) -> None:
        """Remove a subscriber; unknown ids are ignored."""
        self._subscribers.pop(subscriber_id, None)

    def set_target_layer(self, subscriber_id: str, layer: int, now: float) -> list[Action]:
        """Move a subscriber to `layer` at that layer's next keyframe, asked for at once.

        Until it comes the subscriber keeps getting its current layer, so a switch never
        freezes the picture.
        """
        subscriber = self._subscribers.get(subscriber_id)
        layer = self._layer(layer)
        if subscriber is None or subscriber.target == layer:
            return []
        subscriber.target = layer
        if subscriber.layer == layer and not subscriber.waiting_for_keyframe:
            return []  # back to the layer it is on: nothing to wait for
        return self._ask_for_keyframe(now, layer) if not subscriber.paused else []

    def set_keyframe_interval(
        self, subscriber_id: str, interval: float | None, now: float
    ) -> list[Action]:
        """Send a subscriber keyframes only, one per `interval` seconds (None: every frame).

        For a single-layer source (a screen share) on a link too weak for all of it: a lower
        frame rate rather than no picture. Delta frames cannot be skipped alone (each refers to
        the one before), so the lower rate is made of keyframes, which are asked for as needed.
        """
        subscriber = self._subscribers.get(subscriber_id)
        if subscriber is None or not self._is_video or subscriber.keyframe_interval == interval:
            return []
        subscriber.keyframe_interval = interval
        if interval is not None:
            subscriber.thinned = True
        return self._flush_keyframe_request(now, subscriber.target)

    def pause(self, subscriber_id: str) -> None:
        """Stop forwarding to a subscriber (muted, or showing another layer)."""
        self._subscribers[subscriber_id].paused = True

    def resume(self, subscriber_id: str, now: float) -> list[Action]:
        """Forward again; video restarts at the next keyframe, requested at once."""
        subscriber = self._subscribers[subscriber_id]
        if not subscriber.paused:
            return []
        subscriber.paused = False
        if not self._is_video:
            return []
        subscriber.waiting_for_keyframe = True
        return self._ask_for_keyframe(now, subscriber.target)

    def reanchor(self, now: float, layer: int = 0) -> list[Action]:
        """A layer's source changed (new publisher stream): continue its subscribers'
        timelines from a keyframe."""
        targets: set[int] = set()
        for subscriber in self._subscribers.values():
            if subscriber.layer not in (layer, None):
                continue
            subscriber.rebaser.reanchor()
            if self._is_video:
                subscriber.waiting_for_keyframe = True
                targets.add(subscriber.target)
        return self._ask_for_keyframes(now, targets)

    def on_source_loss(self, now: float, layer: int = 0) -> list[Action]:
        """A layer's stream lost data for good: hold its subscribers until a keyframe.

        Forwarding the delta frames that follow a hole would show smeared, wrong pictures until
        the next keyframe; a short freeze is the honest picture (think of imaging on a board).
        """
        if not self._is_video:
            return []
        targets: set[int] = set()
        for subscriber in self._subscribers.values():
            if subscriber.layer in (layer, None):
                subscriber.waiting_for_keyframe = True
                targets.add(subscriber.target)
        return self._ask_for_keyframes(now, targets)

    def on_frame(self, frame: EncodedFrame, now: float, layer: int = 0) -> list[Action]:
        """Route one frame of `layer` to every subscriber that can use it."""
        actions: list[Action] = []
        keyframe = frame.keyframe
        for subscriber_id, subscriber in self._subscribers.items():
            if subscriber.paused:
                continue
            if keyframe and (
                layer == subscriber.target
                or (layer == subscriber.layer and subscriber.waiting_for_keyframe)
            ):
                if subscriber.layer is not None and subscriber.layer != layer:
                    # Another layer is another encoder with its own timestamp origin.
                    subscriber.rebaser.reanchor()
                subscriber.layer = layer
                subscriber.waiting_for_keyframe = False
                subscriber.thinned = subscriber.keyframe_interval is not None
            elif (
                layer != subscriber.layer
                or subscriber.waiting_for_keyframe
                or (subscriber.thinned and not keyframe)
            ):
                continue
            timestamp = subscriber.rebaser.map(frame.timestamp, now)
            # Built directly: `dataclasses.replace` costs several times more, once per
            # subscriber per frame.
            actions.append(Deliver(subscriber_id, EncodedFrame(frame.data, timestamp, keyframe)))
        if self._is_video:
            requests = self._requests[layer]
            if keyframe:
                # This keyframe answers every request made before it arrived.
                requests.pending = False
                requests.last_keyframe = now
            actions.extend(self._flush_keyframe_request(now, layer))
        return actions

    def on_keyframe_request(self, subscriber_id: str, now: float) -> list[Action]:
        """A subscriber's PLI or FIR: passed on to the layer it is given, throttled."""
        subscriber = self._subscribers.get(subscriber_id)
        if not self._is_video or subscriber is None:
            return []
        return self._ask_for_keyframe(now, subscriber.target)

    def request_keyframe(self, now: float, layer: int) -> list[Action]:
        """Someone besides the subscribers (the recorder) needs a keyframe of `layer`: asked
        for under the same limits as theirs."""
        if not self._is_video:
            return []
        return self._ask_for_keyframe(now, self._layer(layer))

    def on_dropped(self, subscriber_id: str, now: float) -> list[Action]:
        """A subscriber's queue overflowed and lost frames: resume it from a keyframe."""
        subscriber = self._subscribers.get(subscriber_id)
        if subscriber is None or not self._is_video:
            return []
        subscriber.waiting_for_keyframe = True
        return self._ask_for_keyframe(now, subscriber.target)

    @property
    def _is_video(self) -> bool:
        return self.kind == "video"

    def _layer(self, layer: int) -> int:
        if not 0 <= layer < self.layers:
            raise ValueError(f"layer {layer} of a track with {self.layers}")
        return layer

    def _ask_for_keyframes(self, now: float, layers: set[int]) -> list[Action]:
        actions: list[Action] = []
        for layer in sorted(layers):
            actions.extend(self._ask_for_keyframe(now, layer))
        return actions

    def _ask_for_keyframe(self, now: float, layer: int) -> list[Action]:
        self._requests[layer].pending = True
        return self._flush_keyframe_request(now, layer)

    def _flush_keyframe_request(self, now: float, layer: int) -> list[Action]:
        requests = self._requests[layer]
        since_last = None if requests.last_sent is None else now - requests.last_sent
        if since_last is not None and since_last < requests.interval:
            return []  # throttled; a later frame or event sends it
        retry_due = (since_last is None or since_last >= requests.retry_interval) and (
            self._anyone_waiting(layer)
        )
        if not (requests.pending or retry_due or self._thinned_keyframe_due(layer, now)):
            return []
        requests.pending = False
        requests.last_sent = now
        requests.sent += 1
        return [RequestKeyframe(layer)]

    def _anyone_waiting(self, layer: int) -> bool:
        return any(
            s.target == layer and (s.waiting_for_keyframe or s.layer != layer) and not s.paused
            for s in self._subscribers.values()
        )

    def _thinned_keyframe_due(self, layer: int, now: float) -> bool:
        """Whether a subscriber that only gets keyframes of `layer` is due its next one."""
        requests = self._requests[layer]
        # Counted from the last keyframe, or from the last request while one is on its way.
        since = max(
            (t for t in (requests.last_keyframe, requests.last_sent) if t is not None),
            default=None,
        )
        for s in self._subscribers.values():
            interval = s.keyframe_interval
            if interval is None or s.paused or s.target != layer:
                continue
            if since is None or now - since >= interval:
                return True
        return False
