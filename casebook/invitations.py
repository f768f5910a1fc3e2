"""Invitations by e-mail: a signed, expiring link with which a new user sets their password.

The link carries `user_id.expires.signature`, the signature an HMAC-SHA256 (the app's secret
key) over the user id, the expiry and the user's current stored password hash. Nothing is
stored per invitation: setting a password changes the hash, so a used link (and every other
link sent to that person before) stops working at once. An invitation is refused outright once
the person has a password, even one signed over that password's hash (a mail re-sent from the
outbox later is worded, and signed, when it goes out). The mail goes through the outbox
(event `account.invite`), worded when sent: the link's expiry counts from the outbox row.

The password reset link (`casebook.password_reset`) is the same kind of token with another
purpose in the signed message, so neither kind of link opens the other's page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from casebook.accounts import has_password
from casebook.clock import utcnow
from casebook.messages import _FOOTER, _GREETING, N_, Gettext, Message, Recipient
from casebook.models import User
from casebook.notifications import Notice, Notifier

INVITE_EVENT = "account.invite"
DEFAULT_LIFETIME = timedelta(hours=72)
INVITE_PURPOSE = "junta-invite"


def _signature(
    secret: bytes, purpose: str, user_id: str, expires: int, password_hash: str
) -> str:
    message = f"{purpose}|{user_id}|{expires}|{password_hash}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def link_token(
    secret: bytes, user: User, issued_at: datetime, lifetime: timedelta, purpose: str
) -> str:
    """A `purpose` link token for `user` issued at `issued_at`, void once their password changes."""
    expires = int((issued_at + lifetime).timestamp())
    signature = _signature(secret, purpose, user.id, expires, user.password_hash)
    return f"{user.id}.{expires}.{signature}"


def invite_token(secret: bytes, user: User, issued_at: datetime, lifetime: timedelta) -> str:
    """The token of the invitation link sent to `user` at `issued_at`."""
    return link_token(secret, user, issued_at, lifetime, INVITE_PURPOSE)


def token_user_id(token: str) -> str | None:
    """The user id a well-formed token names (not yet verified), or None."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or not 1 <= len(parts[0]) <= 36:
        return None
    return parts[0]


def verify_token(
    secret: bytes,
    token: str,
    user: User,
    *,
    now: datetime | None = None,
    purpose: str = INVITE_PURPOSE,
) -> bool:
    """True when `token` is a live `purpose` link of `user` (right signature, not expired)."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != user.id or not parts[1].isdigit():
        return False
    expires = int(parts[1])
    expected = _signature(secret, purpose, user.id, expires, user.password_hash)
    if not hmac.compare_digest(expected.encode(), parts[2].encode()):
        return False
    now = now or utcnow()
    return now < datetime.fromtimestamp(expires, tz=UTC)


async def find_linked(
    db: AsyncSession, secret: bytes, token: str, purpose: str, *, now: datetime | None = None
) -> User | None:
    """The active user a live `purpose` link is for, or None."""
    user_id = token_user_id(token)
    if user_id is None:
        return None
    user = await db.get(User, user_id)
    if user is None or not user.active:
        return None
    if not verify_token(secret, token, user, now=now, purpose=purpose):
        return None
    return user


async def find_invited(
    db: AsyncSession, secret: bytes, token: str, *, now: datetime | None = None
) -> User | None:
    """The active user, still without a password, a live invitation link is for, or None."""
    user = await find_linked(db, secret, token, INVITE_PURPOSE, now=now)
    if user is None or has_password(user):
        return None
    return user


async def already_accepted(db: AsyncSession, token: str) -> bool:
    """True when the person a (dead) invitation link names has chosen a password since.

    Said to whoever holds the link, so they sign in instead of asking for a new invitation;
    the user id in a link is not guessable, so this tells nothing to a stranger.
    """
    user_id = token_user_id(token)
    user = await db.get(User, user_id) if user_id is not None else None
    return user is not None and user.active and has_password(user)


async def send_invitation(db: AsyncSession, notifier: Notifier, user: User) -> None:
    """Queue the invitation mail (outbox, in the caller's transaction)."""
    await notifier.notify(db, Notice(event=INVITE_EVENT, user_ids=frozenset({user.id})))


_SUBJECT = N_("You are invited to Junta")
_BODY = N_(
    "An administrator of the pediatric oncology network has created an account for you in "
    "Junta. Choose your password with the link below; it works once and expires in "
    "%(hours)d hours."
)
_LINK = N_("Choose my password")


def invitation_message(
    recipient: Recipient, link: str, lifetime: timedelta, gettext: Gettext
) -> Message:
    """The invitation e-mail to `recipient` with their link."""
    return Message(
        recipient=recipient,
        event=INVITE_EVENT,
        subject=gettext(_SUBJECT),
        greeting=gettext(_GREETING) % {"name": recipient.name},
        paragraphs=(gettext(_BODY) % {"hours": int(lifetime.total_seconds() // 3600)},),
        link=link,
        link_label=gettext(_LINK),
        footer=gettext(_FOOTER),
    )
