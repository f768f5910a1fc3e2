"""Administration pages (admins only): centers, and people with their role, center and state.

People are added by invitation: the account is created without a password and an e-mail with
a signed, expiring link goes through the outbox (`casebook.invitations`). Every change is
audited (`admin.*`).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import accounts, administration, audit, invitations, lockout, two_factor
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import AccountLockout, Center, CenterKind, Role, TwoFactor, User
from web.app.keys import CALL_NAMESPACE, NOTIFIER, PASSWORDS, SESSIONS
from web.http.auth import client_address, require_user
from web.http.errors import NotFound
from web.http.routes import ADMINS, Route, int_param
from web.render.context import render

_USER_ID = re.compile(r"^[0-9a-f-]{36}$")


def _form_text(form: Any, name: str, limit: int = 400) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


async def _record(
    request: web.Request, db: AsyncSession, action: str, target_type: str, target_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        db, action, actor_user_id=require_user(request).id, target_type=target_type,
        target_id=target_id, ip=client_address(request), detail=detail,
    )


# ---------------------------------------------------------------- centers


async def centers_page(request: web.Request) -> web.StreamResponse:
    """Every center of the network."""
    async with request.app[SESSIONS]() as db:
        centers = (await db.scalars(select(Center).order_by(Center.name))).all()
    return await render(request, "admin_centers.html", {"centers": centers})


def _center_context(center: Center | None, values: dict[str, str], error: str | None) -> Any:
    return {
        "center": center,
        "values": values,
        "kinds": [k.value for k in CenterKind],
        "error": error,
    }


def _center_values(center: Center | None) -> dict[str, str]:
    if center is None:
        return {"name": "", "state": "", "kind": CenterKind.GENERAL_HOSPITAL.value, "clues": ""}
    return {
        "name": center.name, "state": center.state, "kind": center.kind,
        "clues": center.clues or "",
    }


async def center_form(request: web.Request) -> web.StreamResponse:
    """A form for a new center, or to change one."""
    center = None
    if "center_id" in request.match_info:
        async with request.app[SESSIONS]() as db:
            center = await db.get(Center, int_param(request, "center_id"))
        if center is None:
            raise NotFound()
    context = _center_context(center, _center_values(center), None)
    return await render(request, "admin_center_form.html", context)


async def center_save(request: web.Request) -> web.StreamResponse:
    """Create or change a center."""
    form = await request.post()
    values = {k: _form_text(form, k) for k in ("name", "state", "kind", "clues")}
    async with request.app[SESSIONS]() as db:
        center = None
        if "center_id" in request.match_info:
            center = await db.get(Center, int_param(request, "center_id"))
            if center is None:
                raise NotFound()
        try:
            saved = await administration.save_center(
                db, center, name=values["name"], state=values["state"], kind=values["kind"],
                clues=values["clues"],
            )
        except CasebookError as refused:
            context = _center_context(center, values, refused.code)
            return await render(request, "admin_center_form.html", context, status=400)
        action = "admin.center_created" if center is None else "admin.center_updated"
        await _record(request, db, action, "center", str(saved.id))
        await db.commit()
    raise web.HTTPSeeOther("/admin/centers")


# ---------------------------------------------------------------- people


async def users_page(request: web.Request) -> web.StreamResponse:
    """Everyone with an account: role, center, state, second factor, lock."""
    async with request.app[SESSIONS]() as db:
        users = (await db.scalars(select(User).order_by(User.display_name))).unique().all()
        enrolled = set(
            (
                await db.scalars(
                    select(TwoFactor.user_id).where(TwoFactor.confirmed_at.is_not(None))
                )
            ).all()
        )
        locked = set(
            (
                await db.scalars(
                    # Any lock on the e-mail, at any address (the admin may lift them all).
                    select(AccountLockout.email).where(AccountLockout.locked_until > utcnow())
                )
            ).all()
        )
    rows = [
        {
            "id": u.id,
            "name": u.display_name,
            "email": u.email,
            "role": u.role,
            "center": u.center.name,
            "active": u.active,
            "invited": not accounts.has_password(u),
            "two_factor": u.id in enrolled,
            "locked": u.email in locked,
        }
        for u in users
    ]
    return await render(request, "admin_users.html", {"users": rows})


async def _centers(db: AsyncSession) -> list[Center]:
    return list((await db.scalars(select(Center).order_by(Center.name))).all())


async def _user(request: web.Request, db: AsyncSession) -> User:
    user_id = request.match_info["user_id"]
    user = await db.get(User, user_id) if _USER_ID.match(user_id) else None
    if user is None:
        raise NotFound()
    return user


def _user_context(
    user: User | None, values: dict[str, str], centers: list[Center], error: str | None
) -> dict[str, Any]:
    return {
        "target": user,
        "invited": user is not None and not accounts.has_password(user),
        "values": values,
        "roles": [r.value for r in Role],
        "centers": [{"id": str(c.id), "name": c.name} for c in centers],
        "error": error,
    }


async def user_form(request: web.Request) -> web.StreamResponse:
    """A form to invite someone, or to change a person's name, role and center."""
    async with request.app[SESSIONS]() as db:
        centers = await _centers(db)
        user = await _user(request, db) if "user_id" in request.match_info else None
    values = {"email": "", "name": "", "role": Role.SPECIALIST.value, "center": ""}
    if user is not None:
        values = {
            "email": user.email, "name": user.display_name, "role": user.role,
            "center": str(user.center_id),
        }
    context = _user_context(user, values, centers, None)
    return await render(request, "admin_user_form.html", context)


async def user_invite(request: web.Request) -> web.StreamResponse:
    """Create an account without a password and e-mail its invitation link."""
    form = await request.post()
    values = {k: _form_text(form, k) for k in ("email", "name", "role", "center")}
    async with request.app[SESSIONS]() as db:
        centers = await _centers(db)
        center = next((c for c in centers if str(c.id) == values["center"]), None)
        try:
            if center is None:
                raise CasebookError("invalid_center", "choose a center")
            user = await accounts.create_user(
                db, request.app[PASSWORDS], email=values["email"], display_name=values["name"],
                role=values["role"], center=center, password=None,
            )
        except CasebookError as refused:
            context = _user_context(None, values, centers, refused.code)
            return await render(request, "admin_user_form.html", context, status=400)
        await invitations.send_invitation(db, request.app[NOTIFIER], user)
        await _record(request, db, "admin.user_invited", "user", user.id, {"role": user.role})
        await db.commit()
    raise web.HTTPSeeOther(f"/admin/users/{user.id}")


async def user_save(request: web.Request) -> web.StreamResponse:
    """Change a person's name, role and center."""
    form = await request.post()
    values = {k: _form_text(form, k) for k in ("name", "role", "center")}
    async with request.app[SESSIONS]() as db:
        user = await _user(request, db)
        centers = await _centers(db)
        center = next((c for c in centers if str(c.id) == values["center"]), None)
        before = {"role": user.role, "center_id": user.center_id}
        try:
            if center is None:
                raise CasebookError("invalid_center", "choose a center")
            await administration.update_user(
                db, require_user(request), user, display_name=values["name"],
                role=values["role"], center=center,
            )
        except CasebookError as refused:
            values["email"] = user.email
            context = _user_context(user, values, centers, refused.code)
            return await render(request, "admin_user_form.html", context, status=400)
        after = {"role": user.role, "center_id": user.center_id}
        await _record(
            request, db, "admin.user_updated", "user", user.id,
            {"before": before, "after": after},
        )
        await db.commit()
    raise web.HTTPSeeOther(f"/admin/users/{user.id}")


async def user_deactivate(request: web.Request) -> web.StreamResponse:
    """Stop a person from signing in; their sessions end at once, their records stay."""
    async with request.app[SESSIONS]() as db:
        user = await _user(request, db)
        ended = await administration.deactivate(db, require_user(request), user)
        await _record(request, db, "admin.user_deactivated", "user", user.id, {"sessions": ended})
        await db.commit()
    # Calls too: their open call sockets close now, not when their join token expires.
    await request.app[CALL_NAMESPACE].disconnect_user(user.id)
    raise web.HTTPSeeOther(f"/admin/users/{user.id}")


async def user_reactivate(request: web.Request) -> web.StreamResponse:
    """Let a deactivated person sign in again."""
    async with request.app[SESSIONS]() as db:
        user = await _user(request, db)
        administration.reactivate(user)
        await _record(request, db, "admin.user_reactivated", "user", user.id)
        await db.commit()
    raise web.HTTPSeeOther(f"/admin/users/{user.id}")


async def user_reinvite(request: web.Request) -> web.StreamResponse:
    """Send a new invitation link (earlier ones stop working)."""
    async with request.app[SESSIONS]() as db:
        user = await _user(request, db)
        administration.renew_invitation(user)
        await invitations.send_invitation(db, request.app[NOTIFIER], user)
        await _record(request, db, "admin.invitation_resent", "user", user.id)
        await db.commit()
    raise web.HTTPSeeOther(f"/admin/users/{user.id}")


async def user_unlock(request: web.Request) -> web.StreamResponse:
    """Lift a sign-in lock before it ends by itself."""
    async with request.app[SESSIONS]() as db:
        user = await _user(request, db)
        await lockout.unlock(db, user.email)
        await two_factor.lift_refusal(db, user.id)
        await _record(request, db, "admin.user_unlocked", "user", user.id)
        await db.commit()
    raise web.HTTPSeeOther(f"/admin/users/{user.id}")


# ---------------------------------------------------------------- routes


def _page(method: str, path: str, handler: Any, name: str, summary: str) -> Route:
    return Route(
        method, path, handler, name=name, summary=summary, description=summary, roles=ADMINS,
        tag="pages", page=True,
    )


_CENTER = "/admin/centers/{center_id:\\d+}"
_USER = "/admin/users/{user_id}"


def routes() -> list[Route]:
    """The administration pages."""
    return [
        _page("GET", "/admin/centers", centers_page, "admin-centers", "Centers"),
        _page("GET", "/admin/centers/new", center_form, "admin-center-new", "New center"),
        _page("POST", "/admin/centers/new", center_save, "admin-center-create", "Add a center"),
        _page("GET", _CENTER, center_form, "admin-center", "A center"),
        _page("POST", _CENTER, center_save, "admin-center-save", "Change a center"),
        _page("GET", "/admin/users", users_page, "admin-users", "People"),
        _page("GET", "/admin/users/new", user_form, "admin-user-new", "Invite someone"),
        _page("POST", "/admin/users/new", user_invite, "admin-user-invite", "Send an invitation"),
        _page("GET", _USER, user_form, "admin-user", "A person"),
        _page("POST", _USER, user_save, "admin-user-save", "Change a person"),
        _page("POST", _USER + "/deactivate", user_deactivate, "admin-user-deactivate",
              "Deactivate a person"),
        _page("POST", _USER + "/reactivate", user_reactivate, "admin-user-reactivate",
              "Reactivate a person"),
        _page("POST", _USER + "/invitation", user_reinvite, "admin-user-reinvite",
              "Send a new invitation"),
        _page("POST", _USER + "/unlock", user_unlock, "admin-user-unlock", "Lift a sign-in lock"),
    ]
