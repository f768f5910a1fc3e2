"""The network check's page and servers API (issue 22.5): public, with TURN credentials that live
two minutes and name no user, asked for a few times per address, then slowly."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from signaling.ice import turn_credentials
from web.calls.network_check import CHECK_BURST, CHECK_TTL
from web.http.ratelimit import AddressLimit

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]
SECRET = "turn-secret"
TURN = ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp")
STUN = ("stun:turn.example.org:3478",)


async def test_anyone_gets_the_servers_with_turn_credentials_of_two_minutes(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(
        stun_urls=STUN, turn_urls=TURN, turn_secret=SECRET, turn_ttl=21600
    )
    reply = await client.get("/api/network-check/servers")
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "no-store"
    body = await reply.json()
    stun, turn = body["ice_servers"]
    assert stun == {"urls": list(STUN), "username": None, "credential": None}
    assert turn["urls"] == list(TURN)
    expiry, user = turn["username"].split(":", 1)
    assert user == "network-check"
    assert 0 < int(expiry) - time.time() <= CHECK_TTL + 1
    assert turn["credential"] == turn_credentials(SECRET, user, int(expiry))[1]
    assert 0 < body["expires_in"] <= CHECK_TTL


async def test_an_address_is_limited_after_a_few_checks(web_client_factory: ClientFactory) -> None:
    client = await web_client_factory(turn_urls=TURN, turn_secret=SECRET)
    for _ in range(CHECK_BURST):
        assert (await client.get("/api/network-check/servers")).status == 200
    refused = await client.get("/api/network-check/servers")
    assert refused.status == 429
    assert (await refused.json())["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 30


async def test_without_turn_the_check_gets_stun_only(web_client_factory: ClientFactory) -> None:
    client = await web_client_factory(stun_urls=STUN, turn_urls=(), turn_secret=None)
    body = await (await client.get("/api/network-check/servers")).json()
    assert body == {"ice_servers": [{"urls": list(STUN), "username": None, "credential": None}],
                    "expires_in": None}


async def test_the_page_is_public_and_speaks_spanish_or_english(
    web_client: TestClient[Any, Any],
) -> None:
    spanish = await web_client.get("/network-check")
    assert spanish.status == 200
    html = await spanish.text()
    assert '<html lang="es-MX">' in html and "Prueba de red para llamadas" in html
    config = json.loads(re.search(r'id="netcheck-config">(.*?)</script>', html, re.S).group(1))
    assert config["servers_url"] == "/api/network-check/servers"
    assert config["verdicts"]["tls"].startswith("Solo funciona TURN por TLS en el puerto 443")
    english = await web_client.get("/network-check", headers={"Accept-Language": "en"})
    html = await english.text()
    assert '<html lang="en">' in html and "Network check for calls" in html


def test_an_address_limit_refills_one_request_per_interval() -> None:
    now = [0.0]
    limit = AddressLimit(burst=2, interval=30.0, clock=lambda: now[0])
    assert limit.allow("a") and limit.allow("a") and not limit.allow("a")
    assert limit.allow("b")  # each address its own
    assert limit.retry_after("a") == 30.0
    now[0] = 29.0
    assert not limit.allow("a")
    now[0] = 31.0
    assert limit.allow("a")
    assert limit.retry_after("nobody") == 0.0
