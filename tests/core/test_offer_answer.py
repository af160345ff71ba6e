"""harness/checks/offer_answer.py on in-memory timelines built from captured SDP
(tests/corpus/sdp/): every SDP body the WIC sends is judged, both directions of a call,
answers against wicct's offer, with the checker's strengths; 180 before 200."""

from pathlib import Path

from harness.checks.offer_answer import alerting_before_answer, judge_wic_sdp
from harness.evidence import SIP, Timeline
from harness.verdicts import Strength, Verdict

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "sdp"


def sdp(name: str) -> str:
    folder = "seeded" if (CORPUS / "seeded" / name).exists() else "captured"
    return (CORPUS / folder / name).read_text()


def message(start: str, cseq: str, *, to_tag: bool = False, body: str = "",
            call_id: str = "c1") -> bytes:
    to = "<sip:alice@ims.example.test>" + (";tag=w1" if to_tag else "")
    head = [start, "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1", "Max-Forwards: 70",
            f"To: {to}", "From: <sip:bob@ims.example.test>;tag=e1", f"Call-ID: {call_id}",
            f"CSeq: {cseq}"]
    if body:
        head.append("Content-Type: application/sdp")
    raw = "\r\n".join([*head, f"Content-Length: {len(body.encode())}", "", ""]) + body
    return raw.encode()


def timeline(*items: tuple[str, bytes]) -> list:
    t = Timeline()
    for direction, raw in items:
        t.add("epcscf", SIP, f"{direction} sip", direction=direction, raw=raw)
    return list(t)


def wic_calls(offer: str, answer: str | None = None) -> list:
    """The WIC places a call with `offer`; wicct answers with aiortc's captured answer."""
    return timeline(
        ("rx", message("INVITE sip:bob@ims.example.test SIP/2.0", "1 INVITE", body=offer)),
        ("tx", message("SIP/2.0 180 Ringing", "1 INVITE", to_tag=True)),
        ("tx", message("SIP/2.0 200 OK", "1 INVITE", to_tag=True,
                       body=answer or sdp("answer-aiortc-to-chromium-audio.sdp"))),
        ("rx", message("ACK sip:bob@ims.example.test SIP/2.0", "1 ACK", to_tag=True)),
    )


def wicct_calls(offer: str, answer: str, *, ringing: bool = True) -> list:
    """wicct calls the WIC with `offer`; the WIC answers `answer` in its 200."""
    return timeline(*wicct_items(offer, answer, ringing=ringing))


def wicct_items(offer: str, answer: str, *, ringing: bool = True) -> list[tuple[str, bytes]]:
    return [
        ("tx", message("INVITE sip:alice@a.invalid SIP/2.0", "1 INVITE", body=offer)),
        *([("rx", message("SIP/2.0 180 Ringing", "1 INVITE", to_tag=True))] if ringing else []),
        ("rx", message("SIP/2.0 200 OK", "1 INVITE", to_tag=True, body=answer)),
        ("rx", message("SIP/2.0 200 OK", "1 INVITE", to_tag=True, body=answer)),  # retransmitted
        ("tx", message("ACK sip:alice@a.invalid SIP/2.0", "1 ACK", to_tag=True)),
    ]


def test_a_browser_offer_passes_with_its_informational_notes():
    [verdict] = judge_wic_sdp(wic_calls(sdp("offer-chromium-audio.sdp")), "epcscf")
    assert (verdict.requirement, verdict.verdict) == ("WIC-SES-01", Verdict.PASS)
    assert verdict.evidence == (1,)
    assert "BUNDLE" in verdict.note  # the soft check: recorded, never a failure


def test_an_sdes_offer_fails_on_its_line():
    verdicts = judge_wic_sdp(wic_calls(sdp("offer-crypto.sdp")), "epcscf")
    [failed] = [v for v in verdicts if v.verdict is Verdict.FAIL]
    line = next(i for i, text in enumerate(sdp("offer-crypto.sdp").splitlines(), 1)
                if text.startswith("a=crypto"))
    assert failed.requirement == "WIC-SES-01" and failed.strength is Strength.SHALL
    assert f"line {line} `a=crypto" in failed.reason and "[crypto, shall]" in failed.reason


def test_a_bundle_only_offer_fails_at_should_level():
    verdicts = judge_wic_sdp(wic_calls(sdp("offer-bundle-only.sdp")), "epcscf")
    assert {(v.verdict, v.strength) for v in verdicts} == {(Verdict.FAIL, Strength.SHOULD)}


def test_an_offer_that_does_not_parse_fails_naming_the_line():
    bad = sdp("offer-chromium-audio.sdp").replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:xx")
    verdicts = judge_wic_sdp(wic_calls(bad), "epcscf")
    assert verdicts and all(v.verdict is Verdict.FAIL for v in verdicts)
    assert any("sdp-parse" in v.reason and "line " in v.reason for v in verdicts)


def test_an_invite_without_an_offer_fails():
    entries = timeline(("rx", message("INVITE sip:bob@ims.example.test SIP/2.0", "1 INVITE")))
    [verdict] = judge_wic_sdp(entries, "epcscf")
    assert verdict.verdict is Verdict.FAIL and "no SDP offer" in verdict.reason


def test_the_wics_answer_is_judged_against_wiccts_offer_once():
    entries = wicct_calls(sdp("offer-aiortc-audio-video.sdp"),
                          sdp("answer-chromium-to-aiortc-audio-video.sdp"))
    [verdict] = judge_wic_sdp(entries, "epcscf")  # the retransmitted 200 is not judged again
    assert (verdict.requirement, verdict.verdict) == ("WIC-SES-02", Verdict.PASS)
    assert verdict.evidence == (1, 3)


def test_a_reordered_answer_fails_and_goes_to_the_ims_requirement_when_asked():
    entries = wicct_calls(sdp("offer-chromium-audio-video.sdp"), sdp("answer-reordered.sdp"))
    verdicts = judge_wic_sdp(entries, "epcscf", answer_requirement="WIC-SES-03")
    assert {v.requirement for v in verdicts} == {"WIC-SES-03"}
    assert any("answer-m-order" in v.reason and v.verdict is Verdict.FAIL for v in verdicts)


def test_an_answer_keeping_actpass_fails():
    entries = wicct_calls(sdp("offer-aiortc-audio.sdp"), sdp("answer-setup-actpass.sdp"))
    assert any(v.verdict is Verdict.FAIL and "setup" in v.reason
               for v in judge_wic_sdp(entries, "epcscf"))


def test_a_hold_answer_must_answer_the_sendonly_offer():
    offer = sdp("offer-aiortc-audio.sdp")
    answer = sdp("answer-chromium-to-aiortc-audio.sdp")
    hold = offer.replace("a=sendrecv", "a=sendonly")
    calls = wicct_items(offer, answer)
    again = ("tx", message("INVITE sip:alice@a.invalid SIP/2.0", "2 INVITE", to_tag=True, body=hold))
    verdicts = judge_wic_sdp(timeline(*calls, again, ("rx", message(
        "SIP/2.0 200 OK", "2 INVITE", to_tag=True, body=answer))), "epcscf")
    assert [v.verdict for v in verdicts] == [Verdict.PASS, Verdict.FAIL]
    assert "answer-direction" in verdicts[1].reason
    fixed = ("rx", message("SIP/2.0 200 OK", "2 INVITE", to_tag=True,
                           body=answer.replace("a=sendrecv", "a=recvonly")))
    verdicts = judge_wic_sdp(timeline(*calls, again, fixed), "epcscf")
    assert [v.verdict for v in verdicts] == [Verdict.PASS] * 2


def test_wiccts_own_sdp_is_not_judged():
    entries = wic_calls(sdp("offer-chromium-audio.sdp"), sdp("offer-crypto.sdp"))
    assert [v.verdict for v in judge_wic_sdp(entries, "epcscf")] == [Verdict.PASS]


def test_200_without_180_fails_and_with_180_passes():
    offer, answer = sdp("offer-aiortc-audio.sdp"), sdp("answer-chromium-to-aiortc-audio.sdp")
    [ok] = alerting_before_answer(wicct_calls(offer, answer), "epcscf")
    assert ok.verdict is Verdict.PASS and ok.evidence == (1, 2, 3)
    [bad] = alerting_before_answer(wicct_calls(offer, answer, ringing=False), "epcscf")
    assert bad.verdict is Verdict.FAIL and bad.requirement == "WIC-SES-02"
    assert alerting_before_answer(wic_calls(sdp("offer-chromium-audio.sdp")), "epcscf") == []


def test_a_180_hidden_behind_another_message_is_left_to_the_framing_check():
    offer, answer = sdp("offer-aiortc-audio.sdp"), sdp("answer-chromium-to-aiortc-audio.sdp")
    t = Timeline()
    t.add("epcscf", SIP, "tx", direction="tx", raw=message("INVITE sip:a@b SIP/2.0", "1 INVITE", body=offer))
    ringing = message("SIP/2.0 180 Ringing", "1 INVITE", to_tag=True)
    t.add("epcscf", SIP, "rx", direction="rx", raw=message("SIP/2.0 100 Trying", "1 INVITE"),
          excess=b"\r\n" + ringing)
    t.add("epcscf", SIP, "rx", direction="rx",
          raw=message("SIP/2.0 200 OK", "1 INVITE", to_tag=True, body=answer))
    assert alerting_before_answer(list(t), "epcscf") == []
