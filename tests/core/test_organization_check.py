"""harness.checks.organization (EPC-SES-03) on timelines built in memory: every INVITE the
core received after a foreign-token registration carries Organization with the WWSF
identity; the WIC's own Organization is replaced or the INVITE refused."""

from __future__ import annotations

import pytest

from harness import evidence as ev
from harness.checks.organization import organization, organizations
from harness.evidence import Timeline
from harness.sip import parse
from harness.verdicts import Verdict

WWSF = "https://auth.wwsf-elsewhere.example"
EVIL = "Evil Corp, Inc."  # a comma: Organization is not a list header


def invite(cseq: int, *headers: str, call_id: str = "i1") -> bytes:
    lines = ["INVITE sip:bob@ims.example.test SIP/2.0", f"Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK{cseq}",
             "Max-Forwards: 70", "To: <sip:bob@ims.example.test>", "From: <sip:alice@ims.example.test>;tag=1",
             f"Call-ID: {call_id}", f"CSeq: {cseq} INVITE", *headers, "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def answer(cseq: int, status: str, call_id: str = "i1") -> bytes:
    lines = [f"SIP/2.0 {status}", f"Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK{cseq}",
             "To: <sip:bob@ims.example.test>;tag=2", "From: <sip:alice@ims.example.test>;tag=1",
             f"Call-ID: {call_id}", f"CSeq: {cseq} INVITE", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


class Case:
    def __init__(self) -> None:
        self.t = Timeline()
        self.since = self.t.put("wic", "registered", ev.note({"text": "REGISTER with a foreign token"})).seq

    def put(self, actor: str, direction: str, raw: bytes) -> int:
        return self.t.put(actor, direction, ev.sip({"raw": raw, "start_line": "", "call_id": "", "cseq": ""}),
                          direction=direction, conn="c").seq

    def judge(self) -> tuple[Verdict, str, tuple[int, ...]]:
        j = organization(list(self.t), since=self.since, identity=WWSF)
        return j.verdict, j.reason, j.evidence


def two_calls(second_at_core: bytes | None, second_answer: str = "200 OK") -> Case:
    """A plain INVITE (the SUT adds the identity), then one with the WIC's own Organization."""
    case = Case()
    case.put("wic", "tx", invite(1))
    case.put("core", "rx", invite(1, f"Organization: {WWSF}"))
    case.put("wic", "rx", answer(1, "200 OK"))
    case.put("wic", "tx", invite(1, f"Organization: {EVIL}", call_id="i2"))
    if second_at_core is not None:
        case.put("core", "rx", second_at_core)
    case.put("wic", "rx", answer(1, second_answer, call_id="i2"))
    return case


def test_organization_lines_are_not_split_at_commas() -> None:
    msg = parse(invite(1, f"Organization: {EVIL}", "organization:  x ")).message
    assert organizations(msg) == [EVIL, "x"]


def test_identity_added_and_the_wics_value_replaced_pass_citing_both_invites() -> None:
    case = two_calls(invite(1, f"Organization: {WWSF}", call_id="i2"))
    verdict, reason, cited = case.judge()
    assert verdict is Verdict.PASS, reason
    assert "2 INVITE(s) reached the core with Organization: " + WWSF in reason
    core = [e.seq for e in case.t if e.actor == "core"]
    assert set(core) <= set(cited)


def test_the_wics_value_refused_passes_with_the_status() -> None:
    case = two_calls(None, "403 Forbidden")
    verdict, reason, _ = case.judge()
    assert verdict is Verdict.PASS, reason
    assert "refused with 403" in reason


def test_the_wics_value_passed_through_fails() -> None:
    case = two_calls(invite(1, f"Organization: {EVIL}", call_id="i2"))
    verdict, reason, cited = case.judge()
    assert verdict is Verdict.FAIL
    assert f"the WIC's own Organization {EVIL!r} reached the core" in reason
    assert [e.seq for e in case.t if e.actor == "core"][-1] in cited


def test_the_wics_value_next_to_the_identity_fails() -> None:
    case = two_calls(invite(1, f"Organization: {WWSF}", f"Organization: {EVIL}", call_id="i2"))
    assert case.judge()[0] is Verdict.FAIL


def test_an_invite_without_organization_fails_even_when_the_other_is_right() -> None:
    case = Case()
    case.put("wic", "tx", invite(1))
    case.put("core", "rx", invite(1))
    case.put("wic", "tx", invite(1, f"Organization: {EVIL}", call_id="i2"))
    case.put("core", "rx", invite(1, f"Organization: {WWSF}", call_id="i2"))
    verdict, reason, _ = case.judge()
    assert verdict is Verdict.FAIL
    assert "without Organization" in reason


@pytest.mark.parametrize(("value", "verdict"), [
    ("https://auth.operator.example", Verdict.FAIL),  # another identity
    (f'"<{WWSF}>"', Verdict.PASS),  # the identity, quoted and bracketed
])
def test_the_value_at_the_core_must_name_the_identity(value: str, verdict: Verdict) -> None:
    case = Case()
    case.put("wic", "tx", invite(1))
    case.put("core", "rx", invite(1, f"Organization: {value}"))
    got, reason, _ = case.judge()
    assert got is verdict, reason
    if verdict is Verdict.FAIL:
        assert "not the WWSF identity" in reason


def test_the_wics_value_neither_forwarded_nor_refused_fails() -> None:
    case = two_calls(None, "200 OK")
    verdict, reason, _ = case.judge()
    assert verdict is Verdict.FAIL
    assert "neither reached the core nor was refused (answered 200)" in reason


def test_nothing_at_the_core_is_no_pass() -> None:
    case = Case()
    case.put("wic", "tx", invite(1, f"Organization: {EVIL}"))
    case.put("wic", "rx", answer(1, "403 Forbidden"))
    verdict, reason, _ = case.judge()
    assert verdict is Verdict.FAIL
    assert "no INVITE reached the core" in reason


def test_invites_before_the_registration_are_not_judged() -> None:
    case = Case()
    case.put("core", "rx", invite(1, call_id="before"))
    case.since = case.put("wic", "tx", invite(1, call_id="marker"))
    case.put("wic", "tx", invite(2))
    case.put("core", "rx", invite(2, f"Organization: {WWSF}"))
    assert case.judge()[0] is Verdict.PASS
