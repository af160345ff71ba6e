"""The WIC's SDP in its calls, judged with the JSEP checker (WIC-SES-01..03).

Every SDP body the WIC sends in a case is judged, both directions of every call: its
offers (an initial or re-INVITE, a 2xx to an offerless INVITE) with `check_offer`
(WIC-SES-01, SEED 5.1.X.2, RFC 9429 §5.2), its answers (a 2xx or a 18x to wicct's offer,
an ACK answering wicct's offer in a 2xx) with `check_answer` and `answer_fits` against the
offer wicct sent (WIC-SES-02, SEED 5.1.X.3, RFC 9429 §5.3; or WIC-SES-03 when the case
judges the WIC's answer to an IMS-style offer). Offer/answer follows RFC 3264 §4 and
RFC 3261 §13.2.1: per dialog (Call-ID), the last offer waits for its answer.

A body judged once is not judged again (a retransmitted 2xx repeats its answer). A body
that does not parse is a FAIL naming the line the parser refused (the checker's
`sdp-parse` rule), never an error. The checker's findings keep their strength: shall and
should FAIL at that strength, the soft checks are INFORMATIONAL and go into the note of
the body's PASS. Pure: no I/O.

`alerting_before_answer` judges SEED 5.1.X.3 / WIC-SES-02's "180 before 200": each INVITE
wicct sent that the WIC answered with a 2xx had a 180 from it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.checks.registry import rejudgeable
from harness.checks.transport import sip_messages
from harness.evidence import Entry, sip
from harness.sdp.checker import check_answer, check_offer
from harness.sdp.findings import SdpFinding, SdpJudgement
from harness.sip import SipMessage, SipParseError
from harness.verdicts import Strength, Verdict

OFFER_REQUIREMENT = "WIC-SES-01"
ANSWER_REQUIREMENT = "WIC-SES-02"


@dataclass(frozen=True)
class SdpVerdict:
    """One finding on one SDP body (or on a missing one), for one requirement."""

    requirement: str
    verdict: Verdict
    strength: Strength
    reason: str
    evidence: tuple[int, ...]
    note: str = ""


@dataclass(frozen=True)
class _Offer:
    sdp: str
    seq: int
    by_wic: bool
    what: str


def _sdp(message: SipMessage) -> str | None:
    """The SDP body of `message`, or None (no body, or another content type)."""
    if not message.body:
        return None
    kind = (message.header("Content-Type") or "application/sdp").split(";")[0].strip().lower()
    if kind != "application/sdp":
        return None
    return message.body.decode("utf-8", "replace")


def _what(message: SipMessage) -> str:
    if message.is_request:
        again = "re-" if message.method == "INVITE" and message.to.tag is not None else ""
        return f"{again}{message.method} (CSeq {message.cseq.number})"
    return f"{message.status} to {message.cseq.method} (CSeq {message.cseq.number})"


def _messages(entries: list[Entry], actor: str) -> list[tuple[Entry, SipMessage, bool]]:
    """`actor`'s SIP messages both ways in timeline order; True: from the WIC."""
    return [(e, m, e.direction == "rx") for e, m in sip_messages(entries, actor)]


def _carries_offer_answer(message: SipMessage) -> bool:
    """INVITE, its 18x/2xx, and ACK carry offers and answers here (RFC 3261 §13.2.1)."""
    if message.is_request:
        return message.method in ("INVITE", "ACK")
    status = message.status or 0
    return message.cseq.method == "INVITE" and 100 < status < 300


@rejudgeable
def judge_wic_sdp(entries: list[Entry], actor: str, *,
                  answer_requirement: str = ANSWER_REQUIREMENT) -> list[SdpVerdict]:
    """Every SDP offer and answer the WIC sent to `actor` (wicct's eP-CSCF), judged."""
    pending: dict[str, _Offer] = {}  # per Call-ID: the offer waiting for its answer
    offered: set[str] = set()  # Call-IDs whose WIC already made an offer (initial or not)
    seen: set[tuple[object, ...]] = set()
    out: list[SdpVerdict] = []
    for entry, message, by_wic in _messages(entries, actor):
        try:
            if not _carries_offer_answer(message):
                continue
            call_id = message.call_id
            initial_invite = message.is_request and message.method == "INVITE" and message.to.tag is None
        except SipParseError:
            continue
        sdp = _sdp(message)
        if sdp is None:
            if by_wic and initial_invite:
                out.append(SdpVerdict(OFFER_REQUIREMENT, Verdict.FAIL, Strength.SHALL,
                                      f"the WIC's {_what(message)} carries no SDP offer",
                                      (entry.seq,)))
            continue
        key = (call_id, message.cseq.number, message.is_request, sdp, by_wic)
        if key in seen:
            continue  # a retransmission, or the same answer again in the 2xx after a 18x
        seen.add(key)
        offer = pending.get(call_id)
        is_answer = offer is not None and offer.by_wic != by_wic and (
            message.method == "ACK" if message.is_request else True)
        if not by_wic:
            if is_answer:
                pending.pop(call_id, None)
            else:
                pending[call_id] = _Offer(sdp, entry.seq, False, _what(message))
            continue
        if is_answer and offer is not None:
            pending.pop(call_id, None)
            judged = check_answer(sdp, requirement=answer_requirement, offer=offer.sdp)
            out += _verdicts(judged, answer_requirement, f"the WIC's answer in its {_what(message)} to wicct's "
                             f"offer in {offer.what}", (offer.seq, entry.seq))
        else:
            judged = check_offer(sdp, requirement=OFFER_REQUIREMENT,
                                 initial=call_id not in offered)
            offered.add(call_id)
            pending[call_id] = _Offer(sdp, entry.seq, True, _what(message))
            out += _verdicts(judged, OFFER_REQUIREMENT, f"the WIC's offer in its {_what(message)}", (entry.seq,))
    return out


SHOWN_FINDINGS = 20  # failures of one SDP body reported one by one; the rest counted
NOTES_CHARS = 2000  # the informational notes of one body, shown up to this length


def _verdicts(judged: SdpJudgement, requirement: str, where: str, evidence: tuple[int, ...]) -> Iterator[SdpVerdict]:
    """The judgement of one body as verdicts: a PASS, or its failures (the first
    `SHOWN_FINDINGS`, the last of which counts the rest), all sharing one note: a body of
    5000 m= sections stays a few findings, not 20000 each carrying every note (issue 11)."""
    notes = "; ".join(_line(f) for f in judged.notes)
    if len(notes) > NOTES_CHARS:
        notes = f"{notes[:NOTES_CHARS]}... ({len(judged.notes)} notes)"
    note = f"informational: {notes}" if notes else ""
    if judged.passed:
        sections = "; ".join(judged.media) or "no m= section"
        if len(sections) > NOTES_CHARS:
            sections = f"{sections[:NOTES_CHARS]}... ({len(judged.media)} m= sections)"
        yield SdpVerdict(requirement, Verdict.PASS, Strength.SHALL,
                         f"{where} conforms ({sections})", evidence, note=note)
        return
    failures = sorted(judged.failures, key=lambda f: f.strength != Strength.SHALL)  # shall first
    shown = failures[:SHOWN_FINDINGS]
    for n, finding in enumerate(shown, 1):
        more = len(failures) - len(shown)
        rest = f"; and {more} more finding(s) on this body" if n == len(shown) and more else ""
        yield SdpVerdict(finding.requirement, Verdict.FAIL, finding.strength,
                         f"{where}: {_line(finding)} ({finding.clause}){rest}", evidence, note=note)


def _line(finding: SdpFinding) -> str:
    shown = finding.text if len(finding.text) <= 80 else finding.text[:77] + "..."
    return f"line {finding.line} `{shown}` [{finding.rule}, {finding.level}]: {finding.reason}"


@rejudgeable
def alerting_before_answer(entries: list[Entry], actor: str) -> list[SdpVerdict]:
    """WIC-SES-02 (SEED 5.1.X.3): the WIC sent 180 before the 2xx to each initial INVITE
    wicct sent it. An INVITE it did not answer with a 2xx is not judged, nor one whose 180
    came after another SIP message in the same WebSocket message (the framing monitor's
    WIC-FR-01 FAIL: whether it counts as alerting is not this check's to say)."""
    invites: dict[tuple[str, int], int] = {}
    ringing: dict[tuple[str, int], int] = {}
    out: list[SdpVerdict] = []
    for entry, message, by_wic in _messages(entries, actor):
        try:
            if message.is_request:
                if not by_wic and message.method == "INVITE" and message.to.tag is None:
                    invites.setdefault((message.call_id, message.cseq.number), entry.seq)
                continue
            key = (message.call_id, message.cseq.number)
            if not by_wic or message.cseq.method != "INVITE" or key not in invites:
                continue
        except SipParseError:
            continue
        status = message.status or 0
        if b"SIP/2.0 180" in bytes(sip.of(entry).get("excess") or b""):
            invites.pop(key, None)  # a 180 behind another message: WIC-FR-01's finding, not judged
            continue
        if status == 180:
            ringing.setdefault(key, entry.seq)
        elif 200 <= status < 300 and key in invites:
            sent = invites.pop(key)
            if key in ringing:
                out.append(SdpVerdict(ANSWER_REQUIREMENT, Verdict.PASS, Strength.SHALL,
                                      "the WIC sent 180 Ringing before its 2xx to wicct's "
                                      f"INVITE (CSeq {key[1]})", (sent, ringing[key], entry.seq)))
            else:
                out.append(SdpVerdict(ANSWER_REQUIREMENT, Verdict.FAIL, Strength.SHALL,
                                      f"the WIC answered wicct's INVITE (CSeq {key[1]}) with "
                                      f"{status} and no 180 before it (SEED 5.1.X.3: alerting "
                                      "before answer)", (sent, entry.seq)))
    return out
