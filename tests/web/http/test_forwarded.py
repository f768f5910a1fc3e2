"""The client's address behind trusted proxies (JUNTA_TRUSTED_PROXIES): X-Forwarded-For is read
only when the connection comes from a named proxy, and only as far as the proxies go."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import ClientFactory, csrf_from_html
from tests.web.helpers import audit_actions
from web.app.settings import Settings, SettingsError
from web.http.forwarded import parse_proxies, resolve_client

NGINX = (ip_network("172.28.0.2/32"),)
PROXIES = (ip_network("172.28.0.0/24"), ip_network("fd00::/64"))


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert resolve_client("198.51.100.7", ["203.0.113.1"], ()) == "198.51.100.7"


def test_a_connection_not_from_a_proxy_is_the_client_whatever_it_says() -> None:
    assert resolve_client("198.51.100.7", ["203.0.113.1"], NGINX) == "198.51.100.7"


def test_the_client_is_the_nearest_address_no_trusted_proxy_stands_for() -> None:
    # nginx appends the address it saw: whatever the client wrote before that is not believed.
    header = ["10.9.9.9, 203.0.113.50"]
    assert resolve_client("172.28.0.2", header, NGINX) == "203.0.113.50"
    # Chained proxies are walked from the right; several headers read as one list.
    assert resolve_client("172.28.0.2", ["1.2.3.4", "203.0.113.50, 172.28.0.9"], PROXIES) == (
        "203.0.113.50"
    )


def test_odd_entries() -> None:
    assert resolve_client("172.28.0.2", ["[2001:db8::1]:443"], NGINX) == "2001:db8::1"
    assert resolve_client("172.28.0.2", ["203.0.113.5:5678"], NGINX) == "203.0.113.5"
    # Garbage stops the walk at the proxy that passed it on.
    assert resolve_client("172.28.0.2", ["not-an-address"], NGINX) == "172.28.0.2"
    assert resolve_client("172.28.0.2", [], NGINX) == "172.28.0.2"
    assert resolve_client("172.28.0.2", ["172.28.0.2"], NGINX) == "172.28.0.2"
    assert resolve_client(None, [], NGINX) == "unknown"


def test_the_setting_takes_addresses_and_networks() -> None:
    assert parse_proxies("172.28.0.2, 10.0.0.0/8 ,fd00::/64") == (
        ip_network("172.28.0.2/32"), ip_network("10.0.0.0/8"), ip_network("fd00::/64"),
    )
    assert parse_proxies("") == ()
    with pytest.raises(ValueError, match="nginx"):
        parse_proxies("nginx")
    settings = Settings.from_env(
        {"JUNTA_SECRET_KEY": "x" * 32, "JUNTA_TRUSTED_PROXIES": "172.28.0.2"}
    )
    assert settings.trusted_proxies == NGINX
    with pytest.raises(SettingsError, match="JUNTA_TRUSTED_PROXIES"):
        Settings.from_env({"JUNTA_SECRET_KEY": "x" * 32, "JUNTA_TRUSTED_PROXIES": "10.0.0.0/33"})


async def _wrong_password(client: TestClient[Any, Any], email: str, client_ip: str) -> int:
    headers = {"X-Forwarded-For": client_ip}
    page = await client.get("/login", headers=headers)
    token = csrf_from_html(await page.text())
    reply = await client.post(
        "/login", data={"email": email, "password": "wrong", "csrf_token": token},
        headers=headers, allow_redirects=False,
    )
    return reply.status


async def test_behind_a_trusted_proxy_typos_throttle_and_audit_their_own_client(
    web_client_factory: ClientFactory,
) -> None:
    # The test client connects from 127.0.0.1: here that is the proxy.
    client = await web_client_factory(
        trusted_proxies=(ip_network("127.0.0.1/32"),), login_max_failures_per_address=3
    )
    for n in range(3):
        assert await _wrong_password(client, f"nadie{n}@junta.example", "203.0.113.1") == 401
    assert await _wrong_password(client, "nadie9@junta.example", "203.0.113.1") == 429
    # Another computer behind the same proxy is not held up by them.
    assert await _wrong_password(client, "nadie9@junta.example", "203.0.113.2") == 401
    failed = await audit_actions(client, "auth.login_failed")
    assert [event.ip for event in failed] == ["203.0.113.1"] * 3 + ["203.0.113.2"]


async def test_without_the_setting_a_forwarded_header_is_not_believed(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory()
    await _wrong_password(client, "nadie@junta.example", "203.0.113.1")
    [failed] = await audit_actions(client, "auth.login_failed")
    assert failed.ip == "127.0.0.1"
