"""The layer selector fed second by second with explicit times (no network)."""

from __future__ import annotations

import itertools

from media.layer_selector import DOWN_HOLD, PROBE_HOLD, UP_HOLD, LayerSelector

LOW, MID, TOP = 0, 1, 2
BITRATES = (100_000.0, 300_000.0, 900_000.0)


def run(
    selector: LayerSelector,
    budget: float | None,
    start: float,
    seconds: float,
    loss: float = 0.0,
    bitrates: tuple[float, ...] = BITRATES,
    step: float = 0.5,
) -> list[int]:
    """The targets chosen every `step` seconds from `start` for `seconds`."""
    count = round(seconds / step)
    return [selector.update(start + i * step, budget, bitrates, loss) for i in range(count)]


def test_it_starts_on_the_top_layer_and_stays_there_without_feedback() -> None:
    selector = LayerSelector(3)

    assert run(selector, None, 0.0, 10.0) == [TOP] * 20


def test_it_steps_down_at_once_to_the_best_layer_that_fits() -> None:
    selector = LayerSelector(3)

    assert selector.update(0.0, 350_000.0, BITRATES) == MID
    assert selector.update(0.5, 50_000.0, BITRATES) == LOW  # the floor: never nothing


def test_a_budget_just_under_the_layers_measured_rate_is_no_shortage() -> None:
    selector = LayerSelector(3)

    assert set(run(selector, BITRATES[TOP] * 0.95, 0.0, 10.0)) == {TOP}
    assert selector.update(10.0, BITRATES[TOP] * 0.85, BITRATES) == MID


def test_heavy_loss_steps_down_one_layer_and_waits_for_reports_to_catch_up() -> None:
    selector = LayerSelector(3)

    targets = run(selector, 5_000_000.0, 0.0, 2.0, loss=0.2, step=0.25)

    assert targets[0] == MID
    assert targets[: round(DOWN_HOLD / 0.25)] == [MID] * round(DOWN_HOLD / 0.25)
    assert targets[-1] == LOW


def test_it_goes_up_only_after_the_room_for_the_next_layer_has_lasted() -> None:
    selector = LayerSelector(3, start=LOW)
    enough_for_mid = BITRATES[MID] * 1.3 + 1

    targets = run(selector, enough_for_mid, 0.0, UP_HOLD + 1.0)

    assert targets[: round(UP_HOLD / 0.5)] == [LOW] * round(UP_HOLD / 0.5)
    assert targets[-1] == MID


def test_room_for_the_next_layer_without_the_margin_is_not_enough() -> None:
    selector = LayerSelector(3, start=LOW, probe_hold=1000.0)

    assert set(run(selector, BITRATES[MID] * 1.2, 0.0, 30.0)) == {LOW}


def test_a_budget_that_wavers_around_a_layer_does_not_flap() -> None:
    selector = LayerSelector(3, start=MID, probe_hold=1000.0)
    targets = [MID] + [
        selector.update(i * 0.5, 1_000_000.0 if i % 4 else 250_000.0, BITRATES) for i in range(60)
    ]
    switches = sum(1 for a, b in itertools.pairwise(targets) if a != b)

    # Down on the first dip, then never back up: the room never lasts UP_HOLD.
    assert switches == 1
    assert targets[-1] == LOW


def test_loss_keeps_it_from_climbing() -> None:
    selector = LayerSelector(3, start=LOW)

    assert set(run(selector, 5_000_000.0, 0.0, 20.0, loss=0.05)) == {LOW}


def test_a_layer_the_publisher_stopped_sending_is_left_and_never_chosen() -> None:
    selector = LayerSelector(3)
    no_top = (100_000.0, 300_000.0, 0.0)

    assert selector.update(0.0, 5_000_000.0, no_top) == MID
    assert set(run(selector, 5_000_000.0, 0.5, 20.0, bitrates=no_top)) == {MID}


def test_a_layer_that_fits_with_margin_tries_the_next_one_and_backs_off_when_that_fails() -> None:
    # What a receiver's own estimate looks like after a step down: 1.5 times what it receives.
    selector = LayerSelector(3, start=LOW)
    receiving_low = BITRATES[LOW] * 1.5

    first = run(selector, receiving_low, 0.0, PROBE_HOLD + 0.5)
    assert first[-1] == MID  # tried

    t = PROBE_HOLD + 0.5
    assert selector.update(t, 200_000.0, BITRATES) == LOW  # the try did not hold
    second = run(selector, receiving_low, t + 0.5, PROBE_HOLD * 2 - 1.0)
    assert set(second) == {LOW}  # the next try waits twice as long
    assert run(selector, receiving_low, t + PROBE_HOLD * 2, 1.0)[-1] == MID
