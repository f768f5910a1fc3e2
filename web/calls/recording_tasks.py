"""What the server does for recordings on its own: at startup, mark the recordings a crash cut
short as interrupted; then, every hour, delete the files of recordings past retention."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from casebook import recordings
from web.app.keys import SESSIONS, SETTINGS
from web.calls.recording_files import recorder_files

log = logging.getLogger("junta.recordings")

PURGE_INTERVAL_SECONDS = 3600.0


async def start(app: web.Application) -> list[asyncio.Task[None]]:
    """Recover interrupted recordings, then start the retention task (cancelled at cleanup)."""
    settings = app[SETTINGS]
    async with app[SESSIONS]() as db:
        marked = await recordings.mark_interrupted(db, recorder_files(settings))
        await db.commit()
    if marked:
        log.warning("recording.marked_interrupted count=%d ids=%s", len(marked), ",".join(marked))
    task = asyncio.create_task(
        recordings.purge_forever(
            app[SESSIONS],
            recorder_files(settings),
            retention_days=settings.recording_retention_days,
            interval=PURGE_INTERVAL_SECONDS,
        ),
        name="junta-recording-retention",
    )
    return [task]
