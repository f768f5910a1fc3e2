"""The recordings library over HTTP: who gets what (404s that do not leak), audited playback,
media served with Range requests, publishing with its confirmation, the pages in both languages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from casebook import demo, recordings
from casebook.db import create_engine, session_factory
from casebook.models import AuditEvent, Recording, RecordingStatus, User
from tests.casebook.recording_samples import copy_sample
from tests.web.api_helpers import Login, sign_in
from web.app.keys import SESSIONS, SETTINGS

LECTURE_ROOM = "sesion-academica"


async def _user(client: TestClient[Any, Any], email: str) -> str:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(select(User.id).where(User.email == email))
    assert found is not None
    return found


async def _recording(
    client: TestClient[Any, Any], room_id: str, started_by: str, recording_id: str
) -> list[int]:
    """A finished recording with real files; returns its track row ids."""
    async with client.app[SESSIONS]() as db:
        await recordings.begin_recording(
            db, room_id=room_id, started_by_user_id=await _user(client, started_by),
            recording_id=recording_id,
        )
        manifest = copy_sample(client.app[SETTINGS].recordings_dir, recording_id, room_id)
        await recordings.complete_recording(
            db, manifest, {"peer-lecturer": "Dr. Alejandro Montes", "peer-screen": "Pantalla"}
        )
        tracks = await recordings.tracks_of(db, recording_id)
        await db.commit()
    return [t.id for t in tracks]


async def _count(client: TestClient[Any, Any], action: str, recording_id: str) -> int:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.target_id == recording_id)
        )
    return int(found or 0)


async def test_a_trainee_gets_404_on_a_case_discussion_and_an_attendee_plays_it(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    tracks = await _recording(web_client, demo.BOARD_ROOM, demo.COORDINATOR, "board-rec")
    media = f"/api/recordings/board-rec/tracks/{tracks[0]}/media"

    trainee = await sign_in(web_client, login_as, demo.TRAINEE)
    for path in ("/api/recordings/board-rec", media):
        reply = await trainee.call("GET", path)
        assert reply.status == 404, path
        assert (await reply.json())["error"]["code"] == "not_found"
    # The same answer as for a recording that does not exist at all.
    missing = await trainee.call("GET", "/api/recordings/no-such-recording")
    assert (missing.status, await missing.json()) == (404, await (await trainee.call(
        "GET", "/api/recordings/board-rec")).json())
    page = await web_client.get("/recordings/board-rec")
    assert page.status == 404
    listing = await trainee.ok("GET", "/api/recordings")
    assert listing["total"] == 0

    attendee = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    body = await attendee.ok("GET", "/api/recordings/board-rec")
    assert body["kind"] == "case_discussion"
    assert [t["kind"] for t in body["tracks"]] == ["video", "video", "audio"]
    assert body["may_publish"] is False  # invited, not the chair
    page = await web_client.get("/recordings/board-rec")
    assert page.status == 200
    assert (await web_client.get(media)).status == 200


async def test_playback_is_audited_once_per_page_not_per_byte_range(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    tracks = await _recording(web_client, LECTURE_ROOM, demo.LECTURER, "lec-rec")
    await sign_in(web_client, login_as, demo.TRAINEE)  # invited to the lecture room
    page = await web_client.get("/recordings/lec-rec")
    assert page.status == 200
    html = await page.text()
    for track in tracks:
        assert f'src="/api/recordings/lec-rec/tracks/{track}/media"' in html
    assert 'data-offset="0.500"' in html  # the screen share starts half a second in
    assert "<script>" not in html
    for track in tracks:
        for start in (0, 100, 1000):
            reply = await web_client.get(
                f"/api/recordings/lec-rec/tracks/{track}/media",
                headers={"Range": f"bytes={start}-{start + 99}"},
            )
            assert reply.status == 206
    assert await _count(web_client, "recording.played", "lec-rec") == 1
    await web_client.get("/recordings/lec-rec")
    assert await _count(web_client, "recording.played", "lec-rec") == 2


async def test_each_download_of_a_track_is_audited_once_not_each_byte_range(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    video, _screen, audio = await _recording(web_client, LECTURE_ROOM, demo.LECTURER, "dl")
    await sign_in(web_client, login_as, demo.TRAINEE)
    media = "/api/recordings/dl/tracks/{}/media"
    # A download (or a player) starts at the first byte, with or without a Range header; the
    # player's later ranges, a seek or its look at the end of the file, continue that download.
    requests = [
        (video, None), (video, "bytes=100-199"), (video, "bytes=500-"), (audio, "bytes=0-"),
        (audio, "bytes=-50"), (audio, "bytes=0-99"),
    ]
    for track, byte_range in requests:
        headers = {"Range": byte_range} if byte_range else {}
        reply = await web_client.get(media.format(track), headers=headers)
        assert reply.status in (200, 206), (track, byte_range, reply.status)
        await reply.read()
    assert (await web_client.get(media.format(999999))).status == 404  # nothing downloaded
    async with web_client.app[SESSIONS]() as db:
        events = (
            await db.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "recording.downloaded")
                .order_by(AuditEvent.id)
            )
        ).all()
    trainee = await _user(web_client, demo.TRAINEE)
    assert [(e.target_id, e.actor_user_id, e.detail) for e in events] == [
        ("dl", trainee, {"track": video}),
        ("dl", trainee, {"track": audio}),
        ("dl", trainee, {"track": audio}),
    ]


async def test_media_is_served_with_range_support_and_its_own_type(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    video, _screen, audio = await _recording(web_client, LECTURE_ROOM, demo.LECTURER, "rng")
    await sign_in(web_client, login_as, demo.LECTURER)
    async with web_client.app[SESSIONS]() as db:
        tracks = {t.id: t for t in await recordings.tracks_of(db, "rng")}
    whole = await web_client.get(f"/api/recordings/rng/tracks/{video}/media")
    data = await whole.read()
    assert whole.status == 200
    assert whole.headers["Content-Type"] == "video/webm"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert len(data) == tracks[video].size_bytes
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file

    part = await web_client.get(
        f"/api/recordings/rng/tracks/{video}/media", headers={"Range": "bytes=100-199"}
    )
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert await part.read() == data[100:200]
    tail = await web_client.get(
        f"/api/recordings/rng/tracks/{audio}/media", headers={"Range": "bytes=-50"}
    )
    assert tail.status == 206
    assert tail.headers["Content-Type"] == "audio/webm"
    assert len(await tail.read()) == 50
    beyond = await web_client.get(
        f"/api/recordings/rng/tracks/{video}/media",
        headers={"Range": f"bytes={len(data) + 10}-"},
    )
    assert beyond.status == 416
    # A track number of another recording (or none) through this recording: 404.
    assert (await web_client.get("/api/recordings/rng/tracks/999999/media")).status == 404


async def test_publishing_needs_the_confirmation_and_opens_the_recording_to_trainees(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await _recording(web_client, demo.BOARD_ROOM, demo.COORDINATOR, "pub")
    trainee_id = await _user(web_client, demo.TRAINEE)
    specialist = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    refused = await specialist.call(
        "POST", "/api/recordings/pub/publish", {"confirm_no_patient_data": True}
    )
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "not_allowed")

    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    missing = await coordinator.call("POST", "/api/recordings/pub/publish", {})
    assert (missing.status, (await missing.json())["error"]["code"]) == (400, "invalid_request")
    unconfirmed = await coordinator.call(
        "POST", "/api/recordings/pub/publish", {"confirm_no_patient_data": False}
    )
    assert unconfirmed.status == 400
    assert (await unconfirmed.json())["error"]["code"] == "confirmation_required"
    published = await coordinator.ok(
        "POST", "/api/recordings/pub/publish",
        {"confirm_no_patient_data": True, "topic": "Meduloblastoma"},
    )
    assert published["published"] is True and published["topic"] == "Meduloblastoma"
    async with web_client.app[SESSIONS]() as db:
        row = await db.get(Recording, "pub")
        assert row is not None
        assert row.published_by_user_id == await _user(web_client, demo.COORDINATOR)
        # The statement in the words the coordinator was shown (es-MX by default).
        assert row.publish_statement is not None
        assert row.publish_statement.startswith("Confirmo que esta grabación")

    trainee = await sign_in(web_client, login_as, demo.TRAINEE)
    listing = await trainee.ok("GET", "/api/recordings?kind=case_discussion")
    assert [r["id"] for r in listing["recordings"]] == ["pub"]
    assert (await trainee.ok("GET", "/api/recordings/pub"))["may_publish"] is False
    assert trainee_id

    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    await coordinator.ok("DELETE", "/api/recordings/pub/publish")
    trainee = await sign_in(web_client, login_as, demo.TRAINEE)
    assert (await trainee.call("GET", "/api/recordings/pub")).status == 404


async def test_the_publish_form_asks_again_without_the_confirmation(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await _recording(web_client, LECTURE_ROOM, demo.LECTURER, "form-pub")
    csrf = await login_as(web_client, demo.LECTURER)
    page = await web_client.get("/recordings/form-pub")
    html = await page.text()
    assert 'action="/recordings/form-pub/publish"' in html
    assert "Confirmo que esta grabación no muestra datos" in html
    again = await web_client.post(
        "/recordings/form-pub/publish", data={"csrf_token": csrf, "topic": "Neuroblastoma"},
        allow_redirects=False,
    )
    assert again.status == 400
    assert "Confirme que la grabación no muestra datos" in await again.text()
    done = await web_client.post(
        "/recordings/form-pub/publish",
        data={"csrf_token": csrf, "topic": "Neuroblastoma", "confirm_no_patient_data": "yes"},
        allow_redirects=False,
    )
    assert (done.status, done.headers["Location"]) == (303, "/recordings/form-pub")
    async with web_client.app[SESSIONS]() as db:
        row = await db.get(Recording, "form-pub")
        assert row is not None and row.published_at is not None
        assert row.topic == "Neuroblastoma"
    page = await web_client.get("/recordings/form-pub")
    assert 'action="/recordings/form-pub/withdraw"' in await page.text()
    # A trainee cannot use the form at all.
    csrf = await login_as(web_client, demo.TRAINEE)
    refused = await web_client.post(
        "/recordings/form-pub/withdraw", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert refused.status == 403


async def test_the_library_page_searches_and_speaks_both_languages(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await _recording(web_client, LECTURE_ROOM, demo.LECTURER, "lib-lecture")
    await _recording(web_client, demo.BOARD_ROOM, demo.COORDINATOR, "lib-board")
    csrf = await login_as(web_client, demo.COORDINATOR)
    page = await web_client.get("/recordings")
    html = await page.text()
    assert page.status == 200
    assert "<h1>Grabaciones</h1>" in html
    assert 'href="/recordings" aria-current="page"' in html
    assert "/recordings/lib-lecture" in html and "/recordings/lib-board" in html
    assert "Discusión de casos" in html and "Clase" in html
    found = await (await web_client.get("/recordings?q=neuroblastoma")).text()
    assert "/recordings/lib-lecture" in found and "/recordings/lib-board" not in found
    by_kind = await (await web_client.get("/recordings?kind=case_discussion")).text()
    assert "/recordings/lib-board" in by_kind and "/recordings/lib-lecture" not in by_kind
    bad = await web_client.get("/recordings?date_from=yesterday")
    assert bad.status == 400
    assert "Algunos filtros no son válidos" in await bad.text()

    await web_client.post("/lang", data={"lang": "en", "csrf_token": csrf, "next": "/recordings"})
    english = await (await web_client.get("/recordings")).text()
    assert "<h1>Recordings</h1>" in english and "Case discussion" in english


async def test_admins_do_not_watch_recordings(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await _recording(web_client, LECTURE_ROOM, demo.LECTURER, "adm")
    admin = await sign_in(web_client, login_as, demo.ADMIN)
    assert (await admin.call("GET", "/api/recordings")).status == 403
    assert (await web_client.get("/recordings")).status == 403
    assert (await web_client.get("/recordings/adm")).status == 403


async def test_the_server_recovers_crashed_recordings_and_purges_expired_ones_on_start(
    app_settings: Any, web_client_factory: Any
) -> None:
    engine = create_engine(app_settings.database_url)
    try:
        async with session_factory(engine)() as db:
            lecturer = await db.scalar(select(User.id).where(User.email == demo.LECTURER))
            assert lecturer is not None
            crashed = await recordings.begin_recording(
                db, room_id=LECTURE_ROOM, started_by_user_id=lecturer, recording_id="crashed"
            )
            crashed.recorder_pid = None  # nobody records it any more
            await recordings.begin_recording(
                db, room_id=LECTURE_ROOM, started_by_user_id=lecturer, recording_id="old"
            )
            manifest = copy_sample(app_settings.recordings_dir, "old", LECTURE_ROOM)
            old = await recordings.complete_recording(db, manifest, {})
            old.ended_at = datetime.now(UTC) - timedelta(
                days=app_settings.recording_retention_days + 1
            )
            await db.commit()
    finally:
        await engine.dispose()

    client = await web_client_factory()
    async with client.app[SESSIONS]() as db:
        for _ in range(50):  # the retention task's first pass runs just after startup
            old_row = await db.get(Recording, "old", populate_existing=True)
            if old_row is not None and old_row.status == RecordingStatus.DELETED:
                break
            await asyncio.sleep(0.1)
        crashed_row = await db.get(Recording, "crashed", populate_existing=True)
        assert crashed_row is not None and crashed_row.status == RecordingStatus.INTERRUPTED
        assert old_row is not None and old_row.status == RecordingStatus.DELETED
    assert not (app_settings.recordings_dir / "old").exists()


async def test_the_openapi_document_describes_the_recordings_api(
    web_client: TestClient[Any, Any],
) -> None:
    document = await (await web_client.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/recordings/{recording_id}/publish"]) == {"post", "delete"}
    media = paths["/api/recordings/{recording_id}/tracks/{track_id}/media"]["get"]
    # What a track is served as (WebM or Matroska, audio or video), not a generic octet-stream.
    assert set(media["responses"]["200"]["content"]) == {
        "audio/webm", "audio/x-matroska", "video/webm", "video/x-matroska"
    }
    listing = paths["/api/recordings"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"q", "kind", "date_from", "page"}
