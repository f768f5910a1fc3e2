"""Every account and administration page, for every demo role: generated from the route table.

Each page's declaration must match `PAGE_ACCESS`; then anonymous visitors are sent to sign in,
the listed roles get through the gate and every other role gets 403 (a page: the translated
refusal, not JSON).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from casebook import demo
from casebook.models import Role
from tests.conftest import csrf_from_html
from tests.web.api_helpers import Login, sign_in
from tests.web.page_access import PAGE_ACCESS
from web.http.routes import declarations

ROLE_USERS = {
    Role.ADMIN: demo.ADMIN,
    Role.COORDINATOR: demo.COORDINATOR,
    Role.SPECIALIST: demo.SPECIALIST_LA_RAZA,
    Role.LECTURER: demo.LECTURER,
    Role.REFERRER: demo.REFERRER,
    Role.TRAINEE: demo.TRAINEE,
}
VALUES = {
    "center_id": "999999",
    "user_id": "00000000-0000-0000-0000-000000000000",
    "token": "not-an-invitation",
}
_PARAM = re.compile(r"\{(\w+)(?::[^}]+)?\}")


def _pages(client: TestClient[Any, Any]) -> list[tuple[str, str, str]]:
    declared = declarations(client.app)
    return [
        (route.method, _PARAM.sub(lambda m: VALUES[m.group(1)], route.path), name)
        for name, route in declared.items()
        if name in PAGE_ACCESS
    ]


async def test_every_page_declares_the_tables_roles(web_client: TestClient[Any, Any]) -> None:
    declared = declarations(web_client.app)
    for name, roles in PAGE_ACCESS.items():
        assert name in declared, f"{name} is not a declared route"
        assert declared[name].roles == roles, f"{name} declares other roles than the table"
    pages = {n for n, r in declared.items() if not r.path.startswith("/api/")}
    prefixes = ("account", "admin-", "login-two", "invitation", "password-reset")
    mine = {n for n in pages if n.startswith(prefixes)}
    assert mine == set(PAGE_ACCESS), "a page is missing from the access table"


async def test_every_page_lets_exactly_the_tables_roles_through(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    pages = _pages(web_client)
    assert len(pages) == len(PAGE_ACCESS)
    callers: list[tuple[str | None, Role | None]] = [(None, None)]
    callers += [(email, role) for role, email in ROLE_USERS.items()]
    for email, role in callers:
        if email is None:
            csrf = csrf_from_html(await (await web_client.get("/login")).text())
        else:
            csrf = (await sign_in(web_client, login_as, email)).csrf
        for method, url, name in pages:
            reply = await web_client.request(
                method, url, data={"csrf_token": csrf}, allow_redirects=False
            )
            who = role.value if role else "anonymous"
            assert reply.status < 500, (who, name, reply.status)
            allowed = PAGE_ACCESS[name]
            if allowed is None:
                assert reply.status not in {401, 403}, (who, name, reply.status)
            elif role is None:
                assert reply.status == 303, (who, name, reply.status)
                assert reply.headers["Location"].startswith("/login"), (who, name)
            elif role in allowed:
                assert reply.status != 403, (who, name, reply.status)
            else:
                assert reply.status == 403, (who, name, reply.status)
                assert "text/html" in reply.headers["Content-Type"]
