"""Recording a call in Chromium: the moderator starts it, every page is asked and shows the
indicator, a late joiner is told on its pre-join screen, the moderator stops it, and the
recording is on record (and in the library) with only the consenting participants' tracks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from casebook.models import Recording, RecordingConsent, RecordingTrack
from tests.browser.calls import (
    CONSULTATION,
    COORDINATOR,
    LARAZA,
    OpenPeople,
    Person,
    enter,
    go_to_prejoin,
    join,
    wait_until,
)
from tests.live import LiveServer
from web.app.keys import SESSIONS

pytestmark = pytest.mark.browser


def indicator_shown(person: Person) -> bool:
    return bool(person.page.evaluate(
        "() => { const n = document.getElementById('recording-indicator');"
        " return Boolean(n) && !n.hidden && n.offsetParent !== null; }"
    ))


def answer_dialog(person: Person, *, agree: bool) -> None:
    person.page.wait_for_selector("#recording-dialog[open]", timeout=10_000)
    text = person.page.inner_text("#recording-dialog-text")
    assert text.startswith("Esta sesión se está grabando"), text
    person.page.click("#recording-accept" if agree else "#recording-refuse")
    wait_until(lambda: person.page.evaluate("window.junta.recording().answer") is agree,
               timeout=10, what=f"{person.email}'s answer to reach the server")


def stored(server: LiveServer, recording_id: str) -> dict[str, Any]:
    async def load() -> dict[str, Any]:
        async with server.app[SESSIONS]() as db:
            recording = await db.get(Recording, recording_id)
            tracks = (await db.scalars(select(RecordingTrack).where(
                RecordingTrack.recording_id == recording_id))).all()
            consents = (await db.scalars(select(RecordingConsent).where(
                RecordingConsent.recording_id == recording_id))).all()
            return {
                "status": recording.status if recording else None,
                "title": recording.title if recording else None,
                "publishers": {t.publisher_peer_id for t in tracks},
                "consents": {c.peer_id: c.granted for c in consents},
            }

    return server.run(load())


def test_recording_a_call_with_consent_indicator_and_a_late_joiner(
    pair: tuple[Person, Person], call_server: LiveServer, open_people: OpenPeople,
) -> None:
    chair, guest = pair  # La Raza's specialist moderates the consultation
    assert chair.page.is_visible("#btn-record") and not guest.page.is_visible("#btn-record")
    assert chair.mode() == "p2p"

    chair.page.click("#btn-record")
    answer_dialog(chair, agree=True)
    answer_dialog(guest, agree=True)
    for person in (chair, guest):
        wait_until(lambda p=person: indicator_shown(p), timeout=10,
                   what=f"{person.email}'s recording indicator")
        assert person.page.inner_text("#recording-label") == "Grabando"
        # Recorded rooms go through the SFU: the two-person call moved there.
        wait_until(lambda p=person: p.mode() == "sfu", timeout=20, what="the move to the SFU")
    recording_id = chair.page.evaluate("window.junta.recording().id")

    # A late joiner is told on the pre-join screen, before entering, and refuses.
    [late] = open_people(call_server, COORDINATOR)
    go_to_prejoin(late, call_server, CONSULTATION)
    assert late.page.is_visible("#prejoin-recording")
    late.page.click("#join-button")  # not answered yet: it must choose first
    late.page.wait_for_selector("#join-button:not([disabled])")
    assert late.page.get_attribute("#call", "data-view") == "prejoin"
    late.page.check("#prejoin-consent-no")
    join(late)
    wait_until(lambda: late.page.evaluate("window.junta.recording().answer") is False,
               timeout=10, what="the late joiner's refusal to reach the server")
    assert not late.page.is_visible("#recording-dialog")
    wait_until(lambda: indicator_shown(late), timeout=10, what="the late joiner's indicator")
    elapsed = late.page.inner_text("#recording-elapsed")
    assert elapsed.count(":") == 1, elapsed

    # Media flows through the SFU for a while, then the moderator stops.
    late_id = late.peer_id
    wait_until(lambda: late_id in {t["peer_id"] for t in chair.page.evaluate(
        "Object.values(window.junta.sfu ? window.junta.sfu.tracksByMid : {})")},
        timeout=20, what="the late joiner's tracks to reach the chair")
    chair.page.wait_for_timeout(2000)
    chair.page.click("#btn-record")
    for person in (chair, guest, late):
        wait_until(lambda p=person: not indicator_shown(p), timeout=10,
                   what=f"{person.email}'s indicator to go away")

    record = wait_until(lambda: (r := stored(call_server, recording_id))["status"] == "complete"
                        and r, timeout=10, what="the recording to be complete")
    assert record["consents"] == {chair.peer_id: True, guest.peer_id: True, late_id: False}
    assert record["publishers"] == {chair.peer_id, guest.peer_id}

    # The moderator finds it in the library.
    library = chair.page.goto(f"{call_server.url}/recordings")
    assert library is not None and library.status == 200
    assert record["title"] in chair.page.inner_text("main")

    # ...and plays it: the recorded camera tracks play on the playback page.
    chair.page.goto(f"{call_server.url}/recordings/{recording_id}")
    chair.page.wait_for_selector('#player[data-ready="true"]', timeout=20_000)
    assert chair.page.locator("video.recording-media").count() >= 2
    chair.page.click('#player [data-action="toggle"]')
    wait_until(
        lambda: chair.page.evaluate(
            "() => Array.from(document.querySelectorAll('video.recording-media'))"
            ".every((v) => v.currentTime > 0.5 && !v.error)"
        ),
        timeout=20, what="the recorded videos to play",
    )


def test_a_recorder_failure_shows_a_translated_message(
    call_server: LiveServer, open_people: OpenPeople,
) -> None:
    root = call_server.settings.recordings_dir
    assert not root.exists()
    root.write_text("a file where the recordings root should be")  # the recorder cannot write
    [chair] = open_people(call_server, LARAZA)
    enter([chair], call_server, CONSULTATION)
    chair.page.click("#btn-record")
    chair.page.wait_for_selector(
        "#toasts .toast:has-text('Falló la grabadora. Inténtelo de nuevo en un momento.')",
        timeout=10_000,
    )
    assert not indicator_shown(chair)
    assert not chair.page.is_visible("#recording-dialog")
    assert chair.page.evaluate("window.junta.recording().active") is False
