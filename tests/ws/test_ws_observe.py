"""harness.ws.observe: websockets' protocols observed, in memory (no sockets)."""

from __future__ import annotations

from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN
from websockets.uri import parse_uri

from harness.ws.observe import (
    Failure,
    FrameFacts,
    ObservedClient,
    ObservedServer,
    RxFrame,
    TxFrame,
    TxHttp,
    frame_head,
    opcode_name,
    raw_frame,
)

REQUEST = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n"
    "Sec-WebSocket-Protocol: sip\r\n\r\n"
)


def open_pair() -> tuple[ObservedClient, ObservedServer]:
    return ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN), ObservedServer(state=OPEN)


class TestRawFrames:
    """Stimuli serialised by websockets without its checks (RFC 6455 §5.2)."""

    def test_rsv1_unmasked(self) -> None:
        assert raw_frame(opcode=1, payload=b"x", rsv1=True, mask=False) == b"\xc1\x01x"

    def test_reserved_opcode(self) -> None:
        assert raw_frame(opcode=0xB, payload=b"", mask=False) == b"\x8b\x00"
        assert opcode_name(0xB) == "reserved-0xb"

    def test_masked_has_key(self) -> None:
        data = raw_frame(opcode=2, payload=b"abcd", mask=True)
        assert data[:2] == b"\x82\x84" and len(data) == 2 + 4 + 4

    def test_frame_head_extended_length(self) -> None:
        data = raw_frame(opcode=1, payload=b"a" * 300, fin=False, mask=False)
        assert frame_head(data) == {
            "opcode": "text",
            "fin": False,
            "rsv1": False,
            "rsv2": False,
            "rsv3": False,
            "masked": False,
            "length": 300,
        }
        assert frame_head(b"\x81") is None


class TestLog:
    def test_rx_frame_keeps_wire_bytes(self) -> None:
        client, server = open_pair()
        client.send_text(b"hello")
        (wire,) = client.data_to_send()
        assert isinstance(client.log[0], TxFrame) and client.log[0].masked is True
        server.receive_data(wire)
        (item,) = server.log
        assert isinstance(item, RxFrame)
        assert item.raw == wire and item.accepted is True
        assert item.raw[1] & 0x80  # masked on the wire

    def test_ping_is_logged_before_the_pong(self) -> None:
        client, server = open_pair()
        client.send_ping(b"k")
        server.receive_data(client.data_to_send()[0])
        rx, tx = server.log
        assert isinstance(rx, RxFrame) and rx.frame.opcode is Opcode.PING
        assert isinstance(tx, TxFrame) and tx.frame == Frame(Opcode.PONG, b"k")

    def test_auto_pong_off(self) -> None:
        client, server = open_pair()
        server.auto_pong = False
        client.send_ping(b"k")
        server.receive_data(client.data_to_send()[0])
        (rx,) = server.log
        assert isinstance(rx, RxFrame) and rx.accepted
        assert server.data_to_send() == []

    def test_unmasked_frame_fails_with_1002(self) -> None:
        _, server = open_pair()
        server.receive_data(b"\x81\x02hi")
        failure, close = server.log
        assert failure == Failure(1002, "incorrect masking", b"\x81\x02")
        assert isinstance(close, TxFrame) and close.frame.opcode is Opcode.CLOSE
        assert server.data_to_send()[-1] == b""  # the server closes TCP

    def test_unexpected_continuation_is_logged_then_refused(self) -> None:
        _, server = open_pair()
        server.receive_data(raw_frame(opcode=0, payload=b"x", mask=True))
        rx, failure, _ = server.log
        assert isinstance(rx, RxFrame) and rx.accepted is False
        assert isinstance(failure, Failure) and failure.reason == "unexpected continuation frame"


class TestVersion426:
    """RFC 6455 §4.4: 426 with the supported version, where websockets says 400."""

    def _answer(self, version: str) -> tuple[int, list[str]]:
        server = ObservedServer(subprotocols=["sip"])
        server.receive_data(REQUEST.format(version=version).encode())
        (request,) = server.events_received()
        assert server.reader.head == REQUEST.format(version=version).encode()
        response = server.accept(request)
        server.send_response(response)
        assert isinstance(server.log[-1], TxHttp)
        return response.status_code, response.headers.get_all("Sec-WebSocket-Version")

    def test_version_8(self) -> None:
        assert self._answer("8") == (426, ["13"])

    def test_version_13(self) -> None:
        assert self._answer("13") == (101, [])


class TestFrameFacts:
    def test_summaries(self) -> None:
        text = FrameFacts.of(Frame(Opcode.TEXT, b"x" * 312), masked=False)
        assert text.summary("rx", expect_masked=False) == "rx text 312B fin"
        part = FrameFacts.of(Frame(Opcode.CONT, b"ab", fin=False, rsv2=True), masked=False)
        assert part.summary("rx", expect_masked=True) == "rx continuation 2B nofin rsv2 unmasked"
        ping = FrameFacts.of(Frame(Opcode.PING, b"0123456789"), masked=True)
        assert ping.summary("tx", expect_masked=True) == "tx ping 10B"

    def test_close_and_binary_payloads(self) -> None:
        close = FrameFacts.of(Frame(Opcode.CLOSE, b"\x03\xe8bye"), masked=False)
        assert (close.data()["code"], close.data()["reason"]) == (1000, "bye")
        short = FrameFacts.of(Frame(Opcode.CLOSE, b"\x03"), masked=False)
        assert short.data()["code"] is None
        assert short.data()["close_error"] == "close frame too short"
        binary = FrameFacts.of(Frame(Opcode.BINARY, b"\xff\x00"), masked=False)
        assert binary.payload == b"\xff\x00"
