"""Putting together a recording whose process died: what the journal and files still hold.

Each track file that was complete is kept as it is. Each `.part` file (a Matroska segment of
unknown size, cut off mid-cluster) is remuxed, packets copied without decoding, into a proper
file with a duration and an index, so it seeks like any other; the cut-off tail is dropped.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import av

from media.errors import MediaError
from media.recording.journal import JOURNAL_NAME, read_journal
from media.recording.manifest import (
    MANIFEST_NAME,
    RecordedTrack,
    RecordingManifest,
    parse_utc,
    read_manifest,
    write_manifest,
)
from media.recording.track_file import PART_SUFFIX, container_for, file_digest

logger = logging.getLogger(__name__)

SALVAGE_SUFFIX = ".salvage"


def recover_interrupted(directory: Path) -> RecordingManifest:
    """Finalize a recording cut short by a crash: `interrupted=True`, `manifest.json` written.

    Blocking (it remuxes and hashes files): call it in a thread from async code. A recording
    that already has a manifest is returned as it is.
    """
    existing = read_manifest(directory)
    if existing is not None:
        return existing
    records = read_journal(directory)
    header = next((r for r in records if r.get("type") == "recording"), None)
    if header is None:
        raise MediaError("bad_recording", f"{directory} has a journal without its header")
    try:
        recording_id = str(header["recording_id"])
        room_id = str(header["room_id"])
        started_at = parse_utc(header["started_at"])
    except (KeyError, ValueError) as exc:
        raise MediaError("bad_recording", f"{directory}: bad journal header: {exc}") from exc

    ended = {r.get("file"): r for r in records if r.get("type") == "track_end"}
    offsets = {r.get("file"): r.get("start_offset") for r in records if r.get("type") == "offset"}
    tracks: list[RecordedTrack] = []
    for record in records:
        if record.get("type") != "track":
            continue
        try:
            track = _recover_track(directory, record, ended.get(record["file"]), offsets)
        except (KeyError, TypeError, ValueError, MediaError, av.FFmpegError) as exc:
            # One unusable track must not cost the others.
            logger.warning("recording_track_unrecoverable dir=%s error=%s", directory, exc)
            continue
        if track is not None:
            tracks.append(track)

    end_record = next((r for r in records if r.get("type") == "end"), None)
    try:
        ended_at = parse_utc(end_record["ended_at"]) if end_record else None
    except (KeyError, ValueError):
        ended_at = None
    if ended_at is None:
        # The recorder died before its end: the last recorded media says when that was.
        media_end = max((t.start_offset + t.duration for t in tracks), default=0.0)
        ended_at = started_at + timedelta(seconds=media_end)
    manifest = RecordingManifest(
        recording_id=recording_id,
        room_id=room_id,
        started_at=started_at,
        ended_at=ended_at,
        tracks=tuple(sorted(tracks, key=lambda t: t.file)),
        interrupted=True,
    )
    write_manifest(directory, manifest)
    logger.info(
        "recording_recovered dir=%s recording=%s tracks=%d", directory, recording_id, len(tracks)
    )
    return manifest


def _recover_track(
    directory: Path,
    record: dict[str, Any],
    end_record: dict[str, Any] | None,
    offsets: dict[Any, Any],
) -> RecordedTrack | None:
    name = str(record["file"])
    final = directory / name
    if Path(name).name != name or name.startswith("."):
        raise ValueError(f"file {name!r} is not a plain file name")
    if end_record is not None and final.exists():
        return RecordedTrack.from_json(end_record)
    part = directory / (name + PART_SUFFIX)
    if not final.exists():
        if not part.exists():
            logger.warning("recording_file_missing dir=%s file=%s", directory, name)
            return None
        if not _salvage(part, final, str(record["codec"])):
            return None
        part.unlink()
    duration, frames = _summary(final)
    size, sha256 = file_digest(final)
    kind = str(record["kind"])
    if kind not in ("audio", "video"):
        raise ValueError(f"kind {kind!r}")
    offset = offsets.get(name, record["start_offset"])
    return RecordedTrack(
        track_id=str(record["track_id"]),
        publisher_id=str(record["publisher_id"]),
        kind="audio" if kind == "audio" else "video",
        codec=str(record["codec"]),
        stream_id=str(record["stream_id"]),
        file=name,
        start_offset=float(offset),
        duration=duration,
        frames=frames,
        size=size,
        sha256=sha256,
    )


def _salvage(part: Path, final: Path, codec_name: str) -> bool:
    """Copy the readable packets of a cut-off file into `final`; False if there were none."""
    target = final.with_name(final.name + SALVAGE_SUFFIX)
    copied = 0
    try:
        source = av.open(str(part))
    except av.FFmpegError as exc:
        logger.warning("recording_part_unreadable file=%s error=%s", part.name, exc)
        return False
    with source:
        if not source.streams:
            return False
        stream = source.streams[0]
        output = av.open(
            str(target), "w", format=container_for(codec_name).muxer
        )
        with output:
            copy = output.add_stream_from_template(stream)
            try:
                for packet in source.demux(stream):
                    if packet.dts is None:  # the flush packet at the end
                        continue
                    packet.stream = copy
                    output.mux(packet)
                    copied += 1
            except av.FFmpegError as exc:
                # The cluster the crash cut off: everything before it is kept.
                logger.info("recording_part_truncated file=%s error=%s", part.name, exc)
    if copied == 0:
        target.unlink(missing_ok=True)
        return False
    with open(target, "rb") as file:
        os.fsync(file.fileno())
    os.replace(target, final)
    return True


def _summary(path: Path) -> tuple[float, int]:
    """A track file's duration (seconds, first frame at 0) and packet count."""
    frames = 0
    end = 0.0
    with av.open(str(path)) as container:
        stream = container.streams[0]
        time_base = stream.time_base
        assert time_base is not None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            frames += 1
            end = max(end, float((packet.pts + (packet.duration or 0)) * time_base))
    return end, frames



def unfinished_recordings(root: Path) -> list[Path]:
    """Recording directories under `root` with a journal but no manifest: crashed, or still
    running. Call it only when no node is recording into `root` (at the owning node's start)."""
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.iterdir()
        if (path / JOURNAL_NAME).is_file() and not (path / MANIFEST_NAME).exists()
    )
