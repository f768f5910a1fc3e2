"""Self-service password reset: an e-mailed, signed link that sets a new password once.

The link is an invitation-style token (`casebook.invitations.link_token`) with its own purpose
in the signed message: user id, expiry and the current password hash under the app's secret.
Nothing is stored per request: setting the password changes the hash, so the link (and every
other reset link sent before) stops working at once. The mail goes through the outbox (event
`account.password_reset`), worded when sent; the link's expiry counts from the outbox row.
Whether an address has an account is never told: the request queues a mail only when it has,
and answers alike either way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from casebook import accounts
from casebook.invitations import find_linked, link_token
from casebook.messages import _FOOTER, _GREETING, N_, Gettext, Message, Recipient
from casebook.models import User
from casebook.notifications import Notice, Notifier

RESET_EVENT = "account.password_reset"
RESET_PURPOSE = "junta-password-reset"
LIFETIME = timedelta(minutes=30)


def reset_token(secret: bytes, user: User, issued_at: datetime) -> str:
    """The token of the reset link sent to `user` at `issued_at`."""
    return link_token(secret, user, issued_at, LIFETIME, RESET_PURPOSE)


async def find_resetting(
    db: AsyncSession, secret: bytes, token: str, *, now: datetime | None = None
) -> User | None:
    """The active user a live reset link is for, or None."""
    return await find_linked(db, secret, token, RESET_PURPOSE, now=now)


async def request_reset(db: AsyncSession, notifier: Notifier, email: str) -> User | None:
    """Queue a reset mail when `email` is an active account's (outbox, caller's transaction)."""
    user = await accounts.find_user_by_email(db, email)
    if user is None or not user.active:
        return None
    await notifier.notify(db, Notice(event=RESET_EVENT, user_ids=frozenset({user.id})))
    return user


_SUBJECT = N_("Choose a new Junta password")
_BODY = N_(
    "Someone, probably you, asked to choose a new password for your Junta account. The link "
    "below works once and expires in %(minutes)d minutes; using it signs out every other "
    "session. If you did not ask for it, ignore this message: your password stays as it is."
)
_LINK = N_("Choose a new password")


def reset_message(recipient: Recipient, link: str, gettext: Gettext) -> Message:
    """The reset e-mail to `recipient` with their link."""
    return Message(
        recipient=recipient,
        event=RESET_EVENT,
        subject=gettext(_SUBJECT),
        greeting=gettext(_GREETING) % {"name": recipient.name},
        paragraphs=(gettext(_BODY) % {"minutes": int(LIFETIME.total_seconds() // 60)},),
        link=link,
        link_label=gettext(_LINK),
        footer=gettext(_FOOTER),
    )
