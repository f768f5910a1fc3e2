"""Security changes ask again (issue 20): new recovery codes, turning the second factor off and
changing the password need the password and a current code; a person without a second factor
gives the password alone. Wrong answers are told next to their field, counted as at sign-in
and audited."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from casebook import accounts, demo, two_factor
from casebook.demo import DEMO_PASSWORD
from casebook.models import TwoFactor
from tests.conftest import ClientFactory, csrf_from_html, fresh_code
from tests.web.helpers import audit_actions
from tests.web.pages.test_account_two_factor import LA_RAZA, _enroll
from web.app.keys import SESSIONS

Login = Any
NEW_PASSWORD = "una contraseña nueva y larga"


async def _post(client: TestClient[Any, Any], path: str, **fields: str) -> Any:
    page = await client.get("/account")
    token = csrf_from_html(await page.text())
    return await client.post(path, data={"csrf_token": token, **fields}, allow_redirects=False)


async def _two_factor(client: TestClient[Any, Any], email: str) -> TwoFactor:
    async with client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, email)
        assert user is not None
        row = await two_factor.enrollment(db, user.id)
        assert row is not None
        return row


async def _codes_left(client: TestClient[Any, Any], email: str) -> int:
    async with client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, email)
        assert user is not None
        return await two_factor.recovery_codes_left(db, user.id)


async def test_new_recovery_codes_need_the_password_and_a_current_code(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    await login_as(client, demo.COORDINATOR)
    path = "/account/two-factor/recovery-codes"
    before = (await _two_factor(client, demo.COORDINATOR)).failures

    bare = await _post(client, path)
    assert bare.status == 400
    assert 'id="codes-password-error"' in await bare.text()

    wrong_password = await _post(client, path, password="not the password", code="000000")
    assert wrong_password.status == 400
    assert "La contraseña no es correcta." in await wrong_password.text()
    # A wrong password does not even get the code checked.
    assert (await _two_factor(client, demo.COORDINATOR)).failures == before

    wrong_code = await _post(client, path, password=DEMO_PASSWORD, code="000000")
    assert wrong_code.status == 400
    html = await wrong_code.text()
    assert 'id="codes-code-error"' in html and "El código no es correcto" in html
    # Counted where the sign-in's wrong codes are counted.
    assert (await _two_factor(client, demo.COORDINATOR)).failures == before + 1
    failed = await audit_actions(client, "auth.second_factor_failed")
    assert failed[-1].detail == {"reauth": True}
    assert len(await audit_actions(client, "auth.reauthentication_failed")) == 2
    assert len(await audit_actions(client, "auth.recovery_codes_renewed")) == 0

    code = await fresh_code(client, demo.COORDINATOR)
    done = await _post(client, path, password=DEMO_PASSWORD, code=code)
    assert done.status == 200
    assert len(await audit_actions(client, "auth.recovery_codes_renewed")) == 1
    assert (await _two_factor(client, demo.COORDINATOR)).failures == 0


async def test_wrong_codes_when_asked_again_close_the_code_step_as_at_sign_in(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    await login_as(client, demo.COORDINATOR)
    path = "/account/two-factor/recovery-codes"
    for _ in range(two_factor.MAX_FAILURES - 1):
        reply = await _post(client, path, password=DEMO_PASSWORD, code="000000")
        assert reply.status == 400
    locked = await _post(client, path, password=DEMO_PASSWORD, code="000000")
    assert locked.status == 429
    assert "Demasiados códigos incorrectos" in await locked.text()
    assert len(await audit_actions(client, "auth.second_factor_locked")) == 1
    # Now even the right code is refused, here and at sign-in.
    code = await fresh_code(client, demo.COORDINATOR)
    refused = await _post(client, path, password=DEMO_PASSWORD, code=code)
    assert refused.status == 429
    assert (await _two_factor(client, demo.COORDINATOR)).refused_until is not None


async def test_turning_the_second_factor_off_needs_the_password_and_a_current_code(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    await login_as(client, LA_RAZA)
    await _enroll(client)
    path = "/account/two-factor/disable"

    assert (await _post(client, path)).status == 400
    wrong_code = await _post(client, path, password=DEMO_PASSWORD, code="000000")
    assert wrong_code.status == 400
    assert 'id="disable-code-error"' in await wrong_code.text()
    assert await _codes_left(client, LA_RAZA) == 10

    code = await fresh_code(client, LA_RAZA)
    done = await _post(client, path, password=DEMO_PASSWORD, code=code)
    assert done.status == 303 and done.headers["Location"] == "/account"
    assert len(await audit_actions(client, "auth.two_factor_disabled")) == 1
    async with client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, LA_RAZA)
        assert user is not None
        assert not await two_factor.is_enabled(db, user.id)


async def test_a_recovery_code_answers_for_the_code(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    await login_as(client, LA_RAZA)
    _key, codes = await _enroll(client)
    reply = await _post(
        client, "/account/two-factor/disable", password=DEMO_PASSWORD, code=codes[0]
    )
    assert reply.status == 303
    assert len(await audit_actions(client, "auth.recovery_code_used")) == 1


async def test_without_a_second_factor_the_password_alone_changes_the_password(
    web_client_factory: ClientFactory, login_as: Login
) -> None:
    client = await web_client_factory(lockout_threshold=2)
    await login_as(client, LA_RAZA)
    page = await client.get("/account/password")
    assert page.status == 200
    assert 'name="code"' not in await page.text()

    wrong = await _post(
        client, "/account/password", password="not the password",
        new_password=NEW_PASSWORD, new_password_again=NEW_PASSWORD,
    )
    assert wrong.status == 400
    assert 'id="current-password-error"' in await wrong.text()
    assert len(await audit_actions(client, "auth.reauthentication_failed")) == 1
    assert len(await audit_actions(client, "auth.account_locked")) == 0

    mismatch = await _post(
        client, "/account/password", password=DEMO_PASSWORD,
        new_password=NEW_PASSWORD, new_password_again=NEW_PASSWORD + "!",
    )
    assert mismatch.status == 400
    assert 'id="new-password-error"' in await mismatch.text()

    done = await _post(
        client, "/account/password", password=DEMO_PASSWORD,
        new_password=NEW_PASSWORD, new_password_again=NEW_PASSWORD,
    )
    assert done.status == 303 and done.headers["Location"] == "/account"
    assert len(await audit_actions(client, "auth.password_changed")) == 1
    client.session.cookie_jar.clear()
    await login_as(client, LA_RAZA, NEW_PASSWORD)


async def test_with_a_second_factor_changing_the_password_needs_a_code_too(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    await login_as(client, demo.COORDINATOR)
    fields = {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    no_code = await _post(client, "/account/password", password=DEMO_PASSWORD, **fields)
    assert no_code.status == 400
    assert 'id="current-code-error"' in await no_code.text()
    code = await fresh_code(client, demo.COORDINATOR)
    done = await _post(client, "/account/password", password=DEMO_PASSWORD, code=code, **fields)
    assert done.status == 303


async def test_wrong_passwords_when_asked_again_count_towards_the_lockout(
    web_client_factory: ClientFactory, login_as: Login
) -> None:
    client = await web_client_factory(lockout_threshold=2)
    await login_as(client, LA_RAZA)
    fields = {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    for _ in range(2):
        reply = await _post(client, "/account/password", password="not the password", **fields)
        assert reply.status == 400
    assert len(await audit_actions(client, "auth.account_locked")) == 1
    # While the lock lasts even the right password is answered as wrong.
    locked = await _post(client, "/account/password", password=DEMO_PASSWORD, **fields)
    assert locked.status == 400
    assert len(await audit_actions(client, "auth.password_changed")) == 0
