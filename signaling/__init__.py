"""Call signaling: the socket.io `/call` namespace, join grants, ICE servers and room state.

Knows nothing of cases; `web` issues the grants it verifies and mounts the server it builds.
"""

from .errors import SignalingError
from .events import CallEvent, OnCallEvent
from .grants import JoinGrant, issue_grant, sign_grant, verify_grant
from .ice import IceConfig, ice_servers
from .protocol import PROTOCOL_VERSION
from .roomstate import MemoryRoomState, RoomState
from .server import CallNamespace, build_socket_server

__all__ = [
    "PROTOCOL_VERSION",
    "CallEvent",
    "CallNamespace",
    "IceConfig",
    "JoinGrant",
    "MemoryRoomState",
    "OnCallEvent",
    "RoomState",
    "SignalingError",
    "build_socket_server",
    "ice_servers",
    "issue_grant",
    "sign_grant",
    "verify_grant",
]
