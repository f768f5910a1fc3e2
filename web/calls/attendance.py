"""What happens in calls, written to the audit trail (signaling reports, the casebook records)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook import audit, review_sessions
from signaling.events import CallEvent

log = logging.getLogger("junta.attendance")

# Signaling's event kinds → audit actions.
ACTIONS = {
    "joined": "room.joined",
    "left": "room.left",
    "admitted": "room.admitted",
    "refused": "room.refused",
    "removed": "room.removed",
}


def call_event_recorder(
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[[CallEvent], Awaitable[None]]:
    """The `on_event` callback for signaling: each event becomes one audit record."""

    async def on_event(event: CallEvent) -> None:
        action = ACTIONS.get(event.kind)
        if action is None:
            log.debug("call_event.ignored kind=%s", event.kind)
            return
        try:
            await _record(sessions, event, action, actor=event.user_id)
        except IntegrityError:
            # A token for a user the casebook does not know (e.g. a test bot): keep the event.
            await _record(sessions, event, action, actor=None)
        except Exception:
            # Never let bookkeeping break a call.
            log.exception("call_event.not_recorded kind=%s room=%s", event.kind, event.room)

    return on_event


async def _record(
    sessions: async_sessionmaker[AsyncSession], event: CallEvent, action: str, actor: str | None
) -> None:
    async with sessions() as db:
        await audit.record(
            db,
            action,
            actor_user_id=actor,
            target_type="room",
            target_id=event.room,
            detail={"peer_id": event.peer_id, "user_id": event.user_id},
            at=event.at,
        )
        if actor is not None and event.kind in {"joined", "left"}:
            # Calls of review sessions also fill the session's attendance list.
            await review_sessions.record_call_event(
                db,
                room_id=event.room,
                user_id=actor,
                peer_id=event.peer_id,
                kind=event.kind,
                at=event.at,
            )
        await db.commit()
