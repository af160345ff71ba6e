"""The reference WIC's WebSocket to the eP-CSCF: connecting and reconnecting (RFC 7118
§4.1, RFC 6455 §4.1, §9.1 certificate checks), one SIP message per text frame out
(SEED 5.1.X.0), and what comes in (RFC 7118 §4.2, §5; RFC 3261 §18.3; RFC 5626 §4.4.1),
with the connection-level fault switches."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from websockets.frames import Frame, Opcode

from harness.sip import SipMessage, SipParseError, build_response, parse
from harness.ws import WsConnection, WsMessage, connect

if TYPE_CHECKING:
    from harness.suts.reference.wic.ua import ReferenceWic

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


CRLF_PONG_FOR = 2.0  # s: fault crlf_pong_first_seconds answers keep-alives this long after opening


class Connection:
    """The one WebSocket connection of a `ReferenceWic` (re-opened when it drops)."""

    def __init__(self, ua: ReferenceWic) -> None:
        self.ua = ua
        self.faults = ua.faults
        self.crlf_answered = False  # fault crlf_pong_first_only
        self.opened_at = 0.0  # loop time the current connection opened (fault crlf_pong_first_seconds)
        self.log = ua.log
        self.conn: WsConnection | None = None
        self.connections = 0
        self.closed_on_purpose = False
        self._tls = tls_context(ua.env.ca_pem, verify="accept_any_certificate" not in ua.faults)
        # fault accept_any_certificate_on_reconnect: RFC 7118 §9.1 checked on the first connection only
        lax = "accept_any_certificate_on_reconnect" in ua.faults
        self._tls_again = tls_context(ua.env.ca_pem, verify=False) if lax else self._tls

    @property
    def connected(self) -> bool:
        return self.conn is not None and self.conn.is_open

    # -- the connection (RFC 7118 §4.1, RFC 6455 §4.1) ---------------------------------------

    async def run(self) -> None:
        ua = self.ua
        env = ua.env
        retry = RETRY_MIN
        while not ua.stopping:
            timers = ua.profile.timers
            reconnect = self.connections > 0
            origin: str | None = None if "no_origin" in self.faults else ua.profile.wwsf_origin
            key = None
            if reconnect and "origin_on_reconnect" in self.faults:
                # SEED 5.1.X.1.1 broken on purpose: the page URL, not its origin (RFC 6454 §6.2)
                origin = f"{ua.profile.wwsf_origin.rstrip('/')}/"
                self.log(f"reconnecting with Origin {origin!r} (fault origin_on_reconnect)")
            if reconnect and "bad_key_on_reconnect" in self.faults:
                # RFC 6455 §4.1 item 7 broken on purpose: 16 base64 characters are 12 octets
                key = base64.b64encode(secrets.token_bytes(12)).decode()
                self.log(f"reconnecting with Sec-WebSocket-Key {key!r} (fault bad_key_on_reconnect)")
            result = await connect(
                env.epcscf_url,
                timeline=None,
                actor="reference-wic",
                ssl_context=self._tls_again if self.connections else self._tls,
                origin=origin,
                subprotocols=None if "no_sip_subprotocol" in self.faults else ("sip",),
                timeout=timers.handshake_timeout,
                key=key,
            )
            if result.conn is None:
                ua.detail = f"cannot connect: {result.error}"
                self.log(f"connection to {env.epcscf_url} failed: {result.error}; retry in {retry:g} s")
                await asyncio.sleep(retry)
                retry = min(retry * 2, RETRY_MAX)
                continue
            retry = RETRY_MIN
            conn = result.conn
            self._prepare(conn, reconnect=reconnect)
            self.conn = conn
            self.connections += 1
            self.opened_at = asyncio.get_running_loop().time()
            ua.detail = "connected"
            self.log(f"connected to {env.epcscf_url} (subprotocol {conn.subprotocol!r})")
            ua.on_connected()
            await self._read(conn)
            self.conn = None
            ua.on_connection_lost()
            code = conn.close_code
            self.log(f"connection closed (Close {code if code is not None else 'none'})")
            if ua.stopping or self.closed_on_purpose:
                ua.detail = "disconnected"
                return
            ua.detail = "connection lost, reconnecting"
            await asyncio.sleep(RECONNECT_DELAY)

    def _prepare(self, conn: WsConnection, *, reconnect: bool = False) -> None:
        """Per-connection fault switches on top of websockets' conforming behaviour."""
        proto: Any = conn.protocol
        if reconnect and "unmasked_on_reconnect" in self.faults:

            def send_unmasked(frame: Frame) -> None:
                # RFC 6455 §5.1 broken on purpose: a client MUST mask every frame.
                proto.writes.append(frame.serialize(mask=False, extensions=proto.extensions))

            self.log("reconnected: frames go unmasked from now on (fault unmasked_on_reconnect)")
            proto.send_frame = send_unmasked
        if "zero_masking_key" in self.faults:

            def send_zero_key(frame: Frame) -> None:
                # RFC 6455 §5.3 broken on purpose: the MASK bit set, but always the key 0
                # (XOR with zero leaves the payload as it is); header length per §5.2
                data = frame.serialize(mask=False, extensions=proto.extensions)
                size = 2 + {126: 2, 127: 8}.get(data[1] & 0x7F, 0)
                proto.writes.append(bytes([data[0], data[1] | 0x80]) + data[2:size] + bytes(4) + data[size:])

            proto.send_frame = send_zero_key
        if "pong_truncated_long" in self.faults:
            send = proto.send_frame

            def send_short_pong(frame: Frame) -> None:
                # RFC 6455 §5.5.3 broken on purpose: a long Ping's payload not echoed whole
                if frame.opcode is Opcode.PONG and len(frame.data) > 100:
                    frame = dataclasses.replace(frame, data=frame.data[:100])
                send(frame)

            proto.send_frame = send_short_pong
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
        self.closed_on_purpose = True
        if conn is not None:
            self.log(f"closing the WebSocket: {reason}")
            await conn.close(1.0, code=1000, reason=reason)

    # -- sending: one SIP message per text frame (SEED 5.1.X.0 bullet 1) ------------------

    async def send_raw(self, data: bytes) -> bool:
        """`data` in one text message as it is (a fault switch's mangled copy)."""
        conn = self.conn
        if conn is None or conn.closed:
            return False
        self.log(f"tx {len(data)}B raw")
        await conn.send_text(data)
        return True

    async def send(self, message: SipMessage, *, pack_with: SipMessage | None = None) -> bool:
        conn = self.conn
        if conn is None or conn.closed:
            self.log(f"not sent (no connection): {message.summary()}")
            return False
        data = message.to_bytes()
        if "latin1_subject_on_invite" in self.faults:
            # RFC 7118 §4.2 broken on purpose: the platform's 8-bit charset in a text frame
            data = data.decode("utf-8").encode("latin-1", "replace")
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
            elif "crlf_ping_echoed" in self.faults and self.conn is not None:
                self.log("CRLFCRLF keep-alive echoed as CRLFCRLF (fault crlf_ping_echoed)")
                await self.conn.send_text(b"\r\n\r\n")
            elif "crlf_pong_first_only" in self.faults and self.crlf_answered:
                self.log("CRLFCRLF keep-alive not answered: only the first is (fault crlf_pong_first_only)")
            elif "crlf_pong_first_seconds" in self.faults \
                    and asyncio.get_running_loop().time() - self.opened_at > CRLF_PONG_FOR:
                self.log(f"CRLFCRLF keep-alive not answered: only in the first {CRLF_PONG_FOR:g} s "
                         "(fault crlf_pong_first_seconds)")
            elif self.conn is not None:
                self.crlf_answered = True
                self.log("CRLFCRLF keep-alive: CRLF pong")
                await self.conn.send_text(b"\r\n")
            return
        if payload == b"\r\n":
            return
        if message.opcode == "binary" and "binary_responses_ignored" in self.faults and payload.startswith(b"SIP/"):
            self.log(f"binary response of {len(payload)}B dropped (fault binary_responses_ignored)")
            return
        await self._process(payload)

    async def _process(self, data: bytes) -> None:
        try:
            result = parse(data)
        except SipParseError as exc:
            await self._unparsable(exc, data)
            return
        await self.ua.dispatch(result.message)
        if result.excess.strip(b"\r\n"):
            if "excess_redispatched" in self.faults and result.message.is_request:
                # RFC 3261 §18.3 broken on purpose: the reader starts over after the excess and
                # hands the same request up again (its transaction repeats the response)
                self.log("request after an excess handed up again (fault excess_redispatched)")
                await self.ua.dispatch(result.message)
            elif "process_excess" in self.faults:
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
            await self.ua.dispatch(partial)
            return
        if partial.header("Via") is None or partial.header("CSeq") is None:
            self.log(f"dropped an unanswerable request: {exc}")
            return
        self.log(f"rx bad request ({exc}): 400")
        await self.send(build_response(partial, 400, f"Bad Request ({exc.reason})"))
