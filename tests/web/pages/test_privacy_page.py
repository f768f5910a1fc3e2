"""The privacy notice: public, in the request's language, linked from every page and sign-in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from web.app.settings import Settings, SettingsError

Login = Callable[..., Awaitable[str]]
ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


async def test_notice_in_spanish_by_default(web_client: TestClient[Any, Any]) -> None:
    reply = await web_client.get("/privacy")
    assert reply.status == 200
    html = await reply.text()
    assert '<html lang="es-MX">' in html
    assert "Aviso de privacidad integral" in html
    for text in ("derechos ARCO", "5 años", "seudónimo", "Metadatos de las llamadas",
                 "auditoría", "Cambios a este aviso", "transferencias"):
        assert text in html, text
    assert "Privacy notice" not in html


async def test_notice_in_english_from_the_browser_language(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await web_client.get("/privacy", headers={"Accept-Language": "en-US"})
    html = await reply.text()
    assert reply.status == 200 and '<html lang="en">' in html
    for text in ("Comprehensive privacy notice", "ARCO rights", "5 years", "pseudonymous code",
                 "Call metadata", "Audit records", "Changes to this notice"):
        assert text in html, text
    assert "Aviso de privacidad" not in html


async def test_the_public_sector_law_by_default(web_client: TestClient[Any, Any]) -> None:
    # IMSS and the other public institutions answer to the LGPDPPSO, not the LFPDPPP.
    html = await (await web_client.get("/privacy")).text()
    assert "Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados" in html
    assert html.count("LGPDPPSO") == 2
    assert "LFPDPPP" not in html and "Particulares" not in html


async def test_a_private_institution_cites_the_federal_law(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(privacy_law="lfpdppp")
    for language, law in (("es-MX", "Posesión de los Particulares"), ("en", "Private Parties")):
        reply = await client.get("/privacy", headers={"Accept-Language": language})
        html = await reply.text()
        assert law in html and ("artículo 37" in html or "article 37" in html), language
        assert "LGPDPPSO" not in html, language


def test_the_law_is_a_setting_refused_when_unknown() -> None:
    assert Settings.from_env({}).privacy_law == "lgpdppso"
    assert Settings.from_env({"JUNTA_PRIVACY_LAW": "lfpdppp"}).privacy_law == "lfpdppp"
    with pytest.raises(SettingsError, match="JUNTA_PRIVACY_LAW"):
        Settings.from_env({"JUNTA_PRIVACY_LAW": "gdpr"})


async def test_unconfigured_controller_and_contact_are_marked_placeholders(
    web_client: TestClient[Any, Any],
) -> None:
    html = await (await web_client.get("/privacy")).text()
    assert 'data-setting="JUNTA_PRIVACY_CONTROLLER"' in html
    assert 'data-setting="JUNTA_PRIVACY_CONTACT"' in html


async def test_configured_controller_and_contact_are_shown_escaped(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(
        privacy_controller="Hospital Infantil <Ejemplo>, A.C.",
        privacy_contact="privacidad@hospital.example",
    )
    html = await (await client.get("/privacy")).text()
    assert "Hospital Infantil &lt;Ejemplo&gt;, A.C. es responsable del tratamiento" in html
    assert "privacidad@hospital.example" in html
    assert "config-placeholder" not in html


async def test_linked_from_sign_in_and_signed_in_pages(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    login = await (await web_client.get("/login")).text()
    assert login.count('href="/privacy"') == 2  # in the form's card and in the footer
    await login_as(web_client, "especialista.laraza@junta.example")
    for path in ("/dashboard", "/privacy", "/nothing-here"):
        html = await (await web_client.get(path)).text()
        assert '<footer class="site-footer">' in html and 'href="/privacy"' in html, path


async def test_public_without_sign_in_and_no_store(web_client: TestClient[Any, Any]) -> None:
    reply = await web_client.get("/privacy", allow_redirects=False)
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in reply.headers
