"""Liveness (`/healthz`), readiness (`/readyz`) and metrics (`/metrics`).

`/readyz` answers 200 only when this process can do its work: the database answers a query and,
when several processes share calls, Redis answers a ping. Otherwise 503 with the reason per
dependency, so a load balancer stops sending people here and an operator sees why. Neither
endpoint needs a session; nginx does not expose them outside (deploy/nginx.conf).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import text

from web.app.keys import ENGINE, SCALE_OUT
from web.http.metrics import metrics
from web.http.routes import Route

CHECK_TIMEOUT = 2.0


async def _check(probe: Callable[[], Awaitable[object]]) -> str:
    """"ok", or why the dependency cannot be used (the exception's type, never its text)."""
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
    except TimeoutError:
        return f"unreachable: no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when the database (and Redis, if configured) answer; else 503."""
    engine = request.app[ENGINE]

    async def database() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    checks = {"database": await _check(database)}
    scale_out = request.app.get(SCALE_OUT)
    checks["redis"] = await _check(scale_out.ping) if scale_out is not None else "not_configured"
    ready = all(result in ("ok", "not_configured") for result in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


class Liveness(BaseModel):
    """The answer of `/healthz`."""

    status: Literal["ok"]


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves requests."""
    return web.json_response({"status": "ok"})


def routes() -> list[Route]:
    """`/healthz`, `/readyz` and `/metrics`: public, they hold no one's data."""
    return [
        Route(
            "GET", "/healthz", healthz, name="healthz",
            summary="Liveness", description="The process serves requests.",
            roles=None, response=Liveness, tag="meta",
        ),
        Route(
            "GET", "/readyz", readyz, name="readyz", summary="Readiness",
            description="200 when the database (and Redis, if configured) answer; else 503 with "
            "the reason per dependency.", roles=None, tag="meta",
        ),
        Route(
            "GET", "/metrics", metrics, name="metrics", summary="Metrics",
            description="This process's gauges and counters in the Prometheus text format.",
            roles=None, tag="meta",
        ),
    ]
