"""How much one participant may publish through the SFU (issue 20, floods): at most
`MAX_MEDIA_SECTIONS` m= sections in one publish offer, and at most `MAX_TRACKS` tracks over its
stay in the call. Each new track makes the media node renegotiate with every subscriber, so a
page that keeps adding tracks would have the whole room renegotiating; both are checked here,
before the offer reaches the media node."""

from __future__ import annotations

from .errors import SignalingError
from .protocol import parse_sdp_lines

MAX_MEDIA_SECTIONS = 8
MAX_TRACKS = 16

_SENDING = {"sendrecv", "sendonly"}
_DIRECTIONS = _SENDING | {"recvonly", "inactive"}


def sending_mids(sdp: str) -> list[str]:
    """The mids of an offer's audio and video sections that send (port not 0, direction
    sendrecv or sendonly); `invalid_sdp` unless it parses, `too_many_media_sections` past the
    limit."""
    try:
        lines = parse_sdp_lines(sdp)
    except ValueError as exc:
        raise SignalingError("invalid_sdp", str(exc)) from None
    sections: list[list[tuple[str, str]]] = []
    for kind, value in lines:
        if kind == "m":
            sections.append([])
        if sections:
            sections[-1].append((kind, value))
    if len(sections) > MAX_MEDIA_SECTIONS:
        raise SignalingError(
            "too_many_media_sections",
            f"a publish offer has at most {MAX_MEDIA_SECTIONS} m= sections, not {len(sections)}",
        )
    mids: list[str] = []
    for index, section in enumerate(sections):
        media = section[0][1].split()
        if len(media) < 2 or media[0] not in ("audio", "video") or media[1] == "0":
            continue
        attributes = [value for kind, value in section if kind == "a"]
        direction = next((a for a in attributes if a in _DIRECTIONS), "sendrecv")
        mid = next((a[4:] for a in attributes if a.startswith("mid:")), str(index))
        if direction in _SENDING:
            mids.append(mid)
    return mids


class PublishBudget:
    """The tracks one participant has published in a call: those of its current publish
    connection (by mid, a renegotiation repeats them) and how many it ever published."""

    def __init__(self) -> None:
        self.published = 0
        self._leg: set[str] = set()

    def new_tracks(self, sdp: str, restart: bool) -> set[str]:
        """The mids an offer (on a new connection when `restart`) would publish for the first
        time; `too_many_tracks` when that takes the participant past `MAX_TRACKS`."""
        new = set(sending_mids(sdp)) - (set() if restart else self._leg)
        if self.published + len(new) > MAX_TRACKS:
            raise SignalingError(
                "too_many_tracks",
                f"a participant publishes at most {MAX_TRACKS} tracks in a call",
            )
        return new

    def spent(self, mids: set[str], restart: bool) -> None:
        """The media node accepted the offer that publishes `mids`; a restart replaced the
        publish connection, whose mids start over (the count does not)."""
        if restart:
            self._leg.clear()
        self._leg |= mids
        self.published += len(mids)
