"""Recording in a call (PROTOCOL.md, "Recording"): real socket.io clients and aiortc bots, an
in-process media node whose recorder writes real files, and the `LedgerRecorder` port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from signaling.server import build_socket_server
from tests.media.peers import wait_until
from web.calls.media_bridge import MediaBridge

from .conftest import CallServer, Participant
from .recording_ledger import NOTICE_VERSION, LedgerRecorder
from .sfu_bots import SFU_GRACE, SfuBot, SfuCallServer
from .socket_site import serve_sockets

pytestmark = pytest.mark.timeout(40)


class RecordingCallServer(SfuCallServer):
    ledger: LedgerRecorder


@pytest.fixture
async def rec_server(tmp_path: Path) -> AsyncIterator[RecordingCallServer]:
    media = MediaBridge.in_process(recordings_dir=tmp_path / "recordings")
    ledger = LedgerRecorder(media)
    sio, namespace = build_socket_server(
        secret=b"test-secret-for-join-tokens-0123", reconnect_grace=SFU_GRACE, media=media,
        recording=ledger,
    )
    runner, url = await serve_sockets(sio)
    server = RecordingCallServer(url, namespace, [], media=media)
    server.ledger = ledger
    yield server
    for bot in server.bots:
        await bot.close()
    for p in server.participants:
        if p.client.connected:
            await p.client.disconnect()
    await namespace.shutdown()
    await media.close()
    await runner.cleanup()


def consent(recording_id: str, granted: bool, **overrides: Any) -> dict[str, Any]:
    return {"recording_id": recording_id, "granted": granted,
            "notice_version": NOTICE_VERSION, "locale": "es-MX", **overrides}


async def joined(bot: SfuBot) -> dict[str, Any]:
    ack: dict[str, Any] = await bot.page.join()
    assert ack["ok"], ack
    return ack


async def next_recording(page: Participant) -> dict[str, Any]:
    event: dict[str, Any] = await page.next("recording-state", within=5)
    return dict(event["recording"])


async def test_a_refusing_participant_stays_in_the_call_but_out_of_the_recording(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.bot("chair", moderate=True)
    guest = await rec_server.bot("guest")
    assert (await joined(chair))["recording"] == {"active": False}
    assert (await joined(guest))["mode"] == "p2p"

    started = await chair.page.call("recording", {"action": "start"})
    assert started["ok"], started
    recording = started["recording"]
    assert recording["active"] and recording["by"] == chair.peer_id
    assert recording["consent"] is None and recording["notice_version"] == NOTICE_VERSION
    # Recorded rooms run through the SFU: the two-peer call moved there first.
    for bot in (chair, guest):
        assert await bot.page.next("mode") == {"mode": "sfu"}
        told = await next_recording(bot.page)
        assert told["active"] and told["id"] == recording["id"] and told["recorded"] == []
    # Nobody had answered: everyone was left out when the recorder started.
    assert rec_server.ledger.calls[0] == ("start", "room-a", recording["id"], "chair",
                                          *sorted([chair.peer_id, guest.peer_id]))

    for bot in (chair, guest):
        assert (await bot.publish())["ok"]
    yes = await chair.page.call("consent", consent(recording["id"], True))
    assert yes["ok"] and yes["recording"]["consent"] is True, yes
    no = await guest.page.call("consent", consent(recording["id"], False))
    assert no["ok"] and no["recording"]["consent"] is False, no
    assert no["recording"]["recorded"] == [chair.peer_id]
    await chair.wait_for_video(guest.peer_id, within=8)  # the refuser is still in the call
    await guest.wait_for_video(chair.peer_id, within=8)
    await asyncio.sleep(1.5)  # some media for the files

    stopped = await chair.page.call("recording", {"action": "stop"})
    assert stopped == {"ok": True, "recording": {"active": False}}
    for bot in (chair, guest):
        assert (await until_stopped(bot.page)) == {"active": False}
    manifest = rec_server.ledger.manifests[0]
    assert manifest.recording_id == recording["id"]
    assert {t.publisher_id for t in manifest.tracks} == {chair.peer_id}
    assert {t.kind for t in manifest.tracks} == {"audio", "video"}
    assert rec_server.ledger.stopped_with == [{chair.peer_id: "Dr. chair"}]
    answers = {(a.peer_id, a.granted, a.user_id, a.locale) for a in rec_server.ledger.consents}
    assert answers == {(chair.peer_id, True, "chair", "es-MX"),
                       (guest.peer_id, False, "guest", "es-MX")}


async def until_stopped(page: Participant) -> dict[str, Any]:
    """The `recording-state` that ends the recording (those before it told of answers)."""
    while (told := await next_recording(page))["active"]:
        pass
    return told


async def test_only_moderators_record_and_answers_must_fit_the_running_recording(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.participant("chair", moderate=True)
    guest = await rec_server.participant("guest")
    refused = await guest.call("recording", {"action": "start"})
    assert refused["error"]["code"] == "forbidden"
    assert (await chair.call("recording", {"action": "stop"}))["error"]["code"] == "not_recording"
    assert (await guest.call("consent", consent("nope", True)))["error"]["code"] == \
        "not_recording"
    assert (await chair.call("recording", {"action": "pause"}))["error"]["code"] == \
        "invalid_payload"
    await guest.nothing("recording-state", wait=0.1)

    started = await chair.call("recording", {"action": "start"})
    rid = started["recording"]["id"]
    again = await chair.call("recording", {"action": "start"})
    assert again["error"]["code"] == "already_recording"
    stale = await guest.call("consent", consent(rid, True, notice_version="0"))
    assert stale["error"]["code"] == "notice_outdated"
    odd = await guest.call("consent", consent(rid, True, locale="fr"))
    assert odd["error"]["code"] == "invalid_payload"
    assert (await guest.call("consent", {"recording_id": rid}))["error"]["code"] == \
        "invalid_payload"
    assert (await guest.call("recording", {"action": "stop"}))["error"]["code"] == "forbidden"
    assert not [c for c in rec_server.ledger.calls if c[0] in ("consent", "stop")]
    assert (await chair.call("recording", {"action": "stop"}))["ok"]


async def test_a_late_joiner_is_told_and_left_out_until_it_consents(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.bot("chair", moderate=True)
    await joined(chair)
    rid = (await chair.page.call("recording", {"action": "start"}))["recording"]["id"]
    assert (await chair.publish())["ok"]

    late = await rec_server.bot("late")
    ack = await joined(late)
    assert ack["mode"] == "sfu"
    assert ack["recording"]["active"] and ack["recording"]["id"] == rid
    assert ack["recording"]["consent"] is None
    # Left out before its join was answered, so before it could publish anything.
    assert ("exclude", "room-a", late.peer_id) in rec_server.ledger.calls
    assert (await late.publish())["ok"]
    await late.wait_for_video(chair.peer_id, within=8)
    assert (await late.page.call("consent", consent(rid, True)))["ok"]
    assert rec_server.ledger.calls[-1] == ("include", "room-a", late.peer_id)
    await asyncio.sleep(1.5)
    assert (await chair.page.call("recording", {"action": "stop"}))["ok"]
    manifest = rec_server.ledger.manifests[0]
    # The chair never answered: unanswered is left out, like a refusal.
    assert {t.publisher_id for t in manifest.tracks} == {late.peer_id}


async def test_the_recording_stops_when_no_moderator_is_left(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.participant("chair", moderate=True)
    guest = await rec_server.participant("guest")
    rid = (await chair.call("recording", {"action": "start"}))["recording"]["id"]
    assert (await chair.call("consent", consent(rid, True)))["ok"]
    assert (await chair.call("leave")) == {"ok": True}
    assert await until_stopped(guest) == {"active": False}
    assert rec_server.ledger.calls[-1] == ("stop", "room-a")
    assert rec_server.ledger.stopped_with == [{chair.peer_id: "Dr. chair"}]
    # The room goes on, unrecorded; a new moderator finds it so.
    other = await rec_server.participant("other", moderate=True)
    assert other.received["recording-state"].empty()
    assert (await other.call("recording", {"action": "stop"}))["error"]["code"] == \
        "not_recording"


async def test_the_recording_stops_when_the_room_empties_through_a_timeout(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.participant("chair", moderate=True)
    assert (await chair.call("recording", {"action": "start"}))["ok"]
    await chair.client.disconnect()  # gone for good: the grace runs out
    await wait_until(lambda: len(rec_server.ledger.manifests) == 1, SFU_GRACE + 3)
    for _ in range(50):
        if await rec_server.namespace.state.get_recording("room-a") is None:
            break
        await asyncio.sleep(0.02)
    assert await rec_server.namespace.state.get_recording("room-a") is None
    assert rec_server.ledger.manifests[0].tracks == ()


async def test_a_reconnecting_page_keeps_its_answer(rec_server: RecordingCallServer) -> None:
    chair = await rec_server.participant("chair", moderate=True)
    rid = (await chair.call("recording", {"action": "start"}))["recording"]["id"]
    assert (await chair.call("consent", consent(rid, False)))["ok"]
    await chair.reconnect()
    ack = await chair.join()
    assert ack["recording"]["id"] == rid and ack["recording"]["consent"] is False
    assert (await chair.call("recording", {"action": "stop"}))["ok"]


async def test_without_a_recorder_or_a_media_node_recording_is_refused_clearly(
    call_server: CallServer, tmp_path: Path,
) -> None:
    chair = await call_server.participant("chair", moderate=True)
    refused = await chair.call("recording", {"action": "start"})
    assert refused["error"]["code"] == "recording_unavailable"
    assert (await chair.join())["error"]["code"] == "already_joined"

    # A recorder but no media node: the room cannot move to the SFU.
    sio, namespace = build_socket_server(secret=b"test-secret-for-join-tokens-0123",
                                         recording=LedgerRecorder(None))
    runner, url = await serve_sockets(sio)
    try:
        server = CallServer(url, namespace, [])
        lone = await server.participant("lone", moderate=True)
        ack = await lone.call("recording", {"action": "start"})
        assert ack["error"]["code"] == "media_unavailable", ack
        assert await namespace.state.get_recording("room-a") is None
        await lone.client.disconnect()
    finally:
        await namespace.shutdown()
        await runner.cleanup()


async def test_a_recorder_failure_is_an_error_and_leaves_no_recording(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.participant("chair", moderate=True, room_kind="board")
    rec_server.ledger.media = None  # the recorder is gone
    failed = await chair.call("recording", {"action": "start"})
    assert failed["error"]["code"] == "recording_failed", failed
    assert await rec_server.namespace.state.get_recording("room-a") is None
    await chair.nothing("recording-state", wait=0.1)


async def test_a_failed_stop_keeps_the_recording_so_the_moderator_can_retry(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.participant("chair", moderate=True, room_kind="board")
    assert (await chair.call("recording", {"action": "start"}))["ok"]
    media, rec_server.ledger.media = rec_server.ledger.media, None
    failed = await chair.call("recording", {"action": "stop"})
    assert failed["error"]["code"] == "recording_failed", failed
    assert await rec_server.namespace.state.get_recording("room-a") is not None
    rec_server.ledger.media = media
    assert (await chair.call("recording", {"action": "stop"}))["ok"]
    assert await rec_server.namespace.state.get_recording("room-a") is None


async def test_an_admitted_guest_is_told_and_left_out_before_it_enters(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.participant("chair", moderate=True)
    rid = (await chair.call("recording", {"action": "start"}))["recording"]["id"]
    knocker = await rec_server.participant("knocker", join=False, admission=True)
    assert (await knocker.join())["status"] == "waiting"
    assert ("exclude", "room-a", knocker.peer_id) not in rec_server.ledger.calls
    assert (await chair.call("moderate", {"action": "admit", "target": knocker.peer_id}))["ok"]
    admitted = await knocker.next("admitted")
    assert admitted["recording"]["id"] == rid and admitted["recording"]["consent"] is None
    assert ("exclude", "room-a", knocker.peer_id) in rec_server.ledger.calls
    assert (await chair.call("recording", {"action": "stop"}))["ok"]


async def test_the_recording_stops_when_a_newcomer_cannot_be_left_out(
    rec_server: RecordingCallServer,
) -> None:
    chair = await rec_server.participant("chair", moderate=True, room_kind="board")
    assert (await chair.call("recording", {"action": "start"}))["ok"]
    assert (await next_recording(chair))["active"]
    media, rec_server.ledger.media = rec_server.ledger.media, None  # the recorder breaks
    await rec_server.participant("newcomer", room_kind="board")
    assert await until_stopped(chair) == {"active": False}
    assert await rec_server.namespace.state.get_recording("room-a") is None
    rec_server.ledger.media = media
