"""No retransmissions over the WebSocket, on every message of every case: BOTH-TP-04
(RFC 7118 §5: the WebSocket is a reliable transport).

Pure function over a case's timeline. What the SUT sent over the WebSocket is what
wicct's peer actor received ("rx"); a copy is a second message of the same transaction
(top Via branch, Call-ID, CSeq, and the request's method or the response's status) on
the same connection. Over a reliable transport:
- a client transaction never retransmits a request: no Timer A (RFC 3261 §17.1.1.2) nor
  Timer E (§17.1.2.2);
- a server transaction resends its response only when the request is retransmitted
  (§17.2.2, §17.2.1): wicct's own copies of the request, on any hop, allow one more each;
- a proxy relays what it receives (§16.7): wicct's own copies of the response on another
  hop (the IMS-core stub's) allow one more each.
Exempt, by their RFCs: a 2xx to an INVITE, which the UAS core resends until the ACK comes
(§13.3.1.4); the ACK a UAC sends for each 2xx copy (§13.2.2.4); a reliable provisional
response (RSeq), which the UAS resends until the PRACK (RFC 3262 §3). A message sent
again over a new connection is a new transport attempt, not a timer retransmission
(§18.4, RFC 5626 §4.5 flow recovery): copies are counted per connection.
The SUT's messages on a UDP/TCP hop to the IMS-core stub are not WebSocket: not judged.
"""

from __future__ import annotations

from collections import Counter

from harness.checks.framing import Judgement, cited
from harness.checks.registry import rejudgeable
from harness.checks.transport import message_of, raw_of, reading_of
from harness.evidence import SIP_ERROR, Entry, Redactor
from harness.sip import SipMessage, SipParseError, parse
from harness.verdicts import Verdict

Key = tuple[str, str, str, str]  # (branch, Call-ID, CSeq, method or status)
SHOWN = 120  # octets of an offending copy a reason shows
CLAUSE = "RFC 3261 §17.1.1.2/§17.2.2: no timer retransmission on a reliable transport, RFC 7118 §5"


def shown(raw: bytes) -> str:
    """The first `SHOWN` octets of a copy as a reason quotes them: secrets redacted by
    pattern (the timeline already redacted the registered ones), cut with its length."""
    whole = Redactor().value(bytes(raw))  # before the cut: a secret across it is still whole
    more = f"... ({len(whole)} octets)" if len(whole) > SHOWN else ""
    return f"{whole[:SHOWN]!r}{more}"


def _key(message: SipMessage) -> Key | None:
    """The transaction a message belongs to and what it is; None when a part does not
    parse (the framing checks judge those)."""
    try:
        via = message.top_via
        what = message.method.upper() if message.is_request else str(message.status)
        return ((via.branch or "") if via else "", message.call_id, str(message.cseq), what)
    except SipParseError:
        return None


def _hop_key(message: SipMessage) -> tuple[str, str] | None:
    """Call-ID and CSeq: what a proxy keeps from hop to hop (RFC 3261 §16.6)."""
    try:
        return (message.call_id, str(message.cseq))
    except SipParseError:
        return None


def _exempt(message: SipMessage) -> str:
    """Why copies of `message` are allowed whatever their number ("" when they are not)."""
    try:
        method = message.cseq.method.upper()
        if message.is_request:
            return "an ACK for each 2xx copy (RFC 3261 §13.2.2.4)" if method == "ACK" else ""
        status = message.status or 0
        if method == "INVITE" and 200 <= status < 300:
            return "a 2xx to INVITE resent until the ACK (RFC 3261 §13.3.1.4)"
        if 100 < status < 200 and message.header("RSeq") is not None:
            return "a reliable provisional response resent until the PRACK (RFC 3262 §3)"
    except SipParseError:
        return ""
    return ""


def _unparsable_copies(entries: list[Entry], actor: str) -> list[list[Entry]]:
    """The `SIP_ERROR` entries `actor` received more than once with the same bytes on one
    connection (a copy that does not parse cannot be told apart by its headers, so by its
    octets)."""
    groups: dict[tuple[str, bytes], list[Entry]] = {}
    for entry in entries:
        if entry.kind == SIP_ERROR and entry.actor == actor and entry.direction == "rx":
            groups.setdefault((entry.conn, raw_of(entry)), []).append(entry)
    return [found for found in groups.values() if len(found) > 1]


def _provoked(entry: Entry, requests: Counter[tuple[str, str]],
              responses: Counter[tuple[tuple[str, str], str]]) -> int:
    """How many copies of the unparsable message in `entry` wicct's own copies allow: by
    the Call-ID and CSeq of what parsed of it (`SipParseError.partial`), else one."""
    try:
        parse(raw_of(entry))
    except SipParseError as exc:
        hop = _hop_key(exc.partial) if exc.partial is not None else None
        if hop is None:
            return 1
        status = exc.partial.status if exc.partial is not None else None
        return max(1, requests[hop], responses[(hop, str(status))] if status is not None else 0)
    return 1


@rejudgeable
def no_copies_over_ws(entries: list[Entry], actor: str) -> Judgement | None:
    """BOTH-TP-04 on every message the SUT sent over the WebSocket in the case (requests
    and responses, every method): FAIL for each transaction it sent more copies of than
    wicct's own copies provoked; PASS cites the messages watched, their count and the
    window (first to last entry of the case). Messages that do not parse (`SIP_ERROR`)
    count too, compared by their bytes. None when the SUT sent no SIP message."""
    sent_by_sut: list[tuple[Entry, SipMessage]] = []
    wicct_requests: Counter[tuple[str, str]] = Counter()
    wicct_responses: Counter[tuple[tuple[str, str], str]] = Counter()
    for entry in entries:
        # a copy that does not parse still belongs to its transaction as far as it parsed
        message = reading_of(entry) if entry.actor == actor and entry.direction == "rx" else message_of(entry)
        if message is None:
            continue
        if entry.actor == actor and entry.direction == "rx":
            sent_by_sut.append((entry, message))
        elif entry.direction == "tx":
            hop = _hop_key(message)
            if hop is None:
                continue
            if message.is_request:
                wicct_requests[hop] += 1
            else:
                wicct_responses[(hop, str(message.status))] += 1
    unparsable = [found for found in _unparsable_copies(entries, actor)
                  if len(found) > _provoked(found[0], wicct_requests, wicct_responses)]
    errors = [e for e in entries if e.kind == SIP_ERROR and e.actor == actor and e.direction == "rx"]
    if not sent_by_sut and not errors:
        return None
    if unparsable:  # copies that do not parse: by their bytes
        seen = unparsable[0]
        return Judgement(
            Verdict.FAIL,
            f"the SUT sent the same unparsable message {len(seen)} times over the WebSocket on one "
            f"connection: a retransmission on a reliable transport ({CLAUSE}; {len(unparsable)} "
            f"message(s) copied): {shown(raw_of(seen[0]))}",
            tuple(e.seq for e in seen[:5]),
        )
    groups: dict[tuple[str, Key], list[tuple[Entry, SipMessage]]] = {}
    for entry, message in sent_by_sut:
        key = _key(message)
        if key is not None:
            groups.setdefault((entry.conn, key), []).append((entry, message))
    exempted: list[Entry] = []
    copied: list[tuple[Key, list[Entry], int]] = []
    for (_conn, key), found in groups.items():
        if len(found) < 2:
            continue
        message = found[0][1]
        if _exempt(message):
            exempted.extend(e for e, _ in found)
            continue
        hop = _hop_key(message)
        assert hop is not None  # _key parsed the same headers
        # each copy of the request wicct sent provokes the response again (§17.2.2); a
        # proxy relays each copy it gets on another hop (§16.7)
        allowed = max(1, wicct_requests[hop])
        if not message.is_request:
            allowed = max(allowed, wicct_responses[(hop, key[3])])
        if len(found) > allowed:
            copied.append((key, [e for e, _ in found], allowed))
    watched = sorted([e for e, _ in sent_by_sut] + errors, key=lambda e: e.seq)
    window = entries[-1].t - entries[0].t if entries else 0.0
    if copied:
        key, seen, allowed = copied[0]
        what = f"{key[3]} response" if key[3].isdigit() else key[3]
        return Judgement(
            Verdict.FAIL,
            f"the SUT sent a {what} (CSeq {key[2]}) {len(seen)} times over the WebSocket where "
            f"{allowed} copy(ies) were provoked: a retransmission on a reliable transport "
            f"({CLAUSE}; {len(copied)} transaction(s) copied): {shown(raw_of(seen[-1]))}",
            tuple(e.seq for e in seen[:5]),
        )
    note = f"; exempt copies: {len(exempted)} (2xx to INVITE / ACK / reliable 1xx)" if exempted else ""
    return Judgement(
        Verdict.PASS,
        f"{len(watched)} SIP message(s) the SUT sent over the WebSocket, none copied beyond what "
        f"wicct provoked, watched over the case's {window:.1f} s{note}",
        cited(watched),
    )
