"""PostgreSQL stopped under a running `junta serve`: API calls answer 503 database_unavailable,
calls in progress go on, and once it is back everything works and nothing was lost."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from casebook import demo
from tests.faults.servers import Caller, JuntaServe, PostgresServer, eventually, relays
from tests.web.api_helpers import NEW_CASE

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
COUNTED = ("cases", "audit_events", "opinions", "recording_consents", "users")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[PostgresServer, JuntaServe]]:
    postgres = PostgresServer().initdb().start()
    try:
        postgres.create_database()
        serve = JuntaServe(tmp_path, "serve", JUNTA_DATABASE_URL=postgres.url)
        try:
            yield postgres, serve.start("--demo")
        finally:
            serve.stop()
    finally:
        postgres.remove()


class Browser:
    """A signed-in user's cookie jar and CSRF token against the real process."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def sign_in(self, email: str) -> None:
        async with self.session.get(self.base + "/login") as page:
            token = _CSRF.search(await page.text())
        assert token is not None
        form = {"email": email, "password": demo.DEMO_PASSWORD, "csrf_token": token.group(1)}
        async with self.session.post(self.base + "/login", data=form,
                                     allow_redirects=False) as reply:
            assert reply.status == 303
        async with self.session.get(self.base + "/dashboard") as page:
            found = _CSRF.search(await page.text())
        assert found is not None
        self.csrf = found.group(1)

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(
            method, self.base + path, json=body, headers={"X-CSRF-Token": self.csrf}
        ) as reply:
            return reply.status, await reply.json(content_type=None)

    async def page(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.base + path) as reply:
            return reply.status, await reply.text()


async def counts(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {t: await connection.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED}
    finally:
        await connection.close()


async def test_api_answers_503_while_postgres_is_down_and_recovers_after(
    served: tuple[PostgresServer, JuntaServe],
) -> None:
    postgres, serve = served
    dsn = postgres.url.replace("postgresql+asyncpg", "postgresql")
    referrer = Browser(serve.url)
    room = f"room-{uuid.uuid4().hex[:8]}"
    alice = await Caller(serve.url, "alice", room).connect()
    bob = await Caller(serve.url, "bob", room).connect()
    try:
        await referrer.sign_in(demo.REFERRER)
        status, case = await referrer.api("POST", "/api/cases", NEW_CASE)
        assert status == 201, case
        code = case["code"]
        before = await counts(dsn)

        postgres.stop()
        status, body = await referrer.api("GET", f"/api/cases/{code}")
        assert status == 503
        assert body["error"]["code"] == "database_unavailable"
        assert "try again" in body["error"]["message"]
        status, body = await referrer.api("POST", "/api/cases", NEW_CASE)
        assert status == 503 and body["error"]["code"] == "database_unavailable"
        status, html = await referrer.page("/dashboard")  # pages: translated, no traceback
        assert status == 503 and "no está disponible por un momento" in html
        async with referrer.session.get(serve.url + "/readyz") as ready:
            assert ready.status == 503
            assert (await ready.json())["checks"]["database"].startswith("unreachable")
        # The call in progress does not need the database.
        await relays(alice, bob, within=3)
        await relays(bob, alice, within=3)

        postgres.start()
        await eventually(
            lambda: _status(referrer, f"/api/cases/{code}", 200), 15, "API back after restart"
        )
        status, again = await referrer.api("GET", f"/api/cases/{code}")
        assert status == 200 and again["code"] == code
        status, second = await referrer.api("POST", "/api/cases", NEW_CASE)
        assert status == 201, second
        after = await counts(dsn)
        assert after["cases"] == before["cases"] + 1
        for table in COUNTED:
            assert after[table] >= before[table], table
        await relays(alice, bob, within=3)
        assert len(alice.joins) == 1 and len(bob.joins) == 1
    finally:
        await alice.close()
        await bob.close()
        await referrer.session.close()


async def _status(browser: Browser, path: str, expected: int) -> bool:
    status, _ = await browser.api("GET", path)
    return status == expected
