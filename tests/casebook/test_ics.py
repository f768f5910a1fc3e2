"""Calendar invitations for review sessions, read back with a small parser written here.

The parser below is deliberately independent of `casebook.ics`: it unfolds, splits parameters
(honouring quotes) and unescapes TEXT the way RFC 5545 says a calendar client does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebook.ics import escape_text, fold, param_value, session_invitation

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
START = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


# --- an independent reader -------------------------------------------------------------------


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines), "bare CR or LF"
    return lines


def unfold(data: bytes) -> list[str]:
    """Logical lines: a line starting with a space or tab continues the previous one."""
    logical: list[bytes] = []
    for line in physical_lines(data):
        if line[:1] in (b" ", b"\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [line.decode("utf-8") for line in logical]


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def unquote_param(value: str) -> str:
    if value.startswith('"'):
        assert value.endswith('"') and '"' not in value[1:-1]
        value = value[1:-1]
    # RFC 6868: ^n newline, ^' double quote, ^^ caret.
    return re.sub(r"\^([n'^])", lambda m: {"n": "\n", "'": '"', "^": "^"}[m[1]], value)


def split_line(line: str) -> tuple[str, dict[str, str], str]:
    """NAME;PARAM=value;PARAM="va:l;ue":VALUE → (NAME, params, VALUE); quotes protect : and ;."""
    head, i, quoted = [], 0, False
    while True:
        char = line[i]
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            break
        head.append(char)
        i += 1
    name, *params = re.findall(r'(?:[^;"]|"[^"]*")+', "".join(head))
    parsed = {}
    for param in params:
        key, _, value = param.partition("=")
        parsed[key] = unquote_param(value)
    return name, parsed, line[i + 1:]


def read(ics: str) -> list[tuple[str, dict[str, str], str]]:
    return [split_line(line) for line in unfold(ics.encode("utf-8"))]


def props(ics: str, component: str = "VEVENT") -> dict[str, Any]:
    """The properties directly inside the first `component` (a name seen twice maps to a list)."""
    out: dict[str, Any] = {}
    depth: list[str] = []
    for name, params, value in read(ics):
        if name == "BEGIN":
            depth.append(value)
            continue
        if name == "END":
            assert depth.pop() == value, "BEGIN/END mismatch"
            continue
        if depth and depth[-1] == component:
            entry = (params, value)
            if name in out:
                out[name] = [*(out[name] if isinstance(out[name], list) else [out[name]]), entry]
            else:
                out[name] = entry
    assert not depth
    return out


def invitation(**overrides: Any) -> str:
    args: dict[str, Any] = {
        "uid": "session-42@junta",
        "sequence": 0,
        "method": "REQUEST",
        "start": START,
        "end": START + timedelta(hours=1, minutes=30),
        "summary": "Junta médica: tumores sólidos",
        "description": "Casos: JC-2026-000123, JC-2026-000124.\nTraer estudios de imagen.",
        "location_url": "https://junta.example/rooms/tumores-solidos",
        "organizer": ("Dra. Pérez, Ana", "ana.perez@junta.example"),
        "attendees": [
            ("Dr. Núñez", "nunez@hospital.example"),
            ("Dra. Ramírez; Oncología", "ramirez@hospital.example"),
        ],
        "now": NOW,
    }
    args.update(overrides)
    return session_invitation(**args)


# --- shape of an invitation -------------------------------------------------------------------


def test_an_invitation_is_a_request_for_one_event() -> None:
    ics = invitation()
    calendar = props(ics, "VCALENDAR")
    assert calendar["VERSION"][1] == "2.0"
    assert calendar["METHOD"][1] == "REQUEST"
    assert calendar["PRODID"][1].startswith("-//Junta//")
    event = props(ics)
    assert event["UID"][1] == "session-42@junta"
    assert event["SEQUENCE"][1] == "0"
    assert event["DTSTAMP"][1] == "20261123T120000Z"
    assert event["DTSTART"][1] == "20261130T170000Z"
    assert event["DTEND"][1] == "20261130T183000Z"
    assert event["STATUS"][1] == "CONFIRMED"
    assert unescape(event["SUMMARY"][1]) == "Junta médica: tumores sólidos"
    assert unescape(event["DESCRIPTION"][1]) == (
        "Casos: JC-2026-000123, JC-2026-000124.\nTraer estudios de imagen."
    )
    assert unescape(event["LOCATION"][1]) == "https://junta.example/rooms/tumores-solidos"
    assert event["URL"][1] == "https://junta.example/rooms/tumores-solidos"
    assert [line.split(":")[0] for line in unfold(ics.encode())][:2] == ["BEGIN", "VERSION"]


def test_organizer_and_attendees_are_mailto_with_common_names() -> None:
    event = props(invitation())
    params, value = event["ORGANIZER"]
    assert (params["CN"], value) == ("Dra. Pérez, Ana", "mailto:ana.perez@junta.example")
    attendees = [(p["CN"], v, p["RSVP"], p["PARTSTAT"]) for p, v in event["ATTENDEE"]]
    assert attendees == [
        ("Dr. Núñez", "mailto:nunez@hospital.example", "TRUE", "NEEDS-ACTION"),
        ("Dra. Ramírez; Oncología", "mailto:ramirez@hospital.example", "TRUE", "NEEDS-ACTION"),
    ]


def test_common_names_with_separators_are_quoted_and_others_are_not() -> None:
    ics = invitation()
    assert 'ORGANIZER;CN="Dra. Pérez, Ana":mailto:' in "".join(unfold(ics.encode()))
    assert "ATTENDEE;CN=Dr. Núñez;" in "".join(unfold(ics.encode()))
    assert param_value("a:b") == '"a:b"' and param_value("a;b") == '"a;b"'
    assert param_value('Dr. "Pepe" ^_^') == "Dr. ^'Pepe^' ^^_^^"


def test_a_reminder_rings_fifteen_minutes_before() -> None:
    alarm = props(invitation(), "VALARM")
    assert alarm["ACTION"][1] == "DISPLAY"
    assert alarm["TRIGGER"][1] == "-PT15M"
    assert unescape(alarm["DESCRIPTION"][1]) == "Junta médica: tumores sólidos"


def test_a_cancellation_keeps_the_uid_and_says_cancelled() -> None:
    ics = invitation(method="CANCEL", sequence=3)
    assert props(ics, "VCALENDAR")["METHOD"][1] == "CANCEL"
    event = props(ics)
    assert (event["UID"][1], event["SEQUENCE"][1], event["STATUS"][1]) == (
        "session-42@junta", "3", "CANCELLED",
    )
    assert len(event["ATTENDEE"]) == 2  # RFC 5546: CANCEL lists whom it cancels for
    assert all("RSVP" not in params for params, _ in event["ATTENDEE"])
    assert "BEGIN:VALARM" not in ics


def test_times_are_written_in_utc_whatever_zone_they_come_in() -> None:
    mexico_city = timezone(timedelta(hours=-6))
    event = props(invitation(start=START.astimezone(mexico_city),
                             end=(START + timedelta(hours=1)).astimezone(mexico_city),
                             now=NOW.replace(microsecond=999_999)))
    assert event["DTSTART"][1] == "20261130T170000Z"
    assert event["DTEND"][1] == "20261130T180000Z"
    assert event["DTSTAMP"][1] == "20261123T120000Z"


def test_the_same_attendee_is_invited_once() -> None:
    event = props(invitation(attendees=[("A", "a@x.example"), ("A again", "A@X.example")]))
    params, value = event["ATTENDEE"]  # a single entry, not a list
    assert (params["CN"], value) == ("A", "mailto:a@x.example")


# --- bytes on the wire ------------------------------------------------------------------------

LONG = invitation(
    summary="Sesión de tumores sólidos pediátricos — neuroblastoma, tumor de Wilms, "
    "hepatoblastoma, retinoblastoma y sarcomas: revisión multidisciplinaria ñandú 🎗️",
    description="Niña de 4 años con neuroblastoma estadio M; ¿cirugía diferida? " * 6,
    attendees=[(f"Dra. María José Hernández Muñoz de la Peña {i}", f"mjh{i}@hospital.example")
               for i in range(5)],
)


def test_every_line_ends_in_crlf() -> None:
    data = LONG.encode("utf-8")
    assert data.count(b"\r\n") == data.count(b"\n") == data.count(b"\r")


def test_no_line_exceeds_75_octets() -> None:
    lines = physical_lines(LONG.encode("utf-8"))
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines), "the long lines were folded"


def test_folding_never_splits_a_utf8_sequence() -> None:
    lines = physical_lines(LONG.encode("utf-8"))
    decoded = [line.decode("utf-8") for line in lines]  # raises if a character was cut in two
    assert len(decoded) == len(lines) > 1


def test_escaping_round_trips_through_folding() -> None:
    event = props(LONG)
    assert unescape(event["DESCRIPTION"][1]) == (
        "Niña de 4 años con neuroblastoma estadio M; ¿cirugía diferida? " * 6
    )


def test_text_cannot_inject_lines_or_properties() -> None:
    ics = invitation(summary="x\r\nEND:VEVENT\r\nBEGIN:VEVENT", description="a\rb\x00c\x1bd")
    event = props(ics)
    assert unescape(event["SUMMARY"][1]) == "x\nEND:VEVENT\nBEGIN:VEVENT"
    assert unescape(event["DESCRIPTION"][1]) == "a\nbcd"
    assert unfold(ics.encode()).count("BEGIN:VEVENT") == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": datetime(2026, 11, 30, 17, 0)}, "timezone-aware"),
        ({"now": datetime(2026, 11, 23, 12, 0)}, "timezone-aware"),
        ({"end": START}, "end after it starts"),
        ({"sequence": -1}, "sequence"),
        ({"method": "PUBLISH"}, "method"),
        ({"uid": " "}, "uid"),
        ({"uid": "a\r\nb"}, "uid"),
        ({"location_url": "javascript:alert(1)"}, "location_url"),
        ({"location_url": "https://x.example/a b"}, "location_url"),
        ({"organizer": ("X", "x@y.example\r\nATTENDEE:mailto:evil@z.example")}, "e-mail"),
        ({"attendees": [("X", "not-an-address")]}, "e-mail"),
        ({"attendees": [("X", "x;y@z.example")]}, "e-mail"),
    ],
)
def test_unusable_input_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invitation(**overrides)


# --- properties -------------------------------------------------------------------------------

# Any text, including multibyte letters, emoji and combining marks, but no lone surrogates.
texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)


@given(texts)
def test_folding_keeps_lines_short_and_unfolds_to_the_original(line: str) -> None:
    folded = fold(line).encode("utf-8")
    pieces = folded.split(b"\r\n")
    assert all(len(piece) <= 75 for piece in pieces)
    assert all(piece.startswith(b" ") for piece in pieces[1:])
    assert all(piece.decode("utf-8") is not None for piece in pieces)
    assert b"".join([pieces[0], *(p[1:] for p in pieces[1:])]).decode("utf-8") == line


@given(texts)
def test_escaped_text_reads_back_as_written(value: str) -> None:
    escaped = escape_text(value)
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", escaped)
    assert not re.search(r"(?<!\\)(?:\\\\)*[;,]", escaped), "an unescaped ; or ,"
    expected = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", re.sub(r"\r\n|\r", "\n", value))
    assert unescape(escaped) == expected


@given(texts.filter(lambda s: s.strip() != ""), texts)
def test_any_summary_and_name_survive_the_whole_invitation(summary: str, name: str) -> None:
    ics = invitation(summary=summary, attendees=[(name, "x@y.example")])
    assert max(len(line) for line in physical_lines(ics.encode("utf-8"))) <= 75
    event = props(ics)
    clean = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", re.sub(r"\r\n|\r", "\n", summary))
    assert unescape(event["SUMMARY"][1]) == clean
    params, value = event["ATTENDEE"]
    assert value == "mailto:x@y.example"
    assert params["CN"] == re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", re.sub(r"\r\n|\r", "\n", name))
