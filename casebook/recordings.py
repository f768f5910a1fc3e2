"""Recordings of call rooms, their life: begun, consented to, completed (or interrupted), and
deleted at the end of the retention period.

The recorder writes the files and a manifest (reached through `casebook.recording_files`); the
call layer calls `begin_recording`, `record_consent` and `complete_recording`; the app calls
`mark_interrupted` at startup and `purge_expired` periodically. Who may watch, search and
publish recordings is `casebook.recording_library`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook import audit
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import (
    AgendaItem,
    Case,
    Recording,
    RecordingConsent,
    RecordingKind,
    RecordingStatus,
    RecordingTrack,
    ReviewSession,
    Room,
    RoomKind,
    User,
)
from casebook.recording_access import WATCHABLE
from casebook.recording_files import (
    EmptyManifest,
    RecordedManifest,
    RecordingFiles,
    RecoveryFailed,
)
from casebook.retention import recording_cutoff

log = logging.getLogger("junta.recordings")

class RecordingNotFound(CasebookError):
    """No such recording, or one the caller may not know exists."""

    def __init__(self) -> None:
        super().__init__("not_found", "no such recording")


class RecordingError(CasebookError):
    """A recording operation that does not fit (no confirmation, not finished, not allowed)."""


# ---------------------------------------------------------------- the recording's life


def _recorder_identity() -> tuple[str, int]:
    return socket.gethostname()[:255], os.getpid()


async def begin_recording(
    session: AsyncSession,
    *,
    room_id: str,
    started_by_user_id: str,
    recording_id: str | None = None,
) -> Recording:
    """A new recording of `room_id` (status `recording`), titled after the room's session."""
    room = await session.get(Room, room_id)
    if room is None:
        raise CasebookError("not_found", "no such room")
    review = await session.scalar(select(ReviewSession).where(ReviewSession.room_id == room_id))
    kind = (
        RecordingKind.LECTURE if room.kind == RoomKind.LECTURE.value
        else RecordingKind.CASE_DISCUSSION
    )
    host, pid = _recorder_identity()
    recording = Recording(
        id=recording_id or str(uuid.uuid4()),
        room_id=room_id,
        session_id=review.id if review else None,
        kind=kind.value,
        title=review.title if review else room.title,
        topic=await _topic(session, review.id) if review else None,
        status=RecordingStatus.RECORDING.value,
        started_by_user_id=started_by_user_id,
        started_at=utcnow(),
        size_bytes=0,
        recorder_host=host,
        recorder_pid=pid,
    )
    session.add(recording)
    await session.flush()
    await record_event(session, "recording.started", recording, actor=started_by_user_id)
    return recording


async def _topic(session: AsyncSession, session_id: int) -> str | None:
    """The specialties of the session's agenda (never a diagnosis: that belongs to a case)."""
    query = (
        select(Case.specialty)
        .join(AgendaItem, AgendaItem.case_id == Case.id)
        .where(AgendaItem.session_id == session_id, Case.specialty.is_not(None))
        .order_by(AgendaItem.position)
    )
    specialties = list(dict.fromkeys(s for s in (await session.scalars(query)).all() if s))
    return ", ".join(specialties)[:200] or None


async def record_consent(
    session: AsyncSession,
    recording_id: str,
    *,
    peer_id: str,
    user_id: str | None,
    display_name: str,
    granted: bool,
    notice_text: str,
    notice_version: str,
    locale: str,
) -> None:
    """Store a participant's answer to the recording notice: who, when, what they were told."""
    recording = await session.get(Recording, recording_id)
    if recording is None:
        raise RecordingNotFound()
    # Guests answer too; their grant subject (`guest:…`) names no account, so none is linked.
    account = user_id if user_id and await session.get(User, user_id) is not None else None
    session.add(
        RecordingConsent(
            recording_id=recording_id,
            peer_id=peer_id[:64],
            user_id=account,
            display_name=display_name[:200],
            granted=granted,
            notice_text=notice_text,
            notice_version=notice_version[:32],
            locale=locale[:16],
            at=utcnow(),
        )
    )
    await session.flush()
    await record_event(
        session, "recording.consent", recording, actor=account,
        peer=peer_id, guest=account is None, granted=granted, notice_version=notice_version,
    )


async def complete_recording(
    session: AsyncSession, manifest: RecordedManifest, participants: dict[str, str]
) -> Recording:
    """Store the finished recording's tracks (`participants`: peer id → display name)."""
    recording = await session.get(Recording, manifest.recording_id)
    if recording is None:
        raise RecordingNotFound()
    await _apply_manifest(session, recording, manifest, participants)
    await record_event(
        session, "recording.completed", recording,
        status=recording.status, tracks=len(manifest.tracks), bytes=recording.size_bytes,
    )
    return recording


async def _apply_manifest(
    session: AsyncSession,
    recording: Recording,
    manifest: RecordedManifest,
    participants: Mapping[str, str],
) -> None:
    # Names of people the caller did not list come from their consent answers.
    names = dict(await _consent_names(session, recording.id))
    names.update(participants)
    await session.execute(
        delete(RecordingTrack).where(RecordingTrack.recording_id == recording.id)
    )
    for track in manifest.tracks:
        session.add(
            RecordingTrack(
                recording_id=recording.id,
                track_id=track.track_id[:128],
                publisher_peer_id=track.publisher_id[:64],
                publisher_name=names.get(track.publisher_id, "")[:200],
                kind=track.kind,
                codec=track.codec[:32],
                stream_id=track.stream_id[:128],
                file=track.file,
                start_offset=track.start_offset,
                duration=track.duration,
                frames=track.frames,
                size_bytes=track.size,
                sha256=track.sha256,
            )
        )
    recording.status = (
        RecordingStatus.INTERRUPTED if manifest.interrupted else RecordingStatus.COMPLETE
    ).value
    recording.ended_at = manifest.ended_at
    recording.duration_seconds = max(
        [t.start_offset + t.duration for t in manifest.tracks]
        or [(manifest.ended_at - manifest.started_at).total_seconds()]
    )
    recording.size_bytes = sum(t.size for t in manifest.tracks)
    await session.flush()


async def _consent_names(session: AsyncSession, recording_id: str) -> list[tuple[str, str]]:
    query = select(RecordingConsent.peer_id, RecordingConsent.display_name).where(
        RecordingConsent.recording_id == recording_id
    )
    return [(peer, name) for peer, name in (await session.execute(query)).all()]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _orphaned(recording: Recording) -> bool:
    """True if the process that was making the recording is gone (it cannot be resumed)."""
    host, pid = _recorder_identity()
    if recording.recorder_host is None or recording.recorder_pid is None:
        return True
    if recording.recorder_host != host:
        # Another machine's recorder: only that machine knows whether it still runs.
        return False
    # Our own pid: an earlier process with the same number (a restarted container) died.
    return recording.recorder_pid == pid or not _process_alive(recording.recorder_pid)


async def mark_interrupted(session: AsyncSession, files: RecordingFiles) -> list[str]:
    """At startup: recordings whose recorder died are finished from what their files hold.

    `files.recover` puts the files together (`interrupted`). A recording whose recorder
    had finished and written its manifest, but whose completion never reached the database,
    is completed as it is. Recordings of live recorders are left alone. Returns the ids done.
    """
    query = select(Recording).where(Recording.status == RecordingStatus.RECORDING.value)
    marked: list[str] = []
    for recording in (await session.scalars(query)).all():
        if not _orphaned(recording):
            continue
        manifest: RecordedManifest
        try:
            manifest = await asyncio.to_thread(files.recover, recording.id)
        except Exception as error:
            # A damaged recording must not stop the server from starting: it is marked
            # interrupted without tracks, and its files stay until retention removes them.
            log.warning(
                "recording.unrecoverable id=%s error=%s", recording.id, error,
                exc_info=not isinstance(error, RecoveryFailed),
            )
            manifest = EmptyManifest(recording.id, recording.started_at, recording.started_at)
        await _apply_manifest(session, recording, manifest, {})
        await record_event(
            session,
            "recording.interrupted" if manifest.interrupted else "recording.completed",
            recording,
            recovered=True,
            tracks=len(manifest.tracks),
            bytes=recording.size_bytes,
        )
        marked.append(recording.id)
    return marked


async def record_event(
    session: AsyncSession,
    action: str,
    recording: Recording,
    *,
    actor: str | None = None,
    ip: str | None = None,
    **detail: object,
) -> None:
    await audit.record(
        session,
        action,
        actor_user_id=actor,
        target_type="recording",
        target_id=recording.id[:64],
        ip=ip,
        detail=dict(detail),
    )


async def tracks_of(session: AsyncSession, recording_id: str) -> list[RecordingTrack]:
    """A recording's tracks: video first, then by start offset."""
    query = (
        select(RecordingTrack)
        .where(RecordingTrack.recording_id == recording_id)
        .order_by(RecordingTrack.kind.desc(), RecordingTrack.start_offset, RecordingTrack.id)
    )
    return list((await session.scalars(query)).all())


async def consents_of(session: AsyncSession, recording_id: str) -> list[RecordingConsent]:
    """The consent answers given for a recording, in order."""
    query = (
        select(RecordingConsent)
        .where(RecordingConsent.recording_id == recording_id)
        .order_by(RecordingConsent.at, RecordingConsent.id)
    )
    return list((await session.scalars(query)).all())


# ---------------------------------------------------------------- retention


async def purge_expired(
    session: AsyncSession,
    files: RecordingFiles,
    *,
    retention_days: int,
    now: datetime | None = None,
) -> list[str]:
    """Delete the files of recordings past the retention period; rows stay, marked deleted."""
    current = now or utcnow()
    cutoff = recording_cutoff(current, retention_days)
    query = select(Recording).where(
        Recording.status.in_([s.value for s in WATCHABLE]),
        or_(
            Recording.ended_at < cutoff,
            and_(Recording.ended_at.is_(None), Recording.started_at < cutoff),
        ),
    )
    purged: list[str] = []
    for recording in (await session.scalars(query)).all():
        removed = await asyncio.to_thread(_remove_tree, files.directory(recording.id))
        recording.status = RecordingStatus.DELETED.value
        recording.deleted_at = current
        recording.published_at = None
        await record_event(
            session, "recording.deleted", recording,
            reason="retention", retention_days=retention_days, files=removed,
            bytes=recording.size_bytes,
        )
        purged.append(recording.id)
    await session.flush()
    return purged


def _remove_tree(directory: Path) -> int:
    """Remove a recording's directory; returns how many files it held (0 if already gone)."""
    if not directory.is_dir():
        return 0
    files = sum(1 for p in directory.rglob("*") if p.is_file())
    shutil.rmtree(directory)
    return files


async def purge_forever(
    sessions: async_sessionmaker[AsyncSession],
    files: RecordingFiles,
    *,
    retention_days: int,
    interval: float,
) -> None:
    """The server's retention task: purge, then wait `interval` seconds, until cancelled."""
    while True:
        try:
            async with sessions() as db:
                purged = await purge_expired(db, files, retention_days=retention_days)
                await db.commit()
            if purged:
                log.info("recording.purged count=%d", len(purged))
        except Exception:  # a bad pass must not end the task; the next one tries again
            log.exception("recording.purge_failed")
        await asyncio.sleep(interval)


def directory_of(files: RecordingFiles, recording: Recording) -> Path:
    """Where a recording's files are."""
    return files.directory(recording.id)
