"""What each received message is judged on under load: the conformance checks themselves.

Pure functions (no socket, no gevent). A received WebSocket message becomes the timeline
entries the conformance cases record (`ws.message`, then `sip` with any excess, or
`sip.error`), and the same checks of `harness.checks` judge them: one SIP message per
WebSocket message (RFC 7118 §5, the rule of WIC-FR-01 applied to the eP-CSCF), valid UTF-8
in text messages (RFC 7118 §4.2, BOTH-FR-09), only SIP and keep-alives (BOTH-FR-10,
informational) and, per connection, the 101 (EPC-HS-01). A FAIL or INFORMATIONAL becomes
a `Violation`; a PASS is counted by the caller as a message judged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from harness.checks import framing, handshake
from harness.checks.framing import Judgement
from harness.evidence import (
    HTTP_REQUEST,
    HTTP_RESPONSE,
    SIP,
    SIP_ERROR,
    WS_MESSAGE,
    Entry,
    Redactor,
)
from harness.sip import SipMessage, SipParseError, is_keepalive, parse
from harness.verdicts import Verdict

ACTOR = "wic"  # the load users stand where the WIC emulator stands in the cases
SAMPLE = 400  # characters of a violating message kept as its evidence sample


@dataclass(frozen=True)
class Violation:
    """A check that did not pass on a message received under load."""

    check: str  # the function of harness.checks
    requirement: str
    clause: str
    strength: str
    verdict: str  # FAIL or INFORMATIONAL
    reason: str
    sample: str  # the message (or the 101) it was judged on, secrets redacted by their
    # shape (harness.evidence), cut to SAMPLE characters


@dataclass(frozen=True)
class Rule:
    check: Callable[[list[Entry], str], Judgement | None]
    requirement: str
    clause: str
    strength: str


# each passes a list of messages' entries only when it passes each message's: `Batch` relies on it
MESSAGE_RULES = (
    Rule(framing.one_sip_message_per_ws_message, "WIC-FR-01 (applied to the eP-CSCF)",
         "RFC 7118 §5", "shall"),
    Rule(framing.text_is_utf8, "BOTH-FR-09", "RFC 7118 §4.2; RFC 6455 §8.1", "shall"),
    Rule(framing.only_sip_and_keepalives, "BOTH-FR-10", "RFC 7118 §4.1", "may"),
)
HANDSHAKE_RULE = Rule(handshake.accepts_valid, "EPC-HS-01", "RFC 7118 §4.1", "shall")


def _entry(seq: int, kind: str, direction: str, data: dict[str, object]) -> Entry:
    return Entry(seq=seq, t=0.0, actor=ACTOR, kind=kind, summary="", direction=direction,
                 conn="load", data=data)


def message_entries(opcode: str, payload: bytes, seq: int = 1) -> tuple[list[Entry], SipMessage | None]:
    """The entries the conformance WIC emulator records for one received WebSocket message
    (numbered from `seq`), and the SIP message when it parses (None for a keep-alive or junk)."""
    kind, data, message = _parsed(opcode, payload)
    return _entries(opcode, payload, kind, data, seq), message


def _parsed(opcode: str, payload: bytes) -> tuple[str | None, dict[str, object] | None, SipMessage | None]:
    """What parsing one received WebSocket message found: the kind and data of its `sip` or
    `sip.error` entry (None for a keep-alive), and the SIP message when it parses."""
    if is_keepalive(payload):
        return None, None, None
    try:
        result = parse(payload)
    except SipParseError as exc:
        return SIP_ERROR, {"raw": payload, "offset": exc.offset, "reason": exc.reason}, None
    message = result.message
    data: dict[str, object] = {"raw": payload, "start_line": message.start_line,
                               "call_id": message.call_id, "opcode": opcode}
    if result.excess:
        data["excess"] = result.excess
    return SIP, data, message


def _entries(opcode: str, payload: bytes, kind: str | None, data: dict[str, object] | None,
             seq: int) -> list[Entry]:
    """The `ws.message` entry of one received message (numbered `seq`) and, unless it is a
    keep-alive, its `sip` or `sip.error` entry (`seq` + 1) from what `_parsed` found: `data`
    itself, given the number of its `ws.message` (each message's dict is judged once)."""
    text: str | bytes = payload
    if opcode == "text":
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = payload
    entries = [_entry(seq, WS_MESSAGE, "rx", {"opcode": opcode, "length": len(payload),
                                               "payload": text, "frames": []})]
    if kind is not None and data is not None:
        data["ws_message"] = seq
        entries.append(_entry(seq + 1, kind, "rx", data))
    return entries


def judge_message(opcode: str, payload: bytes) -> tuple[SipMessage | None, list[Violation]]:
    """One received WebSocket message judged by every message rule."""
    entries, message = message_entries(opcode, payload)
    return message, _violations(MESSAGE_RULES, entries, partial(_text, payload))


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", "replace")


BATCH = 8  # received messages judged together (`Batch`): 8 keeps nearly all of the saving
# of 32 (measured) while a user holds at most 8 messages unjudged (their bytes, a small dict)


class Batch:
    """One connection's received messages, judged by every message rule `BATCH` at a time.

    Each rule is a check over a list of entries that passes a list only when it passes each
    of its messages (one SIP message per WebSocket message, valid UTF-8, nothing but SIP and
    keep-alives: a single bad message fails the list). So a batch that passes every rule is
    each of its messages judged PASS, for about half the cost of judging them one by one (the
    checks' cost is mostly per call; issue 12: the client's CPU per REGISTER); a batch that
    does not is judged again message by message, exactly as `judge_message` would, for the
    count and the sample of each violation. Not thread-safe (one per connection)."""

    def __init__(self) -> None:
        # what parsing each message found (`_parsed`): its entries are made when judged
        self.pending: list[tuple[str, bytes, str | None, dict[str, object] | None]] = []

    def add(self, opcode: str, payload: bytes) -> SipMessage | None:
        """Record one received WebSocket message for judging; its SIP message, if it parses."""
        kind, data, message = _parsed(opcode, payload)
        self.pending.append((opcode, payload, kind, data))
        return message

    def full(self) -> bool:
        return len(self.pending) >= BATCH

    def judge(self) -> tuple[int, list[Violation]]:
        """The messages recorded since the last call, judged: their number and violations."""
        pending, self.pending = self.pending, []
        if not pending:
            return 0, []
        entries: list[Entry] = []
        each: list[tuple[list[Entry], bytes]] = []
        for opcode, payload, kind, data in pending:
            own = _entries(opcode, payload, kind, data, len(entries) + 1)
            entries += own
            each.append((own, payload))
        if _passes(MESSAGE_RULES, entries):
            return len(pending), []
        found: list[Violation] = []
        for own, payload in each:
            found += _violations(MESSAGE_RULES, own, partial(_text, payload))
        return len(pending), found


def judge_handshake(request_headers: list[list[str]], status: int,
                    response_headers: list[list[str]]) -> list[Violation]:
    """EPC-HS-01 on one connection's 101: `sip` selected, Sec-WebSocket-Accept right."""
    entries = [
        _entry(1, HTTP_REQUEST, "tx", {"headers": request_headers}),
        _entry(2, HTTP_RESPONSE, "rx", {"headers": response_headers, "status": status,
                                        "raw": "", "error": None}),
    ]
    return _violations((HANDSHAKE_RULE,), entries, lambda: f"HTTP/1.1 {status}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in response_headers))


def _passes(rules: tuple[Rule, ...], entries: list[Entry]) -> bool:
    """Every rule's judgement on `entries` is PASS (or it does not apply)."""
    for rule in rules:
        judgement = rule.check(entries, ACTOR)
        if judgement is not None and judgement.verdict is not Verdict.PASS:
            return False
    return True


def _violations(rules: tuple[Rule, ...], entries: list[Entry],
                shown: Callable[[], str]) -> list[Violation]:
    """The rules' non-PASS judgements; `shown` (the sample) is made only for those."""
    found = []
    for rule in rules:
        judgement = rule.check(entries, ACTOR)
        if judgement is None or judgement.verdict is Verdict.PASS:
            continue
        found.append(Violation(rule.check.__name__, rule.requirement, rule.clause, rule.strength,
                               judgement.verdict.value, judgement.reason,
                               Redactor().text(shown())[:SAMPLE]))  # tokens, digest responses
    return found
