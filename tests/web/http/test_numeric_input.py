"""Numbers in requests are written with the digits 0-9: every route that takes a number (a path
parameter, a query parameter, a form field) answers a superscript "²", full-width "１２", Arabic-
Indic "٣" or a 5000-digit number with a refusal, never a server error, and never reads a
look-alike as the number it resembles (issue 20)."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.ascii_numbers import parse_ascii_int
from casebook.models import ReviewSession, Role
from tests.web.api_helpers import ACCEPTED, Login, demo_case, sign_in
from web.app.keys import SESSIONS
from web.http.routes import Route, declarations

Client = TestClient[Any, Any]
SUPERSCRIPT, ARABIC_INDIC, HUGE = "²", "٣", "9" * 5000
SMALL_BAD = [SUPERSCRIPT, "２", ARABIC_INDIC]  # "２": full-width two
# What pages read from their query string besides the API's declared query models.
PAGE_NUMBERS = {"page", "page_size", "center", "session_id", "session"}
_PARAM = re.compile(r"\{(\w+)(?::([^}]+))?\}")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def full_width(digits: str) -> str:
    return digits.translate(_FULL_WIDTH)


def _takes_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return any(_takes_int(arg) for arg in typing.get_args(annotation))
    return False


def numeric_query_fields(route: Route) -> set[str]:
    """The declared integer query parameters of an API route."""
    if route.query is None:
        return set()
    return {name for name, f in route.query.model_fields.items() if _takes_int(f.annotation)}


def test_only_ascii_digits_are_numbers() -> None:
    assert parse_ascii_int("12", 1, 100) == 12
    for raw in [SUPERSCRIPT, "１２", ARABIC_INDIC, HUGE, "", " 12", "+12", "-1", "1_000", None, 12]:
        assert parse_ascii_int(raw, 0, 10**18) is None, raw
    assert parse_ascii_int("0", 1, 10) is None and parse_ascii_int("11", 1, 10) is None


async def _board(client: Client) -> int:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(
            select(ReviewSession.id).where(ReviewSession.room_id == demo.BOARD_ROOM)
        )
    assert found is not None
    return found


async def test_every_route_that_takes_a_number_refuses_other_scripts_digits(
    web_client: Client, login_as: Login
) -> None:
    board = str(await _board(web_client))
    values = {
        "code": await demo_case(web_client, ACCEPTED),
        "session_id": board,
        "attachment_id": "1",
        "center_id": "1",
        "track_id": "1",
        "item": "1",
        "room_id": demo.BOARD_ROOM,
        "token": "not.a-link",
        "recording_id": "no-such-recording",
        "user_id": "no-such-user",
    }
    routes = [r for r in declarations(web_client.app).values() if r.method != "HEAD"]
    by_role = {
        Role.COORDINATOR: [r for r in routes if r.roles is None or Role.COORDINATOR in r.roles],
        Role.ADMIN: [r for r in routes if r.roles is not None and Role.COORDINATOR not in r.roles],
    }
    checked_paths = checked_queries = 0
    for role, email in [(Role.COORDINATOR, demo.COORDINATOR), (Role.ADMIN, demo.ADMIN)]:
        api = await sign_in(web_client, login_as, email)
        for route in by_role[role]:
            params = _PARAM.findall(route.path)
            numeric = [name for name, pattern in params if pattern and r"\d" in pattern]
            for name in numeric:
                # The real record's id in full-width digits: not found, not that record.
                for bad in [full_width(values[name]), SUPERSCRIPT, ARABIC_INDIC]:
                    url = _PARAM.sub(
                        lambda m, n=name, b=bad: b if m.group(1) == n else values[m.group(1)],
                        route.path,
                    )
                    reply = await api.call(route.method, url, {}, allow_redirects=False)
                    assert reply.status == 404, (role, route.key, bad, reply.status)
                    checked_paths += 1
            if route.method != "GET":
                continue
            url = _PARAM.sub(lambda m: values[m.group(1)], route.path)
            declared = numeric_query_fields(route)
            names = sorted(PAGE_NUMBERS | declared)
            # All names at once, but a huge number alone (a request line has a length limit).
            queries = [{name: bad for name in names} for bad in SMALL_BAD] + [
                {name: HUGE} for name in names
            ]
            for query in queries:
                bad = next(iter(query.values()))
                reply = await api.call("GET", url, params=query, allow_redirects=False)
                body = await reply.read()
                assert reply.status < 500, (role, route.key, bad, reply.status, body[:300])
                if declared & query.keys():
                    assert reply.status == 400, (role, route.key, bad, reply.status)
                checked_queries += 1
    assert checked_paths >= 50 and checked_queries >= 300, (checked_paths, checked_queries)


@pytest.mark.parametrize("bad", [SUPERSCRIPT, "full-width", ARABIC_INDIC, HUGE])
async def test_scheduling_forms_refuse_a_session_number_in_other_digits(
    web_client: Client, login_as: Login, bad: str
) -> None:
    board = str(await _board(web_client))
    session = full_width(board) if bad == "full-width" else bad
    code = await demo_case(web_client, ACCEPTED)
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    form = {"csrf_token": coordinator.csrf, "session": session, "case": code}
    for url in ["/queue/schedule", f"/cases/{code}/schedule"]:
        reply = await web_client.post(url, data=form, allow_redirects=False)
        assert reply.status == 400, (url, reply.status, (await reply.text())[:300])
    agenda = await coordinator.ok("GET", f"/api/sessions/{board}")
    assert code not in str(agenda)
