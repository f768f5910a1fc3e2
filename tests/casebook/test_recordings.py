"""The recording services on real SQLite and PostgreSQL: a recording's life (begin, consent,
complete, interrupted), who may watch and publish it, the library's search, retention."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook import demo, recording_library, recordings
from casebook.models import (
    Attendance,
    AuditEvent,
    Recording,
    RecordingConsent,
    RecordingKind,
    RecordingStatus,
    ReviewSession,
)
from casebook.recording_access import can_watch
from casebook.recording_library import LibraryQuery
from casebook.recordings import RecordingError, RecordingNotFound
from media.recording.manifest import write_manifest
from tests.casebook.recording_samples import copy_sample
from tests.casebook.service_helpers import audit_trail, callers
from web.calls.recording_files import RecorderFiles

LECTURE_ROOM = "sesion-academica"


async def _finished(
    db: AsyncSession, root: Path, room_id: str, started_by: str, recording_id: str
) -> Recording:
    await recordings.begin_recording(
        db, room_id=room_id, started_by_user_id=started_by, recording_id=recording_id
    )
    manifest = copy_sample(root, recording_id, room_id)
    return await recordings.complete_recording(
        db, manifest, {"peer-lecturer": "Dr. Ponente", "peer-screen": "Pantalla"}
    )


async def test_a_board_recording_is_a_case_discussion_linked_to_its_session(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        coordinator = who[demo.COORDINATOR].user_id
        started = await recordings.begin_recording(
            db, room_id=demo.BOARD_ROOM, started_by_user_id=coordinator, recording_id="board-1"
        )
        board = await db.scalar(
            select(ReviewSession).where(ReviewSession.room_id == demo.BOARD_ROOM)
        )
        assert board is not None
        assert started.status == RecordingStatus.RECORDING
        assert started.kind == RecordingKind.CASE_DISCUSSION
        assert started.session_id == board.id
        assert started.title == board.title
        # The topic is the agenda's specialty, never a case's diagnosis.
        assert started.topic == "Neurooncología pediátrica"

        lecture = await recordings.begin_recording(
            db, room_id=LECTURE_ROOM, started_by_user_id=who[demo.LECTURER].user_id
        )
        assert lecture.kind == RecordingKind.LECTURE
        assert lecture.session_id is None
        assert lecture.title == "Sesión académica: neuroblastoma"
        assert len(lecture.id) == 36  # a generated UUID
        await db.commit()
        assert await audit_trail(db, "recording", "board-1") == ["recording.started"]


async def test_consent_answers_are_stored_with_what_people_were_told(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        who = await callers(db)
        await recordings.begin_recording(
            db, room_id=LECTURE_ROOM, started_by_user_id=who[demo.LECTURER].user_id,
            recording_id="lec-1",
        )
        await recordings.record_consent(
            db, "lec-1", peer_id="peer-a", user_id=who[demo.TRAINEE].user_id,
            display_name="Dra. Fernanda Ríos Guzmán", granted=False,
            notice_text="Esta sesión se grabará.", notice_version="2026-11", locale="es_MX",
        )
        await db.commit()
        (consent,) = await recordings.consents_of(db, "lec-1")
        assert (consent.peer_id, consent.granted, consent.notice_text, consent.locale) == (
            "peer-a", False, "Esta sesión se grabará.", "es_MX"
        )
        assert consent.at.tzinfo is not None
        # A guest (invited by link, no account) answers under a grant subject, not a user id.
        await recordings.record_consent(
            db, "lec-1", peer_id="peer-guest", user_id="guest:abc123", display_name="Invitada",
            granted=True, notice_text="Esta sesión se grabará.", notice_version="2026-11",
            locale="es_MX",
        )
        await db.commit()
        guest = (await recordings.consents_of(db, "lec-1"))[-1]
        assert (guest.user_id, guest.display_name, guest.granted) == (None, "Invitada", True)
        with pytest.raises(RecordingNotFound):
            await recordings.record_consent(
                db, "missing", peer_id="p", user_id=None, display_name="x", granted=True,
                notice_text="t", notice_version="1", locale="en",
            )


async def test_completing_stores_every_track_with_its_file_and_offsets(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        lecturer = who[demo.LECTURER].user_id
        await recordings.begin_recording(
            db, room_id=LECTURE_ROOM, started_by_user_id=lecturer, recording_id="lec-2"
        )
        # The screen's publisher is named only by their consent answer.
        await recordings.record_consent(
            db, "lec-2", peer_id="peer-screen", user_id=lecturer, display_name="Ponente (pantalla)",
            granted=True, notice_text="t", notice_version="1", locale="es_MX",
        )
        manifest = copy_sample(tmp_path, "lec-2", LECTURE_ROOM)
        done = await recordings.complete_recording(db, manifest, {"peer-lecturer": "Dr. Ponente"})
        await db.commit()
        assert done.status == RecordingStatus.COMPLETE
        assert done.size_bytes == sum(t.size for t in manifest.tracks) > 0
        assert done.duration_seconds == pytest.approx(3.0)
        tracks = await recordings.tracks_of(db, "lec-2")
        assert [(t.kind, t.publisher_name, t.start_offset) for t in tracks] == [
            ("video", "Dr. Ponente", 0.0),
            ("video", "Ponente (pantalla)", 0.5),
            ("audio", "Dr. Ponente", 0.0),
        ]
        by_file = {t.file: t for t in manifest.tracks}
        for track in tracks:
            assert track.sha256 == by_file[track.file].sha256
            assert track.size_bytes == by_file[track.file].size
        assert await audit_trail(db, "recording", "lec-2") == [
            "recording.started", "recording.consent", "recording.completed"
        ]


async def test_an_interrupted_manifest_marks_the_recording_interrupted(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        await recordings.begin_recording(
            db, room_id=LECTURE_ROOM, started_by_user_id=who[demo.LECTURER].user_id,
            recording_id="lec-3",
        )
        manifest = copy_sample(tmp_path, "lec-3", LECTURE_ROOM, interrupted=True)
        done = await recordings.complete_recording(db, manifest, {})
        assert done.status == RecordingStatus.INTERRUPTED


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def test_startup_marks_recordings_of_dead_recorders_interrupted_and_no_others(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        lecturer = (await callers(db))[demo.LECTURER].user_id
        for recording_id in ("crashed", "vanished", "alive", "unregistered"):
            await recordings.begin_recording(
                db, room_id=LECTURE_ROOM, started_by_user_id=lecturer, recording_id=recording_id
            )
        crashed = await db.get(Recording, "crashed")
        vanished = await db.get(Recording, "vanished")
        alive = await db.get(Recording, "alive")
        unregistered = await db.get(Recording, "unregistered")
        assert crashed and vanished and alive and unregistered
        crashed.recorder_pid = unregistered.recorder_pid = _dead_pid()
        vanished.recorder_pid = None  # written by an older version: nobody owns it
        # `alive` is recorded by a live process on this host (our parent, say).
        import os

        alive.recorder_pid = os.getppid()
        # What the recorder's recovery leaves: files and a manifest of what they hold.
        manifest = copy_sample(tmp_path, "crashed", LECTURE_ROOM, interrupted=True)
        write_manifest(tmp_path / "crashed", manifest)
        # A recorder that finished its files, but whose completion never reached the database.
        write_manifest(tmp_path / "unregistered", copy_sample(tmp_path, "unregistered", "x"))
        await db.commit()

        marked = await recordings.mark_interrupted(db, RecorderFiles(tmp_path))
        await db.commit()
        assert sorted(marked) == ["crashed", "unregistered", "vanished"]
        assert crashed.status == vanished.status == RecordingStatus.INTERRUPTED
        assert unregistered.status == RecordingStatus.COMPLETE
        assert alive.status == RecordingStatus.RECORDING
        assert len(await recordings.tracks_of(db, "crashed")) == 3
        assert await recordings.tracks_of(db, "vanished") == []
        assert (await audit_trail(db, "recording", "crashed"))[-1] == "recording.interrupted"
        assert (await audit_trail(db, "recording", "unregistered"))[-1] == "recording.completed"
        assert await recordings.mark_interrupted(db, RecorderFiles(tmp_path)) == []


async def test_a_trainee_cannot_find_a_case_discussion_but_its_attendees_can(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        board = await _finished(
            db, tmp_path, demo.BOARD_ROOM, who[demo.COORDINATOR].user_id, "board-2"
        )
        await db.commit()
        # Invitees of the board (La Raza and Mérida specialists, the lecturer) and coordinators.
        for email in (demo.SPECIALIST_LA_RAZA, demo.LECTURER, demo.COORDINATOR):
            found = await recording_library.find_watchable(db, who[email], "board-2")
            assert found.id == "board-2"
        for email in (demo.TRAINEE, demo.REFERRER, demo.ADMIN):
            with pytest.raises(RecordingNotFound):
                await recording_library.find_watchable(db, who[email], "board-2")
            page = await recording_library.library(db, who[email], LibraryQuery())
            assert page.total == 0
        # Someone who only attended the call (not invited) is a participant too.
        assert board.session_id is not None
        db.add(
            Attendance(
                session_id=board.session_id, user_id=who[demo.REFERRER].user_id,
                peer_id="peer-ref", joined_at=datetime.now(UTC),
            )
        )
        await db.commit()
        assert (await recording_library.find_watchable(db, who[demo.REFERRER], "board-2")).id


async def test_the_library_list_agrees_with_the_access_rule_for_every_demo_user(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        await _finished(db, tmp_path, demo.BOARD_ROOM, who[demo.COORDINATOR].user_id, "b")
        lecture = await _finished(
            db, tmp_path, LECTURE_ROOM, who[demo.LECTURER].user_id, "l-published"
        )
        await _finished(db, tmp_path, LECTURE_ROOM, who[demo.LECTURER].user_id, "l-private")
        await _finished(
            db, tmp_path, "interconsulta-lla", who[demo.SPECIALIST_LA_RAZA].user_id, "c"
        )
        await recordings.begin_recording(
            db, room_id=LECTURE_ROOM, started_by_user_id=who[demo.LECTURER].user_id,
            recording_id="still-running",
        )
        await recording_library.publish(
            db, who[demo.LECTURER], lecture, confirmed=True,
            statement=recording_library.PUBLISH_STATEMENT,
        )
        await db.commit()
        every = list((await db.scalars(select(Recording))).all())
        for caller in who.values():
            page = await recording_library.library(db, caller, LibraryQuery())
            listed = {r.id for r in page.recordings}
            allowed = {
                r.id
                for r in every
                if can_watch(caller.person, await recording_library.facts_of(db, r))
            }
            assert listed == allowed, caller.role
        trainee_page = await recording_library.library(db, who[demo.TRAINEE], LibraryQuery())
        trainee = {r.id for r in trainee_page.recordings}
        # The trainee attends the lecture room: both lectures; the board's and the
        # consultation's recordings stay hidden; nobody lists a running recording.
        assert trainee == {"l-published", "l-private"}
        merida = await recording_library.library(db, who[demo.SPECIALIST_MERIDA], LibraryQuery())
        assert {r.id for r in merida.recordings} == {"b", "l-published", "l-private", "c"}


async def test_publishing_needs_the_confirmation_and_the_chair_or_a_coordinator(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        board = await _finished(
            db, tmp_path, demo.BOARD_ROOM, who[demo.COORDINATOR].user_id, "board-3"
        )
        statement = recording_library.PUBLISH_STATEMENT
        # An invited specialist watches but does not chair: may not publish.
        with pytest.raises(RecordingError) as refused:
            await recording_library.publish(
                db, who[demo.SPECIALIST_LA_RAZA], board, confirmed=True, statement=statement
            )
        assert refused.value.code == "not_allowed"
        with pytest.raises(RecordingError) as unconfirmed:
            await recording_library.publish(
                db, who[demo.COORDINATOR], board, confirmed=False, statement=statement
            )
        assert unconfirmed.value.code == "confirmation_required"
        assert board.published_at is None
        await recording_library.publish(
            db, who[demo.COORDINATOR], board, confirmed=True, statement=statement,
            topic="Meduloblastoma: decisiones de radioterapia",
        )
        await db.commit()
        assert board.published_by_user_id == who[demo.COORDINATOR].user_id
        assert board.publish_statement == statement
        assert board.topic == "Meduloblastoma: decisiones de radioterapia"
        # Published: the trainee of another center now finds it in the training library.
        assert (await recording_library.find_watchable(db, who[demo.TRAINEE], "board-3")).id
        await recording_library.withdraw(db, who[demo.COORDINATOR], board)
        await db.commit()
        with pytest.raises(RecordingNotFound):
            await recording_library.find_watchable(db, who[demo.TRAINEE], "board-3")
        assert await audit_trail(db, "recording", "board-3") == [
            "recording.started", "recording.completed", "recording.published",
            "recording.withdrawn",
        ]


async def test_playback_is_audited_once_per_opening(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        await _finished(db, tmp_path, LECTURE_ROOM, who[demo.LECTURER].user_id, "lec-4")
        _recording, tracks = await recording_library.open_playback(db, who[demo.TRAINEE], "lec-4")
        assert len(tracks) == 3
        for track in tracks:
            _row, path = await recording_library.track_file(
                db, who[demo.TRAINEE], RecorderFiles(tmp_path), "lec-4", track.id
            )
            assert path.is_file()
        await db.commit()
        played = await db.scalars(
            select(AuditEvent).where(AuditEvent.action == "recording.played")
        )
        (event,) = played.all()
        assert (event.actor_user_id, event.target_id) == (who[demo.TRAINEE].user_id, "lec-4")
        # A track of another recording is not reachable through this one.
        with pytest.raises(RecordingNotFound):
            await recording_library.track_file(db, who[demo.TRAINEE], tmp_path, "lec-4", 10_000)


async def test_the_library_searches_by_text_kind_session_topic_and_date(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        coordinator = who[demo.COORDINATOR]
        board = await _finished(db, tmp_path, demo.BOARD_ROOM, coordinator.user_id, "s-board")
        await _finished(db, tmp_path, LECTURE_ROOM, who[demo.LECTURER].user_id, "s-lecture")
        old = await _finished(db, tmp_path, LECTURE_ROOM, who[demo.LECTURER].user_id, "s-old")
        old.started_at = datetime(2025, 3, 10, 17, tzinfo=UTC)
        await db.commit()

        async def ids(**query: object) -> set[str]:
            page = await recording_library.library(db, coordinator, LibraryQuery(**query))  # type: ignore[arg-type]
            return {r.id for r in page.recordings}

        assert await ids() == {"s-board", "s-lecture", "s-old"}
        assert await ids(text="NEUROBLASTOMA") == {"s-lecture", "s-old"}
        assert await ids(kind=RecordingKind.CASE_DISCUSSION) == {"s-board"}
        assert await ids(session_id=board.session_id) == {"s-board"}
        assert await ids(topic="neurooncología") == {"s-board"}
        assert await ids(date_from=date(2025, 3, 10), date_to=date(2025, 3, 10)) == {"s-old"}
        assert await ids(date_to=date(2025, 12, 31)) == {"s-old"}


async def test_the_library_is_paged(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        lecturer = who[demo.LECTURER].user_id
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for number in range(recording_library.PAGE_SIZE + 3):
            row = await recordings.begin_recording(
                db, room_id=LECTURE_ROOM, started_by_user_id=lecturer, recording_id=f"p{number}"
            )
            row.status = RecordingStatus.COMPLETE.value
            row.started_at = start + timedelta(hours=number)
        await db.commit()
        first = await recording_library.library(db, who[demo.LECTURER], LibraryQuery())
        second = await recording_library.library(db, who[demo.LECTURER], LibraryQuery(page=2))
        beyond = await recording_library.library(db, who[demo.LECTURER], LibraryQuery(page=99))
        assert (first.total, first.pages, len(first.recordings)) == (23, 2, 20)
        assert first.recordings[0].id == "p22"  # newest first
        assert [r.id for r in second.recordings] == ["p2", "p1", "p0"]
        assert beyond.page == 2


async def test_retention_deletes_expired_files_keeps_the_rows_and_audits_each(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        lecturer = who[demo.LECTURER].user_id
        expired = await _finished(db, tmp_path, LECTURE_ROOM, lecturer, "expired")
        recent = await _finished(db, tmp_path, LECTURE_ROOM, lecturer, "recent")
        now = datetime.now(UTC)
        expired.ended_at = now - timedelta(days=366)
        recent.ended_at = now - timedelta(days=364)
        await db.commit()

        purged = await recordings.purge_expired(
            db, RecorderFiles(tmp_path), retention_days=365, now=now
        )
        await db.commit()
        assert purged == ["expired"]
        assert not (tmp_path / "expired").exists()
        assert any((tmp_path / "recent").iterdir())
        row = await db.get(Recording, "expired")
        assert row is not None and row.status == RecordingStatus.DELETED
        assert row.deleted_at is not None
        assert len(await recordings.tracks_of(db, "expired")) == 3  # the row and its tracks stay
        deleted = (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "recording.deleted", AuditEvent.target_id == "expired"
                )
            )
        ).one()
        assert deleted.detail["reason"] == "retention"
        assert deleted.detail["files"] == 3
        # Deleted recordings are gone from the library even for coordinators.
        with pytest.raises(RecordingNotFound):
            await recording_library.find_watchable(db, who[demo.COORDINATOR], "expired")
        files = RecorderFiles(tmp_path)
        assert await recordings.purge_expired(db, files, retention_days=365, now=now) == []


async def test_consents_of_a_deleted_recording_stay_for_the_record(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as db:
        who = await callers(db)
        lecturer = who[demo.LECTURER].user_id
        row = await _finished(db, tmp_path, LECTURE_ROOM, lecturer, "kept")
        await recordings.record_consent(
            db, "kept", peer_id="p", user_id=lecturer, display_name="x", granted=True,
            notice_text="t", notice_version="1", locale="es_MX",
        )
        row.ended_at = datetime.now(UTC) - timedelta(days=400)
        await db.commit()
        await recordings.purge_expired(db, RecorderFiles(tmp_path), retention_days=365)
        await db.commit()
        count = len((await db.scalars(select(RecordingConsent))).all())
        assert count == 1
