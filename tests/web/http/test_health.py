"""Readiness, metrics and logs: what operators and load balancers see of a process."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from casebook import demo
from casebook.db import create_engine
from signaling.grace import RedisGraces
from signaling.roomstate_redis import RedisRoomState
from tests.conftest import ClientFactory
from tests.services import REDIS_URL, free_port, port_open, require
from tests.web.api_helpers import NEW_CASE, Login, sign_in
from web.app.keys import CALL_NAMESPACE
from web.app.logging_setup import configure, parse_message
from web.http.db_errors import database_unreachable
from web.http.metrics import Metric, exposition


async def test_ready_when_the_database_answers_and_no_redis_is_configured(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await web_client.get("/readyz")
    assert reply.status == 200
    assert await reply.json() == {
        "status": "ready", "checks": {"database": "ok", "redis": "not_configured"}
    }


async def test_ready_checks_redis_when_processes_share_calls(
    web_client_factory: ClientFactory,
) -> None:
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    client = await web_client_factory(
        redis_url=REDIS_URL, redis_prefix=f"junta-test:{uuid.uuid4().hex}:"
    )
    reply = await client.get("/readyz")
    assert reply.status == 200
    assert (await reply.json())["checks"] == {"database": "ok", "redis": "ok"}
    # With JUNTA_REDIS_URL the calls' rooms and grace deadlines live in Redis.
    namespace = client.app[CALL_NAMESPACE]
    assert isinstance(namespace.state, RedisRoomState)
    assert isinstance(namespace.graces, RedisGraces)


async def test_not_ready_says_why_when_redis_is_unreachable(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    reply = await client.get("/readyz")
    assert reply.status == 503
    body = await reply.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable: ")
    assert (await client.get("/healthz")).status == 200  # alive, just not ready


async def test_metrics_are_prometheus_text_without_a_session(
    web_client: TestClient[Any, Any],
) -> None:
    assert (await web_client.get("/api/cases")).status == 401
    assert (await web_client.get("/no-such-page")).status == 404
    reply = await web_client.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    body = await reply.text()
    lines = body.splitlines()
    assert "junta_connected_clients 0" in lines
    assert 'junta_participants{mode="sfu"} 0' in lines
    assert "# TYPE junta_signal_messages_relayed_total counter" in lines
    assert "junta_slow_readers_disconnected_total 0" in lines
    assert "junta_media_forwarded_streams 0" in lines
    assert 'junta_http_errors_total{code="not_signed_in"} 1' in lines
    assert 'junta_http_errors_total{code="not_found"} 1' in lines
    for line in lines:  # every sample line is `name{labels} number`
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            assert name.startswith("junta_") and float(value) >= 0


def test_exposition_escapes_label_values() -> None:
    metric = Metric("junta_x_total", "counter", "X.").add(3, code='a"b\\c\nd').add(1.5)
    assert exposition([metric]).splitlines() == [
        "# HELP junta_x_total X.",
        "# TYPE junta_x_total counter",
        'junta_x_total{code="a\\"b\\\\c\\nd"} 3',
        "junta_x_total 1.5",
    ]


async def test_an_unreachable_database_is_told_apart_from_other_failures() -> None:
    engine = create_engine(f"postgresql+asyncpg://junta@127.0.0.1:{free_port()}/junta")
    try:
        with pytest.raises(Exception) as refused:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert database_unreachable(refused.value)
    finally:
        await engine.dispose()
    broken = IntegrityError("INSERT ...", {}, ValueError("duplicate key"))
    assert not database_unreachable(broken)
    assert not database_unreachable(ValueError("bad input"))


def test_log_messages_become_fields() -> None:
    assert parse_message("signaling.join room=r1 peer=p admitted=True") == {
        "event": "signaling.join", "room": "r1", "peer": "p", "admitted": "True"
    }
    assert parse_message("serve.started ======== Running on http://x ========") == {
        "event": "serve.started", "message": "======== Running on http://x ========"
    }
    assert parse_message("Cannot receive from redis") == {"message": "Cannot receive from redis"}


@contextmanager
def json_logs() -> Iterator[io.StringIO]:
    """Every record of the block as JSON lines in a buffer; the previous setup restored."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure("json", logging.DEBUG, buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


async def test_logs_of_a_referral_are_json_lines_without_patient_data(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    with json_logs() as logs:
        referrer = await sign_in(web_client, login_as, demo.REFERRER)
        case = await referrer.ok("POST", "/api/cases", NEW_CASE, status=201)
        code = case["code"]
        await referrer.ok("PATCH", f"/api/cases/{code}", {"treatment_so_far": "VAC 6 ciclos"})
        await referrer.ok("POST", f"/api/cases/{code}/submit")
        await referrer.ok("GET", f"/api/cases/{code}")
        # A refused request with patient text in it: the error is logged, its content is not.
        refused = await referrer.call("POST", "/api/cases", {**NEW_CASE, "urgency": "Núñez"})
        assert refused.status == 400
        logging.getLogger("junta.test").exception("test.marker", exc_info=ValueError("Núñez"))
    lines = logs.getvalue().splitlines()
    assert lines, "the flow logged nothing"
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger"} <= entry.keys() for entry in entries)
    assert any(entry.get("event") == "test.marker" for entry in entries)
    everything = logs.getvalue().lower()
    patient = [NEW_CASE[k] for k in ("diagnosis", "stage", "treatment_so_far",
                                     "clinical_question")]
    for value in [*patient, "VAC 6 ciclos", "Núñez", "r.m.s", "Rabdomiosarcoma", "órbita"]:
        assert str(value).lower() not in everything, value


def test_the_log_format_is_text_or_json() -> None:
    from web.app.settings import SettingsError, log_format_from_env

    assert log_format_from_env({}) == "text"
    assert log_format_from_env({"JUNTA_LOG_FORMAT": "json"}) == "json"
    with pytest.raises(SettingsError, match="JUNTA_LOG_FORMAT"):
        log_format_from_env({"JUNTA_LOG_FORMAT": "xml"})
