"""Recording through the whole app: the socket server, `RecordingBridge`, the in-process media
node's recorder and the casebook, with aiortc bots as call pages. Nothing is mocked."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import accounts
from casebook.demo import COORDINATOR, SPECIALIST_LA_RAZA, SPECIALIST_MERIDA
from casebook.models import Recording, RecordingConsent, RecordingTrack
from media.recording import read_manifest
from signaling.grants import issue_grant, sign_grant
from tests.signaling.conftest import Participant
from tests.signaling.sfu_bots import SfuBot
from web.app.factory import CALL_NAMESPACE, SETTINGS
from web.app.keys import SESSIONS
from web.calls.recording_bridge import NOTICE, NOTICE_VERSION
from web.render.i18n import I18n

pytestmark = pytest.mark.timeout(60)

ROOM = "interconsulta-lla"
JS_NOTICE = Path(__file__).resolve().parents[3] / "web/static/js/call/recording.js"


class AppPage(Participant):
    """A call page of a demo user, with the join token web would issue them."""

    def __init__(self, url: str, app: Any, user: Any, moderator: bool) -> None:
        super().__init__(url, user.id, ROOM)
        self.app, self.user, self.moderator = app, user, moderator

    def token(self, **overrides: Any) -> str:
        grant = issue_grant(user_id=self.user.id, name=self.user.display_name, room=ROOM,
                            role=self.user.role, now=time.time(), moderate=self.moderator)
        return sign_grant(grant, self.app[SETTINGS].secret_key)


async def page_of(client: TestClient[Any, Any], email: str, moderator: bool) -> SfuBot:
    app = client.server.app
    async with app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, email)
    assert user is not None
    page = AppPage(str(client.make_url("/")).rstrip("/"), app, user, moderator)
    await page.connect()
    bot = SfuBot(page)
    bot.start()
    return bot


def consent(recording_id: str, granted: bool) -> dict[str, Any]:
    return {"recording_id": recording_id, "granted": granted, "notice_version": NOTICE_VERSION,
            "locale": "es-MX"}


async def test_a_recorded_call_keeps_consents_and_only_the_consenting_tracks(
    web_client: TestClient[Any, Any], login_as: Any,
) -> None:
    chair = await page_of(web_client, SPECIALIST_LA_RAZA, moderator=True)
    guest = await page_of(web_client, SPECIALIST_MERIDA, moderator=False)
    bots = [chair, guest]
    try:
        for bot in bots:
            assert (await bot.page.join())["ok"]
        started = await chair.page.call("recording", {"action": "start"})
        assert started["ok"], started
        rid = started["recording"]["id"]
        for bot in bots:
            assert await bot.page.next("mode", within=5) == {"mode": "sfu"}
            assert (await bot.publish())["ok"]
        assert (await chair.page.call("consent", consent(rid, True)))["ok"]
        assert (await guest.page.call("consent", consent(rid, False)))["ok"]

        # Someone about to join is told by the join API and the room page, before entering.
        csrf = await login_as(web_client, COORDINATOR)
        reply = await web_client.post(f"/api/rooms/{ROOM}/join",
                                      headers={"X-CSRF-Token": csrf})
        told = (await reply.json())["recording"]
        assert told["active"] and told["id"] == rid and told["notice_version"] == NOTICE_VERSION
        assert "consent" not in told
        page = await (await web_client.get(f"/rooms/{ROOM}")).text()
        assert re.search(r'"recording": \{"active": true', page), "pre-join is not told"

        await guest.wait_for_video(chair.peer_id, within=10)
        await chair.wait_for_video(guest.peer_id, within=10)
        await asyncio.sleep(1.5)
        assert (await chair.page.call("recording", {"action": "stop"}))["ok"]
    finally:
        for bot in bots:
            await bot.close()
            await bot.page.client.disconnect()

    app = web_client.server.app
    async with app[SESSIONS]() as db:
        recording = await db.get(Recording, rid)
        assert recording is not None and recording.status == "complete"
        assert recording.room_id == ROOM and recording.ended_at is not None
        tracks = (await db.scalars(select(RecordingTrack).where(
            RecordingTrack.recording_id == rid))).all()
        consents = (await db.scalars(select(RecordingConsent).where(
            RecordingConsent.recording_id == rid))).all()
    # The participant who refused has no track in the recording.
    assert {t.publisher_peer_id for t in tracks} == {chair.peer_id}
    assert {t.kind for t in tracks} == {"audio", "video"}
    assert {t.publisher_name for t in tracks} == {chair.page.user.display_name}
    spanish = I18n().client["es_MX"][NOTICE]
    assert {(c.peer_id, c.granted, c.notice_version, c.locale, c.notice_text) for c in consents} \
        == {(chair.peer_id, True, NOTICE_VERSION, "es-MX", spanish),
            (guest.peer_id, False, NOTICE_VERSION, "es-MX", spanish)}
    directory = app[SETTINGS].recordings_dir / rid
    manifest = read_manifest(directory)
    # The folder explains itself: tracks, their offsets, and who the publishers were.
    assert manifest is not None and manifest.recording_id == rid
    assert {t.publisher_id for t in manifest.tracks} == {chair.peer_id}
    assert manifest.participants[chair.peer_id] == chair.page.user.display_name
    assert app[CALL_NAMESPACE].recording is not None
    assert await app[CALL_NAMESPACE].state.get_recording(ROOM) is None


def test_the_page_shows_the_notice_the_server_stores() -> None:
    """recording.js and web/calls/recording_bridge.py must carry the same msgid, or the stored text
    would not be what the page showed."""
    source = JS_NOTICE.read_text()
    block = re.search(r"export const NOTICE =\n(.*?);\n", source, re.S)
    assert block is not None
    assert "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block.group(1))) == NOTICE
    i18n = I18n()
    assert i18n.client["en"][NOTICE] == NOTICE
    assert i18n.client["es_MX"][NOTICE].startswith("Esta sesión se está grabando")


async def test_a_recorder_that_cannot_write_is_a_clear_error_and_no_recording(
    web_client_factory: Any, tmp_path: Path,
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the recordings root should be")
    client = await web_client_factory(recordings_dir=blocked)
    chair = await page_of(client, SPECIALIST_LA_RAZA, moderator=True)
    try:
        assert (await chair.page.join())["ok"]
        failed = await chair.page.call("recording", {"action": "start"})
        assert failed["error"]["code"] == "recording_failed", failed
        assert failed["error"]["message"].startswith("storage_error")
        await chair.page.nothing("recording-state", wait=0.1)
    finally:
        await chair.close()
        await chair.page.client.disconnect()
    app = client.server.app
    assert await app[CALL_NAMESPACE].state.get_recording(ROOM) is None
    async with app[SESSIONS]() as db:
        assert (await db.scalars(select(Recording))).all() == []
