"""Issue 20: an upload does not hold a pooled database connection while its bytes come in, so a
few slow uploads cannot take every connection of the pool from everyone else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestClient

from casebook import demo
from tests.web.api_helpers import NEW_CASE, PDF, Login, sign_in
from web.app.keys import ENGINE, FILE_STORE

BOUNDARY = "junta-test-boundary"
PDF_HEAD, PDF_REST = PDF[:9], PDF[9:]  # "%PDF-1.7\n", then the body and its trailer


async def test_an_upload_holds_no_pooled_connection_while_its_bytes_come_in(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    code = (await referrer.ok("POST", "/api/cases", NEW_CASE, status=201))["code"]
    pool = web_client.app[ENGINE].sync_engine.pool
    store = web_client.app[FILE_STORE]
    go_on = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode() + PDF_HEAD
        yield b"%" * 65536 + b"\n"  # a PDF comment, as filler
        await go_on.wait()  # the client pauses mid-file, as a slow link would
        yield PDF_REST + f"\r\n--{BOUNDARY}--\r\n".encode()

    sending = asyncio.create_task(web_client.post(
        f"/api/cases/{code}/attachments",
        data=slow_body(),
        headers={"X-CSRF-Token": referrer.csrf,
                 "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    ))
    try:
        # The store is receiving the file once its temporary file exists.
        deadline = time.monotonic() + 10
        while not any(store.temp_dir.glob("upload-*")):
            assert time.monotonic() < deadline, "the upload never reached the file store"
            await asyncio.sleep(0.02)
        assert pool.checkedout() == 0
    finally:
        go_on.set()
    reply = await sending
    assert reply.status == 201, await reply.text()
    listed = await referrer.ok("GET", f"/api/cases/{code}")
    assert [a["filename"] for a in listed["attachments"]] == ["f.pdf"]
