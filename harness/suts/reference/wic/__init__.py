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

Modules: `identity` (names on the wire), `connection` (the WebSocket), `transactions`
(RFC 3261 §17), `registration`, `calls`, `ua` (ties them together), `driver`.
"""

from __future__ import annotations

from harness.suts.reference.wic.calls import Call
from harness.suts.reference.wic.connection import tls_context
from harness.suts.reference.wic.driver import ReferenceWicDriver
from harness.suts.reference.wic.identity import AGENT, ALLOW
from harness.suts.reference.wic.registration import EXPIRES
from harness.suts.reference.wic.ua import ReferenceWic

__all__ = ["AGENT", "ALLOW", "EXPIRES", "Call", "ReferenceWic", "ReferenceWicDriver", "tls_context"]
