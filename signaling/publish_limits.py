"""How much one participant may publish through the SFU (issue 20, floods): at most
`MAX_MEDIA_SECTIONS` m= sections in one publish offer, and new tracks at most `MAX_TRACKS` at once,
then one every `TRACK_REFILL_SECONDS`. Each new track makes the media node renegotiate with every
subscriber, so a page that keeps adding tracks would have the whole room renegotiating; a person
who shares a screen now and then in a long call never meets the limit. Both are checked here,
before the offer reaches the media node."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import SignalingError
from .protocol import parse_sdp_lines
from .ratelimit import TokenBucket

MAX_MEDIA_SECTIONS = 8
MAX_TRACKS = 16
TRACK_REFILL_SECONDS = 60.0

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
    """The tracks one participant publishes in a call: those of its current publish connection
    (by mid, a renegotiation repeats them) and a bucket of new tracks (`MAX_TRACKS` at once,
    refilled one every `TRACK_REFILL_SECONDS`). Pure: the caller passes the time."""

    def __init__(self, now: float) -> None:
        self._bucket = TokenBucket(1 / TRACK_REFILL_SECONDS, MAX_TRACKS, now)
        self._leg: set[str] = set()
        # The lower simulcast layers of the offer last checked.
        self._free: set[str] = set()

    def new_tracks(
        self, sdp: str, restart: bool, now: float, layers: Sequence[Sequence[str]] = ()
    ) -> set[str]:
        """The mids an offer (on a new connection when `restart`) would publish for the first
        time; `too_many_tracks` when the bucket has not that many left. A camera's lower
        simulcast layers cost nothing: subscribers get one track of it."""
        new = set(sending_mids(sdp)) - (set() if restart else self._leg)
        self._free = {mid for group in layers for mid in group[1:]}
        if len(new - self._free) > self._bucket.available(now):
            raise SignalingError(
                "too_many_tracks",
                f"a participant adds at most {MAX_TRACKS} tracks at once, then one every "
                f"{TRACK_REFILL_SECONDS:g} s",
            )
        return new

    def spent(self, mids: set[str], restart: bool, now: float) -> None:
        """The media node accepted the offer that publishes `mids`; a restart replaced the
        publish connection, whose mids start over (the bucket does not)."""
        if restart:
            self._leg.clear()
        self._leg |= mids
        for _ in mids - self._free:
            self._bucket.allow(now)
