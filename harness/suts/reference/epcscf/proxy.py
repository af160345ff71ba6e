"""The eP-CSCF proper: a transaction-stateful proxy between WebSocket flows from WICs
(RFC 7118) and the IMS core (RFC 3261 §16), with Path (RFC 3327) and Record-Route."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from collections.abc import Awaitable
from typing import Any

from websockets.http11 import Request, Response

from harness.profiles import Profile
from harness.sip import NameAddr, SipMessage, SipParseError, build_response, new_branch, parse
from harness.suts.base import EpcscfEndpoint, EpcscfEnv
from harness.suts.reference import SutLog
from harness.suts.reference.epcscf.binding import ImpuBindings
from harness.suts.reference.epcscf.core_link import CoreLink
from harness.suts.reference.epcscf.editing import framed, insert_top, replace_top_value, set_values
from harness.suts.reference.epcscf.integrity import Integrity
from harness.suts.reference.epcscf.media_edge import towards_core
from harness.suts.reference.epcscf.state import HOST, Flow, Txn
from harness.suts.reference.epcscf.tna import Tna
from harness.suts.reference.epcscf.transactions import Transactions
from harness.suts.reference.epcscf.websocket import (
    HandshakeMemory,
    apply_connection_faults,
    handshake_policy,
    send_ws,
)
from harness.ws import WsConnection, WsMessage, WsServer

DIALOG_CREATING = ("INVITE", "SUBSCRIBE", "REFER")
OWN_T1 = 0.5  # fault retransmit_own_t1: the RFC 3261 §17.1.1.1 default, hard-coded


LATE_CLOSE = 5.0  # fault close_5s_after_release: seconds after a call is released
LARGE = 4096  # fault large_body_cut: octets of a WebSocket message the SUT keeps


class Proxy:
    """The eP-CSCF proper; see the package docstring."""

    def __init__(self, env: EpcscfEnv, faults: frozenset[str], log: SutLog) -> None:
        self.env = env
        self.profile: Profile = env.profile
        self.faults = faults
        self.log = log
        self.t1 = env.profile.timers.t1
        self.flows: dict[str, Flow] = {}
        self.bindings: dict[str, str] = {}  # registered Contact URI → flow token
        self.impus = ImpuBindings()  # registered IMPUs per flow (SEED 5.Y.1.3)
        self.transactions = Transactions(self)
        self.core = CoreLink(self, env.core_host, env.core_port, env.core_transport)
        self.server: WsServer | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.handshakes = HandshakeMemory()
        self.integrity = Integrity(env.profile.auth.integrity_protected, faults, log)
        # SEED 5.Y.1.3: with web credentials, REGISTER is admitted by bearer token and TNA
        self.tna = Tna(env.issuer, env.profile, faults, log) if env.issuer is not None else None
        self.edge_media = "edge-media" in env.profile.features  # TS 23.228 U.1 (media_edge.py)
        self.terminating = 0  # dialog-creating requests from the core (fault record_route_ws_first_only)

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
        self.transactions.cancel_timers()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=1.0)
        if self.server is not None:
            await self.server.stop()
        await self.core.close()
        self.log("stopped")

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._guard(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guard(self, coro: Awaitable[Any]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the SUT logs its own bugs, never crashes
            self.log(f"internal error: {exc!r}")

    # -- handshake (RFC 6455 §4.2.2, §10.2; SEED 5.Y.1.1) -----------------------------------------

    def handshake_policy(self, request: Request) -> Response | None:
        return handshake_policy(
            request, faults=self.faults, trusted=self.profile.trusted_origins, log=self.log,
            memory=self.handshakes,
        )

    # -- one WebSocket connection ---------------------------------------------------------------

    async def serve(self, conn: WsConnection) -> None:
        stream = getattr(conn, "_stream", None)
        peer = stream.get_extra_info("peername") if stream is not None else None
        host, port = (peer[0], peer[1]) if isinstance(peer, tuple) else (HOST, 0)
        flow = Flow(secrets.token_hex(5), conn, host, port)
        apply_connection_faults(flow, self.faults, self.log)
        self.flows[flow.token] = flow
        self.log(f"flow {flow.token}: WebSocket from {host}:{port} ({conn.subprotocol or 'no subprotocol'})")
        try:
            while not conn.closed:
                message = await conn.recv(0.25)
                if message is not None:
                    await self._guard(self.from_wic(flow, message))
        finally:
            self.impus.forget(flow.token)
            if self.tna is not None:
                self.tna.wwsf.pop(flow.token, None)
            self.log(f"flow {flow.token}: closed (close code {conn.close_code}, error {conn.error})")

    async def send_ws(self, flow: Flow, data: bytes) -> None:
        await send_ws(flow, data, self.log)

    async def from_wic(self, flow: Flow, message: WsMessage) -> None:
        """One WebSocket message from the WIC (RFC 7118 §4.2, §5)."""
        payload = message.payload
        if message.opcode == "binary" and "binary_ignored" in self.faults:
            self.log(f"flow {flow.token}: binary message of {len(payload)}B ignored (fault)")
            return
        if payload == b"\r\n\r\n":  # RFC 5626 §4.4.1 ping
            if "no_crlf_pong" in self.faults:
                self.log(f"flow {flow.token}: CRLFCRLF not answered (fault)")
            elif "crlf_ping_echoed" in self.faults:
                self.log(f"flow {flow.token}: CRLFCRLF echoed as CRLFCRLF (fault)")
                await flow.conn.send_text(b"\r\n\r\n")
            else:
                await flow.conn.send_text(b"\r\n")
            return
        if payload == b"\r\n":
            return
        if message.opcode == "binary" and "binary_responses_ignored" in self.faults and payload.startswith(b"SIP/"):
            self.log(f"flow {flow.token}: binary response of {len(payload)}B ignored (fault)")
            return
        try:
            result = parse(payload)
        except SipParseError as exc:
            await self._unparsable_from_wic(flow, exc)
            return
        messages = [result.message]
        if len(payload) > LARGE and "large_body_cut" in self.faults and result.message.body:
            # a 4 KiB receive buffer, on purpose: the body cut to fit, Content-Length made to match
            kept = max(0, len(result.message.body) - (len(payload) - LARGE))
            self.log(f"flow {flow.token}: {len(payload)}B message, body cut to {kept}B (fault)")
            messages = [result.message.with_body(result.message.body[:kept])]
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
        if method == "REGISTER" and "no_pong_after_register" in self.faults and flow.conn.auto_pong:
            self.log(f"flow {flow.token}: Pings no longer answered once SIP registers (fault)")
            flow.conn.auto_pong = False  # RFC 6455 §5.5.2 broken on purpose, after a REGISTER only
        token = via.protocol.rsplit("/", 1)[-1]
        lowercase_refused = "reject_lowercase_via" in self.faults or (
            "reject_lowercase_via_after_register" in self.faults and method != "REGISTER") or (
            "reject_lowercase_via_on_message" in self.faults and method == "MESSAGE") or (
            "reject_lowercase_via_after_reconnect" in self.faults and flow is not next(iter(self.flows.values())))
        if lowercase_refused and token != token.upper():
            await self.send_ws(flow, build_response(msg, 400, "Bad Via transport").to_bytes())
            return
        compact = any(len(name) == 1 for name, _ in msg.headers)
        if compact and "long_form_headers_only" in self.faults:  # RFC 3261 §7.3.3 broken on purpose
            self.log(f"flow {flow.token}: compact header form refused (fault)")
            await self.send_ws(flow, build_response(msg, 400, "Bad header").to_bytes())
            return
        if compact and "rewrite_sent_by_compact_via" in self.faults and msg.headers[0][0] == "v":
            flow.compact_via.add(msg.call_id)
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
        if not ("max_forwards_kept_on_invite" in self.faults and method == "INVITE"):  # §16.6 step 3
            msg = msg.replace_header("Max-Forwards", str((forwards if forwards is not None else 71) - 1))
        if method != "REGISTER" and await self._foreign_claim(flow, msg):
            return
        if method == "INVITE":
            await self.send_ws(flow, build_response(msg, 100).to_bytes())
        if method == "REGISTER" and self.tna is not None:
            admission = await self.tna.admit(msg)
            if admission.forward is None:
                if admission.response is not None:
                    await self.send_ws(flow, admission.response.to_bytes())
                return
            self.tna.registered(flow.token, admission)
            msg = admission.forward
        elif self.tna is not None:
            msg = self.tna.organization(flow.token, msg)  # SEED 5.Y.2 (EPC-SES-03)
        upstream = msg
        msg, _ = self.pop_own_routes(msg)
        if method == "REGISTER":
            # digest with TLS marks the stage (integrity.py); a TNA REGISTER already carries
            # integrity-protected="auth-done" from tna.py, which must stand
            register = msg if self.tna is not None else self.integrity.forward(flow.token, msg)
            msg = self._add_path(flow, register)
        elif method in DIALOG_CREATING and msg.to.tag is None:
            msg = insert_top(msg, "Record-Route", self.uri(flow, "ws"))
            msg = insert_top(msg, "Record-Route", self.uri(flow, self.core.transport))
            if "replace_contact" in self.faults and msg.contacts:
                # TS 24.229 5.2.7.2 broken on purpose: a proxy does not replace the UA's
                # Contact (RFC 3261 §16.6); the eP-CSCF's own URI for the flow stands in
                own = self.uri(flow, self.core.transport).replace(";lr", "")
                msg = msg.replace_header("Contact", own)
        await self._to_core(flow, method, upstream, msg)
        if method == "BYE" and "close_before_bye_answer" in self.faults:
            # SEED 5.Y.4 broken on purpose: the flow is torn down with the call, before
            # the core's 200 to the BYE could be relayed back.
            self.log(f"flow {flow.token}: BYE relayed; closing the WebSocket before its 200 (fault)")
            self.spawn(flow.conn.close(1.0, code=1000, reason="call released"))

    async def _foreign_claim(self, flow: Flow, msg: SipMessage) -> bool:
        """SEED 5.Y.1.3: a request asserting an IMPU registered over another flow is
        refused with 403 (an ACK dropped); True when it was."""
        impu = self.impus.foreign_claim(flow.token, msg)
        if impu is None:
            return False
        if "no_impu_binding" in self.faults:
            self.log(f"flow {flow.token}: {msg.method} asserts {impu}, registered over another flow: "
                     "relayed (fault)")
            return False
        self.log(f"flow {flow.token}: {msg.method} asserts {impu}, registered over another flow: refused")
        if msg.method.upper() != "ACK":
            await self.send_ws(flow, build_response(msg, 403, "Forbidden (identity not registered "
                                                    "over this connection)").to_bytes())
        return True

    def _add_path(self, flow: Flow, msg: SipMessage) -> SipMessage:
        """RFC 3327 Path naming this flow; `ob` for an RFC 5626 registration (§5.1)."""
        outbound = any(c.has_param("reg-id") and c.has_param("+sip.instance") for c in msg.contacts)
        for contact in msg.contacts:
            self.bindings[str(contact.uri)] = flow.token
        path = self.uri(flow, self.core.transport, ob=outbound)
        if "no_path_on_register" in self.faults:
            return msg
        if "path_on_first_register_only" in self.faults:
            flow.registers += 1
            if flow.registers > 1:
                self.log(f"flow {flow.token}: re-REGISTER forwarded without Path (fault)")
                return msg
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

    def _invite_branch(self, cancel: SipMessage) -> str | None:
        """The branch this proxy forwarded the INVITE a CANCEL cancels with (RFC 3261
        §16.10: the CANCEL goes to the same next hop in the same branch)."""
        via = cancel.top_via
        for txn in self.transactions.txns.values():
            sent = txn.request.top_via
            if txn.method == "INVITE" and not txn.towards_wic and sent is not None and via is not None \
                    and sent.branch == via.branch and txn.request.call_id == cancel.call_id:
                return txn.branch
        return None

    async def _to_core(self, flow: Flow, method: str, upstream: SipMessage, msg: SipMessage) -> None:
        branch = (self._invite_branch(upstream) if method == "CANCEL" else None) or new_branch()
        if method == "CANCEL" and "cancel_new_branch" in self.faults:
            self.log(f"flow {flow.token}: CANCEL forwarded in a new branch (fault)")
            branch = new_branch()
        transport = self.core.transport.upper()
        if method == "CANCEL" and "cancel_route_added" in self.faults:
            # RFC 3261 §9.1 broken on purpose: the CANCEL is routed on its own, not as the INVITE
            self.log(f"flow {flow.token}: CANCEL forwarded with a Route the INVITE did not carry (fault)")
            msg = insert_top(msg, "Route", f"<sip:{self.env.core_host}:{self.env.core_port};lr>")
        msg = towards_core(msg, edge_media=self.edge_media, faults=self.faults)
        msg = framed(insert_top(msg, "Via", f"SIP/2.0/{transport} {HOST}:{self.core.local_port};branch={branch}"))
        data = msg.to_bytes()
        if method != "ACK":

            async def answer(response: SipMessage) -> None:
                await self.send_ws(flow, response.to_bytes())

            async def resend() -> None:
                self.core.send(data)

            txn = Txn(branch, method, upstream, answer, resend if self.core.transport == "udp" else None,
                      flow, towards_wic=False)
            self.transactions.start(txn, msg)
        self.log(f"flow {flow.token}: → core {msg.summary()}")
        self.core.send(data)

    async def response_from_wic(self, flow: Flow, msg: SipMessage) -> None:
        txn = self.transactions.match(msg)
        if txn is None or txn.flow is not flow:
            self.log(f"flow {flow.token}: stray response dropped: {msg.summary()}")
            return
        self.transactions.progress(txn, msg)
        if msg.status == 100:
            return
        if not txn.towards_wic:
            await txn.upstream(framed(replace_top_value(msg, "Via", None)))
            return
        msg = towards_core(msg, edge_media=self.edge_media, faults=self.faults)
        await txn.upstream(framed(replace_top_value(msg, "Via", None)))
        if "close_after_second_release" in self.faults and txn.method == "BYE" and 200 <= (msg.status or 0) < 300:
            self._count_release(flow)

    def _count_release(self, flow: Flow) -> None:
        """Fault close_after_second_release: SEED 5.Y.4 broken on purpose, the 2nd time only."""
        flow.released += 1
        if flow.released == 2:
            self.log(f"flow {flow.token}: closing the WebSocket after a second release (fault)")
            self.spawn(flow.conn.close(1.0, code=1000, reason="call released"))

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
        flow = self._newest_other(self.flows.get(token or ""), in_dialog=msg.to.tag is not None)
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
            self.terminating += 1
            if "record_route_without_ws" in self.faults or (
                    "record_route_ws_first_only" in self.faults and self.terminating > 1):  # RFC 7118 App. B broken
                msg = insert_top(msg, "Record-Route", self.uri(flow, "ws").replace(";transport=ws", ""))
            else:
                msg = insert_top(msg, "Record-Route", self.uri(flow, "ws"))
        branch = new_branch()
        if "no_via_mid_dialog_to_wic" in self.faults and msg.to.tag is not None:
            # RFC 3261 §16.6 step 8 broken on purpose: a mid-dialog request relayed without our Via
            self.log(f"flow {flow.token}: {method} relayed to the WIC without a Via of our own (fault)")
            msg = framed(msg)
        else:
            msg = framed(insert_top(msg, "Via", f"SIP/2.0/WSS {HOST}:{self.server.port if self.server else 0};"
                                    f"branch={branch}"))
        data = msg.to_bytes()
        if method != "ACK":

            async def answer(response: SipMessage) -> None:
                self.core.send(response.to_bytes(), source)

            async def resend() -> None:
                self.log(f"flow {flow.token}: retransmitting {method} over the WebSocket (fault)")
                await self.send_ws(flow, data)

            faulty = {"retransmit_over_ws", "retransmit_own_t1"} & self.faults
            bye_only = "retransmit_bye_to_wic" in self.faults and method == "BYE"
            retransmit = resend if faulty or bye_only else None
            # retransmit_own_t1: Timer A/E run on a hard-coded 500 ms, not the configured T1
            own_t1 = OWN_T1 if "retransmit_own_t1" in self.faults else None
            self.transactions.start(Txn(branch, method, upstream, answer, retransmit, flow, towards_wic=True,
                                        retransmit_t1=own_t1), msg)
        self.log(f"flow {flow.token}: → WIC {msg.summary()}")
        await self.send_ws(flow, data)

    def _newest_other(self, flow: Flow | None, *, in_dialog: bool = False) -> Flow | None:
        """Fault terminating_new_connection: the WIC's newest other open WebSocket instead of
        the one its REGISTER came over (RFC 7118 App. B, RFC 5626 §5.3 broken on purpose);
        fault in_dialog_new_connection: so for mid-dialog requests (BYE, re-INVITE) only."""
        moved = "terminating_new_connection" in self.faults or (
            "in_dialog_new_connection" in self.faults and in_dialog)
        if flow is None or not moved:
            return flow
        others = [f for f in self.flows.values() if f is not flow and f.open and f.peer_host == flow.peer_host]
        if not others:
            return flow
        self.log(f"flow {others[-1].token}: terminating request sent over the newest WebSocket, "
                 f"not flow {flow.token} (fault)")
        return others[-1]

    async def response_from_core(self, msg: SipMessage) -> None:
        txn = self.transactions.match(msg)
        if txn is None or txn.towards_wic or txn.flow is None:
            self.log(f"core: stray response dropped: {msg.summary()}")
            return
        self.transactions.progress(txn, msg)
        status = msg.status or 0
        if status == 100:
            return
        if txn.method == "REGISTER" and status >= 200:
            self.integrity.answered(txn.flow.token, status)
        msg = replace_top_value(msg, "Via", None)
        if txn.method == "REGISTER" and 200 <= status < 300:
            self.impus.registered(txn.flow.token, txn.request, msg)
        if "rewrite_sent_by" in self.faults or (
            "rewrite_sent_by_after_register" in self.faults and txn.method != "REGISTER"
        ) or ("rewrite_sent_by_on_invite" in self.faults and txn.method == "INVITE") or (
            "rewrite_sent_by_on_message" in self.faults and txn.method == "MESSAGE"
        ) or ("rewrite_sent_by_on_cancel" in self.faults and (txn.method == "CANCEL" or status == 487)) or (
            msg.call_id in txn.flow.compact_via
        ):
            wic_via = msg.top_via
            if wic_via is not None:
                rewritten = dataclasses.replace(wic_via, host=txn.flow.peer_host, port=txn.flow.peer_port)
                msg = replace_top_value(msg, "Via", str(rewritten))
        await txn.upstream(framed(msg))
        if "close_after_cancel" in self.faults and txn.method == "CANCEL" and 200 <= status < 300:
            self.log(f"flow {txn.flow.token}: closing the WebSocket after a CANCEL (fault)")
            self.spawn(txn.flow.conn.close(1.0, code=1000, reason="call cancelled"))
        if "close_after_failed_call" in self.faults and txn.method == "INVITE" and status >= 300:
            self.log(f"flow {txn.flow.token}: closing the WebSocket after a failed call (fault)")
            self.spawn(txn.flow.conn.close(1.0, code=1000, reason="call failed"))
        if "resend_third_final" in self.faults and status >= 200 and not (txn.method == "INVITE" and status < 300):
            # RFC 3261 §17.2.2 broken on purpose: the 3rd final response of a method on a flow relayed twice
            txn.flow.finals[txn.method] = txn.flow.finals.get(txn.method, 0) + 1
            if txn.flow.finals[txn.method] == 3:
                self.log(f"flow {txn.flow.token}: the third final response to {txn.method} relayed twice (fault)")
                await txn.upstream(framed(msg))
        if "resend_bye_200" in self.faults and txn.method == "BYE" and 200 <= status < 300:
            # RFC 3261 §17.2.2 broken on purpose: the 200 relayed twice to one BYE
            await txn.upstream(framed(msg))
        if "close_after_bye" in self.faults and txn.method == "BYE" and 200 <= status < 300:
            self.log(f"flow {txn.flow.token}: closing the WebSocket after BYE (fault)")
            self.spawn(txn.flow.conn.close(1.0, code=1000, reason="call released"))
        if "close_after_second_release" in self.faults and txn.method == "BYE" and 200 <= status < 300:
            self._count_release(txn.flow)
        if "close_5s_after_release" in self.faults and txn.method == "BYE" and 200 <= status < 300:
            self.log(f"flow {txn.flow.token}: closing the WebSocket 5 s after BYE (fault)")
            self.spawn(self._close_later(txn.flow.conn, LATE_CLOSE))

    async def _close_later(self, conn: Any, seconds: float) -> None:
        """An idle-call timer: the connection is closed some seconds after a release."""
        await asyncio.sleep(seconds)
        await conn.close(1.0, code=1000, reason="idle after call")


__all__ = ["DIALOG_CREATING", "Proxy"]
