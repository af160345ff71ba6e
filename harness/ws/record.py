"""Evidence of one WebSocket connection, from the observed protocol's log (principle 3).

`ConnectionRecord` turns what `harness.ws.observe` logged into timeline entries: every
frame in both directions, the data messages wicct reassembles itself from text/binary and
continuation frames (RFC 6455 §5.4) so that framing can be judged, websockets' errors
(with the close code it chose) and the end of the connection.

Pure: no asyncio and no sockets, so it is tested in memory and reused by any I/O shell.
"""

from __future__ import annotations

import codecs
import itertools
import weakref
from dataclasses import dataclass, field
from typing import Any

from websockets.datastructures import Headers
from websockets.frames import Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN, SERVER

from harness import evidence as ev
from harness.evidence import Timeline
from harness.ws.observe import (
    Failure,
    FrameFacts,
    ObservedMixin,
    RxFrame,
    TxFrame,
    TxHttp,
    frame_head,
    payload_value,
)

# Connection ids are short and unique per timeline ("c1", "c2", ...) across actors.
_counters: weakref.WeakKeyDictionary[Timeline, itertools.count[int]] = weakref.WeakKeyDictionary()
_untracked = itertools.count(1)


def next_conn_id(timeline: Timeline | None) -> str:
    if timeline is None:
        return f"c{next(_untracked)}"
    counter = _counters.setdefault(timeline, itertools.count(1))
    return f"c{next(counter)}"


class Recorder:
    """Appends entries for one actor and one connection; does nothing without a timeline."""

    def __init__(self, timeline: Timeline | None, actor: str, conn: str) -> None:
        self.timeline = timeline
        self.actor = actor
        self.conn = conn

    def put(self, summary: str, payload: ev.Payload, *, direction: str = "") -> int:
        """Append an entry with a typed payload (`ev.ws_frame({...})`...); its seq, or 0
        without a timeline."""
        if self.timeline is None:
            return 0
        entry = self.timeline.put(self.actor, summary, payload, direction=direction, conn=self.conn)
        return entry.seq


def address(addr: Any) -> str | None:
    """`host:port` (IPv6 in brackets) from a socket address."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = f"[{addr[0]}]" if ":" in str(addr[0]) else str(addr[0])
        return f"{host}:{addr[1]}"
    return None if addr is None else str(addr)


def http_text(raw: bytes) -> str:
    """Raw HTTP head as text (UTF-8, else ISO-8859-1 which never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")


def header_list(headers: Headers) -> list[list[str]]:
    """Headers in wire order, duplicates kept."""
    return [[name, value] for name, value in headers.raw_items()]


def exc_text(exc: BaseException) -> str:
    """websockets' message with the whole chain of exceptions under it (`__cause__`, else
    an unsuppressed `__context__`), deduplicated and joined with ": ", so the innermost
    fact survives: "did not receive a valid HTTP response: connection closed while reading
    HTTP status line: line without CRLF" (RFC 6455 §4.1 reads the response as HTTP/1.1,
    RFC 9112 §2.2 lines end in CRLF)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current) or type(current).__name__
        if text not in parts:
            parts.append(text)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return ": ".join(parts)


@dataclass(frozen=True)
class WsMessage:
    """A data message wicct reassembled from its frames (RFC 6455 §5.4)."""

    opcode: str  # "text" | "binary"
    payload: bytes
    frames: tuple[int, ...]  # timeline seqs of the frames (empty if no timeline)
    entry: int  # seq of the WS_MESSAGE entry (0 if no timeline)

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")


@dataclass(frozen=True)
class Pong:
    payload: bytes
    entry: int


# Frames one data message may span (issue: hostile SUTs). A SIP message fits in one frame
# (RFC 7118 §5.1: one SIP message per WebSocket message); browsers and SIP stacks send one.
MAX_FRAGMENTS = 1024


@dataclass
class _Partial:
    """A data message being reassembled."""

    opcode: str
    chunks: list[bytes] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    size: int = 0
    frames: int = 0
    decoder: codecs.IncrementalDecoder | None = None


class ConnectionRecord:
    """Frames, messages, pongs and errors of one connection, as evidence and as queues."""

    def __init__(self, protocol: ObservedMixin, recorder: Recorder) -> None:
        self.protocol = protocol
        self.rec = recorder
        self.inbox: list[WsMessage] = []
        self.pongs: list[Pong] = []
        self.error: str | None = None  # first protocol error websockets raised on rx
        self.abnormal: str | None = None  # TCP closed without a Close frame (1006)
        self.last_tx = 0  # seq of the last frame sent
        self.failed = False
        self._partial: _Partial | None = None

    @property
    def is_server(self) -> bool:
        return self.protocol.side is SERVER

    def drain(self, handshake_error: str | None = None) -> None:
        """Record every logged item, in order (the log may grow while draining)."""
        log = self.protocol.log
        while log:
            item = log.pop(0)
            if isinstance(item, RxFrame):
                self._rx_frame(item)
            elif isinstance(item, TxFrame):
                facts = FrameFacts.of(item.frame, item.masked)
                self.last_tx = self.rec.put(
                    facts.summary("tx", expect_masked=not self.is_server),
                    ev.ws_frame(facts.data()),
                    direction="tx",
                )
            elif isinstance(item, Failure):
                self._failure(item)
            elif isinstance(item, TxHttp):
                self.tx_http(item.message, handshake_error)

    def tx_http(self, message: Request | Response, error: str | None = None) -> int:
        if isinstance(message, Request):
            return self.rec.put(
                f"tx {message.method} {message.path}",
                ev.http_request(
                    {
                        "method": message.method,
                        "path": message.path,
                        "protocol": message.protocol,
                        "headers": header_list(message.headers),
                        "raw": http_text(message.serialize()),
                    }
                ),
                direction="tx",
            )
        return self.rec.put(
            f"tx {message.status_code} {message.reason_phrase}",
            ev.http_response(
                {
                    "status": message.status_code,
                    "reason": message.reason_phrase,
                    "headers": header_list(message.headers),
                    "raw": http_text(message.serialize()),
                    "error": error,
                }
            ),
            direction="tx",
        )

    def rx_request(self, request: Request, raw: bytes) -> int:
        return self.rec.put(
            f"rx {request.method} {request.path}",
            ev.http_request(
                {
                    "method": request.method,
                    "path": request.path,
                    "protocol": request.protocol,
                    "headers": header_list(request.headers),
                    "raw": http_text(raw),
                }
            ),
            direction="rx",
        )

    def rx_response(self, response: Response, raw: bytes, error: str | None) -> int:
        return self.rec.put(
            f"rx {response.status_code} {response.reason_phrase}",
            ev.http_response(
                {
                    "status": response.status_code,
                    "reason": response.reason_phrase,
                    "headers": header_list(response.headers),
                    "raw": http_text(raw),
                    "error": error,
                }
            ),
            direction="rx",
        )

    def close(self, tcp_closed_by: str) -> int:
        """The `WS_CLOSE` entry, once TCP is gone."""
        p = self.protocol
        rcvd, sent = p.close_rcvd, p.close_sent
        if rcvd is not None and sent is not None:
            by = "peer" if p.close_rcvd_then_sent else "us"
        elif rcvd is not None:
            by = "peer"
        elif sent is not None:
            by = "us"
        else:
            by = tcp_closed_by
        code = int(rcvd.code) if rcvd is not None else None
        clean = rcvd is not None and sent is not None
        sent_code = int(sent.code) if sent is not None else None
        parts = [
            f"close rcvd {code if code is not None else 'none'}"
            f" sent {sent_code if sent_code is not None else 'none'}",
            f"by {by}",
            "clean" if clean else "not clean",
            f"tcp closed by {tcp_closed_by}",
        ]
        return self.rec.put(
            ", ".join(parts),
            ev.ws_close(
                {
                    "code": code,
                    "reason": rcvd.reason if rcvd is not None else None,
                    "by": by,
                    "tcp_closed": True,
                    "tcp_closed_by": tcp_closed_by,
                    "clean": clean,
                    "sent_code": sent_code,
                    "sent_reason": sent.reason if sent is not None else None,
                    "error": self.error or self.abnormal,
                }
            ),
        )

    # -- incoming frames -------------------------------------------------------------

    def _rx_frame(self, item: RxFrame) -> None:
        frame, raw = item.frame, item.raw
        # The MASK bit as it was on the wire (RFC 6455 §5.2, second byte).
        masked = bool(raw[1] & 0x80) if len(raw) >= 2 else self.is_server
        facts = FrameFacts.of(frame, masked)
        seq = self.rec.put(
            facts.summary("rx", expect_masked=self.is_server),
            ev.ws_frame({"raw_head": raw[: len(raw) - len(frame.data)].hex(), **facts.data()}),
            direction="rx",
        )
        if not item.accepted or self.failed:
            return
        data = bytes(frame.data)
        if frame.opcode is Opcode.PONG:
            self.pongs.append(Pong(data, seq))
        elif frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            opcode = "text" if frame.opcode is Opcode.TEXT else "binary"
            decoder = codecs.getincrementaldecoder("utf-8")() if opcode == "text" else None
            self._partial = _Partial(opcode, decoder=decoder)
            self._fragment(data, seq, frame.fin, raw)
        elif frame.opcode is Opcode.CONT and self._partial is not None:
            self._fragment(data, seq, frame.fin, raw)

    def _fragment(self, data: bytes, seq: int, fin: bool, raw: bytes) -> None:
        partial = self._partial
        assert partial is not None
        partial.frames += 1
        if partial.frames > MAX_FRAGMENTS and not fin:
            # websockets limits a message in bytes (max_size), not in frames: endless
            # empty continuations would never trip it. RFC 6455 §7.4.1: 1009, "a message
            # that is too big for it to process".
            self._too_many_fragments(raw)
            return
        if partial.decoder is not None:
            buffered = len(partial.decoder.getstate()[0])
            try:
                partial.decoder.decode(data, final=fin)
            except UnicodeDecodeError as exc:
                # 8.1. "When an endpoint is to interpret a byte stream as UTF-8 but finds
                # that the byte stream is not, in fact, a valid UTF-8 stream, that
                # endpoint MUST _Fail the WebSocket Connection_." websockets' asyncio
                # layer does this with 1007 and this reason; its sans-I/O core does not.
                position = partial.size - buffered + exc.start
                self._invalid_utf8(f"{exc.reason} at position {position}", raw)
                return
        partial.chunks.append(data)
        partial.size += len(data)
        if seq:
            partial.seqs.append(seq)
        if fin:
            self._partial = None
            self._message(partial)

    def _too_many_fragments(self, raw: bytes) -> None:
        self._partial = None
        reason = f"message too big: more than {MAX_FRAGMENTS} frames"
        if self.protocol.state is OPEN:
            self.protocol.fail(1009, reason, raw=raw)  # logs a Failure, drained next
        else:
            self._failure(Failure(1009, reason + " (not failed: already closing)", raw))

    def _invalid_utf8(self, reason: str, raw: bytes) -> None:
        self._partial = None
        if self.protocol.state is OPEN:
            self.protocol.fail(1007, reason, raw=raw)  # logs a Failure, drained next
        else:
            self._failure(Failure(1007, reason + " (not failed: already closing)", raw))

    def _message(self, partial: _Partial) -> None:
        payload = b"".join(partial.chunks)
        count = len(partial.seqs)
        seq = self.rec.put(
            f"rx {partial.opcode} message {len(payload)}B in {count} frame{'s' * (count != 1)}",
            ev.ws_message(
                {
                    "opcode": partial.opcode,
                    "length": len(payload),
                    "payload": payload_value(payload),
                    "frames": list(partial.seqs),
                }
            ),
            direction="rx",
        )
        self.inbox.append(WsMessage(partial.opcode, payload, tuple(partial.seqs), seq))

    def _failure(self, item: Failure) -> None:
        if item.code == 1006 and not item.raw:
            self.abnormal = item.reason  # TCP closed without a Close frame
            return
        self.failed = True
        self._partial = None
        if self.error is None:
            self.error = item.reason
        self.rec.put(
            f"error {item.code}: {item.reason}",
            ev.ws_error(
                {
                    "error": item.reason,
                    "code": item.code,
                    "raw": item.raw,
                    "frame_head": frame_head(item.raw),
                }
            ),
            direction="rx",
        )
