"""How every `junta` process logs: text lines for a terminal, or JSON lines for a collector.

Log calls across Junta follow one convention: an event name, then `key=value` fields
(`"signaling.join room=%s peer=%s"`). The JSON formatter turns that into one object per line,
`{"time", "level", "logger", "event", ...fields}`, with anything that does not parse kept under
`"message"`.

Patient data never goes into a log call (only ids, codes, counts). The one way it could slip in
is an exception's text (a database error quotes the statement's parameters; a validation error
quotes the input), so both formats write an exception as its type and stack frames, never its
message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

_EVENT = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")
_FIELD = re.compile(r"([a-z_][a-z0-9_]*)=(\S*)")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Libraries that log SQL statements with their parameters (patient data) below WARNING: kept at
# WARNING whatever the level asked for.
QUIET_LIBRARIES = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def redacted_exception(exc_info: ExcInfo) -> str:
    """An exception as its type and stack (chained ones too), without any message text."""
    kind, error, tb = exc_info
    if kind is None or error is None:
        return ""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__ if parts else tb))
        parts.append(f"{type(current).__module__}.{type(current).__qualname__}\n{frames}")
        current = current.__cause__ or current.__context__
    return "Traceback (message withheld; most recent call last):\n" + "caused by ".join(parts)


def parse_message(message: str) -> dict[str, Any]:
    """`"event k=v k2=v2"` → `{"event": "event", "k": "v", "k2": "v2"}`; the rest → message."""
    head, _, rest = message.partition(" ")
    if not _EVENT.fullmatch(head):
        return {"message": message}
    found: dict[str, Any] = {"event": head}
    for match in _FIELD.finditer(rest):
        found.setdefault(match.group(1), match.group(2))
    leftover = _FIELD.sub("", rest).strip()
    if leftover:
        found["message"] = leftover
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = parse_message(record.getMessage())
        for key, value in fields.items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = redacted_exception(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with exceptions redacted like the JSON ones."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def formatException(self, ei: Any) -> str:
        return redacted_exception(ei)


def configure(log_format: LogFormat, level: int, stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr) in `log_format`, replacing earlier setup."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
