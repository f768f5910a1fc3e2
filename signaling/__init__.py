"""Call signaling: the socket.io `/call` namespace, join grants, ICE servers and room state.

Knows nothing of cases; `web` issues the grants it verifies and mounts the server it builds.
Calls of three or more go through the SFU, which signaling drives through `MediaPort` (it never
imports `media`; `web.calls.media_bridge` adapts a media node to it). Recording is driven through
`RecordingPort` the same way (`web.calls.recording_bridge`).
"""

from .errors import SignalingError
from .events import CallEvent, OnCallEvent
from .grants import JoinGrant, issue_grant, sign_grant, verify_grant
from .ice import IceConfig, ice_servers
from .media_port import MediaPort, MediaRefused
from .namespace import CallNamespace
from .protocol import PROTOCOL_VERSION
from .recording import RecordingPort, RecordingRefused
from .roomstate import MemoryRoomState, RoomState
from .server import build_socket_server
from .topology import Mode, decide_mode

__all__ = [
    "PROTOCOL_VERSION",
    "CallEvent",
    "CallNamespace",
    "IceConfig",
    "JoinGrant",
    "MediaPort",
    "MediaRefused",
    "MemoryRoomState",
    "Mode",
    "OnCallEvent",
    "RecordingPort",
    "RecordingRefused",
    "RoomState",
    "SignalingError",
    "build_socket_server",
    "decide_mode",
    "ice_servers",
    "issue_grant",
    "sign_grant",
    "verify_grant",
]
