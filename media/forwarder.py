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

Kind = Literal["audio", "video"]


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand `frame` (already rebased to the subscriber's timeline) to one subscriber."""

    subscriber_id: str
    frame: EncodedFrame


@dataclass(frozen=True, slots=True)
class RequestKeyframe:
    """Ask the publisher for a keyframe (an RTCP PLI on the publisher's connection)."""


Action = Deliver | RequestKeyframe


@dataclass(slots=True)
class _Subscriber:
    rebaser: TimestampRebaser
    waiting_for_keyframe: bool
    paused: bool = False


@dataclass(slots=True)
class _KeyframeRequests:
    interval: float
    retry_interval: float
    pending: bool = False
    last_sent: float | None = None
    sent: int = field(default=0)


class Forwarder:
    """Decides, frame by frame, which subscribers get a published track's frames.

    Video subscribers receive nothing until a keyframe (on subscribe, on resume, and after a
    dropped frame), because a delta frame without its references decodes to garbage. Requests
    for keyframes from any source are collapsed to at most one per `keyframe_request_interval`.
    """

    def __init__(
        self,
        kind: Kind,
        clock_rate: int,
        *,
        keyframe_request_interval: float = KEYFRAME_REQUEST_INTERVAL,
        keyframe_retry_interval: float = KEYFRAME_RETRY_INTERVAL,
    ) -> None:
        self.kind: Kind = kind
        self.clock_rate = clock_rate
        self._subscribers: dict[str, _Subscriber] = {}
        self._requests = _KeyframeRequests(keyframe_request_interval, keyframe_retry_interval)

    @property
    def subscriber_ids(self) -> list[str]:
        """The current subscribers, in the order they subscribed."""
        return list(self._subscribers)

    @property
    def keyframe_requests_sent(self) -> int:
        """How many keyframe requests this forwarder has asked the publisher for."""
        return self._requests.sent

    def is_waiting_for_keyframe(self, subscriber_id: str) -> bool:
        """Whether a subscriber is held back until the next keyframe."""
        return self._subscribers[subscriber_id].waiting_for_keyframe

    def subscribe(self, subscriber_id: str, now: float) -> list[Action]:
        """Add a subscriber; a video subscriber waits for a keyframe, requested at once."""
        self._subscribers[subscriber_id] = _Subscriber(
            rebaser=TimestampRebaser(self.clock_rate),
            waiting_for_keyframe=self._is_video,
        )
        return self._ask_for_keyframe(now) if self._is_video else []

    def unsubscribe(self, subscriber_id: str) -> None:
        """Remove a subscriber; unknown ids are ignored."""
        self._subscribers.pop(subscriber_id, None)

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
        return self._ask_for_keyframe(now)

    def reanchor(self, now: float) -> list[Action]:
        """The source changed (new publisher stream): continue every timeline from a keyframe."""
        for subscriber in self._subscribers.values():
            subscriber.rebaser.reanchor()
            subscriber.waiting_for_keyframe = self._is_video
        return self._ask_for_keyframe(now) if self._is_video else []

    def on_source_loss(self, now: float) -> list[Action]:
        """The publisher's stream lost data for good: hold every subscriber until a keyframe.

        Forwarding the delta frames that follow a hole would show smeared, wrong pictures until
        the next keyframe; a short freeze is the honest picture (think of imaging on a board).
        """
        if not self._is_video:
            return []
        for subscriber in self._subscribers.values():
            subscriber.waiting_for_keyframe = True
        return self._ask_for_keyframe(now)

    def on_frame(self, frame: EncodedFrame, now: float) -> list[Action]:
        """Route one frame from the publisher to every subscriber that can use it."""
        actions: list[Action] = []
        for subscriber_id, subscriber in self._subscribers.items():
            if subscriber.paused:
                continue
            if subscriber.waiting_for_keyframe:
                if not frame.keyframe:
                    continue
                subscriber.waiting_for_keyframe = False
            timestamp = subscriber.rebaser.map(frame.timestamp, now)
            # Built directly: `dataclasses.replace` costs several times more, once per
            # subscriber per frame.
            actions.append(
                Deliver(subscriber_id, EncodedFrame(frame.data, timestamp, frame.keyframe))
            )
        if self._is_video:
            if frame.keyframe:
                # This keyframe answers every request made before it arrived.
                self._requests.pending = False
            actions.extend(self._flush_keyframe_request(now))
        return actions

    def on_keyframe_request(self, subscriber_id: str, now: float) -> list[Action]:
        """A subscriber's PLI or FIR: pass it on to the publisher, throttled."""
        if not self._is_video or subscriber_id not in self._subscribers:
            return []
        return self._ask_for_keyframe(now)

    def on_dropped(self, subscriber_id: str, now: float) -> list[Action]:
        """A subscriber's queue overflowed and lost frames: resume it from a keyframe."""
        subscriber = self._subscribers.get(subscriber_id)
        if subscriber is None or not self._is_video:
            return []
        subscriber.waiting_for_keyframe = True
        return self._ask_for_keyframe(now)

    @property
    def _is_video(self) -> bool:
        return self.kind == "video"

    def _ask_for_keyframe(self, now: float) -> list[Action]:
        self._requests.pending = True
        return self._flush_keyframe_request(now)

    def _flush_keyframe_request(self, now: float) -> list[Action]:
        requests = self._requests
        since_last = None if requests.last_sent is None else now - requests.last_sent
        if since_last is not None and since_last < requests.interval:
            return []  # throttled; a later frame or event sends it
        anyone_waiting = any(
            s.waiting_for_keyframe and not s.paused for s in self._subscribers.values()
        )
        retry_due = anyone_waiting and (since_last is None or since_last >= requests.retry_interval)
        if not (requests.pending or retry_due):
            return []
        requests.pending = False
        requests.last_sent = now
        requests.sent += 1
        return [RequestKeyframe()]
