"""One load WIC: registers, re-registers, idles with keep-alives, calls (no Locust here).

A `LoadWic` owns one `Wire` and does one transaction at a time, as a WIC does (RFC 3261
§17.1 over a reliable transport: no retransmissions). Every message it receives is judged
(`judge.py`) and counted (`stats.py`); a response matching no transaction is counted as
an error, a request from the SUT is answered 200 (ACK: nothing). `report(name, seconds,
length, error)` is called once per transaction: Locust's request event in `locustfile.py`.
"""

from __future__ import annotations

import functools
import itertools
import os
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.load.judge import Batch, judge_handshake
from harness.load.settings import LoadSettings
from harness.load.stats import LoadStats
from harness.load.wire import HandshakeRefused, Watch, Wire, WireError
from harness.sip import (
    SipMessage,
    build_digest_authorization,
    build_request,
    build_response,
    is_keepalive,
    new_branch,
    new_tag,
    parse_challenge,
)
from harness.sip.auth import Challenge
from harness.sip.dialog import Dialog, ack_for_2xx, client_transaction_key, next_request, uac_dialog

Report = Callable[[str, float, int, Exception | None], None]
USER_AGENT = "wicct-load"
_NUMBERS = itertools.count(1)
DONE = 8  # completed transactions remembered per WIC


class Unanswered(Exception):
    """No final response within the response timeout (or the connection was lost first)."""


class Refused(Exception):
    """A final response that is not the one the scenario needs (e.g. 403 to a REGISTER)."""


@dataclass(frozen=True)
class Outcome:
    final: SipMessage
    provisional: tuple[SipMessage, ...]
    seconds: float
    length: int  # bytes of the final response's WebSocket message (Locust's response_length)


RECONNECT_BASE = 0.2  # seconds: the longest first wait after a lost or failed connection
RECONNECT_MAX = 2.0  # seconds: the longest wait however many failures came before


def reconnect_pause(failures: int, draw: float) -> float:
    """Seconds a WIC waits before it connects again after `failures` consecutive failures
    (1 or more): RFC 5626 §4.5's wait-time, min(max-time, base-time × 2^(failures - 1)),
    taken at random between 50 and 100 % of it (`draw` in [0, 1)), so that users which
    lost their connections together do not all come back at once. Load-test times, not the
    RFC's 30 s and 1,800 s: a load run lasts minutes. A user that tried again 0.2 s after
    every failure kept a struggling SUT at the rate that overwhelmed it (issue 12). The
    exponent stops at 16, long past the cap: a float power overflows past 1,023, and a user
    meets that many failures in a row against a SUT that stays down for 17 minutes."""
    doublings = min(max(0, failures - 1), 16)
    wait = min(RECONNECT_MAX, RECONNECT_BASE * 2.0**doublings)
    return wait * (0.5 + 0.5 * min(max(draw, 0.0), 1.0))


@functools.lru_cache(maxsize=64)
def _challenge(value: str) -> Challenge:
    """The parsed challenge, one object for the users a SUT challenges alike (wicct's light
    core has one nonce a run): only read, and memory per connection otherwise (issue 12)."""
    return parse_challenge(value)


def vary_offer(offer: str) -> str:
    """The offer made once by aiortc, with a fresh o= session id and version and fresh ICE
    credentials (RFC 4566 §5.2, RFC 8839 §5.4), as each new call of a WIC would have."""
    session = str(secrets.randbelow(2**62))
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
    lines = []
    for line in offer.splitlines():
        if line.startswith("o="):
            parts = line.split()
            if len(parts) >= 6:
                parts[1], parts[2] = session, "1"
                line = " ".join(parts)
        elif line.startswith("a=ice-ufrag:"):
            line = f"a=ice-ufrag:{ufrag}"
        elif line.startswith("a=ice-pwd:"):
            line = f"a=ice-pwd:{pwd}"
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


class LoadWic:
    def __init__(self, settings: LoadSettings, stats: LoadStats, context: ssl.SSLContext | None,
                 report: Report, watch: Watch | None = None) -> None:
        self.settings = settings
        self.stats = stats
        self.report = report
        number = next(_NUMBERS)
        self.user = f"load{os.getpid()}x{number}"
        self.impu = f"sip:{self.user}@{settings.domain}"
        self.host = f"{secrets.token_hex(6)}.invalid"
        self.call_id = f"{secrets.token_hex(10)}@{self.host}"
        self.from_tag = new_tag()
        self.cseq = 0
        self.challenge: Challenge | None = None
        self.nc = 0
        self.wire = Wire(settings.ws_url, context, settings.server_hostname, settings.origin,
                         settings.response_timeout, watch=watch)
        self.connected = False
        # top Via branches of the last DONE transactions completed: a response to one of
        # them is late, not unmatched (a list: a deque's block is 600 bytes a connection)
        self.done: list[str] = []
        self.branch = ""  # the top Via branch of the request built last
        self.batch = Batch()  # what was received, judged a batch at a time (`judge()`)

    # -- connection ----------------------------------------------------------------------
    def connect(self) -> None:
        started = time.monotonic()
        try:
            facts = self.wire.open()
        except HandshakeRefused as exc:
            for found in judge_handshake(exc.facts.request_headers, exc.facts.status,
                                         exc.facts.response_headers):
                self.stats.violation(found)
            self.stats.connects["failed"] += 1
            self.stats.error("handshake", exc.detail)
            self.report("connect", time.monotonic() - started, 0, exc)
            raise
        except WireError as exc:
            self.stats.connects["failed"] += 1
            self.stats.error(exc.cause, exc.detail)
            self.report("connect", time.monotonic() - started, 0, exc)
            raise
        for found in judge_handshake(facts.request_headers, facts.status, facts.response_headers):
            self.stats.violation(found)
        seconds = time.monotonic() - started
        self.stats.opened()
        self.connected = True
        self.stats.record_latency("connect", seconds)
        self.report("connect", seconds, 0, None)

    def judge(self) -> None:
        """The messages received since the last call judged by the checks and counted."""
        judged, violations = self.batch.judge()
        self.stats.judged += judged
        for found in violations:
            self.stats.violation(found)

    def close(self) -> None:
        self.judge()
        self.stats.keepalive_replies["Pong"] += self.wire.pongs
        self.wire.pongs = 0
        if self.connected:
            self.stats.closed()
            self.connected = False
        self.wire.close()

    # -- scenarios -----------------------------------------------------------------------
    def register(self, expires: int = 600) -> Outcome:
        """REGISTER (RFC 3261 §10.2), answering a Digest challenge (§22.2) or carrying the
        Bearer token (RFC 8898 §2.1); a re-registration reuses the challenge with nc + 1."""
        outcome = self.transact(self._register(expires), "REGISTER", report=False)
        if outcome.final.status in (401, 407) and self.settings.auth == "digest":
            header = "WWW-Authenticate" if outcome.final.status == 401 else "Proxy-Authenticate"
            value = outcome.final.header(header)
            if value is None:
                raise Refused(f"{outcome.final.status} without {header}")
            self.challenge, self.nc = _challenge(value), 0
            again = self.transact(self._register(expires), "REGISTER", report=False)
            outcome = Outcome(again.final, outcome.provisional + again.provisional,
                              outcome.seconds + again.seconds, again.length)
        status = outcome.final.status or 0
        error = None if 200 <= status < 300 else Refused(f"REGISTER answered {status}")
        self.report("REGISTER", outcome.seconds, outcome.length, error)
        if error is not None:
            raise error
        return outcome

    def call(self, hold: float) -> None:
        """INVITE with the varied JSEP offer, 180 and 200 awaited, ACK, hold, BYE and its 200
        (RFC 3261 §13, §15)."""
        invite = self._request("INVITE", self.settings.callee, call_id=f"{secrets.token_hex(10)}@{self.host}",
                               cseq=1, from_tag=new_tag(), contact=True,
                               body=vary_offer(self.settings.offer).encode())
        outcome = self.transact(invite, "INVITE", report=False)
        status = outcome.final.status or 0
        ringing = any(p.status == 180 for p in outcome.provisional)
        error: Exception | None = None
        if not 200 <= status < 300:
            error = Refused(f"INVITE answered {status}")
        elif not ringing:
            error = Refused("200 to the INVITE without a 180 before it")
        self.report("INVITE", outcome.seconds, outcome.length, error)
        if not 200 <= status < 300:
            if status >= 300:
                return  # the failure's ACK is hop-by-hop: the eP-CSCF's transaction sends it
            raise Refused(f"INVITE answered {status}")
        dialog = uac_dialog(invite, outcome.final)
        self.wire.send(ack_for_2xx(dialog, invite, self._via()).to_bytes())
        self.stats.requests["ACK"] += 1
        if hold > 0:
            self.idle(hold)
        self.bye(dialog)

    def bye(self, dialog: Dialog) -> None:
        _, bye = next_request(dialog, "BYE", self._via(), headers=[("User-Agent", USER_AGENT)])
        self.transact(bye, "BYE")

    def keepalive(self, ping: bool) -> None:
        """A CRLF keep-alive message (RFC 7118 §6, RFC 5626 §4.4.1) or a Ping (RFC 6455
        §5.5.2); whatever arrives meanwhile is judged."""
        if ping:
            self.wire.ping(secrets.token_bytes(4))
            self.stats.requests["Ping"] += 1
        else:
            self.wire.send(b"\r\n\r\n")
            self.stats.requests["CRLF"] += 1

    def idle(self, seconds: float) -> None:
        """Stay on the connection for `seconds`, judging and answering what arrives."""
        if seconds > 0:
            self.judge()  # before a quiet spell: nothing held unjudged while idle
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            for message in self.wire.receive(until):
                self._received(message.opcode, message.payload, None)

    # -- transactions --------------------------------------------------------------------
    def transact(self, request: SipMessage, name: str, *, report: bool = True) -> Outcome:
        """Send `request` (the request built last: its branch is `self.branch`), return its
        final response; provisionals collected. The request counts as unanswered when the time
        runs out or the connection is lost first (under a `Watch`, the time running out also
        ends the connection: the caller drops it after an unanswered request anyway)."""
        started = time.monotonic()
        until = started + self.settings.response_timeout
        self.stats.requests[name] += 1
        provisional: list[SipMessage] = []
        # RFC 3261 §17.1.3: the branch _via() made for this request (the last one built)
        key = (self.branch, request.method)
        try:
            self.wire.send(request.to_bytes())
            while True:
                messages = self.wire.receive(until, watched=True)
                if not messages:
                    raise Unanswered(f"no final response to {name} within "
                                     f"{self.settings.response_timeout:g} s")
                for message in messages:
                    response = self._received(message.opcode, message.payload, request, key)
                    if response is None:
                        continue
                    status = response.status or 0
                    seconds = time.monotonic() - started
                    if status < 200:
                        provisional.append(response)
                        if status == 180:
                            self.stats.record_latency(f"{name} 180", seconds)
                        self.stats.answered(name, status, seconds)
                        continue
                    self.stats.answered(name, status, seconds)
                    self.done.append(key[0])
                    if len(self.done) > DONE:
                        del self.done[0]
                    outcome = Outcome(response, tuple(provisional), seconds, len(message.payload))
                    if report:
                        error = None if status < 300 else Refused(f"{name} answered {status}")
                        self.report(name, seconds, len(message.payload), error)
                    return outcome
        except (Unanswered, WireError) as exc:
            self.stats.unanswered[name] += 1
            if report:
                self.report(name, time.monotonic() - started, 0, exc)
            raise

    def _received(self, opcode: str, payload: bytes, pending: SipMessage | None,
                  key: tuple[str, str] | None = None) -> SipMessage | None:
        """Judge one message; the response to `pending` (whose transaction is `key`) if it
        is one: same top Via branch and CSeq method (RFC 3261 §17.1.3), same Call-ID."""
        message = self.batch.add(opcode, payload)
        if self.batch.full():
            self.judge()
        if message is None:
            if is_keepalive(payload):
                self.stats.keepalive_replies["CRLF"] += 1
            return None
        if message.is_request:
            if message.method != "ACK":
                self.wire.send(build_response(message, 200, to_tag=new_tag()).to_bytes())
            self.stats.requests[f"from SUT {message.method}"] += 1
            return None
        own = client_transaction_key(message)
        if pending is not None and own is not None and own == key and message.call_id == pending.call_id:
            return message
        if own is not None and own[0] in self.done:
            self.stats.late[message.start_line] += 1  # e.g. a 1xx relayed after the final
            return None
        self.stats.error("unmatched-response", message.start_line)
        return None

    # -- requests --------------------------------------------------------------------------
    def _via(self) -> str:
        self.branch = new_branch()
        return f"SIP/2.0/WSS {self.host};branch={self.branch}"

    def _request(self, method: str, ruri: str, *, call_id: str, cseq: int, from_tag: str,
                 contact: bool, body: bytes = b"", extra: tuple[tuple[str, str], ...] = ()) -> SipMessage:
        target = self.impu if method == "REGISTER" else ruri
        fields = [
            ("Via", self._via()),
            ("Max-Forwards", "70"),
            ("To", f"<{target}>"),
            ("From", f"<{self.impu}>;tag={from_tag}"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        if contact:
            fields.append(("Contact", f"<sip:{self.user}@{self.host};transport=ws>"))
        fields += [*extra, ("User-Agent", USER_AGENT)]
        return build_request(method, ruri, fields, body,
                             "application/sdp" if body else None)

    def _register(self, expires: int) -> SipMessage:
        self.cseq += 1
        ruri = f"sip:{self.settings.domain}"
        extra: list[tuple[str, str]] = [("Expires", str(expires)), ("Supported", "path")]
        if self.settings.auth == "bearer":
            extra.append(("Authorization", f"Bearer {self.settings.bearer}"))
        elif self.challenge is not None:
            self.nc += 1
            qop = "auth" if "auth" in (self.challenge.param("qop") or "").split(",") else None
            extra.append(("Authorization", build_digest_authorization(
                username=f"{self.user}@{self.settings.domain}",
                realm=self.challenge.param("realm") or self.settings.domain,
                password=self.settings.password, method="REGISTER", uri=ruri,
                nonce=self.challenge.param("nonce") or "", qop=qop, nc=self.nc,
                algorithm=self.challenge.param("algorithm") or "MD5",
                opaque=self.challenge.param("opaque"))))
        return self._request("REGISTER", ruri, call_id=self.call_id, cseq=self.cseq,
                             from_tag=self.from_tag, contact=True, extra=tuple(extra))
