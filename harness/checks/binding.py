"""IMPU binding checks (EPC-REG-04): SEED 5.Y.1.3, the IMPI and IMPUs a registration
yields are bound to the WebSocket session it came over; TS 33.203 Annex Q.1, a request
over another connection must not assert them.

Pure functions over a timeline. A *claim* is a request wicct's WIC sent over a connection
that never registered, asserting the IMPU registered over another connection (in From,
P-Preferred-Identity or P-Asserted-Identity). The eP-CSCF must refuse it with a 4xx on the
claiming connection (403 preferred) and never forward it to the core asserting that IMPU;
the registration's 2xx comes back over the connection that registered.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.checks.transport import message_of
from harness.evidence import SIP, Entry
from harness.sip import NameAddr, SipMessage, SipParseError, SipUri
from harness.verdicts import Verdict

WIC = "wic"
CORE = "core"
IDENTITY_HEADERS = ("From", "P-Preferred-Identity", "P-Asserted-Identity")  # RFC 3325 §9


@dataclass(frozen=True)
class Claim:
    """A request sent over connection `conn` claiming an IMPU (the entry `seq` sent it)."""

    seq: int
    conn: str
    method: str
    call_id: str
    cseq: str


def claim_of(entry: Entry) -> Claim | None:
    """The claim a request wicct's WIC sent (a tx `SIP` entry) makes, None otherwise."""
    message = message_of(entry)
    if message is None or not message.is_request or entry.direction != "tx":
        return None
    try:
        return Claim(entry.seq, entry.conn, message.method.upper(), message.call_id, str(message.cseq))
    except SipParseError:
        return None


def same_impu(uri: str, impu: str) -> bool:
    """Two SIP URIs name the same public identity: scheme (sip and sips alike), user and
    host (case-insensitive), parameters ignored (RFC 3261 §19.1.4 compares more strictly;
    an identity is the user at the domain)."""
    try:
        a, b = SipUri.parse(uri), SipUri.parse(impu)
    except SipParseError:
        return uri.strip("<>") == impu.strip("<>")
    return (a.user, a.host.lower()) == (b.user, b.host.lower())


def asserted(message: SipMessage, impu: str) -> list[str]:
    """The identity headers of `message` that name `impu` ("From", "P-Asserted-Identity"...)."""
    found = []
    for name in IDENTITY_HEADERS:
        for value in message.header_values(name):
            try:
                uri = str(NameAddr.parse(value).uri)
            except SipParseError:
                continue
            if same_impu(uri, impu):
                found.append(name)
                break
    return found


def _is_final_to(message: SipMessage, claim: Claim) -> bool:
    try:
        return (not message.is_request and (message.status or 0) >= 200
                and message.call_id == claim.call_id and str(message.cseq) == claim.cseq)
    except SipParseError:
        return False


def final_response(entries: list[Entry], claim: Claim) -> tuple[Entry, SipMessage] | None:
    """The first final response to `claim` that came back over any of the WIC's connections."""
    for entry in entries:
        if entry.actor != WIC or entry.direction != "rx" or entry.seq <= claim.seq:
            continue
        message = message_of(entry)
        if message is not None and _is_final_to(message, claim):
            return entry, message
    return None


@rejudgeable
def refused(entries: list[Entry], claim: Claim, impu: str) -> tuple[Judgement, Judgement | None] | None:
    """EPC-REG-04 on the claiming connection: (any 4xx, shall; 403, should) judgements.

    None when no final response came (the step says why: a timeout, or a close). The
    preferred-form judgement is None when the refusal itself failed."""
    found = final_response(entries, claim)
    if found is None:
        return None
    entry, response = found
    status = response.status or 0
    cited = (claim.seq, entry.seq)
    where = f"on connection {entry.conn}" + ("" if entry.conn == claim.conn else
                                               f", not {claim.conn} where it was sent")
    what = f"the {claim.method} claiming {impu} over connection {claim.conn}"
    if 200 <= status < 300:
        return Judgement(Verdict.FAIL, f"{what} was accepted: {status} {response.reason} {where}", cited), None
    if not 400 <= status < 500:
        return Judgement(Verdict.FAIL, f"{what} was answered {status} {response.reason} {where}, "
                         "not refused with a 4xx", cited), None
    if entry.conn != claim.conn:
        return Judgement(Verdict.FAIL, f"{what} was refused with {status} {where}", cited), None
    refusal = Judgement(Verdict.PASS, f"{what} was refused with {status} {response.reason} {where}", cited)
    if status == 403:
        return refusal, Judgement(Verdict.PASS, f"{what} was refused with the preferred 403", cited)
    return refusal, Judgement(Verdict.FAIL, f"{what} was refused with {status}, not the preferred 403",
                              cited)


def _own_sends(entries: list[Entry], claim_conns: set[str]) -> list[Entry]:
    """Requests the WIC sent over the connections that are not claiming ones."""
    return [e for e in entries if e.actor == WIC and e.direction == "tx" and e.kind == SIP
            and e.conn not in claim_conns and claim_of(e) is not None]


def forwarded(entries: list[Entry], claims: list[Claim]) -> list[tuple[Entry, SipMessage, Claim]]:
    """Requests the core received that came from a claim.

    A request at the core is a claim's when it has the claim's Call-ID (a proxy keeps it,
    RFC 3261 §16.6), or, for an eP-CSCF that rewrites Call-IDs (topology hiding), when it
    has the claim's method, arrived after the claim and before the WIC sent anything over
    its other connections, and has none of their Call-IDs."""
    conns = {c.conn for c in claims}
    own = _own_sends(entries, conns)
    own_ids = {c.call_id for e in own if (c := claim_of(e)) is not None}
    found = []
    for entry in entries:
        if entry.actor != CORE or entry.direction != "rx" or entry.kind != SIP:
            continue
        message = message_of(entry)
        if message is None or not message.is_request:
            continue
        for claim in claims:
            if entry.seq <= claim.seq:
                continue
            next_own = next((e.seq for e in own if e.seq > claim.seq), None)
            alone = next_own is None or entry.seq < next_own
            if message.call_id == claim.call_id or (
                alone and message.method.upper() == claim.method and message.call_id not in own_ids
            ):
                found.append((entry, message, claim))
                break
    return found


@rejudgeable
def never_forwarded(
    entries: list[Entry], claims: list[Claim], impu: str, watched: str
) -> Judgement | None:
    """EPC-REG-04 towards the core: no claim reached the core asserting `impu`.

    `watched` says what was watched and for how long (silence is the requirement). None
    when there was no claim to judge. A claim forwarded without asserting the IMPU (the
    eP-CSCF replaced the identity) is no FAIL of this part; the reason says so."""
    if not claims:
        return None
    hits = forwarded(entries, claims)
    asserting = [(e, m, c) for e, m, c in hits if asserted(m, impu)]
    if asserting:
        entry, message, claim = asserting[0]
        headers = ", ".join(asserted(message, impu))
        return Judgement(
            Verdict.FAIL,
            f"the {claim.method} claiming {impu} over connection {claim.conn} reached the core "
            f"asserting it ({headers})" + (f"; {len(asserting)} such requests" if len(asserting) > 1 else ""),
            tuple(sorted({claim.seq, entry.seq, *(e.seq for e, _, _ in asserting[:5])})),
        )
    sent = tuple(c.seq for c in claims)
    if hits:
        return Judgement(
            Verdict.PASS,
            f"{len(hits)} request(s) from connection {claims[0].conn} reached the core, none asserting "
            f"{impu} ({watched})", tuple(sorted({*sent, *(e.seq for e, _, _ in hits[:5])})),
        )
    return Judgement(
        Verdict.PASS,
        f"none of the {len(claims)} request(s) claiming {impu} over connection {claims[0].conn} "
        f"reached the core ({watched})", sent,
    )


@rejudgeable
def registered_over(
    entries: list[Entry], register: Claim
) -> Judgement | None:
    """EPC-REG-04: the 2xx to the REGISTER sent over `register.conn` came back over that
    connection (the binding is made there), and no response to it came over another.

    None when no 2xx came at all (the registration step says so)."""
    responses = []
    for entry in entries:
        if entry.actor != WIC or entry.direction != "rx" or entry.seq <= register.seq:
            continue
        message = message_of(entry)
        if message is not None and _is_final_to(message, register):
            responses.append((entry, message))
    elsewhere = [e for e, _ in responses if e.conn != register.conn]
    if elsewhere:
        return Judgement(Verdict.FAIL, f"a response to the REGISTER sent over connection {register.conn} "
                         f"came back over connection {elsewhere[0].conn}",
                         (register.seq, *(e.seq for e in elsewhere[:5])))
    ok = [(e, m) for e, m in responses if 200 <= (m.status or 0) < 300]
    if not ok:
        return None
    entry, message = ok[0]
    return Judgement(Verdict.PASS, f"the {message.status} to the REGISTER came back over connection "
                     f"{register.conn}, where it was sent", (register.seq, entry.seq))


__all__ = [
    "IDENTITY_HEADERS",
    "Claim",
    "asserted",
    "claim_of",
    "final_response",
    "forwarded",
    "message_of",
    "never_forwarded",
    "refused",
    "registered_over",
    "same_impu",
]
