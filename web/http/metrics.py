"""`/metrics`: this process's numbers in the Prometheus text exposition format (version 0.0.4).

Hand-rolled (a few gauges and counters need no client library). Gauges are this process's
view: its sockets, the rooms they are in and how those rooms' media flow; Prometheus sums the
processes. Counters are totals since the process started. Labels carry only room modes,
event names and error codes: never a room, user or patient.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from signaling.namespace import CallNamespace
from web.app.keys import CALL_NAMESPACE
from web.calls.media_bridge import MediaBridge
from web.http.error_replies import HTTP_ERRORS

log = logging.getLogger("junta.web.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Metric:
    """One metric family: its samples by label set (an empty mapping: no labels)."""

    name: str
    kind: str  # "gauge" | "counter"
    help: str
    samples: list[tuple[Mapping[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Metric:
        self.samples.append((labels, value))
        return self


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def exposition(metrics: Iterable[Metric]) -> str:
    """The text format: HELP and TYPE lines, then one line per sample."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{metric.name}{{{text}}} {_number(value)}" if text
                         else f"{metric.name} {_number(value)}")
    return "\n".join(lines) + "\n"


async def collect(namespace: CallNamespace, http_errors: Mapping[str, int]) -> list[Metric]:
    """Everything `/metrics` reports: the signaling namespace, its media node, HTTP errors."""
    sockets, rooms = namespace.census()
    by_mode = {"p2p": 0, "sfu": 0}
    recordings = 0
    for room, joined in rooms.items():
        by_mode[await namespace.state.get_mode(room)] += joined
        if await namespace.state.get_recording(room) is not None:
            recordings += 1
    counters = namespace.counters
    metrics = [
        Metric("junta_connected_clients", "gauge", "Socket.io clients connected to this process.")
        .add(sockets),
        Metric("junta_rooms", "gauge", "Call rooms with a joined client on this process.")
        .add(len(rooms)),
        Metric("junta_participants", "gauge",
               "Joined clients on this process, by their room's media mode."),
        Metric("junta_recordings_active", "gauge",
               "Rooms with a client on this process that are being recorded.").add(recordings),
        Metric("junta_signal_messages_relayed_total", "counter",
               "Signal messages (offers, answers, candidates) relayed to another peer.")
        .add(counters.relayed),
        Metric("junta_signaling_events_total", "counter", "Client events received, by event."),
        Metric("junta_signaling_errors_total", "counter", "Client events refused, by error code."),
        Metric("junta_slow_readers_disconnected_total", "counter",
               "Clients disconnected because they stopped reading what they were sent.")
        .add(counters.slow_readers),
    ]
    for mode, count in sorted(by_mode.items()):
        metrics[2].add(count, mode=mode)
    for name, count in sorted(counters.events.items()):
        metrics[5].add(count, event=name)
    for code, count in sorted(counters.errors.items()):
        metrics[6].add(count, code=code)
    requests = Metric("junta_http_errors_total", "counter",
                      "HTTP requests refused or failed, by error code.")
    for code, count in sorted(http_errors.items()):
        requests.add(count, code=code)
    metrics.append(requests)
    metrics += await _media(namespace)
    return metrics


async def _media(namespace: CallNamespace) -> list[Metric]:
    bridge = namespace.sfu.media
    if not isinstance(bridge, MediaBridge):
        return []
    try:
        load = await bridge.node.load()
    except Exception as exc:  # a remote node being down must not break the scrape
        log.warning("metrics.media_unavailable error=%s", type(exc).__name__)
        return []
    return [
        Metric("junta_media_forwarded_streams", "gauge",
               "Media streams the SFU forwards to subscribers.").add(load.forwarded_streams),
        Metric("junta_media_rooms", "gauge", "Rooms open on the SFU.").add(load.rooms),
        Metric("junta_media_publishers", "gauge", "Publishers on the SFU.").add(load.publishers),
        Metric("junta_media_subscribers", "gauge", "Subscribers on the SFU.")
        .add(load.subscribers),
    ]


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus scrape endpoint."""
    http_errors = request.app.get(HTTP_ERRORS)
    body = exposition(await collect(request.app[CALL_NAMESPACE], http_errors or Counter()))
    return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})
