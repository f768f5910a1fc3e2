"""Two-factor sign-in through the pages: enrollment, the code step, recovery codes, replay,
and admins and coordinators sent to enroll before anything else."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import delete

from casebook import accounts, demo, totp, two_factor
from casebook.demo import DEMO_PASSWORD
from casebook.models import RecoveryCode, TwoFactor
from tests.conftest import ClientFactory, csrf_from_html
from tests.web.helpers import audit_actions, cookie
from web.app.keys import SESSIONS
from web.http.auth import SESSION_COOKIE
from web.pages.account import PENDING_COOKIE

Login = Any
LA_RAZA = "especialista.laraza@junta.example"


async def _password(client: TestClient[Any, Any], email: str) -> Any:
    token = csrf_from_html(await (await client.get("/login")).text())
    return await client.post(
        "/login",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token,
              "next": "/account"},
        allow_redirects=False,
    )


async def _code(client: TestClient[Any, Any], code: str) -> Any:
    page = await client.get("/login/two-factor", allow_redirects=False)
    assert page.status == 200
    token = csrf_from_html(await page.text())
    return await client.post(
        "/login/two-factor", data={"code": code, "csrf_token": token}, allow_redirects=False
    )


async def _enroll(client: TestClient[Any, Any]) -> tuple[str, list[str]]:
    page = await client.get("/account/two-factor")
    html = await page.text()
    assert page.status == 200
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', html)
    assert secret, "the page shows the key"
    key = secret.group(1).replace(" ", "")
    assert f"secret={key}" in html.replace("&amp;", "&")  # the otpauth:// URI
    assert "<svg" in html  # the QR code, inline
    token = csrf_from_html(html)
    wrong = await client.post("/account/two-factor", data={"code": "000000", "csrf_token": token})
    assert wrong.status == 400
    # The previous step's code (a phone a little behind) stays valid only until the current step
    # ends: start in a step with time left, so a slow request cannot see it expire.
    left = totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS
    if left < 10:
        await asyncio.sleep(left + 0.1)
    right = totp.hotp(totp.key_bytes(key), totp.step_at(time.time()) - 1)
    done = await client.post("/account/two-factor", data={"code": right, "csrf_token": token})
    assert done.status == 200
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>",
                       await done.text())
    assert len(codes) == 10
    return key, codes


async def test_a_specialist_enrolls_and_then_signs_in_with_a_code(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    await login_as(client, LA_RAZA)
    key, _codes = await _enroll(client)
    assert len(await audit_actions(client, "auth.two_factor_enabled")) == 1

    client.session.cookie_jar.clear()
    reply = await _password(client, LA_RAZA)
    assert reply.status == 303 and reply.headers["Location"] == "/login/two-factor"
    assert cookie(client, PENDING_COOKIE) and not cookie(client, SESSION_COOKIE)
    # The password alone opens nothing.
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303

    assert (await _code(client, "123456")).status == 401
    assert len(await audit_actions(client, "auth.second_factor_failed")) == 1
    step = totp.step_at(time.time())
    code = totp.hotp(totp.key_bytes(key), step)
    reply = await _code(client, code)
    assert reply.status == 303 and reply.headers["Location"] == "/account"
    assert cookie(client, SESSION_COOKIE) and not cookie(client, PENDING_COOKIE)
    logins = await audit_actions(client, "auth.login")
    assert logins[-1].detail == {"second_factor": "totp"}

    # The same code is never accepted twice (RFC 6238 §5.2).
    client.session.cookie_jar.clear()
    await _password(client, LA_RAZA)
    assert (await _code(client, code)).status == 401


async def test_a_recovery_code_works_once(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    await login_as(client, LA_RAZA)
    _key, codes = await _enroll(client)
    for attempt, expected in ((codes[3].upper().replace("-", " "), 303), (codes[3], 401)):
        client.session.cookie_jar.clear()
        await _password(client, LA_RAZA)
        assert (await _code(client, attempt)).status == expected
    assert len(await audit_actions(client, "auth.recovery_code_used")) == 1
    async with client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, LA_RAZA)
        assert user is not None
        assert await two_factor.recovery_codes_left(db, user.id) == 9


async def test_the_code_step_needs_a_right_password_first(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await web_client.get("/login/two-factor", allow_redirects=False)
    assert reply.status == 303 and reply.headers["Location"] == "/login"
    token = csrf_from_html(await (await web_client.get("/login")).text())
    reply = await web_client.post(
        "/login/two-factor", data={"code": "123456", "csrf_token": token},
        allow_redirects=False,
    )
    assert reply.status == 303 and reply.headers["Location"] == "/login"


async def test_wrong_codes_count_towards_the_lockout(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(lockout_threshold=3)
    await _password(client, demo.COORDINATOR)
    for _ in range(3):
        assert (await _code(client, "000000")).status == 401
    assert len(await audit_actions(client, "auth.account_locked")) == 1
    # Even the right code does not get in while the lock lasts.
    right = totp.code_at(demo.DEMO_TOTP_SECRET, time.time())
    assert (await _code(client, right)).status == 401


async def test_coordinators_are_sent_to_enroll_before_anything_else(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    async with client.app[SESSIONS]() as db:
        for table in (RecoveryCode, TwoFactor):
            await db.execute(delete(table))
        await db.commit()
    csrf = await _login_without_dashboard(client, demo.COORDINATOR)
    reply = await client.get("/dashboard", allow_redirects=False)
    assert reply.status == 303 and reply.headers["Location"] == "/account/two-factor"
    api = await client.get("/api/queue", headers={"X-CSRF-Token": csrf})
    assert api.status == 403
    assert (await api.json())["error"]["code"] == "two_factor_enrollment_required"
    page = await client.get("/account/two-factor")
    assert "Configúrelo ahora para continuar" in await page.text()
    await _enroll(client)
    assert (await client.get("/dashboard", allow_redirects=False)).status == 200
    # Their role may not turn it off again.
    token = csrf_from_html(await (await client.get("/account")).text())
    reply = await client.post("/account/two-factor/disable", data={"csrf_token": token})
    assert reply.status == 400


async def _login_without_dashboard(client: TestClient[Any, Any], email: str) -> str:
    reply = await _password(client, email)
    assert reply.status == 303 and reply.headers["Location"] == "/account"
    page = await client.get("/account/two-factor")
    return csrf_from_html(await page.text())
