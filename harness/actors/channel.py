"""SIP over one WebSocket connection, seen from wicct's side (RFC 7118 §5).

A `SipChannel` reads every WebSocket message the SUT sends on one connection, records it
as SIP evidence (or as a SIP parse error with its bytes, never a crash), keeps what came,
and lets a role actor react (auto-answer REGISTER, OPTIONS...). It sends SIP with any of
the framing stimuli the cases need: text or binary, fragments with a Ping between, two
messages in one WebSocket message, a wrong Content-Length.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from harness import evidence as ev
from harness.evidence import Timeline
from harness.sip import SipMessage, SipParseError, is_keepalive, parse
from harness.sip.dialog import same_transaction
from harness.ws import WsConnection, WsMessage

__all__ = ["READ_SLICE", "Received", "RequestHandler", "SipChannel", "same_transaction"]

READ_SLICE = 0.25  # how often the reader looks at `closed` while idle


@dataclass(frozen=True)
class Received:
    """One WebSocket message from the SUT, with its SIP reading."""

    message: SipMessage | None  # None: not SIP (keep-alive, junk); on a parse error
    # (`error` set) the message as far as it parsed (`SipParseError.partial`), if any
    payload: bytes
    opcode: str
    entry: int  # seq of the SIP / SIP_ERROR / NOTE entry
    ws_entry: int  # seq of the WS_MESSAGE entry
    excess: bytes = b""  # bytes after the SIP message inside the same WebSocket message
    error: str = ""
    keepalive: bool = False

    @property
    def is_request(self) -> bool:
        return self.message is not None and self.message.is_request

    @property
    def is_response(self) -> bool:
        return self.message is not None and not self.message.is_request


RequestHandler = Callable[["SipChannel", Received], Coroutine[Any, Any, None]]


class SipChannel:
    def __init__(
        self,
        conn: WsConnection,
        timeline: Timeline,
        actor: str,
        name: str = "main",
        on_request: RequestHandler | None = None,
    ) -> None:
        self.conn = conn
        self.timeline = timeline
        self.actor = actor
        self.name = name
        self.on_request = on_request
        self.received: list[Received] = []
        self.sent: list[tuple[SipMessage | None, int]] = []  # (message, SIP entry seq)
        self._arrived = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> SipChannel:
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read(), name=f"read-{self.name}")
        return self

    async def stop(self) -> None:
        tasks = [t for t in (self._reader, *self._handlers) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 1.0)
        await self.conn.close(timeout=1.0)

    @property
    def closed(self) -> bool:
        return self.conn.closed

    async def _read(self) -> None:
        while not self.conn.closed:
            message = await self.conn.recv(READ_SLICE)
            if message is None:
                continue
            received = self._record(message)
            async with self._arrived:
                self.received.append(received)
                self._arrived.notify_all()
            if received.is_request and self.on_request is not None:
                task = asyncio.get_running_loop().create_task(self.on_request(self, received))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
        async with self._arrived:
            self._arrived.notify_all()

    def _record(self, message: WsMessage) -> Received:
        conn = self.conn.conn_id
        if is_keepalive(message.payload):
            entry = self.timeline.put(
                self.actor, f"rx CRLF keep-alive {message.payload!r}",
                ev.note({"keepalive": message.payload, "ws_message": message.entry}),
                direction="rx", conn=conn,
            )
            return Received(None, message.payload, message.opcode, entry.seq, message.entry, keepalive=True)
        try:
            result = parse(message.payload)
        except SipParseError as exc:
            entry = self.timeline.put(
                self.actor, f"rx unparsable SIP: {exc}",
                ev.sip_error({
                    "raw": message.payload, "offset": exc.offset, "reason": exc.reason,
                    "ws_message": message.entry,
                }),
                direction="rx", conn=conn,
            )
            return Received(
                exc.partial, message.payload, message.opcode, entry.seq, message.entry, error=str(exc)
            )
        sip = result.message
        entry = self.timeline.put(
            self.actor, f"rx {sip.summary()}",
            ev.sip({
                "raw": message.payload, "start_line": sip.start_line, "call_id": sip.call_id,
                "cseq": str(sip.cseq) if sip.cseq else None, "excess": result.excess,
                "ws_message": message.entry, "opcode": message.opcode,
            }),
            direction="rx", conn=conn,
        )
        return Received(sip, message.payload, message.opcode, entry.seq, message.entry, excess=result.excess)

    # -- sending --------------------------------------------------------------------

    def record_tx(self, message: SipMessage | None, raw: bytes, what: str = "") -> int:
        summary = f"tx {message.summary() if message else what or 'raw'}"
        entry = self.timeline.put(
            self.actor, summary,
            ev.sip({
                "raw": raw,
                "start_line": message.start_line if message else None,
                "call_id": message.call_id if message else None,
            }),
            direction="tx", conn=self.conn.conn_id,
        )
        self.sent.append((message, entry.seq))
        return entry.seq

    async def send(
        self,
        message: SipMessage | bytes,
        *,
        frame: str = "text",
        fragments: int = 1,
        ping_after_first: bytes | None = None,
        packed_with: bytes = b"",
    ) -> int:
        """Send one SIP message (plus `packed_with` bytes in the same WebSocket message).

        Returns the seq of the SIP evidence entry. `frame` is "text" or "binary";
        `fragments` > 1 splits the WebSocket message (RFC 6455 §5.4).
        """
        sip = message if isinstance(message, SipMessage) else None
        raw = message.to_bytes() if isinstance(message, SipMessage) else message
        data = raw + packed_with
        seq = self.record_tx(sip, data)
        if fragments > 1:
            size = max(1, -(-len(data) // fragments))
            parts = [data[i : i + size] for i in range(0, len(data), size)]
            await self.conn.send_fragments(parts, opcode=frame, ping_after_first=ping_after_first)
        elif frame == "binary":
            await self.conn.send_binary(data)
        else:
            await self.conn.send_text(data)
        return seq

    # -- waiting --------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[Received], bool], within: float, *, start: int = 0
    ) -> Received | None:
        """The first received item (from index `start`) matching `predicate`, or None.

        A predicate that trips over a malformed message from the SUT (`SipParseError` on a
        partial message) does not match it: the SUT's garbage never becomes a wicct ERROR."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with self._arrived:
            while True:
                for item in self.received[start:]:
                    if _matches(predicate, item):
                        return item
                remaining = deadline - loop.time()
                if remaining <= 0 or (self.conn.closed and self._reader is not None and self._reader.done()):
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), remaining)

    async def response_to(
        self, request: SipMessage, within: float, *, final: bool = True, start: int = 0
    ) -> Received | None:
        def match(item: Received) -> bool:
            msg = item.message
            return (
                item.is_response
                and not item.error  # unparsable: discarded, as a receiver must (RFC 3261 §18.3)
                and msg is not None
                and same_transaction(msg, request)
                and (not final or (msg.status or 0) >= 200)
            )

        return await self.wait_for(match, within, start=start)

    def responses_to(self, request: SipMessage) -> list[Received]:
        """Every response to `request`, unparsable ones (`error` set) included."""
        return [
            r
            for r in self.received
            if r.is_response and r.message is not None and same_transaction(r.message, request)
        ]

    async def request(self, method: str | None, within: float, *, start: int = 0) -> Received | None:
        def match(item: Received) -> bool:
            msg = item.message
            return (
                item.is_request
                and msg is not None
                and (method is None or msg.method == method.upper())
            )

        return await self.wait_for(match, within, start=start)

    async def respond(self, request: Received, response: SipMessage, *, frame: str = "text") -> int:
        return await self.send(response, frame=frame)


def _matches(predicate: Callable[[Received], bool], item: Received) -> bool:
    try:
        return bool(predicate(item))
    except SipParseError:
        return False
