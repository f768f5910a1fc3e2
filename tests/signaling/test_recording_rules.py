"""The pure rules of recording (signaling/recording.py): who is left out, when it must end, and
what pages are told."""

from __future__ import annotations

from signaling.recording import (
    Consent,
    RecordingInfo,
    answered,
    excluded_peers,
    must_stop,
    participants,
    recording_wire,
)

INFO = RecordingInfo(id="r1", since=1795443905.5, by="m", consents={
    "a": Consent(granted=True, name="Ana", recorded=True),
    "b": Consent(granted=False, name="Beto"),
    "c": Consent(granted=False, name="Cris", recorded=True),  # withdrew
})


def test_everyone_without_a_granted_consent_is_left_out() -> None:
    assert excluded_peers(None, ["a", "b"]) == {"a", "b"}
    assert excluded_peers(INFO, ["a", "b", "c", "d"]) == {"b", "c", "d"}


def test_a_withdrawn_consent_still_names_the_participant_in_the_recording() -> None:
    assert participants(INFO) == {"a": "Ana", "c": "Cris"}
    assert answered(INFO, "c", True, "Cris").recorded
    assert answered(INFO, "a", False, "Ana") == Consent(granted=False, name="Ana", recorded=True)
    assert answered(INFO, "b", False, "Beto") == Consent(granted=False, name="Beto")


def test_a_recording_without_a_moderator_left_must_stop() -> None:
    assert must_stop(INFO, moderators_left=0)
    assert not must_stop(INFO, moderators_left=1)
    assert not must_stop(None, moderators_left=0)


def test_pages_are_told_the_recording_and_their_own_answer() -> None:
    assert recording_wire(None, "1", "a") == {"active": False}
    told = recording_wire(INFO, "1")
    assert told == {"active": True, "id": "r1", "since": "2026-11-23T14:25:05.500000Z",
                    "by": "m", "notice_version": "1", "recorded": ["a"]}
    assert recording_wire(INFO, "1", "b")["consent"] is False
    assert recording_wire(INFO, "1", "z")["consent"] is None
