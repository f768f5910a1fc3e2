"""What people in a call see of its connections (issue 22.4): a quality indicator on each tile,
the details panel for the hospital's IT, and "audio only", which stops the video coming in while
the voices go on, peer to peer and through the SFU. The verdict's thresholds are tested on the
page's own module (linkquality.js) in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.calls import (
    OpenPeople,
    Person,
    admit_waiting_guest,
    chair_and_waiting_guest,
    wait_connected,
    wait_until,
)
from tests.live import LiveServer

pytestmark = pytest.mark.browser

# What arrives from `remote` on the connection carrying its media: video frames decoded and
# audio packets received (on the SFU subscription, only the mids its tracks map to `remote`).
INBOUND = """async (remote) => {
  const pc = window.junta.mediaPc(remote);
  const sfu = window.junta.sfu;
  const out = { video: 0, audio: 0 };
  if (!pc) return out;
  for (const s of (await pc.getStats()).values()) {
    if (s.type !== "inbound-rtp") continue;
    if (sfu && pc === sfu.subscribePc) {
      const info = sfu.tracksByMid[s.mid];
      if (!info || info.peer_id !== remote) continue;
    }
    if (s.kind === "video") out.video += s.framesDecoded || 0;
    else out.audio += s.packetsReceived || 0;
  }
  return out;
}"""

# The page's own verdict module on made-up readings: two readings 2 s apart of one connection
# (a path relayed over TLS, audio in, video out) with the loss, RTT and bandwidth of each case.
JUDGE = """async () => {
  const q = await import("/static/js/call/linkquality.js");
  const stats = (lost, received, rtt, bitrate, sent, limitation) => [
    { id: "T", type: "transport", selectedCandidatePairId: "P" },
    { id: "P", type: "candidate-pair", localCandidateId: "L", remoteCandidateId: "R",
      currentRoundTripTime: rtt, availableOutgoingBitrate: bitrate,
      bytesSent: sent, bytesReceived: sent },
    { id: "L", type: "local-candidate", candidateType: "relay", protocol: "udp",
      relayProtocol: "tls" },
    { id: "R", type: "remote-candidate", candidateType: "host", protocol: "udp" },
    { id: "I", type: "inbound-rtp", kind: "audio", mid: "0", packetsReceived: received,
      packetsLost: lost },
    { id: "O", type: "outbound-rtp", kind: "video", mid: "1", bytesSent: sent,
      frameWidth: 320, frameHeight: 180, framesPerSecond: 15,
      qualityLimitationReason: limitation, mediaSourceId: "S" },
    { id: "S", type: "media-source", kind: "video", width: 640, height: 360 },
  ];
  const at = (report, ms) => report.map((s) => ({ ...s, timestamp: ms }));
  const judge = (lost, rtt, bitrate, limitation = "none") => {
    const first = q.readConnection(at(stats(0, 0, rtt, bitrate, 1000, "none"), 1000));
    const later = stats(lost, 1000 - lost, rtt, bitrate, 251000, limitation);
    const second = q.readConnection(at(later, 3000), first);
    return { ...q.assess(second), kbpsOut: second.kbpsOut, lowered: q.videoLowered(second),
             route: q.route(second.path), relay: second.path.relayProtocol,
             loss: second.lossInPct };
  };
  // Limited by bandwidth but still sent at the camera's size (a call's first seconds).
  const rampUp = [
    { id: "O", type: "outbound-rtp", kind: "video", frameHeight: 360, bytesSent: 1,
      qualityLimitationReason: "bandwidth", mediaSourceId: "S" },
    { id: "S", type: "media-source", kind: "video", height: 360 },
  ];
  // A camera sent in two qualities: the small one is small on purpose, the best is whole.
  const layers = (bestHeight) => [
    { id: "S", type: "media-source", kind: "video", height: 360 },
    { id: "O1", type: "outbound-rtp", kind: "video", mid: "1", frameHeight: bestHeight,
      bytesSent: 1, qualityLimitationReason: "bandwidth", mediaSourceId: "S" },
    { id: "O2", type: "outbound-rtp", kind: "video", mid: "2", frameHeight: 90, bytesSent: 1,
      qualityLimitationReason: "bandwidth", mediaSourceId: "S" },
  ];
  return {
    layersWhole: q.videoLowered(q.readConnection(layers(360))),
    layersLowered: q.videoLowered(q.readConnection(layers(180))),
    fine: judge(0, 0.05, 2_000_000),
    lossy: judge(50, 0.05, 2_000_000),
    lossier: judge(120, 0.05, 2_000_000),
    slow: judge(0, 0.45, 2_000_000),
    far: judge(0, 0.9, 2_000_000),
    narrow: judge(0, 0.05, 200_000, "bandwidth"),
    starved: judge(30, 0.4, 80_000, "bandwidth"),
    unknown: q.assess(q.readConnection([])),
    rampUp: q.videoLowered(q.readConnection(rampUp)),
    worst: q.worst([{ level: "weak", reasons: ["rtt"] }, { level: "good", reasons: [] },
                    { level: "weak", reasons: ["loss"] }]),
  };
}"""

# Our video to `remote` capped at 60 kbit/s, as on a narrow link.
CAP_VIDEO = """(remote) => {
  const pc = window.junta.pcs.get(remote);
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === "video");
  const parameters = sender.getParameters();
  parameters.encodings[0].maxBitrate = 60000;
  return sender.setParameters(parameters);
}"""


def inbound(person: Person, remote: str) -> dict[str, int]:
    return dict(person.page.evaluate(INBOUND, remote))


def indicator(person: Person, remote: str) -> Any:
    """The bars on the camera tile of `remote` (a peer id, or "self")."""
    return person.page.locator(f'[data-key="{remote}:camera"] .tile-quality')


def wait_indicator(person: Person, remote: str) -> str:
    """The tile of `remote` shows its bars with a level; returns the level."""
    bars = indicator(person, remote)
    try:
        bars.wait_for(state="visible", timeout=45_000)
    except Exception as error:
        quality = person.page.evaluate("window.junta.quality()")
        raise AssertionError(f"no bars on {remote}'s tile: {error}; {quality}") from None
    level = bars.get_attribute("data-level")
    assert level in ("good", "weak", "poor"), level
    return str(level)


def assert_audio_only_stops_video(person: Person, remote: str) -> None:
    """Audio only on: `remote`'s video frames stop growing, its audio packets keep coming; off
    again: the video is back."""
    wait_until(lambda: inbound(person, remote)["video"] > 10, timeout=30,
               what=f"{person.email} to decode video of {remote}")
    person.page.click("#btn-audio-only")
    assert person.page.locator("#btn-audio-only").get_attribute("aria-pressed") == "true"

    # Frames already on their way are decoded; then nothing more comes.
    def settled() -> int | None:
        before = inbound(person, remote)["video"]
        person.page.wait_for_timeout(1500)
        return before if inbound(person, remote)["video"] == before else None

    frozen = wait_until(settled, timeout=20, interval=0,
                        what=f"{person.email} to stop receiving video of {remote}")
    heard = inbound(person, remote)["audio"]
    person.page.wait_for_timeout(2000)
    now = inbound(person, remote)
    assert now["video"] == frozen, now
    assert now["audio"] > heard + 20, (heard, now)
    # The tile shows the avatar instead of a frozen picture.
    tile = person.page.locator(f'[data-key="{remote}:camera"]')
    assert tile.get_attribute("data-video") == "off"

    person.page.click("#btn-audio-only")
    wait_until(lambda: inbound(person, remote)["video"] > frozen + 10, timeout=30,
               what=f"{person.email} to decode video of {remote} again")
    assert tile.get_attribute("data-video") == "on"


def test_the_verdict_follows_loss_delay_and_bandwidth(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    [person] = open_people(call_server, "especialista.laraza@junta.example")
    person.page.goto(call_server.url + "/privacy")
    verdicts = person.page.evaluate(JUDGE)
    assert verdicts["fine"]["level"] == "good" and verdicts["fine"]["reasons"] == []
    assert verdicts["fine"]["kbpsOut"] == 1000  # 250,000 bytes in 2 s
    assert verdicts["fine"]["route"] == "relay" and verdicts["fine"]["relay"] == "tls"
    assert verdicts["lossy"]["loss"] == 5.0
    assert (verdicts["lossy"]["level"], verdicts["lossy"]["reasons"]) == ("weak", ["loss"])
    assert (verdicts["lossier"]["level"], verdicts["lossier"]["reasons"]) == ("poor", ["loss"])
    assert (verdicts["slow"]["level"], verdicts["slow"]["reasons"]) == ("weak", ["rtt"])
    assert (verdicts["far"]["level"], verdicts["far"]["reasons"]) == ("poor", ["rtt"])
    narrow = verdicts["narrow"]
    assert (narrow["level"], narrow["reasons"], narrow["lowered"]) == ("weak", ["bandwidth"], True)
    # The worst first: bandwidth and loss are poor, the delay only weak.
    assert verdicts["starved"]["level"] == "poor"
    assert verdicts["starved"]["reasons"] == ["bandwidth", "loss", "rtt"]
    assert verdicts["unknown"] == {"level": None, "reasons": []}
    assert verdicts["worst"] == {"level": "weak", "reasons": ["rtt", "loss"]}
    assert verdicts["fine"]["lowered"] is False
    assert verdicts["rampUp"] is False
    assert verdicts["layersWhole"] is False and verdicts["layersLowered"] is True


def test_a_pair_sees_each_others_connection_and_the_details_panel(
    pair: tuple[Person, Person],
) -> None:
    a, b = pair
    b_id = b.peer_id
    level = wait_indicator(a, b_id)
    label = indicator(a, b_id).get_attribute("aria-label") or ""
    assert label.startswith({"good": "Conexión buena", "weak": "Conexión débil",
                             "poor": "Conexión mala"}[level]), label
    wait_indicator(a, "self")  # our own uplink, on our own tile

    a.page.click("#btn-network")
    assert a.page.locator("#panel-title").inner_text() == "Detalles de la conexión"
    link = a.page.locator('#network-list .network-connection[data-leg="p2p"]')
    link.wait_for(timeout=10_000)
    assert "Canul" in link.locator("h4").inner_text()
    # Two pages on one machine: a direct path between host candidates.
    assert link.get_attribute("data-route") == "direct"
    assert link.get_attribute("data-candidate") == "host"

    def stat(term: str) -> str:
        return str(link.locator(f'dt:text-is("{term}") + dd').inner_text())

    assert stat("Ruta").startswith("Directa (UDP")
    wait_until(lambda: stat("Recibido").endswith("kbit/s") and int(stat("Recibido").split()[0]) > 0,
               timeout=15, what="a bitrate received in the details")
    assert int(stat("Enviado").split()[0]) > 0
    assert stat("Tiempo de ida y vuelta").endswith("ms")
    tracks = link.locator(".network-tracks li").all_inner_texts()
    assert any(t.startswith("Su micrófono") for t in tracks), tracks
    wait_until(lambda: any("×" in t and "imágenes por segundo" in t
                           for t in link.locator(".network-tracks li").all_inner_texts()),
               timeout=15, what="the received video's size and frame rate in the details")


def test_audio_only_stops_the_video_of_a_p2p_peer_and_keeps_the_voice(
    pair: tuple[Person, Person],
) -> None:
    a, b = pair
    assert_audio_only_stops_video(a, b.peer_id)
    # b was told nothing and still receives a's video.
    wait_until(lambda: inbound(b, a.peer_id)["video"] > 0, timeout=10, what="b's video of a")


def test_audio_only_through_the_sfu_and_the_quality_of_each_participant(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    chair, guest = chair_and_waiting_guest(open_people, call_server)
    admit_waiting_guest(chair, guest)
    wait_connected(chair, guest)
    assert guest.mode() == "sfu"

    wait_indicator(guest, chair.peer_id)
    guest.page.click("#btn-network")
    legs = guest.page.locator("#network-list .network-connection")
    wait_until(lambda: {legs.nth(i).get_attribute("data-leg") for i in range(legs.count())}
               >= {"publish", "subscribe"}, timeout=15, what="both SFU legs in the details")

    assert_audio_only_stops_video(guest, chair.peer_id)
    assert guest.state()["sfu"]["receiveVideo"] is True


def test_a_notice_says_when_our_video_was_lowered_to_save_bandwidth(
    pair: tuple[Person, Person],
) -> None:
    a, b = pair
    notice = a.page.locator("#lowered-notice")
    assert notice.get_attribute("role") == "status"
    assert notice.get_attribute("aria-live") == "polite"
    # A link of 60 kbit/s for our video: the browser sends it smaller, "limited by bandwidth".
    a.page.evaluate(CAP_VIDEO, b.peer_id)
    notice.wait_for(state="visible", timeout=30_000)
    assert notice.inner_text().startswith("Bajamos la calidad de su video")
