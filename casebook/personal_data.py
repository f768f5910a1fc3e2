"""Everything Junta holds about a person as a person (ARCO access right), as plain data.

Profile, sign-in sessions, second-factor state, room invitations, mail sent to them, consents
and the audit trail of their own actions (and of actions on their account). Clinical content
of cases is not personal data of the clinician and is not included. A table another feature
adds is included by adding a section to `SECTIONS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import lockout
from casebook.models import (
    AccountLockout,
    AuditEvent,
    Base,
    Notification,
    RecoveryCode,
    Room,
    RoomInvite,
    TwoFactor,
    User,
    UserSession,
)

Section = Callable[[AsyncSession, User], Awaitable[Any]]


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def profile(db: AsyncSession, user: User) -> dict[str, Any]:
    """Who the person is in Junta."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "center": user.center.name if user.center else None,
        "active": user.active,
        "locale": user.locale,
        "created_at": _when(user.created_at),
    }


async def sessions(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """Every sign-in session, ended or not."""
    rows = await db.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.created_at)
    )
    # Session ids are not included: they are hashes of sign-in tokens.
    return [
        {
            "started_at": _when(s.created_at),
            "last_seen_at": _when(s.last_seen_at),
            "ended_at": _when(s.ended_at),
            "ip": s.ip,
            "user_agent": s.user_agent,
        }
        for s in rows.unique().all()
    ]


async def security(db: AsyncSession, user: User) -> dict[str, Any]:
    """Second-factor and lockout state (never the secrets themselves)."""
    factor = await db.get(TwoFactor, user.id)
    codes = (
        await db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ).all()
    locks = (
        await db.scalars(select(AccountLockout).where(AccountLockout.email == user.email))
    ).all()
    # The addresses others typed this e-mail from are not the person's data: counts and ends only.
    everywhere = next((lock for lock in locks if lock.address == lockout.ANY), None)
    ends = [lock.locked_until for lock in locks if lock.locked_until is not None]
    # The TOTP secret and code hashes are credentials, not information about the person.
    return {
        "two_factor_enabled_at": _when(factor.confirmed_at) if factor else None,
        "recovery_codes": [
            {"created_at": _when(c.created_at), "used_at": _when(c.used_at)} for c in codes
        ],
        "failed_sign_ins_in_a_row": everywhere.failures if everywhere else 0,
        "locked_until": _when(max(ends)) if ends else None,
    }


async def room_invitations(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """The call rooms the person is invited to."""
    rows = await db.execute(
        select(Room.id, Room.title, RoomInvite.moderator)
        .join(RoomInvite, RoomInvite.room_id == Room.id)
        .where(RoomInvite.user_id == user.id)
        .order_by(Room.id)
    )
    return [{"room": r.id, "title": r.title, "moderator": r.moderator} for r in rows]


async def mail(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """The notifications addressed to the person (not their content)."""
    rows = await db.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    return [
        {
            "event": n.event,
            "created_at": _when(n.created_at),
            "sent_at": _when(n.sent_at),
            "failed_at": _when(n.failed_at),
        }
        for n in rows.all()
    ]


async def consents(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """Recording consents the person gave or refused."""
    # Recording consents live in the recordings feature's table, when that feature is present.
    table = Base.metadata.tables.get("recording_consents")
    if table is None:
        return []
    rows = await db.execute(
        select(table).where(table.c.user_id == user.id).order_by(table.c.id)
    )
    keep = ("recording_id", "granted", "notice_version", "notice_text", "locale", "at")
    return [
        {k: (_when(v) if isinstance(v, datetime) else v) for k, v in row._mapping.items()
         if k in keep}
        for row in rows
    ]


async def audit_trail(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """The person's own actions, and actions on their account."""
    rows = await db.scalars(
        select(AuditEvent)
        .where(
            or_(
                AuditEvent.actor_user_id == user.id,
                (AuditEvent.target_type == "user") & (AuditEvent.target_id == user.id),
            )
        )
        .order_by(AuditEvent.id)
    )
    return [
        {
            "at": _when(e.at),
            "action": e.action,
            "by_me": e.actor_user_id == user.id,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "ip": e.ip,
            "detail": e.detail,
        }
        for e in rows.all()
    ]


SECTIONS: dict[str, Section] = {
    "profile": profile,
    "sessions": sessions,
    "security": security,
    "room_invitations": room_invitations,
    "mail": mail,
    "consents": consents,
    "audit": audit_trail,
}


async def export(db: AsyncSession, user: User, *, now: datetime) -> dict[str, Any]:
    """Every section for `user`, with when the export was made."""
    data: dict[str, Any] = {"exported_at": now.isoformat(), "format": "junta-personal-data/1"}
    for name, section in SECTIONS.items():
        data[name] = await section(db, user)
    return data
