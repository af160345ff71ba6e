"""A WebSocket connection with full evidence: a thin asyncio shell over websockets'
sans-I/O protocol (docs/architecture.md principles 2, 3 and 6).

The shell only moves bytes: TLS stream -> `receive_data()`, `data_to_send()` -> TLS
stream, and answers the opening handshake. What the protocol did is recorded by
`harness.ws.record.ConnectionRecord` from `harness.ws.observe`'s log. Every wait has a
timeout and no I/O error escapes: a peer that misbehaves is evidence, not an exception.
The public names live in `harness.ws.conn`; the client side (`connect()`) is there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Sequence
from typing import Any, Unpack, cast

from websockets.exceptions import InvalidState
from websockets.http11 import Request, Response
from websockets.protocol import CONNECTING, OPEN, SERVER, Protocol

from harness import evidence as ev
from harness.ws import tls as tlsinfo
from harness.ws.observe import (
    OPCODES_BY_NAME,
    FrameFacts,
    ObservedClient,
    ObservedMixin,
    ObservedServer,
    UncheckedFrame,
    frame_head,
    payload_value,
    raw_frame,
)
from harness.ws.record import ConnectionRecord, Pong, Recorder, WsMessage, exc_text
from harness.ws.stream import PlainStream

CLOSE_TIMEOUT = 2.0  # how long to wait for the peer's part of a TCP/TLS close

Responder = Callable[[Protocol, Request], Response]


def _send_continuation(protocol: Protocol, *, data: bytes, fin: bool) -> None:
    protocol.send_continuation(data, fin=fin)


class WsConnection:
    """One WebSocket connection, client or server side; see the module docstring.

    Created by `connect()` or by `WsServer`; it runs its own read loop.
    """

    def __init__(
        self,
        protocol: ObservedMixin,
        stream: PlainStream,
        *,
        recorder: Recorder,
        responder: Responder | None = None,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self._protocol = protocol
        self._stream = stream
        self._rec = recorder
        self._responder = responder
        self.close_timeout = close_timeout
        self.conn_id = recorder.conn
        self.actor = recorder.actor
        self.request: Request | None = None
        self.response: Response | None = None
        self.handshake_error: str | None = None
        self.close_entry = 0
        self._book = ConnectionRecord(protocol, recorder)
        self._inbox = self._book.inbox
        self._pongs = self._book.pongs
        self._opened = False
        self._eof_seen = False
        self._tcp_closing = False
        self._tcp_closed = False
        self._tcp_closed_by: str | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._close_timer_armed = False
        self._waiters: list[asyncio.Future[None]] = []
        loop = asyncio.get_running_loop()
        self._handshake: asyncio.Future[None] = loop.create_future()
        self._task: asyncio.Task[None] | None = None

    # -- public state ----------------------------------------------------------------

    @property
    def protocol(self) -> Protocol:
        """The websockets protocol object (read-only use)."""
        return self._protocol

    @property
    def is_server(self) -> bool:
        return self._protocol.side is SERVER

    @property
    def is_open(self) -> bool:
        return self._opened and self._protocol.state is OPEN and not self._tcp_closed

    @property
    def opened(self) -> bool:
        """The opening handshake succeeded (websockets accepted the 101, or this server
        sent one), whatever happened to the connection afterwards."""
        return self._opened

    @property
    def subprotocol(self) -> str | None:
        return self._protocol.subprotocol

    @property
    def error(self) -> str | None:
        """The first protocol error websockets raised on what we received, if any."""
        return self._book.error

    @property
    def closed(self) -> bool:
        """TCP closed, or both Close frames exchanged."""
        p = self._protocol
        return self._tcp_closed or (p.close_rcvd is not None and p.close_sent is not None)

    @property
    def close_code(self) -> int | None:
        rcvd = self._protocol.close_rcvd
        return int(rcvd.code) if rcvd is not None else None

    @property
    def close_reason(self) -> str | None:
        rcvd = self._protocol.close_rcvd
        return rcvd.reason if rcvd is not None else None

    @property
    def auto_pong(self) -> bool:
        return self._protocol.auto_pong

    @auto_pong.setter
    def auto_pong(self, value: bool) -> None:
        self._protocol.auto_pong = bool(value)

    def pending(self) -> list[WsMessage]:
        """Messages received but not yet `recv()`'d, without consuming them."""
        return list(self._inbox)

    # -- waiting ---------------------------------------------------------------------

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                return predicate()
        return True

    async def recv(self, timeout: float) -> WsMessage | None:
        """Next message; None on timeout or once closed with nothing left to read."""
        await self._wait_until(lambda: bool(self._inbox) or self.closed, timeout)
        return self._inbox.pop(0) if self._inbox else None

    async def wait_pong(self, payload: bytes | None, timeout: float) -> Pong | None:
        """Next Pong (with that payload, if given) not yet waited for."""

        def find() -> int | None:
            for i, pong in enumerate(self._pongs):
                if payload is None or pong.payload == payload:
                    return i
            return None

        await self._wait_until(lambda: find() is not None or self._tcp_closed, timeout)
        index = find()
        return self._pongs.pop(index) if index is not None else None

    async def wait_closed(self, timeout: float) -> bool:
        """Wait until the TCP connection is gone."""
        return await self._wait_until(lambda: self._tcp_closed, timeout)

    async def wait_handshake(self, timeout: float) -> bool:
        """Wait until the opening handshake ended, one way or the other."""
        if not self._handshake.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._handshake), timeout)
        return self._handshake.done()

    # -- sending ---------------------------------------------------------------------

    def _note(self, summary: str, **data: Unpack[ev.NoteData]) -> int:
        return self._rec.put(summary, ev.note(data))

    def _apply(self, action: Callable[[Any], None], what: str) -> int:
        """Run one protocol send step; record and write what it produced."""
        self._book.last_tx = 0
        if self._tcp_closing or self._tcp_closed:
            self._note(f"not sent ({what}): connection closed")
            return 0
        try:
            action(self._protocol)
        except InvalidState as exc:
            self._note(f"not sent ({what}): {exc}")
            return 0
        self._step()
        return self._book.last_tx

    async def _drain(self) -> None:
        if self._tcp_closing or self._tcp_closed:
            return
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            await asyncio.wait_for(self._stream.drain(), self.close_timeout)

    async def send_text(self, data: str | bytes) -> int:
        """Text frame; bytes are sent as they are (invalid UTF-8 is a stimulus)."""
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if isinstance(data, bytes | bytearray) and isinstance(payload_value(payload), bytes):
            self._rec.put(
                f"stimulus: text frame with invalid UTF-8 ({len(payload)}B)",
                ev.stimulus({"what": "invalid utf-8 text", "payload": payload}),
                direction="tx",
            )
        seq = self._apply(lambda p: p.send_text(payload), "text")
        await self._drain()
        return seq

    async def send_binary(self, data: bytes) -> int:
        seq = self._apply(lambda p: p.send_binary(bytes(data)), "binary")
        await self._drain()
        return seq

    async def send_fragments(
        self,
        parts: Sequence[bytes],
        *,
        opcode: str = "text",
        ping_after_first: bytes | None = None,
    ) -> int:
        """One message in len(parts) frames (RFC 6455 §5.4), optionally with a Ping
        between the first and the second (control frames may be interleaved)."""
        if not parts or opcode not in ("text", "binary"):
            raise ValueError("send_fragments needs parts and opcode 'text' or 'binary'")
        first_fin = len(parts) == 1
        send_first = "send_text" if opcode == "text" else "send_binary"
        seq = self._apply(lambda p: getattr(p, send_first)(parts[0], fin=first_fin), opcode)
        await self._drain()
        if ping_after_first is not None and seq:
            self._apply(lambda p: p.send_ping(ping_after_first), "ping")
            await self._drain()
        for i, part in enumerate(parts[1:], start=2):
            if not seq:
                break
            fin = i == len(parts)
            seq = self._apply(functools.partial(_send_continuation, data=part, fin=fin), "cont")
            await self._drain()
        return seq

    async def send_ping(self, payload: bytes) -> int:
        seq = self._apply(lambda p: p.send_ping(payload), "ping")
        await self._drain()
        return seq

    async def send_pong(self, payload: bytes) -> int:
        """An unsolicited (or manual) Pong."""
        seq = self._apply(lambda p: p.send_pong(payload), "pong")
        await self._drain()
        return seq

    async def send_close(self, code: int = 1000, reason: str = "") -> int:
        """Start the closing handshake (RFC 6455 §7.1.2). An invalid code raises
        websockets' ProtocolError: send such a Close with `send_raw_frame`."""
        seq = self._apply(lambda p: p.send_close(code, reason), "close")
        await self._drain()
        return seq

    async def send_raw_frame(
        self,
        *,
        opcode: int | str,
        payload: bytes,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
        mask: bool | None = None,
    ) -> int:
        """A frame serialised by websockets but without its checks and without the
        protocol's state checks: reserved bits or opcodes, wrong masking... (stimulus)."""
        op = OPCODES_BY_NAME[opcode] if isinstance(opcode, str) else int(opcode)
        masked = (not self.is_server) if mask is None else mask
        data = raw_frame(
            opcode=op, payload=payload, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=masked
        )
        head = frame_head(data)
        facts = FrameFacts.of(UncheckedFrame(op, payload, fin, rsv1, rsv2, rsv3), masked)  # type: ignore[arg-type]
        flags = [n for n in ("rsv1", "rsv2", "rsv3") if head is not None and head.get(n)]
        flags += ["fin" if fin else "nofin", "masked" if masked else "unmasked"]
        stimulus: ev.StimulusData = {"what": "raw frame", "opcode_value": op, "raw": data}
        if head is not None:  # the frame's header fields, as the peer will decode them
            stimulus.update(
                {
                    "opcode": head["opcode"],
                    "fin": head["fin"],
                    "rsv1": head["rsv1"],
                    "rsv2": head["rsv2"],
                    "rsv3": head["rsv3"],
                    "masked": head["masked"],
                    "length": head["length"],
                }
            )
        self._rec.put(
            f"stimulus: raw {facts.opcode} frame {len(payload)}B {' '.join(flags)}",
            ev.stimulus(stimulus),
            direction="tx",
        )
        if self._tcp_closing or self._tcp_closed:
            self._note("not sent (raw frame): connection closed")
            return 0
        seq = self._rec.put(
            facts.summary("tx", expect_masked=not self.is_server),
            ev.ws_frame({"raw_head": data[: len(data) - len(payload)].hex(), **facts.data()}),
            direction="tx",
        )
        self._stream.write(data)
        await self._drain()
        return seq

    async def send_raw_bytes(self, data: bytes) -> int:
        """Bytes written as they are on the (TLS) stream, recorded as STIMULUS."""
        seq = self._rec.put(
            f"stimulus: {len(data)} raw bytes",
            ev.stimulus({"what": "raw bytes", "raw": bytes(data)}),
            direction="tx",
        )
        if self._tcp_closing or self._tcp_closed:
            self._note("not sent (raw bytes): connection closed")
            return seq
        self._stream.write(bytes(data))
        await self._drain()
        return seq

    async def close(self, timeout: float = 1.0, *, code: int = 1000, reason: str = "") -> None:
        """Closing handshake if open, then TCP; aborts what is left after `timeout`."""
        if self._task is None:
            self.abort()
            self._finish()
            return
        if not self._tcp_closed:
            if self._protocol.state is OPEN:
                await self.send_close(code, reason)
            elif self._protocol.state is CONNECTING:
                self.abort()
            if not await self.wait_closed(timeout):
                self._note(f"closing: no TCP close within {timeout}s; aborted")
                self.abort()
        await self._join(1.0)

    def abort(self) -> None:
        """Drop TCP now."""
        if self._tcp_closed_by is None:
            self._tcp_closed_by = "peer" if self._eof_seen else "us"
        self._tcp_closing = True
        self._stream.abort()
        if not self._handshake.done():
            self.handshake_error = self.handshake_error or "handshake: aborted by us"
            self._handshake.set_result(None)

    async def drop(self, timeout: float = 1.0) -> None:
        """Abort TCP and wait (bounded) for the read loop to end."""
        self.abort()
        await self._join(timeout)

    async def _join(self, timeout: float) -> None:
        """Wait (bounded) for the read loop to end; cancel it if it does not."""
        task = self._task
        if task is None:
            self._finish()
            return
        await asyncio.wait({task}, timeout=timeout)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)

    # -- the read loop ----------------------------------------------------------------

    def send_handshake(self, request: Request) -> None:
        """Client side: send the upgrade request and start reading the answer."""
        self.request = request
        cast(ObservedClient, self._protocol).send_request(request)
        self._step()
        self.start()

    def start(self) -> None:
        """Start the read loop (the handshake request, if a client, is sent already)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"ws-{self.actor}-{self.conn_id}"
            )

    async def _run(self) -> None:
        try:
            while True:
                try:
                    data = await self._stream.read()
                except (OSError, EOFError) as exc:
                    if not self._tcp_closing:
                        self._note(f"transport error: {tlsinfo.error_text(exc)}")
                    data = b""
                if data:
                    self._protocol.receive_data(data)
                    self._step()
                    # Yield between reads: a stream with bytes buffered (or TLS records
                    # decrypted) returns without suspending, so a SUT that never stops
                    # sending (empty continuations, a Ping flood) would otherwise starve
                    # the loop and every timer on it, the case's deadline included.
                    await asyncio.sleep(0)
                    await self._drained()
                    continue
                if not self._tcp_closing:
                    self._eof_seen = True
                self._protocol.receive_eof()
                self._step()
                break
        finally:
            self._finish()

    async def _drained(self) -> None:
        """Bound what waits to be sent: websockets answers every Ping (RFC 6455 §5.5.2), so
        a SUT that floods Pings and never reads would grow the transport's buffer without
        end. Reading pauses until the SUT takes what it was sent (asyncio's high-water
        mark); the case's deadline bounds the wait."""
        with contextlib.suppress(OSError, RuntimeError):
            await self._stream.drain()

    def _step(self) -> None:
        """After each protocol step: handshake events, the log, bytes out, timers."""
        for event in self._protocol.events_received():
            if isinstance(event, Request):
                self._got_request(event)
            elif isinstance(event, Response):
                self._got_response(event)
        self._check_handshake_failure()
        self._book.drain(self.handshake_error)
        self._flush()
        if self._protocol.close_expected() and not self._close_timer_armed:
            self._close_timer_armed = True
            self._later(self.close_timeout, self._close_wait_expired)
        self._notify()

    def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if data:
                if not self._tcp_closing and not self._tcp_closed:
                    self._stream.write(data)
            else:  # SEND_EOF; TLS cannot half-close, so close (as websockets' asyncio does)
                self._close_transport()

    def _close_transport(self) -> None:
        if self._tcp_closing:
            return
        self._tcp_closing = True
        if self._tcp_closed_by is None:
            self._tcp_closed_by = "peer" if self._eof_seen else "us"
        with contextlib.suppress(Exception):
            self._stream.close()
        self._later(self.close_timeout, self._abort_transport)

    def _abort_transport(self) -> None:
        if not self._tcp_closed:
            self._stream.abort()

    def _close_wait_expired(self) -> None:
        if not self._tcp_closed:
            self._note(f"peer did not close TCP within {self.close_timeout}s; aborting")
            self.abort()

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(delay, callback))

    def _finish(self) -> None:
        if self._tcp_closed:
            return
        self._tcp_closed = True
        if self._tcp_closed_by is None:
            self._tcp_closed_by = "peer"
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._stream.closing:  # an orderly close is flushing: give it a bounded time
            asyncio.get_running_loop().call_later(self.close_timeout, self._stream.abort)
        else:
            self._stream.abort()
        if not self._handshake.done():
            if self.handshake_error is None:
                self.handshake_error = "handshake: connection closed"
            self._handshake.set_result(None)
        if self._opened:
            self.close_entry = self._book.close(self._tcp_closed_by)
        self._notify()

    # -- handshake --------------------------------------------------------------------

    def _got_request(self, request: Request) -> None:
        """Server side: the client's GET came; answer it (policy, then websockets)."""
        reader = self._protocol.reader
        self.request = request
        self._book.rx_request(request, reader.head or b"")
        assert self._responder is not None, "server connections need a responder"
        response = self._responder(self._protocol, request)
        exc = self._protocol.handshake_exc
        if response.status_code != 101:
            why = exc_text(exc) if exc is not None else "refused by policy"
            self.handshake_error = f"handshake: {response.status_code} {why}"
        self.response = response
        cast(ObservedServer, self._protocol).send_response(response)
        if response.status_code == 101:
            self._opened = True
        self._handshake.set_result(None)

    def _got_response(self, response: Response) -> None:
        """Client side: the server's answer, accepted or not by websockets."""
        reader = self._protocol.reader
        raw = (reader.head or b"") + (reader.take() if response.status_code != 101 else b"")
        exc = self._protocol.handshake_exc
        self.response = response
        self._book.rx_response(response, raw, exc_text(exc) if exc is not None else None)
        if exc is None:
            self._opened = True
        else:
            self.handshake_error = f"handshake: {exc_text(exc)}"
        if not self._handshake.done():
            self._handshake.set_result(None)

    def _handshake_text(self, exc: BaseException, raw: bytes) -> str:
        """What went wrong with the peer's HTTP head, with the whole exception chain.

        websockets reports a line ending in a bare LF as "connection closed while reading
        HTTP status line" caused by "line without CRLF" (RFC 9112 §2.2: lines end in CRLF),
        although the connection may well be open: say what was received instead."""
        text = exc_text(exc)
        if self._eof_seen:
            return text
        for what in ("HTTP status line", "HTTP request line", "HTTP headers"):
            misleading = f"connection closed while reading {what}: line without CRLF"
            if misleading in text:
                lines = raw.split(b"\n")[:-1]
                line = next((x + b"\n" for x in lines if not x.endswith(b"\r")), b"")
                text = text.replace(misleading, f"{what} {line!r} ends without CRLF "
                                    "(the connection was still open)")
        return text

    def _check_handshake_failure(self) -> None:
        """No valid request/response could be parsed (garbage, EOF, too long)."""
        p = self._protocol
        if self._handshake.done() or p.handshake_exc is None:
            return
        parsed = self.request if self.is_server else self.response
        if parsed is not None:
            return
        raw = (p.reader.head or b"") + p.reader.take() + bytes(p.reader.buffer)
        text = self._handshake_text(p.handshake_exc, raw)
        what = "request" if self.is_server else "response"
        if raw:
            head = raw.decode("iso-8859-1")
            payload = (
                ev.http_request({"raw": head, "error": text, "headers": []})
                if self.is_server
                else ev.http_response({"raw": head, "error": text, "headers": []})
            )
            self._rec.put(f"rx invalid HTTP {what}: {text}", payload, direction="rx")
        else:
            self._note(f"no HTTP {what}: {text}", error=text)
        self.handshake_error = f"handshake: {text}"
        self._handshake.set_result(None)
