"""Who may open each account and administration page: the intent, checked against the routes'
declarations and the running app by `test_account_access.py` (and left out of the JSON API
table of `test_api_authorization.py`)."""

from __future__ import annotations

from casebook.models import Role

EVERYONE = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
PUBLIC = None

PAGE_ACCESS: dict[str, frozenset[Role] | None] = {
    "login-two-factor": PUBLIC,
    "login-two-factor-submit": PUBLIC,
    "invitation": PUBLIC,
    "invitation-accept": PUBLIC,
    "password-reset": PUBLIC,
    "password-reset-request": PUBLIC,
    "password-reset-link": PUBLIC,
    "password-reset-set": PUBLIC,
    "account": EVERYONE,
    "account-sessions": EVERYONE,
    "account-session-end": EVERYONE,
    "account-sessions-end-others": EVERYONE,
    "account-two-factor": EVERYONE,
    "account-two-factor-confirm": EVERYONE,
    "account-two-factor-codes": EVERYONE,
    "account-two-factor-disable": EVERYONE,
    "account-password": EVERYONE,
    "account-password-change": EVERYONE,
    "admin-centers": ADMIN,
    "admin-center-new": ADMIN,
    "admin-center-create": ADMIN,
    "admin-center": ADMIN,
    "admin-center-save": ADMIN,
    "admin-users": ADMIN,
    "admin-user-new": ADMIN,
    "admin-user-invite": ADMIN,
    "admin-user": ADMIN,
    "admin-user-save": ADMIN,
    "admin-user-deactivate": ADMIN,
    "admin-user-reactivate": ADMIN,
    "admin-user-reinvite": ADMIN,
    "admin-user-unlock": ADMIN,
}
