"""Guests leave with their review session (issue 20): once a session's meeting is over (its start
plus its duration) or it is cancelled, the guests still in its call room, in the call or waiting,
are put out at once, told why (`moderated` with `reason: "session_ended"`), and their links are
revoked. Their tokens would otherwise keep them in until the call empties, and the guest pages
already refuse new joins then (`guest_links`).

Every server process sweeps: each few seconds it asks the casebook which sessions ended since its
last sweep and has signaling put their rooms' guests out (room state is shared, so a guest on
another process goes too, and a second sweep finds nobody left). A process that starts looks
back `LOOK_BACK`, so a session that ended while it was down is swept as well.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from aiohttp import web

from casebook import review_sessions
from casebook.clock import utcnow
from web.app.keys import CALL_NAMESPACE, SESSIONS
from web.http.db_errors import database_unreachable

log = logging.getLogger("junta.calls")

SWEEP_SECONDS = 2.0
LOOK_BACK = timedelta(hours=1)
SESSION_ENDED = "session_ended"


async def sweep(app: web.Application, since: datetime, until: datetime) -> int:
    """Put out the guests of the rooms whose session ended in (`since`, `until`]; how many."""
    async with app[SESSIONS]() as db:
        rooms = await review_sessions.rooms_ended_between(db, since, until)
    expelled = 0
    for room in rooms:
        count = await app[CALL_NAMESPACE].end_guest_visits(room, SESSION_ENDED)
        if count:
            log.info("calls.session_ended_guests_out room=%s guests=%d", room, count)
        expelled += count
    return expelled


async def sweep_forever(app: web.Application, *, interval: float = SWEEP_SECONDS) -> None:
    """`sweep` every `interval` seconds, each time from where the last one that worked ended."""
    since = utcnow() - LOOK_BACK
    while True:
        until = utcnow()
        try:
            await sweep(app, since, until)
            since = until
        except Exception as failed:  # the next sweep covers this period again
            if not database_unreachable(failed):
                log.exception("calls.session_end_sweep_failed")
            else:
                log.warning("calls.session_end_sweep_failed error=%s", type(failed).__name__)
        await asyncio.sleep(interval)


def start(app: web.Application) -> list[asyncio.Task[None]]:
    """The sweeping task (cancelled at cleanup)."""
    return [asyncio.create_task(sweep_forever(app), name="junta-session-end")]
