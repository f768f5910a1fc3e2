"""Subscription: the per-peer rule that the server never has two offers outstanding."""

from __future__ import annotations

from signaling.subscription import Subscription

OFFER = {"kind": "offer"}


def test_nothing_to_receive_needs_no_first_offer() -> None:
    sub = Subscription()
    assert not sub.needs_offer(frozenset())
    assert sub.needs_offer(frozenset({"a"}))


def test_a_second_offer_waits_for_the_answer_to_the_first() -> None:
    sub = Subscription()
    assert sub.begin()
    sub.sent(frozenset({"a"}), OFFER)
    assert sub.awaiting_answer
    assert not sub.begin()  # tracks changed meanwhile
    assert not sub.begin()
    assert sub.answered() is True  # one fresh offer is due, however many changes came
    assert not sub.awaiting_answer
    assert sub.begin()


def test_an_answer_with_no_change_meanwhile_leaves_nothing_due() -> None:
    sub = Subscription()
    assert sub.begin()
    sub.sent(frozenset({"a"}), OFFER)
    assert sub.answered() is False
    assert not sub.needs_offer(frozenset({"a"}))
    assert sub.needs_offer(frozenset())  # the track ended: an offer marks it inactive


def test_a_change_while_the_offer_is_being_made_makes_another_due() -> None:
    sub = Subscription()
    assert sub.begin()
    assert not sub.begin()  # arrives while the node builds the offer
    sub.sent(frozenset({"a"}), OFFER)
    assert sub.answered() is True


def test_an_abandoned_offer_frees_the_peer_for_the_next() -> None:
    sub = Subscription()
    assert sub.begin()
    sub.abandon()
    assert not sub.awaiting_answer
    assert sub.begin()


def test_reset_starts_over_and_voids_work_in_progress() -> None:
    sub = Subscription()
    assert sub.begin()
    before = sub.generation
    sub.sent(frozenset({"a"}), OFFER)
    sub.reset()
    assert sub.generation == before + 1
    assert not sub.awaiting_answer
    assert sub.needs_offer(frozenset({"a"}))
    assert sub.begin()
