"""Sharing a subscriber's bitrate among the tracks it receives."""

from __future__ import annotations

import pytest

from media.stream_allocator import AUDIO_HEADERS, VideoDemand, audio_bitrate, split_budget

CAMERA = (100_000.0, 300_000.0, 900_000.0)


def test_audio_takes_its_payload_and_its_headers() -> None:
    assert audio_bitrate([32_000.0, 32_000.0]) == 2 * (32_000 + AUDIO_HEADERS)
    assert 15_000 < AUDIO_HEADERS < 30_000


def test_a_lone_camera_gets_what_there_is_up_to_its_top_layer_with_margin() -> None:
    assert split_budget(500_000, [VideoDemand("cam", CAMERA)]) == {"cam": 500_000}
    assert split_budget(5_000_000, [VideoDemand("cam", CAMERA)]) == {
        "cam": pytest.approx(900_000 * 1.3)
    }


def test_a_screen_share_is_served_first_at_its_full_rate() -> None:
    shares = split_budget(
        1_500_000, [VideoDemand("cam", CAMERA), VideoDemand("screen", (1_000_000.0,))]
    )

    assert shares["screen"] == pytest.approx(1_300_000)  # its rate, and room to climb back
    assert shares["cam"] == pytest.approx(200_000)


def test_cameras_share_fairly_and_leave_what_they_do_not_need_to_the_others() -> None:
    small = (30_000.0, 60_000.0, 100_000.0)
    shares = split_budget(
        1_000_000,
        [VideoDemand("a", CAMERA), VideoDemand("b", CAMERA), VideoDemand("c", small)],
    )

    assert shares["c"] == pytest.approx(130_000)
    assert shares["a"] == shares["b"] == pytest.approx(435_000)
