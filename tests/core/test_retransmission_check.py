"""BOTH-TP-04 on every message (`checks.retransmission.no_copies_over_ws`): a copy the SUT
sent over the WebSocket FAILs unless wicct's own copies provoked it or an RFC exempts it."""

from harness.checks.retransmission import no_copies_over_ws
from harness.evidence import SIP, SIP_ERROR, Timeline
from harness.verdicts import Verdict


def request(method: str = "OPTIONS", cseq: int = 1, branch: str = "z9hG4bK1", call_id: str = "c1") -> bytes:
    return (
        f"{method} sip:bob@ims.example.test SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch={branch}\r\n"
        f"Max-Forwards: 70\r\nTo: <sip:bob@ims.example.test>\r\nFrom: <sip:a@ims.example.test>;tag=1\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def response(status: int = 200, method: str = "OPTIONS", extra: str = "", branch: str = "z9hG4bK1") -> bytes:
    return (
        f"SIP/2.0 {status} X\r\nVia: SIP/2.0/WSS a.invalid;branch={branch}\r\n"
        f"To: <sip:bob@ims.example.test>;tag=9\r\nFrom: <sip:a@ims.example.test>;tag=1\r\n"
        f"Call-ID: c1\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
    ).encode()


def judge(*items: tuple[str, str, bytes], conn: str = "ws1"):
    t = Timeline()
    for actor, direction, raw in items:
        t.add(actor, SIP, f"{direction} sip", direction=direction, conn=conn, raw=raw)
    return no_copies_over_ws(list(t), "wic")


def test_a_response_sent_twice_to_one_request_fails_and_cites_both_copies():
    j = judge(("wic", "tx", request()), ("wic", "rx", response()), ("wic", "rx", response()))
    assert j.verdict is Verdict.FAIL and j.evidence == (2, 3)
    assert "200 response" in j.reason and "2 times" in j.reason


def test_a_request_sent_twice_fails_whatever_its_method():
    for method in ("MESSAGE", "BYE", "REGISTER"):
        j = judge(("wic", "rx", request(method)), ("wic", "rx", request(method)))
        assert j.verdict is Verdict.FAIL, method


def test_one_copy_each_passes_with_the_count_and_window():
    j = judge(("wic", "tx", request()), ("wic", "rx", response(100)), ("wic", "rx", response()),
              ("wic", "rx", request("MESSAGE", branch="z9hG4bK2")))
    assert j.verdict is Verdict.PASS and j.evidence == (2, 3, 4)
    assert j.reason.startswith("3 SIP message(s)") and "watched over" in j.reason


def test_wicct_s_own_retransmitted_request_allows_the_response_again():
    """RFC 3261 §17.2.2: each retransmitted request is answered again."""
    j = judge(("wic", "tx", request()), ("wic", "tx", request()),
              ("wic", "rx", response()), ("wic", "rx", response()))
    assert j.verdict is Verdict.PASS
    j = judge(("wic", "tx", request()), ("wic", "tx", request()),
              *[("wic", "rx", response())] * 3)
    assert j.verdict is Verdict.FAIL


def test_a_response_wicct_sent_twice_on_the_core_hop_may_be_relayed_twice():
    j = judge(("wic", "tx", request()), ("core", "tx", response()), ("core", "tx", response()),
              ("wic", "rx", response()), ("wic", "rx", response()))
    assert j.verdict is Verdict.PASS


def test_2xx_to_invite_ack_and_reliable_1xx_are_exempt():
    j = judge(("wic", "tx", request("INVITE")), ("wic", "rx", response(180, "INVITE", "RSeq: 1\r\n")),
              ("wic", "rx", response(180, "INVITE", "RSeq: 1\r\n")),
              ("wic", "rx", response(200, "INVITE")), ("wic", "rx", response(200, "INVITE")),
              ("wic", "rx", request("ACK", branch="z9hG4bK7")), ("wic", "rx", request("ACK", branch="z9hG4bK7")))
    assert j.verdict is Verdict.PASS and "exempt copies: 6" in j.reason
    # a non-reliable 180 sent twice, or a final non-2xx to INVITE, is a copy
    assert judge(("wic", "rx", response(180, "INVITE")), ("wic", "rx", response(180, "INVITE"))).verdict is Verdict.FAIL
    assert judge(("wic", "rx", response(486, "INVITE")), ("wic", "rx", response(486, "INVITE"))).verdict is Verdict.FAIL


def test_copies_on_another_connection_or_another_actor_are_not_copies():
    t = Timeline()
    t.add("wic", SIP, "rx", direction="rx", conn="ws1", raw=request())
    t.add("wic", SIP, "rx", direction="rx", conn="ws2", raw=request())
    t.add("core", SIP, "rx", direction="rx", conn="udp", raw=request("MESSAGE"))
    t.add("core", SIP, "rx", direction="rx", conn="udp", raw=request("MESSAGE"))
    assert no_copies_over_ws(list(t), "wic").verdict is Verdict.PASS


def test_nothing_from_the_sut_is_no_judgement():
    assert judge(("wic", "tx", request())) is None
    assert no_copies_over_ws([], "wic") is None


def with_errors(*items: tuple[str, str, str, bytes], conn: str = "ws1"):
    t = Timeline()
    for actor, direction, kind, raw in items:
        t.add(actor, kind, f"{direction} {kind}", direction=direction, conn=conn, raw=raw)
    return no_copies_over_ws(list(t), "wic")


def test_copies_that_do_not_parse_are_counted_by_their_bytes():
    """A copy the SUT sends that does not parse is a `sip.error` entry: still a copy."""
    bad = request("MESSAGE").replace(b"CSeq: 1 MESSAGE", b"CSeq: one MESSAGE")
    other = request("OPTIONS").replace(b"CSeq: 1 OPTIONS", b"CSeq: two OPTIONS")
    j = with_errors(("wic", "rx", SIP_ERROR, bad), ("wic", "rx", SIP_ERROR, bad))
    assert j is not None and j.verdict is Verdict.FAIL and j.evidence == (1, 2)
    assert "unparsable" in j.reason
    assert "§17.2.2" in j.reason and "RFC 7118" in j.reason and "MESSAGE sip:bob@" in j.reason
    j = with_errors(("wic", "rx", SIP_ERROR, bad), ("wic", "rx", SIP_ERROR, other))
    assert j is not None and j.verdict is Verdict.PASS
    j = with_errors(("wic", "rx", SIP_ERROR, bad), ("wic", "rx", SIP, request()), ("wic", "rx", SIP_ERROR, bad))
    assert j is not None and j.verdict is Verdict.FAIL and j.evidence == (1, 3)


def test_an_unparsable_response_copy_wicct_provoked_twice_passes():
    bad = response().replace(b"Content-Length: 0", b"Content-Length: 9")
    j = with_errors(("wic", "tx", SIP, request()), ("wic", "tx", SIP, request()),
                    ("wic", "rx", SIP_ERROR, bad), ("wic", "rx", SIP_ERROR, bad))
    assert j is not None and j.verdict is Verdict.PASS
    j = with_errors(("wic", "tx", SIP, request()), *[("wic", "rx", SIP_ERROR, bad)] * 2)
    assert j is not None and j.verdict is Verdict.FAIL


def test_a_mangled_copy_of_a_request_that_parsed_is_a_copy():
    bad = request("MESSAGE").replace(b"Content-Length: 0", b"Content-Length: 7")
    j = with_errors(("wic", "rx", SIP, request("MESSAGE")), ("wic", "rx", SIP_ERROR, bad))
    assert j is not None and j.verdict is Verdict.FAIL and j.evidence == (1, 2)
    j = with_errors(("wic", "rx", SIP, request("MESSAGE")), ("wic", "rx", SIP_ERROR, bad.replace(b"c1", b"c2")))
    assert j is not None and j.verdict is Verdict.PASS


def test_both_reasons_show_the_copy_cut_and_redacted_with_the_clause():
    """A parsed copy and an unparsable copy: each FAIL quotes the offending octets (the
    first 120, a bearer token redacted) and names RFC 3261 §17.2.2 / RFC 7118."""
    token = "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl\r\n"
    message = request("MESSAGE").replace(b"Max-Forwards", token.encode() + b"Max-Forwards")
    bad = message.replace(b"CSeq: 1 MESSAGE", b"CSeq: one MESSAGE")
    for kind, raw in ((SIP, message), (SIP_ERROR, bad)):
        j = with_errors(("wic", "rx", kind, raw), ("wic", "rx", kind, raw))
        assert j is not None and j.verdict is Verdict.FAIL, kind
        assert "§17.2.2" in j.reason and "RFC 7118" in j.reason, j.reason
        assert "MESSAGE sip:" in j.reason and "<redacted" in j.reason and " octets)" in j.reason, j.reason
        assert "eyJzdWIiOiJ4In0" not in j.reason, j.reason
