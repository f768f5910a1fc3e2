"""Typed keys of what the app factory stores in the `aiohttp.web.Application` (no globals)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casebook.lockout import LockoutPolicy
from casebook.models import User, UserSession
from casebook.notifications import Notifier
from casebook.passwords import Passwords
from casebook.secret_box import SecretBox
from casebook.storage import FileStore
from signaling.namespace import CallNamespace
from signaling.scaleout import RedisScaleOut
from web.app.settings import Settings
from web.http.ratelimit import AddressLimit, LoginThrottle
from web.render.i18n import I18n

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
PASSWORDS = web.AppKey("passwords", Passwords)
SECRET_BOX = web.AppKey("secret_box", SecretBox)  # seals second-factor secrets
I18N = web.AppKey("i18n", I18n)
LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
# Password reset requests, each counted as a sign-in failure is (its own counts).
RESET_THROTTLE = web.AppKey("reset_throttle", LoginThrottle)
LOCKOUT = web.AppKey("lockout", LockoutPolicy)
# Short-lived TURN credentials of the public network check, per client address.
NETWORK_CHECK_LIMIT = web.AppKey("network_check_limit", AddressLimit)
# The casebook's attachment store and how its services tell people of what happened.
FILE_STORE = web.AppKey("file_store", FileStore)
NOTIFIER = web.AppKey("notifier", Notifier)
# The signaling layer's socket.io namespace (tests reach in, e.g. `drop_peer`).
CALL_NAMESPACE = web.AppKey("call_namespace", CallNamespace)
# Present only with JUNTA_REDIS_URL: the Redis backends shared by several `junta serve`.
SCALE_OUT = web.AppKey("scale_out", RedisScaleOut)

# Per-request storage, filled by the middlewares.
USER = web.RequestKey("user", User)
USER_SESSION = web.RequestKey("user_session", UserSession)
# The case a handler was refused when its code came in the form, not the path (for the audit).
REFUSED_CASE_CODE = web.RequestKey("refused_case_code", str)
CSRF_TOKEN = web.RequestKey("csrf_token", str)
CSRF_COOKIE_NEW = web.RequestKey("csrf_cookie_new", bool)
LOCALE = web.RequestKey("locale", str)
