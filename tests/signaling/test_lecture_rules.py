"""The lecture rules as pure functions: who is in the audience, who may publish, paging."""

from __future__ import annotations

import uuid

import pytest

from signaling.errors import SignalingError
from signaling.grants import issue_grant
from signaling.lecture import (
    audience_counts,
    joins_as_audience,
    may_publish,
    sfu_grant,
    viewer_page,
)
from signaling.protocol import Peer, PeerState, SfuPayload
from signaling.roomstate import PeerRecord

PUBLISH = SfuPayload.model_validate(
    {"action": "publish", "description": {"type": "offer", "sdp": "v=0\r\nm=audio 9 x 0\r\n"}})
ANSWER = SfuPayload.model_validate(
    {"action": "answer", "description": {"type": "answer", "sdp": "v=0\r\nm=audio 9 x 0\r\n"}})


def record(name: str, *, hand: bool = False, audience: bool = True,
           admitted: bool = True) -> PeerRecord:
    peer = Peer(peer_id=str(uuid.uuid4()), user_id=name, name=name, role="trainee",
                moderator=False, state=PeerState(hand=hand), connected=True, audience=audience)
    return PeerRecord(peer=peer, sid=name, admitted=admitted, token_id=name)


def test_only_a_lectures_non_publishing_non_moderators_join_the_audience() -> None:
    def grant(kind: str, **flags: bool) -> bool:
        return joins_as_audience(issue_grant(user_id="u", name="U", room="r", role="x", now=0,
                                             room_kind=kind, **flags))  # type: ignore[arg-type]
    assert grant("lecture", publish=False)
    assert not grant("lecture", publish=True)  # a guest lecturer
    assert not grant("lecture", publish=False, moderate=True)
    assert not grant("board", publish=False)


def test_on_stage_decides_publishing_in_a_lecture() -> None:
    viewer = issue_grant(user_id="u", name="U", room="r", role="x", now=0, publish=False,
                         room_kind="lecture")
    audience, speaker = record("a").peer, record("s", audience=False).peer
    assert not may_publish(viewer, audience) and may_publish(viewer, speaker)
    assert sfu_grant(viewer, speaker, PUBLISH).publish
    assert sfu_grant(viewer, audience, ANSWER) is viewer  # subscribing needs nothing new
    with pytest.raises(SignalingError) as refused:
        sfu_grant(viewer, audience, PUBLISH)
    assert refused.value.code == "forbidden"
    guest = issue_grant(user_id="g", name="G", room="r", role="guest", now=0, publish=True,
                        room_kind="lecture")
    assert not sfu_grant(guest, audience, ANSWER).publish  # a demoted guest lecturer
    consultation = issue_grant(user_id="u", name="U", room="r", role="x", now=0, publish=False)
    assert not may_publish(consultation, speaker)


def test_pages_list_raised_hands_first_and_skip_the_stage_and_the_waiting() -> None:
    records = [record("v0"), record("v1", hand=True), record("stage", audience=False),
               record("v2"), record("v3", hand=True), record("waiting", admitted=False)]
    names = [p.name for page in range(3) for p in viewer_page(records, page, 2)]
    assert names == ["v1", "v3", "v0", "v2"]
    assert viewer_page(records, 5, 2) == []
    assert audience_counts(records) == {"viewers": 4, "hands": 2}
