"""What the API answers is what `/api/openapi.json` says it answers: media types and shapes.

Real requests from signed-in demo users and a guest, each answer checked against its operation
(tests/web/openapi_conformance.py). The PDF nota is checked in the referral walk-through of
test_api_cases, the only test that issues one.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from casebook import demo
from tests.conftest import ClientFactory, csrf_from_html
from tests.web.api_helpers import DRAFT, PDF, Login, demo_case, sign_in
from tests.web.openapi_conformance import conformance_problems


class Checked:
    """Sends requests and keeps how their answers depart from the document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.problems: list[str] = []

    async def send(
        self, client: TestClient[Any, Any], method: str, path: str, csrf: str = "", **kwargs: Any
    ) -> Any:
        headers = {"X-CSRF-Token": csrf} if csrf else {}
        reply = await client.request(method, path, headers=headers, **kwargs)
        body = await reply.read()
        assert reply.status < 300, (method, path, reply.status, body[:300])
        self.problems += conformance_problems(
            self.document, method, path, reply.status, reply.headers.get("Content-Type"), body
        )
        return reply


async def test_answers_have_the_declared_media_types_and_shapes(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    anonymous = await web_client_factory()
    document = await (await anonymous.get("/api/openapi.json")).json()
    checked = Checked(document)
    await checked.send(anonymous, "GET", "/api/openapi.json")
    await checked.send(anonymous, "GET", "/healthz")

    # Every read without parameters, by the coordinator or, where only admins may, an admin.
    admin = await web_client_factory()
    admin_csrf = await login_as(admin, demo.ADMIN)
    csrf = await login_as(web_client, demo.COORDINATOR)
    plain_reads = [p for p, item in document["paths"].items() if "{" not in p and "get" in item]
    assert len(plain_reads) >= 5
    for path in plain_reads:
        allowed = (await web_client.get(path)).status != 403
        await checked.send(
            *((web_client, "GET", path, csrf) if allowed else (admin, "GET", path, admin_csrf))
        )
    await checked.send(web_client, "POST", f"/api/rooms/{demo.BOARD_ROOM}/join", csrf)

    # A guest of the board joins through an invite link.
    link = await checked.send(
        web_client, "POST", f"/api/rooms/{demo.BOARD_ROOM}/guest-links", csrf, json={}
    )
    guest_path = "/guest/" + (await link.json())["url"].split("/guest/", 1)[1]
    guest = await web_client_factory()
    form = csrf_from_html(await (await guest.get(guest_path)).text())
    await guest.post(guest_path, data={"name": "Dra. Invitada", "csrf_token": form})
    room = csrf_from_html(await (await guest.get(f"{guest_path}/room")).text())
    await checked.send(guest, "POST", f"/api{guest_path}/join", room)

    # The referrer's case: its FHIR export, and an attachment of it downloaded.
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    code = await demo_case(web_client, DRAFT)
    await checked.send(web_client, "GET", f"/api/cases/{code}/fhir", referrer.csrf)
    uploaded = await (await referrer.upload(code, PDF)).json()
    await checked.send(web_client, "GET", uploaded["download_url"], referrer.csrf)

    assert checked.problems == []
