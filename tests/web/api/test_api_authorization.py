"""Every route of the app, for every demo role: who gets through, from a table written here.

The table is the intent; each route's declaration (`web.http.routes.Route.roles`) must match it,
and the running app must behave accordingly. A route missing from the table fails, so a new
route cannot escape review. Then: people of another center get 404 on every route that names a
case (or a session they do not take part in), so a case's existence does not leak.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import ReviewSession, Role
from tests.web.api_helpers import DRAFT, SCHEDULED, Login, demo_case, sign_in
from tests.web.page_access import PAGE_ACCESS
from web.app.keys import SESSIONS
from web.http.routes import declarations
from web.pages import mount as casebook_site

R = Role
CLINICAL = frozenset({R.COORDINATOR, R.SPECIALIST, R.LECTURER, R.REFERRER})
READERS = CLINICAL | {R.TRAINEE}
EVERYONE = READERS | {R.ADMIN}
COORDINATOR = frozenset({R.COORDINATOR})
PUBLIC = None

# route name → roles that get past the route's gate (PUBLIC: no sign-in needed).
EXPECTED: dict[str, frozenset[Role] | None] = {
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "metrics": PUBLIC,
    "api-openapi": PUBLIC,
    "api-join": EVERYONE,
    "api-cases-create": CLINICAL,
    "api-cases-list": READERS,
    "api-queue": COORDINATOR,
    "api-case": READERS,
    "api-case-edit": CLINICAL,
    "api-case-submit": CLINICAL,
    "api-case-request-information": COORDINATOR,
    "api-case-answer-information": CLINICAL,
    "api-case-accept": COORDINATOR,
    "api-case-reject": COORDINATOR,
    "api-case-withdraw": CLINICAL,
    "api-case-close": CLINICAL,
    "api-case-attachments": CLINICAL,
    "api-case-attachment": READERS,
    "api-case-opinions": frozenset({R.COORDINATOR, R.SPECIALIST, R.LECTURER}),
    "api-case-recommendation-issue": CLINICAL,
    "api-case-recommendation": READERS,
    "api-case-nota-pdf": READERS,
    "api-case-fhir": READERS,
    "api-sessions-create": COORDINATOR,
    "api-sessions-list": READERS,
    "api-session": READERS,
    "api-session-edit": CLINICAL,
    "api-session-cancel": COORDINATOR,
    "api-session-schedule": COORDINATOR,
    "api-session-agenda-order": CLINICAL,
    "api-session-unschedule": CLINICAL,
    "api-session-discussed": CLINICAL,
    "api-room-agenda": READERS,
    "api-room-agenda-case": READERS,
    "api-audit": frozenset({R.ADMIN}),
    "api-me-export": EVERYONE,
    "api-guest-link-create": READERS,
    "api-guest-link-list": READERS,
    "api-guest-link-revoke": READERS,
    "api-guest-join": PUBLIC,
    "api-network-check": PUBLIC,
    "api-recordings-list": READERS,
    "api-recording": READERS,
    "api-recording-publish": frozenset({R.COORDINATOR, R.SPECIALIST, R.LECTURER}),
    "api-recording-withdraw": frozenset({R.COORDINATOR, R.SPECIALIST, R.LECTURER}),
    "api-recording-track-media": READERS,
}
# Not JSON API: pages (their own tests), static files, socket.io (join tokens guard calls).
OUTSIDE_API = {
    "GET /socket.io/", "POST /socket.io/", "OPTIONS /socket.io/", "home", "login",
    "POST /login", "logout", "lang", "dashboard", "room", "favicon", "socketio-client", "static",
    "privacy", "guest", "POST /guest/{token}", "guest-room", "network-check",
    "recordings", "recording", "recording-publish", "recording-withdraw",
}
# Account and administration pages: their own generated test (test_account_access.py).
OUTSIDE_API |= set(PAGE_ACCESS)
# Casebook pages: their own generated test (test_casebook_pages.py, 404s included).
OUTSIDE_API |= {route.key for route in casebook_site.routes()}
ROLE_USERS = {
    R.ADMIN: demo.ADMIN,
    R.COORDINATOR: demo.COORDINATOR,
    R.SPECIALIST: demo.SPECIALIST_LA_RAZA,
    R.LECTURER: demo.LECTURER,
    R.REFERRER: demo.REFERRER,
    R.TRAINEE: demo.TRAINEE,
}
_PARAM = re.compile(r"\{(\w+)(?::[^}]+)?\}")


def _routes(client: TestClient[Any, Any]) -> list[tuple[str, str, str]]:
    found = []
    for route in client.app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix") or ""
        found.append((route.method, path, route.name or f"{route.method} {path}"))
    return found


async def _board(client: TestClient[Any, Any]) -> int:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(
            select(ReviewSession.id).where(ReviewSession.room_id == demo.BOARD_ROOM)
        )
    assert found is not None
    return found


async def test_every_route_is_in_the_table_and_declares_the_tables_roles(
    web_client: TestClient[Any, Any],
) -> None:
    declared = declarations(web_client.app)
    for method, path, key in _routes(web_client):
        if key in OUTSIDE_API:
            continue
        assert key in EXPECTED, f"{method} {path} ({key}) is missing from the access table"
        assert key in declared, f"{method} {path} has no Route declaration"
        assert declared[key].roles == EXPECTED[key], f"{key} declares other roles than the table"
    stale = set(EXPECTED) - {key for *_, key in _routes(web_client)}
    assert not stale, f"the table lists routes the app no longer has: {sorted(stale)}"


async def test_every_api_route_lets_exactly_the_tables_roles_through(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    values = {
        "code": await demo_case(web_client, SCHEDULED),
        "session_id": str(await _board(web_client)),
        "attachment_id": "1",
        "room_id": "interconsulta-lla",
        "token": "not.a-link",
        "recording_id": "no-such-recording",
        "track_id": "1",
        "item": "1",
        "link_id": "0123456789abcdef",
    }
    api_routes = [r for r in _routes(web_client) if r[2] in EXPECTED]
    callers: list[tuple[str, Role | None]] = [("anonymous", None)] + [
        (email, role) for role, email in ROLE_USERS.items()
    ]
    for email, role in callers:
        if role is None:
            page = await web_client.get("/login")
            from tests.conftest import csrf_from_html

            csrf = csrf_from_html(await page.text())
        else:
            csrf = (await sign_in(web_client, login_as, email)).csrf
        for method, path, key in api_routes:
            url = _PARAM.sub(lambda m: values[m.group(1)], path)
            reply = await web_client.request(
                method, url, json={}, headers={"X-CSRF-Token": csrf}
            )
            body = await reply.read()
            who = role.value if role else "anonymous"
            assert reply.status < 500, (who, key, reply.status, body[:200])
            allowed = EXPECTED[key]
            if allowed is None:
                assert reply.status not in {401, 403}, (who, key, reply.status)
                continue
            code = (await reply.json())["error"]["code"] if reply.status >= 400 else None
            if role is None:
                assert (reply.status, code) == (401, "not_signed_in"), (who, key, reply.status)
            elif role in allowed:
                assert code not in {"role_not_allowed", "not_signed_in"}, (who, key, code)
            else:
                assert (reply.status, code) == (403, "role_not_allowed"), (who, key, reply.status)


async def test_people_of_other_centers_get_404_on_every_route_naming_a_case(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    declared = declarations(web_client.app)
    draft = await demo_case(web_client, DRAFT)  # HGR No. 20's draft: nobody else sees it
    scheduled = await demo_case(web_client, SCHEDULED)  # the trainee is not on that board
    board = str(await _board(web_client))
    outsiders = [
        (demo.COORDINATOR, R.COORDINATOR, [draft]),
        (demo.SPECIALIST_MERIDA, R.SPECIALIST, [draft]),
        (demo.LECTURER, R.LECTURER, [draft]),
        (demo.TRAINEE, R.TRAINEE, [draft, scheduled]),
    ]
    case_routes = [
        r for r in _routes(web_client)
        if ("{code}" in r[1] or "{session_id}" in r[1]) and r[2] not in OUTSIDE_API
    ]
    assert len(case_routes) >= 20
    checked = 0
    for email, role, codes in outsiders:
        api = await sign_in(web_client, login_as, email)
        for method, path, key in case_routes:
            roles = declared[key].roles
            if roles is not None and role not in roles:
                continue  # refused by role already (403 says nothing about any case)
            if "{code}" not in path and email != demo.TRAINEE:
                continue  # session routes: only the trainee is outside the board
            for code in codes:
                url = path.replace("{code}", code).replace("{session_id}", board)
                url = url.replace("{attachment_id}", "1")
                body = {"case": code, "cases": [code]}
                reply = await api.call(method, url, body)
                assert reply.status == 404, (email, key, code, reply.status)
                assert (await reply.json())["error"]["code"] == "not_found"
                checked += 1
    assert checked >= 40

