"""Two Chromium pages in one P2P call through two `junta serve` processes over Redis; the process
of one page is killed (SIGKILL): that page reconnects to the other process by itself within
5 s, its media never stops, and no one is left listed twice or as a ghost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.browser.calls import (
    CONSULTATION,
    LARAZA,
    MERIDA,
    assert_frames_flow,
    go_to_prejoin,
    join,
    sign_in,
    wait_connected,
    wait_until,
)
from tests.browser.test_call_reconnect import room_events_about
from tests.faults.servers import FailoverProxy, JuntaServe, RedisServer

pytestmark = pytest.mark.browser


class ProxyThread:
    """The failover proxy (what nginx does) on an event loop of its own, for sync Playwright."""

    def __init__(self, backends: list[int]) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = asyncio.run_coroutine_threadsafe(
            FailoverProxy(backends).start(), self.loop
        ).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[JuntaServe, JuntaServe]]:
    redis = RedisServer(tmp_path).start()
    env = {"JUNTA_REDIS_URL": redis.url, "JUNTA_REDIS_PREFIX": "faults:"}
    first = JuntaServe(tmp_path, "serve-a", **env)
    second = JuntaServe(tmp_path, "serve-b", **env)
    try:
        first.start("--demo")
        second.start()
        yield first, second
    finally:
        first.stop()
        second.stop()
        redis.stop()


def test_a_page_whose_process_dies_moves_to_the_other_and_media_never_stops(
    cluster: tuple[JuntaServe, JuntaServe], browser: Any
) -> None:
    first, second = cluster
    proxy = ProxyThread([first.port, second.port])
    try:
        through_proxy = SimpleNamespace(url=proxy.proxy.url)  # reaches process A while it lives
        a = sign_in(browser, through_proxy, LARAZA)  # type: ignore[arg-type]
        b = sign_in(browser, SimpleNamespace(url=second.url), MERIDA)  # type: ignore[arg-type]
        for person, server in ((a, through_proxy), (b, SimpleNamespace(url=second.url))):
            go_to_prejoin(person, server, CONSULTATION)  # type: ignore[arg-type]
            join(person)
        wait_connected(a, b)
        a_id, b_id = a.peer_id, b.peer_id
        assert_frames_flow(b, a_id)
        before = b.frames_decoded(a_id)

        first.kill()
        killed = time.monotonic()
        wait_until(lambda: a.state()["joinCount"] >= 2 and a.state()["signaling"] == "joined",
                   timeout=5, what="page A to rejoin through process B")
        assert time.monotonic() - killed < 5
        # The P2P media never went through the dead process: it kept flowing all along.
        assert b.frames_decoded(a_id) > before
        assert_frames_flow(b, a_id)
        assert_frames_flow(a, b_id)
        # Once process B has found A dead (liveness TTL 10 s + a poll), its reaping of A's old
        # socket changes nothing: B never saw A leave or arrive again.
        time.sleep(max(0.0, 12.5 - (time.monotonic() - killed)))
        assert room_events_about(b, a_id) == []
        # One participant each, connected: no ghost of A's old socket in any list.
        for me, mine, other in ((a, a_id, b_id), (b, b_id, a_id)):
            peers = me.page.evaluate(
                "() => [...window.junta.peers.values()].map(p => [p.peer_id, p.connected])"
            )
            assert [p for p in peers if p[0] != mine] == [[other, True]], (me.email, peers)
    finally:
        proxy.close()
