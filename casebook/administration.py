"""What administrators do to accounts and centers: the rules, apart from the pages.

Deactivating a person ends their sessions at once (and their pending second-factor steps);
nothing they wrote is touched. Invited people get a new invitation link on request as long as
they have not chosen a password.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import account_sessions, accounts
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import Center, CenterKind, PendingSignIn, Role, User


async def save_center(
    db: AsyncSession,
    center: Center | None,
    *,
    name: str,
    state: str,
    kind: str,
    clues: str | None,
) -> Center:
    """Create (`center=None`) or change a center; refuses empty, too long or taken values."""
    name, state = name.strip(), state.strip()
    clues = (clues or "").strip().upper() or None
    if not name or len(name) > 200:
        raise CasebookError("invalid_name", "the center needs a name of at most 200 characters")
    if not state or len(state) > 100:
        raise CasebookError("invalid_state", "the center needs a state of at most 100 characters")
    if kind not in {k.value for k in CenterKind}:
        raise CasebookError("invalid_kind", "unknown kind of center")
    if clues is not None and (len(clues) > 20 or not clues.isalnum()):
        raise CasebookError("invalid_clues", "a CLUES key has at most 20 letters and digits")
    same_name = await db.scalar(select(Center).where(func.lower(Center.name) == name.lower()))
    if same_name is not None and same_name is not center:
        raise CasebookError("name_taken", "another center has this name")
    if clues is not None:
        same_clues = await db.scalar(select(Center).where(Center.clues == clues))
        if same_clues is not None and same_clues is not center:
            raise CasebookError("clues_taken", "another center has this CLUES key")
    if center is None:
        center = Center(name=name, state=state, kind=kind, clues=clues)
        db.add(center)
    else:
        center.name, center.state, center.kind, center.clues = name, state, kind, clues
    await db.flush()
    return center


async def update_user(
    db: AsyncSession, admin: User, user: User, *, display_name: str, role: str, center: Center
) -> None:
    """Change a person's name, role and center (an admin cannot change their own role)."""
    if not display_name.strip() or len(display_name.strip()) > 200:
        raise CasebookError("invalid_name", "the display name is empty or too long")
    if role not in {r.value for r in Role}:
        raise CasebookError("invalid_role", "unknown role")
    if user.id == admin.id and role != user.role:
        raise CasebookError("own_account", "administrators cannot change their own role")
    user.display_name = display_name.strip()
    user.role = role
    user.center_id = center.id
    user.center = center


async def deactivate(
    db: AsyncSession, admin: User, user: User, *, now: datetime | None = None
) -> int:
    """Stop a person from signing in; their sessions end now. Returns how many ended."""
    if user.id == admin.id:
        raise CasebookError("own_account", "administrators cannot deactivate themselves")
    user.active = False
    await db.execute(delete(PendingSignIn).where(PendingSignIn.user_id == user.id))
    return await account_sessions.end_all_sessions(db, user.id, now=now or utcnow())


def reactivate(user: User) -> None:
    """Let a deactivated person sign in again (with the password they had)."""
    user.active = True


def renew_invitation(user: User) -> None:
    """Make earlier invitation links stop working, for a new one (only before a password)."""
    if accounts.has_password(user):
        raise CasebookError("has_password", "this person has chosen a password already")
    user.password_hash = accounts.unusable_password()
