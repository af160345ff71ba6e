"""EPC-SES-01, EPC-SES-02, EPC-TP-03 (harness.checks.sessions) and EPC-KA-03
(harness.checks.idle) on messages and timelines built in memory; the reference eP-CSCF's
BUNDLE removal (suts/reference/epcscf/media_edge.py)."""

from __future__ import annotations

from pathlib import Path

from harness.checks.idle import idle_policy
from harness.checks.sessions import (
    Seen,
    bundle_at_core,
    bundle_lines,
    forwarded,
    record_route_ws,
    same_connection,
)
from harness.evidence import WS_CLOSE, WS_FRAME, Timeline
from harness.sip import SipMessage, parse
from harness.suts.reference.epcscf.media_edge import towards_core, unbundled
from harness.verdicts import Verdict

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "sdp"
CHROMIUM_AV = (CORPUS / "captured" / "offer-chromium-audio-video.sdp").read_text()
IMS_AUDIO = (CORPUS / "captured" / "ims-offer-core-audio.sdp").read_text()
BUNDLE_ONLY = (CORPUS / "seeded" / "offer-bundle-only.sdp").read_text()


def invite(*, body: str = "", vias: tuple[str, ...] = ("SIP/2.0/WSS a.invalid;branch=z9hG4bKwic",),
           rr: tuple[str, ...] = (), contact: str = "<sip:x@a.invalid;transport=ws>",
           call_id: str = "c1", max_forwards: int | None = None) -> SipMessage:
    """An INVITE as the WIC sent it (Max-Forwards 70), or as the SUT forwarded it: with its
    own Via on top, Max-Forwards 69 (unless given)."""
    if max_forwards is None:
        max_forwards = 69 if len(vias) > 1 else 70
    head = "".join(f"Via: {v}\r\n" for v in vias) + "".join(f"Record-Route: {r}\r\n" for r in rr)
    data = body.encode()
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    raw = (f"INVITE sip:bob@ims.example.test SIP/2.0\r\n{head}Max-Forwards: {max_forwards}\r\n"
           f"To: <sip:bob@ims.example.test>\r\nFrom: <sip:alice@ims.example.test>;tag=1\r\n"
           f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: {contact}\r\n{ctype}"
           f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    return parse(raw).message


# --- EPC-SES-01 -----------------------------------------------------------------------------


def test_bundle_lines_are_named_with_their_numbers() -> None:
    found = bundle_lines(BUNDLE_ONLY)
    assert any(text.startswith("a=group:BUNDLE") for _, text in found)
    assert any(text == "a=bundle-only" for _, text in found)
    lines = BUNDLE_ONLY.replace("\r\n", "\n").split("\n")
    assert all(lines[n - 1].strip() == text for n, text in found)


def test_bundle_at_the_core_fails_naming_the_line() -> None:
    judgement = bundle_at_core([Seen(invite(body=CHROMIUM_AV), 7)])
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert "a=group:BUNDLE 0 1" in judgement.reason and "line " in judgement.reason
    assert judgement.evidence == (7,)


def test_every_invite_is_judged_not_the_first() -> None:
    judgement = bundle_at_core([Seen(invite(body=IMS_AUDIO), 3), Seen(invite(body=BUNDLE_ONLY), 9)])
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert judgement.evidence == (9,)


def test_no_bundle_passes_citing_each_invite() -> None:
    judgement = bundle_at_core([Seen(invite(body=IMS_AUDIO), 3), Seen(invite(body=unbundled(CHROMIUM_AV.encode()).decode()), 5)])
    assert judgement is not None and judgement.verdict is Verdict.PASS
    assert judgement.evidence == (3, 5)


def test_an_sdp_that_does_not_parse_is_a_fail_naming_the_line() -> None:
    broken = IMS_AUDIO.replace("m=audio", "m=audio notaport", 1)
    judgement = bundle_at_core([Seen(invite(body=broken), 4)])
    assert judgement is not None and judgement.verdict is Verdict.FAIL
    assert "does not parse" in judgement.reason and "line " in judgement.reason


def test_no_sdp_at_the_core_is_nothing_to_judge() -> None:
    assert bundle_at_core([Seen(invite(), 1)]) is None


def test_reference_edge_strips_bundle_only_when_claimed_and_not_faulty() -> None:
    msg = invite(body=CHROMIUM_AV)
    stripped = towards_core(msg, edge_media=True, faults=frozenset())
    assert bundle_lines(stripped.body.decode()) == []
    assert stripped.header("Content-Length") == str(len(stripped.body))
    assert towards_core(msg, edge_media=False, faults=frozenset()) is msg
    assert towards_core(msg, edge_media=True, faults=frozenset({"bundle_to_core"})) is msg


# --- EPC-SES-02 -----------------------------------------------------------------------------

SUT_VIA = "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsut"
WIC_VIA = "SIP/2.0/WSS a.invalid;branch=z9hG4bKwic;received=127.0.0.1"
RR = "<sip:t@127.0.0.1:5060;transport=udp;lr>"


def test_forwarded_as_a_proxy_passes() -> None:
    got = invite(vias=(SUT_VIA, WIC_VIA), rr=(RR,))
    judgement = forwarded(Seen(invite(), 1), [Seen(got, 2)], "originating")
    assert judgement.verdict is Verdict.PASS and judgement.evidence == (1, 2)
    assert RR in judgement.reason


def test_forwarded_without_record_route_fails() -> None:
    judgement = forwarded(Seen(invite(), 1), [Seen(invite(vias=(SUT_VIA, WIC_VIA)), 2)], "originating")
    assert judgement.verdict is Verdict.FAIL and "no Record-Route added" in judgement.reason


def test_forwarded_with_the_senders_via_lost_or_not_below_the_suts_fails() -> None:
    lost = forwarded(Seen(invite(), 1), [Seen(invite(vias=(SUT_VIA,), rr=(RR,)), 2)], "originating")
    assert lost.verdict is Verdict.FAIL and "Via" in lost.reason
    on_top = forwarded(Seen(invite(), 1), [Seen(invite(vias=(WIC_VIA,), rr=(RR,)), 2)], "originating")
    assert on_top.verdict is Verdict.FAIL and "no Via of the SUT" in on_top.reason


def test_forwarded_with_a_rewritten_contact_fails() -> None:
    got = invite(vias=(SUT_VIA, WIC_VIA), rr=(RR,), contact="<sip:x@127.0.0.1:5060>")
    judgement = forwarded(Seen(invite(), 1), [Seen(got, 2)], "terminating")
    assert judgement.verdict is Verdict.FAIL and "Contact" in judgement.reason


def test_a_parameter_added_to_the_contact_is_recorded_not_failed() -> None:
    got = invite(vias=(SUT_VIA, WIC_VIA), rr=(RR,), contact="<sip:x@a.invalid;transport=ws;alias=127.0.0.1~5~6>")
    judgement = forwarded(Seen(invite(), 1), [Seen(got, 2)], "originating")
    assert judgement.verdict is Verdict.PASS and "alias=127.0.0.1~5~6 added" in judgement.reason
    dropped = invite(vias=(SUT_VIA, WIC_VIA), rr=(RR,), contact="<sip:x@a.invalid>")
    assert forwarded(Seen(invite(), 1), [Seen(dropped, 2)], "originating").verdict is Verdict.FAIL


def test_never_arrived_fails() -> None:
    judgement = forwarded(Seen(invite(), 1), [Seen(invite(call_id="other"), 2)], "originating")
    assert judgement.verdict is Verdict.FAIL and "never arrived" in judgement.reason


# --- EPC-TP-03 ------------------------------------------------------------------------------


def test_top_record_route_with_transport_ws_passes() -> None:
    got = invite(rr=("<sip:t@127.0.0.1:443;transport=ws;lr>", RR))
    assert record_route_ws(Seen(got, 5)).verdict is Verdict.PASS


def test_top_record_route_without_ws_fails_even_with_ws_lower() -> None:
    got = invite(rr=(RR, "<sip:t@127.0.0.1:443;transport=ws;lr>"))
    judgement = record_route_ws(Seen(got, 5))
    assert judgement.verdict is Verdict.FAIL and "transport=udp" in judgement.reason
    wss = record_route_ws(Seen(invite(rr=("<sip:t@127.0.0.1:443;transport=wss;lr>",)), 5))
    assert wss.verdict is Verdict.FAIL
    assert record_route_ws(Seen(invite(), 5)).verdict is Verdict.FAIL


def test_delivered_over_another_connection_fails() -> None:
    assert same_connection("main", "main", 9, 3).verdict is Verdict.PASS
    judgement = same_connection("main", "later", 9, 3)
    assert judgement.verdict is Verdict.FAIL and "'later'" in judgement.reason and judgement.evidence == (3, 9)


# --- EPC-KA-03 ------------------------------------------------------------------------------


def test_idle_policy_reports_pings_and_the_close() -> None:
    t = Timeline()
    start = t.add("runner", "note", "start").seq
    for _ in range(3):
        t.add("wic", WS_FRAME, "rx ping", direction="rx", conn="c1", opcode="ping", fin=True, rsv1=False,
              rsv2=False, rsv3=False, masked=False, length=0, payload="")
    t.add("wic", WS_FRAME, "rx ping", direction="rx", conn="c2", opcode="ping", fin=True, rsv1=False,
          rsv2=False, rsv3=False, masked=False, length=0, payload="")
    t.add("wic", WS_CLOSE, "closed", conn="c1", code=1001, reason="idle", by="peer", tcp_closed=True,
          tcp_closed_by="peer", clean=True, sent_code=1001, sent_reason=None, error=None)
    judgement = idle_policy(list(t), "c1", start - 1, 5.0, pongs=False)
    assert judgement.verdict is Verdict.INFORMATIONAL
    assert "3 Ping(s)" in judgement.reason and "closed by the SUT" in judgement.reason
    assert "1001" in judgement.reason and "Pongs withheld" in judgement.reason
    assert len(judgement.evidence) == 4


def test_idle_policy_reports_silence() -> None:
    t = Timeline()
    t.add("runner", "note", "start")
    judgement = idle_policy(list(t), "c1", 0, 5.5, pongs=False)
    assert "no Ping from the SUT" in judgement.reason and "kept open for the 5.5 s" in judgement.reason


def _cancel_pair(routes: str, cancel_routes: str, *, ruri: str = "sip:bob@ims.example.test",
                 branch: str = "z9hG4bKsut") -> tuple[Seen, Seen, Seen]:
    """(the WIC's CANCEL, the INVITE at the core, the CANCEL at the core)."""
    def msg(method: str, vias: str, route: str, uri: str = "sip:bob@ims.example.test") -> SipMessage:
        return parse((f"{method} {uri} SIP/2.0\r\n{vias}{route}Max-Forwards: 69\r\n"
                      "To: <sip:bob@ims.example.test>\r\nFrom: <sip:alice@ims.example.test>;tag=1\r\n"
                      f"Call-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n").encode()).message
    wic = "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bKwic\r\n"
    at_core = "Via: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKsut\r\n" + wic
    cancel_at_core = f"Via: SIP/2.0/UDP 127.0.0.1:5;branch={branch}\r\n" + wic
    return (Seen(msg("CANCEL", wic, ""), 1), Seen(msg("INVITE", at_core, routes), 2),
            Seen(msg("CANCEL", cancel_at_core, cancel_routes, ruri), 3))


def test_a_cancel_forwarded_as_its_invite_passes_whatever_the_route_spelling() -> None:
    """RFC 3261 §9.1, §16.10 (EPC-SES-02): rows or one comma-joined row, the same set."""
    from harness.checks.sessions import cancel_forwarded

    rows = "Route: <sip:a.example;lr>\r\nRoute: <sip:b.example;lr>\r\n"
    joined = "Route: <sip:a.example;lr>, <sip:b.example;lr>\r\n"
    for invite_routes, cancel_routes in ((rows, rows), (rows, joined), ("", "")):
        j = cancel_forwarded(*_cancel_pair(invite_routes, cancel_routes))
        assert j.verdict is Verdict.PASS and j.evidence == (1, 2, 3), j.reason


def test_a_cancel_with_another_route_uri_or_branch_fails_naming_it() -> None:
    from harness.checks.sessions import cancel_forwarded

    rows = "Route: <sip:a.example;lr>\r\nRoute: <sip:b.example;lr>\r\n"
    for cancel_routes, why in (("Route: <sip:b.example;lr>, <sip:a.example;lr>\r\n", "Route"),
                               ("Route: <sip:a.example;lr>\r\n", "Route"),
                               ("Route: <sip:core;lr>\r\n" + rows, "Route")):
        j = cancel_forwarded(*_cancel_pair(rows, cancel_routes))
        assert j.verdict is Verdict.FAIL and why in j.reason and "§9.1" in j.reason, j.reason
    j = cancel_forwarded(*_cancel_pair("", "", ruri="sip:carol@ims.example.test"))
    assert j.verdict is Verdict.FAIL and "Request-URI" in j.reason
    j = cancel_forwarded(*_cancel_pair("", "", branch="z9hG4bKother"))
    assert j.verdict is Verdict.FAIL and "branch" in j.reason
    sent, invite_at_core, _ = _cancel_pair("", "")
    assert cancel_forwarded(sent, invite_at_core, None).verdict is Verdict.FAIL
    assert cancel_forwarded(sent, None, invite_at_core).verdict is Verdict.FAIL


def test_forwarded_without_max_forwards_decremented_fails() -> None:
    """RFC 3261 §16.6 step 3 (EPC-SES-02): kept at 70, raised, or dropped: each a FAIL."""
    for hops, shown in ((70, "arrived as 70"), (71, "arrived as 71")):
        got = invite(vias=(SUT_VIA, WIC_VIA), rr=(RR,), max_forwards=hops)
        judgement = forwarded(Seen(invite(), 1), [Seen(got, 2)], "originating")
        assert judgement.verdict is Verdict.FAIL and shown in judgement.reason and "§16.6" in judgement.reason
    dropped = invite(vias=(SUT_VIA, WIC_VIA), rr=(RR,)).remove_header("Max-Forwards")
    judgement = forwarded(Seen(invite(), 1), [Seen(dropped, 2)], "originating")
    assert judgement.verdict is Verdict.FAIL and "arrived as None" in judgement.reason
