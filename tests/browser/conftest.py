"""Fixtures for the call page's browser tests: one Chromium per session, a fresh server per test.

The call server keeps a disconnected peer for 20 s (the production default), so that a page that
loses its network for a few seconds comes back as the same participant; the suite-wide
`live_server` fixture uses 2 s, too short for that.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.live import LiveServer

if TYPE_CHECKING:
    from tests.browser.calls import OpenPeople
from tests.services import CHROMIUM, CHROMIUM_ARGS, chromium_available, require

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser(playwright_session: Any) -> Iterator[Any]:
    require(chromium_available(), "Chromium")
    chromium = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def call_server(tmp_path: Path, demo_templates: Any) -> Iterator[LiveServer]:
    """The whole app on a fresh copy of the demo database, with a 20 s reconnect grace."""
    path = tmp_path / "call.db"
    shutil.copyfile(demo_templates.sqlite(), path)
    server = LiveServer(
        tmp_path / "live", database_url=f"sqlite+aiosqlite:///{path}", reconnect_grace=20.0
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def people(browser: Any) -> Iterator[list[Any]]:
    """The Persons a test opens: contexts closed afterwards, state shown if the test fails."""
    opened: list[Any] = []
    yield opened
    for person in opened:
        with contextlib.suppress(Exception):  # already closed by the test
            person.context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "people" in getattr(item, "funcargs", {}):
        for person in item.funcargs["people"]:
            report.sections.append((f"call page of {person.email}", person.debug()))


@pytest.fixture
def open_people(browser: Any, people: list[Any]) -> OpenPeople:
    """`open_people(server, *emails)`: each signed in (session cookie) in a browser context of
    their own, in `people` (closed after the test); `init_script` runs in each before its page's
    own scripts."""
    from tests.browser.calls import open_person

    def open_(
        server: LiveServer, *emails: str, locale: str = "es-MX", init_script: str | None = None
    ) -> list[Any]:
        opened = [
            open_person(browser, server, email, locale=locale, init_script=init_script)
            for email in emails
        ]
        people.extend(opened)
        return opened

    return open_


@pytest.fixture
def pair(call_server: LiveServer, open_people: OpenPeople) -> tuple[Any, Any]:
    """La Raza's and Mérida's specialists in the consultation room, connected to each other."""
    from tests.browser.calls import CONSULTATION, LARAZA, MERIDA, enter, wait_connected

    a, b = open_people(call_server, LARAZA, MERIDA)
    enter([a, b], call_server, CONSULTATION)
    wait_connected(a, b)
    return a, b
