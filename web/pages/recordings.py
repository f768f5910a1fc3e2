"""The recordings library pages: search the library, play a recording (its tracks side by side on
one timeline), publish it to the training library or withdraw it.

The same `casebook.recordings` services as the JSON API decide who sees what; a recording the
user may not watch is a 404 page. Opening the playback page is the audited playback. The player
is a static script (`/static/js/recordings/player.js`, no inline script: the CSP forbids them);
it reads each track's start offset from data attributes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import recording_library, recordings
from casebook.cases import Caller
from casebook.models import Recording, RecordingKind, RecordingTrack
from casebook.recording_access import PUBLISHER_ROLES, READER_ROLES
from casebook.retention import expires_at
from web.api.recordings import LibraryIn, content_type, media_url, parse_library
from web.app.keys import SESSIONS, SETTINGS
from web.http.errors import WebError
from web.http.routes import Route, caller, page_route
from web.pages.forms import form_fields
from web.render.context import gettext, render
from web.render.local_times import local_time

RECORDING_PATH = "/recordings/{recording_id:[A-Za-z0-9_-]+}"


def _duration(seconds: float | None) -> str:
    """`1:02:03` or `2:03`."""
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _row(recording: Recording) -> dict[str, Any]:
    return {
        "id": recording.id,
        "kind": recording.kind,
        "title": recording.title,
        "topic": recording.topic,
        "status": recording.status,
        "session_id": recording.session_id,
        "started": local_time(recording.started_at),
        "duration": _duration(recording.duration_seconds),
        "published": recording.published_at is not None,
    }


async def library_page(request: web.Request) -> web.StreamResponse:
    """The library: recordings the user may watch, searched and paged."""
    who = caller(request)
    raw = {k: v for k, v in request.query.items() if k in LibraryIn.model_fields}
    error = None
    try:
        filters = parse_library(raw)
    except WebError:
        error = "invalid_filters"
        filters = LibraryIn.model_validate({})
    async with request.app[SESSIONS]() as db:
        page = await recording_library.library(db, who, filters.query())
    kept = {k: v for k, v in raw.items() if k != "page" and v and error is None}

    context = {
        "nav_here": "recordings",
        "recordings": [_row(r) for r in page.recordings],
        "total": page.total,
        "page": page.page,
        "pages": page.pages,
        # The pager macro appends `page=N`.
        "pager_base": "/recordings?" + (urlencode(kept) + "&" if kept else ""),
        "filters": kept,
        "kinds": [k.value for k in RecordingKind],
        "error": error,
    }
    return await render(request, "recordings.html", context, status=400 if error else 200)


def _track(recording_id: str, track: RecordingTrack) -> dict[str, Any]:
    return {
        "id": track.id,
        "kind": track.kind,
        "publisher_name": track.publisher_name,
        "offset": f"{track.start_offset:.3f}",
        "duration": f"{track.duration:.3f}",
        "url": media_url(recording_id, track),
        "content_type": content_type(track),
    }


async def _playback_context(
    request: web.Request, db: AsyncSession, who: Caller, recording: Recording,
    tracks: list[RecordingTrack],
) -> dict[str, Any]:
    retention = request.app[SETTINGS].recording_retention_days
    ended = recording.ended_at or recording.started_at
    consents = await recordings.consents_of(db, recording.id)
    return {
        "nav_here": "recordings",
        "recording": _row(recording),
        "length": f"{recording.duration_seconds or 0:.3f}",
        "videos": [_track(recording.id, t) for t in tracks if t.kind == "video"],
        "audios": [_track(recording.id, t) for t in tracks if t.kind == "audio"],
        "may_publish": await recording_library.may_publish(db, who, recording),
        "publish_statement": gettext(request, recording_library.PUBLISH_STATEMENT),
        "expires": local_time(expires_at(ended, retention)),
        "consents_granted": sum(1 for c in consents if c.granted),
        "consents_refused": sum(1 for c in consents if not c.granted),
        "publish_error": None,
    }


def _recording_id(request: web.Request) -> str:
    return request.match_info["recording_id"]


async def playback_page(request: web.Request) -> web.StreamResponse:
    """Play a recording: every track on one timeline (audited as a playback)."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        recording, tracks = await recording_library.open_playback(db, who, _recording_id(request))
        context = await _playback_context(request, db, who, recording, tracks)
        await db.commit()
    return await render(request, "recordings_play.html", context)


async def publish_submit(request: web.Request) -> web.StreamResponse:
    """Publish to the training library; without the confirmation, the page says what is missing."""
    who = caller(request)
    form = await form_fields(request)
    topic = str(form.get("topic", "")).strip()[:200]
    async with request.app[SESSIONS]() as db:
        recording = await recording_library.find_watchable(db, who, _recording_id(request))
        if form.get("confirm_no_patient_data") != "yes":
            tracks = await recordings.tracks_of(db, recording.id)
            context = await _playback_context(request, db, who, recording, tracks)
            context["publish_error"] = "confirmation_required"
            return await render(request, "recordings_play.html", context, status=400)
        await recording_library.publish(
            db, who, recording, confirmed=True,
            statement=gettext(request, recording_library.PUBLISH_STATEMENT), topic=topic or None,
        )
        await db.commit()
    raise web.HTTPSeeOther(f"/recordings/{recording.id}")


async def withdraw_submit(request: web.Request) -> web.StreamResponse:
    """Take the recording out of the training library."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        recording = await recording_library.find_watchable(db, who, _recording_id(request))
        await recording_library.withdraw(db, who, recording)
        await db.commit()
    raise web.HTTPSeeOther(f"/recordings/{recording.id}")


def routes() -> list[Route]:
    """The library's pages and forms."""
    return [
        page_route("GET", "/recordings", library_page, "recordings", READER_ROLES),
        page_route("GET", RECORDING_PATH, playback_page, "recording", READER_ROLES),
        page_route(
            "POST", RECORDING_PATH + "/publish", publish_submit, "recording-publish",
            PUBLISHER_ROLES,
        ),
        page_route(
            "POST", RECORDING_PATH + "/withdraw", withdraw_submit, "recording-withdraw",
            PUBLISHER_ROLES,
        ),
    ]

