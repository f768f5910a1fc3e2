"""Brute force of the second factor by someone who knows the password (issue 20.1): wrong codes
are counted per user in the database, across pending sign-ins and server processes; after five
the code step is refused for a while, audited, and the page says when to try again."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from casebook import demo, totp
from casebook.clock import utcnow
from casebook.demo import DEMO_PASSWORD
from casebook.models import TwoFactor
from tests.conftest import ClientFactory, csrf_from_html
from tests.web.helpers import audit_actions, cookie
from web.app.keys import SESSIONS
from web.http.auth import SESSION_COOKIE

COORDINATOR = demo.COORDINATOR


async def _password(client: TestClient[Any, Any]) -> None:
    token = csrf_from_html(await (await client.get("/login")).text())
    reply = await client.post(
        "/login",
        data={"email": COORDINATOR, "password": DEMO_PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert reply.status == 303 and reply.headers["Location"] == "/login/two-factor"


async def _code(client: TestClient[Any, Any], code: str) -> tuple[int, str]:
    """Post a code on the second-step page (the CSRF token comes from the sign-in page, which
    is there even when the pending sign-in is not)."""
    token = csrf_from_html(await (await client.get("/login")).text())
    reply = await client.post(
        "/login/two-factor", data={"code": code, "csrf_token": token}, allow_redirects=False
    )
    return reply.status, await reply.text()


def _right_code() -> str:
    return totp.code_at(demo.DEMO_TOTP_SECRET, time.time())


async def test_wrong_codes_through_several_sign_ins_and_two_processes_lock_the_second_step(
    web_client_factory: ClientFactory,
) -> None:
    # Two server processes on one database; the password lockout and throttle stay out of the way.
    first = await web_client_factory()
    second = await web_client_factory()

    await _password(first)
    for _ in range(2):
        assert (await _code(first, "000000"))[0] == 401
    # A new pending sign-in ends the open one: one per user at a time.
    await _password(second)
    status, _ = await _code(first, "000000")
    assert status == 303  # back to the password step, the code was not checked
    for _ in range(2):
        assert (await _code(second, "000000"))[0] == 401
    # The right password again, on the first process: the failures are not forgotten.
    await _password(first)
    status, body = await _code(first, "000000")  # the fifth wrong code
    assert status == 429 and "Intente de nuevo en 15 minutos" in body

    [locked] = await audit_actions(first, "auth.second_factor_locked")
    assert locked.detail["failures"] == 5
    # Even the right code is refused now, on either process, and the page says for how long.
    await _password(second)
    status, body = await _code(second, _right_code())
    assert status == 429
    assert "Intente de nuevo en 15 minutos" in body
    assert not cookie(second, SESSION_COOKIE)
    assert len(await audit_actions(second, "auth.second_factor_refused")) == 1

    # When the delay is over, the right code gets in; the next lock would last twice as long.
    async with first.app[SESSIONS]() as db:
        await db.execute(update(TwoFactor).values(refused_until=utcnow() - timedelta(seconds=1)))
        await db.commit()
    await _password(first)
    status, _ = await _code(first, _right_code())
    assert status == 303 and cookie(first, SESSION_COOKIE)


async def test_the_delay_doubles_after_each_lock(web_client_factory: ClientFactory) -> None:
    client = await web_client_factory()
    for expected in ("15 minutos", "30 minutos"):
        await _password(client)
        for _ in range(5):
            status, body = await _code(client, "000000")
        assert status == 429 and f"Intente de nuevo en {expected}" in body
        await _password(client)
        status, body = await _code(client, "000000")
        assert status == 429 and f"Intente de nuevo en {expected}" in body
        async with client.app[SESSIONS]() as db:
            await db.execute(
                update(TwoFactor).values(refused_until=utcnow() - timedelta(seconds=1))
            )
            await db.commit()


async def test_a_reused_code_is_refused_as_already_used(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory()
    await _password(client)
    code = _right_code()
    assert (await _code(client, code))[0] == 303
    client.session.cookie_jar.clear()
    await _password(client)
    status, body = await _code(client, code)
    assert status == 401
    assert "Este código ya se usó" in body
    assert "hora de su teléfono" not in body
