"""Whatever a client sends, it gets an ack of the documented shape and the namespace lives on."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.errors import ERROR_CODES
from signaling.protocol import EVENT_MODELS
from signaling.server import build_socket_server
from tests.services import free_port

from .conftest import OFFER_SDP, SECRET, Participant, assert_relays

# Every client event the protocol has (so a new one is fuzzed too), and names it must ignore.
EVENTS = [*EVENT_MODELS, "connect", "disconnect", "", "message"]
# Thousands of generated calls, as the security review asks (about a minute).
EXAMPLES = 2000
FUZZER = "0b0e4d1c-3f0a-4c55-9a51-8d2a0f6e7b11"
VICTIM = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
KEYS = ["to", "description", "candidate", "type", "sdp", "audio", "hand", "screen_stream",
        "text", "action", "target", "token", "peer_id", "protocol", "state", "sdpMid", "item",
        "recording_id", "granted", "notice_version", "locale", "page", "leg", "speaking"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


def calls(token: str) -> st.SearchStrategy[tuple[str, Any]]:
    """(event, payload): near-valid payloads for each event, and anything to any event name."""
    meaningful = st.sampled_from([FUZZER, VICTIM, "offer", "answer", "rollback", OFFER_SDP,
                                  "v=0", "mute", "admit", "remove", "lower-hand", 1, True, token])
    anything = meaningful | json_values

    def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        # Three to one for a well-formed value (one_of alone would flatten and weigh branches).
        return st.integers(0, 3).flatmap(lambda pick: valid if pick else anything)

    peer = mostly(st.sampled_from([FUZZER, VICTIM, "00000000-0000-4000-8000-000000000000"]))
    tailored = {
        "join": st.fixed_dictionaries({"token": mostly(st.just(token)), "peer_id": peer,
                                       "protocol": mostly(st.sampled_from([1, 2]))}),
        "signal": st.fixed_dictionaries({"to": peer}, optional={
            "description": st.fixed_dictionaries({
                "type": mostly(st.sampled_from(["offer", "answer", "rollback"])),
                "sdp": mostly(st.sampled_from(["", OFFER_SDP, "v=0\r\n"]))}),
            "candidate": st.none() | st.fixed_dictionaries(
                {"candidate": mostly(st.text(max_size=20))},
                optional={"sdpMid": mostly(st.none() | st.text(max_size=3)),
                          "sdpMLineIndex": mostly(st.none() | st.integers(-1, 3))})}),
        "state": st.fixed_dictionaries({}, optional={
            k: mostly(st.booleans()) for k in ("audio", "video", "screen", "hand")}),
        "chat": st.fixed_dictionaries({"text": mostly(st.text(max_size=50))}),
        "moderate": st.fixed_dictionaries({
            "action": mostly(st.sampled_from(["admit", "refuse", "mute", "remove",
                                              "lower-hand"])),
            "target": peer}),
        "leave": mostly(st.just({})),
    }
    shaped = st.dictionaries(st.sampled_from(KEYS), anything, max_size=4)
    generic = st.one_of(json_values, shaped, st.tuples(json_values, json_values))
    return st.one_of(
        *(st.tuples(st.just(event), payload) for event, payload in tailored.items()),
        st.tuples(st.sampled_from(EVENTS), generic),
    )


def assert_documented(ack: Any) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert set(ack) == {"ok", "error"} and set(ack["error"]) == {"code", "message"}, ack
        assert ack["error"]["code"] in ERROR_CODES - {"internal"}, ack


def test_random_payloads_always_get_a_documented_ack() -> None:
    # Hypothesis drives a sync function, so this test owns its loop; the Runner cancels
    # whatever engine.io leaves pending when it closes.
    runner_loop = asyncio.Runner()
    loop = runner_loop.get_loop()
    start, ticks = time.time(), itertools.count()
    # A clock that moves 50 ms per reading keeps the rate limits out of the way.
    sio, namespace = build_socket_server(secret=SECRET, reconnect_grace=0.2,
                                         clock=lambda: start + next(ticks) * 0.05)
    runner = web.AppRunner(web.Application())
    sio.attach(runner.app)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    fuzzer = Participant(url, "fuzzer", "room-f", moderate=True)
    victim = Participant(url, "victim", "room-f")
    fuzzer.peer_id, victim.peer_id = FUZZER, VICTIM

    async def setup() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        for p in (fuzzer, victim):
            await p.connect()
            assert (await p.join())["ok"]

    loop.run_until_complete(setup())
    try:
        @settings(max_examples=EXAMPLES, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(call=calls(fuzzer.token()))
        def fire(call: tuple[str, Any]) -> None:
            event, payload = call
            ack = loop.run_until_complete(fuzzer.call(event, payload))
            assert_documented(ack)
            if event == "leave" and ack["ok"]:  # back in, so the next example goes deeper
                assert loop.run_until_complete(fuzzer.join())["ok"]

        fire()

        async def still_serves() -> None:
            a = Participant(url, "a", "room-g")
            b = Participant(url, "b", "room-g")
            for p in (a, b):
                await p.connect()
                assert (await p.join())["ok"]
            await assert_relays(a, b)
            for p in (a, b, fuzzer, victim):
                if p.client.connected:
                    await p.client.disconnect()

        loop.run_until_complete(still_serves())
    finally:
        loop.run_until_complete(namespace.shutdown())
        loop.run_until_complete(runner.cleanup())
        runner_loop.close()
