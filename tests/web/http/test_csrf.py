"""Every state-changing route refuses requests without the CSRF token (routes enumerated)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from aiohttp.web_urldispatcher import AbstractRoute

from casebook.demo import DEMO_PASSWORD
from tests.conftest import csrf_from_html
from web.http.csrf import EXEMPT_PREFIXES, UNSAFE_METHODS
from web.http.routes import path_params

Login = Callable[..., Awaitable[str]]
LA_RAZA = "especialista.laraza@junta.example"


# A sample value for each path identifier, so every request really reaches its route (the
# refusal must come from the CSRF check, not from a path that matches nothing).
SAMPLES = {
    "room_id": "interconsulta-lla",
    "code": "JC-2026-000001",
    "session_id": "1",
    "attachment_id": "1",
    "recording_id": "some-recording",
    "track_id": "1",
    "item": "1",
    "token": "some-token",
    "center_id": "1",
    "user_id": "some-user",
    "link_id": "1",
}


def unsafe_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, concrete path) of every state-changing route the app registers."""
    found = []
    for route in app.router.routes():
        if route.method not in UNSAFE_METHODS:
            continue
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path") or info.get("prefix", "")
        if path.startswith(EXEMPT_PREFIXES):
            continue
        for name, _ in path_params(path):
            assert name in SAMPLES, f"{route.method} {path}: add a sample for {{{name}}}"
            path = path.replace("{" + name + "}", SAMPLES[name])
        found.append((route.method, path))
    return found


async def test_every_sample_path_reaches_its_own_route(web_client: TestClient[Any, Any]) -> None:
    app = web_client.app
    routes = [r for r in app.router.routes() if r.method in UNSAFE_METHODS]
    paths = unsafe_routes(app)
    assert len(paths) == len([r for r in routes if not _exempt(r)])
    for (method, path), route in zip(paths, [r for r in routes if not _exempt(r)], strict=True):
        match = await app.router.resolve(make_mocked_request(method, path))
        assert match.route is route, (method, path)


def _exempt(route: AbstractRoute) -> bool:
    info = route.resource.get_info() if route.resource else {}
    path = info.get("formatter") or info.get("path") or info.get("prefix", "")
    return bool(path.startswith(EXEMPT_PREFIXES))


async def test_the_app_has_state_changing_routes_to_check(web_client: TestClient[Any, Any]) -> None:
    routes = unsafe_routes(web_client.app)
    assert ("POST", "/login") in routes
    assert ("POST", "/api/rooms/interconsulta-lla/join") in routes
    assert len(routes) >= 4


@pytest.mark.parametrize("token", [None, "wrong-token-wrong-token-wrong"])
async def test_signed_in_unsafe_requests_need_the_session_token(
    web_client: TestClient[Any, Any], login_as: Login, token: str | None
) -> None:
    await login_as(web_client, LA_RAZA)
    for method, path in unsafe_routes(web_client.app):
        form = {"csrf_token": token} if token else {}
        reply = await web_client.request(method, path, data=form, allow_redirects=False)
        assert reply.status == 403, (method, path)
        headers = {"X-CSRF-Token": token} if token else {}
        reply = await web_client.request(method, path, headers=headers, allow_redirects=False)
        assert reply.status == 403, (method, path)
        # A JSON body (what the API takes) carries no token either.
        reply = await web_client.request(
            method, path, json={"csrf_token": token}, headers=headers, allow_redirects=False
        )
        assert reply.status == 403, (method, path)
        if path.startswith("/api/"):
            assert (await reply.json())["error"]["code"] == "csrf_failed", (method, path)
    # Still signed in: nothing above had an effect.
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 200


async def test_signed_out_unsafe_requests_need_the_pre_session_token(
    web_client: TestClient[Any, Any],
) -> None:
    for method, path in unsafe_routes(web_client.app):
        reply = await web_client.request(method, path, allow_redirects=False)
        assert reply.status == 403, (method, path)


async def test_sign_in_without_the_cookie_token_is_refused(
    web_client: TestClient[Any, Any],
) -> None:
    # A token copied from a page is worthless without the matching cookie (double submit).
    page = await web_client.get("/login")
    token = csrf_from_html(await page.text())
    web_client.session.cookie_jar.clear()
    reply = await web_client.post(
        "/login",
        data={"email": LA_RAZA, "password": DEMO_PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert reply.status == 403
    assert "No fue posible verificar la solicitud" in await reply.text()


async def test_api_refusal_is_json(web_client: TestClient[Any, Any], login_as: Login) -> None:
    await login_as(web_client, LA_RAZA)
    reply = await web_client.post("/api/rooms/interconsulta-lla/join")
    assert reply.status == 403
    assert (await reply.json())["error"]["code"] == "csrf_failed"
