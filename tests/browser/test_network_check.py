"""The network check page on this machine (issue 22.5): Debian's coturn on loopback with the
shipped deploy/turnserver.conf, and Junta handing out its STUN and TURN URIs. Chromium reaches
coturn over UDP and TCP; a TURN-over-TLS URI pointing at a port where nothing listens stands
for a path the network blocks. The verdict is that direct media works, in Spanish and English;
the verdict rules themselves are checked on the page's module for every combination."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.calls import Person, new_person
from tests.live import LiveServer
from tests.services import free_port
from tests.test_turnserver import SECRET, turnserver

__all__ = ["turnserver"]

pytestmark = pytest.mark.browser


@pytest.fixture
def check_server(tmp_path: Path, turnserver: int, demo_templates: Any) -> Iterator[LiveServer]:
    """Junta handing out tests/test_turnserver.py's coturn (UDP and TCP on one port) and a TLS
    URI where nothing listens."""
    path = tmp_path / "call.db"
    shutil.copyfile(demo_templates.sqlite(), path)
    closed = free_port()  # nothing listens: the blocked TLS path
    server = LiveServer(
        tmp_path / "live", database_url=f"sqlite+aiosqlite:///{path}",
        stun_urls=(f"stun:127.0.0.1:{turnserver}",),
        turn_urls=(f"turn:127.0.0.1:{turnserver}?transport=udp",
                   f"turn:127.0.0.1:{turnserver}?transport=tcp",
                   f"turns:127.0.0.1:{closed}?transport=tcp"),
        turn_secret=SECRET,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def visitor(browser: Any, people: list[Person], locale: str) -> Person:
    """Someone of a hospital's IT on one of its PCs: not signed in, no camera needed."""
    person = new_person(browser, "it@hospital.example", locale=locale, media=False)
    people.append(person)
    return person


def results(page: Any) -> dict[str, str]:
    """Each path's result cell, by path kind, once none is still checking."""
    page.wait_for_function(
        "() => document.querySelectorAll('#netcheck-rows td[data-state]').length > 0 &&"
        " !document.querySelector('#netcheck-rows td[data-state=checking]')",
        timeout=30_000,
    )
    rows = page.locator("#netcheck-rows tr")
    return {
        rows.nth(i).get_attribute("data-kind"): rows.nth(i).locator("td").nth(2).get_attribute(
            "data-state")
        for i in range(rows.count())
    }


@pytest.mark.parametrize(
    ("locale", "verdict", "works", "blocked"),
    [
        ("es-MX", "Su red permite audio y video directos", "Funciona", "Bloqueado"),
        ("en-US", "Your network allows direct media", "Works", "Blocked"),
    ],
)
def test_the_check_finds_the_paths_coturn_offers_on_this_machine(
    check_server: LiveServer, browser: Any, people: list[Person],
    locale: str, verdict: str, works: str, blocked: str,
) -> None:
    page = visitor(browser, people, locale).page
    page.goto(check_server.url + "/network-check")
    found = results(page)
    assert found == {"stun": "works", "turn-udp": "works", "turn-tcp": "works",
                     "turn-tls": "blocked"}, found
    status = page.locator("#netcheck-verdict")
    assert status.get_attribute("role") == "status"
    assert status.get_attribute("data-verdict") == "direct"
    assert status.inner_text().startswith(verdict)
    cells = page.locator("#netcheck-rows td[data-state]")
    assert {cells.nth(i).inner_text() for i in range(cells.count())} == {works, blocked}
    assert page.locator("#netcheck-allow li").count() == 3  # UDP and TCP to coturn, TLS


def test_the_verdict_for_each_combination_of_paths(
    check_server: LiveServer, browser: Any, people: list[Person]
) -> None:
    page = visitor(browser, people, "es-MX").page
    page.goto(check_server.url + "/privacy")
    found = page.evaluate("""async () => {
      const v = await import("/static/js/netcheck/verdict.js");
      const r = (...pairs) => pairs.map(([kind, ok]) => ({ kind, ok }));
      return {
        none: v.verdict([]),
        stunOnly: v.verdict(r(["stun", true], ["turn-udp", false])),
        udp: v.verdict(r(["stun", false], ["turn-udp", true], ["turn-tcp", true])),
        tcp: v.verdict(r(["stun", false], ["turn-udp", false], ["turn-tcp", true],
                         ["turn-tls", true])),
        tls: v.verdict(r(["stun", false], ["turn-udp", false], ["turn-tcp", false],
                         ["turn-tls", true])),
        blocked: v.verdict(r(["stun", false], ["turn-udp", false], ["turn-tls", false])),
        paths: v.pathsOf([{ urls: ["stun:a.example:3478"] },
                          { urls: ["turn:a.example?transport=tcp", "turns:a.example:443",
                                   "turn:[2001:db8::1]:3478", "https://nope"],
                            username: "u", credential: "c" }]).map(
          (p) => [p.kind, p.host, p.port, p.username]),
      };
    }""")
    assert found["none"] == "unconfigured"
    assert found["stunOnly"] == "direct" and found["udp"] == "direct"
    assert found["tcp"] == "tcp" and found["tls"] == "tls" and found["blocked"] == "blocked"
    assert found["paths"] == [
        ["stun", "a.example", 3478, None],
        ["turn-tcp", "a.example", 3478, "u"],
        ["turn-tls", "a.example", 443, "u"],
        ["turn-udp", "[2001:db8::1]", 3478, "u"],
    ]
