"""`junta recordings export`: one MP4 (H.264/AAC) composed from a recording's tracks, for sharing.

This is the one place recordings are decoded and encoded again, and it runs offline. Videos are
decoded, scaled into their tile (`media.recording.layout`) and composed frame by frame on the
shared timeline (each track from its start offset; a track that has not started or has ended
leaves its tile black); audio tracks are decoded, placed at their offsets (gaps filled with
silence) and mixed by FFmpeg's `amix`. Composition copies plane rows (no numpy needed).
"""

from __future__ import annotations

import fractions
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import av
import av.container
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.filter import Graph
from av.filter.context import FilterContext
from av.video.frame import VideoFrame

from media.recording.layout import Layout, Rect, fit, tiles

SAMPLE_RATE = 48000
AAC_FRAME = 1024
SILENCE_CHUNK = 4800  # 100 ms
# Below this, a jump in a track's timestamps is jitter, not a gap worth filling with silence.
GAP_TOLERANCE = 480
BLACK = (16, 128, 128)  # Y, U, V of black in the video range H.264 players expect

Progress = Callable[[float, float], None]


class ExportError(Exception):
    """The recording cannot be exported; the message says why."""


@dataclass(frozen=True)
class ExportTrack:
    """A track to compose: its file and where it sits on the recording's timeline."""

    kind: str  # "audio" | "video"
    path: Path
    start_offset: float
    duration: float


@dataclass(frozen=True)
class ExportResult:
    """What was written."""

    path: Path
    duration: float
    video_frames: int


class _VideoSource:
    """One video track, decoded lazily in timeline order; holds its last frame while it lasts."""

    def __init__(self, track: ExportTrack, tile: Rect) -> None:
        self.track = track
        self.tile = tile
        self._container = av.open(str(track.path))
        self._frames = self._decode()
        self._next: VideoFrame | None = next(self._frames, None)
        self._current: VideoFrame | None = None
        self._scaled: tuple[Rect, VideoFrame] | None = None

    def _decode(self) -> Iterator[VideoFrame]:
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        yield from self._container.decode(stream)

    def _time(self, frame: VideoFrame) -> float:
        return self.track.start_offset + (frame.time or 0.0)

    def frame_at(self, t: float) -> tuple[Rect, VideoFrame] | None:
        """The track's picture at timeline time `t`, scaled into its tile; None: blank tile."""
        end = self.track.start_offset + self.track.duration
        if t < self.track.start_offset or t > end:
            return None
        advanced = False
        while self._next is not None and self._time(self._next) <= t:
            self._current, self._next = self._next, next(self._frames, None)
            advanced = True
        if self._current is None:
            return None
        if advanced or self._scaled is None:
            box = fit(self._current.width, self._current.height, self.tile)
            scaled = self._current.reformat(box.width, box.height, "yuv420p")
            self._scaled = (box, scaled)
        return self._scaled

    def close(self) -> None:
        self._container.close()


class _AudioSource:
    """One audio track as a contiguous 48 kHz mono stream from timeline 0: leading silence up
    to its offset, then its samples, gaps in its timestamps filled with silence."""

    def __init__(self, track: ExportTrack, buffer: FilterContext) -> None:
        self.track = track
        self.buffer = buffer
        self.cursor = 0  # samples pushed so far
        self.done = False
        self._container = av.open(str(track.path))
        self._resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        stream = self._container.streams.audio[0]
        self._frames: Iterator[AudioFrame] = iter(self._container.decode(stream))

    def _push(self, frame: AudioFrame) -> None:
        frame.pts = self.cursor
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self.cursor += frame.samples
        self.buffer.push(frame)

    def _silence_until(self, sample: int) -> None:
        while self.cursor < sample:
            count = min(SILENCE_CHUNK, sample - self.cursor)
            frame = AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(bytes(frame.planes[0].buffer_size))
            frame.sample_rate = SAMPLE_RATE
            self._push(frame)

    def feed_until(self, sample: int) -> None:
        """Push the track's audio up to timeline sample `sample` (or to its end)."""
        while not self.done and self.cursor < sample:
            decoded = next(self._frames, None)
            if decoded is None:
                self._finish(self._resampler.resample(None))
                return
            start = round((self.track.start_offset + (decoded.time or 0.0)) * SAMPLE_RATE)
            if start - self.cursor > GAP_TOLERANCE:
                self._silence_until(start)
            for frame in self._resampler.resample(decoded):
                self._push(frame)

    def _finish(self, tail: list[AudioFrame]) -> None:
        for frame in tail:
            self._push(frame)
        self.buffer.push(None)
        self.done = True
        self._container.close()

    def close(self) -> None:
        if not self.done:
            self.done = True
            self._container.close()


class _Mixer:
    """The audio graph: every track's stream → amix → AAC-sized float frames."""

    def __init__(self, tracks: list[ExportTrack]) -> None:
        self.graph = Graph()
        time_base = fractions.Fraction(1, SAMPLE_RATE)
        buffers = [
            self.graph.add_abuffer(
                format="s16", sample_rate=SAMPLE_RATE, layout="mono", time_base=time_base
            )
            for _ in tracks
        ]
        tail = self.graph.add("aformat", "sample_fmts=fltp:sample_rates=48000:channel_layouts=mono")
        if len(buffers) > 1:
            # normalize=0: a voice keeps its level however many (mostly silent) tracks there are.
            mix = self.graph.add("amix", f"inputs={len(buffers)}:duration=longest:normalize=0")
            for index, buffer in enumerate(buffers):
                buffer.link_to(mix, 0, index)
            mix.link_to(tail)
        else:
            buffers[0].link_to(tail)
        chunks = self.graph.add("asetnsamples", f"n={AAC_FRAME}:p=1")
        self.sink = self.graph.add("abuffersink")
        tail.link_to(chunks)
        chunks.link_to(self.sink)
        self.graph.configure()
        self.sources = [_AudioSource(t, b) for t, b in zip(tracks, buffers, strict=True)]
        self.samples_out = 0

    def frames_until(self, t: float | None) -> Iterator[AudioFrame]:
        """Mixed frames up to timeline time `t` (None: to the end)."""
        target = math.inf if t is None else round(t * SAMPLE_RATE)
        for source in self.sources:
            if t is None:
                while not source.done:
                    source.feed_until(source.cursor + SAMPLE_RATE * 60)
            else:
                source.feed_until(int(target) + AAC_FRAME)
        while True:
            try:
                frame = self.sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            assert isinstance(frame, AudioFrame)
            frame.pts = self.samples_out
            frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
            self.samples_out += frame.samples
            yield frame

    def close(self) -> None:
        for source in self.sources:
            source.close()


class _Canvas:
    """The output picture as three planes of bytes, with the encoder frame's strides."""

    def __init__(self, width: int, height: int) -> None:
        template = VideoFrame(width, height, "yuv420p")
        self.width, self.height = width, height
        self.strides = [plane.line_size for plane in template.planes]
        self.heights = [height, height // 2, height // 2]
        self.blank = [
            bytes([value]) * (stride * rows)
            for value, stride, rows in zip(BLACK, self.strides, self.heights, strict=True)
        ]

    def compose(self, pictures: list[tuple[Rect, VideoFrame]]) -> VideoFrame:
        planes = [bytearray(blank) for blank in self.blank]
        for box, picture in pictures:
            for index, plane in enumerate(picture.planes):
                shift = 0 if index == 0 else 1
                x, y = box.x >> shift, box.y >> shift
                width, rows = plane.width, plane.height
                source = memoryview(plane).cast("B")
                stride, target = self.strides[index], planes[index]
                for row in range(rows):
                    start = (y + row) * stride + x
                    target[start : start + width] = source[
                        row * plane.line_size : row * plane.line_size + width
                    ]
        frame = VideoFrame(self.width, self.height, "yuv420p")
        for plane, data in zip(frame.planes, planes, strict=True):
            plane.update(bytes(data))
        return frame


def export_mp4(
    tracks: list[ExportTrack],
    output: Path,
    *,
    layout: Layout = "speaker",
    duration: float | None = None,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    progress: Progress | None = None,
) -> ExportResult:
    """Compose the tracks into one MP4 at `output` (written beside it, then renamed)."""
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise ExportError("the output size must be even and at least 16×16")
    videos = [t for t in tracks if t.kind == "video"]
    audios = [t for t in tracks if t.kind == "audio"]
    missing = [t.path.name for t in tracks if not t.path.is_file()]
    if missing:
        raise ExportError(f"track files are missing: {', '.join(missing)}")
    if not tracks:
        raise ExportError("the recording has no tracks")
    length = duration or max(t.start_offset + t.duration for t in tracks)
    if length <= 0:
        raise ExportError("the recording is empty")
    main = max(range(len(videos)), key=lambda i: videos[i].duration) if videos else 0
    boxes = tiles(layout, len(videos), width, height, main=main)
    partial = output.with_name(output.name + ".part")
    sources: list[_VideoSource] = []
    mixer: _Mixer | None = None
    total_frames = max(1, math.ceil(length * fps))
    try:
        sources = [_VideoSource(t, box) for t, box in zip(videos, boxes, strict=True)]
        mixer = _Mixer(audios) if audios else None
        with av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.options = {"preset": "veryfast", "crf": "23"}
            audio = None
            if mixer is not None:
                audio = out.add_stream("aac", rate=SAMPLE_RATE)
                audio.layout = "mono"
            canvas = _Canvas(width, height)
            time_base = fractions.Fraction(1, fps)
            for number in range(total_frames):
                t = number / fps
                pictures = [p for s in sources if (p := s.frame_at(t)) is not None]
                frame = canvas.compose(pictures)
                frame.pts, frame.time_base = number, time_base
                out.mux(video.encode(frame))
                if mixer is not None and audio is not None:
                    for sound in mixer.frames_until(t + 1 / fps):
                        out.mux(audio.encode(sound))
                if progress is not None:
                    progress(min(length, (number + 1) / fps), length)
            out.mux(video.encode(None))
            if mixer is not None and audio is not None:
                for sound in mixer.frames_until(None):
                    if sound.time is not None and sound.time > length:
                        break
                    out.mux(audio.encode(sound))
                out.mux(audio.encode(None))
    except av.FFmpegError as error:
        partial.unlink(missing_ok=True)
        raise ExportError(f"cannot compose the recording: {error}") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        for source in sources:
            source.close()
        if mixer is not None:
            mixer.close()
    partial.replace(output)
    return ExportResult(output, length, total_frames)


def progress_bar(out: TextIO, width: int = 30) -> Progress:
    """A plain one-line progress bar (`\\r`-updated), e.g. on a terminal's standard error."""
    last = [-1]

    def show(done: float, total: float) -> None:
        share = 0.0 if total <= 0 else min(1.0, done / total)
        percent = int(share * 100)
        if percent == last[0]:
            return
        last[0] = percent
        filled = int(share * width)
        bar = "#" * filled + "-" * (width - filled)
        out.write(f"\rexporting [{bar}] {percent:3d}% {_clock(done)}/{_clock(total)}")
        if percent == 100:
            out.write("\n")
        out.flush()

    return show


def _clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 60:02d}:{total % 60:02d}"
