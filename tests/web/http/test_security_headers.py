"""Security headers: every route of the app's route table answers with them, signed in or not."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from web.http.headers import CONTENT_SECURITY_POLICY, HSTS, SECURITY_HEADERS

Login = Callable[..., Awaitable[str]]
ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]

# Files that exist under each static prefix, to fetch a real file through it.
STATIC_FILES = {
    "/static/": "/static/css/app.css",
    "/static/vendor/socket.io/": "/static/vendor/socket.io/socket.io.esm.min.js",
}
_PLACEHOLDER = re.compile(r"\{[^}]+\}")


def route_requests(app: web.Application) -> list[tuple[str, str]]:
    """(method, path) for every route in the route table, placeholders filled in."""
    requests: set[tuple[str, str]] = set()
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        method = "GET" if route.method in ("*", "HEAD") else route.method
        if isinstance(resource, web.StaticResource):
            prefix = resource.canonical.rstrip("/") + "/"
            requests.add((method, STATIC_FILES[prefix]))
            continue
        # "1" is a valid-looking id for both integer and text placeholders.
        requests.add((method, _PLACEHOLDER.sub("1", resource.canonical)))
    return sorted(requests)


def assert_security_headers(reply: Any, what: str, *, hsts: bool = False) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, f"{what}: {name}"
    if hsts:
        assert reply.headers.get("Strict-Transport-Security") == HSTS, what
    else:
        assert "Strict-Transport-Security" not in reply.headers, what


def test_policy_has_no_unsafe_sources_and_every_required_directive() -> None:
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["media-src"] == "'self' blob:"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["object-src"] == "'none'"
    permissions = SECURITY_HEADERS["Permissions-Policy"]
    for feature in ("camera=(self)", "microphone=(self)", "display-capture=(self)",
                    "geolocation=()"):
        assert feature in permissions


async def test_every_route_answers_with_the_security_headers(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    requests = route_requests(web_client.app)
    assert ("GET", "/privacy") in requests and ("GET", "/login") in requests
    assert any(path.startswith("/api/") for _, path in requests)
    assert any(path.startswith("/socket.io") for _, path in requests)
    for signed_in in (False, True):
        if signed_in:
            await login_as(web_client, "especialista.laraza@junta.example")
        for method, path in requests:
            reply = await web_client.request(method, path, allow_redirects=False)
            assert_security_headers(reply, f"{method} {path} (signed in: {signed_in})")


@pytest.mark.parametrize(
    "path",
    ["/", "/favicon.ico", "/dashboard", "/nothing-here", "/api/nothing-here", "/static/nope.css"],
)
async def test_redirects_and_errors_carry_the_headers(
    web_client: TestClient[Any, Any], path: str
) -> None:
    reply = await web_client.get(path, allow_redirects=False)
    assert reply.status in (301, 303, 404), path
    assert_security_headers(reply, path)


async def test_refused_requests_carry_the_headers(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await web_client.post("/login", data={"email": "x"})  # no CSRF token
    assert reply.status == 403
    assert_security_headers(reply, "POST /login without CSRF")
    reply = await web_client.put("/login")
    assert reply.status in (403, 405)  # CSRF check first, or method not allowed
    assert_security_headers(reply, "PUT /login")


async def test_hsts_only_when_configured_for_tls(web_client_factory: ClientFactory) -> None:
    plain = await web_client_factory(cookie_secure=False)
    tls = await web_client_factory(cookie_secure=True)
    for path in ("/login", "/healthz", "/static/css/app.css", "/nothing-here", "/"):
        reply = await plain.get(path, allow_redirects=False)
        assert_security_headers(reply, f"plain {path}", hsts=False)
        reply = await tls.get(path, allow_redirects=False)
        assert_security_headers(reply, f"tls {path}", hsts=True)
