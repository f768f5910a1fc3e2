"""A subscriber link's estimate from its feedback, fed report by report."""

from __future__ import annotations

import pytest

from media.link_estimate import REMB_LIFETIME, LinkEstimate


def sending_one_megabit() -> LinkEstimate:
    """A link without REMB on which the SFU sent 1 Mbps (100 packets) in the last second."""
    link = LinkEstimate()
    link.on_sent(packets=0, octets=0, now=0.0)
    link.on_sent(packets=100, octets=125_000, now=1.0)
    return link


def test_nothing_is_known_before_any_feedback() -> None:
    assert LinkEstimate().available(0.0) is None


def test_the_first_feedback_is_not_acted_on_before_it_settles() -> None:
    link = LinkEstimate(settle=2.0)
    link.on_remb(100_000, now=1.0)

    assert link.available(2.5) is None
    link.on_remb(900_000, now=3.0)
    assert link.available(3.0) == 900_000


def test_a_remb_is_the_estimate_until_it_goes_stale() -> None:
    link = LinkEstimate()
    link.on_remb(800_000, now=1.0)

    assert link.available(1.5) == 800_000
    assert link.available(1.0 + REMB_LIFETIME + 0.1) is None


def test_without_remb_heavy_loss_cuts_the_rate_being_sent() -> None:
    link = sending_one_megabit()
    link.on_report(fraction_lost=0.3, jitter=0.0, now=1.0)

    assert link.available(1.0) == pytest.approx(1_000_000 * 0.85)


def test_without_remb_a_clean_link_says_nothing() -> None:
    link = sending_one_megabit()
    link.on_report(fraction_lost=0.0, jitter=0.001, now=1.0)

    assert link.available(1.0) is None


def test_without_remb_the_estimate_grows_slowly_back_after_loss() -> None:
    link = sending_one_megabit()
    link.on_report(fraction_lost=0.2, jitter=0.0, now=1.0)
    for second in range(4, 9):  # the lossy report has left the window
        link.on_report(fraction_lost=0.0, jitter=0.001, now=float(second))

    estimate = link.available(8.0)
    assert estimate is not None and 900_000 < estimate < 1_500_000


def test_high_jitter_stops_the_growth() -> None:
    link = LinkEstimate()
    link.on_remb(500_000, now=0.0)
    for second in range(1, 4):
        link.on_report(fraction_lost=0.0, jitter=0.05, now=float(second))
        link.on_remb(500_000, now=float(second))

    assert link.available(3.0) == 500_000


def test_loss_reported_lowers_even_a_generous_remb_until_the_link_recovers() -> None:
    link = LinkEstimate()
    link.on_remb(2_000_000, now=0.0)
    link.on_report(fraction_lost=0.4, jitter=0.0, now=0.5)

    assert link.available(0.5) == pytest.approx(2_000_000 * 0.8)
    for second in range(3, 12):
        link.on_remb(2_000_000, now=float(second))
        link.on_report(fraction_lost=0.0, jitter=0.0, now=float(second))
    assert link.available(11.0) == 2_000_000


def test_nacks_count_as_loss_against_what_was_sent() -> None:
    link = LinkEstimate()
    link.on_sent(packets=0, octets=0, now=0.0)
    link.on_sent(packets=200, octets=200_000, now=1.0)
    link.on_nacks(30, now=1.0)

    assert link.loss(1.0) == pytest.approx(0.15)
    assert link.loss(4.0) == 0.0  # out of the window
