"""A listing reads on the connection that looked up its caller's session; every other route
gives that connection back before its handler runs (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event

from casebook import demo
from tests.web.api_helpers import ACCEPTED, Login, demo_case, sign_in
from web.app.keys import ENGINE


@dataclass
class PoolUse:
    checkouts: int = 0
    out: int = 0
    most_at_once: int = 0


@contextmanager
def pool_use(client: TestClient[Any, Any]) -> Iterator[PoolUse]:
    """How many connections the app takes from its pool meanwhile, and how many at once."""
    pool = client.app[ENGINE].sync_engine.pool
    use = PoolUse()

    def checkout(*_: Any) -> None:
        use.checkouts += 1
        use.out += 1
        use.most_at_once = max(use.most_at_once, use.out)

    def checkin(*_: Any) -> None:
        use.out -= 1

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield use
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


async def test_a_listing_and_its_audit_event_use_the_session_lookups_connection(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    for path in ("/api/cases?status=accepted", "/api/queue"):
        with pool_use(web_client) as use:
            listed = await coordinator.ok("GET", path)
        assert listed["total"] >= 1
        assert use.checkouts == 1, path
    with pool_use(web_client) as use:
        page = await web_client.get("/cases")
        assert page.status == 200 and "JC-" in await page.text()
    assert use.checkouts == 1


async def test_other_routes_give_the_lookups_connection_back_before_their_handler_runs(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    code = await demo_case(web_client, ACCEPTED)
    with pool_use(web_client) as use:
        case = await coordinator.ok("GET", f"/api/cases/{code}")
    assert case["code"] == code
    assert use.checkouts == 2 and use.most_at_once == 1


async def test_a_stale_cookie_is_refused_by_a_listing_and_dropped_by_a_page(
    web_client: TestClient[Any, Any],
) -> None:
    web_client.session.cookie_jar.update_cookies({"junta_session": "no-such-session"})
    assert (await web_client.get("/api/cases")).status == 401
    page = await web_client.get("/login")
    assert page.status == 200
    dropped = page.cookies["junta_session"]
    assert dropped.value == "" and dropped["max-age"] == "0"
