"""Who must hear of what: the `Notifier` services call, and the outbox it writes to.

Services decide *who* (workflow audiences resolved to people, the actor left out) and call
`Notifier.notify` inside their transaction. The shipped notifier is the transactional outbox
(`OutboxNotifier`: one `Notification` row per person, committed with the change it announces);
what people read and how it reaches them is `casebook.messages` and `casebook.mailer`;
`casebook.outbox` drains the outbox after commit (compose, send, set `sent_at`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from casebook.models import Notification


@dataclass(frozen=True)
class Notice:
    """Something `user_ids` must hear of: an event (an audit action) about a case or session."""

    event: str
    user_ids: frozenset[str]
    case_id: int | None = None
    session_id: int | None = None


class Notifier(Protocol):
    """Told of every notice inside the transaction that caused it."""

    async def notify(self, db: AsyncSession, notice: Notice) -> None:
        """Record or deliver `notice`."""


class OutboxNotifier:
    """Puts notices in the outbox (`Notification` rows); a mailer drains it after commit."""

    async def notify(self, db: AsyncSession, notice: Notice) -> None:
        """One outbox row per person, in the caller's transaction (the caller commits)."""
        db.add_all(
            Notification(
                user_id=user_id,
                event=notice.event,
                case_id=notice.case_id,
                session_id=notice.session_id,
            )
            for user_id in sorted(notice.user_ids)
        )


def recipients(people: Iterable[str], actor_user_id: str | None) -> frozenset[str]:
    """The people to tell, less the one who acted (they know)."""
    return frozenset(p for p in people if p != actor_user_id)
