"""Lectures through `/call` with an in-process media node and aiortc bots: receive-only viewers,
raised hands, promotion to speak and demotion, and the paged audience. Nothing is mocked."""

from __future__ import annotations

from typing import Any

import pytest

from media.remote import RemoteMediaNode
from signaling.server import build_socket_server
from tests.media.peers import wait_until
from tests.services import free_port
from web.calls.media_bridge import MediaBridge

from .conftest import SECRET, CallServer, Participant
from .sfu_bots import SfuBot, SfuCallServer, sfu_server
from .socket_site import serve_sockets

__all__ = ["sfu_server"]

pytestmark = pytest.mark.timeout(40)

VIEWER: dict[str, Any] = {"room_kind": "lecture", "publish": False}
PRESENTER: dict[str, Any] = {"room_kind": "lecture", "moderate": True}


async def joined(bot: SfuBot) -> dict[str, Any]:
    ack: dict[str, Any] = await bot.page.join()
    assert ack["ok"] and ack["status"] == "joined", ack
    return ack


async def test_a_viewer_receives_the_presenter_but_may_not_publish(
    sfu_server: SfuCallServer,
) -> None:
    presenter = await sfu_server.bot("presenter", **PRESENTER)
    assert (await joined(presenter))["mode"] == "sfu"
    assert (await presenter.publish())["ok"]
    viewer = await sfu_server.bot("viewer", **VIEWER)
    ack = await joined(viewer)
    assert ack["self"]["audience"] is True
    assert [p["peer_id"] for p in ack["peers"]] == [presenter.peer_id]
    await viewer.wait_for_media(presenter.peer_id, within=8)

    refused = await viewer.publish()
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    assert "promote" in refused["error"]["message"]
    # The room goes on: the presenter never heard of the viewer, only of the audience's size.
    await presenter.page.nothing("peer-joined", wait=0.0)
    assert await presenter.page.next("audience") == {"viewers": 1, "hands": 0}


async def test_raise_hand_promote_publish_and_demote(sfu_server: SfuCallServer) -> None:
    presenter = await sfu_server.bot("presenter", **PRESENTER)
    await joined(presenter)
    assert (await presenter.publish())["ok"]
    viewer = await sfu_server.bot("viewer", **VIEWER)
    await joined(viewer)
    await viewer.wait_for_media(presenter.peer_id, within=8)
    assert await presenter.page.next("audience") == {"viewers": 1, "hands": 0}

    ack = await viewer.page.call("state", {"hand": True})
    assert ack["ok"] and ack["state"]["hand"] is True
    assert await presenter.page.next("audience") == {"viewers": 1, "hands": 1}
    page = await presenter.page.call("lecture", {"action": "viewers"})
    assert page["ok"] and page["hands"] == 1
    assert [(p["peer_id"], p["state"]["hand"]) for p in page["viewers"]] == [
        (viewer.peer_id, True)]

    assert await presenter.page.call("lecture", {"action": "promote",
                                                 "target": viewer.peer_id}) == {"ok": True}
    assert await viewer.page.next("moderated") == {
        "action": "promote", "target": viewer.peer_id, "by": presenter.peer_id}
    on_stage = await presenter.page.next("peer-joined")
    assert on_stage["peer_id"] == viewer.peer_id and on_stage["audience"] is False
    assert on_stage["state"]["hand"] is False
    assert await presenter.page.next("audience") == {"viewers": 0, "hands": 0}

    assert (await viewer.publish())["ok"]
    await presenter.wait_for_media(viewer.peer_id, within=8)

    offers_before = len(presenter.offers)
    assert await presenter.page.call("lecture", {"action": "demote",
                                                 "target": viewer.peer_id}) == {"ok": True}
    assert (await viewer.page.next("moderated"))["action"] == "demote"
    assert await presenter.page.next("peer-left") == {"peer_id": viewer.peer_id,
                                                      "reason": "demoted"}
    # Its tracks ended: the presenter is offered a subscription without them.
    await wait_until(
        lambda: len(presenter.offers) > offers_before and presenter.offers[-1]["tracks"] == {},
        within=10,
    )
    assert presenter.offers[-1]["tracks"] == {}
    refused = await viewer.publish()  # the server closed its old connection
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    # Demoting twice: the peer is no longer on stage.
    again = await presenter.page.call("lecture", {"action": "demote", "target": viewer.peer_id})
    assert again["error"]["code"] == "peer_not_found"


async def test_the_audience_is_paged_hands_first_and_never_broadcast(
    sfu_server: SfuCallServer,
) -> None:
    presenter = await sfu_server.bot("presenter", **PRESENTER)
    await joined(presenter)
    viewers = [await sfu_server.bot(f"viewer-{i}", **VIEWER) for i in range(5)]
    for viewer in viewers:
        await joined(viewer)
    for viewer in (viewers[3], viewers[1]):
        assert (await viewer.page.call("state", {"hand": True}))["ok"]
    # Counts go out periodically (lecture.COUNTS_INTERVAL): wait until a viewer hears the last one
    # (a state change broadcast by mistake would have been sent before it).
    counts: list[Any] = []

    def heard_both_hands() -> bool:
        while not viewers[0].page.received["audience"].empty():
            counts.append(viewers[0].page.received["audience"].get_nowait())
        return bool(counts) and counts[-1] == {"viewers": 5, "hands": 2}

    await wait_until(heard_both_hands, within=10)

    first = await presenter.page.call("lecture", {"action": "viewers", "page": 0, "size": 3})
    second = await presenter.page.call("lecture", {"action": "viewers", "page": 1, "size": 3})
    assert (first["total"], first["hands"], len(first["viewers"])) == (5, 2, 3)
    assert first["viewers"][0]["state"]["hand"] and first["viewers"][1]["state"]["hand"]
    order = [p["peer_id"] for p in first["viewers"] + second["viewers"]]
    assert order == [viewers[i].peer_id for i in (1, 3, 0, 2, 4)]

    # Viewers hear counts, never each other; nobody hears the viewers' state changes.
    for viewer in viewers:
        assert viewer.page.received["peer-joined"].empty()
        assert viewer.page.received["peer-state"].empty()
    assert presenter.page.received["peer-state"].empty()
    assert counts[-1] == {"viewers": 5, "hands": 2}
    # A late viewer learns the counts in its join ack.
    late = await sfu_server.bot("late", **VIEWER)
    assert (await joined(late))["audience"] == {"viewers": 6, "hands": 2}  # itself included

    refused = await viewers[0].page.call("lecture", {"action": "viewers"})
    assert refused["error"]["code"] == "forbidden"
    bad = await presenter.page.call("lecture", {"action": "viewers", "size": 1000})
    assert bad["error"]["code"] == "invalid_payload"


async def test_lecture_actions_belong_to_lecture_rooms(call_server: CallServer) -> None:
    moderator = await call_server.participant("chair", moderate=True)
    ack = await moderator.call("lecture", {"action": "viewers"})
    assert ack["error"] == {"code": "forbidden", "message": "this room is not a lecture"}


async def test_a_lecture_is_refused_while_its_media_node_cannot_be_reached() -> None:
    # A media node in another process that is down: nothing listens on its port.
    node = RemoteMediaNode(f"http://127.0.0.1:{free_port()}", "media-secret", timeout=2)
    sio, namespace = build_socket_server(secret=SECRET, media=MediaBridge(lambda _: node))
    runner, url = await serve_sockets(sio)
    page = Participant(url, "presenter", "room-a", **PRESENTER)
    try:
        await page.connect()
        ack = await page.join()
        assert ack["ok"] is False and ack["error"]["code"] == "media_unavailable"
        # Nobody was let in: the room is still empty, so a retry starts afresh.
        assert await namespace.state.list_peers("room-a") == []
        # A consultation does not need the media node to start.
        other = Participant(url, "alice", "room-b")
        await other.connect()
        assert (await other.join())["mode"] == "p2p"
        await other.client.disconnect()
    finally:
        await page.client.disconnect()
        await namespace.shutdown()
        await node.close()
        await runner.cleanup()
