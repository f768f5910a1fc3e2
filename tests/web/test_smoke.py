"""The app starts and answers."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


async def test_healthz_answers_ok(web_client: TestClient[Any, Any]) -> None:
    reply = await web_client.get("/healthz")
    assert reply.status == 200
    assert await reply.json() == {"status": "ok"}
