"""A light IMS core for load runs: the next hop of the eP-CSCF under test, on UDP and TCP.

The conformance core stub (`harness.actors.core`) records every message on a case's
timeline and answers each INVITE with a fresh aiortc peer: right for a case, too heavy for
thousands of registrations. This one answers as an S-CSCF with a registrar and a callee
would, and keeps counts only:
  REGISTER  Digest challenge (RFC 3261 §22.1, one nonce per run) and verification
            (§22.4, `harness.sip.verify_digest`); 200 echoing Contact and Path (§10.3,
            RFC 3327 §5.3). With web credentials the eP-CSCF authenticated the WIC (TNA):
            no challenge.
  INVITE    180, then (5 ms later) 200 with an answer made once: aiortc's answer to a JSEP offer, or a
            plain RTP/AVP answer to an offer an eIMS-AGW rewrote (`harness.sdp.plain`).
  ACK       nothing; anything else 200.
UDP and TCP listen on the same port (RFC 3261 §18); a response goes back the way its request
came. `wicct load` has the eP-CSCF reach it over TCP: over UDP the eP-CSCF retransmits each
request the core has not answered within 0.5 s (RFC 3261 §17.1.1.2, Timer A), and with
thousands of users queued behind it the core spent nearly half its time on retransmissions
(a 1,000-user bench: 197,103 REGISTERs received for about 110,000 sent by the users), so the
SUT's rate swung with its queue. Over TCP a request is sent once (§17.1.1.2: no Timer A on
a reliable transport).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections import Counter
from collections.abc import Callable
from functools import partial

from harness.sdp.plain import is_plain, plain_answer, plain_media
from harness.sip import (
    SipMessage,
    SipParseError,
    build_digest_challenge,
    build_response,
    new_tag,
    parse,
    verify_digest,
)
from harness.sipstream import read_sip_stream

Reply = Callable[[bytes], object]  # sends a response back the way its request came

RING_S = 0.005  # between the 180 and the 200
RCVBUF = 16 * 1024 * 1024  # bytes asked for the UDP receive buffer
PLAIN_PORT = 9  # RFC 3264 §6: a real port is not needed, no media flows in a load run


class LoadCore(asyncio.DatagramProtocol):
    def __init__(self, *, host: str, realm: str, password: str, challenge: bool, answer: str) -> None:
        self.host = host
        self.realm = realm
        self.password = password
        self.challenge = challenge
        self.answer = answer  # the JSEP answer made once
        self.nonce = secrets.token_hex(16)
        self.port = 0
        self.counts: Counter[str] = Counter()
        self._transport: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tags: dict[str, str] = {}

    async def start(self) -> None:
        """UDP on a free port, then TCP on the same port number (tried again on another when
        that TCP port is taken)."""
        for _ in range(20):
            await self._start_udp()
            try:
                self._tcp = await asyncio.start_server(self._stream, self.host, self.port)
                return
            except OSError:
                self.stop()
        raise OSError(f"no port on {self.host} free for both UDP and TCP")

    async def _start_udp(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.host, 0))
        # thousands of WICs' requests come in bursts: with the default buffer (about a
        # hundred datagrams) the kernel drops them and the eP-CSCF's retransmissions (RFC
        # 3261 §17.1.2.2, 0.5 s and on) are what the load measures; the kernel caps this
        # at net.core.rmem_max
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received(data, partial(self._sendto, addr), "udp")

    def received(self, data: bytes, reply: Reply, transport: str) -> None:
        """One request (or response, or keep-alive) from the eP-CSCF over `transport` (udp,
        tcp), answered by `reply`."""
        if not data.strip(b"\r\n"):
            return  # RFC 5626 keep-alive
        try:
            message = parse(data).message
        except SipParseError:
            self.counts["unparsable"] += 1
            return
        if not message.is_request:
            self.counts["responses"] += 1
            return
        method = message.method.upper()
        self.counts[method] += 1
        if method == "ACK":
            return
        if method == "REGISTER":
            self._register(message, reply)
        elif method == "INVITE":
            self._invite(message, reply, transport)
        else:
            reply(build_response(message, 200, to_tag=new_tag()).to_bytes())

    def _register(self, message: SipMessage, reply: Reply) -> None:
        if self.challenge:
            credentials = [v for v in message.header_values("Authorization")
                           if v.lower().startswith("digest")]
            if not any(verify_digest(c, password=self.password, method="REGISTER",
                                     realm=self.realm, nonce=self.nonce) for c in credentials):
                self.counts["REGISTER challenged"] += 1
                challenge = build_digest_challenge(self.realm, self.nonce)
                reply(build_response(message, 401, to_tag=new_tag(),
                                     headers=[("WWW-Authenticate", challenge)]).to_bytes())
                return
        elif any('integrity-protected="auth-done"' in v for v in message.header_values("Authorization")):
            self.counts["REGISTER TNA"] += 1  # asserted by the eP-CSCF (TS 33.203 Annex U)
        echoed = [("Contact", f"{c};expires={message.header('Expires') or 600}")
                  for c in message.header_values("Contact")]
        echoed += [("Path", p) for p in message.header_values("Path")]
        reply(build_response(message, 200, to_tag=new_tag(), headers=echoed).to_bytes())

    def _invite(self, message: SipMessage, reply: Reply, transport: str) -> None:
        tag = self._tags.setdefault(message.call_id, new_tag())
        # the dialog's later requests (ACK, BYE) come the way the INVITE came
        contact = [("Contact", f"<sip:callee@{self.host}:{self.port};transport={transport}>")]
        reply(build_response(message, 180, to_tag=tag, headers=contact).to_bytes())
        offer = message.body.decode("utf-8", "replace")
        if is_plain(offer):
            answer = plain_answer(offer, self.host, [PLAIN_PORT] * len(plain_media(offer)),
                                  secrets.randbelow(2**31))
        else:
            answer = self.answer
        ok = build_response(message, 200, to_tag=tag, headers=contact, body=answer.encode(),
                            content_type="application/sdp")
        self._tags.pop(message.call_id, None)
        # the callee answers a moment after it rang: sent back to back over UDP, a proxy
        # with several workers may relay the 200 before the 180 (seen with Kamailio)
        asyncio.get_running_loop().call_later(RING_S, reply, ok.to_bytes())

    def _sendto(self, addr: tuple[str, int], data: bytes) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One TCP connection from the eP-CSCF: messages framed by Content-Length (RFC 3261
        §18.3, `read_sip_stream`), each answered on this connection (§18.2.2)."""

        def reply(data: bytes) -> None:
            if not writer.is_closing():
                writer.write(data)

        def unframeable(why: str) -> None:
            self.counts[f"unframeable stream: {why}"] += 1  # in the report's `core` counts

        try:
            while (data := await read_sip_stream(reader, unframeable)) is not None:
                if data:
                    self.received(data, reply, "tcp")
        except OSError:
            pass  # the eP-CSCF's connection reset: it connects again
        finally:
            writer.close()
