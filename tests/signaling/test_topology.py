"""decide_mode: when a room's media goes peer to peer and when through the SFU."""

from __future__ import annotations

import pytest

from signaling.topology import decide_mode


@pytest.mark.parametrize("joined", [1, 2])
def test_a_consultation_of_one_or_two_is_peer_to_peer(joined: int) -> None:
    assert decide_mode("consultation", joined, False, "p2p") == "p2p"


def test_a_consultation_moves_to_the_sfu_at_the_third_joined_peer() -> None:
    assert decide_mode("consultation", 3, False, "p2p") == "sfu"
    assert decide_mode("consultation", 7, False, "p2p") == "sfu"


@pytest.mark.parametrize("kind", ["board", "lecture"])
@pytest.mark.parametrize("joined", [1, 2, 3])
def test_boards_and_lectures_use_the_sfu_from_the_first_joiner(kind: str, joined: int) -> None:
    assert decide_mode(kind, joined, False, "p2p") == "sfu"  # type: ignore[arg-type]


def test_a_recorded_consultation_uses_the_sfu_from_the_first_joiner() -> None:
    assert decide_mode("consultation", 1, True, "p2p") == "sfu"


@pytest.mark.parametrize("joined", [1, 2])
def test_a_room_in_the_sfu_stays_there_when_peers_leave(joined: int) -> None:
    assert decide_mode("consultation", joined, False, "sfu") == "sfu"


def test_a_room_in_the_sfu_stays_there_when_recording_stops() -> None:
    assert decide_mode("consultation", 2, False, "sfu") == "sfu"


@pytest.mark.parametrize("kind", ["consultation", "board", "lecture"])
@pytest.mark.parametrize("current", ["p2p", "sfu"])
def test_an_empty_room_starts_over_peer_to_peer(kind: str, current: str) -> None:
    assert decide_mode(kind, 0, False, current) == "p2p"  # type: ignore[arg-type]
    assert decide_mode(kind, 0, True, current) == "p2p"  # type: ignore[arg-type]


def test_a_consultation_emptied_from_the_sfu_starts_over_peer_to_peer() -> None:
    mode = decide_mode("consultation", 3, False, "p2p")
    mode = decide_mode("consultation", 0, False, mode)
    assert decide_mode("consultation", 2, False, mode) == "p2p"
