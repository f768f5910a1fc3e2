"""The wire contract of `/call` as code: version, limits, and a pydantic model per payload."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    ValidationError,
    model_validator,
)

from .errors import SignalingError

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 65536
CHAT_HISTORY = 100

# Canonical lowercase form only, so one peer never has two spellings.
PeerId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
ScreenStream = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Sdp = Annotated[str, StringConstraints(max_length=MAX_PAYLOAD_BYTES)]


class _Strict(BaseModel):
    # JSON from a browser: no coercion ("1" is not 1), no unknown keys.
    model_config = ConfigDict(extra="forbid", strict=True)


class PeerState(_Strict):
    """A peer's media state; as a payload (`state`, `join.state`) only the fields sent apply."""

    audio: bool = True
    video: bool = True
    screen: bool = False
    hand: bool = False
    screen_stream: ScreenStream | None = None
    speaking: bool = False  # the peer's own microphone measures speech (throttled changes)


class Peer(_Strict):
    peer_id: PeerId
    user_id: str = Field(max_length=128)
    name: str = Field(max_length=200)
    role: str = Field(max_length=64)
    moderator: bool
    state: PeerState
    connected: bool
    # A lecture viewer not on stage: receive-only, and not announced to the room (PROTOCOL.md).
    audience: bool = False


class ChatMessage(_Strict):
    id: str = Field(max_length=64)
    peer_id: PeerId
    name: str = Field(max_length=200)
    text: str = Field(max_length=2000)
    at: datetime


class JoinPayload(_Strict):
    token: str = Field(min_length=1, max_length=4096)
    peer_id: PeerId
    protocol: int
    state: PeerState | None = None


class SessionDescription(_Strict):
    type: Literal["offer", "answer", "rollback"]
    sdp: Sdp = ""


class IceCandidate(_Strict):
    """RTCIceCandidateInit as the browser serializes it (hence its camelCase names)."""

    candidate: str = Field(max_length=2048)
    sdpMid: str | None = Field(default=None, max_length=256)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=65535)
    usernameFragment: str | None = Field(default=None, max_length=256)


class SignalPayload(_Strict):
    to: PeerId
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SignalPayload:
        # `candidate: null` (end of candidates) is meaningful, so presence is what counts.
        present = {"description", "candidate"} & self.model_fields_set
        if len(present) != 1:
            raise ValueError("exactly one of description or candidate is required")
        if "description" in present and self.description is None:
            raise ValueError("description must not be null")
        return self

    def relayed(self, sender: str) -> dict[str, Any]:
        """The `signal` event the target receives."""
        if self.description is not None:
            sdp = "" if self.description.type == "rollback" else self.description.sdp
            return {"from": sender, "description": {"type": self.description.type, "sdp": sdp}}
        cand = self.candidate.model_dump(exclude_unset=True) if self.candidate else None
        return {"from": sender, "candidate": cand}


class ChatPayload(_Strict):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ModeratePayload(_Strict):
    action: Literal["admit", "refuse", "mute", "remove", "lower-hand"]
    target: PeerId


class LeavePayload(_Strict):
    pass


class IcePayload(_Strict):
    """A peer in the call asks for fresh ICE servers (TURN credentials); it sends nothing else."""


class OfferDescription(_Strict):
    type: Literal["offer"]
    sdp: Sdp


class AnswerDescription(_Strict):
    type: Literal["answer"]
    sdp: Sdp


# One camera's encodings (simulcast by transceivers): the mids of its video sections, best first.
SimulcastMids = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=32)]],
    Field(min_length=2, max_length=4),
]


class SfuPublish(_Strict):
    """The client's publishing offer; `restart` replaces a failed publish connection; `layers`
    groups the video sections that carry one camera in several qualities."""

    action: Literal["publish"]
    description: OfferDescription
    restart: bool = False
    layers: list[SimulcastMids] = Field(default_factory=list, max_length=2)


class SfuAnswer(_Strict):
    """The client's answer to the server's latest subscription offer."""

    action: Literal["answer"]
    description: AnswerDescription


class SfuCandidate(_Strict):
    action: Literal["candidate"]
    leg: Literal["publish", "subscribe"]
    candidate: IceCandidate | None  # required; null ends the candidates


class SfuResubscribe(_Strict):
    """The client closed a failed subscribe connection and wants a fresh offer."""

    action: Literal["resubscribe"]


class SfuReceive(_Strict):
    """What the client wants forwarded to it: `video: false` is "audio only" (a weak link)."""

    action: Literal["receive"]
    video: bool


SfuAction = Annotated[
    SfuPublish | SfuAnswer | SfuCandidate | SfuResubscribe | SfuReceive,
    Field(discriminator="action"),
]


class SfuPayload(RootModel[SfuAction]):
    """`sfu` from a client: one of its actions, told apart by `action`."""


class LectureStage(_Strict):
    """A moderator brings a lecture viewer on stage (it may publish) or sends it back."""

    action: Literal["promote", "demote"]
    target: PeerId


class LectureViewers(_Strict):
    """A moderator asks for one page of the lecture's viewers, raised hands first."""

    action: Literal["viewers"]
    page: int = Field(default=0, ge=0, le=100000)
    size: int = Field(default=50, ge=1, le=100)


class LecturePayload(RootModel[Annotated[LectureStage | LectureViewers,
                                         Field(discriminator="action")]]):
    """`lecture` from a moderator of a lecture room."""


class RecordingPayload(_Strict):
    """A moderator starts or stops the room's recording (PROTOCOL.md, "Recording")."""

    action: Literal["start", "stop"]


class ConsentPayload(_Strict):
    """A participant's answer to the recording notice it was shown."""

    recording_id: str = Field(min_length=1, max_length=64)
    granted: bool
    notice_version: str = Field(min_length=1, max_length=32)
    locale: str = Field(min_length=2, max_length=16)


# An agenda longer than this is not a meeting; the bound keeps the value a small integer.
MAX_AGENDA_ITEM = 500


class AgendaPayload(_Strict):
    """The chair moves the session's case panel to agenda position `item` (1-based)."""

    item: int = Field(ge=1, le=MAX_AGENDA_ITEM)


EVENT_MODELS: dict[str, type[BaseModel]] = {
    "join": JoinPayload,
    "signal": SignalPayload,
    "state": PeerState,  # partial: only the fields sent (model_fields_set) change
    "chat": ChatPayload,
    "moderate": ModeratePayload,
    "leave": LeavePayload,
    "sfu": SfuPayload,
    "lecture": LecturePayload,
    "recording": RecordingPayload,
    "consent": ConsentPayload,
    "agenda": AgendaPayload,
    "ice": IcePayload,
}

_SDP_LINE = re.compile(r"^[a-z]=.*$")


def parse_sdp_lines(sdp: str) -> list[tuple[str, str]]:
    """Split SDP into (type letter, value) lines; ValueError unless it looks like RFC 8866 SDP."""
    lines = sdp.replace("\r\n", "\n").rstrip("\n").split("\n")
    if not lines or lines[0] != "v=0":
        raise ValueError("SDP must start with v=0")
    parsed: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not _SDP_LINE.match(line):
            raise ValueError(f"SDP line {number} is not <letter>=<value>")
        parsed.append((line[0], line[2:]))
    if not any(kind == "m" for kind, _ in parsed):
        raise ValueError("SDP has no m= section")
    return parsed


def check_description(description: SessionDescription) -> None:
    """Raise invalid_sdp for an offer or answer whose SDP does not parse (rollback carries none)."""
    if description.type != "rollback":
        check_sdp(description.sdp)


def check_sdp(sdp: str) -> None:
    """Raise invalid_sdp unless `sdp` parses as SDP."""
    try:
        parse_sdp_lines(sdp)
    except ValueError as exc:
        raise SignalingError("invalid_sdp", str(exc)) from None


def ok(**fields: Any) -> dict[str, Any]:
    """The success ack."""
    return {"ok": True, **fields}


def wire(model: BaseModel) -> dict[str, Any]:
    """A model as it goes out in an ack or an event."""
    return model.model_dump(mode="json")


def decode_payload(event: str, args: list[Any]) -> Any:
    """The one payload argument of a client event, checked against the size limit."""
    measured = args[0] if len(args) == 1 else args
    try:
        size = len(json.dumps(measured, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise SignalingError("invalid_payload", "payload must be JSON") from None
    if size > MAX_PAYLOAD_BYTES:
        raise SignalingError("payload_too_large", f"payload exceeds {MAX_PAYLOAD_BYTES} bytes")
    if len(args) > 1:
        raise SignalingError("invalid_payload", "one payload argument expected")
    if not args:
        return {} if event == "leave" else None
    return args[0]


def describe_invalid(exc: ValidationError) -> str:
    """Where and why validation failed, without echoing the input."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "payload"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
