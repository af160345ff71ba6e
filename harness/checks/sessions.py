"""Calls through an eP-CSCF under test (section 6 of the catalogue; RFC 7118 Appendix B).

- `bundle_at_core` (EPC-SES-01, TS 23.228 U.1: BUNDLE "shall be removed at the entry of
  the IMS network"): the SDP of an INVITE that reached the core has no `a=group:BUNDLE`
  and no `a=bundle-only` line; each offending line is named by its number. A body the
  SDP parser refuses is a FAIL naming the line (the JSEP checker's own reading,
  `harness/sdp/located.py`), never an error.
- `originating_forwarded` (EPC-SES-02, TS 24.229 5.2.7.2): the INVITE the WIC sent reached
  the core as a proxy forwards it (RFC 3261 §16.6): the WIC's Via kept below the SUT's
  own, a Record-Route of the SUT added, the Call-ID kept and the WIC's Contact URI kept
  (user, host, port and its parameters; a parameter the SUT adds, such as Kamailio's
  `alias`, is recorded).
- `terminating_forwarded` (EPC-SES-02, TS 24.229 5.2.7.3): the core's INVITE reached the
  WIC the same way (the core's Via kept below the SUT's, a Record-Route of the SUT added).
- `cancel_forwarded` (EPC-SES-02, RFC 3261 §9.1, §16.10): the WIC's CANCEL reached the
  core as the INVITE it cancels did: the same Request-URI, Call-ID, From, To, CSeq number,
  Route set (every value, in order, parsed: any spelling) and top Via branch (the Vias
  below are not judged: a stateful proxy sends a CANCEL of its own, §16.10).
- `record_route_ws` (EPC-TP-03, RFC 7118 Appendix B): the top Record-Route of a
  terminating INVITE delivered to the WIC (the hop the WIC routes its in-dialog requests
  to) carries `transport=ws` (RFC 7118 §5.2: `ws` names both WS and WSS; `wss` is no URI
  transport).
- `same_connection` (EPC-TP-03): it was delivered over the WebSocket the REGISTER used.

Pure (docs/architecture.md principle 1): functions of SIP messages and the timeline seqs
they were recorded under.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.sdp.located import Unparsable, locate, numbered
from harness.sip import NameAddr, SipMessage, SipParseError, SipUri
from harness.verdicts import Verdict


@dataclass(frozen=True)
class Seen:
    """One SIP message as an actor recorded it: the message and its timeline seq."""

    message: SipMessage
    seq: int


def bundle_lines(sdp: str) -> list[tuple[int, str]]:
    """(line number, text) of every `a=group:BUNDLE` and `a=bundle-only` line (RFC 8843
    §7.1, §6) of an SDP body, numbered from 1."""
    found = []
    for line in numbered(sdp):
        text = line.text.strip()
        if text.lower().startswith("a=group:bundle") or text.lower() == "a=bundle-only":
            found.append((line.number, text))
    return found


@rejudgeable
def bundle_at_core(invites: list[Seen]) -> Judgement | None:
    """EPC-SES-01 on every INVITE with SDP that reached the core (None: none had SDP)."""
    judged = [s for s in invites if b"v=0" in s.message.body]
    if not judged:
        return None
    for seen in judged:
        sdp = seen.message.body.decode("utf-8", "replace")
        refused = locate(sdp)
        if isinstance(refused, Unparsable):
            return Judgement(Verdict.FAIL, f"the SDP of the INVITE that reached the core does not parse: "
                             f"line {refused.line.number} {refused.line.text!r} ({refused.error})", (seen.seq,))
        bad = bundle_lines(sdp)
        if bad:
            lines = "; ".join(f"line {n}: {text}" for n, text in bad)
            return Judgement(Verdict.FAIL, "the INVITE towards the core still carries BUNDLE (TS 23.228 U.1: "
                             f"removed at the entry of the IMS network): {lines}", (seen.seq,))
    return Judgement(Verdict.PASS, f"{len(judged)} INVITE(s) reached the core with SDP and neither "
                     "a=group:BUNDLE nor a=bundle-only", tuple(s.seq for s in judged))


def _uris(values: list[str]) -> list[NameAddr]:
    out = []
    for value in values:
        try:
            out.append(NameAddr.parse(value))
        except SipParseError:
            continue
    return out


def _proxied(sent: Seen, got: Seen, direction: str) -> list[str]:
    """What a proxy forwarding `sent` as `got` broke (RFC 3261 §16.6; TS 24.229 5.2.7)."""
    problems = []
    before, after = sent.message, got.message
    branches = [v.branch for v in after.vias]
    own = before.top_via
    if own is None or own.branch not in branches:
        problems.append(f"{direction}: the sender's Via (branch {own.branch if own else '?'}) is gone")
    elif branches.index(own.branch) == 0:
        problems.append(f"{direction}: no Via of the SUT above the sender's")
    added = len(after.header_values("Record-Route")) - len(before.header_values("Record-Route"))
    if added <= 0 and before.to.tag is None:  # §16.6 step 4: a dialog-creating request
        problems.append(f"{direction}: no Record-Route added (RFC 3261 §16.6 step 4: the eP-CSCF stays "
                        "on the dialog's path)")
    hops_before, hops_after = before.max_forwards, after.max_forwards
    if hops_after is None or (hops_before is not None and hops_after >= hops_before):
        problems.append(f"{direction}: Max-Forwards {hops_before} arrived as {hops_after} (RFC 3261 §16.6 "
                        "step 3: a proxy decrements it, or adds one)")
    if after.call_id != before.call_id:
        problems.append(f"{direction}: Call-ID changed from {before.call_id} to {after.call_id}")
    sent_contacts, got_contacts = before.contacts, after.contacts
    if sent_contacts and not got_contacts:
        problems.append(f"{direction}: the {before.method} arrived without a Contact")
    elif sent_contacts and not _same_target(sent_contacts[0].uri, got_contacts[0].uri):
        problems.append(f"{direction}: Contact {sent_contacts[0].uri} arrived as {got_contacts[0].uri} (RFC 3261 "
                        "§16.6: a proxy does not replace the UA's Contact)")
    return problems


def _same_target(sent: SipUri, got: SipUri) -> bool:
    """The same user, host and port, every parameter of `sent` kept (a proxy may add its
    own, e.g. Kamailio's `alias`)."""
    kept = all(got.param(name) == value for name, value in sent.params)
    return (sent.user, sent.host.lower(), sent.port) == (got.user, got.host.lower(), got.port) and kept


def contact_note(sent: SipMessage, got: SipMessage) -> str:
    """'Contact kept' or what a proxy added to it."""
    if not sent.contacts or not got.contacts:
        return "no Contact to compare"
    before, after = sent.contacts[0].uri, got.contacts[0].uri
    added = [f"{n}={v}" if v is not None else n for n, v in after.params if before.param(n) is None
             and not any(k == n for k, _ in before.params)]
    return f"Contact kept with {', '.join(added)} added" if added else "Contact kept"


def _match(sent: SipMessage, candidates: list[Seen]) -> Seen | None:
    return next((c for c in candidates if c.message.call_id == sent.call_id
                 and str(c.message.cseq) == str(sent.cseq)), None)


@rejudgeable
def forwarded(sent: Seen, candidates: list[Seen], direction: str) -> Judgement:
    """EPC-SES-02: the INVITE `sent` arrived (among `candidates`) as a proxy forwards it;
    so a mid-dialog request (a BYE from the core), a Record-Route aside (RFC 3261 §16.6)."""
    got = _match(sent.message, candidates)
    if got is None:
        return Judgement(Verdict.FAIL, f"{direction}: the {sent.message.method} (Call-ID {sent.message.call_id}) "
                         "never arrived",
                         (sent.seq,))
    problems = _proxied(sent, got, direction)
    if problems:
        return Judgement(Verdict.FAIL, "; ".join(problems), (sent.seq, got.seq))
    rr = got.message.header_values("Record-Route")
    pai = got.message.header_values("P-Asserted-Identity")
    return Judgement(Verdict.PASS, f"{direction}: {sent.message.method} forwarded with the sender's Via below "
                     f"the SUT's and Call-ID kept, {contact_note(sent.message, got.message)}, Record-Route "
                     f"{', '.join(rr) or 'none (mid-dialog)'}; "
                     f"{'P-Asserted-Identity ' + pai[0] if pai else 'no P-Asserted-Identity'}",
                     (sent.seq, got.seq))


def _routes(message: SipMessage) -> list[str]:
    """The Route set as URIs (rows or comma-joined: the same set), unparsable values as sent."""
    out = []
    for value in message.header_values("Route"):
        try:
            out.append(str(NameAddr.parse(value).uri))
        except SipParseError:
            out.append(value.strip())
    return out


def _party(value: str | None) -> tuple[str, str | None]:
    """A From or To as RFC 3261 §19.3 compares them: the URI and the tag."""
    addr = NameAddr.parse(value or "")
    return str(addr.uri), addr.param("tag")


def _cancel_problems(invite: SipMessage, cancel: SipMessage) -> list[str]:
    """What differs between a forwarded INVITE and the CANCEL forwarded for it, in the
    fields RFC 3261 §9.1 makes them share (a proxy builds the CANCEL from the INVITE it
    forwarded, §16.10; the next hop matches them by the top Via branch, §9.2)."""
    problems = []
    try:
        if (cancel.request_uri or "") != (invite.request_uri or ""):
            problems.append(f"Request-URI {cancel.request_uri} (the INVITE's: {invite.request_uri})")
        if cancel.call_id != invite.call_id:
            problems.append(f"Call-ID {cancel.call_id} (the INVITE's: {invite.call_id})")
        for name in ("From", "To"):
            got, want = cancel.header(name), invite.header(name)
            if _party(got) != _party(want):
                problems.append(f"{name} {got} (the INVITE's: {want})")
        if cancel.cseq.number != invite.cseq.number:
            problems.append(f"CSeq {cancel.cseq} (the INVITE's: {invite.cseq})")
        if _routes(cancel) != _routes(invite):
            problems.append(f"Route {_routes(cancel) or 'none'} (the INVITE's: {_routes(invite) or 'none'})")
        branches = [(v.branch if v else None) for v in (cancel.top_via, invite.top_via)]
        if branches[0] != branches[1]:
            problems.append(f"top Via branch {branches[0]} (the INVITE's: {branches[1]})")
    except SipParseError as exc:
        problems.append(f"a header that does not parse ({exc})")
    return problems


@rejudgeable
def cancel_forwarded(sent: Seen, invite: Seen | None, cancel: Seen | None) -> Judgement:
    """EPC-SES-02 (RFC 3261 §9.1, §16.10): the WIC's CANCEL `sent` reached the core
    (`cancel`) carrying what the INVITE it cancels carried there (`invite`). The Vias below
    the top one are not judged: a stateful proxy sends a CANCEL of its own with its Via only
    (§16.10, §9.1; Kamailio does), another relays the WIC's below its own. FAIL naming each
    field that differs."""
    if cancel is None:
        return Judgement(Verdict.FAIL, f"originating: the CANCEL (Call-ID {sent.message.call_id}) never "
                         "reached the core", (sent.seq,))
    if invite is None:
        return Judgement(Verdict.FAIL, "originating: a CANCEL reached the core for an INVITE that never did "
                         "(RFC 3261 §16.10)", (sent.seq, cancel.seq))
    problems = _cancel_problems(invite.message, cancel.message)
    cited_seqs = (sent.seq, invite.seq, cancel.seq)
    if problems:
        return Judgement(Verdict.FAIL, "originating: the CANCEL reached the core with "
                         + "; ".join(problems) + " (RFC 3261 §9.1: as the INVITE it cancels, §16.10)",
                         cited_seqs)
    return Judgement(Verdict.PASS, "originating: the CANCEL reached the core with the INVITE's Request-URI, "
                     f"Call-ID, From, To, CSeq number, Route set ({len(_routes(cancel.message))} value(s)) "
                     "and top Via branch", cited_seqs)


@rejudgeable
def record_route_ws(delivered: Seen) -> Judgement:
    """EPC-TP-03: the top Record-Route of a terminating INVITE delivered to the WIC names
    the SUT over the WebSocket: `transport=ws` (RFC 7118 Appendix B)."""
    routes = _uris(delivered.message.header_values("Record-Route"))
    if not routes:
        return Judgement(Verdict.FAIL, "the terminating INVITE reached the WIC without a Record-Route",
                         (delivered.seq,))
    top = routes[0]
    transport = (top.uri.param("transport") or "").lower()
    if transport != "ws":
        said = f"transport={transport}" if transport else "no transport parameter"
        return Judgement(Verdict.FAIL, f"the top Record-Route {top} has {said}, not transport=ws: the WIC's "
                         "in-dialog requests are not routed back over its WebSocket", (delivered.seq,))
    return Judgement(Verdict.PASS, f"top Record-Route {top} carries transport=ws", (delivered.seq,))


@rejudgeable
def same_connection(registered: str, delivered: str, seq: int, register_seq: int,
                    method: str = "INVITE") -> Judgement:
    """EPC-TP-03: a terminating request (the INVITE, or a mid-dialog one: RFC 5626 §5.3, every
    request to the flow) delivered over the WebSocket connection named `registered`."""
    if delivered != registered:
        return Judgement(Verdict.FAIL, f"the terminating {method} came over connection {delivered!r}, not "
                         f"{registered!r} that the REGISTER used", (register_seq, seq))
    return Judgement(Verdict.PASS, f"the terminating {method} came over connection {registered!r}, the one "
                     "the REGISTER used", (register_seq, seq))


__all__ = ["Seen", "bundle_at_core", "bundle_lines", "forwarded", "record_route_ws", "same_connection"]
