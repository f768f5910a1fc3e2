"""Fixtures shared by the whole suite (real SQLite and PostgreSQL; nothing of the database mocked).

Databases, each test gets its own:
- `database_url` — an EMPTY fresh database, parametrized over `sqlite` (a temporary file) and
  `postgresql` (a new database on 127.0.0.1:5432, dropped after the test; PostgreSQL missing →
  `tests.services.require`: skipped locally, a failure under CI=true).
- `demo_database_url` — the same two backends with the schema migrated and the demo network
  loaded (cloned from a per-session template, so it costs milliseconds).
- `sessions` — an `async_sessionmaker` on `demo_database_url`, for tests of the casebook's
  services without the web app (its engine disposed after).

Mail:
- `smtp_server` — a started `tests.casebook.mail_server.SmtpServer` (aiosmtpd on 127.0.0.1);
  `.inbox` keeps what it received, `.mailer()` sends to it, `.stop()`/`.start()` an outage.

Application:
- `app_settings` — `Settings` for tests on `demo_database_url` (fixed secret, cheap Argon2).
- `web_client` — an `aiohttp.test_utils.TestClient` over `create_app(app_settings)`; its cookie
  jar keeps the session. `web_client.app` is the application. `web_client_factory(**overrides)`
  makes more (another user at the same time needs another client: one cookie jar each; note
  each factory call builds its own app, on the same database).
- `login_as` — `await login_as(web_client, "especialista.laraza@junta.example")` signs in with
  the demo password and returns the session's CSRF token (for `X-CSRF-Token`).
- `playwright_session` — Playwright's sync API, started once for every browser of the session.
- `live_server` — a started `tests.live.LiveServer` (function-scoped: a fresh SQLite copy of the
  demo database per test, reconnect grace 2 s); `.url`, `.app`, `.run(coro)`,
  `.session_cookie(email)` for Playwright's `context.add_cookies([...])`. Use
  `LiveServer(tmp_path, reconnect_grace=…)` directly for other settings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook.db import create_engine, session_factory
from casebook.demo import DEMO_PASSWORD
from tests.casebook.mail_server import SmtpServer
from tests.live import LiveServer, test_box, test_settings
from tests.services import POSTGRES_URL, network_available, port_open, require
from web.app.factory import create_app
from web.app.settings import Settings

T = TypeVar("T")

BACKENDS = ["sqlite", "postgresql"]
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run browser tests last.

    Playwright's sync API keeps its event loop running in the main thread for as long as a
    session-scoped browser lives; asyncio tests after it would find a running loop and fail.
    """
    browser_dir = Path(__file__).resolve().parent / "browser"

    def is_browser_test(item: pytest.Item) -> bool:
        return item.get_closest_marker("browser") is not None or browser_dir in item.path.parents

    items.sort(key=is_browser_test)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A `network` test needs root and the tools of tests/network: skipped without them on a
    developer machine, failed under CI=true (like PostgreSQL, Redis and Chromium)."""
    if item.get_closest_marker("network") is not None:
        require(network_available(), "root with ip, tc, iptables and turnserver (coturn)")


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Any]:
    """Playwright's sync API, started once: the browsers of tests/browser and tests/network
    are all launched from it (a second sync Playwright in the same thread would fail)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


# ---------------------------------------------------------------- PostgreSQL server helpers


def postgres_available() -> bool:
    url = make_url(POSTGRES_URL)
    return port_open(url.host or "127.0.0.1", url.port or 5432)


def _admin_dsn() -> str:
    url = make_url(POSTGRES_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def postgres_url(database: str) -> str:
    """The SQLAlchemy URL of `database` on the test server."""
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


async def _admin(*statements: str) -> None:
    connection = await asyncpg.connect(_admin_dsn())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def create_postgres_database(template: str | None = None) -> str:
    """A new uniquely named database on the test server; returns its name."""
    name = f"junta_test_{uuid.uuid4().hex[:12]}"
    clause = f" TEMPLATE {template}" if template else ""
    await _admin(f"CREATE DATABASE {name}{clause}")
    return name


async def drop_postgres_database(name: str) -> None:
    """Drop a database made by `create_postgres_database`, closing its connections."""
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# ---------------------------------------------------------------- demo templates (per session)


class _DemoTemplates:
    """A migrated database with the demo network per backend, made once, cloned per test."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite(self) -> Path:
        if self._sqlite is None:
            path = self._folder / "demo-template.db"
            run_sync(_prepare(f"sqlite+aiosqlite:///{path}"))
            self._sqlite = path
        return self._sqlite

    def postgres(self) -> str:
        if self._postgres is None:
            name = run_sync(create_postgres_database())
            run_sync(_prepare(postgres_url(name)))
            self._postgres = name
        return self._postgres

    def close(self) -> None:
        if self._postgres is not None:
            run_sync(drop_postgres_database(self._postgres))


async def _prepare(url: str) -> None:
    from casebook.passwords import PasswordPolicy, Passwords
    from web.app.factory import prepare_database

    settings = test_settings(url)
    passwords = Passwords(PasswordPolicy(time_cost=1, memory_kib=1024, parallelism=1))
    await prepare_database(settings, demo=True, passwords=passwords)


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_DemoTemplates]:
    templates = _DemoTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


# ---------------------------------------------------------------- databases (per test)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each backend (see module docstring)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}"
        return
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    name = await create_postgres_database()
    try:
        yield postgres_url(name)
    finally:
        await drop_postgres_database(name)


@pytest.fixture(params=BACKENDS)
async def demo_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, demo_templates: _DemoTemplates
) -> AsyncIterator[str]:
    """A migrated database with the demo network, of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "junta.db"
        shutil.copyfile(demo_templates.sqlite(), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    template = demo_templates.postgres()
    name = await create_postgres_database(template=template)
    try:
        yield postgres_url(name)
    finally:
        await drop_postgres_database(name)


@pytest.fixture
async def sessions(demo_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Database sessions on the demo database, without the web app."""
    engine = create_engine(demo_database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- mail


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1, stopped after the test."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- the web app


@pytest.fixture
def app_settings(demo_database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app on the demo database."""
    return test_settings(
        demo_database_url,
        recordings_dir=tmp_path / "recordings",
        storage_dir=tmp_path / "storage",
    )


ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def web_client_factory(app_settings: Settings) -> AsyncIterator[ClientFactory]:
    """`await web_client_factory(**settings_overrides)` → a started TestClient (closed after)."""
    clients: list[TestClient[Any, Any]] = []

    async def make(**overrides: Any) -> TestClient[Any, Any]:
        settings = dataclasses.replace(app_settings, **overrides)
        client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings, demo=True)))
        await client.start_server()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


@pytest.fixture
async def web_client(web_client_factory: ClientFactory) -> TestClient[Any, Any]:
    """An HTTP client over the whole app (demo data loaded), keeping cookies like a browser."""
    return await web_client_factory()


async def login(client: TestClient[Any, Any], email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = await client.get("/login")
    token = csrf_from_html(await page.text())
    reply = await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    assert reply.status == 303, f"sign-in as {email} failed with {reply.status}"
    if reply.headers["Location"] == "/login/two-factor":
        await _second_factor(client, email, token)
    dashboard = await client.get("/dashboard")
    assert dashboard.status == 200
    return csrf_from_html(await dashboard.text())


async def _second_factor(client: TestClient[Any, Any], email: str, token: str) -> None:
    """Answer the second sign-in step with the demo's TOTP secret (README).

    A code is accepted once per 30 s step, so signing in again soon uses the next step's code
    (accepted too: ±1 step); waits for a new step only when those are used up. The previous
    step's code is never chosen: it may expire a moment later, before a busy machine posts it.
    """
    code = await fresh_code(client, email)
    reply = await client.post(
        "/login/two-factor", data={"code": code, "csrf_token": token}, allow_redirects=False
    )
    assert reply.status == 303, f"second factor of {email} failed with {reply.status}"


async def fresh_code(client: TestClient[Any, Any], email: str) -> str:
    """A TOTP code of `email`'s second factor that was not used yet (see `_second_factor`)."""
    from casebook import totp, two_factor
    from web.app.keys import SESSIONS

    async with client.app[SESSIONS]() as db:
        user = await _user_by_email(db, email)
        row = await two_factor.enrollment(db, user.id)
        assert row is not None and row.confirmed_at is not None, f"{email} has no second factor"
        last_step, secret = row.last_step, test_box().open(row.secret)
    now = time.time()
    step = max(last_step + 1, totp.step_at(now))
    if step > totp.step_at(now) + totp.WINDOW:
        await asyncio.sleep((step - totp.WINDOW) * totp.STEP_SECONDS - now + 0.1)
    return totp.hotp(totp.key_bytes(secret), step)


async def _user_by_email(db: Any, email: str) -> Any:
    from casebook import accounts

    user = await accounts.find_user_by_email(db, email)
    assert user is not None, f"no user {email}"
    return user


def csrf_from_html(html: str) -> str:
    """The CSRF token of a page (its `<meta name="csrf-token">`)."""
    match = _META_CSRF.search(html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


@pytest.fixture
def login_as() -> Callable[..., Awaitable[str]]:
    """`await login_as(client, email[, password])` → the session's CSRF token."""
    return login


@pytest.fixture
def live_server(
    tmp_path: Path, demo_templates: _DemoTemplates
) -> Iterator[LiveServer]:
    """A started LiveServer on a fresh copy of the demo SQLite database (reconnect grace 2 s)."""
    path = tmp_path / "live.db"
    shutil.copyfile(demo_templates.sqlite(), path)
    server = LiveServer(tmp_path / "live", database_url=f"sqlite+aiosqlite:///{path}")
    server.start()
    try:
        yield server
    finally:
        server.stop()
