"""The LiveServer other suites (browser, socket.io) rely on."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.live import LiveServer
from web.app.factory import CALL_NAMESPACE, SETTINGS


def test_live_server_serves_and_runs_coroutines_on_its_loop(live_server: LiveServer) -> None:
    with urllib.request.urlopen(live_server.url + "/healthz") as reply:
        assert json.load(reply) == {"status": "ok"}

    async def inspect() -> tuple[float, str]:
        namespace = live_server.app[CALL_NAMESPACE]
        return live_server.app[SETTINGS].reconnect_grace, type(namespace).__name__

    assert live_server.run(inspect()) == (2.0, "CallNamespace")


def test_session_cookie_signs_a_browser_in(live_server: LiveServer) -> None:
    cookie = live_server.session_cookie("ponente@junta.example")
    request = urllib.request.Request(
        live_server.url + "/dashboard", headers={"Cookie": f"{cookie['name']}={cookie['value']}"}
    )
    with urllib.request.urlopen(request) as reply:
        html = reply.read().decode()
    assert "Dr. Alejandro Montes de Oca Ruiz" in html
    assert "/rooms/sesion-academica" in html


def test_stop_is_clean_and_idempotent(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, reconnect_grace=0.5).start()
    url = server.url
    server.stop()
    server.stop()
    with pytest.raises(OSError):  # nobody answers once stopped
        urllib.request.urlopen(url + "/healthz", timeout=1)
