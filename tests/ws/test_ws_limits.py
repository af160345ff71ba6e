"""The per-connection limits (harness.ws.observe MAX_MESSAGE, websockets' `max_size`): a
frame announcing more than MAX_MESSAGE bytes fails the connection with Close 1009 before
any of it is buffered, whichever side wicct plays."""

from __future__ import annotations

import struct

import pytest
from websockets.frames import CloseCode
from websockets.protocol import OPEN
from websockets.uri import parse_uri

from harness.ws.observe import MAX_MESSAGE, ObservedClient, ObservedServer


def _head(length: int, *, masked: bool) -> bytes:
    # RFC 6455 §5.2: FIN + binary, then the 64-bit extended length (and a mask key)
    return bytes([0x82, (0x80 if masked else 0) | 127]) + struct.pack("!Q", length) + (b"\0" * 4 if masked else b"")


@pytest.mark.parametrize("announced", [MAX_MESSAGE + 1, 2**62])
@pytest.mark.parametrize("side", ["client", "server"])
def test_an_announced_length_past_the_limit_is_refused_with_1009(side, announced):
    if side == "client":  # wicct's WIC emulator: the server's frames are unmasked
        protocol = ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN)
    else:
        protocol = ObservedServer(state=OPEN)
    assert protocol.max_message_size == MAX_MESSAGE
    protocol.receive_data(_head(announced, masked=side == "server") + b"x" * 1000)
    assert protocol.close_sent is not None
    assert protocol.close_sent.code == CloseCode.MESSAGE_TOO_BIG
    assert b"".join(protocol.data_to_send())  # the Close frame went out


def test_a_message_just_under_the_limit_is_taken():
    protocol = ObservedServer(state=OPEN)
    payload = b"a" * MAX_MESSAGE
    head = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", len(payload)) + b"\0" * 4  # zero mask
    protocol.receive_data(head + payload)
    assert protocol.close_sent is None
    (frame,) = protocol.events_received()
    assert len(frame.data) == MAX_MESSAGE
