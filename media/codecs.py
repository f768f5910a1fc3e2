"""Which codecs the SFU forwards, and reading them out of SDP.

Forwarding without transcoding means a subscriber must receive exactly the publisher's codec,
so each published track is negotiated down to one codec and every subscription offers only it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

# In order of preference; VP8 first because every browser decodes it in software at low cost.
DEFAULT_VIDEO_CODECS: tuple[str, ...] = ("VP8", "H264")
AUDIO_CODECS: tuple[str, ...] = ("opus",)
# Payload formats that carry no media of their own.
_DIRECTIONS = {"sendrecv", "sendonly", "recvonly", "inactive"}
_NOT_MEDIA = {"rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event"}


@dataclass(frozen=True, slots=True)
class MediaSection:
    """One m= section of an SDP: its mid, kind and media codec names in payload order."""

    mid: str
    kind: str
    codecs: tuple[str, ...]
    stream_id: str | None = None
    direction: str = "sendrecv"

    @property
    def remote_sends(self) -> bool:
        """Whether the side that wrote this SDP sends media in this section."""
        return self.direction in ("sendrecv", "sendonly")


def media_sections(sdp: str) -> list[MediaSection]:
    """Parse the m= sections of an SDP: codecs in preference order, msid stream, direction."""
    sections: list[MediaSection] = []
    kind = ""
    mid = ""
    stream_id: str | None = None
    direction = "sendrecv"
    payload_order: list[str] = []
    names: dict[str, str] = {}

    def close_section() -> None:
        if kind:
            ordered = [names[pt] for pt in payload_order if pt in names]
            media = tuple(n for n in ordered if n.lower() not in _NOT_MEDIA)
            sections.append(
                MediaSection(
                    mid=mid, kind=kind, codecs=media, stream_id=stream_id, direction=direction
                )
            )

    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            close_section()
            fields = line[2:].split()
            kind, mid, payload_order, names = fields[0], "", fields[3:], {}
            stream_id = None
            # Port 0 rejects the section (RFC 3264 6).
            direction = "inactive" if fields[1] == "0" else "sendrecv"
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        elif line.startswith("a=msid:"):
            stream = line[len("a=msid:") :].split()[0]
            stream_id = None if stream == "-" else stream
        elif line[2:] in _DIRECTIONS and line.startswith("a=") and direction != "inactive":
            direction = line[2:]
        elif line.startswith("a=rtpmap:"):
            pt, _, encoding = line[len("a=rtpmap:") :].partition(" ")
            names[pt] = encoding.split("/")[0]
    close_section()
    return sections


def choose_codec(offered: tuple[str, ...], preferred: tuple[str, ...]) -> str | None:
    """The first of our preferred codecs that the remote side offered (case-insensitive)."""
    offered_upper = {name.upper() for name in offered}
    for name in preferred:
        if name.upper() in offered_upper:
            return name
    return None


def capabilities_for(kind: str, codec_name: str) -> list[RTCRtpCodecCapability]:
    """aiortc codec capabilities restricting a transceiver to one codec (plus RTX for video)."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in capabilities if c.name.upper() == codec_name.upper()]
    if not chosen:
        raise ValueError(f"aiortc cannot negotiate {kind} codec {codec_name!r}")
    return chosen + [c for c in capabilities if c.name.lower() == "rtx"]


def clock_rate_for(kind: str) -> int:
    """RTP clock rate for the codecs we forward: 90 kHz video, 48 kHz Opus."""
    return 90000 if kind == "video" else 48000
