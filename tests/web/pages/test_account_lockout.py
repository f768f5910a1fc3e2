"""Brute force through the sign-in form: 20 wrong passwords lock the account at that address for a
while, the lock is audited, and a locked, a wrong and an unknown account get the very same answer.
The lock is no weapon (issue 20): the real user at another address still signs in, while an
address spraying many accounts is stopped."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta
from ipaddress import ip_network
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from casebook.clock import utcnow
from casebook.demo import DEMO_PASSWORD
from casebook.models import AccountLockout
from tests.conftest import ClientFactory, csrf_from_html
from tests.web.helpers import audit_actions
from web.app.keys import SESSIONS
from web.http.auth import SESSION_COOKIE

LA_RAZA = "especialista.laraza@junta.example"
NOBODY = "nadie.existe@junta.example"
# The in-memory per-account throttle (5 per 5 min) would answer 429 long before 20 failures.
NO_THROTTLE = {"login_max_failures_per_account": 1000, "login_max_failures_per_address": 10000}


# The test client connects from 127.0.0.1: trusted as a proxy, X-Forwarded-For names the client.
BEHIND_PROXY = {"trusted_proxies": (ip_network("127.0.0.1/32"),)}
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


async def _attempt(
    client: TestClient[Any, Any], email: str, password: str, address: str | None = None
) -> tuple[int, str]:
    headers = {"X-Forwarded-For": address} if address else {}
    page = await client.get("/login", headers=headers)
    token = csrf_from_html(await page.text())
    reply = await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/dashboard"},
        headers=headers,
        allow_redirects=False,
    )
    body = await reply.text()
    # The pages differ only in their per-request CSRF token.
    return reply.status, re.sub(r'(csrf[-_]token"? (?:content|value)=")[^"]*', r"\1", body)


async def test_twenty_wrong_passwords_lock_the_account_and_are_audited(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(lockout_threshold=20, lockout_minutes=15, **NO_THROTTLE)
    for _ in range(20):
        status, _body = await _attempt(client, LA_RAZA, "not-the-password")
        assert status == 401
    [locked] = await audit_actions(client, "auth.account_locked")
    assert locked.detail["email"] == LA_RAZA and locked.detail["failures"] == 20
    assert len(await audit_actions(client, "auth.login_failed")) == 20

    # The right password does not get in while the lock lasts, and says nothing more.
    status, _body = await _attempt(client, LA_RAZA, DEMO_PASSWORD)
    assert status == 401
    assert SESSION_COOKIE not in client.session.cookie_jar.filter_cookies(client.make_url("/"))
    assert len(await audit_actions(client, "auth.login_locked")) == 1

    # A restarted process (a new app on the same database) still refuses.
    other = await web_client_factory(**NO_THROTTLE)
    assert (await _attempt(other, LA_RAZA, DEMO_PASSWORD))[0] == 401

    # When the lock ends, the right password works again.
    async with client.app[SESSIONS]() as db:
        await db.execute(
            update(AccountLockout).values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await db.commit()
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD))[0] == 303


async def test_an_attacker_at_one_address_does_not_keep_the_owner_out(
    web_client_factory: ClientFactory,
) -> None:
    # The default in-memory throttle stays on: it must not block the owner either.
    client = await web_client_factory(lockout_threshold=20, **BEHIND_PROXY)
    statuses = [(await _attempt(client, LA_RAZA, "guess", ATTACKER))[0] for _ in range(20)]
    assert set(statuses) <= {401, 429} and 429 in statuses
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD, ATTACKER))[0] == 429
    # The owner, from their own address, signs in at once.
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD, OWNER))[0] == 303


async def test_twenty_wrong_passwords_at_one_address_lock_only_that_address(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(lockout_threshold=20, **BEHIND_PROXY, **NO_THROTTLE)
    for _ in range(20):
        assert (await _attempt(client, LA_RAZA, "guess", ATTACKER))[0] == 401
    assert len(await audit_actions(client, "auth.account_locked")) == 1
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD, ATTACKER))[0] == 401
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD, OWNER))[0] == 303


async def test_an_address_spraying_many_accounts_is_stopped(
    web_client_factory: ClientFactory,
) -> None:
    # The database lock, shared by every process, once the in-memory throttle is out of the way.
    client = await web_client_factory(
        lockout_address_threshold=5, **BEHIND_PROXY, **NO_THROTTLE
    )
    for n in range(5):
        assert (await _attempt(client, f"nadie{n}@junta.example", "guess", ATTACKER))[0] == 401
    [locked] = await audit_actions(client, "auth.address_locked")
    assert locked.ip == ATTACKER
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD, ATTACKER))[0] == 401
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD, OWNER))[0] == 303

    # The in-memory throttle first: the refusal says how long to wait.
    throttled = await web_client_factory(login_max_failures_per_address=3, **BEHIND_PROXY)
    for n in range(3):
        assert (await _attempt(throttled, f"otro{n}@junta.example", "guess", "192.0.2.9"))[0] == 401
    status, body = await _attempt(throttled, "otro9@junta.example", "guess", "192.0.2.9")
    assert status == 429 and "5 minut" in body


async def test_failures_from_many_addresses_only_slow_the_account_and_say_how_long(
    web_client_factory: ClientFactory,
) -> None:
    # threshold 2: one address locks itself after 2, the account alone is slowed after 4.
    client = await web_client_factory(lockout_threshold=2, **BEHIND_PROXY, **NO_THROTTLE)
    for n in range(4):
        assert (await _attempt(client, LA_RAZA, "guess", f"192.0.2.{n}"))[0] == 401
    status, body = await _attempt(client, LA_RAZA, DEMO_PASSWORD, OWNER)
    assert status == 429 and re.search(r"\b1 (segundo|second)\b", body), body
    [slowed] = await audit_actions(client, "auth.login_locked")
    assert slowed.detail["scope"] == "account"
    # A short delay, not a lock: once it passes, the owner gets in.
    async with client.app[SESSIONS]() as db:
        await db.execute(
            update(AccountLockout).values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await db.commit()
    assert (await _attempt(client, LA_RAZA, DEMO_PASSWORD, OWNER))[0] == 303


async def test_locked_wrong_and_unknown_accounts_get_the_same_answer(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(lockout_threshold=3, **NO_THROTTLE)
    for _ in range(3):
        await _attempt(client, LA_RAZA, "not-the-password")
    merida = "especialista.merida@junta.example"
    locked = await _attempt(client, LA_RAZA, DEMO_PASSWORD)
    wrong = await _attempt(client, merida, "not-the-password")
    unknown = await _attempt(client, NOBODY, "not-the-password")
    assert locked[0] == wrong[0] == unknown[0] == 401
    # Same page, apart from the address typed back into the form.
    assert locked[1] == wrong[1].replace(merida, LA_RAZA) == unknown[1].replace(NOBODY, LA_RAZA)
    # An unknown address locks like a real one (the lock is no oracle either).
    for _ in range(3):
        await _attempt(client, NOBODY, "not-the-password")
    assert len(await audit_actions(client, "auth.account_locked")) == 2


async def test_locked_wrong_and_unknown_accounts_take_similar_time(
    web_client_factory: ClientFactory,
) -> None:
    # Real Argon2 cost (small memory to stay quick): every path must run one verification.
    client = await web_client_factory(
        lockout_threshold=8, argon2_time_cost=3, argon2_memory_kib=16384, **NO_THROTTLE
    )
    for _ in range(8):
        await _attempt(client, LA_RAZA, "not-the-password")
    # The demo's hashes are cheap; a sign-in upgrades this one to the policy's cost.
    assert (await _attempt(client, "especialista.merida@junta.example", DEMO_PASSWORD))[0] == 303
    client.session.cookie_jar.clear()

    async def median(email: str, password: str) -> float:
        durations = []
        for _ in range(5):
            start = time.perf_counter()
            await _attempt(client, email, password)
            durations.append(time.perf_counter() - start)
        return statistics.median(durations)

    wrong = await median("especialista.merida@junta.example", "not-the-password")
    locked = await median(LA_RAZA, DEMO_PASSWORD)
    unknown = await median(NOBODY, "not-the-password")
    # Without the dummy verification an unknown or locked account answers several times faster.
    assert locked > wrong * 0.5 and unknown > wrong * 0.5, (wrong, locked, unknown)
    assert locked < wrong * 2 and unknown < wrong * 2, (wrong, locked, unknown)
