"""Monitors' checks cite the entries they judged, PASS included (evidence first)."""

from harness.checks import framing, transport
from harness.evidence import SIP, WS_FRAME, WS_MESSAGE, Timeline
from harness.verdicts import Verdict

REGISTER = (
    b"REGISTER sip:ims.example.test SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\n"
    b"Max-Forwards: 70\r\nTo: <sip:a@ims.example.test>\r\nFrom: <sip:a@ims.example.test>;tag=1\r\n"
    b"Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@a.invalid;transport=ws>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def timeline(contact=b"transport=ws", excess=b""):
    t = Timeline()
    t.add("epcscf", WS_FRAME, "rx text", direction="rx", masked=True, opcode="text")
    t.add("epcscf", WS_MESSAGE, "rx text", direction="rx", opcode="text", payload=REGISTER.decode())
    t.add("epcscf", SIP, "rx REGISTER", direction="rx",
          raw=REGISTER.replace(b"transport=ws", contact), excess=excess)
    return list(t)


def test_pass_cites_the_entries_checked():
    entries = timeline()
    for check in (framing.one_sip_message_per_ws_message, framing.frames_masked, framing.text_is_utf8,
                  transport.via_transport_wss, transport.contact_transport_ws):
        judgement = check(entries, "epcscf")
        assert judgement.verdict is Verdict.PASS, check
        assert judgement.evidence, check


def test_excess_after_the_message_fails_wic_fr_01():
    judgement = framing.one_sip_message_per_ws_message(timeline(excess=b"OPTIONS sip:x SIP/2.0"), "epcscf")
    assert judgement.verdict is Verdict.FAIL
    assert judgement.evidence == (3,)


def test_contact_transport_tcp_fails_and_wss_is_non_strict():
    assert transport.contact_transport_ws(timeline(b"transport=tcp"), "epcscf").verdict is Verdict.FAIL
    wss = transport.contact_transport_ws(timeline(b"transport=wss"), "epcscf")
    assert (wss.verdict, wss.note) == (Verdict.PASS, "NON-STRICT")


def test_nothing_seen_is_no_judgement():
    assert framing.frames_masked([], "epcscf") is None


OK_180 = (
    b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/WSS core.invalid;branch=z9hG4bK2\r\n"
    b"To: <sip:a@ims.example.test>;tag=9\r\nFrom: <sip:b@ims.example.test>;tag=2\r\n"
    b"Call-ID: c2\r\nCSeq: 1 INVITE\r\nContact: <sip:a@a.invalid;transport=ws>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_the_contact_of_the_sut_s_answers_to_an_invite_is_judged_too():
    """WIC-TP-02 in both directions: a WIC's 180/200 to an INVITE carries its Contact."""
    t = Timeline()
    t.add("epcscf", SIP, "rx REGISTER", direction="rx", raw=REGISTER)
    bad = t.add("epcscf", SIP, "rx 180", direction="rx",
                raw=OK_180.replace(b"transport=ws", b"transport=tcp"))
    judgement = transport.contact_transport_ws(list(t), "epcscf")
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert judgement.evidence == (bad.seq,)
    good = Timeline()
    good.add("epcscf", SIP, "rx 180", direction="rx", raw=OK_180)
    judgement = transport.contact_transport_ws(list(good), "epcscf")
    assert judgement is not None and judgement.verdict is Verdict.PASS


def masked_frames(keys):
    t = Timeline()
    for key in keys:  # a masked text frame of 5 octets: 81 85 <key>
        t.add("epcscf", WS_FRAME, "rx text", direction="rx", masked=True, opcode="text",
              raw_head="8185" + key)
    return list(t)


def test_a_masking_key_used_again_and_again_fails_wic_fr_02():
    """RFC 6455 §5.3: a fresh key per frame; a fixed (here all-zero) key is a FAIL, citing
    the frames that reuse it; distinct keys, or a key seen twice, PASS."""
    fixed = framing.frames_masked(masked_frames(["00000000"] * 3 + ["0a0b0c0d"]), "epcscf")
    assert fixed is not None and fixed.verdict is Verdict.FAIL
    assert "00000000" in fixed.reason and fixed.evidence == (1, 2, 3)
    fresh = framing.frames_masked(masked_frames(["01020304", "0a0b0c0d", "01020304", "cafebabe"]), "epcscf")
    assert fresh is not None and fresh.verdict is Verdict.PASS and "3 distinct" in fresh.reason


def sip_entry(t, direction, raw):
    return t.add("wic", SIP, f"{direction} sip", direction=direction, raw=raw)


def test_every_response_back_to_the_wic_keeps_its_sent_by():
    """EPC-TP-01: each response the WIC received (a 180 too, any method) is judged against
    the Via sent-by of the request it sent with that branch."""
    invite = REGISTER.replace(b"REGISTER sip:ims", b"INVITE sip:bob@ims").replace(b"1 REGISTER", b"1 INVITE")
    ringing = (b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1;received=127.0.0.1\r\n"
               b"To: <sip:a@ims.example.test>;tag=9\r\nFrom: <sip:a@ims.example.test>;tag=1\r\n"
               b"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
    t = Timeline()
    sip_entry(t, "tx", invite)
    sip_entry(t, "rx", ringing)
    ok = transport.sent_by_kept(list(t), "wic")
    assert ok is not None and ok.verdict is Verdict.PASS and ok.evidence == (2,)
    bad = sip_entry(t, "rx", ringing.replace(b"180 Ringing", b"200 OK").replace(b"a.invalid", b"127.0.0.1:5555"))
    judgement = transport.sent_by_kept(list(t), "wic")
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert judgement.evidence == (bad.seq,) and "200 to INVITE" in judgement.reason
    assert transport.sent_by_kept([], "wic") is None
