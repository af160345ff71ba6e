"""The reference WIC's user agent: what ties its connection, transactions, registration
and calls together, the requests it answers outside a call, and what its app shows."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from harness.sip import SipMessage, SipParseError, build_response, new_tag
from harness.suts.base import WicEnv, WicState
from harness.suts.reference import SutLog
from harness.suts.reference.wic.calls import Call, Calls
from harness.suts.reference.wic.connection import Connection
from harness.suts.reference.wic.identity import AGENT, ALLOW, Identity
from harness.suts.reference.wic.registration import Registration
from harness.suts.reference.wic.transactions import Transactions


class ReferenceWic:
    """The user agent itself; `ReferenceWicDriver` gives it the driver verbs."""

    def __init__(self, env: WicEnv, faults: frozenset[str]) -> None:
        self.env = env
        self.profile = env.profile
        self.faults = faults
        self.log = SutLog("wic")
        self.identity = Identity(env.profile, faults, env.token)
        self.registered = False
        self.want_registered = False
        self.detail = "loaded, not connected"
        self.call: Call | None = None
        self.service_route: list[str] = []
        self.stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._registering: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.connection = Connection(self)
        self.transactions = Transactions(self)
        self.registration = Registration(self)
        self.calls = Calls(self)

    # -- bookkeeping --------------------------------------------------------------------

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log(f"internal error: {task.exception()!r}")

    @property
    def connected(self) -> bool:
        return self.connection.connected

    @property
    def connections(self) -> int:
        return self.connection.connections

    # -- the connection -----------------------------------------------------------------

    def start_connecting(self) -> None:
        if self._runner is None or self._runner.done():
            self.connection.closed_on_purpose = False
            self._runner = self.spawn(self.connection.run())

    def on_connected(self) -> None:
        if self.want_registered:
            self.register()

    def on_connection_lost(self) -> None:
        self.registered = False  # the flow is gone (RFC 5626 §4.4.1): register again
        self.transactions.cancel_all()

    async def send(self, message: SipMessage, *, pack_with: SipMessage | None = None) -> bool:
        return await self.connection.send(message, pack_with=pack_with)

    async def send_raw(self, data: bytes) -> bool:
        """Bytes as they are, in one text message (fault switches only)."""
        return await self.connection.send_raw(data)

    async def close(self, reason: str) -> None:
        """Close the WebSocket on purpose (no reconnection)."""
        await self.connection.close(reason)

    async def stop(self) -> None:
        self.stopping = True
        self.want_registered = False
        self.registration.cancel_refresh()
        runner = self._runner
        tasks = [t for t in self._tasks if not t.done() and t is not runner]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        if self.call is not None and self.call.media is not None:
            await self.call.media.close()
        conn = self.connection.conn
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(1.0, code=1001, reason="going away")
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.wait([runner], timeout=1.0)

    # -- the user's verbs ---------------------------------------------------------------

    def register(self) -> None:
        self.want_registered = True
        if not self.connected:
            self.start_connecting()
        elif self._registering is None or self._registering.done():
            self._registering = self.spawn(self.registration.run())

    async def place_call(self, target: str) -> None:
        await self.calls.place(target)

    async def accept_call(self, call: Call) -> None:
        await self.calls.accept(call)

    async def release_call(self, call: Call) -> None:
        await self.calls.release(call)

    # -- what comes in ------------------------------------------------------------------

    async def dispatch(self, message: SipMessage) -> None:
        self.log(f"rx {message.summary()}")
        try:
            if message.is_request:
                await self._on_request(message)
            else:
                self.transactions.on_response(message)
        except SipParseError as exc:
            self.log(f"dropped: {exc}")

    async def _on_request(self, request: SipMessage) -> None:
        method = request.method.upper()
        if method == "ACK":
            self.calls.on_ack(request)
            return
        if await self.transactions.absorbed(request):  # RFC 3261 §17.2: last response repeated
            return
        reply = self.transactions.reply
        if method == "INVITE":
            await self.calls.on_invite(request)
        elif method == "BYE":
            await self.calls.on_bye(request)
        elif method == "CANCEL":
            await self.calls.on_cancel(request)
        elif method == "OPTIONS":
            await reply(request, 200, to_tag=new_tag(), headers=[
                ("Allow", ALLOW), ("Accept", "application/sdp, text/plain"),
                ("Supported", "outbound"),
            ])
        elif method in ("MESSAGE", "INFO", "UPDATE", "NOTIFY") and request.to.tag is not None:
            await self._in_dialog(request)
        elif method in ("MESSAGE", "INFO", "UPDATE", "NOTIFY"):
            sent = await reply(request, 200, to_tag=new_tag())
            if method == "MESSAGE" and "resend_message_200" in self.faults:  # RFC 7118 §5 broken: a copy on a reliable transport
                await self.send(sent)
        else:
            await reply(request, 405, to_tag=new_tag(), headers=[("Allow", ALLOW)])

    async def _in_dialog(self, request: SipMessage) -> None:
        """A non-INVITE request of the current call from the network (RFC 3261 §12.2.2):
        200 in the dialog, 481 outside any (the fault switches of this path break it only here)."""
        call = self.call
        if call is None or call.call_id != request.call_id or call.ended:
            await self.transactions.reply(request, 481)
            return
        faults = self.faults
        if "split_in_dialog_200" in faults:  # RFC 7118 §5 broken: one response over two WS messages
            response = build_response(request, 200, headers=[("User-Agent", AGENT)])
            self.transactions.record(request, response)
            data = response.to_bytes()
            cut = data.find(b"\r\n", len(data) // 2) + 2 or len(data) // 2
            await self.send_raw(data[:cut])
            await self.send_raw(data[cut:])
            return
        sent = await self.transactions.reply(request, 200)
        if "resend_in_dialog_200" in faults:  # RFC 7118 §5 broken: a copy on a reliable transport
            await self.send(sent)
        if "close_on_in_dialog_message" in faults and request.method.upper() == "MESSAGE":
            # SEED 5.1.X.4 broken on purpose: a chat message in a call ends the socket
            await self.close("in-dialog MESSAGE answered (fault close_on_in_dialog_message)")

    # -- what the app shows -------------------------------------------------------------

    def state(self) -> WicState:
        call = self.call
        return WicState(
            connected=self.connected,
            registered=self.registered,
            in_call=call is not None and call.state in ("answered", "confirmed"),
            incoming=call is not None and call.state == "ringing",
            detail=self.detail if call is None else f"{self.detail}; call {call.state}",
            extra={"connections": self.connections, "faults": sorted(self.faults)},
        )
