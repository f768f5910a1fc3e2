"""Per-subscriber RTP stamping, fed frame by frame and read back with aiortc's own RTP parser."""

from __future__ import annotations

import datetime

from aiortc import clock
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx
from aiortc.rtp import pack_header_extensions as aiortc_pack_header_extensions

from media.rtp_stamper import (
    HISTORY_SIZE,
    RtpStamper,
    StreamParameters,
    abs_send_time,
    ntp_time,
    pack_header_extensions,
)

MID_ID, ABS_SEND_TIME_ID = 1, 2
PARAMETERS = StreamParameters(
    payload_type=96,
    ssrc=0x11223344,
    mid="0",
    mid_extension_id=MID_ID,
    abs_send_time_extension_id=ABS_SEND_TIME_ID,
    rtx_payload_type=97,
    rtx_ssrc=0x55667788,
)
NTP = ntp_time(1_800_000_000.25)


def extensions_map() -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(
                    id=MID_ID, uri="urn:ietf:params:rtp-hdrext:sdes:mid"
                ),
                RTCRtpHeaderExtensionParameters(
                    id=ABS_SEND_TIME_ID,
                    uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
                ),
            ]
        )
    )
    return extensions


def parse(data: bytes) -> RtpPacket:
    return RtpPacket.parse(data, extensions_map())


def test_a_frame_becomes_consecutive_packets_with_the_marker_on_the_last() -> None:
    stamper = RtpStamper(PARAMETERS, sequence_number=100, timestamp_origin=1000)

    packets = [parse(p) for p in stamper.stamp([b"a" * 10, b"b" * 20, b"c"], 3000, NTP)]

    assert [p.sequence_number for p in packets] == [100, 101, 102]
    assert [p.marker for p in packets] == [0, 0, 1]
    assert {(p.ssrc, p.payload_type, p.timestamp) for p in packets} == {(PARAMETERS.ssrc, 96, 4000)}
    assert [p.payload for p in packets] == [b"a" * 10, b"b" * 20, b"c"]
    assert {p.extensions.mid for p in packets} == {"0"}
    assert {p.extensions.abs_send_time for p in packets} == {abs_send_time(NTP)}


def test_sequence_numbers_and_timestamps_wrap_and_counters_follow() -> None:
    stamper = RtpStamper(PARAMETERS, sequence_number=65535, timestamp_origin=0xFFFFFFFF)

    first = [parse(p) for p in stamper.stamp([b"xy", b"z"], 1, NTP)]
    second = parse(stamper.stamp([b"w"], 3001, NTP)[0])

    assert [p.sequence_number for p in first] == [65535, 0]
    assert second.sequence_number == 1
    assert first[0].timestamp == 0 and second.timestamp == 3000
    assert (stamper.packets_sent, stamper.octets_sent) == (3, 4)
    assert stamper.last_timestamp == 3000 and stamper.last_ntp == NTP


def test_an_empty_frame_sends_nothing() -> None:
    stamper = RtpStamper(PARAMETERS, sequence_number=5)

    assert stamper.stamp([], 0, NTP) == []
    assert parse(stamper.stamp([b"x"], 0, NTP)[0]).sequence_number == 5


def test_without_negotiated_extensions_the_header_has_none() -> None:
    stamper = RtpStamper(StreamParameters(payload_type=111, ssrc=7), sequence_number=1)

    data = stamper.stamp([b"opus"], 960, NTP)[0]

    assert len(data) == 12 + 4 and data[0] == 0x80
    assert parse(data).payload == b"opus"


def test_a_nack_is_answered_with_an_rtx_packet_that_unwraps_to_the_original() -> None:
    stamper = RtpStamper(PARAMETERS, sequence_number=10, rtx_sequence_number=500)
    original = [parse(p) for p in stamper.stamp([b"first", b"second"], 90, NTP)]

    resent = [parse(stamper.retransmission(seq, NTP) or b"") for seq in (11, 10)]

    assert [p.ssrc for p in resent] == [PARAMETERS.rtx_ssrc] * 2
    assert [p.payload_type for p in resent] == [97, 97]
    assert [p.sequence_number for p in resent] == [500, 501]
    unwrapped = [unwrap_rtx(p, payload_type=96, ssrc=PARAMETERS.ssrc) for p in resent]
    assert [(p.sequence_number, p.payload, p.marker) for p in unwrapped] == [
        (11, b"second", 1),
        (10, b"first", 0),
    ]
    assert unwrapped[0].timestamp == original[1].timestamp


def test_without_rtx_the_original_packet_is_resent() -> None:
    stamper = RtpStamper(PARAMETERS.__class__(payload_type=96, ssrc=9), sequence_number=3)
    sent = stamper.stamp([b"payload"], 0, NTP)[0]

    assert stamper.retransmission(3, NTP) == sent


def test_packets_older_than_the_history_are_not_resent() -> None:
    stamper = RtpStamper(PARAMETERS, sequence_number=0)
    for index in range(HISTORY_SIZE + 1):
        stamper.stamp([b"p"], index, NTP)

    assert stamper.retransmission(0, NTP) is None  # overwritten by HISTORY_SIZE
    assert stamper.retransmission(1, NTP) is not None
    assert stamper.retransmission(HISTORY_SIZE + 5, NTP) is None  # never sent


def test_header_extensions_are_packed_as_aiortc_packs_them() -> None:
    cases = [
        [(1, b"0"), (2, b"\x01\x02\x03")],
        [(3, b"long-mid-value-1")],
        [(15, b"x")],  # id 15 needs the two-byte form
        [(1, b"a" * 17)],  # so does a value over 16 bytes
    ]
    for elements in cases:
        profile, value = aiortc_pack_header_extensions(elements)
        ours = pack_header_extensions(elements)
        assert ours[:2] == profile.to_bytes(2) and ours[4:] == value
        assert int.from_bytes(ours[2:4]) == len(value) // 4
    assert pack_header_extensions([]) == b""


def test_ntp_time_matches_aiortcs_clock() -> None:
    moment = datetime.datetime(2026, 11, 23, 12, 0, 0, 250000, tzinfo=datetime.UTC)

    ours = ntp_time(moment.timestamp())

    assert abs(ours - clock.datetime_to_ntp(moment)) < (1 << 32) // 1000  # within a millisecond


def test_the_extension_block_is_the_one_packed_from_its_elements_every_frame() -> None:
    cases = [
        PARAMETERS,
        StreamParameters(payload_type=96, ssrc=1, abs_send_time_extension_id=3),
        StreamParameters(
            payload_type=96,
            ssrc=1,
            mid="a-long-mid-value-17",
            mid_extension_id=1,
            abs_send_time_extension_id=2,
        ),  # two-byte form
        StreamParameters(payload_type=96, ssrc=1, mid="\xff\xff", mid_extension_id=4),
    ]
    for parameters in cases:
        stamper = RtpStamper(parameters)
        for ntp in (NTP, ntp_time(1_800_000_001.0), 0xFFFFFFFFFFFFFFFF):
            elements = []
            if parameters.mid_extension_id and parameters.mid is not None:
                elements.append((parameters.mid_extension_id, parameters.mid.encode()))
            if parameters.abs_send_time_extension_id:
                value = abs_send_time(ntp).to_bytes(3)
                elements.append((parameters.abs_send_time_extension_id, value))

            assert stamper._extensions(ntp) == pack_header_extensions(elements)
