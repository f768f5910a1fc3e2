"""Recording a call (PROTOCOL.md, "Recording"): the port to the recorder, and the pure rules.

Signaling knows nothing of the casebook or the media node's recorder: the composition root
implements `RecordingPort` (`web.calls.recording_bridge`). What a room's recording is (who
started it, when, who consented) is plain data kept in `RoomState`, so every process sees the
same recording.

The rules: a moderator starts and stops; every admitted participant is asked and is left out of
the recording (its tracks excluded on the media node) until it consents, and again if it
withdraws; a recording ends when it is stopped, when no moderator is left in the call, or when
the room empties.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

RecordingAction = Literal["start", "stop"]


class RecordingRefused(Exception):
    """The recorder refused or failed; `code` is its stable code, `message` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ConsentAnswer:
    """One participant's answer to the recording notice, as it was shown to them."""

    recording_id: str
    peer_id: str
    user_id: str
    display_name: str
    granted: bool
    notice_version: str
    locale: str


class RecordingPort(Protocol):
    """The recorder and the record of recordings, as signaling drives them.

    Failures raise `RecordingRefused`. Every method may be called from any process.
    """

    @property
    def notice_version(self) -> str:
        """The version of the notice participants are shown now; consents must name it."""
        ...

    def knows_locale(self, locale: str) -> bool:
        """Whether the notice exists in `locale` (the language a consent says it was read in)."""
        ...

    async def start(
        self, room: str, recording_id: str, *, started_by_user_id: str, excluded: frozenset[str]
    ) -> None:
        """Start recording the room, leaving out the tracks of the `excluded` peers."""
        ...

    async def consent(self, room: str, answer: ConsentAnswer) -> None:
        """Store a participant's answer (with the exact notice it saw) and include or exclude
        its tracks accordingly."""
        ...

    async def set_excluded(self, room: str, peer_id: str, excluded: bool) -> None:
        """Leave a peer's tracks out of (or back in) the room's recording."""
        ...

    async def stop(self, room: str, participants: dict[str, str]) -> None:
        """Stop the room's recording and complete its record; `participants` maps the peer ids
        of those recorded to their display names."""
        ...

    async def interrupted(
        self, room: str, recording_id: str, participants: dict[str, str]
    ) -> None:
        """The recorder died with its media node: keep what it wrote, marked interrupted."""
        ...


class Consent(BaseModel):
    """A participant's current answer for one recording."""

    model_config = ConfigDict(extra="forbid")

    granted: bool
    name: str = Field(max_length=200)
    # Granted at some point: the peer's tracks may be in the files even if it withdrew since.
    recorded: bool = False


class RecordingInfo(BaseModel):
    """A room's recording while it runs (kept in RoomState, plain JSON-able data)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    since: float  # unix seconds
    by: str  # the peer id of the moderator who started it
    consents: dict[str, Consent] = Field(default_factory=dict)


def answered(info: RecordingInfo, peer_id: str, granted: bool, name: str) -> Consent:
    """A peer's new answer, remembering whether it was ever recorded."""
    before = info.consents.get(peer_id)
    return Consent(granted=granted, name=name,
                   recorded=granted or (before is not None and before.recorded))


def participants(info: RecordingInfo) -> dict[str, str]:
    """Peer id → display name of everyone whose tracks may be in the recording."""
    return {peer_id: c.name for peer_id, c in info.consents.items() if c.recorded}


def recorded_peers(info: RecordingInfo) -> dict[str, str]:
    """Peer id → display name of everyone who consented (and has not withdrawn)."""
    return {peer_id: c.name for peer_id, c in info.consents.items() if c.granted}


def excluded_peers(info: RecordingInfo | None, admitted: Iterable[str]) -> frozenset[str]:
    """The admitted peers whose tracks stay out of the recording: all without a granted consent."""
    if info is None:
        return frozenset(admitted)
    granted = recorded_peers(info)
    return frozenset(p for p in admitted if p not in granted)


def must_stop(info: RecordingInfo | None, moderators_left: int) -> bool:
    """Whether a recording ends because nobody who could stop it is left in the call."""
    return info is not None and moderators_left == 0


def recording_wire(
    info: RecordingInfo | None, notice_version: str | None, me: str | None = None
) -> dict[str, Any]:
    """The `recording` object of `recording-state`, the join ack and the join API.

    With `me`, also that peer's own answer (`consent`: true, false or null when not asked yet),
    so a page that reconnects does not ask again.
    """
    if info is None:
        return {"active": False}
    wire: dict[str, Any] = {
        "active": True,
        "id": info.id,
        "since": datetime.fromtimestamp(info.since, UTC).isoformat().replace("+00:00", "Z"),
        "by": info.by,
        "notice_version": notice_version,
        "recorded": sorted(recorded_peers(info)),
    }
    if me is not None:
        answer = info.consents.get(me)
        wire["consent"] = answer.granted if answer is not None else None
    return wire
