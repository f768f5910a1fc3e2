"""The network check (`/network-check`): a page someone from a hospital's IT opens on one of its
PCs to see which ways a call's media can take through their network, before anyone there has
an account (issue 22.5; docs/network.md says how to read it).

The page tries each configured STUN and TURN server on its own, so it needs TURN credentials
without a sign-in. TURN credentials are a way through the TURN server (signaling/ice.py), so
these ones differ from a call's: they expire after `CHECK_TTL` seconds (long enough to gather
candidates; coturn checks them again when an allocation is refreshed, so a relay opened with
them does not outlive its first lifetime), they name no user, and one address may ask for them
`CHECK_BURST` times, then once every `CHECK_INTERVAL` seconds (`web.http.ratelimit.AddressLimit`);
past that the API answers 429 `rate_limited` with Retry-After.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from pydantic import BaseModel

from signaling.ice import IceConfig, ice_answer
from web.api.rooms import ice_config
from web.app.keys import NETWORK_CHECK_LIMIT, SETTINGS
from web.http.auth import client_address
from web.http.errors import RateLimited
from web.http.routes import Route, json_reply, page_route
from web.render.context import render

log = logging.getLogger("junta.web")

CHECK_TTL = 120
CHECK_USER = "network-check"
CHECK_BURST = 6
CHECK_INTERVAL = 30.0


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class CheckServersOut(BaseModel):
    ice_servers: list[IceServerOut]
    expires_in: int | None  # seconds the TURN credentials live; None without TURN


def check_config(settings_config: IceConfig) -> IceConfig:
    """The call's ICE servers with credentials that live `CHECK_TTL` seconds."""
    return IceConfig(
        stun_urls=settings_config.stun_urls,
        turn_urls=settings_config.turn_urls,
        turn_secret=settings_config.turn_secret,
        turn_ttl=min(CHECK_TTL, settings_config.turn_ttl),
    )


async def check_servers(request: web.Request) -> web.Response:
    """The STUN and TURN servers of calls, with short-lived TURN credentials for the check."""
    address = client_address(request)
    limit = request.app[NETWORK_CHECK_LIMIT]
    if not limit.allow(address):
        log.warning("network_check.rate_limited ip=%s", address)
        raise RateLimited(limit.retry_after(address), "too many network checks from this address")
    answer = ice_answer(check_config(ice_config(request.app[SETTINGS])), CHECK_USER, time.time())
    log.info("network_check.credentials ip=%s turn=%s", address,
             answer["ice_expires_in"] is not None)
    return json_reply(CheckServersOut(
        ice_servers=[IceServerOut(**server) for server in answer["ice_servers"]],
        expires_in=answer["ice_expires_in"],
    ))


async def check_page(request: web.Request) -> web.StreamResponse:
    """The network check page (public): the browser does the checking."""
    servers_url = request.app.router["api-network-check"].url_for()
    return await render(request, "network_check.html", {"servers_url": str(servers_url)})


def routes() -> list[Route]:
    """The page and its API: public, each request limited per address."""
    return [
        page_route("GET", "/network-check", check_page, "network-check", None),
        Route(
            "GET", "/api/network-check/servers", check_servers, name="api-network-check",
            summary="ICE servers for the network check",
            description=(
                "The STUN and TURN servers calls use, with TURN credentials that expire in two "
                "minutes and name no user, for /network-check to try each path. No sign-in; a "
                "client address may ask six times, then once every 30 s (429 `rate_limited`)."
            ),
            roles=None, response=CheckServersOut, tag="calls",
        ),
    ]
