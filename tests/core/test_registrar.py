"""EPC-REG-01 checks (harness.checks.registrar) on timelines built in memory: the stage of
each REGISTER the core received, Path on every one, integrity-protected per stage."""

from __future__ import annotations

from harness.checks.registrar import (
    CHALLENGE_RESPONSE,
    FIRST,
    LATER,
    forwarded_registers,
    integrity_protected,
    path_on_every_register,
)
from harness.evidence import NOTE, SIP, Timeline
from harness.profiles import INTEGRITY_PROTECTED
from harness.verdicts import Verdict

DIGEST = 'Digest username="alice@ims.example.test", realm="ims.example.test", uri="sip:ims.example.test"'


def register(cseq: int, *, auth: str | None = None, path: bool = True, call_id: str = "reg-1",
             branch: str | None = None) -> bytes:
    lines = [
        "REGISTER sip:ims.example.test SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch or f'z9hG4bKp{cseq}'}",
        f"Via: SIP/2.0/WSS a.invalid;branch=z9hG4bKw{cseq}",
        *(["Path: <sip:f1@127.0.0.1:5070;lr>"] if path else []),
        "To: <sip:alice@ims.example.test>",
        "From: <sip:alice@ims.example.test>;tag=1",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        "Contact: <sip:a@a.invalid;transport=ws>",
        *([f"Authorization: {auth}"] if auth is not None else []),
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(status: int, cseq: int, call_id: str = "reg-1") -> bytes:
    return (
        f"SIP/2.0 {status} X\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKp{cseq}\r\n"
        "To: <sip:alice@ims.example.test>;tag=9\r\nFrom: <sip:alice@ims.example.test>;tag=1\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def auth(value: str | None = None, *, quoted: bool = True) -> str:
    text = DIGEST + ', nonce="n1", response="<redacted sha256:1234abcd>"'
    if value is not None:
        text += f', integrity-protected={chr(34) + value + chr(34) if quoted else value}'
    return text


def exchange(first: str | None = None, retry: str | None = "tls-pending", later: str | None = "tls-yes",
             *, quoted: bool = True, path: bool = True) -> Timeline:
    """first REGISTER → 401, retry → 200, two later REGISTERs → 200."""
    t = Timeline()
    t.add("core", SIP, "rx", direction="rx", raw=register(1, auth=auth(first, quoted=quoted)))
    t.add("core", SIP, "tx", direction="tx", raw=answer(401, 1))
    t.add("core", SIP, "rx", direction="rx", raw=register(2, auth=auth(retry, quoted=quoted), path=path))
    t.add("core", SIP, "tx", direction="tx", raw=answer(200, 2))
    for cseq in (3, 4):
        t.add("core", SIP, "rx", direction="rx", raw=register(cseq, auth=auth(later, quoted=quoted)))
        t.add("core", SIP, "tx", direction="tx", raw=answer(200, cseq))
    return t


def test_each_register_has_the_stage_of_its_registration():
    registers = forwarded_registers(list(exchange()))
    assert [r.stage for r in registers] == [FIRST, CHALLENGE_RESPONSE, LATER, LATER]
    assert [r.values for r in registers] == [(), ("tls-pending",), ("tls-yes",), ("tls-yes",)]
    assert [r.entry for r in registers] == [1, 3, 5, 7]


def test_a_retransmission_keeps_the_stage_of_its_first_copy():
    t = Timeline()
    t.add("core", SIP, "rx", direction="rx", raw=register(1, auth=auth()))
    t.add("core", SIP, "tx", direction="tx", raw=answer(401, 1))
    t.add("core", SIP, "rx", direction="rx", raw=register(1, auth=auth()))  # late copy
    assert [r.stage for r in forwarded_registers(list(t))] == [FIRST, FIRST]


def test_a_new_call_id_is_a_new_registration_and_a_2xx_without_challenge_binds_nothing():
    t = exchange()
    t.add("core", SIP, "rx", direction="rx", raw=register(1, auth=auth(), call_id="reg-2"))
    t.add("core", SIP, "tx", direction="tx", raw=answer(200, 1, "reg-2"))
    t.add("core", SIP, "rx", direction="rx", raw=register(2, auth=auth(), call_id="reg-2"))
    assert [r.stage for r in forwarded_registers(list(t))][-2:] == [FIRST, FIRST]


def test_a_stray_from_another_case_is_not_judged():
    t = Timeline()
    stray = t.add("core", SIP, "rx", direction="rx", raw=register(1, auth=auth("no")))
    t.add("core", NOTE, "stray", stray_of=stray.seq)
    assert forwarded_registers(list(t)) == []


def test_the_profile_defaults_pass_quoted_or_not_and_say_the_values_used():
    for quoted in (True, False):
        judgement = integrity_protected(forwarded_registers(list(exchange(quoted=quoted))), INTEGRITY_PROTECTED)
        assert judgement is not None and judgement.verdict is Verdict.PASS, judgement
        assert "tls-pending" in judgement.reason and "tls-yes" in judgement.reason
        assert "unconfirmed" in judgement.reason
        assert ("(quoted)" if quoted else "(unquoted)") in judgement.reason
        assert judgement.evidence == (1, 3, 5, 7)


def test_each_wrong_stage_fails_with_its_register_cited():
    cases = [
        (exchange(first="tls-pending"), [1], "first REGISTER"),
        (exchange(first="no"), [1], "IMS AKA"),
        (exchange(retry=None), [3], "challenge response"),
        (exchange(retry="tls-yes"), [3], "challenge response"),
        (exchange(later="tls-pending"), [5, 7], "later REGISTER"),
        (exchange(later="no"), [5, 7], "IMS AKA"),
    ]
    for timeline, cited, words in cases:
        judgement = integrity_protected(forwarded_registers(list(timeline)), INTEGRITY_PROTECTED)
        assert judgement is not None and judgement.verdict is Verdict.FAIL, words
        assert list(judgement.evidence) == cited
        assert words in judgement.reason


def test_no_is_never_right_even_where_the_profile_says_so():
    settings = {**INTEGRITY_PROTECTED, "first": "no"}
    judgement = integrity_protected(forwarded_registers(list(exchange(first="no"))), settings)
    assert judgement is not None and judgement.verdict is Verdict.FAIL


def test_the_profile_values_are_what_is_judged():
    settings = {"first": "tls-pending", "challenge_response": "tls-pending", "later": "tls-yes"}
    good = integrity_protected(forwarded_registers(list(exchange(first="tls-pending"))), settings)
    bad = integrity_protected(forwarded_registers(list(exchange())), settings)
    assert good is not None and good.verdict is Verdict.PASS
    assert bad is not None and bad.verdict is Verdict.FAIL and "first REGISTER" in bad.reason


def test_a_register_without_authorization_where_a_value_is_due_fails():
    t = Timeline()
    t.add("core", SIP, "rx", direction="rx", raw=register(1))
    t.add("core", SIP, "tx", direction="tx", raw=answer(401, 1))
    t.add("core", SIP, "rx", direction="rx", raw=register(2))
    judgement = integrity_protected(forwarded_registers(list(t)), INTEGRITY_PROTECTED)
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert "no Digest Authorization" in judgement.reason and judgement.evidence == (3,)


def test_an_unparsable_authorization_fails():
    t = Timeline()
    t.add("core", SIP, "rx", direction="rx", raw=register(1, auth='Digest username="a", realm'))
    judgement = integrity_protected(forwarded_registers(list(t)), INTEGRITY_PROTECTED)
    assert judgement is not None and judgement.verdict is Verdict.FAIL and "does not parse" in judgement.reason


def test_path_is_judged_on_every_register():
    ok = path_on_every_register(forwarded_registers(list(exchange())))
    assert ok is not None and ok.verdict is Verdict.PASS and ok.evidence == (1, 3, 5, 7)
    missing = path_on_every_register(forwarded_registers(list(exchange(path=False))))
    assert missing is not None and missing.verdict is Verdict.FAIL
    assert missing.evidence == (3,) and "challenge response" in missing.reason


def test_nothing_received_is_no_judgement():
    assert integrity_protected([], INTEGRITY_PROTECTED) is None
    assert path_on_every_register([]) is None
