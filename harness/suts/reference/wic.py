"""The reference WIC: an in-process WebRTC IMS Client (a UA like JsSIP) that conforms to
every WIC-side requirement wicct tests (sections 1-4 of the catalogue), with fault switches.

It is a *system under test*: it keeps its own log (`log_text()`) and never writes into the
case timeline. Its WebSocket is `harness.ws.connect` without a timeline; SIP is
`harness.sip`; media offers and answers are real aiortc JSEP (`harness.sdp.jsep`).

What it does, clause by clause:
- RFC 7118 §4.1, SEED 5.1.X.1.1: connects to the eP-CSCF with `Origin` = the WWSF origin,
  offering the `sip` subprotocol, over TLS verified against the run's CA; a certificate it
  cannot verify (unknown CA, wrong name) ends the attempt before any GET (RFC 7118 §9.1).
- SEED 5.1.X.0: each SIP message alone in one text frame; Via `SIP/2.0/WSS <random>.invalid`;
  Contact `transport=ws` (RFC 7118 §5.2) with `+sip.instance` and `reg-id` (RFC 5626);
  responses without `received` are accepted (RFC 7118 §5.3).
- RFC 7118 §5 / RFC 3261 §18.3 on what it receives: no Content-Length, the body is the rest;
  a larger one → 400 to a request, a response is dropped; a smaller one → the excess is
  discarded, as is anything after the first message: never two transactions. Binary
  frames are processed as text (RFC 7118 §4.2); invalid UTF-8 fails the connection with
  1007 (RFC 6455 §8.1, done by harness.ws); Pong to Ping and Close echoed (websockets);
  CRLF reply to a CRLFCRLF keep-alive (RFC 5626 §4.4.1; feature `crlf_pong`).
- RFC 3261 §17.1.1.2 / §17.1.2.2 over a reliable transport: no retransmissions, Timer B/F
  fire at 64×T1. (The UAS's 2xx retransmission of §13.3.1.4 is not done either.)
- SEED 5.1.X.3: an incoming INVITE is answered 100 + 180 at once, 200 with a JSEP answer
  when the user answers; SEED 5.1.X.4: the WebSocket stays open after BYE.
- A connection that drops is re-opened (0.1 s, then backing off) and the WIC registers again.

Fault switches (`profile.faults`, table in harness/suts/faults.py, role "wic") each break
exactly the requirement ids listed there.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.frames import Frame, Opcode

from harness.sdp.jsep import MediaPeer, make_answer, make_offer
from harness.sip import (
    NameAddr,
    SipMessage,
    SipParseError,
    build_digest_authorization,
    build_request,
    build_response,
    new_branch,
    new_call_id,
    new_tag,
    parse,
    parse_challenge,
)
from harness.suts.base import DriverError, SutUnavailable, WicDriver, WicEnv, WicState
from harness.suts.reference import SutLog, active_faults
from harness.ws import WsConnection, WsMessage, connect

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, NOTIFY"
AGENT = "wicct reference WIC"
EXPIRES = 600
T2 = 4.0  # RFC 3261 §17.1.2.2: cap of the (fault-only) retransmission interval
RECONNECT_DELAY = 0.1  # after a connection that was up drops
RETRY_MIN, RETRY_MAX = 0.25, 4.0  # after a failed connection attempt, doubling


def tls_context(ca_pem: Path, *, verify: bool = True) -> ssl.SSLContext:
    """The WIC trusts the CA it was told to trust (RFC 7118 §9.1): certificate and name
    checked (PROTOCOL_TLS_CLIENT's defaults); `verify=False` is the fault switch."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(ca_pem))
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class _ClientTx:
    request: SipMessage
    final: asyncio.Future[SipMessage]
    on_provisional: Callable[[SipMessage], None] | None = None
    provisional: bool = False

    @property
    def method(self) -> str:
        return self.request.method


@dataclass
class _Call:
    call_id: str
    outgoing: bool
    local: NameAddr  # our side with our tag
    remote: NameAddr  # the other side, with its tag once known
    remote_target: str
    invite: SipMessage
    cseq: int = 1
    route: tuple[str, ...] = ()
    state: str = "calling"  # calling | early | ringing | answered | confirmed | ended
    media: MediaPeer | None = None
    ack: SipMessage | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.state == "ended"


class ReferenceWic:
    """The user agent itself; `ReferenceWicDriver` gives it the driver verbs."""

    def __init__(self, env: WicEnv, faults: frozenset[str]) -> None:
        self.env = env
        self.profile = env.profile
        self.faults = faults
        self.t1 = env.profile.timers.t1
        self.instance = f"urn:uuid:{uuid.uuid4()}"
        self.host = f"{secrets.token_hex(5)}.invalid"  # RFC 7118 §5.2: an invented sent-by
        self.user = secrets.token_hex(4)
        self.conn: WsConnection | None = None
        self.registered = False
        self.want_registered = False
        self.detail = "loaded, not connected"
        self.connections = 0
        self.call: _Call | None = None
        self.service_route: list[str] = []
        self.log = SutLog("wic")
        self._stopping = False
        self._closed_on_purpose = False
        self._runner: asyncio.Task[None] | None = None
        self._registering: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._client_txs: dict[tuple[str, str], _ClientTx] = {}
        self._server_txs: dict[tuple[str, str], list[SipMessage]] = {}
        self._reg_call_id = new_call_id()
        self._reg_tag = new_tag()
        self._reg_cseq = 0
        self._tls = tls_context(env.ca_pem, verify="accept_any_certificate" not in faults)

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
    def aor(self) -> str:
        name = self.profile.display_name
        return f'"{name}" <{self.profile.impu}>' if name else f"<{self.profile.impu}>"

    @property
    def connected(self) -> bool:
        return self.conn is not None and self.conn.is_open

    # -- the connection (RFC 7118 §4.1, RFC 6455 §4.1) ---------------------------------------

    def start_connecting(self) -> None:
        if self._runner is None or self._runner.done():
            self._closed_on_purpose = False
            self._runner = self.spawn(self._run())

    async def _run(self) -> None:
        retry = RETRY_MIN
        while not self._stopping:
            timers = self.profile.timers
            result = await connect(
                self.env.epcscf_url,
                timeline=None,
                actor="reference-wic",
                ssl_context=self._tls,
                origin=None if "no_origin" in self.faults else self.profile.wwsf_origin,
                subprotocols=None if "no_sip_subprotocol" in self.faults else ("sip",),
                timeout=timers.handshake_timeout,
            )
            if result.conn is None:
                self.detail = f"cannot connect: {result.error}"
                self.log(f"connection to {self.env.epcscf_url} failed: {result.error}; retry in {retry:g} s")
                await asyncio.sleep(retry)
                retry = min(retry * 2, RETRY_MAX)
                continue
            retry = RETRY_MIN
            conn = result.conn
            self._prepare(conn)
            self.conn = conn
            self.connections += 1
            self.detail = "connected"
            self.log(f"connected to {self.env.epcscf_url} (subprotocol {conn.subprotocol!r})")
            if self.want_registered:
                self.register()
            await self._read(conn)
            self.conn = None
            self.registered = False  # the flow is gone (RFC 5626 §4.4.1): register again
            for tx in list(self._client_txs.values()):
                if not tx.final.done():
                    tx.final.cancel()
            code = conn.close_code
            self.log(f"connection closed (Close {code if code is not None else 'none'})")
            if self._stopping or self._closed_on_purpose:
                self.detail = "disconnected"
                return
            self.detail = "connection lost, reconnecting"
            await asyncio.sleep(RECONNECT_DELAY)

    def _prepare(self, conn: WsConnection) -> None:
        """Per-connection fault switches on top of websockets' conforming behaviour."""
        proto: Any = conn.protocol
        if "no_pong" in self.faults:
            conn.auto_pong = False
        if "wrong_close_codes" in self.faults:
            fail = proto.fail

            def wrong_fail(code: int, reason: str = "", *, raw: bytes | None = None) -> None:
                fail(1000 if code == 1007 else code, reason, raw=raw)

            proto.fail = wrong_fail
        if "no_close_echo" in self.faults:
            recv_frame = proto.recv_frame

            def drop_on_close(frame: Frame) -> None:
                if frame.opcode is Opcode.CLOSE and proto.close_sent is None:
                    self.log("Close received: dropping TCP without echoing it (fault no_close_echo)")
                    conn.abort()
                    return
                recv_frame(frame)

            proto.recv_frame = drop_on_close

    async def _read(self, conn: WsConnection) -> None:
        while not conn.closed:
            message = await conn.recv(0.25)
            if message is not None:
                await self._on_ws_message(message)

    async def close(self, reason: str) -> None:
        """Close the WebSocket on purpose (no reconnection)."""
        conn = self.conn
        self._closed_on_purpose = True
        if conn is not None:
            self.log(f"closing the WebSocket: {reason}")
            await conn.close(1.0, code=1000, reason=reason)

    async def stop(self) -> None:
        self._stopping = True
        self.want_registered = False
        runner = self._runner
        tasks = [t for t in self._tasks if not t.done() and t is not runner]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        if self.call is not None and self.call.media is not None:
            await self.call.media.close()
        conn = self.conn
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(1.0, code=1001, reason="going away")
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.wait([runner], timeout=1.0)

    # -- sending: one SIP message per text frame (SEED 5.1.X.0 bullet 1) ------------------

    async def send(self, message: SipMessage, *, pack_with: SipMessage | None = None) -> bool:
        conn = self.conn
        if conn is None or conn.closed:
            self.log(f"not sent (no connection): {message.summary()}")
            return False
        data = message.to_bytes()
        self.log(f"tx {message.summary()}")
        if pack_with is not None:
            self.log(f"tx {pack_with.summary()}")
            if "two_messages_one_frame" in self.faults:
                await conn.send_text(data + b"\r\n" + pack_with.to_bytes())
                return True
            await conn.send_text(data)
            await conn.send_text(pack_with.to_bytes())
            return True
        if message.is_request and "split_message" in self.faults:
            cut = data.find(b"\r\n", len(data) // 2) + 2 or len(data) // 2
            await conn.send_text(data[:cut])
            await conn.send_text(data[cut:])
            return True
        await conn.send_text(data)
        return True

    # -- receiving (RFC 7118 §4.2, §5; RFC 3261 §18.3) ---------------------------------------

    async def _on_ws_message(self, message: WsMessage) -> None:
        payload = message.payload
        if message.opcode == "binary" and "binary_ignored" in self.faults:
            self.log(f"binary message of {len(payload)}B dropped (fault binary_ignored)")
            return
        if payload == b"\r\n\r\n":  # RFC 5626 §4.4.1 ping
            if "no_crlf_pong" in self.faults:
                self.log("CRLFCRLF keep-alive not answered (fault no_crlf_pong)")
            elif self.conn is not None:
                self.log("CRLFCRLF keep-alive: CRLF pong")
                await self.conn.send_text(b"\r\n")
            return
        if payload == b"\r\n":
            return
        await self._process(payload)

    async def _process(self, data: bytes) -> None:
        try:
            result = parse(data)
        except SipParseError as exc:
            await self._unparsable(exc, data)
            return
        await self._dispatch(result.message)
        if result.excess.strip(b"\r\n"):
            if "process_excess" in self.faults:
                self.log(f"{len(result.excess)}B after the message processed as another (fault)")
                await self._process(result.excess)
            else:
                self.log(f"{len(result.excess)}B after the SIP message discarded (RFC 3261 §18.3)")

    async def _unparsable(self, exc: SipParseError, data: bytes) -> None:
        partial = exc.partial
        if partial is None or not partial.is_request:
            self.log(f"dropped {len(data)}B that are not a SIP request: {exc}")
            return
        if exc.reason == "content-length larger than body" and "ignore_content_length" in self.faults:
            self.log("request with a too large Content-Length processed (fault)")
            await self._dispatch(partial)
            return
        if partial.header("Via") is None or partial.header("CSeq") is None:
            self.log(f"dropped an unanswerable request: {exc}")
            return
        self.log(f"rx bad request ({exc}): 400")
        await self.send(build_response(partial, 400, f"Bad Request ({exc.reason})"))

    async def _dispatch(self, message: SipMessage) -> None:
        self.log(f"rx {message.summary()}")
        try:
            if message.is_request:
                await self._on_request(message)
            else:
                self._on_response(message)
        except SipParseError as exc:
            self.log(f"dropped: {exc}")

    # -- client transactions (RFC 3261 §17.1 over a reliable transport) ----------------------

    async def transact(
        self, request: SipMessage, on_provisional: Callable[[SipMessage], None] | None = None
    ) -> SipMessage | None:
        """Send a request and wait for its final response; None when Timer B/F fired
        (64×T1) or the connection went away. No retransmission over the WebSocket."""
        via = request.top_via
        key = (via.branch if via and via.branch else "", request.method)
        tx = _ClientTx(request, asyncio.get_running_loop().create_future(), on_provisional)
        self._client_txs[key] = tx
        retransmit = None
        try:
            if not await self.send(request):
                return None
            if "retransmit_over_ws" in self.faults:
                retransmit = self.spawn(self._retransmit(tx))
            timer = 64 * self.t1
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(tx.final), timer)
                except TimeoutError:
                    if tx.method == "INVITE" and tx.provisional:
                        continue  # "Proceeding": no Timer B any more, the callee is ringing
                    self.log(f"{tx.method} timed out after {timer:g} s (Timer {'B' if tx.method == 'INVITE' else 'F'})")
                    return None
        except asyncio.CancelledError:
            if tx.final.cancelled():
                return None  # the connection went away
            raise
        finally:
            if retransmit is not None:
                retransmit.cancel()
            self._client_txs.pop(key, None)

    async def _retransmit(self, tx: _ClientTx) -> None:
        """Fault retransmit_over_ws: Timer A/E as over UDP (RFC 3261 §17.1.1.2, §17.1.2.2)."""
        interval = self.t1
        while not tx.final.done():
            await asyncio.sleep(interval)
            if tx.final.done() or (tx.method == "INVITE" and tx.provisional):
                return
            self.log(f"retransmitting {tx.method} (fault retransmit_over_ws)")
            await self.send(tx.request)
            interval = min(interval * 2, T2)

    def _on_response(self, response: SipMessage) -> None:
        via = response.top_via
        if via is None:
            return
        if "drop_responses_without_received" in self.faults and via.received is None:
            self.log(f"ignored {response.summary()}: no 'received' in the top Via (fault)")
            return
        tx = self._client_txs.get((via.branch or "", response.cseq.method))
        status = response.status or 0
        if tx is None:
            call = self.call
            if (
                response.cseq.method == "INVITE" and 200 <= status < 300 and call is not None
                and call.call_id == response.call_id and call.ack is not None
            ):
                self.log("2xx retransmission: ACK again (RFC 3261 §13.2.2.4)")
                self.spawn(self.send(call.ack))
            return
        if status < 200:
            tx.provisional = True
            if tx.on_provisional is not None:
                tx.on_provisional(response)
        elif not tx.final.done():
            tx.final.set_result(response)

    # -- registration (RFC 3261 §10.2, RFC 5626 §4.2, RFC 7118 §5.2) ---------------------------

    def register(self) -> None:
        self.want_registered = True
        if not self.connected:
            self.start_connecting()
        elif self._registering is None or self._registering.done():
            self._registering = self.spawn(self._register())

    def _contact_transport(self) -> str:
        if "contact_transport_tcp" in self.faults:
            return "tcp"
        return "wss" if "contact_transport_wss" in self.faults else "ws"

    def _via(self) -> str:
        transport = "TCP" if "via_transport_tcp" in self.faults else "WSS"
        return f"SIP/2.0/{transport} {self.host};branch={new_branch()}"

    def _register_request(self, authorization: tuple[str, str] | None) -> SipMessage:
        self._reg_cseq += 1
        contact = (
            f"<sip:{self.user}@{self.host};transport={self._contact_transport()}>"
            f';+sip.ice;reg-id=1;+sip.instance="<{self.instance}>";expires={EXPIRES}'
        )
        headers = [
            ("Via", self._via()),
            ("Max-Forwards", "70"),
            ("To", self.aor),
            ("From", f"{self.aor};tag={self._reg_tag}"),
            ("Call-ID", self._reg_call_id),
            ("CSeq", f"{self._reg_cseq} REGISTER"),
            ("Contact", contact),
            ("Expires", str(EXPIRES)),
            ("Allow", ALLOW),
            ("Supported", "path, outbound"),
            ("User-Agent", AGENT),
        ]
        if authorization is not None:
            headers.append(authorization)
        return build_request("REGISTER", f"sip:{self.profile.domain}", headers)

    async def _register(self) -> None:
        authorization: tuple[str, str] | None = None
        self.detail = "registering"
        while True:
            response = await self.transact(self._register_request(authorization))
            if response is None:
                self.registered = False
                self.detail = "REGISTER got no final response"
                return
            status = response.status or 0
            if status in (401, 407) and authorization is None and self.profile.password:
                authorization = self._authorization(response)
                if authorization is not None:
                    continue
            self.registered = 200 <= status < 300
            if self.registered:
                self.service_route = response.header_values("Service-Route")
                self.detail = "registered"
            else:
                self.detail = f"REGISTER answered {status}"
            self.log(f"registration: {self.detail}")
            return

    def _authorization(self, response: SipMessage) -> tuple[str, str] | None:
        """RFC 3261 §22.2: answer a Digest challenge with the profile's credentials."""
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        try:
            challenge = parse_challenge(response.header(name) or "")
        except SipParseError:
            return None
        if challenge.scheme.lower() != "digest":
            return None
        offered = [q.strip() for q in (challenge.param("qop") or "").split(",") if q.strip()]
        value = build_digest_authorization(
            username=self.profile.impi,
            realm=challenge.param("realm") or self.profile.domain,
            password=self.profile.password,
            method="REGISTER",
            uri=f"sip:{self.profile.domain}",
            nonce=challenge.param("nonce") or "",
            qop="auth" if "auth" in offered else None,
            algorithm=challenge.param("algorithm") or "MD5",
            opaque=challenge.param("opaque"),
        )
        return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)

    # -- calls (SEED 5.1.X.2 - 5.1.X.4) -----------------------------------------------------

    def _in_dialog(self, call: _Call, method: str, cseq: int) -> SipMessage:
        headers = [
            ("Via", self._via()),
            ("Max-Forwards", "70"),
            *(("Route", r) for r in call.route),
            ("From", str(call.local)),
            ("To", str(call.remote)),
            ("Call-ID", call.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("User-Agent", AGENT),
        ]
        return build_request(method, call.remote_target, headers)

    def _dialog_contact(self) -> str:
        return f"<sip:{self.user}@{self.host};transport={self._contact_transport()};ob>"

    async def place_call(self, target: str) -> None:
        """UAC: INVITE with a JSEP offer, ACK on 2xx (RFC 3261 §13.2)."""
        media = await make_offer()
        local = NameAddr.parse(self.aor).with_param("tag", new_tag())
        headers = [
            ("Via", self._via()),
            ("Max-Forwards", "70"),
            *(("Route", r) for r in self.service_route),
            ("To", f"<{target}>"),
            ("From", str(local)),
            ("Call-ID", new_call_id()),
            ("CSeq", "1 INVITE"),
            ("Contact", self._dialog_contact()),
            ("Allow", ALLOW),
            ("Supported", "outbound"),
            ("User-Agent", AGENT),
        ]
        invite = build_request("INVITE", target, headers, media.sdp.encode(), "application/sdp")
        call = _Call(invite.call_id, True, local, invite.to, target, invite, media=media)
        self.call = call

        def provisional(response: SipMessage) -> None:
            if (response.status or 0) > 100 and call.state == "calling":
                call.state = "early"

        final = await self.transact(invite, provisional)
        if final is None:
            call.state = "ended"
            await media.close()
            return
        status = final.status or 0
        if status >= 300:
            call.state = "ended"
            ack = build_request("ACK", target, [
                ("Via", invite.header("Via") or self._via()), ("Max-Forwards", "70"),
                ("To", final.header("To") or str(call.remote)), ("From", str(local)),
                ("Call-ID", call.call_id), ("CSeq", "1 ACK"), ("User-Agent", AGENT),
            ])
            await self.send(ack)
            await media.close()
            return
        call.remote = final.to
        contacts = final.contacts
        if contacts:
            call.remote_target = str(contacts[0].uri)
        call.route = tuple(reversed(final.header_values("Record-Route")))
        try:
            await media.accept_answer(final.body.decode("utf-8", "replace"))
        except Exception as exc:  # noqa: BLE001 - a bad answer is logged, the dialog stands
            self.log(f"the answer SDP was refused: {exc!r}")
        call.ack = self._in_dialog(call, "ACK", 1)
        call.state = "confirmed"
        await self.send(call.ack)

    async def accept_call(self, call: _Call) -> None:
        """UAS: 200 with a JSEP answer to the ringing call (SEED 5.1.X.3)."""
        offer = call.invite.body.decode("utf-8", "replace")
        call.media = await (make_answer(offer) if call.invite.body else make_offer())
        if call.state != "ringing":
            return  # cancelled meanwhile
        call.state = "answered"
        await self._reply(
            call.invite, 200, to_tag=call.local.tag, body=call.media.sdp.encode(),
            headers=[("Contact", self._dialog_contact()), ("Allow", ALLOW)],
            content_type="application/sdp",
        )

    async def release_call(self, call: _Call) -> None:
        """BYE, CANCEL or a rejection, by the state of the call."""
        if call.state in ("answered", "confirmed"):
            call.cseq += 1
            bye = self._in_dialog(call, "BYE", call.cseq)
            call.state = "ended"
            response = await self.transact(bye)
            self.log(f"call released (BYE answered {response.status if response else 'nothing'})")
            await self._after_release(call)
        elif call.outgoing:
            cancel = build_request("CANCEL", call.invite.request_uri or call.remote_target, [
                ("Via", call.invite.header("Via") or ""), ("Max-Forwards", "70"),
                ("To", call.invite.header("To") or ""), ("From", str(call.local)),
                ("Call-ID", call.call_id), ("CSeq", "1 CANCEL"), ("User-Agent", AGENT),
            ])
            await self.transact(cancel)
        elif call.state == "ringing":
            call.state = "ended"
            await self._reply(call.invite, 603, to_tag=call.local.tag)
            await self._after_release(call)

    async def _after_release(self, call: _Call) -> None:
        if call.media is not None:
            await call.media.close()
        if "close_after_bye" in self.faults:
            await self.close("call released (fault close_after_bye)")

    # -- requests from the eP-CSCF (UAS) ----------------------------------------------------

    async def _reply(
        self,
        request: SipMessage,
        status: int,
        *,
        to_tag: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        pack_with: SipMessage | None = None,
    ) -> SipMessage:
        response = build_response(
            request, status, headers=[*(headers or []), ("User-Agent", AGENT)], body=body,
            content_type=content_type, to_tag=to_tag if status > 100 else None,
        )
        via = request.top_via
        key = (via.branch if via and via.branch else request.call_id, request.method)
        self._server_txs.setdefault(key, []).append(response)
        await self.send(response, pack_with=pack_with)
        return response

    async def _on_request(self, request: SipMessage) -> None:
        method = request.method.upper()
        via = request.top_via
        key = (via.branch if via and via.branch else request.call_id, method)
        if method == "ACK":
            self._on_ack(request)
            return
        if key in self._server_txs:  # RFC 3261 §17.2: absorbed, last response repeated
            sent = self._server_txs[key]
            if sent:
                await self.send(sent[-1])
            return
        self._server_txs[key] = []
        if method == "INVITE":
            await self._on_invite(request)
        elif method == "BYE":
            await self._on_bye(request)
        elif method == "CANCEL":
            await self._on_cancel(request)
        elif method == "OPTIONS":
            await self._reply(request, 200, to_tag=new_tag(), headers=[
                ("Allow", ALLOW), ("Accept", "application/sdp, text/plain"),
                ("Supported", "outbound"),
            ])
        elif method in ("MESSAGE", "INFO", "UPDATE", "NOTIFY"):
            await self._reply(request, 200, to_tag=new_tag())
        else:
            await self._reply(request, 405, to_tag=new_tag(), headers=[("Allow", ALLOW)])

    async def _on_invite(self, request: SipMessage) -> None:
        call = self.call
        if request.to.tag is not None:  # in-dialog: a re-INVITE keeps the session as it is
            if call is None or call.call_id != request.call_id or call.media is None:
                await self._reply(request, 481)
                return
            await self._reply(request, 200, headers=[("Contact", self._dialog_contact())],
                              body=call.media.sdp.encode(), content_type="application/sdp")
            return
        if call is not None and not call.ended:
            await self._reply(request, 486, to_tag=new_tag())
            return
        contacts = request.contacts
        local = request.to.with_param("tag", new_tag())
        call = _Call(
            request.call_id, False, local, request.from_,
            str(contacts[0].uri) if contacts else str(request.from_.uri), request,
            cseq=0, route=tuple(request.header_values("Record-Route")), state="ringing",
        )
        self.call = call
        trying = build_response(request, 100, headers=[("User-Agent", AGENT)])
        ringing = build_response(request, 180, to_tag=local.tag, headers=[
            ("Contact", self._dialog_contact()), ("Allow", ALLOW), ("User-Agent", AGENT),
        ])
        key = (request.top_via.branch or request.call_id, "INVITE") if request.top_via else ("", "INVITE")
        self._server_txs.setdefault(key, []).extend([trying, ringing])
        await self.send(trying, pack_with=ringing)  # SEED 5.1.X.3: 180 at once

    def _on_ack(self, request: SipMessage) -> None:
        call = self.call
        if call is not None and call.call_id == request.call_id and call.state == "answered":
            call.state = "confirmed"
            if request.body and call.media is not None and not call.invite.body:
                self.spawn(call.media.accept_answer(request.body.decode("utf-8", "replace")))

    async def _on_bye(self, request: SipMessage) -> None:
        call = self.call
        if call is None or call.call_id != request.call_id or call.ended:
            await self._reply(request, 481)
            return
        call.state = "ended"
        await self._reply(request, 200)
        self.log("call released by the eP-CSCF side")
        await self._after_release(call)

    async def _on_cancel(self, request: SipMessage) -> None:
        call = self.call
        if call is None or call.call_id != request.call_id or call.state != "ringing":
            await self._reply(request, 481)
            return
        await self._reply(request, 200)
        call.state = "ended"
        await self._reply(call.invite, 487, to_tag=call.local.tag)

    # -- what the app shows -----------------------------------------------------------------

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


class ReferenceWicDriver(WicDriver):
    """Driver verbs over the in-process reference WIC (profile driver `reference`)."""

    name = "reference"

    def __init__(self) -> None:
        self.wic: ReferenceWic | None = None
        self._env: WicEnv | None = None

    async def start(self, env: WicEnv) -> None:
        try:
            faults = active_faults(env.profile, "wic")
        except ValueError as exc:
            raise SutUnavailable(str(exc)) from None
        self._env = env
        self.wic = ReferenceWic(env, faults)
        self.wic.log(f"loaded for {env.epcscf_url}; faults: {', '.join(sorted(faults)) or 'none'}")

    def _ua(self, verb: str) -> ReferenceWic:
        if self.wic is None:
            raise DriverError(f"{verb}: the reference WIC is not started")
        return self.wic

    def _verb_timeout(self) -> float:
        assert self._env is not None
        options = self._env.profile.driver_options
        return float(options.get("verb_timeout", max(2.0, self._env.profile.timers.response_timeout)))

    async def register(self) -> None:
        self._ua("register").register()

    async def call(self, target: str) -> None:
        wic = self._ua("call")
        if not wic.connected:
            raise DriverError("call: the WIC is not connected")
        if wic.call is not None and not wic.call.ended:
            raise DriverError(f"call: a call is already {wic.call.state}")
        wic.spawn(wic.place_call(target))

    async def answer(self) -> None:
        wic = self._ua("answer")
        deadline = asyncio.get_running_loop().time() + self._verb_timeout()
        while wic.call is None or wic.call.state != "ringing":
            if asyncio.get_running_loop().time() >= deadline:
                raise DriverError(f"answer: no incoming call within {self._verb_timeout():g} s")
            await asyncio.sleep(0.02)
        wic.spawn(wic.accept_call(wic.call))

    async def hangup(self) -> None:
        wic = self._ua("hangup")
        call = wic.call
        if call is None or call.ended:
            raise DriverError("hangup: no call to release")
        wic.spawn(wic.release_call(call))

    async def unregister(self) -> None:
        raise DriverError("the reference WIC does not un-register")

    async def state(self) -> WicState:
        return self._ua("state").state()

    async def stop(self) -> None:
        if self.wic is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.wic.stop(), 5.0)

    def log_text(self) -> str:
        return self.wic.log.text() if self.wic is not None else ""


__all__ = ["ReferenceWic", "ReferenceWicDriver"]
