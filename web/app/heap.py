"""The garbage collector in a long-running server process."""

from __future__ import annotations

import gc

from aiohttp import web

# Allocations (net of frees) between young-generation collections; CPython's default is 700.
# Each young collection promotes whatever is alive at that instant (messages in flight, their
# tasks and futures), and promoted objects pile up until a full collection walks the whole
# heap: with many peers connected that stalls the loop, every few seconds under load, and
# sets the tail latency of signalling. Fewer young collections promote proportionally fewer
# objects, and a young collection of this size is still short.
YOUNG_THRESHOLD = 20_000


def settle_collector() -> None:
    """Call once the process has started: what is alive then (modules, the app, compiled
    templates and statements) moves out of the collector's reach for good (`gc.freeze`, so
    full collections no longer walk it), and young collections run less often.

    Only for a process that serves one app for its life: frozen objects are never collected
    (reference counting still frees them).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


async def settle_collector_on_startup(_app: web.Application) -> None:
    """`settle_collector` as an `on_startup` hook, appended after the app's own."""
    settle_collector()
