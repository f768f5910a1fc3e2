"""Pages: the dashboard, the room page, error pages."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from signaling.protocol import PROTOCOL_VERSION
from tests.conftest import ClientFactory
from tests.live import test_settings
from web.app.factory import StartupError, create_app
from web.app.settings import Settings

Login = Callable[..., Awaitable[str]]
ROOM_LINK = re.compile(r'href="/rooms/([a-z0-9-]+)"')


async def test_dashboard_lists_only_invited_rooms(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, "referente.hgr20@junta.example")
    html = await (await web_client.get("/dashboard")).text()
    assert ROOM_LINK.findall(html) == ["interconsulta-lla"]
    assert "Interconsulta: LLA de alto riesgo" in html
    assert "Junta de tumores" not in html


async def test_dashboard_shows_kind_admission_and_moderation(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, "coordinacion@junta.example")
    html = await (await web_client.get("/dashboard")).text()
    assert sorted(ROOM_LINK.findall(html)) == ["interconsulta-lla", "junta-tumores-sn"]
    assert "Sala de espera: un moderador admite a los participantes" in html
    assert "Moderas esta sesión" in html


async def test_home_sends_to_sign_in_or_dashboard(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    reply = await web_client.get("/", allow_redirects=False)
    assert reply.headers["Location"] == "/login"
    await login_as(web_client, "residente@junta.example")
    reply = await web_client.get("/", allow_redirects=False)
    assert reply.headers["Location"] == "/dashboard"


async def test_room_page_is_404_for_someone_not_invited(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, "referente.hgr20@junta.example")
    for room in ("junta-tumores-sn", "no-such-room"):
        reply = await web_client.get(f"/rooms/{room}")
        assert reply.status == 404
        html = await reply.text()
        assert "Página no encontrada" in html
        assert "Traceback" not in html


async def test_room_page_renders_for_an_invitee(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, "coordinacion@junta.example")
    reply = await web_client.get("/rooms/junta-tumores-sn")
    assert reply.status == 200
    html = await reply.text()
    assert '<meta name="csrf-token" content="' in html
    assert '<html lang="es-MX">' in html
    config = re.search(r'<script type="application/json" id="call-config">(.*?)</script>', html,
                       re.S)
    assert config, "room.html carries its configuration as JSON"
    data = json.loads(config.group(1))
    assert data["room"] == {
        "id": "junta-tumores-sn",
        "title": "Junta de tumores del sistema nervioso central",
        "kind": "board",
        "requires_admission": True,
    }
    assert data["user"]["name"] == "Dra. Mariana Velázquez Treviño"
    assert data["user"]["center"] == "CMN Siglo XXI Hospital de Pediatría"
    assert data["is_moderator"] is True
    assert data["protocol"] == PROTOCOL_VERSION
    assert data["lang"] == "es-MX"
    assert isinstance(data["i18n"], dict)


async def test_room_page_passes_the_configured_reconnect_grace_to_the_client(
    web_client_factory: ClientFactory, login_as: Login
) -> None:
    """The page judges its peer connections stale after the server's grace, not a guess of it."""
    client = await web_client_factory(reconnect_grace=7.5)
    await login_as(client, "coordinacion@junta.example")
    reply = await client.get("/rooms/junta-tumores-sn")
    assert reply.status == 200
    config = re.search(r'id="call-config">(.*?)</script>', await reply.text(), re.S)
    assert config
    assert json.loads(config.group(1))["reconnect_grace"] == 7.5


async def test_no_page_has_inline_javascript(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    pages = ["/login", "/no-such-page"]
    await web_client.get("/login")
    htmls = [await (await web_client.get(p)).text() for p in pages]
    await login_as(web_client, "coordinacion@junta.example")
    for path in ("/dashboard", "/rooms/junta-tumores-sn"):
        htmls.append(await (await web_client.get(path)).text())
    for html in htmls:
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert 'type="module" src=' in tag or 'type="application/json"' in tag, tag
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"


async def test_unknown_page_is_a_friendly_404_and_unknown_api_is_json(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await web_client.get("/nada-aqui")
    assert reply.status == 404 and reply.content_type == "text/html"
    reply = await web_client.get("/api/nothing")
    assert reply.status == 404
    assert (await reply.json())["error"]["code"] == "not_found"


async def test_unexpected_failure_is_a_500_page_with_a_reference_not_a_traceback(
    app_settings: Settings,
) -> None:
    app = create_app(app_settings)

    async def broken(request: Any) -> Any:
        raise RuntimeError("secret internals")

    app.router.add_get("/broken", broken)
    app.router.add_get("/api/broken", broken)
    from aiohttp.test_utils import TestServer

    async with TestClient(TestServer(app)) as client:
        reply = await client.get("/broken")
        html = await reply.text()
        assert reply.status == 500
        assert "Algo salió mal" in html and "secret internals" not in html
        reply = await client.get("/api/broken")
        body = await reply.json()
        assert reply.status == 500 and body["error"]["code"] == "internal"
        assert "secret internals" not in body["error"]["message"]


async def test_static_files_and_socketio_client_are_served(
    web_client: TestClient[Any, Any],
) -> None:
    assert (await web_client.get("/static/css/app.css")).status == 200
    reply = await web_client.get("/static/vendor/socket.io/socket.io.esm.min.js")
    assert reply.status == 200


async def test_pages_and_api_carry_security_headers(web_client: TestClient[Any, Any]) -> None:
    for path in ("/login", "/healthz", "/nothing-here", "/static/css/app.css"):
        reply = await web_client.get(path)
        assert reply.headers["X-Content-Type-Options"] == "nosniff", path
        assert reply.headers["X-Frame-Options"] == "DENY", path


def test_missing_browser_packages_stop_startup_with_a_clear_message(tmp_path: Path) -> None:
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}", node_modules_dir=tmp_path / "nothing"
    )
    with pytest.raises(StartupError, match="npm ci"):
        create_app(settings)
