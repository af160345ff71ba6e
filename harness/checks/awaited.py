"""What a step waited for, judged from the entries of the wait (issue 10 item 4: every
verdict re-judgeable from the stored timeline).

A step awaits (a response, a Close, a CRLF pong, a quiet window) and then records where
its wait ended with a window note (`CaseContext.window`: `{"window": {"since", "seconds",
"what"}}`); the check below is given the timeline up to that note and decides from the
entries alone, so `wicct rejudge` reaches the same verdict without the SUT. Each check
returns the judgement the step records: PASS, FAIL, or INCONCLUSIVE when wicct's own close
ended the wait (the step then stops the case as a precondition, docs/architecture.md
"Preconditions and strength").
"""

from __future__ import annotations

from typing import Any

from harness.checks.closing import Closer, close_story
from harness.checks.framing import Judgement
from harness.checks.registry import rejudgeable
from harness.checks.status import status_matches
from harness.checks.transport import message_of, raw_of, reading_of
from harness.evidence import (
    NOTE,
    SIP,
    SIP_ERROR,
    WS_CLOSE,
    WS_FRAME,
    Entry,
    note,
    ws_close,
    ws_frame,
)
from harness.sip.message import SipMessage
from harness.verdicts import Verdict


def of_transaction(message: SipMessage, method: str, call_id: str, branch: str | None) -> bool:
    """`message` belongs to the transaction of wicct's request `method` with `call_id` and
    top Via `branch` (RFC 3261 §17.1.3); False for headers that do not parse. The request is
    given by these facts, not as a message: a stimulus need not parse again."""
    try:
        via = message.top_via
        return (via is not None and via.branch == branch and message.call_id == call_id
                and message.cseq.method.upper() == method.upper())
    except Exception:  # noqa: BLE001 - a mangled header: not this transaction
        return False


def _on(entries: list[Entry], conn: str, since: int = 0) -> list[Entry]:
    return [e for e in entries if e.conn == conn and e.seq > since]


def _comparable(message: SipMessage) -> bool:
    """The headers that tell a request's copies apart parse (else its bytes are compared)."""
    try:
        _ = (message.call_id, str(message.cseq), message.top_via)
    except Exception:  # noqa: BLE001 - a `SipParseError.partial` from the SUT
        return False
    return True


def _same_request(a: SipMessage, b: SipMessage) -> bool:
    """Copies of one request: Call-ID, CSeq and top Via branch (RFC 3261 §17.2.3)."""
    try:
        return (a.call_id == b.call_id and str(a.cseq) == str(b.cseq)
                and (a.top_via.branch if a.top_via else None) == (b.top_via.branch if b.top_via else None))
    except Exception:  # noqa: BLE001 - an unparsable header: not the same request
        return False


def _method_of(entry: Entry) -> str:
    """The method word of a recorded request that does not parse (its first token)."""
    word = raw_of(entry).split(b" ", 1)[0].decode("ascii", "replace")
    return word if word.isalpha() else "request"


@rejudgeable
def nothing_came(entries: list[Entry], actor: str, conn: str, within: float, what: str) -> Judgement:
    """An awaited message did not come within `within` s on `conn`: FAIL when the SUT is to
    answer for it (the connection stayed open, or the SUT closed it, RFC 6455 §7.1.1),
    INCONCLUSIVE when wicct's own close prevented the answer (`close_story`)."""
    story = close_story(entries, actor, conn)
    if story.closer is Closer.OPEN:
        return Judgement(Verdict.FAIL, f"{what} (none within {within:g} s)")
    if story.closer is Closer.SUT:
        return Judgement(Verdict.FAIL, f"{what} ({story.reason})", story.evidence)
    return Judgement(Verdict.INCONCLUSIVE, f"{what}: {story.reason}", story.evidence)


@rejudgeable
def crlf_pong(entries: list[Entry], conn: str, within: float, *, since: int = 0) -> Judgement:
    """RFC 5626 §4.4.1 (RFC 7118 §6): the SUT answers a CRLFCRLF ping with a CRLF pong, a
    keep-alive note of wicct's actor on `conn` after entry `since` (the ping)."""
    for entry in _on(entries, conn, since):
        value = note.of(entry).get("keepalive") if entry.kind == NOTE and entry.direction == "rx" else None
        if isinstance(value, str):
            value = value.encode("utf-8")
        if value == b"\r\n":
            return Judgement(Verdict.PASS, "CRLF pong received", tuple(s for s in (since, entry.seq) if s))
    return Judgement(Verdict.FAIL, f"no CRLF pong within {within:g} s", tuple(s for s in (since,) if s))


@rejudgeable
def stayed_open(entries: list[Entry], actor: str, conn: str, seconds: float) -> Judgement:
    """RFC 7118 §6 / keep-alive windows: the SUT did not close `conn` (no Close frame, no
    TCP close) up to the window note that ends `entries`. A close by wicct (its decision,
    or the SUT's invalid frame, RFC 6455 §7.1.7) is INCONCLUSIVE, not this FAIL."""
    story = close_story(entries, actor, conn)
    if story.closer is Closer.OPEN:
        last = [e.seq for e in entries if e.actor == actor and e.conn == conn][-1:]
        return Judgement(Verdict.PASS, f"connection stayed open for {seconds:g} s", tuple(last))
    if story.closer is Closer.SUT:
        return Judgement(Verdict.FAIL, f"{story.reason} during the window", story.evidence)
    return Judgement(Verdict.INCONCLUSIVE, f"the connection did not stay open for {seconds:g} s: {story.reason}",
                     story.evidence)


@rejudgeable
def closed_with(
    entries: list[Entry],
    conn: str,
    codes: list[int] | None,
    within: float,
    *,
    tcp_close_ok: bool = False,
    split: bool = False,
    close_timeout: float = 0.0,
) -> list[Judgement]:
    """RFC 6455 §7.1.7, §8.1 (RFC 7118 §5): the SUT closes `conn` after the stimulus, with a
    Close frame whose code is one of `codes`; with `split`, first that it failed the
    connection at all, then the Close frame and its code (two judgements). From the
    connection's `WS_CLOSE` entry; none up to the window note: still open, FAIL."""
    close = next((e for e in _on(entries, conn) if e.kind == WS_CLOSE), None)
    if close is None:
        return [Judgement(Verdict.FAIL, f"connection still open {within:g} s after the stimulus")]
    data = ws_close.of(close)
    code = data.get("code")
    made = []
    if split:
        made.append(Judgement(Verdict.PASS, "the SUT failed the connection"
                              + (f" (Close {code})" if code is not None else " (TCP closed)"), (close.seq,)))
    if code is None:
        by_sut = data.get("tcp_closed_by", "peer") == "peer"
        if tcp_close_ok and by_sut:
            made.append(Judgement(Verdict.PASS, "the SUT closed TCP without a Close frame", (close.seq,),
                                  note="NON-STRICT"))
        else:
            closer = "the SUT" if by_sut else f"wicct, after {close_timeout:g} s without an answer"
            made.append(Judgement(Verdict.FAIL, f"no Close frame from the SUT; TCP closed by {closer}", (close.seq,)))
        return made
    did = "answered wicct's Close" if data.get("by") == "us" else "closed"
    if codes and code not in codes:
        made.append(Judgement(Verdict.FAIL, f"the SUT {did} with code {code}, expected one of {codes}", (close.seq,)))
    else:
        made.append(Judgement(Verdict.PASS, f"the SUT {did} with code {code}", (close.seq,)))
    return made


@rejudgeable
def still_answers(response: Entry) -> Judgement:
    """The SUT still serves SIP after a stimulus (RFC 7118 §5: a bad message must not take
    the connection or the service down): any response to a new request, entry `response`."""
    message = message_of(response)
    if message is None or message.status is None:
        return Judgement(Verdict.FAIL, f"entry {response.seq} is no SIP response", (response.seq,))
    return Judgement(Verdict.PASS, f"SUT still answers ({message.status})", (response.seq,))


@rejudgeable
def sent_once(entries: list[Entry], first: Entry, seconds: float) -> Judgement:
    """RFC 7118 §5 / RFC 3261 §17.1.1.2: over a reliable transport the SUT sends a request
    once: no copy of `first` (same Call-ID, CSeq, top Via branch; the same bytes for one
    that does not parse, a `SIP_ERROR` entry as much as a `SIP` one) on its connection up
    to the window note."""
    request = reading_of(first)
    copies = []
    for entry in entries:
        if (entry.seq < first.seq or entry.conn != first.conn or entry.kind not in (SIP, SIP_ERROR)
                or entry.direction != "rx"):
            continue
        if entry.seq == first.seq:
            copies.append(entry)
            continue
        other = reading_of(entry)  # a copy that does not parse: its transaction as far as it parsed
        if request is None or other is None or not _comparable(other) or not _comparable(request):
            if raw_of(entry) == raw_of(first):  # unparsable: the same bytes
                copies.append(entry)
        elif other.is_request and _same_request(other, request):
            copies.append(entry)
    method = request.method if request is not None else _method_of(first)
    if len(copies) > 1:
        return Judgement(Verdict.FAIL, f"{method} sent {len(copies)} times within {seconds:g} s",
                         tuple(c.seq for c in copies))
    return Judgement(Verdict.PASS, f"{method} sent once over {seconds:g} s", (first.seq,))


@rejudgeable
def pong_came(entries: list[Entry], conn: str, payload: bytes, within: float, *, since: int = 0) -> Judgement:
    """RFC 6455 §5.5.3: a Pong answers wicct's Ping (entry `since`) on `conn` within the
    window; the Pong's content is judged by `framing.pong_echoes`. FAIL when no Pong
    frame carrying `payload` came up to the window note."""
    for entry in _on(entries, conn, since):
        if entry.kind != WS_FRAME or entry.direction != "rx" or ws_frame.of(entry).get("opcode") != "pong":
            continue
        body = ws_frame.of(entry).get("payload")
        if (body.encode("utf-8") if isinstance(body, str) else body) == payload:
            return Judgement(Verdict.PASS, "a Pong with the Ping's payload came", (entry.seq,))
    return Judgement(Verdict.FAIL, f"no Pong with payload {payload!r} within {within:g} s",
                     tuple(s for s in (since,) if s))


@rejudgeable
def not_closed_by_sut(entries: list[Entry], actor: str, conn: str, what: str) -> Judgement:
    """SEED 5.1.X.4 / 5.Y.4 (`watch.stays_open`): the SUT did not end `conn` (a Close
    frame, a TCP close, or a protocol error that made wicct fail it) in the watched span."""
    story = close_story(entries, actor, conn)
    if story.by_sut:
        return Judgement(Verdict.FAIL, f"{story.reason} {what} (connection {conn})", story.evidence)
    return Judgement(Verdict.PASS, f"the SUT did not close connection {conn} {what}")


@rejudgeable
def unanswered(entries: list[Entry], method: str, call_id: str, branch: str | None, conn: str, within: float,
               wanted: Any = None, *, final: bool = False, since: int = 0) -> Judgement:
    """The SUT sends no response (of status `wanted`; final only with `final`) to wicct's
    request (`of_transaction`) on `conn` after entry `since` up to the window note that ends
    `entries` (RFC 3261 §8.2: a request the SUT must not process; RFC 7118 §5 framing)."""
    what = f"no {wanted or ''}{' ' if wanted else ''}response to {method}"
    for entry in _on(entries, conn, since):
        if entry.kind != SIP or entry.direction != "rx":
            continue
        got = message_of(entry)
        if got is None or got.status is None or not of_transaction(got, method, call_id, branch):
            continue
        if final and got.status < 200 or not status_matches(got.status, wanted):
            continue
        return Judgement(Verdict.FAIL, f"{method} was answered {got.status}", (entry.seq,))
    return Judgement(Verdict.PASS, what)
