"""A recorded track's clock, frame by frame, without a network: RTP timestamps to pts."""

from __future__ import annotations

import pytest

from media.recording.timeline import TimestampUnwrapper, TrackTimeline

VIDEO_RATE = 90000
FRAME = 3000  # 30 fps in 90 kHz


def test_unwrapping_carries_on_across_the_uint32_wrap() -> None:
    unwrapper = TimestampUnwrapper()
    assert unwrapper.unwrap(0xFFFF_FF00) == 0xFFFF_FF00
    assert unwrapper.unwrap(0x0000_0100) == 0x1_0000_0100
    assert unwrapper.unwrap(0x0000_0080) == 0x1_0000_0080  # a little backwards stays near


def test_the_first_frame_is_at_zero_and_later_ones_follow_their_rtp_timestamps() -> None:
    timeline = TrackTimeline(VIDEO_RATE, recording_start=100.0)
    origin = 0xFFFF_0000  # wraps after a few frames
    pts = [timeline.pts(origin + i * FRAME, 100.2 + i / 30) for i in range(60)]
    assert pts == [i * FRAME for i in range(60)]


def test_the_start_offset_is_the_least_delayed_frame() -> None:
    timeline = TrackTimeline(VIDEO_RATE, recording_start=10.0)
    # The first (large) keyframe arrives 60 ms late; later frames only 10 ms.
    timeline.pts(5000, 10.5 + 0.060)
    for i in range(1, 30):
        timeline.pts(5000 + i * FRAME, 10.5 + i / 30 + 0.010)
    assert timeline.start_offset == pytest.approx(0.510)


def test_frames_that_do_not_advance_are_refused() -> None:
    timeline = TrackTimeline(48000, recording_start=0.0)
    assert timeline.pts(960, 1.0) == 0
    assert timeline.pts(1920, 1.02) == 960
    assert timeline.pts(1920, 1.03) is None  # a duplicate
    assert timeline.pts(2880, 1.04) == 1920


def test_a_new_source_continues_by_the_wall_clock() -> None:
    timeline = TrackTimeline(VIDEO_RATE, recording_start=0.0)
    timeline.pts(123, 1.0)
    timeline.pts(123 + FRAME, 1.0 + 1 / 30)
    timeline.reanchor()
    # The publisher restarted its sender half a second later, with a fresh random origin.
    pts = timeline.pts(987_654_321, 1.0 + 1 / 30 + 0.5)
    assert pts == FRAME + 45000
    assert timeline.pts(987_654_321 + FRAME, 1.0 + 2 / 30 + 0.5) == 2 * FRAME + 45000


def test_a_burst_of_late_frames_keeps_its_media_time() -> None:
    timeline = TrackTimeline(VIDEO_RATE, recording_start=0.0)
    timeline.pts(0, 1.0)
    # The publisher stalled for three seconds, then sent what it had all at once.
    late = [timeline.pts(i * FRAME, 4.0 + i * 0.001) for i in range(1, 91)]
    assert late == [i * FRAME for i in range(1, 91)]
    assert timeline.start_offset == pytest.approx(1.0)


def test_a_jump_the_wall_clock_does_not_explain_starts_a_new_segment() -> None:
    timeline = TrackTimeline(VIDEO_RATE, recording_start=0.0)
    timeline.pts(0, 1.0)
    assert timeline.pts(3600 * VIDEO_RATE, 1.0 + 1 / 30) == FRAME  # an hour ahead, 33 ms later
    assert timeline.pts(3600 * VIDEO_RATE - 5 * VIDEO_RATE, 1.1) == FRAME + 6000  # 5 s back
