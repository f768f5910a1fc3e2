"""The composition root: `create_app(settings)` builds the whole web application from Settings.

Nothing happens at import time; everything a component needs is built here and stored in the
application under typed keys (`web.app.keys`; `SETTINGS` and `CALL_NAMESPACE` are re-exported here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import make_url

from casebook import schema
from casebook.db import create_engine, is_sqlite, session_factory
from casebook.demo import load_demo
from casebook.invitations import invite_token
from casebook.lockout import LockoutPolicy
from casebook.mailer import SmtpMailer
from casebook.messages import Gettext
from casebook.models import RETENTION_INFO_KEY, User
from casebook.notifications import OutboxNotifier
from casebook.outbox import Renderer, run_forever
from casebook.password_reset import reset_token
from casebook.passwords import PasswordPolicy, Passwords
from casebook.secret_box import SecretBox
from casebook.storage import FileStore
from signaling.scaleout import RedisScaleOut
from signaling.server import build_socket_server
from web.api import mount as casebook_api
from web.api import rooms as rooms_api
from web.app.keys import (
    CALL_NAMESPACE,
    ENGINE,
    FILE_STORE,
    I18N,
    LOCKOUT,
    LOGIN_THROTTLE,
    NETWORK_CHECK_LIMIT,
    NOTIFIER,
    PASSWORDS,
    RESET_THROTTLE,
    SCALE_OUT,
    SECRET_BOX,
    SESSIONS,
    SETTINGS,
)
from web.app.settings import Settings
from web.calls import guest_links, network_check, recording_tasks, session_end
from web.calls.attendance import call_event_recorder
from web.calls.media_bridge import MediaBridge, node_ice_servers
from web.calls.media_fleet import MediaFleet
from web.calls.recording_bridge import RecordingBridge
from web.calls.recording_files import recorder_files
from web.http import health
from web.http.auth import session_middleware
from web.http.csrf import csrf_middleware
from web.http.error_replies import HTTP_ERRORS, error_middleware
from web.http.errors import StartupError
from web.http.headers import security_headers_middleware
from web.http.ratelimit import AddressLimit, LoginThrottle
from web.http.refusals import refused_access_middleware
from web.http.routes import Route, register_routes
from web.pages import account as account_pages
from web.pages import admin as admin_pages
from web.pages import mount as casebook_pages
from web.pages import password_reset as password_reset_pages
from web.pages import recordings as recordings_pages
from web.pages import site as site_pages
from web.pages.account import two_factor_gate
from web.render.i18n import I18n

__all__ = ["CALL_NAMESPACE", "SETTINGS", "StartupError", "create_app", "prepare_database"]

log = logging.getLogger("junta.web")

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
MAX_REQUEST_BYTES = 1024 * 1024


def socketio_client_dir(settings: Settings) -> Path:
    """Where the browser's socket.io client is served from (installed by `npm ci`)."""
    dist = settings.node_modules_dir / "socket.io-client" / "dist"
    if not (dist / "socket.io.esm.min.js").is_file():
        raise StartupError(
            f"the browser's socket.io client is missing from {dist}: "
            "run `npm ci` in the repository root (or set JUNTA_NODE_MODULES_DIR)"
        )
    return dist


def create_app(settings: Settings, *, demo: bool = False) -> web.Application:
    """The aiohttp application; on startup it upgrades the schema (and loads demo data)."""
    vendor_dir = socketio_client_dir(settings)
    app = web.Application(
        middlewares=[
            security_headers_middleware,
            error_middleware,
            session_middleware,
            csrf_middleware,
            refused_access_middleware,
            two_factor_gate,
        ],
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[SETTINGS] = settings
    engine = create_engine(settings.database_url)
    app[ENGINE] = engine
    app[SESSIONS] = session_factory(engine)
    # Clinical records are kept at least this long (`casebook.models.security` refuses deletes).
    app[SESSIONS].configure(
        info={RETENTION_INFO_KEY: timedelta(days=365 * settings.retention_years + 1)}
    )
    app[SECRET_BOX] = SecretBox(settings.secret_key)
    app[PASSWORDS] = Passwords(
        PasswordPolicy(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
    )
    app[I18N] = I18n(default_locale=settings.default_locale)
    app[LOCKOUT] = LockoutPolicy(
        threshold=settings.lockout_threshold,
        duration=timedelta(minutes=settings.lockout_minutes),
        address_threshold=settings.lockout_address_threshold,
        # Past what one address may try before its own lock: only many addresses slow the account.
        account_delay_after=2 * settings.lockout_threshold,
    )
    app[LOGIN_THROTTLE] = LoginThrottle(
        per_account_and_address=settings.login_max_failures_per_account,
        account_delay_after=2 * settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
        window=settings.login_window_seconds,
    )
    app[NETWORK_CHECK_LIMIT] = AddressLimit(
        burst=network_check.CHECK_BURST, interval=network_check.CHECK_INTERVAL
    )
    app[RESET_THROTTLE] = LoginThrottle(
        per_account_and_address=settings.login_max_failures_per_account,
        account_delay_after=2 * settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
        window=settings.login_window_seconds,
    )

    # Several `junta serve` share calls through Redis; without it, one process holds them all.
    scale_out = (
        RedisScaleOut(settings.redis_url, prefix=settings.redis_prefix)
        if settings.redis_url else None
    )
    if scale_out is not None:
        app[SCALE_OUT] = scale_out
    # The SFU (rooms of three or more, boards, lectures) runs in this process, or in a separate
    # `junta media` node when one is configured (which records into the shared recordings dir).
    # Or, with JUNTA_MEDIA_FLEET, on whichever registered `junta media` node each room is placed.
    media: MediaBridge | MediaFleet
    if settings.media_fleet and scale_out is not None and settings.media_secret is not None:
        media = MediaFleet(redis=scale_out.client, prefix=settings.redis_prefix,
                           state=scale_out.rooms, secret=settings.media_secret)
    elif settings.media_url is not None and settings.media_secret is not None:
        media = MediaBridge.remote(settings.media_url, settings.media_secret)
    else:
        media = MediaBridge.in_process(
            ice_servers=node_ice_servers(settings), recordings_dir=settings.recordings_dir
        )
    sio, namespace = build_socket_server(
        secret=settings.secret_key,
        reconnect_grace=settings.reconnect_grace,
        on_event=call_event_recorder(app[SESSIONS]),
        client_manager=scale_out.manager if scale_out else None,
        state=scale_out.rooms if scale_out else None,
        graces=scale_out.graces if scale_out else None,
        media=media,
        recording=RecordingBridge(
            sessions=app[SESSIONS], media=media, i18n=app[I18N], files=recorder_files(settings)
        ),
        ice=rooms_api.ice_config(settings),
    )
    sio.attach(app)
    app[CALL_NAMESPACE] = namespace

    app[FILE_STORE] = FileStore(settings.storage_dir, settings.max_attachment_mb * 1024 * 1024)
    # The transactional outbox: services write who must hear of what in the same transaction as
    # the change, and the mailer delivers from the `notifications` table.
    app[NOTIFIER] = OutboxNotifier()
    app[HTTP_ERRORS] = Counter()
    register_routes(app, app_routes())
    # The more specific prefix first: it must win over /static/.
    app.router.add_static("/static/vendor/socket.io/", vendor_dir, name="socketio-client")
    app.router.add_static("/static/", STATIC_DIR, name="static")

    background: list[asyncio.Task[None]] = []

    async def startup(app: web.Application) -> None:
        await prepare_database(settings, demo=demo, passwords=app[PASSWORDS])
        if scale_out is not None:
            scale_out.start(sio)
        await media.start()
        background.extend(start_outbox(app))
        background.extend(await recording_tasks.start(app))
        background.extend(session_end.start(app))

    async def cleanup(app: web.Application) -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await namespace.shutdown()
        if scale_out is not None:
            await scale_out.close()
        await media.close()
        await engine.dispose()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app


def app_routes() -> list[Route]:
    """The route table: every module's routes, in the order the router tries them."""
    return [
        *site_pages.routes(),
        *rooms_api.routes(),
        *health.routes(),
        *guest_links.routes(),
        *network_check.routes(),
        *casebook_api.routes(),
        *casebook_pages.routes(),
        *recordings_pages.routes(),
        *account_pages.routes(),
        *password_reset_pages.routes(),
        *admin_pages.routes(),
    ]


def mail_renderer(settings: Settings, i18n: I18n) -> Renderer:
    """How the outbox words mail: the app's translations, sender and public address."""
    # Without JUNTA_MAIL_FROM (allowed only while mail is off) a placeholder sender.
    name, address = parseaddr(settings.mail_from or "Junta <junta@localhost>")

    def gettext_for(locale: str) -> Gettext:
        return lambda message: i18n.gettext(locale, message)

    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    lifetime = timedelta(hours=settings.invite_hours)

    def invite_url(user: User, issued_at: datetime) -> str:
        token = invite_token(settings.secret_key, user, issued_at, lifetime)
        return f"{public_url.rstrip('/')}/invitation/{token}"

    def reset_url(user: User, issued_at: datetime) -> str:
        token = reset_token(settings.secret_key, user, issued_at)
        return f"{public_url.rstrip('/')}/password-reset/{token}"

    return Renderer(
        gettext_for=gettext_for,
        sender=Address(name or "Junta", addr_spec=address),
        public_url=public_url,
        default_locale=settings.default_locale,
        case_path="/cases/{code}",  # the case's own page (web.pages.cases)
        invite_url=invite_url,
        invite_lifetime=lifetime,
        reset_url=reset_url,
    )


def start_outbox(app: web.Application) -> list[asyncio.Task[None]]:
    """The outbox's background sender, when SMTP is configured; else say mail stays queued."""
    settings = app[SETTINGS]
    if settings.smtp_host is None:
        log.warning(
            "mail.disabled JUNTA_SMTP_HOST is not set: notifications accumulate in the outbox "
            "unsent until it is"
        )
        return []
    render = mail_renderer(settings, app[I18N])
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        render.sender.addr_spec,
        starttls=settings.smtp_starttls,
        implicit_tls=settings.smtp_implicit_tls,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )
    log.info(
        "mail.enabled smtp=%s:%d interval=%.0fs",
        settings.smtp_host, settings.smtp_port, settings.outbox_interval,
    )
    task = asyncio.create_task(
        run_forever(app[SESSIONS], mailer, render, interval=settings.outbox_interval),
        name="junta-outbox",
    )
    return [task]


async def prepare_database(
    settings: Settings, *, demo: bool = False, passwords: Passwords | None = None
) -> None:
    """Create or upgrade the schema, and load the demo network when asked."""
    if is_sqlite(settings.database_url):
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    await schema.upgrade(settings.database_url, secret_key=settings.secret_key)
    log.info("db.upgraded backend=%s", settings.database_url.split(":")[0])
    if demo:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as db:
                await load_demo(db, passwords or Passwords(), SecretBox(settings.secret_key))
                await db.commit()
        finally:
            await engine.dispose()
