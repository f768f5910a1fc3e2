"""Which media node takes a room (signaling/placement.py); placement storage is in
test_roomstate.py (claim, move once, release) against both backends."""

from __future__ import annotations

from signaling.placement import NodeRecord, least_loaded, rooms_to_move, with_room
from signaling.roomstate import MemoryRoomState


def node(node_id: str, *, rooms: int = 0, people: int = 0, streams: int = 0) -> NodeRecord:
    return NodeRecord(node_id, f"http://{node_id}", rooms, people, 0, streams)


def test_a_room_goes_to_the_node_forwarding_the_fewest_streams() -> None:
    nodes = [node("a", rooms=1, streams=8), node("b", rooms=5, streams=2), node("c", streams=4)]
    assert least_loaded(nodes) == nodes[1]


def test_people_then_rooms_break_ties_and_then_the_id() -> None:
    assert least_loaded([node("a", people=3), node("b", people=2)]).node_id == "b"  # type: ignore[union-attr]
    assert least_loaded([node("a", rooms=2), node("b", rooms=1)]).node_id == "b"  # type: ignore[union-attr]
    assert least_loaded([node("b"), node("a")]).node_id == "a"  # type: ignore[union-attr]


def test_no_live_node_means_no_placement() -> None:
    assert least_loaded([]) is None
    assert least_loaded([node("a")], exclude={"a"}) is None


def test_rooms_placed_before_the_next_heartbeat_spread_out() -> None:
    nodes = {"a": node("a"), "b": node("b")}
    chosen = []
    for _ in range(4):
        target = least_loaded(nodes.values())
        assert target is not None
        chosen.append(target.node_id)
        nodes[target.node_id] = with_room(target)
    assert sorted(chosen) == ["a", "a", "b", "b"]


def test_only_rooms_on_dead_nodes_move() -> None:
    placements = {"r1": "a", "r2": "b", "r3": "a"}
    assert rooms_to_move(placements, live=["b"]) == {"r1": "a", "r3": "a"}
    assert rooms_to_move(placements, live=["a", "b"]) == {}


async def test_a_placed_room_stays_while_its_node_lives_and_moves_once_when_it_dies() -> None:
    state = MemoryRoomState()
    live = {"a": node("a", streams=1), "b": node("b")}
    first = least_loaded(live.values())
    assert first is not None and first.node_id == "b"
    assert await state.claim_media_node("r", first.node_id) == "b"
    # "b" becomes the busier one: the room stays anyway.
    live["b"] = node("b", streams=9)
    assert await state.claim_media_node("r", "a") == "b"
    # "b" dies: two processes move the room; one wins, the other reads the winner's choice.
    del live["b"]
    for dead, was in rooms_to_move({"r": "b"}, live).items():
        target = least_loaded(live.values())
        assert target is not None
        results = [await state.move_media_node(dead, was, target.node_id) for _ in range(2)]
        assert results == [True, False]
    assert await state.get_media_node("r") == "a"
