"""PROTOCOL.md's tables list every field the server sends: the join ack's, and the join API's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from web.api.rooms import JoinReply

from .conftest import CallServer

PROTOCOL = (Path(__file__).resolve().parents[2] / "signaling" / "PROTOCOL.md").read_text()


def _top_level_keys(text: str) -> set[str]:
    """The field names at the outer level of a `{a, b: x, c?: {d}}` description."""
    depth, names, current = 0, set(), ""
    for char in text.strip()[1:-1]:
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(current)
            current = ""
            continue
        if depth == 0:
            current += char
    names.add(current)
    return {re.match(r"\s*(\w+)", name).group(1) for name in names if name.strip()}  # type: ignore[union-attr]


def documented_join_ack() -> set[str]:
    row = next(line for line in PROTOCOL.splitlines() if line.startswith("| `join` |"))
    ack = row.split(" | ")[2]
    joined = ack.split("` or `")[0].strip("` ")
    return _top_level_keys(joined)


async def test_the_join_ack_table_lists_every_field_of_the_ack(call_server: CallServer) -> None:
    moderator = await call_server.participant("chair", join=False, moderate=True)
    ack = await moderator.join()
    assert ack["status"] == "joined"
    assert set(ack) == documented_join_ack()


def test_the_join_token_section_shows_every_field_of_the_join_api() -> None:
    section = PROTOCOL.split("## Join token", 1)[1]
    example = re.search(r"```json\n(.*?)```", section, re.S)
    assert example is not None
    shown = json.loads(example.group(1).replace("…", "x"))
    assert set(shown) == set(JoinReply.model_fields)
    assert set(shown["peer"]) == {"user_id", "name"}
