"""websockets' sans-I/O protocols, observed (docs/architecture.md principles 1 and 2).

wicct writes no framer: frames are parsed and serialised by `websockets`. The subclasses
here only *watch* what websockets' `ClientProtocol` / `ServerProtocol` do, so that the
asyncio shell in `conn.py` can record every frame in both directions as evidence:

- the stream reader records the bytes each parse step consumed, so an incoming frame is
  recorded with the bytes it had on the wire (the MASK bit is read from them) and a frame
  websockets refused is recorded with the bytes that were read before it gave up;
- `recv_frame`, `send_frame`, `fail`, `send_request`, `send_response` append to `log`, in
  the order they happened (an incoming Ping is logged before the Pong websockets answers);
- `auto_pong = False` suppresses websockets' automatic Pong (RFC 6455 §5.5.2 "MUST send
  a Pong"), the fault switch a reference SUT needs;
- the server answers an unsupported Sec-WebSocket-Version with 426 and
  `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2 / §4.4), where websockets answers 400.

Pure: no asyncio, no sockets, nothing done at import time.
"""

from __future__ import annotations

import http
import struct
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHeaderValue, ProtocolError
from websockets.frames import CTRL_OPCODES, Close, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import CLIENT, Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from harness.evidence import CloseFacts, FrameHead, WsFrameData

OPCODE_NAMES = {
    Opcode.CONT: "continuation",
    Opcode.TEXT: "text",
    Opcode.BINARY: "binary",
    Opcode.CLOSE: "close",
    Opcode.PING: "ping",
    Opcode.PONG: "pong",
}
OPCODES_BY_NAME = {name: int(op) for op, name in OPCODE_NAMES.items()}

SUPPORTED_VERSION = "13"


def opcode_name(opcode: int) -> str:
    """Name of an opcode: "text", "ping"... or "reserved-0x3" (RFC 6455 §5.2)."""
    try:
        return OPCODE_NAMES[Opcode(opcode)]
    except ValueError:
        return f"reserved-0x{opcode:x}"


# Log items, in the order the protocol produced them.


@dataclass
class RxFrame:
    frame: Frame
    raw: bytes  # the frame as it was on the wire (masked payload if masked)
    accepted: bool = False  # websockets processed it without raising


@dataclass
class TxFrame:
    frame: Frame
    masked: bool


@dataclass
class Failure:
    """websockets failed the connection (RFC 6455 §7.1.7) with this code and reason."""

    code: int
    reason: str
    raw: bytes  # bytes of the offending frame read before the error (may be partial)


@dataclass
class TxHttp:
    message: Request | Response


LogItem = RxFrame | TxFrame | Failure | TxHttp


class RecordingReader(StreamReader):
    """websockets' StreamReader that remembers what each read consumed.

    While `http` is true, the first empty line (end of the HTTP head) moves the consumed
    bytes to `head`, so the handshake's raw text is kept apart from the frames after it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.consumed = bytearray()
        self.http = True
        self.head: bytes | None = None

    def take(self) -> bytes:
        data = bytes(self.consumed)
        self.consumed.clear()
        return data

    def read_line(
        self, m: int, too_long_exc_type: type[Exception] = RuntimeError
    ) -> Generator[None, None, bytearray]:
        line = yield from super().read_line(m, too_long_exc_type)
        self.consumed += line
        if self.http and bytes(line) in (b"\r\n", b"\n"):
            self.head = self.take()
            self.http = False
        return line

    def read_exact(self, n: int) -> Generator[None, None, bytearray]:
        data = yield from super().read_exact(n)
        self.consumed += data
        return data

    def read_to_eof(
        self, m: int, too_long_exc_type: type[Exception] = RuntimeError
    ) -> Generator[None, None, bytearray]:
        data = yield from super().read_to_eof(m, too_long_exc_type)
        self.consumed += data
        return data


def received_head(reader: RecordingReader) -> bytes:
    """The bytes of an HTTP head received so far, parsed or not (for a head that never
    completes: RFC 9112 §2.2, a line ends in CRLF and the head in an empty line)."""
    return (reader.head or b"") + bytes(reader.consumed) + bytes(reader.buffer)


class ObservedMixin(Protocol):
    """Logs what a websockets `Protocol` receives and sends; see the module docstring.

    Placed before `ClientProtocol` / `ServerProtocol` in the bases, so `super()` is theirs
    (the hooks below override websockets' `recv_frame`, `send_frame` and `fail`)."""

    log: list[LogItem]
    auto_pong: bool
    reader: RecordingReader

    def _observe(self) -> None:
        self.log = []
        self.auto_pong = True
        self.reader = RecordingReader()
        # The parser captured the original reader's bound methods when websockets
        # started it; no data was fed yet, so restart it on the recording reader.
        self.parser = self.parse()
        next(self.parser)

    def recv_frame(self, frame: Frame) -> None:
        item = RxFrame(frame, self.reader.take())
        self.log.append(item)
        if frame.opcode is Opcode.PING and not self.auto_pong:
            # Fault switch: skip websockets' "MUST send a Pong" (RFC 6455 §5.5.2).
            self.events.append(frame)
        else:
            super().recv_frame(frame)  # may raise ProtocolError: then fail() logs it
        item.accepted = True

    def send_frame(self, frame: Frame) -> None:
        super().send_frame(frame)  # raises before logging if websockets refuses it
        self.log.append(TxFrame(frame, masked=self.side is CLIENT))

    def fail(self, code: int, reason: str = "", *, raw: bytes | None = None) -> None:
        # 7.1.7. Fail the WebSocket Connection: logged before the Close frame it sends.
        # `raw` is given when wicct fails the connection itself (invalid UTF-8).
        self.log.append(Failure(int(code), reason, self.reader.take() if raw is None else raw))
        super().fail(code, reason)


# Bytes one data message may hold (websockets' `max_size`: a longer message, or a frame
# announcing a longer one, fails the connection with Close 1009 before it is buffered).
# With record.MAX_FRAGMENTS and the read loop waiting for the transport to drain, it bounds
# what one connection buffers: a message being reassembled, one read, the unsent answers.
MAX_MESSAGE = 2**20


class ObservedClient(ObservedMixin, ClientProtocol):
    """websockets' ClientProtocol with evidence hooks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_size", MAX_MESSAGE)
        ClientProtocol.__init__(self, *args, **kwargs)
        self._observe()

    def send_request(self, request: Request) -> None:
        self.log.append(TxHttp(request))
        super().send_request(request)


class ObservedServer(ObservedMixin, ServerProtocol):
    """websockets' ServerProtocol with evidence hooks and the RFC 6455 §4.4 426 answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_size", MAX_MESSAGE)
        ServerProtocol.__init__(self, *args, **kwargs)
        self._observe()

    def accept(self, request: Request) -> Response:
        response = super().accept(request)
        exc = self.handshake_exc
        if isinstance(exc, InvalidHeaderValue) and exc.name == "Sec-WebSocket-Version":
            # 4.2.2. / 4.4. "If this version does not match a version understood by the
            # server, the server MUST abort [...] and instead send an appropriate HTTP
            # error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version|
            # header field indicating the version(s) the server is capable of
            # understanding." websockets 17 answers 400 without that header.
            response = self.reject(
                http.HTTPStatus.UPGRADE_REQUIRED,
                f"Failed to open a WebSocket connection: {exc}.\n",
            )
            response.headers["Sec-WebSocket-Version"] = SUPPORTED_VERSION
        return response

    def send_response(self, response: Response) -> None:
        self.log.append(TxHttp(response))
        super().send_response(response)


class UncheckedFrame(Frame):
    """A websockets Frame that serialises without `check()`: reserved bits, reserved
    opcodes, long or fragmented control frames. Only for deliberate stimuli."""

    def check(self) -> None:
        return None


def raw_frame(
    *,
    opcode: int,
    payload: bytes,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: bool,
) -> bytes:
    """Serialise a possibly invalid frame with websockets' serialiser."""
    try:
        op: int = Opcode(opcode)
    except ValueError:
        op = opcode
    frame = UncheckedFrame(op, payload, fin, rsv1, rsv2, rsv3)  # type: ignore[arg-type]
    return frame.serialize(mask=mask, extensions=[])


def frame_head(raw: bytes) -> FrameHead | None:
    """Decode the first header bytes of a frame (RFC 6455 §5.2), even a refused one."""
    if len(raw) < 2:
        return None
    b0, b1 = raw[0], raw[1]
    length: int | None = b1 & 0x7F
    if length == 126:
        length = struct.unpack("!H", raw[2:4])[0] if len(raw) >= 4 else None
    elif length == 127:
        length = struct.unpack("!Q", raw[2:10])[0] if len(raw) >= 10 else None
    return {
        "opcode": opcode_name(b0 & 0x0F),
        "fin": bool(b0 & 0x80),
        "rsv1": bool(b0 & 0x40),
        "rsv2": bool(b0 & 0x20),
        "rsv3": bool(b0 & 0x10),
        "masked": bool(b1 & 0x80),
        "length": length,
    }


def payload_value(data: bytes) -> str | bytes:
    """Payload for evidence: text when it is valid UTF-8, else the bytes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


@dataclass(frozen=True)
class FrameFacts:
    """What evidence says about one frame (`WS_FRAME` data)."""

    opcode: str
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    masked: bool
    length: int
    payload: str | bytes
    close: CloseFacts = field(default_factory=lambda: CloseFacts())

    @classmethod
    def of(cls, frame: Frame, masked: bool) -> FrameFacts:
        data = bytes(frame.data)
        close: CloseFacts = {}
        if frame.opcode == Opcode.CLOSE:
            try:
                parsed = Close.parse(data)
                close = {"code": int(parsed.code), "reason": parsed.reason}
            except (ProtocolError, UnicodeDecodeError) as exc:
                close = {"code": None, "reason": None, "close_error": str(exc)}
        return cls(
            opcode=opcode_name(int(frame.opcode)),
            fin=frame.fin,
            rsv1=frame.rsv1,
            rsv2=frame.rsv2,
            rsv3=frame.rsv3,
            masked=masked,
            length=len(data),
            payload=payload_value(data),
            close=close,
        )

    def data(self) -> WsFrameData:
        """The `WS_FRAME` entry data (close frames end with their `CloseFacts`)."""
        out: WsFrameData = {
            "opcode": self.opcode,
            "fin": self.fin,
            "rsv1": self.rsv1,
            "rsv2": self.rsv2,
            "rsv3": self.rsv3,
            "masked": self.masked,
            "length": self.length,
            "payload": self.payload,
        }
        close = self.close
        if "code" in close:
            out["code"] = close["code"]
        if "reason" in close:
            out["reason"] = close["reason"]
        if "close_error" in close:
            out["close_error"] = close["close_error"]
        return out

    def summary(self, direction: str, *, expect_masked: bool) -> str:
        """One line such as `rx text 312B fin` or `tx close 1000 "bye"`."""
        parts = [direction, self.opcode]
        if self.opcode == "close" and self.close.get("code") is not None:
            parts.append(str(self.close["code"]))
            if self.close.get("reason"):
                parts.append(repr(self.close["reason"]))
        else:
            parts.append(f"{self.length}B")
        is_control = self.opcode in {OPCODE_NAMES[op] for op in CTRL_OPCODES}
        if not is_control:
            parts.append("fin" if self.fin else "nofin")
        elif not self.fin:
            parts.append("nofin")
        parts += [name for name in ("rsv1", "rsv2", "rsv3") if getattr(self, name)]
        if self.masked != expect_masked:
            parts.append("masked" if self.masked else "unmasked")
        return " ".join(parts)
