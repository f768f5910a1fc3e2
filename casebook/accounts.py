"""Accounts: sign-in, server-side sessions, and which rooms a person is invited to."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.ascii_numbers import parse_ascii_int
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import (
    Center,
    Role,
    Room,
    RoomInvite,
    TwoFactor,
    User,
    UserSession,
    normalize_email,
)
from casebook.passwords import Passwords

# Longer "passwords" are refused before hashing: nobody types them, and they cost CPU.
MAX_PASSWORD_LENGTH = 1024

# Writing last_seen_at on every request would make each page view a write; a minute is
# precise enough for idle expiry measured in tens of minutes.
TOUCH_INTERVAL = timedelta(seconds=60)


def session_id(token: str) -> str:
    """The stored id of a session: SHA-256 of the cookie token, so a database leak is no login."""
    return hashlib.sha256(token.encode()).hexdigest()


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this e-mail address (any case), or None."""
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def authenticate(
    session: AsyncSession, passwords: Passwords, email: str, password: str
) -> User | None:
    """The active user whose e-mail and password match, or None; upgrades outdated hashes."""
    # Argon2 takes tens of milliseconds of CPU on purpose: keep it off the event loop.
    user = await find_user_by_email(session, email)
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    if user is None or not user.active or not has_password(user):
        await asyncio.to_thread(passwords.burn, password)
        return None
    if not await asyncio.to_thread(passwords.verify, user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(passwords.hash, password)
    return user


async def start_session(
    session: AsyncSession,
    user: User,
    *,
    ip: str | None,
    user_agent: str | None,
    replaces: str | None = None,
    now: datetime | None = None,
) -> tuple[str, UserSession]:
    """A new session for `user`, returning (cookie token, row); ends the `replaces` token's."""
    now = now or utcnow()
    if replaces:
        await end_session(session, replaces, now=now)
    token = secrets.token_urlsafe(32)
    row = UserSession(
        id=session_id(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:400] or None,
    )
    row.user = user
    session.add(row)
    return token, row


# Run on every signed-in request: built once (SQLAlchemy then skips rebuilding and re-keying it).
# The session's user and their center are loaded with it (joined relationships).
SIGNED_IN_QUERY = (
    select(UserSession, TwoFactor.confirmed_at.is_not(None))
    .outerjoin(TwoFactor, TwoFactor.user_id == UserSession.user_id)
    .where(UserSession.id == bindparam("session_id"))
)


@dataclass(frozen=True)
class SignedIn:
    """A live session, its user (`session.user`), and whether they confirmed a second factor."""

    session: UserSession
    two_factor_enabled: bool


async def find_signed_in(
    session: AsyncSession, token: str, *, idle: timedelta, now: datetime | None = None
) -> SignedIn | None:
    """The live session of `token` with its user and second-factor state, in one query; None
    when unknown, ended, idle too long or the user is inactive.

    A session found idle past `idle` is ended here (in the session's transaction; the caller
    commits), so it cannot come back.
    """
    now = now or utcnow()
    found = (await session.execute(SIGNED_IN_QUERY, {"session_id": session_id(token)})).first()
    if found is None:
        return None
    row, two_factor_enabled = found
    if row.ended_at is not None:
        return None
    if now - row.last_seen_at > idle or not row.user.active:
        row.ended_at = now
        return None
    return SignedIn(row, bool(two_factor_enabled))


async def find_session(
    session: AsyncSession, token: str, *, idle: timedelta, now: datetime | None = None
) -> UserSession | None:
    """The live session of `token`, or None when unknown, ended, idle too long or user inactive.

    A session found idle past `idle` is ended here, so it cannot come back.
    """
    found = await find_signed_in(session, token, idle=idle, now=now)
    return found.session if found else None


def touch_session(row: UserSession, now: datetime | None = None) -> bool:
    """Record activity on a session (at most once a `TOUCH_INTERVAL`); True when the row
    changed (and needs a commit). The flush writes that one column: a touch cannot undo an end
    written meanwhile."""
    now = now or utcnow()
    if now - row.last_seen_at < TOUCH_INTERVAL:
        return False
    row.last_seen_at = now
    return True


async def end_session(session: AsyncSession, token: str, *, now: datetime | None = None) -> None:
    """End the session of `token`, if it is live."""
    row = await session.get(UserSession, session_id(token))
    if row is not None and row.ended_at is None:
        row.ended_at = now or utcnow()


async def invites_for_user(session: AsyncSession, user_id: str) -> list[RoomInvite]:
    """The user's room invitations (with their rooms), ordered by room title."""
    query = (
        select(RoomInvite)
        .join(Room, Room.id == RoomInvite.room_id)
        .where(RoomInvite.user_id == user_id)
        .order_by(Room.title)
    )
    return list((await session.scalars(query)).unique().all())


async def find_invite(session: AsyncSession, room_id: str, user_id: str) -> RoomInvite | None:
    """The user's invitation to the room, or None when not invited (or no such room)."""
    return await session.get(RoomInvite, (room_id, user_id))


async def count_users(session: AsyncSession) -> int:
    """How many accounts exist, active or not."""
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def find_center(session: AsyncSession, key: str) -> Center | None:
    """A center by CLUES code, exact name (any case) or numeric id."""
    query = select(Center).where(
        (Center.clues == key.strip().upper()) | (func.lower(Center.name) == key.strip().lower())
    )
    center = await session.scalar(query)
    center_id = parse_ascii_int(key.strip(), 1, 2**31 - 1)
    if center is None and center_id is not None:
        center = await session.get(Center, center_id)
    return center


async def create_user(
    session: AsyncSession,
    passwords: Passwords,
    *,
    email: str,
    display_name: str,
    role: str,
    center: Center,
    password: str | None,
    locale: str | None = None,
) -> User:
    """Add a user; refuses an unknown role, a taken e-mail or a too short password.

    `password=None`: an invited user, who sets a password through the invitation link.
    """
    email = normalize_email(email)
    if role not in {r.value for r in Role}:
        allowed = ", ".join(r.value for r in Role)
        raise CasebookError("invalid_role", f"role must be one of: {allowed}")
    if "@" not in email or len(email) > 320:
        raise CasebookError("invalid_email", "not an e-mail address")
    if not display_name.strip():
        raise CasebookError("invalid_name", "the display name is empty")
    if password is not None:
        check_new_password(password)
    if await find_user_by_email(session, email) is not None:
        raise CasebookError("email_taken", f"a user with e-mail {email} exists already")
    user = User(
        email=email,
        display_name=display_name.strip(),
        password_hash=(
            await asyncio.to_thread(passwords.hash, password)
            if password is not None
            else unusable_password()
        ),
        role=role,
        center_id=center.id,
        locale=locale,
    )
    user.center = center
    session.add(user)
    await session.flush()
    return user


# Hashes starting with this never verify (not Argon2): the account has no password yet.
NO_PASSWORD_PREFIX = "!no-password:"


def unusable_password() -> str:
    """A stored hash no password matches; random, so invitation links bound to it are unique."""
    return NO_PASSWORD_PREFIX + secrets.token_urlsafe(18)


def has_password(user: User) -> bool:
    """False for an invited user who has not set a password yet."""
    return not user.password_hash.startswith(NO_PASSWORD_PREFIX)


async def password_matches(passwords: Passwords, user: User, password: str) -> bool:
    """True when `password` is the signed-in user's own (asked again before changing security)."""
    if len(password) > MAX_PASSWORD_LENGTH or not has_password(user):
        await asyncio.to_thread(passwords.burn, password[:MAX_PASSWORD_LENGTH])
        return False
    return await asyncio.to_thread(passwords.verify, user.password_hash, password)


async def set_password(passwords: Passwords, user: User, password: str) -> None:
    """Give `user` a new password (refused when it breaks the policy)."""
    check_new_password(password)
    user.password_hash = await asyncio.to_thread(passwords.hash, password)


def check_new_password(password: str) -> None:
    """The password policy for new passwords: 10 to MAX_PASSWORD_LENGTH characters."""
    if not 10 <= len(password) <= MAX_PASSWORD_LENGTH:
        raise CasebookError(
            "weak_password", f"passwords need 10 to {MAX_PASSWORD_LENGTH} characters"
        )
