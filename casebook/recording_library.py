"""The recordings library: who may watch a recording (and publish it to the training library),
searching it, opening a recording to play it (audited), and publishing or withdrawing.

Who may watch or publish is decided by `casebook.recording_access`; `_watchable_clause` is the
same rule as a query, for listing (a test checks the two agree for every demo user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from casebook import recordings
from casebook.cases import Caller
from casebook.clock import as_utc, utcnow
from casebook.models import (
    Attendance,
    Recording,
    RecordingConsent,
    RecordingKind,
    RecordingStatus,
    RecordingTrack,
    ReviewSession,
    Role,
    RoomInvite,
    SessionInvitee,
)
from casebook.recording_access import WATCHABLE, RecordingFacts, can_publish, can_watch
from casebook.recording_files import RecordingFiles
from casebook.recordings import RecordingError, RecordingNotFound

PAGE_SIZE = 20
# The statement a publisher confirms, stored with the recording in the words they were shown.
PUBLISH_STATEMENT = (
    "I confirm that this recording shows no identifying patient data: no names, faces, record "
    "numbers, CURP or images that identify a patient."
)


# ---------------------------------------------------------------- who sees what


async def participants_of(session: AsyncSession, recording: Recording) -> frozenset[str]:
    """Everyone who took part: the session's chair, invitees and attendees (no session: the
    room's invitees), whoever started the recording and whoever answered its consent notice."""
    people = {recording.started_by_user_id}
    if recording.session_id is not None:
        review = await session.get(ReviewSession, recording.session_id)
        if review is not None:
            people.add(review.chair_user_id)
        people.update(
            (
                await session.scalars(
                    select(SessionInvitee.user_id).where(
                        SessionInvitee.session_id == recording.session_id
                    )
                )
            ).all()
        )
        people.update(
            (
                await session.scalars(
                    select(Attendance.user_id).where(Attendance.session_id == recording.session_id)
                )
            ).all()
        )
    else:
        people.update(
            (
                await session.scalars(
                    select(RoomInvite.user_id).where(RoomInvite.room_id == recording.room_id)
                )
            ).all()
        )
    people.update(
        u
        for u in (
            await session.scalars(
                select(RecordingConsent.user_id).where(
                    RecordingConsent.recording_id == recording.id
                )
            )
        ).all()
        if u
    )
    return frozenset(people)


async def facts_of(session: AsyncSession, recording: Recording) -> RecordingFacts:
    """The access rules' view of a recording."""
    owner = recording.started_by_user_id
    if recording.session_id is not None:
        review = await session.get(ReviewSession, recording.session_id)
        owner = review.chair_user_id if review is not None else owner
    return RecordingFacts(
        status=RecordingStatus(recording.status),
        published=recording.published_at is not None,
        participants=await participants_of(session, recording),
        owner_user_id=owner,
    )


def _watchable_clause(caller: Caller) -> ColumnElement[bool]:
    """`recording_access.can_watch` as a WHERE clause, for listing (keep the two in step)."""
    finished = Recording.status.in_([s.value for s in WATCHABLE])
    if caller.role is Role.ADMIN:
        return false()
    if caller.role is Role.COORDINATOR:
        return finished
    me = caller.user_id
    took_part = or_(
        Recording.started_by_user_id == me,
        Recording.session_id.in_(
            select(ReviewSession.id).where(ReviewSession.chair_user_id == me)
        ),
        Recording.session_id.in_(
            select(SessionInvitee.session_id).where(SessionInvitee.user_id == me)
        ),
        Recording.session_id.in_(select(Attendance.session_id).where(Attendance.user_id == me)),
        and_(
            Recording.session_id.is_(None),
            Recording.room_id.in_(select(RoomInvite.room_id).where(RoomInvite.user_id == me)),
        ),
        Recording.id.in_(
            select(RecordingConsent.recording_id).where(RecordingConsent.user_id == me)
        ),
    )
    return and_(finished, or_(Recording.published_at.is_not(None), took_part))


async def find_watchable(session: AsyncSession, caller: Caller, recording_id: str) -> Recording:
    """The recording if the caller may watch it; `RecordingNotFound` otherwise (no leak)."""
    recording = await session.get(Recording, recording_id[:128])
    if recording is None or not can_watch(caller.person, await facts_of(session, recording)):
        raise RecordingNotFound()
    return recording


async def may_publish(session: AsyncSession, caller: Caller, recording: Recording) -> bool:
    """Whether the caller may publish (or withdraw) this recording."""
    return can_publish(caller.person, await facts_of(session, recording))


# ---------------------------------------------------------------- the library


@dataclass(frozen=True)
class LibraryQuery:
    """What the library is asked for: free text, kind, session, days (inclusive), topic."""

    text: str | None = None
    kind: RecordingKind | None = None
    session_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    topic: str | None = None
    page: int = 1
    # Whose calendar days `date_from` and `date_to` are (the network's, for people).
    timezone: tzinfo = UTC


@dataclass(frozen=True)
class LibraryPage:
    """One page of the library, newest first."""

    recordings: list[Recording]
    total: int
    page: int
    pages: int


def _contains(column: InstrumentedAttribute[Any], text: str) -> ColumnElement[bool]:
    return func.lower(column).contains(text.lower(), autoescape=True)


async def library(session: AsyncSession, caller: Caller, query: LibraryQuery) -> LibraryPage:
    """The recordings the caller may watch that match the query, a page at a time."""
    conditions: list[ColumnElement[bool]] = [_watchable_clause(caller)]
    if query.text:
        conditions.append(
            or_(_contains(Recording.title, query.text), _contains(Recording.topic, query.text))
        )
    if query.topic:
        conditions.append(_contains(Recording.topic, query.topic))
    if query.kind is not None:
        conditions.append(Recording.kind == query.kind.value)
    if query.session_id is not None:
        conditions.append(Recording.session_id == query.session_id)
    if query.date_from is not None:
        conditions.append(Recording.started_at >= _midnight(query.date_from, query.timezone))
    if query.date_to is not None:
        day_after = query.date_to + timedelta(days=1)
        conditions.append(Recording.started_at < _midnight(day_after, query.timezone))
    where = and_(true(), *conditions)
    total = await session.scalar(select(func.count()).select_from(Recording).where(where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    rows = await session.scalars(
        select(Recording)
        .where(where)
        .order_by(Recording.started_at.desc(), Recording.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return LibraryPage(list(rows.all()), total, page, pages)


def _midnight(day: date, timezone: tzinfo) -> datetime:
    return as_utc(datetime.combine(day, time(), tzinfo=timezone))


async def open_playback(
    session: AsyncSession, caller: Caller, recording_id: str
) -> tuple[Recording, list[RecordingTrack]]:
    """Open a recording to play it: authorized, and audited once (`recording.played`)."""
    recording = await find_watchable(session, caller, recording_id)
    tracks = await recordings.tracks_of(session, recording.id)
    await recordings.record_event(
        session, "recording.played", recording, actor=caller.user_id, ip=caller.ip,
        tracks=len(tracks),
    )
    return recording, tracks


async def read(session: AsyncSession, caller: Caller, recording_id: str) -> Recording:
    """`find_watchable`, audited (`recording.read`): the API's view of one recording."""
    recording = await find_watchable(session, caller, recording_id)
    await recordings.record_event(
        session, "recording.read", recording, actor=caller.user_id, ip=caller.ip
    )
    return recording


def starts_download(byte_range: str | None) -> bool:
    """Whether a request for a track's file starts reading it: no Range, or one from byte 0.

    A player asks for many ranges while it plays and seeks (and may look at the end of the file
    first); those continue a download already audited, so only a read from the start counts.
    """
    if byte_range is None:
        return True
    unit, _, ranges = byte_range.partition("=")
    first = ranges.split(",", 1)[0].strip()
    return unit.strip().lower() != "bytes" or first.split("-", 1)[0].strip() == "0"


async def track_file(
    session: AsyncSession,
    caller: Caller,
    files: RecordingFiles,
    recording_id: str,
    track_row_id: int,
    *,
    byte_range: str | None = None,
) -> tuple[RecordingTrack, Path]:
    """A track's file for streaming, behind the same authorization as the recording; a request
    that starts reading it (`starts_download`) is audited (`recording.downloaded`)."""
    recording = await find_watchable(session, caller, recording_id)
    track = await session.get(RecordingTrack, track_row_id)
    if track is None or track.recording_id != recording.id:
        raise RecordingNotFound()
    path = files.directory(recording.id) / track.file
    if track.file in ("", ".", "..") or "/" in track.file or not path.is_file():
        raise RecordingNotFound()
    if starts_download(byte_range):
        await recordings.record_event(
            session, "recording.downloaded", recording, actor=caller.user_id, ip=caller.ip,
            track=track.id,
        )
    return track, path


# ---------------------------------------------------------------- publishing


async def publish(
    session: AsyncSession,
    caller: Caller,
    recording: Recording,
    *,
    confirmed: bool,
    statement: str,
    topic: str | None = None,
) -> Recording:
    """Publish to the training library; needs the confirmation that no patient is identifiable."""
    if not await may_publish(session, caller, recording):
        raise RecordingError(
            "not_allowed", "only a coordinator or the session's chair publishes a recording"
        )
    if not confirmed:
        raise RecordingError(
            "confirmation_required",
            "confirm that the recording shows no identifying patient data",
        )
    if topic is not None:
        recording.topic = topic.strip()[:200] or None
    recording.published_at = utcnow()
    recording.published_by_user_id = caller.user_id
    recording.publish_statement = statement
    await session.flush()
    await recordings.record_event(
        session, "recording.published", recording, actor=caller.user_id, ip=caller.ip,
        confirmed=True,
    )
    return recording


async def withdraw(session: AsyncSession, caller: Caller, recording: Recording) -> Recording:
    """Take a recording out of the training library (participants and coordinators keep it)."""
    if not await may_publish(session, caller, recording):
        raise RecordingError(
            "not_allowed", "only a coordinator or the session's chair withdraws a recording"
        )
    if recording.published_at is not None:
        recording.published_at = None
        recording.published_by_user_id = None
        recording.publish_statement = None
        await session.flush()
        await recordings.record_event(
            session, "recording.withdrawn", recording, actor=caller.user_id, ip=caller.ip
        )
    return recording
