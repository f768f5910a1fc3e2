"""The direct RTP sender: a subscriber's packets go out on an aiortc sender's transport without
the sender's RTP loop.

Reaches into `RTCRtpSender` (`send`, `_retransmit`, `_ssrc`, `_rtx_ssrc`, its sender-report
counters), `RTCDtlsTransport` (`_state`, `_tx_srtp`), `RTCIceTransport._connection` and aioice's
`Connection._nominated`; pinned by `tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

from typing import cast

from aiortc import RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from pylibsrtp import Session

from media.rtp_stamper import RtpStamper, StreamParameters, now_ntp
from media.srtp_protect import SrtpProtector
from media.udp_batch import DatagramTransport, UdpBatchSender

# Name-mangled private attributes (class-private `__x` becomes `_Class__x`).
# The counters a sender's RTCP sender reports are built from (`RTCRtpSender._run_rtcp`).
_SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
_SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
_SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
_SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
# A subscriber whose socket has this much unsent data queued is not keeping up: its frames are
# dropped (and it resumes from a keyframe) rather than buffered without bound.
MAX_UNSENT_BYTES = 1 << 20


def stream_parameters(sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> StreamParameters:
    """The RTP stream a sender was told to send: payload types, SSRCs, mid and extension ids."""
    codec = parameters.codecs[0]
    rtx_payload_type = next(
        (
            c.payloadType
            for c in parameters.codecs
            if is_rtx(c) and c.parameters.get("apt") == codec.payloadType
        ),
        None,
    )
    extension_ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
    if codec.payloadType is None:
        raise ValueError("a negotiated codec has a payload type")
    return StreamParameters(
        payload_type=codec.payloadType,
        ssrc=sender._ssrc,
        mid=parameters.muxId or None,
        mid_extension_id=extension_ids.get(MID_URI),
        abs_send_time_extension_id=extension_ids.get(ABS_SEND_TIME_URI),
        rtx_payload_type=rtx_payload_type,
        rtx_ssrc=sender._rtx_ssrc,
    )


class DirectRtpSender:
    """Sends a subscriber's frames on an `RTCRtpSender`'s transport without its RTP loop.

    aiortc's sender pulls one frame at a time from its track in a coroutine, then builds,
    serializes and sends every packet through three layers of coroutines: per subscriber, per
    packet. Here the payloads are packetized once per published track and each subscriber only
    gets its header stamped (`RtpStamper`), SRTP-protected (`SrtpProtector`) and handed to the
    socket, a frame's packets in one segmented send where the kernel allows (`UdpBatchSender`),
    all synchronously from the publisher's receive path. The sender itself still runs RTCP (sender
    reports from the counters kept here, receiver reports, PLI/FIR) and answers NACKs, from our
    history. Attach before negotiation: the stream parameters are captured from `send()`.
    """

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self.stamper: RtpStamper | None = None
        self.retransmissions = 0
        self._batch = UdpBatchSender()
        self._srtp: SrtpProtector | None = None
        original_send = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            if self.stamper is None:
                self.stamper = RtpStamper(stream_parameters(sender, parameters))
            await original_send(parameters)

        async def retransmit(sequence_number: int) -> None:
            self._retransmit(sequence_number)

        # Instance attributes shadow the class's methods for this sender only.
        sender.send = send  # type: ignore[method-assign]
        sender._retransmit = retransmit  # type: ignore[method-assign]

    @property
    def ready(self) -> bool:
        """Whether the sender has been started (negotiated), so frames can be stamped."""
        return self.stamper is not None

    def send_frame(self, payloads: list[bytes], timestamp: int) -> bool:
        """Send one frame's packets; False if the subscriber's socket is backed up (dropped).

        A connection that is not (or no longer) up swallows the frame: the sender's own end
        (track stopped, connection closed) is handled by the caller.
        """
        stamper = self.stamper
        if stamper is None:
            return True
        wire = _wire(self._sender)
        if wire is None:
            return True
        session, transport, address = wire
        if transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            return False
        ntp = now_ntp()
        packets = self._protector(session).protect(stamper.stamp(payloads, timestamp, ntp))
        self._batch.send(transport, packets, address)
        sender = self._sender
        setattr(sender, _SENDER_NTP_TIMESTAMP, ntp)
        setattr(sender, _SENDER_RTP_TIMESTAMP, stamper.last_timestamp)
        setattr(sender, _SENDER_OCTET_COUNT, stamper.octets_sent)
        setattr(sender, _SENDER_PACKET_COUNT, stamper.packets_sent)
        return True

    def _retransmit(self, sequence_number: int) -> None:
        if self.stamper is None:
            return
        packet = self.stamper.retransmission(sequence_number, now_ntp())
        wire = _wire(self._sender)
        if packet is not None and wire is not None:
            session, transport, address = wire
            self.retransmissions += 1
            transport.sendto(self._protector(session).protect((packet,))[0], address)

    def _protector(self, session: Session) -> SrtpProtector:
        # DTLS sets the session up once per connection; keep its protector with it.
        protector = self._srtp
        if protector is None or protector.session is not session:
            protector = self._srtp = SrtpProtector(session)
        return protector


def _wire(sender: RTCRtpSender) -> tuple[Session, DatagramTransport, tuple[str, int]] | None:
    """The SRTP session and the UDP socket a sender's packets leave by, if connected.

    This is `RTCDtlsTransport._send_rtp` → `RTCIceTransport._send` → aioice `Connection.sendto`
    without the coroutines: the DTLS transport's SRTP session, the ICE connection's nominated
    pair for component 1, and that pair's datagram transport.
    """
    dtls = sender.transport
    if dtls is None or dtls._state != DtlsState.CONNECTED:
        return None
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return None
    # asyncio's selector datagram transport has the write-buffer size (and the socket) its
    # typing leaves out.
    transport = cast(DatagramTransport, pair.protocol.transport)
    return dtls._tx_srtp, transport, pair.remote_addr

