"""Transport identifier checks: SEED 5.1.X.0 bullet 2, RFC 7118 §5.1, §5.2.

Pure functions over the SIP requests wicct's peer received from the SUT.
"""

from __future__ import annotations

from harness.checks.framing import Judgement, cited
from harness.checks.registry import rejudgeable
from harness.checks.relay import raw_bytes
from harness.checks.relay import raw_of as raw_of  # re-exported: the one raw reader
from harness.evidence import SIP, SIP_ERROR, Entry, sip
from harness.sip import SipMessage, SipParseError, parse
from harness.verdicts import Verdict


def received_requests(entries: list[Entry], actor: str) -> list[tuple[Entry, SipMessage]]:
    """The SIP requests `actor` received (RFC 3261 §7.1), with their entries; what does not
    parse is left to the framing checks."""
    return [(e, m) for e, m in received_messages(entries, actor) if m.is_request]


def received_messages(entries: list[Entry], actor: str) -> list[tuple[Entry, SipMessage]]:
    """Every SIP message (requests and responses) `actor` received, with its entry."""
    return sip_messages(entries, actor, "rx")


def message_of(entry: Entry) -> SipMessage | None:
    """The SIP message a `SIP` entry holds (bytes, or text from an untyped writer), None
    for another kind or when it does not parse (the framing checks judge those). The one
    reader of recorded SIP for every check."""
    if entry.kind != SIP:
        return None
    try:
        return parse(raw_bytes(sip.of(entry)["raw"])).message
    except SipParseError:
        return None


def reading_of(entry: Entry) -> SipMessage | None:
    """What a `SIP` entry holds, or for a `SIP_ERROR` entry (bytes that do not parse) the
    message as far as it parsed (`SipParseError.partial`), so a check can still tell which
    transaction a mangled copy belongs to; None otherwise."""
    if entry.kind == SIP:
        return message_of(entry)
    if entry.kind != SIP_ERROR:
        return None
    try:
        return parse(raw_of(entry)).message
    except SipParseError as exc:
        return exc.partial


def sip_messages(
    entries: list[Entry], actor: str, direction: str | None = None
) -> list[tuple[Entry, SipMessage]]:
    """Every SIP message `actor` received ("rx"), sent ("tx") or both (None), in timeline
    order, parsed, with its entry."""
    out = []
    for entry in entries:
        if entry.actor != actor or (direction is not None and entry.direction != direction):
            continue
        message = message_of(entry)
        if message is not None:
            out.append((entry, message))
    return out


def _carries_dialog_contact(message: SipMessage) -> bool:
    """REGISTER and INVITE requests, and the SUT's 1xx (but 100) and 2xx answers to an
    INVITE, whose Contact is its own URI (RFC 3261 §12.1.1, §10.2.1)."""
    try:
        if message.is_request:
            return message.method in ("REGISTER", "INVITE")
        cseq = message.cseq
        return cseq.method == "INVITE" and 100 < (message.status or 0) < 300
    except SipParseError:
        return False


@rejudgeable
def via_transport_wss(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-TP-01: the top Via of every request names the WSS transport.

    Tokens are case-insensitive (RFC 3261 §7.3.1): `wss` passes, with a note."""
    requests = received_requests(entries, actor)
    if not requests:
        return None
    wrong, lower = [], []
    for entry, message in requests:
        via = message.top_via
        if via is None or via.transport != "WSS":
            wrong.append((entry, via.protocol if via else "(no Via)"))
        elif not via.protocol.endswith("WSS"):
            lower.append(entry)
    if wrong:
        entry, protocol = wrong[0]
        return Judgement(Verdict.FAIL, f"top Via transport is {protocol!r}, not SIP/2.0/WSS "
                         f"({len(wrong)} request(s))", tuple(e.seq for e, _ in wrong[:5]))
    if lower:
        return Judgement(Verdict.PASS, "Via transport written in lower case (case-insensitive token)",
                         tuple(e.seq for e in lower[:3]), note="NON-STRICT")
    return Judgement(Verdict.PASS, f"top Via is SIP/2.0/WSS on all {len(requests)} request(s)",
                     cited([e for e, _ in requests]))


@rejudgeable
def contact_transport_ws(entries: list[Entry], actor: str) -> Judgement | None:
    """WIC-TP-02 (RFC 7118 §5.2): the Contact URI has `transport=ws` in every REGISTER and
    INVITE the SUT sent and in every 1xx/2xx it answered an INVITE with (both directions).

    `transport=wss` is NON-STRICT (some servers demand it; RFC 7118 defines no such value)."""
    checked, wrong, nonstrict, seen = 0, [], [], []
    for entry, message in received_messages(entries, actor):
        if not _carries_dialog_contact(message):
            continue
        seen.append(entry)
        for contact in message.contacts:
            checked += 1
            transport = (contact.uri.param("transport") or "").lower()
            if transport == "wss":
                nonstrict.append(entry)
            elif transport != "ws":
                wrong.append((entry, transport or "(none)"))
    if not checked:
        return None
    if wrong:
        entry, value = wrong[0]
        return Judgement(Verdict.FAIL, f"Contact transport parameter is {value!r}, expected 'ws'",
                         tuple(e.seq for e, _ in wrong[:5]))
    if nonstrict:
        return Judgement(Verdict.PASS, "Contact uses transport=wss, which RFC 7118 does not define",
                         tuple(e.seq for e in nonstrict[:3]), note="NON-STRICT")
    return Judgement(Verdict.PASS, f"Contact transport=ws in {checked} Contact(s) of {len(seen)} "
                     "message(s)", cited(seen))


@rejudgeable
def sent_by_kept(entries: list[Entry], actor: str) -> Judgement | None:
    """EPC-TP-01 (RFC 7118 §5.3; RFC 3261 §18.2.2): EVERY response `actor` (wicct's WIC)
    received, provisional and final, to every method, comes back with the top Via sent-by
    (host and port) of the request `actor` sent with that branch; `received` and `rport`
    may be added. Responses to requests `actor` did not send (no branch match) are left
    out."""
    sent: dict[str, tuple[str, int | None]] = {}
    for _, message in sip_messages(entries, actor, "tx"):
        via = message.top_via if message.is_request else None
        if via is not None and via.branch:
            sent.setdefault(via.branch, (via.host.lower(), via.port))
    judged, wrong = [], []
    for entry, message in received_messages(entries, actor):
        via = message.top_via if not message.is_request else None
        if via is None or not via.branch or via.branch not in sent:
            continue
        judged.append(entry)
        if (via.host.lower(), via.port) != sent[via.branch]:
            wrong.append((entry, message, via))
    if not judged:
        return None
    if wrong:
        entry, message, via = wrong[0]
        host, port = sent[via.branch or ""]
        return Judgement(Verdict.FAIL, f"the {message.status} to {message.cseq.method} came back with sent-by "
                         f"{via.sent_by!r}, not the WIC's {host}{':' + str(port) if port else ''} "
                         f"({len(wrong)} of {len(judged)} response(s))", tuple(e.seq for e, _, _ in wrong[:5]))
    return Judgement(Verdict.PASS, f"the WIC's Via sent-by came back unchanged in all {len(judged)} "
                     "response(s) it received", cited(judged))
