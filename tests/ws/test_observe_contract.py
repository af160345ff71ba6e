"""Contract with websockets: the private hooks `harness.ws.observe` relies on.

observe.py subclasses websockets' sans-I/O `ClientProtocol` / `ServerProtocol` and its
`StreamReader` and overrides methods websockets does not document as public: the reader's
generator methods, `recv_frame`, `send_frame` and `fail`, `send_request` /
`send_response`, `accept`; it replaces the `reader` and restarts the `parser` generator,
and appends to `events`. A websockets release that renames or reshapes any of these would
not raise: the override would just stop being called and the evidence of RFC 6455 framing
(the MASK bit as it was on the wire, refused frames, the HTTP head) would silently go
missing. Each hook has a named test here, by signature and by behaviour, so an upgrade
beyond the range pinned in pyproject.toml fails loudly.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from packaging.requirements import Requirement
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN, Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from harness.ws.observe import (
    Failure,
    ObservedClient,
    ObservedMixin,
    ObservedServer,
    RecordingReader,
    RxFrame,
    TxFrame,
    TxHttp,
    UncheckedFrame,
)

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: sip\r\n\r\n"
)


def params(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter: what a call from websockets depends on."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


P, K = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
EMPTY = inspect.Parameter.empty

# websockets' methods that observe.py overrides, with the parameters it was written for.
HOOKS: dict[str, tuple[type, str, list[tuple[str, Any, Any]], bool]] = {
    # name: (websockets class, method, parameters, is a generator function)
    "StreamReader.read_line": (
        StreamReader, "read_line",
        [("self", P, EMPTY), ("m", P, EMPTY), ("too_long_exc_type", P, RuntimeError)], True,
    ),
    "StreamReader.read_exact": (
        StreamReader, "read_exact", [("self", P, EMPTY), ("n", P, EMPTY)], True,
    ),
    "StreamReader.read_to_eof": (
        StreamReader, "read_to_eof",
        [("self", P, EMPTY), ("m", P, EMPTY), ("too_long_exc_type", P, RuntimeError)], True,
    ),
    "Protocol.parse": (Protocol, "parse", [("self", P, EMPTY)], True),
    "ClientProtocol.parse": (ClientProtocol, "parse", [("self", P, EMPTY)], True),
    "ServerProtocol.parse": (ServerProtocol, "parse", [("self", P, EMPTY)], True),
    "Protocol.recv_frame": (
        Protocol, "recv_frame", [("self", P, EMPTY), ("frame", P, EMPTY)], False,
    ),
    "Protocol.send_frame": (
        Protocol, "send_frame", [("self", P, EMPTY), ("frame", P, EMPTY)], False,
    ),
    "Protocol.fail": (
        Protocol, "fail", [("self", P, EMPTY), ("code", P, EMPTY), ("reason", P, "")], False,
    ),
    "ClientProtocol.send_request": (
        ClientProtocol, "send_request", [("self", P, EMPTY), ("request", P, EMPTY)], False,
    ),
    "ServerProtocol.send_response": (
        ServerProtocol, "send_response", [("self", P, EMPTY), ("response", P, EMPTY)], False,
    ),
    "ServerProtocol.accept": (
        ServerProtocol, "accept", [("self", P, EMPTY), ("request", P, EMPTY)], False,
    ),
    "ServerProtocol.reject": (
        ServerProtocol, "reject", [("self", P, EMPTY), ("status", P, EMPTY), ("text", P, EMPTY)],
        False,
    ),
    "Frame.check": (Frame, "check", [("self", P, EMPTY)], False),
}


def test_installed_websockets_is_in_the_pinned_range() -> None:
    """pyproject.toml pins websockets below the next major (these tests are the contract
    for that range); widen the pin only with these tests passing on the new version."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    (spec,) = [
        Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("websockets")
    ]
    assert any(s.operator == "<" for s in spec.specifier), "websockets needs an upper bound"
    assert spec.specifier.contains(websockets.__version__), websockets.__version__


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hook_signature(hook: str) -> None:
    cls, name, expected, generator = HOOKS[hook]
    fn = cls.__dict__.get(name)
    assert fn is not None, f"websockets {websockets.__version__}: {hook} is gone"
    assert params(fn) == expected, f"websockets {websockets.__version__}: {hook} changed"
    assert inspect.isgeneratorfunction(fn) is generator, hook


@pytest.mark.parametrize(
    ("ours", "base"),
    [
        (RecordingReader, StreamReader),
        (ObservedMixin, Protocol),
        (ObservedClient, ClientProtocol),
        (ObservedServer, ServerProtocol),
        (UncheckedFrame, Frame),
    ],
)
def test_every_override_exists_upstream(ours: type, base: type) -> None:
    """A method observe.py defines that websockets no longer has would never be called."""
    own = {"__init__", "_observe", "take"}  # observe.py's own, not overrides
    checked = []
    for name, fn in vars(ours).items():
        if not callable(fn) or name in own or name.startswith("__"):
            continue
        checked.append(name)
        upstream = getattr(base, name, None)
        assert upstream is not None, f"{ours.__name__}.{name} overrides nothing in {base.__name__}"
        theirs = [p for p in params(upstream) if p[1] is not K]
        mine = [p for p in params(fn) if p[1] is not K]  # observe.py adds keyword-only ones
        assert [p[0] for p in mine] == [p[0] for p in theirs], f"{ours.__name__}.{name}"
    assert checked, f"{ours.__name__} overrides nothing: this test would check nothing"


def test_protocol_state_observe_relies_on() -> None:
    """`_observe` swaps `reader` and restarts `parser`; `recv_frame` appends to `events`."""
    for protocol in (ClientProtocol(parse_uri("wss://127.0.0.1/")), ServerProtocol()):
        assert type(protocol.reader) is StreamReader
        assert inspect.isgenerator(protocol.parser)
        assert protocol.events == []
    reader = StreamReader()
    assert reader.buffer == bytearray() and reader.eof is False  # shell.py reads `buffer`
    for name in ("side", "state", "close_rcvd", "close_sent", "close_rcvd_then_sent",
                 "handshake_exc", "subprotocol"):
        assert hasattr(ServerProtocol(), name), name  # record.py / shell.py read these
    assert hasattr(ServerProtocol(), "available_subprotocols")  # server.py's lenient selection


# -- behaviour: each hook is called, and the observation is made --------------------------


def open_pair() -> tuple[ObservedClient, ObservedServer]:
    return ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN), ObservedServer(state=OPEN)


def test_parser_reads_through_the_recording_reader() -> None:
    """read_exact is the parser's: an incoming frame is logged with its wire bytes, so the
    MASK bit (RFC 6455 §5.1) is read from what the peer sent."""
    client, server = open_pair()
    assert isinstance(server.reader, RecordingReader)
    client.send_text(b"hello")
    (wire,) = client.data_to_send()
    server.receive_data(wire)
    (item,) = server.log
    assert isinstance(item, RxFrame) and item.accepted
    assert item.raw == wire and item.raw[1] & 0x80
    assert item.frame.opcode is Opcode.TEXT and item.frame.data == b"hello"


def test_recv_frame_is_called_for_each_frame_in_order() -> None:
    client, server = open_pair()
    client.send_text(b"a", fin=False)
    client.send_ping(b"p")
    client.send_continuation(b"b", fin=True)
    server.receive_data(b"".join(client.data_to_send()))
    rx = [i.frame.opcode for i in server.log if isinstance(i, RxFrame)]
    assert rx == [Opcode.TEXT, Opcode.PING, Opcode.CONT]


def test_send_frame_is_called_for_each_frame_sent() -> None:
    """Also for the Pong websockets sends by itself (RFC 6455 §5.5.2), after the Ping."""
    client, server = open_pair()
    server.send_text(b"x")
    client.send_ping(b"k")
    server.receive_data(client.data_to_send()[0])
    tx, rx, pong = server.log
    assert isinstance(tx, TxFrame) and tx.frame.opcode is Opcode.TEXT and tx.masked is False
    assert isinstance(rx, RxFrame) and rx.frame.opcode is Opcode.PING
    assert isinstance(pong, TxFrame) and pong.frame == Frame(Opcode.PONG, b"k")
    assert client.log[0] == TxFrame(Frame(Opcode.PING, b"k"), masked=True)


def test_events_take_a_ping_when_auto_pong_is_off() -> None:
    client, server = open_pair()
    server.auto_pong = False
    client.send_ping(b"k")
    server.receive_data(client.data_to_send()[0])
    assert server.events_received() == [Frame(Opcode.PING, b"k")]
    assert server.data_to_send() == []


def test_fail_is_called_with_the_bytes_read() -> None:
    """websockets' parser calls fail() on a protocol error (RFC 6455 §7.1.7)."""
    _, server = open_pair()
    server.receive_data(b"\x81\x02hi")  # unmasked frame from a client
    failure, close = server.log
    assert failure == Failure(1002, "incorrect masking", b"\x81\x02")
    assert isinstance(close, TxFrame) and close.frame.opcode is Opcode.CLOSE


def test_server_http_head_and_send_response() -> None:
    server = ObservedServer(subprotocols=["sip"])
    server.receive_data(REQUEST)
    (request,) = server.events_received()
    assert isinstance(request, Request)
    assert server.reader.head == REQUEST and server.reader.http is False
    response = server.accept(request)
    server.send_response(response)
    assert server.log == [TxHttp(response)]


def test_client_http_head_and_send_request() -> None:
    client = ObservedClient(parse_uri("wss://127.0.0.1/"), subprotocols=["sip"])
    request = client.connect()
    client.send_request(request)
    assert client.log == [TxHttp(request)]
    server = ServerProtocol(subprotocols=["sip"])
    server.receive_data(client.data_to_send()[0])
    (got,) = server.events_received()
    assert isinstance(got, Request)
    response = server.accept(got)
    server.send_response(response)
    wire = server.data_to_send()[0]
    client.receive_data(wire)
    (answer,) = client.events_received()
    assert isinstance(answer, Response) and answer.status_code == 101
    assert client.reader.head == wire and client.handshake_exc is None


def test_accept_flags_a_bad_version_by_header_name() -> None:
    """observe.py turns websockets' 400 into RFC 6455 §4.4's 426 by reading handshake_exc."""
    server = ObservedServer(subprotocols=["sip"])
    server.receive_data(REQUEST.replace(b"Version: 13", b"Version: 8"))
    (request,) = server.events_received()
    response = server.accept(request)
    assert response.status_code == 426
    assert response.headers.get_all("Sec-WebSocket-Version") == ["13"]
    assert getattr(server.handshake_exc, "name", None) == "Sec-WebSocket-Version"


def test_serialize_calls_check() -> None:
    """UncheckedFrame serialises reserved bits by skipping the check serialize() calls."""
    from websockets.exceptions import ProtocolError

    with pytest.raises(ProtocolError):
        Frame(Opcode.TEXT, b"x", rsv1=True).serialize(mask=False, extensions=[])
    data = UncheckedFrame(Opcode.TEXT, b"x", True, True).serialize(mask=False, extensions=[])
    assert data == b"\xc1\x01x"
