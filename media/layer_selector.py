"""Which simulcast layer one subscriber gets of one source, from that subscriber's own feedback.

Pure logic with no I/O: `LayerSelector.update` is fed the bandwidth this source may use on the
subscriber's link, each layer's measured bitrate and the link's recent loss, with the current
monotonic time, and answers the layer to forward. It steps down at once when the layer no longer
fits, and up only after the room for the next layer has lasted a while, so it does not flap.
"""

from __future__ import annotations

from collections.abc import Sequence

# Down: the budget is below the layer's bitrate times this. A receiver's estimate (REMB) sits
# near what it receives while the link is fine and drops to about 0.85 of it when queues build:
# a budget just under a layer's (noisy, keyframe-lumpy) measured rate is not a shortage.
DOWN_MARGIN = 0.9
# Up: the next layer's bitrate times this must fit, for UP_HOLD seconds without loss.
UP_MARGIN = 1.3
UP_HOLD = 3.0
# Loss above this steps down one layer (at most once per DOWN_HOLD: reports lag a switch).
HIGH_LOSS = 0.10
# Loss at or below this counts as a clean link (room to go up).
LOW_LOSS = 0.02
DOWN_HOLD = 1.5
# A receiver's own estimate (REMB) stays near 1.5 times what it receives, so after stepping down
# it may never show room for the layer above. A layer that has fitted with margin and no loss
# for PROBE_HOLD seconds tries the next one; each try that fails doubles the wait.
PROBE_HOLD = 8.0
MAX_PROBE_HOLD = 64.0


class LayerSelector:
    """The target layer of one (subscriber, simulcast source) pair, with hysteresis.

    Layers are numbered from 0 (lowest quality) up; a layer whose bitrate is 0 is not being
    sent (the publisher's encoder dropped it) and is never chosen. Until feedback arrives the
    target stays where it started (the top layer: a good link should not have to climb).
    """

    def __init__(
        self,
        layers: int,
        *,
        start: int | None = None,
        up_margin: float = UP_MARGIN,
        up_hold: float = UP_HOLD,
        down_hold: float = DOWN_HOLD,
        probe_hold: float = PROBE_HOLD,
    ) -> None:
        self.layers = layers
        self.target = layers - 1 if start is None else start
        self._up_margin = up_margin
        self._up_hold = up_hold
        self._down_hold = down_hold
        self._base_probe_hold = probe_hold
        self._probe_hold = probe_hold
        self._up_since: float | None = None  # room for the next layer seen since
        self._fits_since: float | None = None  # the current layer fitting with margin since
        self._last_down: float | None = None
        self._probed_at: float | None = None  # when the last try upwards was made

    def update(
        self, now: float, budget: float | None, bitrates: Sequence[float], loss: float = 0.0
    ) -> int:
        """The layer to forward now; `budget` in bits per second (None: no feedback yet)."""
        active = [layer for layer in range(self.layers) if bitrates[layer] > 0]
        if not active:
            return self.target
        if self.target not in active:
            below = [layer for layer in active if layer < self.target]
            return self._move(max(below) if below else min(active), now, down=True)
        if budget is None:
            return self.target
        if budget < bitrates[self.target] * DOWN_MARGIN and self.target > active[0]:
            fitting = [layer for layer in active if bitrates[layer] <= budget]
            return self._move(max(fitting) if fitting else active[0], now, down=True)
        if loss > HIGH_LOSS and self.target > active[0]:
            if self._last_down is None or now - self._last_down >= self._down_hold:
                return self._move(max(layer for layer in active if layer < self.target), now, True)
            return self.target
        self._forget_probe_if_kept(now)
        above = [layer for layer in active if layer > self.target]
        if not above or loss > LOW_LOSS:
            self._up_since = self._fits_since = None
            return self.target
        up = above[0]
        if budget >= bitrates[up] * self._up_margin:
            self._up_since = now if self._up_since is None else self._up_since
            if now - self._up_since >= self._up_hold:
                return self._move(up, now, down=False)
        else:
            self._up_since = None
        if budget >= bitrates[self.target] * self._up_margin:
            self._fits_since = now if self._fits_since is None else self._fits_since
            if now - self._fits_since >= self._probe_hold:
                self._probed_at = now
                return self._move(up, now, down=False)
        else:
            self._fits_since = None
        return self.target

    def _move(self, layer: int, now: float, down: bool) -> int:
        if down:
            self._last_down = now
            if self._probed_at is not None:
                # The try upwards did not hold: wait longer before the next one.
                self._probe_hold = min(self._probe_hold * 2, MAX_PROBE_HOLD)
                self._probed_at = None
        self.target = layer
        self._up_since = self._fits_since = None
        return layer

    def _forget_probe_if_kept(self, now: float) -> None:
        # A try that has held as long as the wait before it was a success.
        if self._probed_at is not None and now - self._probed_at >= self._probe_hold:
            self._probed_at = None
            self._probe_hold = self._base_probe_hold
