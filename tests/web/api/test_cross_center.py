"""Cross-center access, generated from the router: every route that takes an identifier answers
404 to a signed-in user who is outside the record it names (another center's case, a session or
room they are not invited to, a recording of such a room), so a record's existence never leaks.

Each route is tried with sample identifiers from "worlds" (records and the people outside them);
a route with an identifier no world samples fails the test, as does a route no outsider could
reach past its role gate, unless it is listed in NOT_RECORD_SCOPED with the reason. So a new
route with an identifier cannot escape this check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import Attachment, Case, Role, User
from tests.web.api.test_recordings import _recording
from tests.web.api_helpers import (
    ACCEPTED,
    DRAFT,
    PDF,
    SCHEDULED,
    Login,
    demo_case,
    sign_in,
    user_id,
)
from web.app.keys import SESSIONS
from web.http.routes import declarations, path_params

Client = TestClient[Any, Any]

# Identifier routes that name no record of a center: why each is not checked here.
NOT_RECORD_SCOPED = {
    # Capability links: a secret token, refused when unknown (test_guest_links, test_admin_pages).
    "invitation": "secret invitation token",
    "invitation-accept": "secret invitation token",
    "api-guest-join": "secret guest link",
    "guest": "secret guest link",
    "password-reset-link": "secret password-reset token",
    "password-reset-set": "secret password-reset token",
    "POST /guest/{token}": "secret guest link",
    "guest-room": "secret guest link",
    # Administration is network-wide and only admins pass the gate (test_admin_pages).
    "admin-center": "administration is network-wide",
    "admin-center-save": "administration is network-wide",
    "admin-user": "administration is network-wide",
    "admin-user-save": "administration is network-wide",
    "admin-user-deactivate": "administration is network-wide",
    "admin-user-reactivate": "administration is network-wide",
    "admin-user-reinvite": "administration is network-wide",
    "admin-user-unlock": "administration is network-wide",
    # Only coordinators pass these gates, and coordinators run every session of the network.
    "api-session-cancel": "coordinators only; they see every session",
    "api-session-schedule": "coordinators only; they see every session",
    "page-session-cancel": "coordinators only; they see every session",
}


@dataclass(frozen=True)
class World:
    """Sample identifiers of records, and people outside all of them."""

    name: str
    samples: dict[str, str]
    outsiders: tuple[str, ...]


@dataclass(frozen=True)
class IdRoute:
    method: str
    path: str
    key: str
    params: tuple[str, ...]
    roles: frozenset[Role] | None  # None: any signed-in user reaches the handler
    api: bool


def identifier_routes(client: Client) -> list[IdRoute]:
    """Every route of the app whose path takes an identifier (static files aside)."""
    declarations_by_key = declarations(client.app)
    found = []
    for route in client.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        info = route.resource.get_info()
        path = info.get("formatter") or info.get("path") or ""
        params = tuple(name for name, _ in path_params(path))
        if not params or path.startswith("/socket.io/"):
            continue
        key = route.name or f"{route.method} {path}"
        declared = declarations_by_key.get(key)
        roles = declared.roles if declared is not None else None
        found.append(IdRoute(route.method, path, key, params, roles, path.startswith("/api/")))
    return found


async def _role(client: Client, email: str) -> Role:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(select(User.role).where(User.email == email))
    assert found is not None
    return Role(found)


async def _attachment_of(client: Client, login_as: Login, code: str) -> str:
    """An attachment of the case, uploaded by its referrer."""
    referrer = await sign_in(client, login_as, demo.REFERRER)
    upload = FormData()
    upload.add_field("file", PDF, filename="biopsia.pdf", content_type="application/pdf")
    reply = await client.post(
        f"/api/cases/{code}/attachments", data=upload, headers={"X-CSRF-Token": referrer.csrf}
    )
    assert reply.status == 201, await reply.text()
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(
            select(Attachment.id).join(Case, Attachment.case_id == Case.id).where(Case.code == code)
        )
    assert found is not None
    return str(found)


async def _worlds(client: Client, login_as: Login) -> list[World]:
    draft = await demo_case(client, DRAFT)  # HGR No. 20's draft: nobody else sees it
    scheduled = await demo_case(client, SCHEDULED)  # on the board's agenda
    accepted = await demo_case(client, ACCEPTED)  # put on the private session's agenda below
    coordinator = await sign_in(client, login_as, demo.COORDINATOR)
    board = next(
        s for s in (await coordinator.ok("GET", "/api/sessions"))["sessions"]
        if s["room_id"] == demo.BOARD_ROOM
    )
    # A session only its chair (La Raza's specialist) takes part in.
    private = await coordinator.ok(
        "POST", "/api/sessions",
        {"kind": "consultation", "title": "Interconsulta privada",
         "starts_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
         "duration_minutes": 30,
         "chair_user_id": await user_id(client, demo.SPECIALIST_LA_RAZA), "invitees": []},
        status=201,
    )
    await coordinator.ok("POST", f"/api/sessions/{private['id']}/agenda", {"case": accepted}, 201)
    board_tracks = await _recording(client, demo.BOARD_ROOM, demo.COORDINATOR, "xc-board")
    consult_tracks = await _recording(
        client, "interconsulta-lla", demo.COORDINATOR, "xc-consult"
    )
    return [
        World(
            "another center's draft",
            {"code": draft, "attachment_id": await _attachment_of(client, login_as, draft)},
            (demo.COORDINATOR, demo.SPECIALIST_LA_RAZA, demo.SPECIALIST_MERIDA, demo.LECTURER,
             demo.TRAINEE),
        ),
        World(
            "a board the trainee is not on",
            {"code": scheduled, "session_id": str(board["id"]), "room_id": demo.BOARD_ROOM,
             "item": "1", "recording_id": "xc-board", "track_id": str(board_tracks[0])},
            (demo.TRAINEE,),
        ),
        World(
            "a session with its chair alone",
            {"code": accepted, "session_id": str(private["id"]),
             "room_id": private["room_id"], "item": "1"},
            (demo.SPECIALIST_MERIDA, demo.LECTURER, demo.TRAINEE),
        ),
        World(
            "a consultation the lecturer and trainee are not invited to",
            {"room_id": "interconsulta-lla", "recording_id": "xc-consult",
             "track_id": str(consult_tracks[0]), "link_id": "some-link"},
            (demo.LECTURER, demo.TRAINEE),
        ),
    ]


def _url(route: IdRoute, samples: dict[str, str]) -> str:
    url = route.path
    for name in route.params:
        url = url.replace("{" + name + "}", samples[name])
    return url


async def test_outsiders_get_404_on_every_route_that_takes_an_identifier(
    web_client: Client, login_as: Login
) -> None:
    routes = identifier_routes(web_client)
    assert len(routes) >= 50
    worlds = await _worlds(web_client, login_as)
    sampled = {name for world in worlds for name in world.samples}
    for route in routes:
        if route.key in NOT_RECORD_SCOPED:
            continue
        missing = set(route.params) - sampled
        assert not missing, f"{route.key} takes {sorted(missing)}: add a sample world for it"
    stale = set(NOT_RECORD_SCOPED) - {r.key for r in routes}
    assert not stale, f"NOT_RECORD_SCOPED names routes the app no longer has: {sorted(stale)}"

    checked: dict[str, int] = {r.key: 0 for r in routes if r.key not in NOT_RECORD_SCOPED}
    people = {email for world in worlds for email in world.outsiders}
    for email in sorted(people):
        role = await _role(web_client, email)
        who = await sign_in(web_client, login_as, email)
        for world in worlds:
            if email not in world.outsiders:
                continue
            for route in routes:
                if route.key not in checked or not set(route.params) <= set(world.samples):
                    continue
                if route.roles is not None and role not in route.roles:
                    continue  # refused by role already (403 says nothing about any record)
                url = _url(route, world.samples)
                code = world.samples.get("code", "JC-0000-000000")
                headers = {"X-CSRF-Token": who.csrf}
                if route.api:
                    reply = await web_client.request(
                        route.method, url, json={"case": code, "cases": [code]},
                        headers=headers, allow_redirects=False,
                    )
                else:
                    form = {"csrf_token": who.csrf, "session": world.samples.get("session_id", "1")}
                    reply = await web_client.request(
                        route.method, url, data=form, headers=headers, allow_redirects=False
                    )
                body = await reply.read()
                assert reply.status == 404, (email, world.name, route.key, reply.status, body[:300])
                if route.api:
                    assert (await reply.json())["error"]["code"] == "not_found", route.key
                checked[route.key] += 1
    unreached = sorted(key for key, count in checked.items() if count == 0)
    assert not unreached, f"no outsider of any world reaches these routes: {unreached}"
    assert sum(checked.values()) >= 100
