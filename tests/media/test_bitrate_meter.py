"""A layer's bitrate as its frames arrive."""

from __future__ import annotations

import pytest

from media.bitrate_meter import BitrateMeter


def test_a_steady_stream_measures_its_rate() -> None:
    meter = BitrateMeter(window=2.0)
    for i in range(90):  # 30 fps, 1250 bytes a frame: 300 kbps
        meter.add(1250, now=i / 30)

    assert meter.bitrate(3.0) == pytest.approx(300_000, rel=0.05)


def test_a_stream_that_stopped_measures_zero() -> None:
    meter = BitrateMeter(window=2.0)
    meter.add(10_000, now=0.0)

    assert meter.bitrate(2.5) == 0.0
