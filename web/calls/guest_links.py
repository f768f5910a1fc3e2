"""Guest invite links: a moderator invites an expert outside the network to one call room.

The link carries a signed, expiring claim `{room, link id, exp}`. The guest opens it without an
account, types a name, and gets a guest pass: a signed cookie `{link, room, guest id, name, exp}`
for that link only. With it the call page fetches short join tokens
(`signaling.guests.issue_guest_grant`): bound to the room, through the waiting room, never past
the link's expiry. A link dies earlier when a moderator revokes it (or removes its guest from the
call; the revocation lives in signaling's room state) and with the review session whose room it
opens (once the meeting is over, or cancelled). Tokens are HMAC-SHA256 with the app's secret,
each kind with its own label so no token of one kind (a join token, a pass) can pass for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import accounts, audit
from casebook.models import AuditEvent, ReviewSession, Role, Room, SessionCancellation, User
from signaling.grants import sign_grant
from signaling.guests import GUEST_ROLE, LINK_MAX_TTL, guest_user_id, issue_guest_grant
from signaling.protocol import PROTOCOL_VERSION
from web.api.rooms import JoinPeer, JoinReply, join_reply, room_kind
from web.app.keys import CALL_NAMESPACE, I18N, SESSIONS, SETTINGS
from web.http.auth import client_address, require_user
from web.http.errors import NotFound, WebError
from web.http.routes import ALL_ROLES, Route, json_reply, page_route, parse_body
from web.render.context import render, request_locale

DEFAULT_MINUTES = 24 * 60
MAX_MINUTES = LINK_MAX_TTL // 60
NAME_MAX = 80
PASS_COOKIE = "junta_guest"
GuestLinkErrorCode = Literal["link_invalid", "link_expired", "link_revoked"]


class GuestLinkError(Exception):
    """A link or pass that is forged, malformed or past its expiry."""

    def __init__(self, code: GuestLinkErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: GuestLinkErrorCode = code
        self.message = message


@dataclass(frozen=True)
class GuestLink:
    room: str
    link_id: str
    exp: int


@dataclass(frozen=True)
class GuestPass:
    link_id: str
    room: str
    guest_id: str
    name: str
    exp: int


# ----------------------------------------------------------------------------- tokens (pure)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, label: str, body: str) -> bytes:
    return hmac.new(secret, f"{label}.{body}".encode("ascii"), hashlib.sha256).digest()


def _sign(label: str, claims: dict[str, Any], secret: bytes) -> str:
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(_mac(secret, label, body))}"


def _verify(label: str, token: str, secret: bytes, now: float) -> dict[str, Any]:
    body, _, signature = token.partition(".")
    try:
        given = _unb64(signature)
        if not body.isascii() or not hmac.compare_digest(given, _mac(secret, label, body)):
            raise GuestLinkError("link_invalid", "the signature does not match")
        claims = json.loads(_unb64(body))
    except (binascii.Error, ValueError, UnicodeError):
        raise GuestLinkError("link_invalid", "the link is malformed") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise GuestLinkError("link_invalid", "the link is malformed")
    if now >= claims["exp"]:
        raise GuestLinkError("link_expired", "the link has expired")
    return claims


def sign_link(link: GuestLink, secret: bytes) -> str:
    """The token in an invite link's URL."""
    return _sign("guest-link", {"room": link.room, "id": link.link_id, "exp": link.exp}, secret)


def verify_link(token: str, secret: bytes, now: float) -> GuestLink:
    """The link a token carries; GuestLinkError if forged, malformed or expired."""
    claims = _verify("guest-link", token, secret, now)
    room, link_id = claims.get("room"), claims.get("id")
    if not isinstance(room, str) or not isinstance(link_id, str):
        raise GuestLinkError("link_invalid", "the link is malformed")
    return GuestLink(room, link_id, claims["exp"])


def sign_pass(guest: GuestPass, secret: bytes) -> str:
    """The guest pass cookie's value."""
    claims = {"link": guest.link_id, "room": guest.room, "guest": guest.guest_id,
              "name": guest.name, "exp": guest.exp}
    return _sign("guest-pass", claims, secret)


def verify_pass(token: str, link: GuestLink, secret: bytes, now: float) -> GuestPass:
    """The guest pass for this link; GuestLinkError if forged, expired or for another link."""
    claims = _verify("guest-pass", token, secret, now)
    guest = GuestPass(str(claims.get("link")), str(claims.get("room")),
                      str(claims.get("guest")), str(claims.get("name")), claims["exp"])
    if guest.link_id != link.link_id or guest.room != link.room:
        raise GuestLinkError("link_invalid", "the pass belongs to another link")
    return guest


def clean_name(raw: str) -> str:
    """The guest's display name: trimmed, printable, 1..80 characters; ValueError otherwise."""
    name = " ".join(raw.split())
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise ValueError("name must be 1 to 80 printable characters")
    return name


# ----------------------------------------------------------------------------- the API route


class GuestLinkIn(BaseModel):
    expires_in_minutes: int = Field(default=DEFAULT_MINUTES, ge=5, le=MAX_MINUTES)


class GuestLinkOut(BaseModel):
    id: str
    url: str
    expires_at: datetime


class GuestLinkListOut(BaseModel):
    links: list[GuestLinkOut]


def _link_out(request: web.Request, link: GuestLink) -> GuestLinkOut:
    settings = request.app[SETTINGS]
    path = f"/guest/{sign_link(link, settings.secret_key)}"
    base = (settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
    return GuestLinkOut(id=link.link_id, url=base + path,
                        expires_at=datetime.fromtimestamp(link.exp, UTC))


async def _moderated_room(db: AsyncSession, user: User, room_id: str) -> Room:
    """The room, if `user` moderates it or coordinates; NotFound or 403 otherwise."""
    room = await db.get(Room, room_id)
    invite = await accounts.find_invite(db, room_id, user.id)
    coordinator = Role(user.role) == Role.COORDINATOR
    if room is None or (invite is None and not coordinator):
        raise NotFound("no such room")
    if not coordinator and not (invite and invite.moderator):
        raise WebError(403, "not_moderator", "only the room's moderators invite guests")
    return room


async def create_guest_link(request: web.Request) -> web.StreamResponse:
    """A signed invite link for a guest lecturer (room moderators and coordinators)."""
    user = require_user(request)
    body = await parse_body(request, GuestLinkIn)
    room_id = request.match_info["room_id"]
    async with request.app[SESSIONS]() as db:
        room = await _moderated_room(db, user, room_id)
        exp = int(time.time()) + body.expires_in_minutes * 60
        link = GuestLink(room.id, secrets.token_hex(8), exp)
        await audit.record(
            db, "room.guest_link", actor_user_id=user.id, target_type="room",
            target_id=room.id, ip=client_address(request),
            detail={"link": link.link_id, "expires_at": exp},
        )
        await db.commit()
    return json_reply(_link_out(request, link), status=201)


async def list_guest_links(request: web.Request) -> web.StreamResponse:
    """The room's invite links that still let guests in (room moderators and coordinators).

    Links are not stored apart: the audit trail records each one issued (`room.guest_link`,
    with its id and expiry), and a link is signed over exactly those, so its URL is made again.
    """
    user = require_user(request)
    room_id = request.match_info["room_id"]
    async with request.app[SESSIONS]() as db:
        room = await _moderated_room(db, user, room_id)
        issued = (await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "room.guest_link", AuditEvent.target_type == "room",
                   AuditEvent.target_id == room.id)
            .order_by(AuditEvent.id)
        )).all()
    now = time.time()
    state = request.app[CALL_NAMESPACE].state
    links = []
    for event in issued:
        link = GuestLink(room.id, str(event.detail["link"]), int(event.detail["expires_at"]))
        if link.exp > now and not await state.is_link_revoked(room.id, link.link_id, now):
            links.append(_link_out(request, link))
    return json_reply(GuestLinkListOut(links=links))


async def revoke_guest_link(request: web.Request) -> web.StreamResponse:
    """Revoke an invite link (room moderators and coordinators): nobody joins with it any more,
    and its guests in the call are removed."""
    user = require_user(request)
    room_id, link_id = request.match_info["room_id"], request.match_info["link_id"]
    async with request.app[SESSIONS]() as db:
        room = await _moderated_room(db, user, room_id)
        # The link's expiry is in the link only: kept as long as the longest a link lives.
        await request.app[CALL_NAMESPACE].revoke_guest_link(
            room.id, link_id, time.time() + LINK_MAX_TTL)
        await audit.record(
            db, "room.guest_link_revoked", actor_user_id=user.id, target_type="room",
            target_id=room.id, ip=client_address(request), detail={"link": link_id},
        )
        await db.commit()
    return web.Response(status=204)


# ----------------------------------------------------------------------------- guest pages


async def _session_end(request: web.Request, room_id: str) -> float | None:
    """When the review session whose room this is ends (now for a cancelled one); None for a
    room of no session."""
    async with request.app[SESSIONS]() as db:
        session = await db.scalar(select(ReviewSession).where(ReviewSession.room_id == room_id))
        if session is None:
            return None
        cancelled = await db.scalar(
            select(exists().where(SessionCancellation.session_id == session.id)))
    if cancelled:
        return 0.0
    return (session.starts_at + timedelta(minutes=session.duration_minutes)).timestamp()


async def _live_link(request: web.Request, now: float) -> tuple[GuestLink, int]:
    """The link in the URL and until when it lets guests in: GuestLinkError once it was
    revoked or its session is over."""
    link = verify_link(request.match_info["token"], request.app[SETTINGS].secret_key, now)
    # The session's end first: its guests' links are revoked as they are put out then, and
    # "expired" is what the guest should read.
    ends = await _session_end(request, link.room)
    if ends is not None and now >= ends:
        raise GuestLinkError("link_expired", "the session is over")
    if await request.app[CALL_NAMESPACE].state.is_link_revoked(link.room, link.link_id, now):
        raise GuestLinkError("link_revoked", "the moderator revoked the link")
    return link, link.exp if ends is None else min(link.exp, int(ends))


async def _link_or_error(request: web.Request) -> GuestLink | GuestLinkError:
    try:
        return (await _live_link(request, time.time()))[0]
    except GuestLinkError as exc:
        return exc


async def _guest_room(request: web.Request, link: GuestLink) -> Room:
    async with request.app[SESSIONS]() as db:
        room = await db.get(Room, link.room)
    if room is None:  # deleted since the link was made
        raise NotFound("no such room")
    return room


async def _refusal(request: web.Request, error: GuestLinkError) -> web.Response:
    status = 404 if error.code == "link_invalid" else 410
    return await render(request, "guest.html", {"error": error.code}, status=status)


async def guest_form(request: web.Request) -> web.StreamResponse:
    """The guest's first page: the room's title and a name field."""
    link = await _link_or_error(request)
    if isinstance(link, GuestLinkError):
        return await _refusal(request, link)
    room = await _guest_room(request, link)
    return await render(request, "guest.html", {"room_title": room.title, "name": ""})


async def guest_enter(request: web.Request) -> web.StreamResponse:
    """The name form: a guest pass for this link, then the call page."""
    link = await _link_or_error(request)
    if isinstance(link, GuestLinkError):
        return await _refusal(request, link)
    room = await _guest_room(request, link)
    form = await request.post()
    raw = form.get("name")
    try:
        name = clean_name(raw if isinstance(raw, str) else "")
    except ValueError:
        context = {"room_title": room.title, "name": raw if isinstance(raw, str) else "",
                   "invalid_name": True}
        return await render(request, "guest.html", context, status=400)
    settings = request.app[SETTINGS]
    guest = GuestPass(link.link_id, link.room, secrets.token_hex(12), name, link.exp)
    async with request.app[SESSIONS]() as db:
        await audit.record(
            db, "room.guest_enter", target_type="room", target_id=link.room,
            ip=client_address(request), detail={"link": link.link_id, "guest": guest.guest_id},
        )
        await db.commit()
    response = web.HTTPSeeOther(f"/guest/{request.match_info['token']}/room")
    response.set_cookie(
        PASS_COOKIE, sign_pass(guest, settings.secret_key), path="/",
        max_age=max(1, link.exp - int(time.time())), httponly=True, samesite="Strict",
        secure=settings.cookie_secure,
    )
    raise response


def _guest_pass(request: web.Request, link: GuestLink) -> GuestPass | None:
    raw = request.cookies.get(PASS_COOKIE)
    if raw is None:
        return None
    try:
        return verify_pass(raw, link, request.app[SETTINGS].secret_key, time.time())
    except GuestLinkError:
        return None


async def guest_room(request: web.Request) -> web.StreamResponse:
    """The call page for a guest holding a pass for this link (else back to the name form)."""
    link = await _link_or_error(request)
    if isinstance(link, GuestLinkError):
        return await _refusal(request, link)
    guest = _guest_pass(request, link)
    if guest is None:
        raise web.HTTPSeeOther(f"/guest/{request.match_info['token']}")
    room = await _guest_room(request, link)
    context = {
        "room": {"id": room.id, "title": room.title, "kind": room.kind,
                 "requires_admission": True},
        "user": {"id": guest_user_id(guest.guest_id), "name": guest.name, "role": GUEST_ROLE,
                 "center": ""},
        "is_moderator": False,
        "client_i18n": request.app[I18N].client[request_locale(request)],
        "protocol_version": PROTOCOL_VERSION,
        "reconnect_grace": request.app[SETTINGS].reconnect_grace,
        "join_url": f"/api/guest/{request.match_info['token']}/join",
        # Guests are told of a recording before they enter, like everyone else.
        "recording": await request.app[CALL_NAMESPACE].recording.status(room.id),
    }
    return await render(request, "room.html", context)


async def guest_join(request: web.Request) -> web.Response:
    """A join token for a guest holding a pass: the room of the link, until it expires."""
    settings = request.app[SETTINGS]
    now = time.time()
    try:
        link, live_until = await _live_link(request, now)
    except GuestLinkError as exc:
        raise WebError(404 if exc.code == "link_invalid" else 410, exc.code, exc.message) from None
    guest = _guest_pass(request, link)
    if guest is None:
        raise WebError(403, "no_guest_pass", "open the invite link and enter your name first")
    room = await _guest_room(request, link)
    grant = issue_guest_grant(
        guest_id=guest.guest_id, name=guest.name, room=room.id,
        room_kind=room_kind(room.kind), now=now, link_expires=live_until, link_id=link.link_id,
    )
    return join_reply(
        sign_grant(grant, settings.secret_key),
        settings,
        JoinPeer(user_id=grant.user_id, name=grant.name),
        await request.app[CALL_NAMESPACE].recording.status(room.id),
    )


def routes() -> list[Route]:
    """The guest-link API, and the guests' pages (public: the guest pass decides)."""
    return [
        Route(
            "POST", "/api/rooms/{room_id}/guest-links", create_guest_link,
            name="api-guest-link-create",
            summary="Invite a guest lecturer",
            description=(
                "A signed link, valid `expires_in_minutes` (default a day, at most a week), "
                "with which someone without an account joins this room's waiting room under "
                "a name they type. Room moderators and coordinators only; audited."
            ),
            roles=ALL_ROLES - {Role.ADMIN}, body=GuestLinkIn, response=GuestLinkOut,
            status=201, tag="calls",
        ),
        Route(
            "GET", "/api/rooms/{room_id}/guest-links", list_guest_links,
            name="api-guest-link-list",
            summary="List a room's guest invite links",
            description=(
                "The links that still let guests in: not expired, not revoked. Room moderators "
                "and coordinators only."
            ),
            roles=ALL_ROLES - {Role.ADMIN}, response=GuestLinkListOut, tag="calls",
        ),
        Route(
            "DELETE", "/api/rooms/{room_id}/guest-links/{link_id}", revoke_guest_link,
            name="api-guest-link-revoke",
            summary="Revoke a guest invite link",
            description=(
                "Nobody joins with the link any more (until it would have expired), and the "
                "guests in the call with it are removed. Room moderators and coordinators only; "
                "audited. (A guest the moderator removes from the call revokes its link too.)"
            ),
            roles=ALL_ROLES - {Role.ADMIN}, status=204, tag="calls",
        ),
        Route(
            "POST", "/api/guest/{token}/join", guest_join, name="api-guest-join",
            summary="Join as a guest",
            description=(
                "A join token for the holder of a guest pass (the cookie the invite link's "
                "name form sets): bound to the link's room, through the waiting room, never "
                "past the link's expiry nor past the end of the room's review session. 410 "
                "`link_expired` (the link or its session), 410 `link_revoked`, 404 `link_invalid`."
            ),
            roles=None, response=JoinReply, tag="calls",
        ),
        page_route("GET", "/guest/{token}", guest_form, "guest", None),
        page_route("POST", "/guest/{token}", guest_enter, None, None),
        page_route("GET", "/guest/{token}/room", guest_room, "guest-room", None),
    ]

