"""Calendar invitations (RFC 5545 iCalendar, iTIP methods of RFC 5546) for review sessions.

The caller owns identity and versioning: a stable UID per session (e.g. `session-42@junta`) and a
SEQUENCE it bumps whenever the time or place changes, so calendars update the event in place
instead of adding a second one. Serve or attach the result as UTF-8 with
`Content-Type: text/calendar; charset=utf-8; method=REQUEST` (or `CANCEL`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

PRODID = "-//Junta//Junta review sessions//EN"
MAX_LINE_OCTETS = 75  # RFC 5545 §3.1, not counting the CRLF
ALARM_BEFORE = "-PT15M"

Method = Literal["REQUEST", "CANCEL"]
Contact = tuple[str, str]  # (display name, e-mail address)

# Control characters other than TAB may not appear in TEXT or parameter values (RFC 5545 §3.1).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Deliberately strict: anything that could break out of `mailto:` or the line is refused.
_NOT_IN_EMAIL = r"\s@:;,\"<>()\[\]\\\x00-\x1f\x7f"
_EMAIL = re.compile(f"[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+")
_URL = re.compile(r"https?://[^\s\"<>\\^`{|}\x00-\x1f\x7f]+")


def escape_text(value: str) -> str:
    """`value` as an iCalendar TEXT value: `\\ ; ,` and newlines escaped, other controls dropped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = _NEWLINE.sub("\\\\n", value)
    return _CONTROL.sub("", value)


def param_value(value: str) -> str:
    """`value` as a parameter value: RFC 6868 caret encoding, quoted if it holds `: ; ,`."""
    value = value.replace("^", "^^").replace('"', "^'")
    value = _NEWLINE.sub("^n", value)
    value = _CONTROL.sub("", value)
    return f'"{value}"' if any(c in value for c in ":;,") else value


def fold(line: str) -> str:
    """`line` folded so no physical line exceeds 75 octets of UTF-8, never inside a character.

    Continuation lines start with one space, which counts towards their 75 octets.
    """
    pieces: list[str] = []
    piece: list[str] = []
    size = 0
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > MAX_LINE_OCTETS:
            pieces.append("".join(piece))
            piece, size = [], 1  # the leading space of the continuation line
        piece.append(char)
        size += octets
    pieces.append("".join(piece))
    return "\r\n ".join(pieces)


def format_utc(value: datetime) -> str:
    """`value` as an iCalendar UTC DATE-TIME (`20261123T180000Z`); naive values are refused."""
    if value.utcoffset() is None:
        raise ValueError("calendar times must be timezone-aware, got a naive datetime")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def session_invitation(
    *,
    uid: str,
    sequence: int,
    method: Method,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location_url: str,
    organizer: Contact,
    attendees: Sequence[Contact],
    now: datetime,
) -> str:
    """A one-event VCALENDAR inviting `attendees` to a review session, or cancelling it.

    REQUEST carries a 15-minute display alarm; CANCEL carries STATUS:CANCELLED and no alarm.
    Lines end in CRLF and are folded at 75 octets. Raises ValueError on unusable input.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, got {method!r}")
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    if not uid.strip() or _CONTROL.search(uid):
        raise ValueError("uid must be non-empty text without control characters")
    dtstamp, dtstart, dtend = format_utc(now), format_utc(start), format_utc(end)
    if end <= start:
        raise ValueError("a session must end after it starts")
    if not _URL.fullmatch(location_url):
        raise ValueError("location_url must be an http(s) URL without spaces or quotes")
    cancelled = method == "CANCEL"

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{dtstamp}",
        f"DTSTART:{dtstart}",
        f"DTEND:{dtend}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(location_url)}",
        f"URL:{location_url}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        f"ORGANIZER;CN={param_value(organizer[0])}:{_mailto(organizer[1])}",
    ]
    # Replies only make sense to an invitation that still stands.
    reply = "" if cancelled else ";PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
    seen: set[str] = set()
    for name, email in attendees:
        address = _mailto(email)
        if address.lower() in seen:  # one invitation per mailbox, however often it was listed
            continue
        seen.add(address.lower())
        lines.append(f"ATTENDEE;CN={param_value(name)};ROLE=REQ-PARTICIPANT{reply}:{address}")
    if not cancelled:  # a reminder for a meeting that will not happen is noise
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(summary)}",
            f"TRIGGER:{ALARM_BEFORE}",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def _mailto(email: str) -> str:
    email = email.strip()
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"not a usable e-mail address for a calendar invitation: {email!r}")
    return f"mailto:{email}"
