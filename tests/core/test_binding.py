"""EPC-REG-04 checks (harness.checks.binding) on timelines built in memory, and the reference
eP-CSCF's IMPU binding table."""

from __future__ import annotations

from harness.checks import binding
from harness.evidence import SIP, Timeline
from harness.sip import parse
from harness.suts.reference.epcscf.binding import ImpuBindings
from harness.verdicts import Verdict

IMPU = "sip:alice@ims.example.test"


def request(method: str, call_id: str, *, from_: str = f"<{IMPU}>", ppi: str | None = None, cseq: int = 1) -> bytes:
    extra = f"P-Preferred-Identity: {ppi}\r\n" if ppi else ""
    return (
        f"{method} sip:bob@ims.example.test SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK{call_id}\r\n"
        f"Max-Forwards: 70\r\nTo: <sip:bob@ims.example.test>\r\nFrom: {from_};tag=1\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n{extra}Content-Length: 0\r\n\r\n"
    ).encode()


def response(status: int, reason: str, method: str, call_id: str, cseq: int = 1) -> bytes:
    return (
        f"SIP/2.0 {status} {reason}\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK{call_id}\r\n"
        f"To: <sip:bob@ims.example.test>;tag=9\r\nFrom: <{IMPU}>;tag=1\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def put(t: Timeline, actor: str, direction: str, conn: str, raw: bytes) -> int:
    return t.add(actor, SIP, f"{direction} {raw.split(b' ', 2)[:2]}", direction=direction, conn=conn, raw=raw).seq


def claim_on_b(t: Timeline, method: str = "INVITE", call_id: str = "b1", **kw: str) -> binding.Claim:
    seq = put(t, "wic", "tx", "c2", request(method, call_id, **kw))
    claim = binding.claim_of(t[seq])
    assert claim is not None
    return claim


def test_a_403_on_the_claiming_connection_passes_both_parts() -> None:
    t = Timeline()
    claim = claim_on_b(t)
    put(t, "wic", "rx", "c2", response(403, "Forbidden", "INVITE", "b1"))
    judged = binding.refused(list(t), claim, IMPU)
    assert judged is not None
    shall, should = judged
    assert shall.verdict is Verdict.PASS and should is not None and should.verdict is Verdict.PASS
    assert shall.evidence == (1, 2)


def test_another_4xx_passes_the_shall_part_and_fails_the_preferred_form() -> None:
    t = Timeline()
    claim = claim_on_b(t, "MESSAGE")
    put(t, "wic", "rx", "c2", response(401, "Unauthorized", "MESSAGE", "b1"))
    judged = binding.refused(list(t), claim, IMPU)
    assert judged is not None
    shall, should = judged
    assert shall.verdict is Verdict.PASS
    assert should is not None and should.verdict is Verdict.FAIL and "not the preferred 403" in should.reason


def test_an_accepted_claim_or_another_class_fails() -> None:
    for status, reason in ((200, "OK"), (500, "Server Error"), (302, "Moved")):
        t = Timeline()
        claim = claim_on_b(t)
        put(t, "wic", "rx", "c2", response(status, reason, "INVITE", "b1"))
        judged = binding.refused(list(t), claim, IMPU)
        assert judged is not None
        assert judged[0].verdict is Verdict.FAIL and judged[1] is None, status


def test_a_refusal_sent_over_the_other_connection_fails() -> None:
    t = Timeline()
    claim = claim_on_b(t)
    put(t, "wic", "rx", "c1", response(403, "Forbidden", "INVITE", "b1"))
    judged = binding.refused(list(t), claim, IMPU)
    assert judged is not None and judged[0].verdict is Verdict.FAIL and "not c2" in judged[0].reason


def test_no_final_response_is_left_to_the_step() -> None:
    t = Timeline()
    claim = claim_on_b(t)
    put(t, "wic", "rx", "c2", response(100, "Trying", "INVITE", "b1"))
    assert binding.refused(list(t), claim, IMPU) is None


def test_a_claim_at_the_core_asserting_the_impu_fails_by_call_id_or_by_window() -> None:
    # same Call-ID (a proxy)
    t = Timeline()
    claim = claim_on_b(t, ppi=f"<{IMPU}>")
    core = put(t, "core", "rx", "core-udp", request("INVITE", "b1", from_="<sip:anonymous@anonymous.invalid>",
                                                    ppi=f"<{IMPU}>"))
    judged = binding.never_forwarded(list(t), [claim], IMPU, "watched 2 s")
    assert judged is not None and judged.verdict is Verdict.FAIL and "P-Preferred-Identity" in judged.reason
    assert core in judged.evidence and claim.seq in judged.evidence
    # a new Call-ID (topology hiding), before the WIC sent anything over its own connection
    t = Timeline()
    claim = claim_on_b(t)
    put(t, "core", "rx", "core-udp", request("INVITE", "hidden-1"))
    judged = binding.never_forwarded(list(t), [claim], IMPU, "watched 2 s")
    assert judged is not None and judged.verdict is Verdict.FAIL


def test_the_wic_s_own_requests_at_the_core_are_not_a_claim_s() -> None:
    t = Timeline()
    put(t, "wic", "tx", "c1", request("REGISTER", "a0"))
    put(t, "core", "rx", "core-udp", request("REGISTER", "a0"))
    claim = claim_on_b(t)
    put(t, "wic", "tx", "c1", request("INVITE", "a1"))
    put(t, "core", "rx", "core-udp", request("INVITE", "a1"))
    put(t, "core", "rx", "core-udp", request("INVITE", "hidden-a2"))  # after A sent: not B's
    judged = binding.never_forwarded(list(t), [claim], IMPU, "watched 2 s")
    assert judged is not None and judged.verdict is Verdict.PASS
    assert "watched 2 s" in judged.reason and judged.evidence == (claim.seq,)


def test_a_claim_forwarded_without_the_identity_is_no_fail_of_this_part() -> None:
    t = Timeline()
    claim = claim_on_b(t)
    core = put(t, "core", "rx", "core-udp", request("INVITE", "b1", from_="<sip:anonymous@anonymous.invalid>"))
    judged = binding.never_forwarded(list(t), [claim], IMPU, "watched 2 s")
    assert judged is not None and judged.verdict is Verdict.PASS and core in judged.evidence
    assert "none asserting" in judged.reason
    assert binding.never_forwarded(list(t), [], IMPU, "watched") is None


def test_the_registration_s_2xx_comes_back_over_the_registering_connection() -> None:
    t = Timeline()
    seq = put(t, "wic", "tx", "c1", request("REGISTER", "r1"))
    register = binding.claim_of(t[seq])
    assert register is not None
    assert binding.registered_over(list(t), register) is None  # nothing yet
    put(t, "wic", "rx", "c1", response(200, "OK", "REGISTER", "r1"))
    judged = binding.registered_over(list(t), register)
    assert judged is not None and judged.verdict is Verdict.PASS
    put(t, "wic", "rx", "c2", response(200, "OK", "REGISTER", "r1"))
    judged = binding.registered_over(list(t), register)
    assert judged is not None and judged.verdict is Verdict.FAIL and "c2" in judged.reason


def test_asserted_names_each_identity_header_once_and_compares_user_and_host() -> None:
    message = parse(request("INVITE", "x", from_=f'"Not Alice" <{IMPU};user=phone>',
                            ppi="<sip:alice@IMS.example.test>")).message
    assert binding.asserted(message, IMPU) == ["From", "P-Preferred-Identity"]
    assert binding.asserted(message, "sip:bob@ims.example.test") == []
    assert binding.same_impu("sips:alice@ims.example.test", IMPU)


def test_the_reference_binds_the_p_associated_uris_else_the_to() -> None:
    table = ImpuBindings()
    register = parse(
        b"REGISTER sip:ims.example.test SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bKr\r\n"
        b"To: <sip:alice@ims.example.test>\r\nFrom: <sip:alice@ims.example.test>;tag=1\r\n"
        b"Call-ID: r\r\nCSeq: 1 REGISTER\r\nContact: <sip:x@a.invalid;transport=ws>\r\n"
        b"Expires: 600\r\nContent-Length: 0\r\n\r\n"
    ).message
    ok = parse(response(200, "OK", "REGISTER", "r")).message
    assert table.registered("A", register, ok) == {"alice@ims.example.test"}
    claim = parse(request("INVITE", "b", from_="<sip:carol@ims.example.test>",
                          ppi="<sip:alice@ims.example.test>")).message
    assert table.foreign_claim("B", claim) == "alice@ims.example.test"
    assert table.foreign_claim("A", claim) is None
    with_pau = ok.replace_header("P-Associated-URI", "<sip:carol@ims.example.test>, <tel:+15551234>")
    table.registered("A", register, with_pau)
    assert table.foreign_claim("B", parse(request("MESSAGE", "c", from_="<sip:carol@ims.example.test>")).message)
    unregister = register.replace_header("Expires", "0")
    table.registered("A", unregister, ok)  # alice released, carol still bound
    assert table.foreign_claim("B", claim) == "carol@ims.example.test"
    alice_only = parse(request("INVITE", "d", from_="<sip:bob@ims.example.test>",
                               ppi="<sip:alice@ims.example.test>")).message
    assert table.foreign_claim("B", alice_only) is None
    table.forget("A")
    assert table.flows == {}
