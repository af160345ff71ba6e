"""SIP and upgrade exchanges a step drove, judged from their entries (issue 10 item 4:
`wicct rejudge` decides them again from the stored timeline): a REGISTER's final
response, an INVITE's answer, a request answered once, the ACK of a 2xx, a 101.

The step sends and waits; it hands the entries it got (and, for a wait that ran out, the
timeline up to its window note, `CaseContext.window`) to the check, and records the
judgements the check returns, in order.
"""

from __future__ import annotations

from harness.checks.awaited import of_transaction
from harness.checks.framing import Judgement
from harness.checks.handshake import accept_value, ended_by_client, tls_error
from harness.checks.registry import rejudgeable
from harness.checks.transport import message_of, raw_of
from harness.evidence import (
    CONNECT,
    HTTP_REQUEST,
    HTTP_RESPONSE,
    SIP,
    TLS,
    Entry,
    driver,
    http_response,
    sip,
)
from harness.sdp.checker import check_offer
from harness.sip.message import SipMessage
from harness.verdicts import Verdict


def _status(entry: Entry) -> tuple[int, str]:
    message = message_of(entry)
    if message is None:
        return 0, ""
    return message.status or 0, message.reason or ""


@rejudgeable
def register_answered(final: Entry, challenge: Entry | None = None) -> Judgement:
    """TS 24.229 §5.1.1.2 / RFC 3261 §10.3: the REGISTER's final response (entry `final`;
    after the 401/407 `challenge` it answered, if any) is a 2xx."""
    status, phrase = _status(final)
    challenged = f" after a {_status(challenge)[0]} digest challenge" if challenge is not None else ""
    cited = tuple(e.seq for e in (challenge, final) if e is not None)
    if 200 <= status < 300:
        return Judgement(Verdict.PASS, f"REGISTER answered {status}{challenged}", cited)
    return Judgement(Verdict.FAIL, f"REGISTER answered {status} {phrase}{challenged}", cited)


@rejudgeable
def invite_answered(final: Entry, early: list[Entry], ringing: bool = True) -> list[Judgement]:
    """SEED 5.1.X.3 / RFC 3261 §13.2.2.4: the INVITE's final response (entry `final`) is a
    2xx with an SDP answer; with `ringing`, a missing 180 among the `early` responses is
    told (INFORMATIONAL). The judgements in the order the step records them."""
    status, _ = _status(final)
    made = []
    if not 200 <= status < 300:
        made.append(Judgement(Verdict.FAIL, f"INVITE answered {status}", (final.seq,)))
    rang = any(_status(e)[0] == 180 for e in early if e.seq < final.seq)
    message = message_of(final)
    has_sdp = message is not None and b"v=0" in message.body
    if ringing and not rang:
        made.append(Judgement(Verdict.INFORMATIONAL, "no 180 before the 200 reached the WIC", (final.seq,)))
    made.append(Judgement(Verdict.PASS, f"INVITE answered {status}{' after 180' if rang else ''}"
                          f"{' with an SDP answer' if has_sdp else ' without SDP'}", (final.seq,)))
    return made


def _finals(entries: list[Entry], conn: str, method: str, call_id: str, branch: str | None) -> list[Entry]:
    """The final responses received on `conn` in the transaction of wicct's request."""
    finals = []
    for entry in entries:
        if entry.conn != conn or entry.kind != SIP or entry.direction != "rx":
            continue
        got = message_of(entry)
        if got is not None and (got.status or 0) >= 200 and of_transaction(got, method, call_id, branch):
            finals.append(entry)
    return finals


@rejudgeable
def answered_once(entries: list[Entry], method: str, call_id: str, branch: str | None, conn: str,
                  control_call_id: str = "", control_branch: str | None = None) -> Judgement:
    """BOTH-FR-05, BOTH-FR-06, BOTH-FR-07 (RFC 7118 §5): the WIC answered wicct's `request`
    with exactly one final response on `conn` up to the window note that ends `entries`: it
    processed the request once.

    Two final responses that differ are two processings. Byte-identical copies are either a
    second processing (a UAS transaction absorbs it and repeats its response, RFC 3261
    §17.2.3) or a copy sent on a reliable transport (BOTH-TP-04); a well-formed request of
    the same method sent afterwards (`control_call_id`/`control_branch`) tells them apart:
    answered once, the copies came from this request's processing (FAIL); copied too, the
    WIC copies every response, which the no_copies monitor judges (BOTH-TP-04), and whether
    this request was also processed twice cannot be seen (INCONCLUSIVE)."""
    finals = _finals(entries, conn, method, call_id, branch)
    seqs = tuple(e.seq for e in finals)
    if len(finals) == 1:
        return Judgement(Verdict.PASS, f"{method} answered once", seqs)
    if not finals:
        return Judgement(Verdict.FAIL, f"{method} got no final response")
    identical = len({raw_of(e) for e in finals}) == 1
    if not identical or not control_call_id:
        return Judgement(Verdict.FAIL, f"{method} answered {len(finals)} times: processed more than once", seqs)
    controls = _finals(entries, conn, method, control_call_id, control_branch)
    cited = seqs + tuple(e.seq for e in controls)
    if len(controls) == 1:
        return Judgement(Verdict.FAIL, f"{method} answered {len(finals)} times with byte-identical copies while "
                         f"a well-formed {method} sent after it was answered once: processed more than once", cited)
    if not controls:
        return Judgement(Verdict.FAIL, f"{method} answered {len(finals)} times with byte-identical copies (the "
                         f"control {method} got no final response): processed more than once", seqs)
    return Judgement(Verdict.INCONCLUSIVE, f"{method} answered {len(finals)} times with byte-identical copies, "
                     f"and a well-formed {method} sent after it {len(controls)} times too: the WIC copies its "
                     "responses (BOTH-TP-04, the no_copies monitor); whether this request was also processed "
                     "twice cannot be told from the wire", cited)


@rejudgeable
def ack_sent(entries: list[Entry], invite: Entry, ok: int, within: float) -> Judgement:
    """RFC 3261 §13.2.2.4: the WIC ACKs the 2xx wicct sent (entry `ok`) to its INVITE
    (entry `invite`): an ACK of the same Call-ID on its connection, up to the window note."""
    sent = message_of(invite)
    for entry in entries:
        if entry.seq <= invite.seq or entry.conn != invite.conn or entry.kind != SIP or entry.direction != "rx":
            continue
        got = message_of(entry)
        if got is not None and got.method == "ACK" and got.is_request and sent is not None \
                and got.call_id == sent.call_id:
            return Judgement(Verdict.PASS, "ACK sent for the 2xx to the INVITE", (invite.seq, ok, entry.seq))
    return Judgement(Verdict.FAIL, f"no ACK within {within:g} s of the 2xx", (invite.seq, ok))


def _header(entry: Entry, name: str) -> str | None:
    values = [v for k, v in http_response.of(entry).get("headers", []) if k.lower() == name.lower()]
    return ", ".join(values) or None


@rejudgeable
def upgrade_accepted(response: Entry | None, key: str | None, wanted: str = "sip", *, error: str = "",
                     accepted: bool = True) -> list[Judgement]:
    """RFC 7118 §4.1 / RFC 6455 §4.2.2: the SUT answers wicct's upgrade with a 101 that
    selects `wanted` and whose Sec-WebSocket-Accept matches the `key` wicct sent; `error`
    and `accepted` are what the WebSocket client made of it (recorded by the step).
    One FAIL per fault, then the PASS when there is none (the step stops at a FAIL)."""
    if response is None or response.kind != HTTP_RESPONSE:
        return [Judgement(Verdict.FAIL, f"no HTTP response to the upgrade request ({error})")]
    status = int(http_response.of(response).get("status", 0))
    if status != 101:
        return [Judgement(Verdict.FAIL, f"handshake refused with {status} {http_response.of(response).get('reason', '')}",
                          (response.seq,))]
    made = []
    selected = _header(response, "Sec-WebSocket-Protocol")
    if selected != wanted:
        made.append(Judgement(Verdict.FAIL, f"101 selects subprotocol {selected!r}, expected {wanted!r}",
                              (response.seq,)))
    accept = _header(response, "Sec-WebSocket-Accept")
    if key is None or accept != accept_value(key):
        made.append(Judgement(Verdict.FAIL, f"Sec-WebSocket-Accept {accept!r} does not match the key {key!r}",
                              (response.seq,)))
    if not accepted:
        made.append(Judgement(Verdict.FAIL, f"101 not acceptable to a WebSocket client: {error}", (response.seq,)))
    made.append(Judgement(Verdict.PASS, f"101 with Sec-WebSocket-Protocol: {selected} and a correct "
                          "Sec-WebSocket-Accept", (response.seq,)))
    return made


def _register_2xx(entries: list[Entry], actor: str) -> list[Entry]:
    """The 2xx responses to a REGISTER that `actor` sent (wicct's eP-CSCF emulator)."""
    found = []
    for entry in entries:
        if entry.actor != actor or entry.kind != SIP or entry.direction != "tx":
            continue
        message = message_of(entry)
        if message is not None and 200 <= (message.status or 0) < 300 and message.method == "REGISTER":
            found.append(entry)
    return found


@rejudgeable
def wic_registered(entries: list[Entry], said: Entry) -> Judgement:
    """WIC-TP-03 (RFC 3261 §10.2): the WIC reports itself registered (its driver's word,
    entry `said`), and the word is backed by the wire: wicct's eP-CSCF answered one of its
    REGISTERs with a 2xx before it."""
    accepted = [e for e in _register_2xx(entries, "epcscf") if e.seq < said.seq]
    if not accepted:
        return Judgement(Verdict.FAIL, "the WIC reports itself registered, but wicct's eP-CSCF accepted no "
                         "REGISTER (no 2xx to a REGISTER on the wire)", (said.seq,))
    return Judgement(Verdict.PASS, "the WIC reports that it is registered, after wicct's 2xx to its REGISTER",
                     (accepted[-1].seq, said.seq))


@rejudgeable
def stayed_unregistered(state: Entry, window: float) -> Judgement:
    """RFC 3261 §18.3 (BOTH-FR-07): the WIC did not act on a response it must drop: its
    driver did not report it registered during the window (the `DRIVER` state entry the
    step recorded when the window ended, `registered`: what the WIC said)."""
    if driver.of(state).get("registered"):
        return Judgement(Verdict.FAIL, "the WIC reports itself registered", (state.seq,))
    return Judgement(Verdict.PASS, f"the WIC did not act on the response ({window:g} s)", (state.seq,))


@rejudgeable
def token_register_relayed(final: Entry, reached: list[Entry]) -> Judgement:
    """TS 24.229 §5.10 / RFC 8898 (EPC-REG-02): a REGISTER carrying a valid token is
    answered 2xx (entry `final`) and was relayed to the core (`reached`: the core's copies
    of it, same Call-ID and CSeq, gathered by the step)."""
    status, phrase = _status(final)
    if not 200 <= status < 300:
        return Judgement(Verdict.FAIL, f"a REGISTER with a valid token answered {status} {phrase}", (final.seq,))
    if not reached:
        return Judgement(Verdict.FAIL, f"a REGISTER with a valid token answered {status}, but no REGISTER "
                         "reached the core", (final.seq,))
    return Judgement(Verdict.PASS, f"a REGISTER with a valid token answered {status} and reached the core",
                     (final.seq, reached[0].seq))


def _epcscf_rx(entries: list[Entry], kind: str) -> list[Entry]:
    return [e for e in entries if e.kind == kind and e.actor == "epcscf" and e.direction == "rx"]


@rejudgeable
def untrusted_refused(entries: list[Entry], certificate: str, within: float, handshake_timeout: float) -> Judgement:
    """WIC-HS-03 (RFC 7118 §9.1, SEED 5.1.X.1.3): facing a `certificate` it cannot verify,
    the WIC aborts TLS itself: no upgrade request, no REGISTER, no established TLS over
    the window that ends `entries` (its note). INCONCLUSIVE when the WIC made no attempt
    or ended no handshake itself (no evidence that it judged the certificate)."""
    attempts = _epcscf_rx(entries, CONNECT)
    tls = [e for e in entries if e.kind == TLS and e.actor == "epcscf"]
    gets = _epcscf_rx(entries, HTTP_REQUEST)
    registers = [e for e in _epcscf_rx(entries, SIP) if str(sip.of(e).get("start_line") or "").startswith("REGISTER")]
    established = [e.seq for e in tls if not tls_error(e)]
    if gets or registers:
        return Judgement(Verdict.FAIL, f"the WIC accepted the {certificate} certificate: {len(gets)} upgrade "
                         f"request(s), {len(registers)} REGISTER(s)",
                         (*established, *(e.seq for e in gets[:2]), *(e.seq for e in registers[:2])))
    if not attempts:
        return Judgement(Verdict.INCONCLUSIVE, f"the WIC made no connection attempt within {within:g} s")
    if established:
        return Judgement(Verdict.FAIL, f"TLS was established with the {certificate} certificate", tuple(established))
    ended = ended_by_client(tls)
    if not ended:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the WIC connected {len(attempts)} time(s) within {within:g} s but ended no TLS handshake "
            f"itself (each timed out after {handshake_timeout:g} s with nothing from it, "
            f"or none began): no evidence that it judged the {certificate} certificate",
            tuple(e.seq for e in tls[:3]) or (attempts[0].seq,))
    errors = sorted({str(tls_error(e)) for e in ended})
    return Judgement(Verdict.PASS, f"watched {within:g} s: {len(attempts)} attempt(s), the WIC ended {len(ended)} "
                     f"TLS handshake(s) itself ({'; '.join(errors)}); no upgrade request, no REGISTER",
                     tuple(e.seq for e in ended[:3]))


@rejudgeable
def reconnected(connect: Entry | None, register: Entry | None, within: float) -> Judgement:
    """RFC 7118 §6 / RFC 5626 §4.5 (informational): after the connection closed, the WIC
    opened a new one (its `CONNECT` entry) and registered again on it (its REGISTER)."""
    if connect is None:
        return Judgement(Verdict.INFORMATIONAL, f"the WIC did not reconnect within {within:g} s")
    if register is None:
        return Judgement(Verdict.INFORMATIONAL, "the WIC reconnected but sent no REGISTER", (connect.seq,))
    return Judgement(Verdict.INFORMATIONAL, "the WIC reconnected and registered again", (connect.seq, register.seq))


@rejudgeable
def jsep_at_core(entry: Entry) -> Judgement | None:
    """EPC-SES-01 context (INFORMATIONAL: the core is no WebRTC endpoint): what the JSEP
    checker (`harness.sdp.checker`, RFC 8829 rules) says of the SDP in the INVITE that
    reached the core (entry `entry`); None without SDP."""
    message = message_of(entry)
    sdp = message.body.decode("utf-8", "replace") if message is not None else ""
    if "v=0" not in sdp:
        return None
    return Judgement(Verdict.INFORMATIONAL, "JSEP checker on the SDP the core received (WebRTC rules; the core is "
                     f"no WebRTC endpoint, so no verdict): {check_offer(sdp).summary()}", (entry.seq,))


@rejudgeable
def via_kept(response: Entry | SipMessage, copies: list[Entry], branch: str | None, host: str, port: int | None,
             sent_by: str, method: str = "request", *, seq: int = 0) -> list[Judgement]:
    """RFC 7118 §5.3 (EPC-TP-01): the WIC's top Via (`branch`, sent-by `host`:`port`) keeps
    its sent-by in the response the WIC got (entry `response`) and in each copy of the
    request that reached the core (`copies`: the core's entries of it, same Call-ID and
    CSeq); `received` may be added or not (told). One FAIL per change, then INCONCLUSIVE
    when no copy with the WIC's Via reached the core, else the PASS. The response is its
    entry, or (not stored) the message itself with its entry's `seq`."""
    message = message_of(response) if isinstance(response, Entry) else response
    seq = response.seq if isinstance(response, Entry) else seq
    back = message.top_via if message is not None else None
    if back is None or back.branch != branch:
        return [Judgement(Verdict.FAIL, "the response's top Via is not the WIC's", (seq,))]
    made = []
    if (back.host.lower(), back.port) != (host.lower(), port):
        made.append(Judgement(Verdict.FAIL, f"sent-by {sent_by!r} came back as {back.sent_by!r}", (seq,)))
    notes = [f"received={back.received}" if back.received else "no received parameter"]
    reached, stripped = [], []
    for entry in copies:
        got = message_of(entry)
        copy = next((v for v in got.vias if v.branch == branch), None) if got is not None else None
        if copy is None:
            stripped.append(entry.seq)
            continue
        reached.append(entry.seq)
        if (copy.host.lower(), copy.port) != (host.lower(), port):
            made.append(Judgement(Verdict.FAIL, f"sent-by {sent_by!r} reached the core as {copy.sent_by!r}",
                                  (entry.seq,)))
        notes.append(f"towards the core: {'received=' + copy.received if copy.received else 'no received'}")
    if not reached and stripped:
        made.append(Judgement(Verdict.FAIL, f"the {method} reached the core without the WIC's Via (sent-by {sent_by})",
                              tuple(stripped)))
    if not reached:
        made.append(Judgement(Verdict.INCONCLUSIVE, f"the response came back with sent-by {back.sent_by} but no "
                              f"copy of the {method} with the WIC's Via reached the core: the hop towards the core "
                              "cannot be judged", (seq,)))
        return made
    made.append(Judgement(Verdict.PASS, f"sent-by {sent_by} unchanged ({'; '.join(notes)})", (seq, *reached)))
    return made


@rejudgeable
def registered_in_time(state: Entry, within: float) -> Judgement:
    """WIC-TP-03 precondition (RFC 3261 §10.2): the WIC reported itself registered within
    `within` s; `state` is the `DRIVER` state entry the step recorded when its wait ended
    (`registered`, and the driver's `detail`)."""
    if driver.of(state).get("registered"):
        return Judgement(Verdict.PASS, "the WIC reports that it is registered", (state.seq,))
    return Judgement(Verdict.FAIL, f"the WIC is not registered after {within:g} s ({driver.of(state).get('detail', '')})",
                     (state.seq,))
