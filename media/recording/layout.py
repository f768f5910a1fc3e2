"""Where each video goes in an exported recording's frame: pure geometry, no media.

`speaker`: the main video (the longest-running one: the lecturer's camera or the slides) fills
the left three quarters; the others are stacked in the right quarter. `grid`: equal tiles, as
square a grid as the count allows. Every video is fitted inside its tile keeping its aspect ratio
(letterboxed), and every size and position is even, as 4:2:0 chroma needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Layout = Literal["speaker", "grid"]
LAYOUTS: tuple[Layout, ...] = ("speaker", "grid")


@dataclass(frozen=True)
class Rect:
    """A rectangle of the output frame, in pixels."""

    x: int
    y: int
    width: int
    height: int


def _even(value: float) -> int:
    """A size: rounded down to even, at least 2."""
    return max(2, _even_offset(value))


def _even_offset(value: float) -> int:
    """A position: rounded down to even."""
    return max(0, int(value) // 2 * 2)


def tiles(layout: Layout, count: int, width: int, height: int, main: int = 0) -> list[Rect]:
    """The tile of each of `count` videos (index `main`: the speaker) in a width×height frame."""
    if count <= 0:
        return []
    if layout == "grid" or count == 1:
        columns = math.ceil(math.sqrt(count))
        rows = math.ceil(count / columns)
        tile_w, tile_h = _even(width / columns), _even(height / rows)
        return [
            Rect((i % columns) * tile_w, (i // columns) * tile_h, tile_w, tile_h)
            for i in range(count)
        ]
    main_w = _even(width * 3 / 4)
    side_w = width - main_w
    side_h = _even(height / (count - 1))
    rects = []
    side = 0
    for index in range(count):
        if index == main:
            rects.append(Rect(0, 0, main_w, height))
        else:
            rects.append(Rect(main_w, side * side_h, side_w, side_h))
            side += 1
    return rects


def fit(source_width: int, source_height: int, tile: Rect) -> Rect:
    """The largest rectangle of the source's aspect ratio centred in `tile`."""
    if source_width <= 0 or source_height <= 0:
        return tile
    scale = min(tile.width / source_width, tile.height / source_height)
    width = min(tile.width, _even(source_width * scale))
    height = min(tile.height, _even(source_height * scale))
    return Rect(
        tile.x + _even_offset((tile.width - width) / 2),
        tile.y + _even_offset((tile.height - height) / 2),
        width,
        height,
    )
