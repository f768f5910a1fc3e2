"""The python-socketio internals `signaling.scaleout.CallManager` relies on.

`CallManager` delivers to local sockets without socket.io's task-per-packet path and carries
process commands on the manager's channel; both lean on names python-socketio does not
document. If an upgrade renames them, this file fails, not the product.
"""

from __future__ import annotations

import inspect

import socketio
from engineio import packet as eio_packet
from socketio import packet

from signaling.scaleout import CallManager


def test_the_manager_order_puts_queued_delivery_before_the_base_manager() -> None:
    order = [cls.__name__ for cls in CallManager.__mro__]
    assert order.index("AsyncRedisManager") < order.index("_QueuedDelivery")
    assert order.index("_QueuedDelivery") < order.index("AsyncManager")


def test_the_private_names_used_exist_with_the_expected_shape() -> None:
    assert inspect.iscoroutinefunction(socketio.AsyncServer._send_eio_packet)
    assert list(inspect.signature(socketio.AsyncServer._send_eio_packet).parameters) == [
        "self", "eio_sid", "eio_pkt"]
    assert inspect.iscoroutinefunction(socketio.AsyncRedisManager._handle_emit)
    assert list(inspect.signature(socketio.AsyncRedisManager._handle_emit).parameters) == [
        "self", "message"]
    assert hasattr(socketio.AsyncServer(), "packet_class")
    assert callable(socketio.AsyncManager.get_participants)


def test_an_event_packet_encodes_to_the_frames_a_socket_sends() -> None:
    encoded = packet.Packet(packet.EVENT, namespace="/call", data=["signal", {"a": 1}]).encode()
    frame = eio_packet.Packet(eio_packet.MESSAGE, encoded)
    assert frame.encode() == '42/call,["signal",{"a":1}]'
