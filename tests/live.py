"""`LiveServer`: the whole Junta app on a real port, in a background thread with its own loop.

For tests that drive the product from outside (Playwright's sync API, socket.io clients):

    server = LiveServer(tmp_path, reconnect_grace=2.0).start()
    try:
        page.goto(server.url + "/login")
        server.run(some_coroutine())          # runs on the server's loop, returns its result
        server.app[CALL_NAMESPACE]            # the live app's objects
    finally:
        server.stop()

It uses SQLite in `workdir` with the demo network loaded (or `database_url=` a prepared one);
`start()` returns once `/healthz` answers; `stop()` closes connections and the loop cleanly.
The `live_server` fixture in tests/conftest.py wraps it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import urllib.request
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from casebook import accounts
from casebook.secret_box import SecretBox
from web.app.factory import create_app
from web.app.keys import SESSIONS
from web.app.settings import Settings
from web.http.auth import SESSION_COOKIE

T = TypeVar("T")

TEST_SECRET = b"junta-test-secret-0123456789abcdef0123456789"


def test_box() -> SecretBox:
    """The box the tests' app seals second-factor secrets in (its fixed secret key)."""
    return SecretBox(TEST_SECRET)


test_box.__test__ = False  # type: ignore[attr-defined]


def test_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests: a fixed secret and cheap Argon2 (tests hash many passwords)."""
    base = Settings(
        secret_key=TEST_SECRET,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )
    return dataclasses.replace(base, **overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


class LiveServer:
    """The Junta app served on 127.0.0.1 at a free port from a background thread."""

    def __init__(
        self,
        workdir: Path,
        *,
        reconnect_grace: float = 2.0,
        database_url: str | None = None,
        demo: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        netns: str | None = None,
        **settings_overrides: Any,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        url = database_url or f"sqlite+aiosqlite:///{workdir / 'junta.db'}"
        self.settings = test_settings(
            url,
            reconnect_grace=reconnect_grace,
            recordings_dir=workdir / "recordings",
            storage_dir=workdir / "storage",
            **settings_overrides,
        )
        self._demo = demo
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._app: web.Application | None = None
        self.host = host
        self.port = port
        # A network namespace (tests.network) the server's thread enters before it opens any
        # socket: the site, the media node's ICE candidates and its health check live there.
        self.netns = netns

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:41234."""
        return f"http://{self.host}:{self.port}"

    @property
    def app(self) -> web.Application:
        """The running aiohttp application (touch its objects only through `run`)."""
        if self._app is None:
            raise RuntimeError("LiveServer is not started")
        return self._app

    def start(self, timeout: float = 30.0) -> LiveServer:
        """Start serving; returns once /healthz answers."""
        started: Future[None] = Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve, args=(started,), name="junta-live-server", daemon=True
        )
        self._thread.start()
        started.result(timeout)
        if self.netns is None:
            self._wait_healthy(timeout)
        else:
            self._wait_healthy_in_namespace(timeout)
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run `coro` on the server's event loop and return its result."""
        if self._loop is None:
            raise RuntimeError("LiveServer is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def session_cookie(self, email: str) -> dict[str, str]:
        """A signed-in session for a user, as a Playwright cookie (skips the sign-in form)."""

        async def create() -> str:
            async with self.app[SESSIONS]() as db:
                user = await accounts.find_user_by_email(db, email)
                if user is None:
                    raise LookupError(f"no user {email}")
                token, _ = await accounts.start_session(db, user, ip="127.0.0.1", user_agent="test")
                await db.commit()
                return token

        return {"name": SESSION_COOKIE, "value": self.run(create()), "url": self.url}

    def stop(self) -> None:
        """Stop serving, close connections, end the thread and its loop. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(30)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        if not loop.is_running():
            loop.close()
        self._loop = self._thread = None
        self._runner = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, started: Future[None]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            if self.netns is not None:
                from tests.network.netns import enter_namespace

                enter_namespace(self.netns)
            self._loop.run_until_complete(self._startup())
        except BaseException as error:
            started.set_exception(error)
            return
        started.set_result(None)
        self._loop.run_forever()

    async def _startup(self) -> None:
        self._app = create_app(self.settings, demo=self._demo)
        self._runner = web.AppRunner(self._app, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def _wait_healthy_in_namespace(self, timeout: float) -> None:
        """`_wait_healthy` from a thread inside the server's namespace (the test's own thread
        may have no route to it)."""
        from tests.network.netns import enter_namespace

        done: Future[None] = Future()

        def check() -> None:
            try:
                enter_namespace(str(self.netns))
                self._wait_healthy(timeout)
                done.set_result(None)
            except BaseException as error:
                done.set_exception(error)

        threading.Thread(target=check, name="junta-live-health", daemon=True).start()
        done.result(timeout + 5)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"Junta did not answer /healthz at {self.url}")
            time.sleep(0.05)
