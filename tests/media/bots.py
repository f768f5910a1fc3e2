"""aiortc peers that publish synthetic media into an SFU room and decode what they receive."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    pack_remb_fci,
    unpack_remb_fci,
)
from av import AudioFrame, VideoFrame

from media.aiortc_tap.sender import watch_keyframe_requests
from media.codecs import capabilities_for
from media.room import Room
from tests.media.peers import wait_until

WIDTH, HEIGHT = 640, 480
BOX = 96


class MovingBoxTrack(VideoStreamTrack):
    """A gradient (640x480 unless told) with a white box that moves every frame, so every
    frame differs."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self._index = 0
        self._width, self._height = width, height
        self._box = BOX * width // WIDTH
        self._gradient = bytes(x * 255 // width for x in range(width))

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        width, height, box = self._width, self._height, self._box
        frame = VideoFrame(width=width, height=height, format="yuv420p")
        luma, cb, cr = frame.planes
        x0 = (self._index * 7) % (width - box)
        y0 = (self._index * 5) % (height - box)
        pad = bytes(luma.line_size - width)
        plain = self._gradient + pad
        boxed = self._gradient[:x0] + b"\xff" * box + self._gradient[x0 + box :] + pad
        luma.update(b"".join(boxed if y0 <= y < y0 + box else plain for y in range(height)))
        cb.update(b"\x80" * cb.buffer_size)
        cr.update(b"\x80" * cr.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        self._index += 1
        return frame


class ToneTrack(AudioStreamTrack):
    """A 440 Hz-ish square wave, 20 ms mono s16 frames at 48 kHz (not silence, so Opus works)."""

    async def recv(self) -> AudioFrame:
        frame = await super().recv()
        assert isinstance(frame, AudioFrame)
        samples = frame.samples
        period = 48000 // 440
        wave = b"".join(
            (8000 if (i // (period // 2)) % 2 else -8000).to_bytes(2, "little", signed=True)
            for i in range(samples)
        )
        frame.planes[0].update(wave)
        return frame


class PublisherBot:
    """Publishes a moving-box video track and a tone audio track into a room."""

    def __init__(self, peer_id: str, video_codec: str = "VP8") -> None:
        self.peer_id = peer_id
        self.video_codec = video_codec
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video = MovingBoxTrack()
        self.audio = ToneTrack()
        video_transceiver = self.pc.addTransceiver(self.video, direction="sendonly")
        video_transceiver.setCodecPreferences(capabilities_for("video", video_codec))
        self.video_sender: RTCRtpSender = video_transceiver.sender
        self.audio_sender = self.pc.addTransceiver(self.audio, direction="sendonly").sender
        self.keyframe_requests = 0
        watch_keyframe_requests(self.video_sender, self._count_keyframe_request)

    def add_screen(self) -> RTCRtpSender:
        """Start a second video track, as a screen share does (publish again to negotiate)."""
        transceiver = self.pc.addTransceiver(MovingBoxTrack(), direction="sendonly")
        transceiver.setCodecPreferences(capabilities_for("video", self.video_codec))
        return transceiver.sender

    def _count_keyframe_request(self) -> None:
        self.keyframe_requests += 1

    async def publish(self, room: Room) -> None:
        """Offer, let the SFU answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await room.publish(self.peer_id, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def close(self) -> None:
        """Hang up."""
        await self.pc.close()


class SimulcastPublisherBot(PublisherBot):
    """Publishes its camera three times, 640x480, 320x240 and 160x120, as one simulcast track
    (one transceiver per quality, grouped by `layers`), and a tone."""

    def __init__(self, peer_id: str) -> None:
        super().__init__(peer_id)
        self.lower_senders = [
            self._add_video(MovingBoxTrack(WIDTH // scale, HEIGHT // scale)) for scale in (2, 4)
        ]

    def _add_video(self, track: MovingBoxTrack) -> RTCRtpSender:
        transceiver = self.pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(capabilities_for("video", self.video_codec))
        return transceiver.sender

    async def publish(self, room: Room) -> None:
        """Offer, naming the three video sections as one camera's layers, best first."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        mids = [t.mid for t in self.pc.getTransceivers() if t.kind == "video"]
        answer = await room.publish(self.peer_id, self.pc.localDescription.sdp, [mids])
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))


@dataclass
class Received:
    """What a subscriber bot decoded from one track."""

    kind: str
    frames: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    sample_rates: set[int] = field(default_factory=set)
    first_frame_at: float | None = None
    last_size: tuple[int, int] | None = None


class SubscriberBot:
    """Receives and decodes every track the SFU offers it.

    With `claimed_estimate`, every REMB its receivers send says that many bits per second (a
    weak peer's link, or a strong one's: aiortc's own estimate swings widely when a loaded
    event loop delays packets, which this test machine does).
    """

    def __init__(self, peer_id: str, claimed_estimate: int | None = None) -> None:
        self.peer_id = peer_id
        self.claimed_estimate = claimed_estimate
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        # The first track of each kind, and every track in arrival order.
        self.received: dict[str, Received] = {}
        self.all_received: list[Received] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        received = Received(track.kind)
        self.received.setdefault(track.kind, received)
        self.all_received.append(received)
        self._tasks.append(asyncio.ensure_future(self._consume(track, received)))

    async def _consume(self, track: MediaStreamTrack, received: Received) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                received.frames += 1
                if isinstance(frame, VideoFrame):
                    received.last_size = (frame.width, frame.height)
                    received.sizes.add(received.last_size)
                elif isinstance(frame, AudioFrame):
                    received.sample_rates.add(frame.sample_rate)
                if received.first_frame_at is None:
                    received.first_frame_at = time.monotonic()

    async def subscribe(self, room: Room) -> None:
        """Take the SFU's offer and answer it."""
        offer = await room.subscribe(self.peer_id)
        await self.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        if self.claimed_estimate is not None:
            for transceiver in self.pc.getTransceivers():
                claim_estimate(transceiver.receiver, self.claimed_estimate)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await room.answer(self.peer_id, self.pc.localDescription.sdp)

    async def wait_for_frames(self, kind: str, within: float) -> Received:
        """Wait until a track of `kind` has decoded at least one frame."""
        await wait_until(lambda: kind in self.received and self.received[kind].frames > 0, within)
        return self.received[kind]

    async def close(self) -> None:
        """Hang up."""
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


def claim_estimate(receiver: RTCRtpReceiver, bitrate: int) -> None:
    """Make a test peer's receiver report `bitrate` in every REMB it sends.

    The peer's own behaviour, not the SFU's: it reaches into aiortc's `_send_rtcp`, which the
    SFU never touches.
    """
    send_rtcp = receiver._send_rtcp

    async def send_capped(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            _, ssrcs = unpack_remb_fci(packet.fci)
            packet.fci = pack_remb_fci(bitrate, ssrcs)
        await send_rtcp(packet)

    receiver._send_rtcp = send_capped  # type: ignore[method-assign]
