"""Times as the network reads them: stored UTC shown, and read from forms, in the network's
timezone (Mexico City)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from casebook.messages import DEFAULT_TIMEZONE

NETWORK_TZ = ZoneInfo(DEFAULT_TIMEZONE)


def local_time(value: datetime | None) -> str:
    """A stored UTC time as the network reads it (Mexico City), e.g. `2026-11-23 08:15 CST`."""
    if value is None:
        return ""
    local = value.astimezone(NETWORK_TZ)
    # isoformat, cut before the offset: the same text as strftime's, cheaper (the queue shows
    # two times on each row).
    return f"{local.isoformat(' ', 'minutes')[:16]} {local.tzname()}"


def parse_local(value: str) -> datetime | None:
    """A `datetime-local` form value, read in the network's timezone; None if malformed."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=NETWORK_TZ)


def local_input(value: datetime) -> str:
    """A stored time as a `datetime-local` form value in the network's timezone."""
    return f"{value.astimezone(NETWORK_TZ):%Y-%m-%dT%H:%M}"
