"""The forwarding rules, fed frame by frame with explicit times (no network, no asyncio)."""

from __future__ import annotations

from media.forwarder import Action, Deliver, Forwarder, RequestKeyframe
from media.frames import EncodedFrame

FRAME_TICKS = 3000  # 30 fps at 90 kHz
FRAME_SECONDS = 1 / 30


def key(timestamp: int) -> EncodedFrame:
    return EncodedFrame(data=b"K", timestamp=timestamp, keyframe=True)


def delta(timestamp: int) -> EncodedFrame:
    return EncodedFrame(data=b"d", timestamp=timestamp, keyframe=False)


def delivered(actions: list[Action]) -> dict[str, EncodedFrame]:
    return {a.subscriber_id: a.frame for a in actions if isinstance(a, Deliver)}


def requests(actions: list[Action]) -> int:
    return sum(isinstance(a, RequestKeyframe) for a in actions)


def video() -> Forwarder:
    return Forwarder("video", 90000)


def test_video_subscriber_gets_nothing_until_a_keyframe() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)

    assert delivered(forwarder.on_frame(delta(1000), now=0.01)) == {}
    assert delivered(forwarder.on_frame(delta(4000), now=0.04)) == {}
    assert set(delivered(forwarder.on_frame(key(7000), now=0.07))) == {"ana"}
    assert set(delivered(forwarder.on_frame(delta(10000), now=0.1))) == {"ana"}
    assert not forwarder.is_waiting_for_keyframe("ana")


def test_subscribing_to_video_requests_a_keyframe_at_once() -> None:
    forwarder = video()

    assert requests(forwarder.subscribe("ana", now=5.0)) == 1


def test_subscribing_to_audio_forwards_at_once_and_requests_nothing() -> None:
    forwarder = Forwarder("audio", 48000)

    assert forwarder.subscribe("ana", now=0.0) == []
    frame = EncodedFrame(data=b"opus", timestamp=960, keyframe=True)
    assert set(delivered(forwarder.on_frame(frame, now=0.02))) == {"ana"}
    assert forwarder.on_keyframe_request("ana", now=0.03) == []


def test_many_keyframe_requests_in_a_burst_reach_the_publisher_once() -> None:
    forwarder = video()
    for name in ("a", "b", "c"):
        forwarder.subscribe(name, now=0.0)
    forwarder.on_frame(key(0), now=0.0)

    sent = requests(forwarder.on_keyframe_request("a", now=1.0))
    for i, name in enumerate(["b", "c", "a", "b", "c"] * 4):
        sent += requests(forwarder.on_keyframe_request(name, now=1.0 + 0.01 * i))

    assert sent == 1


def test_a_throttled_request_is_sent_when_the_interval_has_passed() -> None:
    forwarder = video()
    forwarder.subscribe("a", now=0.0)
    forwarder.on_frame(key(0), now=0.0)
    assert requests(forwarder.on_keyframe_request("a", now=1.0)) == 1

    assert requests(forwarder.on_keyframe_request("a", now=1.1)) == 0
    assert requests(forwarder.on_frame(delta(3000), now=1.2)) == 0
    # The first frame after the 300 ms window carries the held-back request.
    assert requests(forwarder.on_frame(delta(6000), now=1.31)) == 1
    assert requests(forwarder.on_frame(delta(9000), now=1.7)) == 0


def test_a_keyframe_answers_the_requests_made_before_it() -> None:
    forwarder = video()
    forwarder.subscribe("a", now=0.0)
    forwarder.on_frame(key(0), now=0.0)
    assert requests(forwarder.on_keyframe_request("a", now=1.0)) == 1
    assert requests(forwarder.on_keyframe_request("a", now=1.1)) == 0

    forwarder.on_frame(key(3000), now=1.2)

    assert requests(forwarder.on_frame(delta(6000), now=1.5)) == 0


def test_a_late_subscriber_is_asked_for_even_right_after_another_request() -> None:
    forwarder = video()
    forwarder.subscribe("early", now=0.0)
    forwarder.on_frame(key(0), now=0.05)  # answers the early subscriber's request

    assert requests(forwarder.subscribe("late", now=0.1)) == 0  # inside the 300 ms window
    actions = forwarder.on_frame(delta(3000), now=0.35)
    assert requests(actions) == 1
    assert "late" not in delivered(actions)


def test_keyframe_requests_are_repeated_while_a_subscriber_still_waits() -> None:
    forwarder = video()
    assert requests(forwarder.subscribe("a", now=0.0)) == 1  # this request gets lost

    sent = [
        requests(forwarder.on_frame(delta(i * FRAME_TICKS), now=i * FRAME_SECONDS))
        for i in range(1, 75)
    ]

    assert sum(sent) == 2  # at 1 s and 2 s, not every frame
    assert forwarder.keyframe_requests_sent == 3


def test_late_subscriber_timeline_starts_at_zero_and_runs_continuously() -> None:
    forwarder = video()
    forwarder.subscribe("early", now=0.0)
    source = 4_000_000_000  # near the 32-bit wrap on purpose
    forwarder.on_frame(key(source), now=0.0)
    forwarder.subscribe("late", now=10.0)

    times: list[int] = []
    for i in range(5):
        timestamp = (source + 300 * FRAME_TICKS + i * FRAME_TICKS) % (1 << 32)
        frame = key(timestamp) if i == 0 else delta(timestamp)
        times.append(delivered(forwarder.on_frame(frame, now=10.0 + i / 30))["late"].timestamp)

    assert times == [0, 3000, 6000, 9000, 12000]


def test_early_subscriber_keeps_the_source_spacing_across_the_32_bit_wrap() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    first = (1 << 32) - FRAME_TICKS

    out = [
        delivered(forwarder.on_frame(key(first), now=0.0))["ana"].timestamp,
        delivered(forwarder.on_frame(delta(0), now=FRAME_SECONDS))["ana"].timestamp,
        delivered(forwarder.on_frame(delta(FRAME_TICKS), now=2 * FRAME_SECONDS))["ana"].timestamp,
    ]

    assert out == [0, 3000, 6000]


def test_reanchor_continues_the_timeline_from_a_new_source() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    forwarder.on_frame(key(50_000), now=0.0)
    forwarder.on_frame(delta(53_000), now=FRAME_SECONDS)

    assert requests(forwarder.reanchor(now=0.5)) == 1
    assert delivered(forwarder.on_frame(delta(999_000), now=0.5)) == {}
    frame = delivered(forwarder.on_frame(key(777), now=0.6))["ana"]

    # 3000 + (0.6 s - 1/30 s) of wall time at 90 kHz: no jump back, no gap beyond real time.
    assert frame.timestamp == 3000 + round((0.6 - FRAME_SECONDS) * 90000)


def test_paused_subscriber_gets_nothing_and_resumes_from_a_keyframe() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    forwarder.subscribe("ben", now=0.0)
    forwarder.on_frame(key(0), now=0.0)

    forwarder.pause("ana")
    assert set(delivered(forwarder.on_frame(delta(3000), now=0.03))) == {"ben"}

    assert requests(forwarder.resume("ana", now=2.0)) == 1
    assert set(delivered(forwarder.on_frame(delta(180_000), now=2.0))) == {"ben"}
    resumed = delivered(forwarder.on_frame(key(183_000), now=2.03))
    assert set(resumed) == {"ana", "ben"}
    # The pause shows as elapsed time, as it would have with the frames forwarded.
    assert resumed["ana"].timestamp == 183_000


def test_a_paused_subscriber_does_not_keep_keyframe_requests_coming() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    forwarder.pause("ana")

    sent = sum(
        requests(forwarder.on_frame(delta(i * FRAME_TICKS), now=i * 0.1)) for i in range(1, 50)
    )

    assert sent == 0


def test_resuming_audio_forwards_the_next_frame() -> None:
    forwarder = Forwarder("audio", 48000)
    forwarder.subscribe("ana", now=0.0)
    forwarder.pause("ana")
    assert delivered(forwarder.on_frame(EncodedFrame(b"o", 960, True), now=0.02)) == {}

    assert forwarder.resume("ana", now=0.5) == []
    assert "ana" in delivered(forwarder.on_frame(EncodedFrame(b"o", 24960, True), now=0.52))


def test_a_slow_subscriber_that_dropped_frames_waits_for_a_keyframe_and_asks_for_one() -> None:
    forwarder = video()
    forwarder.subscribe("slow", now=0.0)
    forwarder.subscribe("fast", now=0.0)
    forwarder.on_frame(key(0), now=0.0)

    assert requests(forwarder.on_dropped("slow", now=1.0)) == 1
    assert forwarder.is_waiting_for_keyframe("slow")
    assert set(delivered(forwarder.on_frame(delta(3000), now=1.03))) == {"fast"}
    assert set(delivered(forwarder.on_frame(key(6000), now=1.06))) == {"slow", "fast"}


def test_an_unsubscribed_subscriber_gets_nothing_more() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    forwarder.unsubscribe("ana")
    forwarder.unsubscribe("never-there")

    assert delivered(forwarder.on_frame(key(0), now=0.0)) == {}
    assert forwarder.on_keyframe_request("ana", now=1.0) == []
    assert forwarder.on_dropped("ana", now=1.0) == []
    assert forwarder.subscriber_ids == []


def test_a_publisher_restart_is_not_seen_as_a_jump_back_in_time() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    forwarder.on_frame(key(900_000), now=0.0)
    forwarder.on_frame(delta(903_000), now=FRAME_SECONDS)

    # The publisher's sender restarted with a new random timestamp origin.
    frame = delivered(forwarder.on_frame(delta(12_345), now=2 * FRAME_SECONDS))["ana"]

    assert frame.timestamp == 6000


def test_loss_on_the_publishers_side_holds_every_subscriber_until_a_keyframe() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    forwarder.subscribe("ben", now=0.0)
    forwarder.on_frame(key(0), now=0.0)

    assert requests(forwarder.on_source_loss(now=1.0)) == 1
    assert delivered(forwarder.on_frame(delta(90_000), now=1.0)) == {}
    assert set(delivered(forwarder.on_frame(key(93_000), now=1.03))) == {"ana", "ben"}


def test_audio_ignores_loss_on_the_publishers_side() -> None:
    forwarder = Forwarder("audio", 48000)
    forwarder.subscribe("ana", now=0.0)

    assert forwarder.on_source_loss(now=1.0) == []
    assert "ana" in delivered(forwarder.on_frame(EncodedFrame(b"o", 960, True), now=1.0))


# --- simulcast: several layers of one source, one layer per subscriber --------------------

LOW, MID, TOP = 0, 1, 2


def layered() -> Forwarder:
    return Forwarder("video", 90000, layers=3)


def layer_requests(actions: list[Action]) -> list[int]:
    return [a.layer for a in actions if isinstance(a, RequestKeyframe)]


def test_a_simulcast_subscriber_starts_on_the_top_layer_and_ignores_the_others() -> None:
    forwarder = layered()
    assert layer_requests(forwarder.subscribe("ana", now=0.0)) == [TOP]

    assert delivered(forwarder.on_frame(key(0), now=0.0, layer=LOW)) == {}
    assert set(delivered(forwarder.on_frame(key(0), now=0.0, layer=TOP))) == {"ana"}
    assert delivered(forwarder.on_frame(delta(3000), now=0.03, layer=MID)) == {}
    assert set(delivered(forwarder.on_frame(delta(3000), now=0.03, layer=TOP))) == {"ana"}
    assert forwarder.current_layer("ana") == TOP


def test_a_switch_waits_for_the_target_keyframe_and_keeps_the_old_layer_until_then() -> None:
    forwarder = layered()
    forwarder.subscribe("ana", now=0.0)
    forwarder.on_frame(key(0), now=0.0, layer=TOP)

    assert layer_requests(forwarder.set_target_layer("ana", LOW, now=1.0)) == [LOW]
    # The low layer's delta frames are useless without its keyframe: the top layer goes on.
    assert delivered(forwarder.on_frame(delta(90_000), now=1.0, layer=LOW)) == {}
    assert set(delivered(forwarder.on_frame(delta(90_000), now=1.0, layer=TOP))) == {"ana"}

    assert set(delivered(forwarder.on_frame(key(93_000), now=1.03, layer=LOW))) == {"ana"}
    assert delivered(forwarder.on_frame(delta(96_000), now=1.06, layer=TOP)) == {}
    assert set(delivered(forwarder.on_frame(delta(96_000), now=1.06, layer=LOW))) == {"ana"}
    assert forwarder.current_layer("ana") == LOW


def test_the_timeline_stays_continuous_across_a_layer_switch() -> None:
    forwarder = layered()
    forwarder.subscribe("ana", now=0.0)
    top_origin, low_origin = 1_000_000, 4_000_000_000  # each encoder has its own origin
    out = [delivered(forwarder.on_frame(key(top_origin), now=0.0, layer=TOP))["ana"].timestamp]
    out.append(
        delivered(forwarder.on_frame(delta(top_origin + 3000), now=FRAME_SECONDS, layer=TOP))[
            "ana"
        ].timestamp
    )
    forwarder.set_target_layer("ana", LOW, now=0.05)
    switched = delivered(forwarder.on_frame(key(low_origin), now=2 * FRAME_SECONDS, layer=LOW))
    out.append(switched["ana"].timestamp)
    after = delivered(forwarder.on_frame(delta(low_origin + 3000), now=0.1, layer=LOW))
    out.append(after["ana"].timestamp)

    assert out == [0, 3000, 6000, 9000]


def test_two_subscribers_get_different_layers_of_one_source() -> None:
    forwarder = layered()
    forwarder.subscribe("strong", now=0.0)
    forwarder.subscribe("weak", now=0.0, layer=LOW)

    assert set(delivered(forwarder.on_frame(key(0), now=0.0, layer=TOP))) == {"strong"}
    assert set(delivered(forwarder.on_frame(key(0), now=0.0, layer=LOW))) == {"weak"}
    assert delivered(forwarder.on_frame(key(0), now=0.0, layer=MID)) == {}


def test_a_weak_subscribers_keyframe_requests_go_to_its_own_layer() -> None:
    forwarder = layered()
    forwarder.subscribe("strong", now=0.0)
    forwarder.subscribe("weak", now=0.0, layer=LOW)
    forwarder.on_frame(key(0), now=0.0, layer=TOP)
    forwarder.on_frame(key(0), now=0.0, layer=LOW)

    asked = [
        layer
        for i in range(20)
        for layer in layer_requests(forwarder.on_keyframe_request("weak", now=1.0 + 0.1 * i))
    ]

    assert asked and set(asked) == {LOW}
    assert forwarder.keyframe_requests_sent_for(TOP) == 1  # the strong subscriber's first


def test_the_top_layer_is_asked_for_a_keyframe_at_most_once_a_second() -> None:
    forwarder = layered()
    forwarder.subscribe("ana", now=0.0)
    forwarder.subscribe("ben", now=0.0)
    forwarder.on_frame(key(0), now=0.0, layer=TOP)

    sent = 0
    for i in range(1, 91):  # three seconds of PLIs from both, and top-layer delta frames
        now = i * FRAME_SECONDS
        sent += requests(forwarder.on_keyframe_request("ana" if i % 2 else "ben", now=now))
        sent += requests(forwarder.on_frame(delta(i * FRAME_TICKS), now=now, layer=TOP))

    assert sent == 3  # at 1 s, 2 s and 3 s: never two within a second


def test_the_lower_layers_keep_the_short_request_interval() -> None:
    forwarder = layered()
    forwarder.subscribe("weak", now=0.0, layer=LOW)
    forwarder.on_frame(key(0), now=0.0, layer=LOW)

    assert layer_requests(forwarder.on_keyframe_request("weak", now=1.0)) == [LOW]
    assert layer_requests(forwarder.on_keyframe_request("weak", now=1.35)) == [LOW]


def test_a_switch_back_before_the_keyframe_costs_nothing() -> None:
    forwarder = layered()
    forwarder.subscribe("ana", now=0.0)
    forwarder.on_frame(key(0), now=0.0, layer=TOP)
    forwarder.set_target_layer("ana", LOW, now=1.0)

    assert forwarder.set_target_layer("ana", TOP, now=1.1) == []
    assert delivered(forwarder.on_frame(key(9000), now=1.2, layer=LOW)) == {}
    assert set(delivered(forwarder.on_frame(delta(9000), now=1.2, layer=TOP))) == {"ana"}


def test_loss_on_one_layer_holds_only_that_layers_subscribers() -> None:
    forwarder = layered()
    forwarder.subscribe("strong", now=0.0)
    forwarder.subscribe("weak", now=0.0, layer=LOW)
    forwarder.on_frame(key(0), now=0.0, layer=TOP)
    forwarder.on_frame(key(0), now=0.0, layer=LOW)

    assert layer_requests(forwarder.on_source_loss(now=1.0, layer=LOW)) == [LOW]
    assert delivered(forwarder.on_frame(delta(3000), now=1.0, layer=LOW)) == {}
    assert set(delivered(forwarder.on_frame(delta(3000), now=1.0, layer=TOP))) == {"strong"}


def test_a_thinned_subscriber_gets_only_keyframes_which_are_asked_for_in_time() -> None:
    forwarder = video()  # a screen share: one layer
    forwarder.subscribe("weak", now=0.0)
    forwarder.subscribe("strong", now=0.0)
    forwarder.on_frame(key(0), now=0.0)
    forwarder.set_keyframe_interval("weak", 2.0, now=0.0)

    got: list[bool] = []
    sent = 0
    for i in range(1, 151):  # five seconds at 30 fps, a keyframe whenever one is asked for
        now = i * FRAME_SECONDS
        frame = key(i * FRAME_TICKS) if sent_before(forwarder, sent) else delta(i * FRAME_TICKS)
        sent = forwarder.keyframe_requests_sent
        actions = forwarder.on_frame(frame, now=now)
        assert "strong" in delivered(actions)
        if "weak" in delivered(actions):
            got.append(delivered(actions)["weak"].keyframe)

    assert got and all(got)  # keyframes only: a frame every two seconds, not none
    assert 2 <= len(got) <= 3


def sent_before(forwarder: Forwarder, seen: int) -> bool:
    """Whether the forwarder asked for a keyframe since `seen` (the publisher answers it)."""
    return forwarder.keyframe_requests_sent > seen


def test_full_rate_resumes_at_the_next_keyframe_not_mid_reference_chain() -> None:
    forwarder = video()
    forwarder.subscribe("ana", now=0.0)
    forwarder.set_keyframe_interval("ana", 2.0, now=0.0)
    forwarder.on_frame(key(0), now=0.0)
    assert delivered(forwarder.on_frame(delta(3000), now=0.03)) == {}

    forwarder.set_keyframe_interval("ana", None, now=0.05)
    assert delivered(forwarder.on_frame(delta(6000), now=0.06)) == {}
    assert "ana" in delivered(forwarder.on_frame(key(9000), now=0.1))
    assert "ana" in delivered(forwarder.on_frame(delta(12000), now=0.13))
