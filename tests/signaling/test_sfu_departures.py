"""Departures racing each other when a call ends must close the room once, without error."""

from __future__ import annotations

import asyncio
from typing import Any

from signaling.roomstate import MemoryRoomState
from signaling.sfu_session import SfuSessions
from signaling.topology import Mode


class YieldingRoomState(MemoryRoomState):
    """Room state that yields to the event loop on reads, as a networked store (Redis) does."""

    async def get_mode(self, room: str) -> Mode:
        await asyncio.sleep(0)
        return await super().get_mode(room)


async def _nowhere(*_: Any) -> None:
    return None


async def test_two_last_peers_leaving_at_once_close_the_room_without_error() -> None:
    state = YieldingRoomState()
    sfu = SfuSessions(media=None, state=state, to_room=_nowhere, to_socket=_nowhere)
    await sfu.admitted("r", "consultation", "a", True, "sid-a")
    await sfu.admitted("r", "consultation", "b", True, "sid-b")
    # Both are already out of the room state when their departures run, as after a hang-up.
    await asyncio.gather(sfu.departed("r", "a"), sfu.departed("r", "b"))
    assert await sfu.mode("r") == "p2p"
    assert "r" not in sfu._rooms
