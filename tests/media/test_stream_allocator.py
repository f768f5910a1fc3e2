"""Sharing a subscriber's bitrate among the tracks it receives."""

from __future__ import annotations

import pytest

from media.stream_allocator import AUDIO_RESERVE, VideoDemand, split_budget

CAMERA = (100_000.0, 300_000.0, 900_000.0)


def test_audio_comes_off_the_top() -> None:
    shares = split_budget(AUDIO_RESERVE * 2 + 500_000, 2, [VideoDemand("cam", CAMERA)])

    assert shares == {"cam": pytest.approx(500_000)}


def test_audio_alone_can_take_everything() -> None:
    shares = split_budget(AUDIO_RESERVE, 1, [VideoDemand("cam", CAMERA)])

    assert shares == {"cam": 0.0}


def test_a_screen_share_is_served_first_at_its_full_rate() -> None:
    shares = split_budget(
        1_500_000, 0, [VideoDemand("cam", CAMERA), VideoDemand("screen", (1_200_000.0,))]
    )

    assert shares["screen"] == pytest.approx(1_200_000)
    assert shares["cam"] == pytest.approx(300_000)


def test_cameras_share_fairly_and_leave_what_they_do_not_need_to_the_others() -> None:
    small = (30_000.0, 60_000.0, 100_000.0)
    shares = split_budget(
        1_000_000, 0, [VideoDemand("a", CAMERA), VideoDemand("b", CAMERA), VideoDemand("c", small)]
    )

    assert shares["c"] == pytest.approx(130_000)
    assert shares["a"] == shares["b"] == pytest.approx(435_000)
