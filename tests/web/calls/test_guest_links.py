"""Guest lecturers: moderators create signed, expiring invite links; a guest without an account
types a name and gets join tokens bound to that room, through the waiting room, until the link
expires. Also: a lecture's viewers get receive-only grants."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from casebook import audit, demo
from casebook.clock import utcnow
from casebook.models import ReviewSession, SessionCancellation
from signaling.grants import verify_grant
from tests.conftest import ClientFactory, csrf_from_html
from web.app.keys import CALL_NAMESPACE, SESSIONS, SETTINGS
from web.calls.guest_links import (
    GuestLink,
    GuestLinkError,
    GuestPass,
    clean_name,
    sign_link,
    sign_pass,
    verify_link,
    verify_pass,
)

Login = Callable[..., Awaitable[str]]
LECTURE = "sesion-academica"
SECRET = b"a-secret-of-at-least-sixteen-bytes"


async def _create(client: TestClient[Any, Any], csrf: str, room: str = LECTURE,
                  **body: Any) -> Any:
    return await client.post(f"/api/rooms/{room}/guest-links", json=body,
                             headers={"X-CSRF-Token": csrf})


def _path(url: str) -> str:
    return "/guest/" + url.split("/guest/", 1)[1]


# ------------------------------------------------------------------------- tokens, no I/O


def test_a_link_verifies_until_it_expires_and_a_forged_one_never() -> None:
    link = GuestLink("sesion-academica", "abc123", 2_000)
    token = sign_link(link, SECRET)
    assert verify_link(token, SECRET, 1_999.0) == link
    with pytest.raises(GuestLinkError) as expired:
        verify_link(token, SECRET, 2_000.0)
    assert expired.value.code == "link_expired"
    body, _, signature = token.partition(".")
    forged = sign_link(GuestLink("junta-tumores-sn", "abc123", 2_000), SECRET).split(".")[0]
    other_secret = sign_link(link, b"other" * 4)
    for bad in (f"{forged}.{signature}", token[:-2], "x", f"{body}.", other_secret):
        with pytest.raises(GuestLinkError) as refused:
            verify_link(bad, SECRET, 1_000.0)
        assert refused.value.code == "link_invalid"


def test_a_guest_pass_is_no_link_and_belongs_to_one_link() -> None:
    link = GuestLink("sesion-academica", "abc123", 2_000)
    guest = GuestPass("abc123", "sesion-academica", "g1", "Dr. Invitado", 2_000)
    cookie = sign_pass(guest, SECRET)
    assert verify_pass(cookie, link, SECRET, 1_000.0) == guest
    with pytest.raises(GuestLinkError):
        verify_link(cookie, SECRET, 1_000.0)  # a pass signed as a pass is not a link
    with pytest.raises(GuestLinkError):
        verify_pass(cookie, GuestLink("sesion-academica", "other", 2_000), SECRET, 1_000.0)


def test_guest_names_are_trimmed_and_bounded() -> None:
    assert clean_name("  Dra.   Ana  Ruiz ") == "Dra. Ana Ruiz"
    for bad in ("", "   ", "x" * 81, "a\x00b"):
        with pytest.raises(ValueError):
            clean_name(bad)


# ------------------------------------------------------------------------- the app


async def test_a_lecture_moderator_invites_a_guest_who_waits_with_a_room_bound_grant(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.LECTURER)
    reply = await _create(web_client, csrf, expires_in_minutes=60)
    assert reply.status == 201, await reply.text()
    created = await reply.json()
    path = _path(created["url"])
    async with web_client.app[SESSIONS]() as db:
        (event,) = await audit.events(db, action="room.guest_link")
    assert (event.target_id, event.actor_user_id is not None) == (LECTURE, True)

    # Another browser, nobody signed in; this deployment has a TURN server.
    guest = await web_client_factory(
        stun_urls=("stun:turn.junta.test:3478",),
        turn_urls=("turn:turn.junta.test:3478?transport=udp",), turn_secret="coturn-secret",
    )
    form = await guest.get(path)
    assert form.status == 200
    html = await form.text()
    assert "Sesión académica: neuroblastoma" in html
    token = csrf_from_html(html)
    assert (await guest.get(f"{path}/room", allow_redirects=False)).status == 303  # no name yet
    bad = await guest.post(path, data={"name": "  ", "csrf_token": token})
    assert bad.status == 400
    entered = await guest.post(path, data={"name": "Dr. Invitado Externo", "csrf_token": token},
                               allow_redirects=False)
    assert entered.status == 303 and entered.headers["Location"] == f"{path}/room"
    page = await guest.get(f"{path}/room")
    assert page.status == 200
    room_html = await page.text()
    assert f"/api{path.replace('/guest/', '/guest/', 1)}/join" in room_html
    config = re.search(r'id="call-config">(.*?)</script>', room_html, re.S)
    assert config
    assert json.loads(config.group(1))["reconnect_grace"] == guest.app[SETTINGS].reconnect_grace

    joined = await guest.post(f"/api{path}/join",
                              headers={"X-CSRF-Token": csrf_from_html(room_html)})
    assert joined.status == 200, await joined.text()
    body = await joined.json()
    grant = verify_grant(body["token"], guest.app[SETTINGS].secret_key, time.time())
    assert (grant.room, grant.role, grant.name, grant.room_kind) == (
        LECTURE, "guest", "Dr. Invitado Externo", "lecture")
    assert grant.admission and grant.publish and not grant.moderate
    assert grant.user_id.startswith("guest:")
    # No TURN credentials before a moderator admits the guest (issue 20.2): they come in the
    # `admitted` event (tests/signaling/test_turn_after_admission.py).
    assert body["ice_servers"] == [{"urls": ["stun:turn.junta.test:3478"]}]
    # A second token for the same guest is the same participant (it resumes its peer).
    again = await (await guest.post(f"/api{path}/join",
                                    headers={"X-CSRF-Token": csrf_from_html(room_html)})).json()
    assert verify_grant(again["token"], guest.app[SETTINGS].secret_key,
                        time.time()).user_id == grant.user_id


async def test_expired_and_forged_links_are_refused(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    secret = web_client.app[SETTINGS].secret_key
    expired = sign_link(GuestLink(LECTURE, "old", int(time.time()) - 1), secret)
    page = await web_client.get(f"/guest/{expired}", headers={"Accept-Language": "es-MX"})
    assert page.status == 410
    assert "Esta invitación ya venció" in await page.text()
    forged = sign_link(GuestLink(LECTURE, "x", int(time.time()) + 600), b"not-our-secret-0123")
    assert (await web_client.get(f"/guest/{forged}")).status == 404

    csrf = csrf_from_html(await (await web_client.get("/login")).text())
    for token, status, code in ((expired, 410, "link_expired"), (forged, 404, "link_invalid")):
        reply = await web_client.post(f"/api/guest/{token}/join", headers={"X-CSRF-Token": csrf})
        assert reply.status == status
        assert (await reply.json())["error"]["code"] == code
    for garbage in ("€.€", "a" * 3000, "x.", "e30.e30"):
        assert (await web_client.get(f"/guest/{garbage}")).status == 404
        reply = await web_client.post(f"/api/guest/{garbage}/join",
                                      headers={"X-CSRF-Token": csrf})
        assert reply.status == 404
    # A valid link without having entered a name: no token.
    valid = sign_link(GuestLink(LECTURE, "new", int(time.time()) + 600), secret)
    reply = await web_client.post(f"/api/guest/{valid}/join", headers={"X-CSRF-Token": csrf})
    assert (reply.status, (await reply.json())["error"]["code"]) == (403, "no_guest_pass")


async def test_only_moderators_and_coordinators_create_links(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.TRAINEE)  # invited to the lecture, not moderating
    reply = await _create(web_client, csrf)
    assert (reply.status, (await reply.json())["error"]["code"]) == (403, "not_moderator")
    csrf = await login_as(web_client, demo.COORDINATOR)
    assert (await _create(web_client, csrf)).status == 201
    assert (await _create(web_client, csrf, room="no-such-room")).status == 404
    too_long = await _create(web_client, csrf, expires_in_minutes=8 * 24 * 60)
    assert (await too_long.json())["error"]["code"] == "invalid_request"


async def test_lecture_viewers_get_receive_only_grants(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    secret = web_client.app[SETTINGS].secret_key
    for email, publish in ((demo.TRAINEE, False), (demo.LECTURER, True)):
        csrf = await login_as(web_client, email)
        reply = await web_client.post(f"/api/rooms/{LECTURE}/join",
                                      headers={"X-CSRF-Token": csrf})
        grant = verify_grant((await reply.json())["token"], secret, time.time())
        assert grant.publish is publish, email


async def _guest_with_pass(guest: TestClient[Any, Any], path: str) -> tuple[
    TestClient[Any, Any], str
]:
    """The browser after it opened the link and entered a name, and the call page's CSRF token."""
    token = csrf_from_html(await (await guest.get(path)).text())
    entered = await guest.post(path, data={"name": "Dr. Invitada", "csrf_token": token})
    assert entered.status == 200, await entered.text()  # the call page, after the redirect
    return guest, csrf_from_html(await entered.text())


async def test_a_revoked_link_gives_no_more_join_tokens(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.LECTURER)
    created = await (await _create(web_client, csrf, expires_in_minutes=60)).json()
    path = _path(created["url"])
    # The same app (its room state is in memory): the guest pass rides along the sign-in.
    guest, guest_csrf = await _guest_with_pass(web_client, path)
    first = await guest.post(f"/api{path}/join", headers={"X-CSRF-Token": guest_csrf})
    assert first.status == 200
    grant = verify_grant((await first.json())["token"], guest.app[SETTINGS].secret_key,
                         time.time())
    assert grant.link_id == created["id"]  # signaling refuses the link's tokens once revoked

    revoke = f"/api/rooms/{LECTURE}/guest-links/{created['id']}"
    assert (await web_client.delete(revoke, headers={"X-CSRF-Token": csrf})).status == 204
    async with web_client.app[SESSIONS]() as db:
        (event,) = await audit.events(db, action="room.guest_link_revoked")
    assert (event.target_id, event.detail) == (LECTURE, {"link": created["id"]})

    again = await guest.post(f"/api{path}/join", headers={"X-CSRF-Token": guest_csrf})
    assert (again.status, (await again.json())["error"]["code"]) == (410, "link_revoked")
    assert (await guest.get(path)).status == 410
    assert await web_client.app[CALL_NAMESPACE].state.is_link_revoked(
        LECTURE, created["id"], time.time())
    trainee_csrf = await login_as(web_client, demo.TRAINEE)  # invited, not moderating
    refused = await web_client.delete(revoke, headers={"X-CSRF-Token": trainee_csrf})
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "not_moderator")


async def test_a_link_dies_with_its_review_session(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.COORDINATOR)
    created = await (await _create(web_client, csrf, room=demo.BOARD_ROOM)).json()
    path = _path(created["url"])
    guest, guest_csrf = await _guest_with_pass(await web_client_factory(), path)
    assert (await guest.post(f"/api{path}/join", headers={"X-CSRF-Token": guest_csrf})).status \
        == 200
    async with web_client.app[SESSIONS]() as db:
        await db.execute(  # the meeting is over
            update(ReviewSession).where(ReviewSession.room_id == demo.BOARD_ROOM)
            .values(starts_at=utcnow() - timedelta(hours=5), duration_minutes=60)
        )
        await db.commit()
    ended = await guest.post(f"/api{path}/join", headers={"X-CSRF-Token": guest_csrf})
    assert (ended.status, (await ended.json())["error"]["code"]) == (410, "link_expired")
    assert (await guest.get(path)).status == 410


async def test_a_link_dies_with_its_cancelled_session(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.COORDINATOR)
    created = await (await _create(web_client, csrf, room=demo.BOARD_ROOM)).json()
    path = _path(created["url"])
    guest, guest_csrf = await _guest_with_pass(await web_client_factory(), path)
    async with web_client.app[SESSIONS]() as db:
        session = await db.scalar(
            select(ReviewSession).where(ReviewSession.room_id == demo.BOARD_ROOM))
        assert session is not None
        db.add(SessionCancellation(session_id=session.id,
                                   cancelled_by_user_id=session.chair_user_id))
        await db.commit()
    ended = await guest.post(f"/api{path}/join", headers={"X-CSRF-Token": guest_csrf})
    assert (ended.status, (await ended.json())["error"]["code"]) == (410, "link_expired")
