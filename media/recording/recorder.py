"""Recording a room: every published track of the consenting participants, one file each.

`RoomRecording` follows a room's tracks (`Room.observe`) and gives each track of a participant
who is not excluded a `TrackRecorder`, a frame sink on its `PublishedTrack`. Muxing a frame is
cheap and runs on the event loop as frames arrive; closing and hashing a file runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from media.errors import MediaError
from media.frames import EncodedFrame
from media.published_track import PublishedTrack
from media.recording.journal import Journal
from media.recording.manifest import RecordedTrack, RecordingManifest, write_manifest
from media.recording.timeline import TrackTimeline
from media.recording.track_file import TrackFile, container_for
from media.room import Room

logger = logging.getLogger(__name__)

# A keyframe request can be lost, or come before the publisher's first packet: ask again.
KEYFRAME_RETRY_SECONDS = 0.5
# How often a better start-offset estimate is journaled (for recovery after a crash).
OFFSET_JOURNAL_SECONDS = 2.0
OFFSET_JOURNAL_MIN_CHANGE = 0.001


class TrackRecorder:
    """Writes one published track's frames to one file, from a keyframe on."""

    def __init__(
        self,
        track: PublishedTrack,
        directory: Path,
        file_name: str,
        journal: Journal,
        recording_start: float,
        clock: Callable[[], float],
    ) -> None:
        self.track = track
        self.info = track.info
        self._directory = directory
        self._file_name = file_name
        self._journal = journal
        self._clock = clock
        self._timeline = TrackTimeline(track.clock_rate, recording_start)
        self._file: TrackFile | None = None
        self._is_video = track.info.kind == "video"
        self._waiting_for_keyframe = self._is_video
        self._keyframe_requested_at: float | None = None
        self._journaled_offset: float | None = None
        self._offset_journaled_at = 0.0
        self.frames_skipped = 0

    def start(self) -> None:
        """Start taking frames (and, for video, ask for the keyframe to start from)."""
        self.track.add_sink(self)
        if self._is_video:
            self._request_keyframe()

    def on_frame(self, frame: EncodedFrame) -> None:
        """Mux a frame (a `FrameSink` of the track)."""
        now = self._clock()
        if self._waiting_for_keyframe:
            if not frame.keyframe:
                self.frames_skipped += 1
                self._request_keyframe()
                return
            self._waiting_for_keyframe = False
        pts = self._timeline.pts(frame.timestamp, now)
        if pts is None:
            self.frames_skipped += 1
            return
        if self._file is None:
            self._file = self._open(frame.data)
        self._file.write(pts, frame.data, frame.keyframe)
        self._journal_offset(now)

    def on_source_change(self) -> None:
        """A new stream on the track: a new timeline segment, from its first keyframe."""
        self._timeline.reanchor()
        self._wait_for_keyframe()

    def on_loss(self) -> None:
        """Lost packets: skip the broken video frames until the next keyframe."""
        self._wait_for_keyframe()

    async def finish(self) -> RecordedTrack | None:
        """Stop taking frames and complete the file; None if no frame was ever written."""
        self.track.remove_sink(self)
        track_file, self._file = self._file, None
        if track_file is None:
            return None
        finished = await asyncio.to_thread(track_file.finish)
        recorded = RecordedTrack(
            track_id=self.info.track_id,
            publisher_id=self.info.publisher_id,
            kind=self.info.kind,
            codec=self.info.codec,
            stream_id=self.info.stream_id,
            file=finished.name,
            start_offset=self._start_offset(),
            duration=finished.duration,
            frames=finished.frames,
            size=finished.size,
            sha256=finished.sha256,
        )
        self._journal.append({"type": "track_end", **recorded.to_json()})
        return recorded

    def _open(self, first_frame: bytes) -> TrackFile:
        track_file = TrackFile(
            self._directory,
            self._file_name,
            self.info.codec,
            self.track.clock_rate,
            first_frame,
        )
        self._journaled_offset = self._start_offset()
        self._offset_journaled_at = self._clock()
        self._journal.append(
            {
                "type": "track",
                "file": self._file_name,
                "track_id": self.info.track_id,
                "publisher_id": self.info.publisher_id,
                "kind": self.info.kind,
                "codec": self.info.codec,
                "stream_id": self.info.stream_id,
                "clock_rate": self.track.clock_rate,
                "start_offset": self._journaled_offset,
            }
        )
        logger.info(
            "recording_track_started track=%s file=%s", self.info.track_id, self._file_name
        )
        return track_file

    def _journal_offset(self, now: float) -> None:
        if now - self._offset_journaled_at < OFFSET_JOURNAL_SECONDS:
            return
        self._offset_journaled_at = now
        offset = self._start_offset()
        if (
            self._journaled_offset is None
            or abs(offset - self._journaled_offset) >= OFFSET_JOURNAL_MIN_CHANGE
        ):
            self._journaled_offset = offset
            self._journal.append(
                {"type": "offset", "file": self._file_name, "start_offset": offset}
            )

    def _start_offset(self) -> float:
        # Audio captured just before the start can arrive after it: clamp to the start.
        return max(0.0, self._timeline.start_offset or 0.0)

    def _wait_for_keyframe(self) -> None:
        if self._is_video:
            self._waiting_for_keyframe = True
            self._keyframe_requested_at = None
            self._request_keyframe()

    def _request_keyframe(self) -> None:
        now = self._clock()
        if (
            self._keyframe_requested_at is not None
            and now - self._keyframe_requested_at < KEYFRAME_RETRY_SECONDS
        ):
            return
        if self.track.request_keyframe():
            self._keyframe_requested_at = now


class RoomRecording:
    """A room being recorded into `directory`: a `TrackObserver` of the room."""

    def __init__(
        self,
        room: Room,
        recording_id: str,
        directory: Path,
        excluded: frozenset[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.room = room
        self.recording_id = recording_id
        self.directory = directory
        self._excluded = set(excluded)
        self._clock = clock
        self._wall_clock = wall_clock
        self._active: dict[str, TrackRecorder] = {}
        self._finished: list[RecordedTrack] = []
        self._finishing: set[asyncio.Task[None]] = set()
        self._files = 0
        self._journal: Journal | None = None
        self._start = 0.0
        self.started_at = wall_clock()

    @property
    def excluded(self) -> frozenset[str]:
        """The participants whose tracks are not recorded."""
        return frozenset(self._excluded)

    def start(self) -> None:
        """Create the directory and journal, and record the tracks published now and later."""
        try:
            self.directory.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise MediaError(
                "recording_exists", f"recording {self.recording_id} already has files"
            ) from None
        self._start = self._clock()
        self.started_at = self._wall_clock()
        self._journal = Journal(self.directory)
        self._journal.append(
            {
                "type": "recording",
                "recording_id": self.recording_id,
                "room_id": self.room.room_id,
                "started_at": self.started_at.isoformat(),
            }
        )
        logger.info(
            "recording_started room=%s recording=%s", self.room.room_id, self.recording_id
        )
        self.room.observe(self)

    def track_added(self, track: PublishedTrack) -> None:
        """Record a new track unless its publisher is excluded."""
        if track.info.publisher_id in self._excluded or track.info.track_id in self._active:
            return
        try:
            extension = container_for(track.info.codec).extension
        except MediaError:
            logger.warning(
                "recording_codec_unsupported track=%s codec=%s",
                track.info.track_id,
                track.info.codec,
            )
            return
        assert self._journal is not None
        self._files += 1
        name = f"track-{self._files:03d}-{track.info.kind}{extension}"
        recorder = TrackRecorder(
            track, self.directory, name, self._journal, self._start, self._clock
        )
        self._active[track.info.track_id] = recorder
        recorder.start()

    def track_removed(self, track: PublishedTrack) -> None:
        """A track ended: complete its file in the background (`stop` waits for it)."""
        recorder = self._active.pop(track.info.track_id, None)
        if recorder is not None:
            self._finish_soon(recorder)

    async def set_excluded(self, peer_id: str, excluded: bool) -> None:
        """Stop recording a participant (its files are completed) or start again (new files)."""
        if excluded:
            self._excluded.add(peer_id)
            ending = [r for r in self._active.values() if r.info.publisher_id == peer_id]
            for recorder in ending:
                del self._active[recorder.info.track_id]
            await asyncio.gather(*(self._finish_soon(r) for r in ending))
        else:
            self._excluded.discard(peer_id)
            for track in self.room.published_tracks:
                if track.info.publisher_id == peer_id:
                    self.track_added(track)

    async def stop(self) -> RecordingManifest:
        """Complete every file and write the manifest."""
        self.room.unobserve(self)
        for recorder in self._active.values():
            self._finish_soon(recorder)
        self._active.clear()
        # Including files completed for an exclusion or a departure that are still closing.
        await asyncio.gather(*self._finishing)
        ended_at = self._wall_clock()
        manifest = RecordingManifest(
            recording_id=self.recording_id,
            room_id=self.room.room_id,
            started_at=self.started_at,
            ended_at=ended_at,
            tracks=tuple(sorted(self._finished, key=lambda t: t.file)),
            interrupted=False,
        )
        if self._journal is not None:
            self._journal.append({"type": "end", "ended_at": ended_at.isoformat()})
            self._journal.close()
        await asyncio.to_thread(write_manifest, self.directory, manifest)
        logger.info(
            "recording_stopped room=%s recording=%s tracks=%d",
            self.room.room_id,
            self.recording_id,
            len(manifest.tracks),
        )
        return manifest

    def _finish_soon(self, recorder: TrackRecorder) -> asyncio.Task[None]:
        """Complete a recorder's file in a task that `stop` waits for."""
        task = asyncio.ensure_future(self._finish(recorder))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return task

    async def _finish(self, recorder: TrackRecorder) -> None:
        try:
            recorded = await recorder.finish()
        except Exception:
            # The file stays as .part; recovery can still salvage it.
            logger.exception("recording_track_finish_failed track=%s", recorder.info.track_id)
            return
        if recorded is not None:
            self._finished.append(recorded)
