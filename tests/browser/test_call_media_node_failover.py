"""A media node killed (SIGKILL) during a recorded SFU call: the room is re-placed on the other
node and the pages decode video again within 10 s, without a reload; the recording is marked
interrupted and keeps what was written.

A private `redis-server` and two `junta media` processes registered in it; the web app (the
test's `LiveServer`, JUNTA_MEDIA_FLEET) places the room; three Chromium pages in a consultation
of three (so through the SFU), being recorded. It lives beside the other browser tests to share
their one Chromium (Playwright allows one sync instance per thread).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from casebook.models import Recording, RecordingTrack
from tests.browser.calls import (
    CONSULTATION,
    COORDINATOR,
    LARAZA,
    MERIDA,
    Person,
    enter,
    open_person,
    wait_until,
)
from tests.browser.test_call_recording import answer_dialog, indicator_shown
from tests.faults.servers import MEDIA_SECRET, JuntaMediaNode, RedisServer
from tests.live import LiveServer
from web.app.keys import SESSIONS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

PREFIX = "faults-media:"

# Video frames decoded from `remote` on the page's subscription, counted only on a subscribe
# connection opened after the kill (the old one is marked), -1 while there is none.
FRAMES_AFTER_KILL = """async (remote) => {
  const sfu = window.junta.sfu;
  const pc = sfu && sfu.subscribePc;
  if (!pc || pc.beforeKill) return -1;
  let frames = 0;
  for (const s of (await pc.getStats()).values()) {
    const info = s.type === "inbound-rtp" && s.kind === "video" ? sfu.tracksByMid[s.mid] : null;
    if (info && info.peer_id === remote) frames += s.framesDecoded || 0;
  }
  return frames;
}"""


@pytest.fixture
def fleet(
    tmp_path: Path, demo_templates: Any
) -> Iterator[tuple[LiveServer, list[JuntaMediaNode], RedisServer]]:
    redis_server = RedisServer(tmp_path).start()
    database = tmp_path / "call.db"
    shutil.copyfile(demo_templates.sqlite(), database)
    workdir = tmp_path / "live"
    nodes = [
        JuntaMediaNode(tmp_path, f"media-{name}", redis_url=redis_server.url, prefix=PREFIX,
                       recordings_dir=workdir / "recordings")
        for name in ("a", "b")
    ]
    server = LiveServer(
        workdir, database_url=f"sqlite+aiosqlite:///{database}", reconnect_grace=20.0,
        redis_url=redis_server.url, redis_prefix=PREFIX, media_fleet=True,
        media_secret=MEDIA_SECRET,
    )
    try:
        for node in nodes:
            node.start()
        server.start()
        yield server, nodes, redis_server
    finally:
        server.stop()
        for node in nodes:
            node.stop()
        redis_server.stop()


def node_of_room(redis_url: str, nodes: list[JuntaMediaNode], room: str) -> JuntaMediaNode:
    client = redis.Redis.from_url(redis_url)
    try:
        node_id = client.get(f"{PREFIX}room:{{{room}}}:media")
        assert node_id is not None, "the room is placed on no node"
        registration = client.get(f"{PREFIX}media:node:{node_id.decode()}")
        assert registration is not None, "the room's node is not registered"
        url = json.loads(registration)["url"]
    finally:
        client.close()
    return next(node for node in nodes if node.url == url)


def stored(server: LiveServer, recording_id: str) -> tuple[str | None, int]:
    async def load() -> tuple[str | None, int]:
        async with server.app[SESSIONS]() as db:
            recording = await db.get(Recording, recording_id)
            tracks = await db.scalar(select(func.count()).select_from(RecordingTrack).where(
                RecordingTrack.recording_id == recording_id))
            return (recording.status if recording else None), int(tracks or 0)

    return server.run(load())


def test_a_killed_media_node_moves_the_room_and_interrupts_its_recording(
    fleet: tuple[LiveServer, list[JuntaMediaNode], RedisServer], browser: Any,
) -> None:
    server, nodes, redis_server = fleet
    people: list[Person] = []
    try:
        chair, guest, third = (open_person(browser, server, email)
                               for email in (LARAZA, MERIDA, COORDINATOR))
        people.extend([chair, guest, third])
        enter(people, server, CONSULTATION)
        wait_until(lambda: all(p.mode() == "sfu" for p in people), timeout=20,
                   what="the third joiner moving the call to the SFU")

        # Recording moves the call to the SFU, on the node the room is placed on.
        chair.page.click("#btn-record")
        answer_dialog(chair, agree=True)
        answer_dialog(guest, agree=True)
        answer_dialog(third, agree=True)
        pairs = [(viewer, remote.peer_id) for viewer in people for remote in people
                 if remote is not viewer]
        for viewer, remote in pairs:
            wait_until(lambda v=viewer, r=remote: v.sfu_frames().get(f"{r}:camera", 0) >= 20,
                       timeout=30, what=f"{viewer.email} to decode through the SFU")
        recording_id = chair.page.evaluate("window.junta.recording().id")
        assert recording_id
        time.sleep(3)  # a few one-second clusters on disk

        doomed = node_of_room(redis_server.url, nodes, CONSULTATION)
        for person in people:
            person.page.evaluate("window.junta.sfu.subscribePc.beforeKill = true")
        doomed.kill()
        killed = time.monotonic()

        for viewer, remote in pairs:
            wait_until(
                lambda v=viewer, r=remote: v.page.evaluate(FRAMES_AFTER_KILL, r) >= 10,
                timeout=max(0.1, 10 - (time.monotonic() - killed)),
                what=f"{viewer.email} to decode {remote} again after the kill",
            )
        recovered_in = time.monotonic() - killed
        assert recovered_in < 10, recovered_in
        survivor = node_of_room(redis_server.url, nodes, CONSULTATION)
        assert survivor is not doomed

        # The recording stopped with the node: the pages say so, the record says interrupted,
        # and the files keep what was written before the kill.
        for person in people:
            wait_until(lambda p=person: not indicator_shown(p), timeout=10,
                       what=f"{person.email}'s recording indicator to go")
        _, tracks = wait_until(
            lambda: (found := stored(server, recording_id))[0] == "interrupted" and found,
            timeout=10, what="the recording marked interrupted",
        )
        assert tracks >= 4, tracks  # at least two people's audio and video
        directory = server.settings.recordings_dir / recording_id
        manifest = json.loads((directory / "manifest.json").read_text())
        assert manifest["interrupted"] is True
        assert all((directory / t["file"]).stat().st_size > 0 for t in manifest["tracks"])
        for person in people:
            assert person.page.url.endswith(f"/rooms/{CONSULTATION}")  # never reloaded
        print(f"result: media node killed -> video decoded again in {recovered_in:.1f} s")
    except AssertionError as failure:
        pages = "\n\n".join(person.debug() for person in people)
        raise AssertionError(f"{failure}\n\nthe pages:\n{pages}") from None
    finally:
        for person in people:
            person.context.close()
