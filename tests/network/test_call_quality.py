"""What people in a call see when a hospital's line is poor (issue 22.4), on a real link: a
P2P call between the hospital and an open site of the namespace network, then loss on the
hospital's downlink, then a narrow uplink (token buckets and random drops on the router, as in
`topology.py`). The hospital's page must name the reason on the right tile, and say that its
own video was lowered."""

from __future__ import annotations

import pytest

from tests.browser.calls import Person, wait_until
from tests.network.conftest import Stage
from tests.network.test_turn_calls import call_across

pytestmark = [pytest.mark.network, pytest.mark.browser, pytest.mark.timeout(240)]


def verdict(person: Person, key: str) -> tuple[str, str]:
    """(level, words) of the bars on the camera tile `key` ("<peer id>" or "self")."""
    bars = person.page.locator(f'[data-key="{key}:camera"] .tile-quality')
    if bars.count() == 0 or bars.get_attribute("hidden") is not None:
        return ("", "")
    return (bars.get_attribute("data-level") or "", bars.get_attribute("aria-label") or "")


def wait_verdict(
    person: Person, key: str, reason: str, what: str, levels: tuple[str, ...] = ("weak", "poor")
) -> tuple[str, str]:
    """Until the tile's bars show one of `levels` and their words name `reason`."""
    seen: list[tuple[str, str]] = []

    def named() -> tuple[str, str] | None:
        found = verdict(person, key)
        seen.append(found)
        return found if found[0] in levels and reason in found[1] else None

    try:
        result: tuple[str, str] = wait_until(named, timeout=60, interval=1, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}; last: {seen[-1] if seen else None}; "
                             f"{person.page.evaluate('window.junta.quality()')}") from None
    return result


def test_loss_and_a_narrow_line_show_on_the_hospitals_tiles(stage: Stage) -> None:
    hospital_network = stage.network
    inside, remote = call_across(stage)
    remote_id = remote.peer_id
    found = wait_verdict(inside, remote_id, "", "a verdict on the remote tile",
                         levels=("good", "weak", "poor"))
    print(f"open line: {found}")

    # 12 % of what reaches the hospital is lost: the remote peer's tile says so.
    rule = hospital_network.add_loss("hospital", 0.12, direction="down")
    level, words = wait_verdict(inside, remote_id, "pérdida de paquetes", "loss on the tile")
    print(f"12 % loss down: {level} / {words}")
    hospital_network.remove_loss(rule)

    # 200 kbit/s up: our own tile names the bandwidth, and the notice says our video is smaller.
    hospital_network.limit_uplink("hospital", 200)
    level, words = wait_verdict(inside, "self", "poco ancho de banda", "bandwidth on our tile")
    print(f"200 kbit/s up: {level} / {words}")
    notice = inside.page.locator("#lowered-notice")
    notice.wait_for(state="visible", timeout=60_000)
    sample = inside.page.evaluate("window.junta.quality()")["samples"][f"p2p:{remote_id}"]
    video = next(t for t in sample["outbound"] if t["kind"] == "video")
    print(f"our video sent at {video['width']}x{video['height']} "
          f"({video['limitation']}), camera {video['sourceHeight']} high; "
          f"{sample['availableOutKbps']} kbit/s available")
    assert video["height"] < video["sourceHeight"]
