"""The reference eP-CSCF: an in-process SIP-over-WebSocket edge proxy that conforms.

It is the built-in SUT of wicct's self-test (DESIGN.md "Self-test"): it conforms to every
eP-CSCF-side requirement of sections 1-4 of the catalogue, and each fault switch of
`harness.suts.faults` (role "epcscf") breaks exactly the ids listed there.

WebSocket side (RFC 6455, RFC 7118) on `harness.ws.WsServer`, without a timeline: the SUT
keeps its own log (`log_text()`), never the case's evidence.
- Handshake: Origin allow-list (SEED 5.Y.1.1; RFC 6455 §10.2): 403 for a foreign, absent,
  `null` or duplicated Origin; 400 without the `sip` subprotocol (RFC 7118 §4.1); 426 with
  `Sec-WebSocket-Version: 13` for another version (RFC 6455 §4.4, done by harness.ws).
- Each WebSocket message, text or binary (RFC 7118 §4.2), is one SIP message (§5):
  without Content-Length the body is the rest; a larger one → 400 to a request, a response
  dropped; a smaller one → the excess discarded, never a second message (RFC 3261 §18.3).
- Ping → Pong (websockets), CRLFCRLF → CRLF (RFC 5626 §4.4.1), Close echoed (RFC 6455
  §5.5.1), protocol errors → Close 1002/1007 (websockets / harness.ws).
- Requests it sends over a WebSocket are never retransmitted (RFC 7118 §5, reliable
  transport: RFC 3261 §17.1.1.2 Timer A/E not started); it answers 408 to the core after
  64×T1 without a final response. The WebSocket stays open after a call (SEED 5.Y.4).

SIP side: a transaction-stateful proxy towards the IMS core over UDP (or TCP). It adds
`received` to a top Via whose sent-by is a `.invalid` host without touching the sent-by
(RFC 7118 §5.3), its own Via, a Path on REGISTER whose user part names the WebSocket
connection (RFC 3327; RFC 5626 `ob` for an outbound registration), and two Record-Route
entries on dialog-creating requests (one per side, `transport=ws` towards the WIC), so
that requests from the core carrying those URIs go back over that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response

from harness.profiles import Profile
from harness.sip import NameAddr, SipMessage, SipParseError, build_response, new_branch, parse
from harness.sip.headers import split_header_list
from harness.sip.message import canonical_name
from harness.sipstream import read_sip_stream
from harness.suts.base import EpcscfDriver, EpcscfEndpoint, EpcscfEnv, SutUnavailable
from harness.suts.reference import SutLog, active_faults, origin_trusted
from harness.ws import WsConnection, WsMessage, WsServer, reject

HOST = "127.0.0.1"
T2 = 4.0  # RFC 3261 §17.1.2.2
DIALOG_CREATING = ("INVITE", "SUBSCRIBE", "REFER")


# --- header list editing (RFC 3261 §7.3.1: a list header may hold several values) -------------


def _first_index(msg: SipMessage, name: str) -> int | None:
    key = canonical_name(name)
    return next((i for i, (n, _) in enumerate(msg.headers) if canonical_name(n) == key), None)


def replace_top_value(msg: SipMessage, name: str, value: str | None) -> SipMessage:
    """Replace (or, with None, remove) the first value of list header `name`."""
    index = _first_index(msg, name)
    if index is None:
        return msg
    header_name, line = msg.headers[index]
    values = split_header_list(line)
    values = ([value] if value is not None else []) + values[1:]
    headers = list(msg.headers)
    if values:
        headers[index] = (header_name, ", ".join(values))
    else:
        del headers[index]
    return SipMessage(msg.start_line, tuple(headers), msg.body)


def insert_top(msg: SipMessage, name: str, value: str, *, after: str = "via") -> SipMessage:
    """`name: value` above the first `name` header, or after the last `after` header."""
    headers = list(msg.headers)
    index = _first_index(msg, name)
    if index is None:
        last = [i for i, (n, _) in enumerate(headers) if canonical_name(n) == after]
        index = last[-1] + 1 if last else 0
    headers.insert(index, (name, value))
    return SipMessage(msg.start_line, tuple(headers), msg.body)


def set_values(msg: SipMessage, name: str, values: list[str]) -> SipMessage:
    """Every `name` header replaced by one header per value, where the first one was."""
    index = _first_index(msg, name)
    key = canonical_name(name)
    headers = [(n, v) for n, v in msg.headers if canonical_name(n) != key]
    at = index if index is not None else len(headers)
    headers[at:at] = [(name, v) for v in values]
    return SipMessage(msg.start_line, tuple(headers), msg.body)


def framed(msg: SipMessage) -> SipMessage:
    """A correct Content-Length for the body being forwarded (RFC 3261 §20.14)."""
    return msg.with_body(msg.body)


# --- state ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Flow:
    """One WebSocket connection from a WIC (RFC 5626 flow); `token` names it in Path/RR."""

    token: str
    conn: WsConnection
    peer_host: str
    peer_port: int

    @property
    def open(self) -> bool:
        return not self.conn.closed


@dataclass(eq=False)
class Txn:
    """A client transaction the proxy started (RFC 3261 §16.6, §17.1)."""

    branch: str
    method: str
    request: SipMessage  # the request as received, for a 408 upstream
    upstream: Callable[[SipMessage], Awaitable[None]]  # sends a response back
    resend: Callable[[], Awaitable[None]] | None  # a retransmission (None: reliable)
    flow: Flow | None  # the WebSocket side of this transaction
    towards_wic: bool
    provisional: bool = False
    final: bool = False
    timer: asyncio.Task[None] | None = None


class CoreLink:
    """The proxy's side towards the IMS core: UDP (default) or one TCP connection."""

    def __init__(self, proxy: Proxy, host: str, port: int, transport: str) -> None:
        self.proxy = proxy
        self.core = (host, port)
        self.transport = transport
        self.local_port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        if self.transport == "tcp":
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.core), 3.0)
            self._writer = writer
            self.local_port = writer.get_extra_info("sockname")[1]
            self._reader_task = loop.create_task(self._read_tcp(reader))
            return
        link = self

        class _Udp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                link.proxy.spawn(link.proxy.from_core(data, (addr[0], addr[1])))

        self._udp, _ = await loop.create_datagram_endpoint(_Udp, local_addr=(HOST, 0))
        self.local_port = self._udp.get_extra_info("sockname")[1]

    async def _read_tcp(self, reader: asyncio.StreamReader) -> None:
        while True:
            data = await read_sip_stream(reader)
            if data is None:
                self.proxy.log("core TCP connection closed")
                return
            if data:
                self.proxy.spawn(self.proxy.from_core(data, self.core))

    def send(self, data: bytes, addr: tuple[str, int] | None = None) -> None:
        if self._udp is not None:
            self._udp.sendto(data, addr or self.core)
        elif self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader_task, 1.0)
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.transport.abort()


# --- the proxy ----------------------------------------------------------------------------------


class Proxy:
    """The eP-CSCF proper; see the module docstring."""

    def __init__(self, env: EpcscfEnv, faults: frozenset[str], log: SutLog) -> None:
        self.env = env
        self.profile: Profile = env.profile
        self.faults = faults
        self.log = log
        self.t1 = env.profile.timers.t1
        self.flows: dict[str, Flow] = {}
        self.bindings: dict[str, str] = {}  # registered Contact URI → flow token
        self.txns: dict[str, Txn] = {}
        self.core = CoreLink(self, env.core_host, env.core_port, env.core_transport)
        self.server: WsServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> EpcscfEndpoint:
        await self.core.open()
        self.server = WsServer(
            timeline=None,
            actor="sut",
            ssl_context=self.env.pki.server_context(),
            subprotocols=("sip",),
            require_subprotocol="no_subprotocol_check" not in self.faults,
            policy=self.handshake_policy,
            on_connection=self.serve,
            host=HOST,
            port=0,
            handshake_timeout=self.profile.timers.handshake_timeout,
        )
        await self.server.start()
        self.log(
            f"listening on {self.server.url}; core {self.env.core_transport}:"
            f"{self.env.core_host}:{self.env.core_port} from port {self.core.local_port}; "
            f"faults: {', '.join(sorted(self.faults)) or 'none'}"
        )
        return EpcscfEndpoint(
            ws_url=self.server.url,
            ca_pem=self.env.pki.ca_pem,
            domain=self.profile.domain,
            host=HOST,
            port=self.server.port,
        )

    async def stop(self) -> None:
        for txn in self.txns.values():
            if txn.timer is not None:
                txn.timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        if self.server is not None:
            await self.server.stop()
        await self.core.close()
        self.log("stopped")

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Awaitable[Any]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the SUT logs its own bugs, never crashes
            self.log(f"internal error: {exc!r}")

    # -- handshake (RFC 6455 §4.2.2, §10.2; SEED 5.Y.1.1) -----------------------------------------

    def handshake_policy(self, request: Request) -> Response | None:
        origins = request.headers.get_all("Origin")
        if "accept_any_origin" in self.faults and len(origins) > 1:
            # A naive server reads the first Origin only (websockets would answer 400).
            del request.headers["Origin"]
            request.headers["Origin"] = origins[0]
            self.log(f"handshake: {len(origins)} Origin headers, the first one used (fault)")
        if "accept_any_origin" not in self.faults:
            if len(origins) != 1:
                self.log(f"handshake refused: {len(origins)} Origin headers")
                return reject(403, f"Forbidden: {len(origins)} Origin headers.\n")
            if not origin_trusted(origins[0], self.profile.trusted_origins):
                self.log(f"handshake refused: untrusted Origin {origins[0]!r}")
                return reject(403, f"Forbidden: Origin {origins[0]} is not trusted.\n")
        version = request.headers.get("Sec-WebSocket-Version")
        if "no_426" in self.faults and version != "13":
            self.log(f"handshake refused with 400: Sec-WebSocket-Version {version!r} (fault no_426)")
            return reject(400, "Bad Request: unsupported Sec-WebSocket-Version.\n")
        return None

    # -- one WebSocket connection ---------------------------------------------------------------

    async def serve(self, conn: WsConnection) -> None:
        stream = getattr(conn, "_stream", None)
        peer = stream.get_extra_info("peername") if stream is not None else None
        host, port = (peer[0], peer[1]) if isinstance(peer, tuple) else (HOST, 0)
        flow = Flow(secrets.token_hex(5), conn, host, port)
        self._apply_connection_faults(flow)
        self.flows[flow.token] = flow
        self.log(f"flow {flow.token}: WebSocket from {host}:{port} ({conn.subprotocol or 'no subprotocol'})")
        try:
            while not conn.closed:
                message = await conn.recv(0.25)
                if message is not None:
                    await self._guard(self.from_wic(flow, message))
        finally:
            self.log(f"flow {flow.token}: closed (close code {conn.close_code}, error {conn.error})")

    def _apply_connection_faults(self, flow: Flow) -> None:
        conn = flow.conn
        protocol: Any = conn.protocol
        if "no_pong" in self.faults:
            conn.auto_pong = False  # RFC 6455 §5.5.2 broken on purpose
        if "wrong_close_codes" in self.faults:
            original_fail = protocol.fail

            def fail(code: int, reason: str = "", **kw: Any) -> None:
                # RFC 6455 §7.4.1 broken on purpose: 1000 instead of 1002/1007.
                if int(code) not in (1000, 1006):
                    self.log(f"flow {flow.token}: failing with 1000 instead of {int(code)} (fault)")
                    code = 1000
                original_fail(code, reason, **kw)

            protocol.fail = fail
        if "no_close_echo" in self.faults:
            original_recv = protocol.recv_frame

            def recv_frame(frame: Frame) -> None:
                if frame.opcode is Opcode.CLOSE:
                    # RFC 6455 §5.5.1 broken on purpose: no Close echoed, TCP dropped.
                    self.log(f"flow {flow.token}: Close received; dropping TCP (fault)")
                    conn.abort()
                    return
                original_recv(frame)

            protocol.recv_frame = recv_frame

    async def send_ws(self, flow: Flow, data: bytes) -> None:
        if not flow.open:
            self.log(f"flow {flow.token}: closed, not sent: {data[:60]!r}")
            return
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            await flow.conn.send_binary(data)
        else:
            await flow.conn.send_text(data)

    async def from_wic(self, flow: Flow, message: WsMessage) -> None:
        """One WebSocket message from the WIC (RFC 7118 §4.2, §5)."""
        payload = message.payload
        if message.opcode == "binary" and "binary_ignored" in self.faults:
            self.log(f"flow {flow.token}: binary message of {len(payload)}B ignored (fault)")
            return
        if payload == b"\r\n\r\n":  # RFC 5626 §4.4.1 ping
            if "no_crlf_pong" in self.faults:
                self.log(f"flow {flow.token}: CRLFCRLF not answered (fault)")
            else:
                await flow.conn.send_text(b"\r\n")
            return
        if payload == b"\r\n":
            return
        try:
            result = parse(payload)
        except SipParseError as exc:
            await self._unparsable_from_wic(flow, exc)
            return
        messages = [result.message]
        if result.excess:
            if "process_excess" in self.faults:
                with contextlib.suppress(SipParseError):
                    messages.append(parse(result.excess).message)
                self.log(f"flow {flow.token}: {len(result.excess)}B after the message parsed as another (fault)")
            else:
                self.log(f"flow {flow.token}: {len(result.excess)}B after the Content-Length discarded")
        for sip in messages:
            if sip.is_request:
                await self.request_from_wic(flow, sip)
            else:
                await self.response_from_wic(flow, sip)

    async def _unparsable_from_wic(self, flow: Flow, exc: SipParseError) -> None:
        partial = exc.partial
        self.log(f"flow {flow.token}: unparsable message ({exc})")
        if partial is None or not partial.is_request or partial.method.upper() == "ACK":
            return  # junk or a response: dropped (RFC 3261 §18.3)
        if exc.reason == "content-length larger than body" and "ignore_content_length" in self.faults:
            self.log(f"flow {flow.token}: processed anyway (fault)")
            await self.request_from_wic(flow, partial)
            return
        with contextlib.suppress(SipParseError):
            await self.send_ws(flow, build_response(partial, 400, f"Bad Request ({exc.reason})").to_bytes())

    # -- requests and responses from the WIC ------------------------------------------------------

    async def request_from_wic(self, flow: Flow, msg: SipMessage) -> None:
        method = msg.method.upper()
        via = msg.top_via
        self.log(f"flow {flow.token}: rx {msg.summary()}")
        if via is None:
            return
        token = via.protocol.rsplit("/", 1)[-1]
        if "reject_lowercase_via" in self.faults and token != token.upper():
            await self.send_ws(flow, build_response(msg, 400, "Bad Via transport").to_bytes())
            return
        # RFC 7118 §5.3 / RFC 3261 §18.2.1: received, the sent-by left as it is.
        if via.host.lower().endswith(".invalid") or via.host != flow.peer_host:
            marked = via.with_param("received", flow.peer_host)
            if via.rport == "":
                marked = marked.with_param("rport", str(flow.peer_port))
            msg = replace_top_value(msg, "Via", str(marked))
        forwards = msg.max_forwards
        if forwards is not None and forwards <= 0 and method != "ACK":
            await self.send_ws(flow, build_response(msg, 483).to_bytes())
            return
        msg = msg.replace_header("Max-Forwards", str((forwards if forwards is not None else 71) - 1))
        if method == "INVITE":
            await self.send_ws(flow, build_response(msg, 100).to_bytes())
        upstream = msg
        msg, _ = self.pop_own_routes(msg)
        if method == "REGISTER":
            msg = self._add_path(flow, msg)
        elif method in DIALOG_CREATING and msg.to.tag is None:
            msg = insert_top(msg, "Record-Route", self.uri(flow, "ws"))
            msg = insert_top(msg, "Record-Route", self.uri(flow, self.core.transport))
        await self._to_core(flow, method, upstream, msg)

    def _add_path(self, flow: Flow, msg: SipMessage) -> SipMessage:
        """RFC 3327 Path naming this flow; `ob` for an RFC 5626 registration (§5.1)."""
        outbound = any(c.has_param("reg-id") and c.has_param("+sip.instance") for c in msg.contacts)
        for contact in msg.contacts:
            self.bindings[str(contact.uri)] = flow.token
        path = self.uri(flow, self.core.transport, ob=outbound)
        return insert_top(msg, "Path", path)

    def uri(self, flow: Flow, transport: str, *, ob: bool = False) -> str:
        port = self.server.port if transport == "ws" and self.server else self.core.local_port
        return f"<sip:{flow.token}@{HOST}:{port};transport={transport};lr{';ob' if ob else ''}>"

    def pop_own_routes(self, msg: SipMessage) -> tuple[SipMessage, list[str]]:
        """Remove the Route entries naming this proxy (RFC 3261 §16.4); their user parts."""
        values = msg.header_values("Route")
        ours = {self.core.local_port, self.server.port if self.server else -1}
        tokens: list[str] = []
        while values:
            try:
                uri = NameAddr.parse(values[0]).uri
            except SipParseError:
                break
            if uri.host != HOST or uri.port not in ours:
                break
            tokens.append(uri.user or "")
            values.pop(0)
        if tokens:
            msg = set_values(msg, "Route", values)
        return msg, tokens

    async def _to_core(self, flow: Flow, method: str, upstream: SipMessage, msg: SipMessage) -> None:
        branch = new_branch()
        transport = self.core.transport.upper()
        msg = framed(insert_top(msg, "Via", f"SIP/2.0/{transport} {HOST}:{self.core.local_port};branch={branch}"))
        data = msg.to_bytes()
        if method != "ACK":

            async def answer(response: SipMessage) -> None:
                await self.send_ws(flow, response.to_bytes())

            async def resend() -> None:
                self.core.send(data)

            self._start(Txn(branch, method, upstream, answer, resend if self.core.transport == "udp" else None,
                            flow, towards_wic=False))
        self.log(f"flow {flow.token}: → core {msg.summary()}")
        self.core.send(data)

    async def response_from_wic(self, flow: Flow, msg: SipMessage) -> None:
        via = msg.top_via
        txn = self.txns.get(via.branch or "") if via is not None else None
        if txn is None or txn.flow is not flow:
            self.log(f"flow {flow.token}: stray response dropped: {msg.summary()}")
            return
        self._progress(txn, msg)
        if msg.status == 100:
            return
        await txn.upstream(framed(replace_top_value(msg, "Via", None)))

    # -- the core side ----------------------------------------------------------------------------

    async def from_core(self, data: bytes, source: tuple[str, int]) -> None:
        try:
            msg = parse(data).message
        except SipParseError as exc:
            self.log(f"core: unparsable message ({exc})")
            partial = exc.partial
            if partial is not None and partial.is_request and partial.method.upper() != "ACK":
                self.core.send(build_response(partial, 400).to_bytes(), source)
            return
        if msg.is_request:
            await self.request_from_core(msg, source)
        else:
            await self.response_from_core(msg)

    async def request_from_core(self, msg: SipMessage, source: tuple[str, int]) -> None:
        method = msg.method.upper()
        self.log(f"core: rx {msg.summary()}")
        upstream = msg
        msg, tokens = self.pop_own_routes(msg)
        token = next((t for t in tokens if t in self.flows), None)
        token = token or self.bindings.get(msg.request_uri or "")
        flow = self.flows.get(token or "")
        if flow is None or not flow.open:
            self.log(f"core: no open WebSocket flow for {msg.request_uri}")
            if method != "ACK":
                self.core.send(build_response(upstream, 430, "Flow Failed").to_bytes(), source)
            return
        forwards = msg.max_forwards
        if forwards is not None and forwards <= 0 and method != "ACK":
            self.core.send(build_response(upstream, 483).to_bytes(), source)
            return
        msg = msg.replace_header("Max-Forwards", str((forwards if forwards is not None else 71) - 1))
        if method in DIALOG_CREATING and msg.to.tag is None:
            msg = insert_top(msg, "Record-Route", self.uri(flow, self.core.transport))
            msg = insert_top(msg, "Record-Route", self.uri(flow, "ws"))
        branch = new_branch()
        msg = framed(insert_top(msg, "Via", f"SIP/2.0/WSS {HOST}:{self.server.port if self.server else 0};branch={branch}"))
        data = msg.to_bytes()
        if method != "ACK":

            async def answer(response: SipMessage) -> None:
                self.core.send(response.to_bytes(), source)

            async def resend() -> None:
                self.log(f"flow {flow.token}: retransmitting {method} over the WebSocket (fault)")
                await self.send_ws(flow, data)

            retransmit = resend if "retransmit_over_ws" in self.faults else None
            self._start(Txn(branch, method, upstream, answer, retransmit, flow, towards_wic=True))
        self.log(f"flow {flow.token}: → WIC {msg.summary()}")
        await self.send_ws(flow, data)

    async def response_from_core(self, msg: SipMessage) -> None:
        via = msg.top_via
        txn = self.txns.get(via.branch or "") if via is not None else None
        if txn is None or txn.towards_wic or txn.flow is None:
            self.log(f"core: stray response dropped: {msg.summary()}")
            return
        self._progress(txn, msg)
        status = msg.status or 0
        if status == 100:
            return
        msg = replace_top_value(msg, "Via", None)
        if "rewrite_sent_by" in self.faults:
            wic_via = msg.top_via
            if wic_via is not None:
                rewritten = dataclasses.replace(wic_via, host=txn.flow.peer_host, port=txn.flow.peer_port)
                msg = replace_top_value(msg, "Via", str(rewritten))
        await txn.upstream(framed(msg))
        if "close_after_bye" in self.faults and txn.method == "BYE" and 200 <= status < 300:
            self.log(f"flow {txn.flow.token}: closing the WebSocket after BYE (fault)")
            self.spawn(txn.flow.conn.close(1.0, code=1000, reason="call released"))

    # -- transactions (RFC 3261 §17.1: timers; RFC 7118 §5: none over a WebSocket) -------------

    def _start(self, txn: Txn) -> None:
        self.txns[txn.branch] = txn
        txn.timer = asyncio.get_running_loop().create_task(self._timers(txn))
        self._tasks.add(txn.timer)
        txn.timer.add_done_callback(self._tasks.discard)

    def _progress(self, txn: Txn, response: SipMessage) -> None:
        if (response.status or 0) >= 200:
            txn.final = True
        else:
            txn.provisional = True
        if txn.timer is not None and (txn.final or (txn.method == "INVITE" and txn.provisional)):
            txn.timer.cancel()

    async def _timers(self, txn: Txn) -> None:
        """Timer A/E retransmissions when `resend` is set; Timer B/F: 408 upstream at 64×T1."""
        invite = txn.method == "INVITE"
        interval, elapsed, limit = self.t1, 0.0, 64 * self.t1
        while elapsed < limit:
            step = min(interval, limit - elapsed)
            await asyncio.sleep(step)
            elapsed += step
            if txn.final or (invite and txn.provisional):
                return
            if txn.resend is not None and elapsed < limit:
                await txn.resend()
                interval = interval * 2 if invite else min(interval * 2, T2)
        if not txn.final:
            txn.final = True
            self.log(f"{txn.method} transaction {txn.branch} timed out: 408 upstream")
            with contextlib.suppress(SipParseError):
                await txn.upstream(build_response(txn.request, 408))


class ReferenceEpcscfDriver(EpcscfDriver):
    """Runs the reference eP-CSCF in process (profile `driver: reference`)."""

    name = "reference"

    def __init__(self) -> None:
        self.log = SutLog("reference-epcscf")
        self.proxy: Proxy | None = None

    async def start(self, env: EpcscfEnv) -> EpcscfEndpoint:
        try:
            faults = active_faults(env.profile, "epcscf")
        except ValueError as exc:
            raise SutUnavailable(str(exc)) from exc
        self.proxy = Proxy(env, faults, self.log)
        try:
            return await self.proxy.start()
        except OSError as exc:
            await self.stop()
            raise SutUnavailable(f"reference eP-CSCF cannot start: {exc}") from exc

    async def stop(self) -> None:
        if self.proxy is not None:
            proxy, self.proxy = self.proxy, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proxy.stop(), 5.0)

    def log_text(self) -> str:
        return self.log.text()


__all__ = ["Flow", "Proxy", "ReferenceEpcscfDriver", "Txn"]
