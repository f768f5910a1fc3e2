"""RTP timestamp helpers and the per-subscriber rebaser."""

from __future__ import annotations

from media.timestamps import TimestampRebaser, uint32_add, uint32_sub


def test_uint32_arithmetic_wraps() -> None:
    assert uint32_add(0xFFFFFFFF, 2) == 1
    assert uint32_sub(1, 0xFFFFFFFF) == 2
    assert uint32_sub(5, 5) == 0


def test_first_frame_gets_the_origin_and_later_frames_keep_their_spacing() -> None:
    rebaser = TimestampRebaser(90000, origin=1000)

    assert rebaser.map(123_456, now=0.0) == 1000
    assert rebaser.map(126_456, now=1 / 30) == 4000


def test_reanchor_continues_after_the_wall_clock_gap() -> None:
    rebaser = TimestampRebaser(48000)
    rebaser.map(10, now=0.0)
    rebaser.reanchor()

    assert rebaser.map(99_999, now=0.5) == 24000


def test_reanchor_without_history_starts_at_the_origin() -> None:
    rebaser = TimestampRebaser(90000)
    rebaser.reanchor()

    assert rebaser.map(42, now=3.0) == 0


def test_a_backwards_step_starts_a_new_segment_at_least_one_tick_later() -> None:
    rebaser = TimestampRebaser(90000)
    rebaser.map(50_000, now=1.0)

    assert rebaser.map(40_000, now=1.0) == 1


def test_a_long_silence_with_matching_wall_clock_is_kept_as_elapsed_time() -> None:
    rebaser = TimestampRebaser(48000)
    rebaser.map(0, now=0.0)

    # DTX or a paused subscriber: ten seconds of source time in ten seconds of wall time.
    assert rebaser.map(480_000, now=10.0) == 480_000
