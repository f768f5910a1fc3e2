"""Languages: negotiation, the language switch, and complete catalogs."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from web.render.i18n import LOCALE_DIR, I18n, negotiate

Login = Callable[..., Awaitable[str]]
WEB_DIR = Path(__file__).resolve().parents[3] / "web"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("es-MX,es;q=0.9,en;q=0.8", "es_MX"),
        ("es", "es_MX"),
        ("fr-FR,en;q=0.5,es;q=0.4", "en"),
        ("en;q=0.2, es-419;q=0.8", "es_MX"),
        ("fr, de", None),
        ("", None),
        ("en;q=0", None),
    ],
)
def test_accept_language_negotiation(header: str, expected: str | None) -> None:
    assert negotiate(header) == expected


def test_choice_order_is_cookie_then_user_then_browser_then_default() -> None:
    i18n = I18n()
    assert i18n.choose(cookie="en", user_locale="es_MX", accept_language="es") == "en"
    assert i18n.choose(cookie=None, user_locale="en", accept_language="es") == "en"
    assert i18n.choose(cookie="xx", user_locale=None, accept_language="en-GB") == "en"
    assert i18n.choose(cookie=None, user_locale=None, accept_language=None) == "es_MX"


def _server_msgids() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    found = extract_from_dir(str(WEB_DIR), method_map, options, keywords={"_": None})
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_every_server_string_is_translated(locale: str) -> None:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string and not m.fuzzy}
    missing = sorted(_server_msgids() - translated)
    assert not missing, f"untranslated in {path}: {missing}"


async def test_accept_language_chooses_english(web_client: TestClient[Any, Any]) -> None:
    html = await (await web_client.get("/login", headers={"Accept-Language": "en-US"})).text()
    assert '<html lang="en">' in html
    assert "E-mail address" in html and "Correo electrónico" not in html


async def test_spanish_is_the_default(web_client: TestClient[Any, Any]) -> None:
    html = await (await web_client.get("/login")).text()
    assert '<html lang="es-MX">' in html
    assert "Correo electrónico" in html and "Contraseña" in html


async def test_language_switch_sets_a_cookie_and_the_users_preference(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, "especialista.laraza@junta.example")
    reply = await web_client.post(
        "/lang",
        data={"lang": "en", "next": "/dashboard", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert reply.status == 303 and reply.headers["Location"] == "/dashboard"
    assert reply.cookies["lang"].value == "en"
    html = await (await web_client.get("/dashboard")).text()
    assert "My sessions" in html and "Sign out" in html
    # Without the cookie, the account's stored preference still says English.
    web_client.session.cookie_jar.clear_domain("127.0.0.1")
    await login_as(web_client, "especialista.laraza@junta.example")
    html = await (await web_client.get("/dashboard", headers={"Accept-Language": "es"})).text()
    assert "My sessions" in html


async def test_room_page_gets_the_client_catalog_of_its_language(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, "especialista.laraza@junta.example")
    catalogs = I18n().client
    for lang, locale in (("es_MX", "es_MX"), ("en", "en")):
        web_client.session.cookie_jar.update_cookies({"lang": lang})
        html = await (await web_client.get("/rooms/interconsulta-lla")).text()
        config = re.search(r'id="call-config">(.*?)</script>', html, re.S)
        assert config
        assert json.loads(config.group(1))["i18n"] == catalogs[locale]
