"""Sequence ordering for packets forwarded on arrival."""

from __future__ import annotations

from media.sequence import LatePacketFilter, uint16_newer


def test_newer_across_the_wrap() -> None:
    assert uint16_newer(0, 65535)
    assert uint16_newer(5, 3)
    assert not uint16_newer(3, 5)
    assert not uint16_newer(7, 7)
    assert not uint16_newer(65535, 0)


def test_in_order_packets_pass_and_late_or_duplicate_ones_are_dropped() -> None:
    filter_ = LatePacketFilter()

    accepted = [seq for seq in [65533, 65534, 65534, 0, 65535, 2, 1, 3] if filter_.accept(seq)]

    assert accepted == [65533, 65534, 0, 2, 3]
