"""Times as the casebook pages show and read them: the network's clock (Mexico City)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from web.render.local_times import local_input, local_time, parse_local


def test_a_stored_time_is_shown_on_the_networks_clock() -> None:
    assert local_time(datetime(2026, 11, 23, 14, 15, 59, tzinfo=UTC)) == "2026-11-23 08:15 CST"
    # Before 2022 Mexico City kept summer time: the same code shows the offset of its day.
    assert local_time(datetime(2021, 7, 1, 12, 0, tzinfo=UTC)) == "2021-07-01 07:00 CDT"
    assert local_time(datetime(2026, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=5)))) == (
        "2026-01-01 16:04 CST"
    )
    assert local_time(None) == ""


def test_a_form_time_is_read_on_the_networks_clock_and_written_back_alike() -> None:
    read = parse_local(" 2030-05-04T10:30 ")
    assert read is not None and read.astimezone(UTC) == datetime(2030, 5, 4, 16, 30, tzinfo=UTC)
    assert local_input(read.astimezone(UTC)) == "2030-05-04T10:30"
    assert parse_local("mañana") is None
