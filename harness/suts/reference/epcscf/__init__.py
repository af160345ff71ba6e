"""The reference eP-CSCF: an in-process SIP-over-WebSocket edge proxy that conforms.

It is the built-in SUT of wicct's self-test (docs/architecture.md "Self-test"): it conforms to every
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
that requests from the core carrying those URIs go back over that connection. On a
REGISTER with digest credentials it sets `integrity-protected` per the registration's
stage on that connection (TS 24.229 5.2.2.4; `integrity`).

IMPU binding (SEED 5.Y.1.3): the IMPUs of a 2xx to a REGISTER are bound to the WebSocket
it came over; a request over another WebSocket asserting them is refused with 403.

With web credentials (the profile claims `web-credentials`, `reference-epcscf-tna`), a
REGISTER is admitted by its bearer token and forwarded with the TNA header instead of the
client's Authorization (`tna`; SEED 5.Y.1.3, TS 33.203 Annex U).

Modules: `editing` (header list editing), `state` (Flow, Txn), `integrity` (the digest
registration's stage per flow), `websocket` (handshake, connection faults, sending),
`core_link` (towards the core), `transactions` (client transactions and their timers),
`binding` (registered IMPUs per flow), `tna` (bearer tokens, Trusted Node
Authentication), `proxy` (the routing), `driver`.
"""

from __future__ import annotations

from harness.suts.reference.epcscf.driver import ReferenceEpcscfDriver
from harness.suts.reference.epcscf.editing import framed, insert_top, replace_top_value, set_values
from harness.suts.reference.epcscf.proxy import DIALOG_CREATING, Proxy
from harness.suts.reference.epcscf.state import HOST, Flow, Txn

__all__ = [
    "DIALOG_CREATING",
    "HOST",
    "Flow",
    "Proxy",
    "ReferenceEpcscfDriver",
    "Txn",
    "framed",
    "insert_top",
    "replace_top_value",
    "set_values",
]
