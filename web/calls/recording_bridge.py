"""Recording a call, as signaling's `RecordingPort` sees it: the media node's recorder and the
casebook's record of recordings (`casebook.recordings`), in the composition root.

The notice participants consent to is a message of the `client` catalog, so the browser shows
it and this module stores it in exactly the same words (`notice_text`). Changing its wording
means a new msgid and a new `NOTICE_VERSION`: consents name the version they answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook import recordings
from casebook.errors import CasebookError
from casebook.recording_files import EmptyManifest, RecordedManifest
from media.recording.manifest import write_manifest
from signaling.media_port import MediaRefused
from signaling.recording import ConsentAnswer, RecordingRefused
from web.calls.media_bridge import RecorderPort
from web.calls.recording_files import RecorderFiles
from web.render.i18n import HTML_LANG, I18n

log = logging.getLogger("junta.web.recording")

NOTICE_VERSION = "1"
# The msgid of the notice in the `client` catalog (web/locale/*/LC_MESSAGES/client.po).
NOTICE = (
    "This session is being recorded for the network's training library. Only the participants "
    "who agree are recorded: if you do not agree, your camera, microphone and screen are left "
    "out of the recording and you can stay in the call. The recording is shown only to the "
    "people the network's rules allow, and every playback is logged."
)
# The page's language tag (what a consent says it was read in) → its catalog.
_CATALOG_OF = {tag: locale for locale, tag in HTML_LANG.items()}


class RecordingBridge:
    """Implements `signaling.recording.RecordingPort` on a media node and the casebook."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        media: RecorderPort,
        i18n: I18n,
        files: RecorderFiles,
    ) -> None:
        self._sessions = sessions
        self._media = media
        self._i18n = i18n
        self._files = files

    @property
    def notice_version(self) -> str:
        """The version of the notice participants are shown now."""
        return NOTICE_VERSION

    def knows_locale(self, locale: str) -> bool:
        """Whether a page in `locale` (its `lang`, e.g. "es-MX") shows the notice."""
        return locale in _CATALOG_OF

    def notice_text(self, locale: str) -> str:
        """The notice in the words a page in `locale` shows it."""
        return self._i18n.client[_CATALOG_OF[locale]].get(NOTICE, NOTICE)

    async def start(
        self, room: str, recording_id: str, *, started_by_user_id: str, excluded: frozenset[str]
    ) -> None:
        """Start the recorder, then open the recording's record (stopping the recorder again
        if the record cannot be written: files nobody has a record of would be lost)."""
        try:
            await self._media.start_recording(room, recording_id, excluded)
        except MediaRefused as exc:
            raise RecordingRefused(exc.code, exc.message) from None
        except OSError as exc:  # the recordings root cannot be written
            log.error("recording.storage_failed room=%s error=%s", room, type(exc).__name__)
            raise RecordingRefused("storage_error", "the recording's files cannot be written") \
                from None
        try:
            async with self._sessions() as db:
                await recordings.begin_recording(
                    db, room_id=room, started_by_user_id=started_by_user_id,
                    recording_id=recording_id,
                )
                await db.commit()
        except (CasebookError, SQLAlchemyError) as exc:
            log.error("recording.begin_failed room=%s recording=%s error=%s", room,
                      recording_id, type(exc).__name__)
            try:
                await self._media.stop_recording(room)
            except MediaRefused as stop_exc:
                log.error("recording.stop_failed room=%s code=%s", room, stop_exc.code)
            raise RecordingRefused("record_failed", "the recording could not be registered") \
                from None

    async def consent(self, room: str, answer: ConsentAnswer) -> None:
        """Store the answer with the notice's exact text; include or exclude the peer.

        A refusal takes effect on the recorder before it is stored, a consent after: a failure
        halfway never leaves someone recorded without a stored consent.
        """
        if not answer.granted:
            await self.set_excluded(room, answer.peer_id, True)
        try:
            async with self._sessions() as db:
                await recordings.record_consent(
                    db, answer.recording_id, peer_id=answer.peer_id, user_id=answer.user_id,
                    display_name=answer.display_name, granted=answer.granted,
                    notice_text=self.notice_text(answer.locale),
                    notice_version=answer.notice_version, locale=answer.locale,
                )
                await db.commit()
        except (CasebookError, SQLAlchemyError) as exc:
            log.error("recording.consent_failed room=%s recording=%s error=%s", room,
                      answer.recording_id, type(exc).__name__)
            raise RecordingRefused("record_failed", "the answer could not be stored") from None
        if answer.granted:
            await self.set_excluded(room, answer.peer_id, False)

    async def set_excluded(self, room: str, peer_id: str, excluded: bool) -> None:
        """Leave a peer's tracks out of (or back in) the room's recording."""
        try:
            await self._media.set_recording_excluded(room, peer_id, excluded)
        except MediaRefused as exc:
            raise RecordingRefused(exc.code, exc.message) from None

    async def stop(self, room: str, participants: dict[str, str]) -> None:
        """Stop the recorder and complete the recording's record from its manifest."""
        try:
            manifest = await self._media.stop_recording(room)
        except MediaRefused as exc:
            raise RecordingRefused(exc.code, exc.message) from None
        except OSError as exc:
            log.error("recording.storage_failed room=%s error=%s", room, type(exc).__name__)
            raise RecordingRefused("storage_error", "the recording's files cannot be completed") \
                from None
        manifest = dataclasses.replace(manifest, participants=dict(participants))
        try:
            directory = self._files.directory(manifest.recording_id)
            await asyncio.to_thread(write_manifest, directory, manifest)
        except OSError as exc:  # the names are also in the database: the recording stands
            log.warning("recording.manifest_names_failed recording=%s error=%s",
                        manifest.recording_id, type(exc).__name__)
        try:
            async with self._sessions() as db:
                await recordings.complete_recording(db, manifest, participants)
                await db.commit()
        except (CasebookError, SQLAlchemyError) as exc:
            # The files and manifest.json are on disk: the next start's recovery finds them.
            log.error("recording.complete_failed room=%s recording=%s error=%s", room,
                      manifest.recording_id, type(exc).__name__)
            raise RecordingRefused("record_failed", "the recording could not be completed") \
                from None
        log.info("recording.completed room=%s recording=%s tracks=%d", room,
                 manifest.recording_id, len(manifest.tracks))

    async def interrupted(
        self, room: str, recording_id: str, participants: dict[str, str]
    ) -> None:
        """The recorder died with its media node: put its files together from what was
        written (the shared recordings folder) and mark the record interrupted."""
        manifest: RecordedManifest
        try:
            manifest = await asyncio.to_thread(self._files.recover, recording_id)
        except CasebookError as exc:  # RecoveryFailed: the record still ends, without tracks
            log.error("recording.unrecoverable room=%s recording=%s error=%s", room,
                      recording_id, exc.code)
            now = datetime.now(UTC)
            manifest = EmptyManifest(recording_id, now, now)
        try:
            async with self._sessions() as db:
                await recordings.complete_recording(db, manifest, participants)
                await db.commit()
        except (CasebookError, SQLAlchemyError) as exc:
            log.error("recording.interrupt_failed room=%s recording=%s error=%s", room,
                      recording_id, type(exc).__name__)
            raise RecordingRefused("record_failed", "the recording could not be closed") \
                from None
        log.warning("recording.interrupted room=%s recording=%s tracks=%d", room, recording_id,
                    len(manifest.tracks))
