"""The playback page in Chromium: a recording's camera, screen share and audio play together on
one timeline, and after a seek every element is where the timeline says (its offset honoured)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from casebook import demo, recordings
from casebook.models import AuditEvent, User
from tests.casebook.recording_samples import SampleTrack, copy_sample
from tests.live import LiveServer
from web.app.keys import SESSIONS

pytestmark = pytest.mark.browser

LECTURE_ROOM = "sesion-academica"
SCREEN_OFFSET = 1.0
TRACKS = [
    SampleTrack("peer-lecturer", "video", 0.0, 6.0),
    SampleTrack("peer-lecturer", "audio", 0.0, 6.0),
    SampleTrack("peer-screen", "video", SCREEN_OFFSET, 5.0, width=192, height=108),
]
# Media elements as the page has them: where each is, and where the timeline says it should be.
POSITIONS = """
() => {
  const player = document.getElementById("player");
  const t = Number(player.dataset.position);
  return {
    t,
    state: player.dataset.state,
    media: Array.from(player.querySelectorAll(".recording-media")).map((m) => ({
      tag: m.tagName.toLowerCase(),
      offset: Number(m.dataset.offset),
      duration: Number(m.dataset.duration),
      current: m.currentTime,
      paused: m.paused,
      ready: m.readyState,
      error: m.error ? m.error.code : null,
    })),
  };
}
"""


async def _make_recording(server: LiveServer) -> None:
    async with server.app[SESSIONS]() as db:
        lecturer = await db.scalar(select(User.id).where(User.email == demo.LECTURER))
        assert lecturer is not None
        await recordings.begin_recording(
            db, room_id=LECTURE_ROOM, started_by_user_id=lecturer, recording_id="lecture"
        )
        manifest = copy_sample(server.settings.recordings_dir, "lecture", LECTURE_ROOM, TRACKS)
        await recordings.complete_recording(
            db, manifest, {"peer-lecturer": "Dr. Alejandro Montes", "peer-screen": "Diapositivas"}
        )
        await db.commit()


async def _played(server: LiveServer) -> int:
    async with server.app[SESSIONS]() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "recording.played", AuditEvent.target_id == "lecture")
        )
    return int(count or 0)


def _wait(page: Any, check: Any, what: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(POSITIONS)
        if check(state):
            return state
        page.wait_for_timeout(100)
    raise AssertionError(f"{what}: {state}")


def _in_sync(state: dict[str, Any]) -> bool:
    t = state["t"]
    for media in state["media"]:
        local = t - media["offset"]
        playing_now = 0 <= local < media["duration"] - 0.3
        if playing_now and (abs(media["current"] - local) > 0.35 or media["paused"]):
            return False
    return True


def test_the_playback_page_plays_every_track_and_keeps_them_in_sync_after_a_seek(
    browser: Any, live_server: LiveServer
) -> None:
    live_server.run(_make_recording(live_server), timeout=60)
    context = browser.new_context()
    try:
        context.add_cookies([live_server.session_cookie(demo.TRAINEE)])
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.goto(live_server.url + "/recordings/lecture")
        page.wait_for_selector('#player[data-ready="true"]')
        assert page.locator("video.recording-media").count() == 2
        assert page.locator("audio.recording-media").count() == 1
        assert page.locator(".recording-track figcaption").all_inner_texts() == [
            "Dr. Alejandro Montes", "Diapositivas",
        ]

        page.click('#player [data-action="toggle"]')
        first = _wait(page, lambda s: s["t"] > 0.5 and s["media"][0]["current"] > 0.4,
                      "the camera starts playing")
        later = _wait(page, lambda s: s["media"][0]["current"] > first["media"][0]["current"] + 0.5,
                      "the camera's currentTime advances")
        assert later["state"] == "playing"
        # Past its offset the screen share plays too, a second behind the camera.
        _wait(page, lambda s: s["t"] > SCREEN_OFFSET + 0.5 and _in_sync(s),
              "every track playing in step")

        page.eval_on_selector(
            '[data-action="seek"]',
            "(el) => { el.value = '4'; el.dispatchEvent(new Event('change')); }",
        )
        after = _wait(page, lambda s: 4.0 <= s["t"] < 5.5 and _in_sync(s),
                      "in step after seeking to 0:04")
        camera, audio, screen = (
            next(m for m in after["media"] if m["tag"] == "video" and m["offset"] == 0),
            next(m for m in after["media"] if m["tag"] == "audio"),
            next(m for m in after["media"] if m["offset"] == SCREEN_OFFSET),
        )
        assert abs(camera["current"] - audio["current"]) < 0.35
        assert abs(camera["current"] - (screen["current"] + SCREEN_OFFSET)) < 0.35
        assert all(m["error"] is None for m in after["media"])

        page.click('#player [data-action="toggle"]')
        paused = _wait(page, lambda s: s["state"] == "paused", "paused")
        assert all(m["paused"] for m in paused["media"])
        assert not [line for line in console if "error" in line.lower()], console
    finally:
        context.close()
    # One playback, however many byte ranges the player fetched.
    assert live_server.run(_played(live_server)) == 1
