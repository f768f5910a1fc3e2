"""What the media layer reports to whoever composed it (signaling renegotiates on these)."""

from __future__ import annotations

from dataclasses import dataclass

from media.published_track import TrackInfo


@dataclass(frozen=True, slots=True)
class TrackPublished:
    """A participant started publishing a track; subscribers need a new offer to receive it."""

    room_id: str
    track: TrackInfo


@dataclass(frozen=True, slots=True)
class TrackUnpublished:
    """A published track ended (unpublished, publisher left or its connection failed)."""

    room_id: str
    track: TrackInfo


MediaEvent = TrackPublished | TrackUnpublished
