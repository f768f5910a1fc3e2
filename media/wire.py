"""The JSON shapes of the internal media API, shared by the server (`api`) and client (`remote`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from media.errors import MediaError
from media.events import MediaEvent, TrackPublished, TrackUnpublished
from media.node import NodeLoad
from media.published_track import TrackInfo
from media.recording import RecordingManifest
from media.room import SubscriptionOffer

API_PREFIX = "/v1"
EVENTS_PATH = "/events"
HEALTH_PATH = "/healthz"
AUTH_HEADER = "Authorization"
AUTH_SCHEME = "Bearer "

_EVENT_TYPES: dict[str, type[TrackPublished] | type[TrackUnpublished]] = {
    "track_published": TrackPublished,
    "track_unpublished": TrackUnpublished,
}
_EVENT_NAMES = {kind: name for name, kind in _EVENT_TYPES.items()}


def track_to_json(track: TrackInfo) -> dict[str, Any]:
    """A published track as JSON."""
    return asdict(track)


def track_from_json(data: Any) -> TrackInfo:
    """A published track from JSON; raises `MediaError('bad_response')` if it is not one."""
    try:
        kind = data["kind"]
        if kind not in ("audio", "video"):
            raise ValueError(kind)
        return TrackInfo(
            track_id=str(data["track_id"]),
            publisher_id=str(data["publisher_id"]),
            kind=kind,
            codec=str(data["codec"]),
            stream_id=str(data["stream_id"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MediaError("bad_response", f"not a track: {data!r:.200}") from exc


def offer_to_json(offer: SubscriptionOffer) -> dict[str, Any]:
    """A subscription offer as JSON."""
    return {
        "sdp": offer.sdp,
        "tracks_by_mid": {mid: track_to_json(t) for mid, t in offer.tracks_by_mid.items()},
    }


def offer_from_json(data: Any) -> SubscriptionOffer:
    """A subscription offer from JSON."""
    try:
        return SubscriptionOffer(
            sdp=str(data["sdp"]),
            tracks_by_mid={
                str(mid): track_from_json(t) for mid, t in dict(data["tracks_by_mid"]).items()
            },
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MediaError("bad_response", "not a subscription offer") from exc


def event_to_json(event: MediaEvent) -> dict[str, Any]:
    """A media event as JSON: `{type, room_id, track}`."""
    return {
        "type": _EVENT_NAMES[type(event)],
        "room_id": event.room_id,
        "track": track_to_json(event.track),
    }


def event_from_json(data: Any) -> MediaEvent:
    """A media event from JSON."""
    try:
        event_type = _EVENT_TYPES[data["type"]]
        return event_type(room_id=str(data["room_id"]), track=track_from_json(data["track"]))
    except (KeyError, TypeError) as exc:
        raise MediaError("bad_response", f"not a media event: {data!r:.200}") from exc


def load_to_json(load: NodeLoad) -> dict[str, Any]:
    """A node's load as JSON."""
    return asdict(load)


def load_from_json(data: Any) -> NodeLoad:
    """A node's load from JSON."""
    try:
        return NodeLoad(
            rooms=int(data["rooms"]),
            publishers=int(data["publishers"]),
            subscribers=int(data["subscribers"]),
            forwarded_streams=int(data["forwarded_streams"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MediaError("bad_response", "not a node load") from exc


def manifest_from_json(data: Any) -> RecordingManifest:
    """A recording manifest from JSON (its own `to_json` shape)."""
    if not isinstance(data, dict):
        raise MediaError("bad_response", "not a recording manifest")
    try:
        return RecordingManifest.from_json(data)
    except MediaError as exc:
        raise MediaError("bad_response", exc.message) from exc
