"""The socket.io rooms of a call and the sockets in them, as the call's handlers reach them.

Each call has a socket.io room of its admitted sockets and one of its moderators' sockets. The
handlers emit, move and close sockets through `CallSockets` instead of holding the namespace.
"""

from __future__ import annotations

from typing import Any

import socketio


def room_key(room: str) -> str:
    """The socket.io room of a call's admitted sockets."""
    return f"call:{room}"


def moderators_key(room: str) -> str:
    """The socket.io room of a call's moderators' sockets."""
    return f"call:{room}:moderators"


class CallSockets:
    """Emits to calls and sockets, and moves sockets in and out of calls, through a namespace."""

    def __init__(self, namespace: socketio.AsyncNamespace) -> None:
        self._namespace = namespace

    async def to_room(
        self, room: str, event: str, data: dict[str, Any], skip_sid: str | None = None
    ) -> None:
        """Emit to a call's admitted sockets, but `skip_sid` (a `ToRoom`)."""
        await self._namespace.emit(event, data, room=room_key(room), skip_sid=skip_sid)

    async def to_socket(self, sid: str, event: str, data: dict[str, Any]) -> None:
        """Emit to one socket (a `ToSocket`)."""
        await self._namespace.emit(event, data, to=sid)

    async def to_moderators(self, room: str, event: str, data: dict[str, Any]) -> None:
        await self._namespace.emit(event, data, room=moderators_key(room))

    async def enter(self, sid: str, room: str, moderator: bool) -> None:
        await self._namespace.enter_room(sid, room_key(room))
        if moderator:
            await self._namespace.enter_room(sid, moderators_key(room))

    async def exit(self, sid: str, room: str) -> None:
        await self._namespace.leave_room(sid, room_key(room))
        await self._namespace.leave_room(sid, moderators_key(room))

    async def disconnect(self, sid: str) -> None:
        await self._namespace.server.disconnect(sid, namespace=self._namespace.namespace)

    def in_call(self, sid: str, room: str) -> bool:
        """Whether `sid` is in the call's socket.io room, as this process's manager knows it
        (every process's `enter` and `exit` reach it)."""
        namespace = self._namespace
        members = namespace.server.manager.rooms.get(namespace.namespace, {}).get(room_key(room))
        return members is not None and sid in members
