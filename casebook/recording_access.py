"""Who may watch, publish and withdraw a recording: pure rules over facts the caller gathered.

- Admins run the system; they are not clinical readers and never watch recordings.
- Coordinators see every recording of the network.
- A recording's participants (its session's chair, invitees and attendees, or the invitees of a
  room without a session; whoever started it; whoever answered its consent notice) see it.
- Once published to the training library (after someone confirmed it shows no identifying
  patient data) every clinical or trainee reader of the network sees it, lectures and case
  discussions alike. Until then nobody else learns it exists.
- Publishing and withdrawing: a coordinator, or the session's chair (the lecturer of a lecture);
  for a room without a session, whoever started the recording. Trainees and referrers only watch.
- Only finished recordings (complete or interrupted) are watched or published; a deleted one
  has no files left to show.
"""

from __future__ import annotations

from dataclasses import dataclass

from casebook.access import Person
from casebook.models import RecordingStatus, Role

READER_ROLES: frozenset[Role] = frozenset(Role) - {Role.ADMIN}
PUBLISHER_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER})
WATCHABLE: frozenset[RecordingStatus] = frozenset(
    {RecordingStatus.COMPLETE, RecordingStatus.INTERRUPTED}
)


@dataclass(frozen=True)
class RecordingFacts:
    """What access decisions about one recording depend on."""

    status: RecordingStatus
    published: bool
    participants: frozenset[str]
    # The chair of its session, or (no session) whoever started it.
    owner_user_id: str | None


def can_watch(viewer: Person, facts: RecordingFacts) -> bool:
    """True if the viewer may see the recording listed, open it and play it."""
    if viewer.role not in READER_ROLES or facts.status not in WATCHABLE:
        return False
    if viewer.role is Role.COORDINATOR or facts.published:
        return True
    return viewer.user_id in facts.participants


def can_publish(viewer: Person, facts: RecordingFacts) -> bool:
    """True if the viewer may publish the recording to the training library (or withdraw it)."""
    if not can_watch(viewer, facts) or viewer.role not in PUBLISHER_ROLES:
        return False
    return viewer.role is Role.COORDINATOR or viewer.user_id == facts.owner_user_id
