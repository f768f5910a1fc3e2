"""The recordings API: the library (search, one recording with its tracks), publishing to the
training library, and each track's media file with HTTP Range support for the player.

Every route answers 404 for a recording the caller may not watch, so existence does not leak.
Opening the playback page audits the playback (`recording.played`); each download of a track's
file is audited (`recording.downloaded`) when it starts, by a request without Range or from byte
0: the many byte ranges a player asks for while it plays and seeks are authorized the same way
but not audited again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import recording_library, recordings
from casebook.cases import Caller
from casebook.models import Recording, RecordingKind, RecordingStatus, RecordingTrack, TrackKind
from casebook.recording_access import PUBLISHER_ROLES
from web.app.keys import SESSIONS, SETTINGS
from web.calls.recording_files import recorder_files
from web.http.errors import WebError
from web.http.routes import (
    CLINICAL_READERS,
    Route,
    Text,
    caller,
    int_param,
    invalid,
    json_reply,
    parse_body,
)
from web.render.context import gettext
from web.render.local_times import NETWORK_TZ

RECORDING = "/api/recordings/{recording_id:[A-Za-z0-9_-]+}"
MAX_TEXT = 200


def _plausible_day(value: date) -> date:
    if not date(2000, 1, 1) <= value <= date(2099, 12, 31):
        raise ValueError("must be between 2000 and 2099")
    return value


Day = Annotated[date, AfterValidator(_plausible_day)]


class LibraryIn(BaseModel):
    """Filters of the library; all optional, combined with AND."""

    model_config = ConfigDict(extra="ignore")
    q: Annotated[Text, Field(max_length=MAX_TEXT)] | None = Field(
        None, description="Words in the title or topic."
    )
    kind: RecordingKind | None = None
    session_id: int | None = Field(None, ge=1, le=2**31 - 1)
    date_from: Day | None = Field(
        None, description="Recorded on or after this day (the network's calendar, Mexico City)."
    )
    date_to: Day | None = Field(
        None, description="Recorded on or before this day (the network's calendar)."
    )
    topic: Annotated[Text, Field(max_length=MAX_TEXT)] | None = None
    page: int = Field(1, ge=1, le=100_000)

    def query(self) -> recording_library.LibraryQuery:
        """The service's query."""
        return recording_library.LibraryQuery(
            text=(self.q or "").strip() or None,
            kind=self.kind,
            session_id=self.session_id,
            date_from=self.date_from,
            date_to=self.date_to,
            topic=(self.topic or "").strip() or None,
            page=self.page,
            timezone=NETWORK_TZ,
        )


def parse_library(raw: dict[str, str]) -> LibraryIn:
    """The library's filters from a query string (empty fields are absent); 400 if invalid."""
    try:
        return LibraryIn.model_validate({k: v for k, v in raw.items() if v != ""})
    except ValidationError as error:
        raise invalid(error) from None


class PublishIn(BaseModel):
    """Publishing to the training library: the confirmation is required, the topic optional."""

    model_config = ConfigDict(extra="forbid")
    confirm_no_patient_data: bool = Field(
        description="The caller confirms the recording shows no identifying patient data."
    )
    topic: Annotated[Text, Field(max_length=MAX_TEXT)] | None = None


class TrackOut(BaseModel):
    """One recorded track and where the player fetches it."""

    id: int
    kind: TrackKind
    codec: str
    publisher_name: str
    start_offset: float
    duration: float
    media_url: str
    content_type: str


class RecordingSummaryOut(BaseModel):
    """A recording as the library lists it."""

    id: str
    kind: RecordingKind
    title: str
    topic: str | None
    status: RecordingStatus
    session_id: int | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    published: bool
    playback_url: str


class RecordingOut(RecordingSummaryOut):
    """A recording with its tracks, and what the caller may do with it."""

    size_bytes: int
    published_at: datetime | None
    may_publish: bool
    tracks: list[TrackOut]


class LibraryOut(BaseModel):
    """A page of the library, newest first."""

    recordings: list[RecordingSummaryOut]
    total: int
    page: int
    pages: int


def content_type(track: RecordingTrack) -> str:
    """The media type a browser needs to play the track's file."""
    if track.file.endswith(".webm"):
        return f"{track.kind}/webm"
    return f"{track.kind}/x-matroska"


TRACK_MEDIA_TYPES = tuple(f"{kind}/{c}" for kind in TrackKind for c in ("webm", "x-matroska"))


def media_url(recording_id: str, track: RecordingTrack) -> str:
    """Where the player fetches a track."""
    return f"/api/recordings/{recording_id}/tracks/{track.id}/media"


def track_out(recording_id: str, track: RecordingTrack) -> TrackOut:
    """A track as the API shows it."""
    return TrackOut(
        id=track.id,
        kind=TrackKind(track.kind),
        codec=track.codec,
        publisher_name=track.publisher_name,
        start_offset=track.start_offset,
        duration=track.duration,
        media_url=media_url(recording_id, track),
        content_type=content_type(track),
    )


def summary_out(recording: Recording) -> RecordingSummaryOut:
    """A recording as the library lists it."""
    return RecordingSummaryOut(
        id=recording.id,
        kind=RecordingKind(recording.kind),
        title=recording.title,
        topic=recording.topic,
        status=RecordingStatus(recording.status),
        session_id=recording.session_id,
        started_at=recording.started_at,
        ended_at=recording.ended_at,
        duration_seconds=recording.duration_seconds,
        published=recording.published_at is not None,
        playback_url=f"/recordings/{recording.id}",
    )


async def recording_out(db: AsyncSession, who: Caller, recording: Recording) -> RecordingOut:
    """A recording with its tracks as the caller sees it."""
    tracks = await recordings.tracks_of(db, recording.id)
    return RecordingOut(
        **summary_out(recording).model_dump(),
        size_bytes=recording.size_bytes,
        published_at=recording.published_at,
        may_publish=await recording_library.may_publish(db, who, recording),
        tracks=[track_out(recording.id, t) for t in tracks],
    )


def recording_id(request: web.Request) -> str:
    """The recording id of the path."""
    return request.match_info["recording_id"]


async def list_recordings(request: web.Request) -> web.StreamResponse:
    """Search the library."""
    who = caller(request)
    filters = parse_library(dict(request.query))
    async with request.app[SESSIONS]() as db:
        page = await recording_library.library(db, who, filters.query())
    return json_reply(
        LibraryOut(
            recordings=[summary_out(r) for r in page.recordings],
            total=page.total,
            page=page.page,
            pages=page.pages,
        )
    )


async def get_recording(request: web.Request) -> web.StreamResponse:
    """One recording with its tracks (audited `recording.read`)."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        recording = await recording_library.read(db, who, recording_id(request))
        reply = await recording_out(db, who, recording)
        await db.commit()
    return json_reply(reply)


async def publish_recording(request: web.Request) -> web.StreamResponse:
    """Publish to the training library, with the confirmation that no patient is identifiable."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        recording = await recording_library.find_watchable(db, who, recording_id(request))
        body = await parse_body(request, PublishIn)
        await recording_library.publish(
            db,
            who,
            recording,
            confirmed=body.confirm_no_patient_data,
            statement=gettext(request, recording_library.PUBLISH_STATEMENT),
            topic=body.topic,
        )
        reply = await recording_out(db, who, recording)
        await db.commit()
    return json_reply(reply)


async def withdraw_recording(request: web.Request) -> web.StreamResponse:
    """Take a recording out of the training library."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        recording = await recording_library.find_watchable(db, who, recording_id(request))
        await recording_library.withdraw(db, who, recording)
        reply = await recording_out(db, who, recording)
        await db.commit()
    return json_reply(reply)


async def track_media(request: web.Request) -> web.StreamResponse:
    """A track's file, with HTTP Range support (the player seeks by byte ranges)."""
    who = caller(request)
    track_row = int_param(request, "track_id")
    files = recorder_files(request.app[SETTINGS])
    async with request.app[SESSIONS]() as db:
        try:
            track, path = await recording_library.track_file(
                db, who, files, recording_id(request), track_row,
                byte_range=request.headers.get("Range"),
            )
            await db.commit()
        except recordings.RecordingNotFound:
            raise WebError(404, "not_found", "no such recording track") from None
    return web.FileResponse(
        path,
        headers={
            "Content-Type": content_type(track),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def routes() -> list[Route]:
    """The recordings API."""
    return [
        Route(
            "GET", "/api/recordings", list_recordings, name="api-recordings-list",
            summary="Search the recordings library",
            description=(
                "Recordings the caller may watch (published ones, those of sessions they took "
                "part in; coordinators: all), by words, kind, session, day and topic, newest "
                "first, 20 a page."
            ),
            roles=CLINICAL_READERS, query=LibraryIn, response=LibraryOut, tag="recordings",
        ),
        Route(
            "GET", RECORDING, get_recording, name="api-recording",
            summary="Get a recording",
            description="Its kind, session, times, publication and tracks with their media URLs.",
            roles=CLINICAL_READERS, response=RecordingOut, tag="recordings",
        ),
        Route(
            "POST", RECORDING + "/publish", publish_recording, name="api-recording-publish",
            summary="Publish a recording to the training library",
            description=(
                "Every clinical and trainee reader of the network may then watch it. Needs "
                "`confirm_no_patient_data: true`; the confirmation, its wording and who gave it "
                "are stored. By a coordinator or the session's chair."
            ),
            roles=PUBLISHER_ROLES, body=PublishIn, response=RecordingOut, tag="recordings",
        ),
        Route(
            "DELETE", RECORDING + "/publish", withdraw_recording, name="api-recording-withdraw",
            summary="Withdraw a recording from the training library",
            description="Only its participants and coordinators see it again.",
            roles=PUBLISHER_ROLES, response=RecordingOut, tag="recordings",
        ),
        Route(
            "GET", RECORDING + r"/tracks/{track_id:\d+}/media", track_media,
            name="api-recording-track-media",
            summary="Stream a recorded track",
            description=(
                "The track's WebM or Matroska file; answers HTTP Range requests (206) so the "
                "player seeks."
            ),
            roles=CLINICAL_READERS, media_types=TRACK_MEDIA_TYPES, tag="recordings",
        ),
    ]


__all__ = ["routes"]
