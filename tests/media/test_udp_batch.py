"""One frame's datagrams in as few sends as possible, received exactly as sent one by one."""

from __future__ import annotations

import asyncio
import socket

from media.udp_batch import MAX_SEGMENTS, UdpBatchSender, segment_runs
from tests.media.peers import wait_until


def test_equal_packets_with_a_shorter_last_one_are_one_run() -> None:
    assert segment_runs([1200, 1200, 1200, 300]) == [(0, 4)]


def test_a_shorter_packet_ends_a_run_and_a_longer_one_starts_one() -> None:
    assert segment_runs([1200, 300, 1200, 1300, 1300]) == [(0, 2), (2, 3), (3, 5)]


def test_runs_stay_within_the_kernels_segment_and_byte_caps() -> None:
    assert segment_runs([100] * (MAX_SEGMENTS + 1)) == [(0, MAX_SEGMENTS), (MAX_SEGMENTS, 65)]
    assert segment_runs([1300] * 60) == [(0, 50), (50, 60)]  # 50 x 1300 = 65 000 bytes
    assert segment_runs([]) == []


class _Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.datagrams.append(data)


async def test_the_receiver_gets_the_same_datagrams_in_order() -> None:
    loop = asyncio.get_running_loop()
    receiver, collected = await loop.create_datagram_endpoint(_Collect, local_addr=("127.0.0.1", 0))
    sender, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    address = receiver.get_extra_info("sockname")
    frames = [
        [bytes([n]) * 1200 for n in range(4)] + [b"last"],
        [b"a" * 500, b"b" * 700, b"c" * 700],
        [b"single"],
    ]
    batch = UdpBatchSender()
    try:
        for packets in frames:
            batch.send(sender, packets, address)  # type: ignore[arg-type]
        expected = [packet for packets in frames for packet in packets]
        await wait_until(lambda: len(collected.datagrams) >= len(expected), 5, 0.01)

        assert collected.datagrams == expected
        assert batch.segmentation  # this kernel segments: the fast path was the one tested
    finally:
        sender.close()
        receiver.close()


async def test_without_segmentation_packets_go_one_by_one() -> None:
    loop = asyncio.get_running_loop()
    receiver, collected = await loop.create_datagram_endpoint(_Collect, local_addr=("127.0.0.1", 0))
    sender, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, family=socket.AF_INET, local_addr=("127.0.0.1", 0)
    )
    batch = UdpBatchSender()
    batch.segmentation = False
    packets = [b"x" * 1000, b"y" * 1000, b"z"]
    try:
        batch.send(sender, packets, receiver.get_extra_info("sockname"))  # type: ignore[arg-type]
        await wait_until(lambda: len(collected.datagrams) >= 3, 5, 0.01)

        assert collected.datagrams == packets
    finally:
        sender.close()
        receiver.close()
