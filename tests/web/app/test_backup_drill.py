"""The restore drill (issue 27), on SQLite and PostgreSQL: a network with cases in every state,
attachments, a recording and its audit trail is backed up by `junta backup` while the server
answers requests; the database and the files are destroyed; `junta restore` brings back every
row, file and hash, and a server on the restored data serves the same pages."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from casebook import demo
from casebook.db import create_engine, is_sqlite
from casebook.models import CaseStatus
from tests.conftest import ClientFactory
from tests.web.api_helpers import Login, sign_in
from tests.web.app.backup_network import RECORDING_ID, all_files, all_rows, build_network
from web.app.settings import Settings

_VOLATILE = re.compile(r'(name="csrf-token" content=|nonce=|name="csrf_token" value=)"[^"]*"')


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment a `junta` command needs to act on the deployment of `settings`."""
    return {
        **os.environ,
        "JUNTA_SECRET_KEY": settings.secret_key.decode(),
        "JUNTA_DATABASE_URL": settings.database_url,
        "JUNTA_STORAGE_DIR": str(settings.storage_dir),
        "JUNTA_RECORDINGS_DIR": str(settings.recordings_dir),
    }


async def junta(settings: Settings, *args: str) -> tuple[int, str]:
    """Run `junta ARGS` in its own process; its exit status and everything it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.app.cli", *args, env=cli_env(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def pages(client: TestClient[Any, Any], login_as: Login, codes: list[str]) -> dict[str, Any]:
    """What a coordinator and the recording's chair see: every case, its files, the recording."""
    coordinator = await sign_in(client, login_as, demo.COORDINATOR)
    seen: dict[str, Any] = {}
    for code in codes:
        # A draft is its center's alone: the coordinator gets the same 404 before and after.
        reply = await coordinator.call("GET", f"/api/cases/{code}")
        case = await reply.json()
        seen[f"api {code}"] = (reply.status, case)
        page = await coordinator.call("GET", f"/cases/{code}")
        seen[f"page {code}"] = (page.status, _VOLATILE.sub("", await page.text()))
        for attachment in case.get("attachments", []):
            body = await coordinator.call("GET", attachment["download_url"])
            seen[attachment["download_url"]] = await body.read()
    chair = await sign_in(client, login_as, demo.SPECIALIST_LA_RAZA)
    recording = await chair.ok("GET", f"/api/recordings/{RECORDING_ID}")
    seen["recording"] = recording
    for track in recording["tracks"]:
        media = await chair.call("GET", track["media_url"])
        seen[track["media_url"]] = await media.read()
    return seen


async def destroy(settings: Settings) -> None:
    """Lose the database and every stored file."""
    if is_sqlite(settings.database_url):
        database = Path(settings.database_url.split("///", 1)[1])
        for path in database.parent.glob(database.name + "*"):
            path.unlink()
    else:
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()
    shutil.rmtree(settings.storage_dir)
    shutil.rmtree(settings.recordings_dir)


def _without_touch(rows: dict[str, Any]) -> dict[str, Any]:
    # A request during the backup may move a session's last_seen_at (once a minute): the one
    # column the served requests change in rows that existed before.
    return {
        table: {
            key: tuple(item for item in row if not (table == "user_sessions"
                                                    and item[0] == "last_seen_at"))
            for key, row in by_key.items()
        }
        for table, by_key in rows.items()
    }


async def test_a_backup_taken_while_serving_restores_every_row_file_and_page(
    web_client: TestClient[Any, Any],
    web_client_factory: ClientFactory,
    login_as: Login,
    app_settings: Settings,
    tmp_path: Path,
) -> None:
    codes = await build_network(web_client, login_as)
    statuses = {c["status"] for c in (await _cases(web_client, login_as))}
    assert statuses == {s.value for s in CaseStatus}
    before_pages = await pages(web_client, login_as, codes)
    reader = await sign_in(web_client, login_as, demo.COORDINATOR)  # the load's, below
    visible = next(c["code"] for c in await _cases(web_client, login_as) if c["status"] != "draft")
    before_rows = _without_touch(await all_rows(app_settings.database_url))
    before_files = all_files(app_settings.storage_dir, app_settings.recordings_dir)
    assert len(before_files) == 2 + 3  # two attachments, three recorded tracks

    # Requests keep coming (and writing audit rows) while `junta backup` runs.
    backup_dir = tmp_path / "backups"
    served: list[int] = []
    done = asyncio.Event()

    async def keep_serving() -> None:
        while not done.is_set():
            for path in (f"/api/cases/{visible}", "/api/queue", "/healthz"):
                served.append((await reader.call("GET", path)).status)

    load = asyncio.create_task(keep_serving())
    started = time.monotonic()
    status, output = await junta(app_settings, "backup", str(backup_dir))
    backup_seconds = time.monotonic() - started
    during = len(served)
    done.set()
    await load
    assert status == 0, output
    assert during > 0 and set(served) == {200}, served
    after_rows = _without_touch(await all_rows(app_settings.database_url))
    (archive,) = backup_dir.iterdir()
    status, output = await junta(app_settings, "backup", "--verify", str(archive))
    assert status == 0 and "is whole" in output, output

    await web_client.close()
    await destroy(app_settings)
    started = time.monotonic()
    status, output = await junta(app_settings, "restore", str(archive))
    restore_seconds = time.monotonic() - started
    assert status == 0, output
    print(f"backup {backup_seconds:.1f} s, restore {restore_seconds:.1f} s: {output}")

    restored = _without_touch(await all_rows(app_settings.database_url))
    for table, by_key in before_rows.items():
        for key, row in by_key.items():
            assert restored[table].get(key) == row, (table, key)
    # Rows written while the backup ran are in it or not, whole: the snapshot is one moment.
    for table, by_key in restored.items():
        for key, row in by_key.items():
            assert after_rows[table].get(key) == row, (table, key)
    assert all_files(app_settings.storage_dir, app_settings.recordings_dir) == before_files
    client = await web_client_factory()
    assert await pages(client, login_as, codes) == before_pages


async def _cases(client: TestClient[Any, Any], login_as: Login) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from casebook.models import Case
    from web.app.keys import SESSIONS

    async with client.app[SESSIONS]() as db:
        rows = (await db.execute(select(Case.code, Case.status))).all()
    return [{"code": c, "status": s} for c, s in rows]
