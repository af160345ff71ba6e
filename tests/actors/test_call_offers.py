"""The SDP wicct's IMS core offers a WIC (IMS-style, hold) and the reference WIC's SDP
edits, judged by the JSEP checker on captured SDP (tests/corpus/sdp/)."""

from pathlib import Path

from harness.actors.epcscf_emulator.offers import ims_style, off_hold, on_hold
from harness.sdp.checker import answer_fits, check_offer
from harness.suts.reference.wic.sdp import answer_again, sent_answer, sent_offer

CAPTURED = Path(__file__).resolve().parents[1] / "corpus" / "sdp" / "captured"


def read(name: str) -> str:
    return (CAPTURED / name).read_text()


def test_the_ims_style_offer_has_no_bundle_and_an_rtcp_port_per_section():
    offer = ims_style(read("offer-aiortc-audio-video.sdp"))
    lines = offer.splitlines()
    assert not [line for line in lines if line.startswith("a=group:BUNDLE")]
    mlines = [line for line in lines if line.startswith("m=")]
    rtcp = [line for line in lines if line.startswith("a=rtcp:")]
    assert [int(r.split()[0].split(":")[1]) for r in rtcp] == [int(m.split()[1]) + 1 for m in mlines]
    assert lines.count("a=rtcp-mux") == 2
    assert check_offer(offer).passed, check_offer(offer).failures


def test_the_hold_offer_is_sendonly_with_a_new_version():
    offer = read("offer-aiortc-audio.sdp")
    held = on_hold(offer)
    assert "a=sendrecv" not in held and "a=sendonly" in held
    version = [line.split()[2] for line in (offer, held) for line in line.splitlines()
               if line.startswith("o=")]
    assert int(version[1]) == int(version[0]) + 1


def test_the_resume_offer_is_sendrecv_again_with_a_newer_version():
    offer = read("offer-aiortc-audio.sdp")
    held = on_hold(offer)
    resumed = off_hold(held)
    assert "a=sendonly" not in resumed and "a=sendrecv" in resumed
    version = [line.split()[2] for line in (held, resumed) for line in line.splitlines()
               if line.startswith("o=")]
    assert int(version[1]) == int(version[0]) + 1
    assert resumed != offer  # a new offer (RFC 3264 §8), not the first one again


def test_the_reference_answer_drops_the_bundle_aiortc_adds():
    offer = read("ims-offer-wic-mux-audio.sdp")
    aiortc = read("answer-aiortc-to-ims-wic-mux-audio.sdp")
    assert not answer_fits(offer, aiortc).passed  # aiortc bundles what was not bundled
    assert answer_fits(offer, sent_answer(offer, aiortc, frozenset())).passed


def test_the_reference_hold_answer_fits_the_hold_offer():
    offer = read("offer-chromium-audio.sdp")
    answer = sent_answer(offer, read("answer-aiortc-to-chromium-audio.sdp"), frozenset())
    held = on_hold(offer)
    again = answer_again(answer, held)
    assert "a=recvonly" in again
    assert answer_fits(held, again).passed, answer_fits(held, again).failures


def test_the_sdp_faults_break_what_they_name():
    offer, answer = read("offer-aiortc-audio-video.sdp"), read("answer-chromium-to-aiortc-audio-video.sdp")
    assert "crypto" in check_offer(sent_offer(offer, frozenset({"sdes_crypto_offer"}))).rules()
    assert "bundle-only" in check_offer(sent_offer(offer, frozenset({"bundle_only_m_line"}))).rules()
    assert "fingerprint" in check_offer(sent_offer(offer, frozenset({"no_fingerprint"}))).rules()
    for fault, rule in (("answer_reordered_m_lines", "answer-m-order"),
                        ("answer_keeps_actpass", "answer-setup")):
        assert rule in answer_fits(offer, sent_answer(offer, answer, frozenset({fault}))).rules()
    assert check_offer(sent_offer(offer, frozenset())).passed
