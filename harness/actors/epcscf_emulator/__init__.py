"""wicct's eP-CSCF emulator: the WSS server a WIC under test connects to (RFC 7118 §5),
with the registrar and the IMS core behind it (SEED 5.Y, seen from the WIC's side).

- **Lenient handshake.** Every upgrade request is recorded and accepted, with or without
  `sip` in Sec-WebSocket-Protocol and with any Origin (or none): one broken detail must not
  hide the rest of the WIC's behaviour. Checks judge the recorded GET (WIC-HS-01/02).
- **Switchable certificate.** The run's CA (which the WIC is told to trust), an unrelated
  CA ("untrusted") or the run's CA for another name ("wrong-name"): the WIC-HS-03 stimuli.
- **One SipChannel per accepted connection**, named "main", then "c2", "c3"... A WIC
  reconnects on its own; `reopen(name)` waits for that and binds the new one to `name`.
- **Registrar + IMS core.** REGISTER → 200 (top Via `received`, Contact echoed with
  `expires`, Service-Route, `Require: outbound` for an RFC 5626 registration); a Digest
  challenge when the profile declares `digest` (MD5 or SHA-256, qop=auth, optionally a
  stale-nonce round: WIC-REG-01), or the provisioned Bearer token required when it claims
  `web-credentials` (WIC-REG-02); each request's credentials are judged on receipt and
  recorded as facts (`credentials`), never the response or the token; INVITE → 180,
  then 200 with a real aiortc answer; ACK absorbed; BYE, CANCEL, OPTIONS, MESSAGE → 200. `Policy` per method
  overrides this: withhold the response (BOTH-TP-04), answer another status, strip
  `received`/`rport` from the top Via (WIC-TP-03), or declare a larger Content-Length
  (BOTH-FR-07 response variant).
- **Requests to the WIC** (`build_request`): R-URI = the registered Contact, `Via:
  SIP/2.0/WSS <our host:port>`, From the profile's callee, To the IMPU; `invite()` adds a
  real aiortc offer (as aiortc makes it, audio and video, or IMS-style: `offers.py`) and
  ACKs the 2xx itself, as a UAC core does (RFC 3261 §13.2.2.4); `cancel()` cancels it
  before the answer (§9.1), `hold()` re-offers it `sendonly` (RFC 3264 §8.4).

The emulator writes its evidence as actor "epcscf" (direction seen from wicct).

Modules: `model` (constants, Policy, Registration, Dialog), `emulator` (listener,
certificate, channels, requests to the WIC), `answers` (answering the WIC's requests),
`credentials` (Digest challenges and verification, the Bearer token, the facts recorded),
`offers` (the SDP offers made from aiortc's: IMS-style, hold).
"""

from __future__ import annotations

from harness.actors.epcscf_emulator.emulator import EpcscfEmulator
from harness.actors.epcscf_emulator.model import (
    ACTOR,
    AGENT,
    ALLOW,
    CERTIFICATES,
    DEFAULT_EXPIRES,
    POLICY_MODES,
    WRONG_NAME,
    Dialog,
    Policy,
    Registration,
)

__all__ = [
    "ACTOR",
    "AGENT",
    "ALLOW",
    "CERTIFICATES",
    "DEFAULT_EXPIRES",
    "POLICY_MODES",
    "WRONG_NAME",
    "Dialog",
    "EpcscfEmulator",
    "Policy",
    "Registration",
]
