"""An SFU room: the aiortc peer connections of its publishers and subscribers.

Each participant has up to two connections, as in most SFUs: one on which it publishes (the
participant offers, the SFU answers and receives) and one on which it subscribes (the SFU offers
every other participant's tracks, the participant answers). Frames move from a publisher's
receiver to subscribers' senders encoded, through `PublishedTrack`.

A camera published in several qualities (simulcast by transceivers: one video section per
quality, grouped by the publish message's `layers`) is one `PublishedTrack` with a receiver per
layer; each subscriber gets one video track of it. Twice a second the room shares each
subscriber's link estimate (from the RTCP its connection sends back) among the tracks it
receives, and each track fits what it forwards to its share.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError
from aiortc.sdp import candidate_from_sdp

from media.aiortc_tap.sender import set_stream_id, watch_feedback
from media.codecs import (
    AUDIO_CODECS,
    DEFAULT_VIDEO_CODECS,
    MediaSection,
    capabilities_for,
    choose_codec,
    clock_rate_for,
    media_sections,
)
from media.errors import MediaError
from media.events import MediaEvent, TrackPublished, TrackUnpublished
from media.forwarder import Kind
from media.link_estimate import LinkEstimate
from media.published_track import PublishedTrack, TrackInfo
from media.stream_allocator import VideoDemand, audio_bitrate, split_budget

logger = logging.getLogger(__name__)

_ENDED_STATES = {"failed", "closed"}
# How often each subscriber's qualities are chosen again. Receivers report about once a second.
ALLOCATE_INTERVAL = 0.5
# A receiver's first estimates describe its start, not its link: they are not acted on sooner.
FEEDBACK_SETTLE = 2.0

Connection = Literal["publish", "subscribe"]

# What aiortc raises for a description it cannot apply (malformed, or wrong for the state).
_REJECTED_DESCRIPTION = (ValueError, InvalidAccessError, InvalidStateError, InternalError)


@dataclass(frozen=True, slots=True)
class SubscriptionOffer:
    """The SFU's offer to a subscriber, and which published track each m= section carries."""

    sdp: str
    tracks_by_mid: dict[str, TrackInfo]


class TrackObserver(Protocol):
    """Told when a room's tracks come and go (the recorder follows a room this way)."""

    def track_added(self, track: PublishedTrack) -> None:
        """A track was published (or was already when observing began)."""
        ...

    def track_removed(self, track: PublishedTrack) -> None:
        """A published track ended."""
        ...


@dataclass(slots=True)
class _Publisher:
    pc: RTCPeerConnection
    generation: int  # which of the room's publish connections this is (see _accept_track)
    tracks_by_mid: dict[str, PublishedTrack] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _SubscriberFeedback:
    """Feeds a subscriber's RTCP feedback (from every one of its senders) to its link estimate."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.link = LinkEstimate(settle=FEEDBACK_SETTLE)

    def on_remb(self, bitrate: float) -> None:
        self.link.on_remb(bitrate, self._clock())

    def on_report(self, fraction_lost: float, jitter: float) -> None:
        self.link.on_report(fraction_lost, jitter, self._clock())

    def on_nacks(self, count: int) -> None:
        self.link.on_nacks(count, self._clock())


@dataclass(slots=True)
class _Subscriber:
    pc: RTCPeerConnection
    feedback: _SubscriberFeedback
    transceivers: dict[str, RTCRtpTransceiver] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Room:
    """Publishers' tracks forwarded, still encoded, to every other participant in the room."""

    def __init__(
        self,
        room_id: str,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        video_codecs: Sequence[str] = DEFAULT_VIDEO_CODECS,
        on_event: Callable[[MediaEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room_id = room_id
        # Empty by default: the closed network cannot reach aiortc's default public STUN server.
        self._ice_servers = list(ice_servers)
        self._video_codecs = tuple(video_codecs)
        self._on_event = on_event
        self._clock = clock
        self._publishers: dict[str, _Publisher] = {}
        self._subscribers: dict[str, _Subscriber] = {}
        self._tracks: dict[str, PublishedTrack] = {}
        self._publish_connections = 0  # publish connections ever made, for unique track ids
        self._closed = False
        self._observers: list[TrackObserver] = []
        self._allocating: asyncio.Task[None] | None = None

    @property
    def tracks(self) -> list[TrackInfo]:
        """The tracks currently published in the room."""
        return [t.info for t in self._tracks.values() if not t.closed]

    @property
    def publisher_count(self) -> int:
        """Participants with a publishing connection."""
        return len(self._publishers)

    @property
    def subscriber_count(self) -> int:
        """Participants with a subscribing connection."""
        return len(self._subscribers)

    @property
    def forwarded_streams(self) -> int:
        """Track copies the room forwards: one per (published track, subscriber) pair."""
        return sum(t.subscriber_count for t in self._tracks.values() if not t.closed)

    @property
    def published_tracks(self) -> list[PublishedTrack]:
        """The forwarding state of every track currently published."""
        return [t for t in self._tracks.values() if not t.closed]

    def observe(self, observer: TrackObserver) -> None:
        """Tell `observer` about every track published now and from now on, and their end."""
        self._observers.append(observer)
        for track in self.published_tracks:
            observer.track_added(track)

    def unobserve(self, observer: TrackObserver) -> None:
        """Stop telling `observer` about tracks."""
        if observer in self._observers:
            self._observers.remove(observer)

    def published_track(self, track_id: str) -> PublishedTrack:
        """The forwarding state of one published track."""
        try:
            return self._tracks[track_id]
        except KeyError:
            raise MediaError("track_not_found", f"no track {track_id}") from None

    def connection(self, peer_id: str, connection: Connection) -> RTCPeerConnection | None:
        """A participant's publishing or subscribing peer connection (for stats and tests)."""
        peers = self._publishers if connection == "publish" else self._subscribers
        peer = peers.get(peer_id)
        return None if peer is None else peer.pc

    def subscription_senders(self, peer_id: str) -> dict[str, RTCRtpSender]:
        """The SFU's sender for each track a participant subscribes to, by track id."""
        subscriber = self._subscribers.get(peer_id)
        if subscriber is None:
            return {}
        return {track_id: t.sender for track_id, t in subscriber.transceivers.items()}

    async def publish(
        self, peer_id: str, offer_sdp: str, layers: Sequence[Sequence[str]] = ()
    ) -> str:
        """Accept a publisher's offer (first or renegotiated) and return the SFU's answer.

        `layers` groups video mids that carry one camera in several qualities, best first.
        """
        self._check_open()
        publisher = self._publishers.get(peer_id)
        is_new = publisher is None
        if publisher is None:
            self._publish_connections += 1
            publisher = _Publisher(
                self._new_connection(peer_id, self._drop_publisher), self._publish_connections
            )
            self._publishers[peer_id] = publisher
        try:
            async with publisher.lock:
                return await self._negotiate_publisher(peer_id, publisher, offer_sdp, layers)
        except MediaError:
            if is_new:
                await self._drop_publisher(peer_id, publisher.pc)
            raise

    async def _negotiate_publisher(
        self, peer_id: str, publisher: _Publisher, offer_sdp: str, layers: Sequence[Sequence[str]]
    ) -> str:
        pc = publisher.pc
        sections = {s.mid: s for s in media_sections(offer_sdp) if s.kind in ("audio", "video")}
        if not sections:
            raise MediaError("bad_sdp", "a publishing offer needs an audio or video section")
        # Groups already published are a renegotiation repeating them.
        groups = [
            list(group)
            for group in _checked_layers(layers, sections)
            if not all(mid in publisher.tracks_by_mid for mid in group)
        ]
        if any(mid in publisher.tracks_by_mid for group in groups for mid in group):
            raise MediaError("bad_layers", "a camera's layers are published together")
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except _REJECTED_DESCRIPTION as exc:
            raise MediaError("bad_sdp", str(exc) or type(exc).__name__) from exc
        accepted: list[tuple[RTCRtpTransceiver, MediaSection, str]] = []
        for transceiver in pc.getTransceivers():
            section = sections.get(transceiver.mid or "")
            if section is None or section.mid in publisher.tracks_by_mid:
                continue
            if section.remote_sends:
                accepted.append((transceiver, section, self._codec_for(section)))
        lower = {group[0]: group[1:] for group in groups}
        lower_mids = {mid for group in groups for mid in group[1:]}
        by_mid = {section.mid: transceiver for transceiver, section, _ in accepted}
        # Taps go in before the answer, so before any media can arrive.
        new_tracks = [
            self._accept_track(
                peer_id,
                publisher.generation,
                transceiver,
                section,
                codec,
                [by_mid[mid] for mid in lower.get(section.mid, ()) if mid in by_mid],
            )
            for transceiver, section, codec in accepted
            if section.mid not in lower_mids
        ]
        for track in new_tracks:
            for mid in track.mids:
                publisher.tracks_by_mid[mid] = track.published
        await pc.setLocalDescription(await pc.createAnswer())
        ended = [
            mid
            for mid, track in publisher.tracks_by_mid.items()
            if self._stopped_sending(pc, mid) and not track.closed
        ]
        for mid in ended:
            self._unpublish(publisher.tracks_by_mid.pop(mid))
        for track in new_tracks:
            if not track.published.closed:
                self._tracks[track.published.info.track_id] = track.published
                self._emit(TrackPublished(self.room_id, track.published.info))
                self._notify_added(track.published)
        return pc.localDescription.sdp

    async def subscribe(self, peer_id: str) -> SubscriptionOffer:
        """Offer a participant every other participant's tracks (call again after changes)."""
        self._check_open()
        subscriber = self._subscribers.get(peer_id)
        if subscriber is None:
            subscriber = _Subscriber(
                self._new_connection(peer_id, self._drop_subscriber),
                _SubscriberFeedback(self._clock),
            )
            self._subscribers[peer_id] = subscriber
        if self._allocating is None:
            self._allocating = asyncio.ensure_future(self._allocate_every_interval())
        async with subscriber.lock:
            pc = subscriber.pc
            if pc.signalingState != "stable":
                raise MediaError(
                    "renegotiation_pending", "answer the previous offer before subscribing again"
                )
            for track_id, transceiver in list(subscriber.transceivers.items()):
                track = self._tracks.get(track_id)
                if track is None or track.closed:
                    # Tells the browser the track ended; the m= section stays for reuse rules.
                    transceiver.direction = "inactive"
                    del subscriber.transceivers[track_id]
            for track in list(self._tracks.values()):
                info = track.info
                if info.publisher_id == peer_id or track.closed:
                    continue
                if info.track_id in subscriber.transceivers:
                    continue
                output = track.add_subscriber(peer_id)
                transceiver = pc.addTransceiver(output, direction="sendonly")
                transceiver.setCodecPreferences(capabilities_for(info.kind, info.codec))
                set_stream_id(transceiver.sender, info.stream_id)
                track.attach_sender(peer_id, transceiver.sender)
                watch_feedback(transceiver.sender, track.clock_rate, subscriber.feedback)
                subscriber.transceivers[info.track_id] = transceiver
            # Taken before awaiting: a track unpublished meanwhile (its replacement has another
            # id) leaves `_tracks`; the event schedules the next offer, which drops it.
            infos = {track_id: self._tracks[track_id].info for track_id in subscriber.transceivers}
            await pc.setLocalDescription(await pc.createOffer())
            tracks_by_mid = {
                transceiver.mid: infos[track_id]
                for track_id, transceiver in subscriber.transceivers.items()
                if transceiver.mid is not None
            }
            return SubscriptionOffer(sdp=pc.localDescription.sdp, tracks_by_mid=tracks_by_mid)

    async def answer(self, peer_id: str, answer_sdp: str) -> None:
        """Apply a subscriber's answer to the SFU's last offer."""
        subscriber = self._subscribers.get(peer_id)
        if subscriber is None:
            raise MediaError("not_subscribed", f"{peer_id} has no subscription offer to answer")
        async with subscriber.lock:
            try:
                await subscriber.pc.setRemoteDescription(
                    RTCSessionDescription(answer_sdp, "answer")
                )
            except _REJECTED_DESCRIPTION as exc:
                raise MediaError("bad_sdp", str(exc) or type(exc).__name__) from exc

    async def add_ice_candidate(
        self,
        peer_id: str,
        connection: Connection,
        candidate: str | None,
        sdp_mid: str | None = None,
        sdp_mline_index: int | None = None,
    ) -> None:
        """Add a participant's trickled ICE candidate (`a=candidate` value); None ends them.

        The SFU's own descriptions carry all its candidates (aiortc gathers before answering),
        so candidates only flow from the participant to the SFU.
        """
        pc = self.connection(peer_id, connection)
        if pc is None:
            raise MediaError("not_connected", f"{peer_id} has no {connection} connection")
        if candidate is None:
            await pc.addIceCandidate(None)
            return
        value = candidate.removeprefix("a=").removeprefix("candidate:")
        try:
            parsed = candidate_from_sdp(value)
        except (AssertionError, IndexError, ValueError) as exc:
            raise MediaError("bad_candidate", f"cannot parse ICE candidate {candidate!r}") from exc
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index
        try:
            await pc.addIceCandidate(parsed)
        except ValueError as exc:
            raise MediaError("bad_candidate", str(exc)) from exc

    def set_paused(self, peer_id: str, track_id: str, paused: bool) -> None:
        """Pause or resume one track for one subscriber (mute, or a view that hides it)."""
        track = self.published_track(track_id)
        if track.output(peer_id) is None:
            raise MediaError("not_subscribed", f"{peer_id} does not receive {track_id}")
        track.set_paused(peer_id, paused)

    async def leave(self, peer_id: str) -> None:
        """Close a participant's connections and end the tracks it published."""
        publisher = self._publishers.get(peer_id)
        if publisher is not None:
            await self._drop_publisher(peer_id, publisher.pc)
        subscriber = self._subscribers.get(peer_id)
        if subscriber is not None:
            await self._drop_subscriber(peer_id, subscriber.pc)

    async def close_connection(self, peer_id: str, connection: Connection) -> None:
        """Close one of a participant's connections, which its client replaces after a
        failure (aiortc has no ICE restart); a publish connection takes its tracks with it."""
        if connection == "publish":
            publisher = self._publishers.get(peer_id)
            if publisher is not None:
                await self._drop_publisher(peer_id, publisher.pc)
        else:
            subscriber = self._subscribers.get(peer_id)
            if subscriber is not None:
                await self._drop_subscriber(peer_id, subscriber.pc)

    async def close(self) -> None:
        """Close every connection in the room."""
        self._closed = True
        if self._allocating is not None:
            self._allocating.cancel()
        for peer_id in set(self._publishers) | set(self._subscribers):
            await self.leave(peer_id)

    async def _allocate_every_interval(self) -> None:
        while not self._closed:
            await asyncio.sleep(ALLOCATE_INTERVAL)
            try:
                self.allocate()
            except Exception:
                # Quality stays as it was; forwarding goes on.
                logger.exception("quality_allocation_failed room=%s", self.room_id)

    def allocate(self) -> None:
        """Fit what each subscriber gets to what its link sustains, from its latest feedback."""
        now = self._clock()
        for peer_id, subscriber in self._subscribers.items():
            tracks = [self._tracks.get(track_id) for track_id in subscriber.transceivers]
            live = [t for t in tracks if t is not None and not t.closed]
            outputs = [o for o in (t.output(peer_id) for t in live) if o is not None]
            link = subscriber.feedback.link
            link.on_sent(
                sum(o.packets_sent for o in outputs), sum(o.octets_sent for o in outputs), now
            )
            videos = [t for t in live if t.info.kind == "video"]
            audio = audio_bitrate([t.layer_bitrates()[0] for t in live if t.info.kind == "audio"])
            available = link.available(now, audio)
            shares: dict[str, float] = {}
            if available is not None:
                demands = [VideoDemand(t.info.track_id, t.layer_bitrates()) for t in videos]
                shares = split_budget(available, demands)
            loss = link.loss(now)
            for track in videos:
                track.choose_quality(peer_id, shares.get(track.info.track_id), loss)
                if not logger.isEnabledFor(logging.DEBUG):
                    continue
                logger.debug(
                    "quality room=%s subscriber=%s track=%s available=%s share=%s loss=%.2f "
                    "layers=%s layer=%s",
                    self.room_id,
                    peer_id,
                    track.info.track_id,
                    available,
                    shares.get(track.info.track_id),
                    loss,
                    [round(b) for b in track.layer_bitrates()],
                    track.current_layer(peer_id),
                )

    def _codec_for(self, section: MediaSection) -> str:
        preferred = self._video_codecs if section.kind == "video" else AUDIO_CODECS
        codec = choose_codec(section.codecs, preferred)
        if codec is None:
            raise MediaError(
                "no_common_codec",
                f"{section.kind} offers {section.codecs}, the SFU forwards {preferred}",
            )
        return codec

    def _accept_track(
        self,
        peer_id: str,
        generation: int,
        transceiver: RTCRtpTransceiver,
        section: MediaSection,
        codec: str,
        lower_layers: Sequence[RTCRtpTransceiver] = (),
    ) -> _NewTrack:
        kind = transceiver.kind
        # One codec per track: subscribers must be offered exactly what the publisher sends,
        # whichever layer they get.
        for receiving in (transceiver, *lower_layers):
            receiving.setCodecPreferences(capabilities_for(kind, codec))
            receiving.direction = "recvonly"
        info = TrackInfo(
            # Unique per publish connection, not just per peer and mid: a replaced connection
            # (publish restart, rejoin) reuses the mids, and its old tracks' m= sections stay,
            # inactive, in each subscriber's offers with their msid; the same id twice there
            # is an offer Chromium rejects (duplicate a=msid), and would also keep the stale
            # transceiver in `subscribe`, which matches transceivers to tracks by id.
            track_id=f"{peer_id}/{generation}/{section.mid}",
            publisher_id=peer_id,
            kind=_kind(kind),
            codec=codec,
            stream_id=section.stream_id or peer_id,
        )
        published = PublishedTrack(
            info,
            transceiver.receiver,
            clock_rate_for(kind),
            lower_layers=[t.receiver for t in lower_layers],
            clock=self._clock,
        )
        mids = [section.mid, *(t.mid for t in lower_layers if t.mid is not None)]
        return _NewTrack(mids, published)

    def _stopped_sending(self, pc: RTCPeerConnection, mid: str) -> bool:
        for transceiver in pc.getTransceivers():
            if transceiver.mid == mid:
                return transceiver.currentDirection not in ("recvonly", "sendrecv")
        return True

    def _unpublish(self, track: PublishedTrack) -> None:
        if track.closed:
            return
        track.close()
        self._tracks.pop(track.info.track_id, None)
        self._emit(TrackUnpublished(self.room_id, track.info))
        self._notify(lambda observer: observer.track_removed(track))

    async def _drop_publisher(self, peer_id: str, pc: RTCPeerConnection) -> None:
        publisher = self._publishers.get(peer_id)
        # The connection may already have been replaced by a rejoin with the same peer id.
        if publisher is None or publisher.pc is not pc:
            return
        del self._publishers[peer_id]
        for track in publisher.tracks_by_mid.values():
            self._unpublish(track)
        await pc.close()

    async def _drop_subscriber(self, peer_id: str, pc: RTCPeerConnection) -> None:
        subscriber = self._subscribers.get(peer_id)
        if subscriber is None or subscriber.pc is not pc:
            return
        del self._subscribers[peer_id]
        for track_id in subscriber.transceivers:
            track = self._tracks.get(track_id)
            if track is not None:
                track.remove_subscriber(peer_id)
        await pc.close()

    def _new_connection(
        self,
        peer_id: str,
        on_end: Callable[[str, RTCPeerConnection], Awaitable[None]],
    ) -> RTCPeerConnection:
        # One transport for every m= section from the start: with aiortc's default (balanced)
        # policy, a second track of a kind in a first offer keeps a transport of its own that
        # bundling never replaces, and a browser, which bundles, never receives it.
        pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=list(self._ice_servers), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
            )
        )

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in _ENDED_STATES:
                logger.info(
                    "connection_ended room=%s peer=%s state=%s",
                    self.room_id,
                    peer_id,
                    pc.connectionState,
                )
                await on_end(peer_id, pc)

        return pc

    def _emit(self, event: MediaEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                logger.exception("media_event_callback_failed room=%s", self.room_id)

    def _notify_added(self, track: PublishedTrack) -> None:
        self._notify(lambda observer: observer.track_added(track))

    def _notify(self, call: Callable[[TrackObserver], None]) -> None:
        for observer in list(self._observers):
            try:
                call(observer)
            except Exception:
                logger.exception("track_observer_failed room=%s", self.room_id)

    def _check_open(self) -> None:
        if self._closed:
            raise MediaError("room_closed", f"room {self.room_id} is closed")


@dataclass(frozen=True, slots=True)
class _NewTrack:
    mids: list[str]  # the track's section, then its lower layers' sections
    published: PublishedTrack


def _checked_layers(
    layers: Sequence[Sequence[str]], sections: dict[str, MediaSection]
) -> list[Sequence[str]]:
    """The simulcast groups of a publish, each of sending video sections of the offer."""
    seen: set[str] = set()
    for group in layers:
        for mid in group:
            section = sections.get(mid)
            if section is None or section.kind != "video" or not section.remote_sends:
                raise MediaError("bad_layers", f"layer {mid!r} is not a video the offer sends")
            if mid in seen:
                raise MediaError("bad_layers", f"layer {mid!r} is named twice")
            seen.add(mid)
    return [group for group in layers if len(group) > 1]


def _kind(kind: str) -> Kind:
    return "audio" if kind == "audio" else "video"
