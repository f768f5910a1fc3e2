"""Simulcast through the SFU (issue 22): in SFU mode Chromium publishes its camera in three
qualities, one transceiver each, and the other page receives that camera as one video track.

Which quality the other page gets depends on its link's feedback; on a loaded test machine that
can be any of them, so only the shape is checked here (the choice is tested in
`tests/media/test_simulcast.py` and the pure selector's tests)."""

from __future__ import annotations

import re

import pytest

from tests.browser.calls import OpenPeople, chair_and_waiting_guest, wait_until
from tests.browser.test_call_sfu import assert_sfu_video_flows, wait_sfu
from tests.live import LiveServer

pytestmark = pytest.mark.browser

# The frame widths the publish leg's camera encodings are sending (each has encoded frames).
PUBLISHED_WIDTHS = """async () => {
  const pc = window.junta.sfu && window.junta.sfu.publishPc;
  if (!pc) return [];
  const widths = [];
  for (const s of (await pc.getStats()).values()) {
    const sending = s.type === "outbound-rtp" && s.kind === "video" && s.framesEncoded > 0;
    if (sending) widths.push(s.frameWidth || 0);
  }
  return widths.sort((a, b) => a - b);
}"""


def test_the_camera_goes_out_in_three_qualities_and_arrives_as_one_track(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    chair, guest = chair_and_waiting_guest(open_people, call_server)
    chair.open_panel("people")
    entry = chair.page.locator(f'#waiting-list li[data-peer-id="{guest.peer_id}"]')
    entry.get_by_role("button", name=re.compile("^Admitir")).click()
    guest.page.wait_for_selector('#call[data-view="incall"]', timeout=10_000)
    wait_sfu(chair)
    wait_sfu(guest)

    assert_sfu_video_flows(guest, [chair.peer_id])
    assert_sfu_video_flows(chair, [guest.peer_id])
    # The fake camera is 640x480, the layers scaled down by 1, 2 and 4 (Chromium may scale all
    # of them down further when the machine is short of CPU, keeping their order).
    widths = wait_until(
        lambda: len(w := chair.page.evaluate(PUBLISHED_WIDTHS)) == 3 and all(w) and w,
        timeout=30,
        what="three camera encodings sending",
    )
    low, mid, top = widths
    assert top <= 640 and low < mid < top, widths
    tracks = guest.page.evaluate("Object.values(window.junta.sfu.tracksByMid)")
    chair_video = [t for t in tracks if t["peer_id"] == chair.peer_id and t["kind"] == "video"]
    assert len(chair_video) == 1 and chair_video[0]["source"] == "camera"
