"""The JSEP checker (harness/sdp/checker.py) on captured SDP and on seeded defects.

tests/corpus/sdp/captured/ holds SDP captured from Chromium, aiortc and rtpengine
(scripts/capture-sdp.py); tests/corpus/sdp/seeded/ holds copies of captures with one
defect each (tests/corpus/sdp/README.md). Real browser SDP must give no FAIL; each defect
must be flagged, by its rule, on its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.sdp.checker import RULES, answer_fits, check_answer, check_offer
from harness.sdp.findings import Level, SdpFinding, SdpJudgement
from harness.verdicts import Strength, Verdict

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "sdp"
CAPTURED = CORPUS / "captured"
SEEDED = CORPUS / "seeded"
KINDS = ("audio", "audio-video")


def sdp(path: Path) -> str:
    return path.read_bytes().decode()


def captured(name: str) -> str:
    return sdp(CAPTURED / name)


def line_of(text: str, prefix: str, after: str = "") -> int:
    """1-based number of the first line starting with `prefix` (after the line `after`)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(after)) if after else 0
    return next(i for i in range(start, len(lines)) if lines[i].startswith(prefix)) + 1


def offer_of(answer_name: str) -> str:
    """The offer a captured answer answers: answer-X-to-Y-K.sdp answers offer-Y-K.sdp."""
    answered = answer_name.split("-to-", 1)[1]
    if answered.startswith("ims-"):
        return captured("ims-offer-" + answered.removeprefix("ims-"))
    return captured("offer-" + answered)


def failed(judgement: SdpJudgement) -> list[str]:
    return [str(f) for f in judgement.failures]


# --- real captures ---------------------------------------------------------------------


def test_the_corpus_holds_chromium_aiortc_and_ims_captures():
    names = {p.name for p in CAPTURED.glob("*.sdp")}
    for kind in KINDS:
        assert {f"offer-chromium-{kind}.sdp", f"offer-aiortc-{kind}.sdp",
                f"answer-chromium-to-aiortc-{kind}.sdp", f"answer-aiortc-to-chromium-{kind}.sdp",
                f"ims-offer-core-{kind}.sdp", f"ims-offer-wic-nomux-{kind}.sdp"} <= names


@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURED.glob("offer-*.sdp")))
def test_real_jsep_offers_have_no_failure(name):
    judgement = check_offer(captured(name))
    assert failed(judgement) == []
    assert judgement.rules() == {"bundle"}  # JSEP always offers BUNDLE: informational
    assert judgement.summary().startswith("offer conforms (audio ")


@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURED.glob("answer-chromium-*.sdp")))
def test_chromium_answers_have_no_failure_and_fit_their_offers(name):
    judgement = check_answer(captured(name), offer=offer_of(name))
    assert failed(judgement) == []
    assert answer_fits(offer_of(name), captured(name)).findings == ()


@pytest.mark.parametrize("kind", KINDS)
def test_aiortc_answers_to_chromium_have_no_failure(kind):
    name = f"answer-aiortc-to-chromium-{kind}.sdp"
    assert failed(check_answer(captured(name), offer=offer_of(name))) == []


@pytest.mark.parametrize("kind", KINDS)
def test_aiortc_adds_bundle_to_an_answer_whose_offer_had_none(kind):
    """A real deviation: aiortc 1.16 answers rtpengine's unbundled offer with a BUNDLE group
    (RFC 8843 §7.3: an answer bundles only what the offer bundled). Its answer is otherwise
    a conforming JSEP answer."""
    name = f"answer-aiortc-to-ims-wic-mux-{kind}.sdp"
    answer = captured(name)
    assert failed(check_answer(answer)) == []
    fits = answer_fits(offer_of(name), answer)
    assert {f.rule for f in fits.failures} == {"answer-bundle"}
    assert {f.line for f in fits.failures} == {line_of(answer, "a=group:BUNDLE")}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variant", ("nomux", "mux"))
def test_rtpengine_offers_towards_a_wic_conform_without_bundle(kind, variant):
    offer = captured(f"ims-offer-wic-{variant}-{kind}.sdp")
    judgement = check_offer(offer)
    assert failed(judgement) == []
    assert "bundle" not in judgement.rules()
    mlines = {line_of(offer, "m=audio"), *([line_of(offer, "m=video")] if "video" in kind else [])}
    no_mux = {f.line for f in judgement.notes if f.rule == "rtcp-mux"}
    assert no_mux == (mlines if variant == "nomux" else set())


@pytest.mark.parametrize("kind", KINDS)
def test_the_ims_core_offer_fails_only_on_its_protocol(kind):
    """What the IMS core gets (RTP/AVP, a=rtcp:, no BUNDLE) is no JSEP offer: one FAIL per
    m= line, on that line; ICE and DTLS rules are not piled on; rtcp-mux is a note."""
    offer = captured(f"ims-offer-core-{kind}.sdp")
    judgement = check_offer(offer)
    mlines = [i for i, line in enumerate(offer.splitlines(), 1) if line.startswith("m=")]
    assert [(f.rule, f.line) for f in judgement.failures] == [("media-protocol", n) for n in mlines]
    assert "RTP/AVP" in judgement.failures[0].reason
    assert {(f.rule, f.line) for f in judgement.notes} == {("rtcp-mux", n) for n in mlines}


@pytest.mark.parametrize("kind", KINDS)
def test_rtpengine_sdes_default_is_flagged_on_every_crypto_line(kind):
    offer = captured(f"ims-offer-wic-sdes-{kind}.sdp")
    crypto = [i for i, line in enumerate(offer.splitlines(), 1) if line.startswith("a=crypto:")]
    judgement = check_offer(offer)
    assert crypto and [(f.rule, f.line) for f in judgement.failures] == [
        ("crypto", n) for n in crypto]


# --- seeded defects ----------------------------------------------------------------------

# (seeded file, its source capture, how it is judged, rule, level, the defect's line: a
# prefix, optionally after the line starting with `after`)
SEEDED_DEFECTS = [
    ("offer-crypto.sdp", "offer-chromium-audio.sdp", "offer", "crypto", Level.SHALL,
     "a=crypto:", ""),
    ("offer-key-mgmt.sdp", "offer-chromium-audio.sdp", "offer", "key-mgmt", Level.SHALL,
     "a=key-mgmt:", ""),
    ("offer-k-line.sdp", "offer-chromium-audio.sdp", "offer", "k-line", Level.SHALL, "k=", ""),
    ("offer-short-ice-pwd.sdp", "offer-chromium-audio.sdp", "offer", "ice-pwd", Level.SHALL,
     "a=ice-pwd:", ""),
    ("offer-two-fingerprints.sdp", "offer-chromium-audio-video.sdp", "offer", "fingerprint",
     Level.SHALL, "a=fingerprint:", "m=video"),
    ("answer-setup-actpass.sdp", "answer-chromium-to-aiortc-audio.sdp", "answer", "setup",
     Level.SHALL, "a=setup:", ""),
    ("answer-setup-actpass.sdp", "answer-chromium-to-aiortc-audio.sdp", "fits",
     "answer-setup", Level.SHALL, "a=setup:", ""),
    ("offer-missing-mid.sdp", "offer-chromium-audio-video.sdp", "offer", "mid", Level.SHALL,
     "m=video", ""),
    ("offer-missing-mid.sdp", "offer-chromium-audio-video.sdp", "offer", "bundle-group",
     Level.SHALL, "a=group:BUNDLE", ""),
    ("offer-missing-rtpmap.sdp", "offer-chromium-audio.sdp", "offer", "rtpmap", Level.SHALL,
     "m=audio", ""),
    ("offer-bundle-only.sdp", "offer-chromium-audio-video.sdp", "offer", "bundle-only",
     Level.SHOULD, "a=bundle-only", ""),
    ("answer-reordered.sdp", "answer-chromium-to-aiortc-audio-video.sdp", "fits",
     "answer-m-order", Level.SHALL, "m=video", ""),
    ("answer-reordered.sdp", "answer-chromium-to-aiortc-audio-video.sdp", "fits",
     "answer-m-order", Level.SHALL, "m=audio", ""),
    ("answer-unparsable-rtpmap.sdp", "answer-aiortc-to-chromium-audio.sdp", "answer",
     "sdp-parse", Level.SHALL, "a=rtpmap:111", ""),
    ("offer-garbage-line.sdp", "offer-aiortc-audio.sdp", "offer", "sdp-syntax", Level.SHALL,
     "this line", ""),
]


def judge(how: str, name: str, body: str) -> SdpJudgement:
    if how == "offer":
        return check_offer(body)
    offer = offer_of(name)
    return check_answer(body) if how == "answer" else answer_fits(offer, body)


def test_every_seeded_file_is_covered():
    assert {p.name for p in SEEDED.glob("*.sdp")} == {row[0] for row in SEEDED_DEFECTS}


@pytest.mark.parametrize(("name", "source", "how", "rule", "level", "prefix", "after"),
                         SEEDED_DEFECTS, ids=[f"{r[0]}:{r[3]}" for r in SEEDED_DEFECTS])
def test_each_seeded_defect_is_flagged_on_its_line(name, source, how, rule, level, prefix,
                                                   after):
    body = sdp(SEEDED / name)
    line = line_of(body, prefix, after)
    judgement = judge(how, source, body)
    hits = [f for f in judgement.findings if f.rule == rule and f.line == line]
    assert hits, f"{rule} not on line {line}: {failed(judgement)}"
    assert hits[0].level is level and hits[0].verdict is Verdict.FAIL
    assert hits[0].text == body.splitlines()[line - 1]
    assert not judgement.passed
    # the source capture does not have it: the seeded change is what is flagged
    assert rule not in judge(how, source, captured(source)).rules()


def test_a_seeded_defect_is_one_edit_of_its_source():
    """Each seeded file keeps its source's lines but the defect: a line added, removed or
    changed (bundle-only also zeroes its m= line's port; the reordered answer keeps every
    line, in another order)."""
    for name, source, *_ in SEEDED_DEFECTS:
        seeded = sdp(SEEDED / name).splitlines()
        original = captured(source).splitlines()
        assert len(set(seeded) ^ set(original)) <= 3, name


def test_an_unparsable_body_is_a_fail_naming_its_line_never_an_exception():
    body = sdp(SEEDED / "answer-unparsable-rtpmap.sdp")
    judgement = check_answer(body, offer=offer_of("answer-aiortc-to-chromium-audio.sdp"))
    (finding,) = judgement.failures
    assert finding.rule == "sdp-parse" and finding.text == "a=rtpmap:111"
    assert "ValueError" in finding.reason
    fits = answer_fits(body, captured("answer-chromium-to-aiortc-audio.sdp"))
    assert [f.rule for f in fits.failures] == ["offer-unparsable"]
    assert f"line {finding.line}" in fits.failures[0].reason


@pytest.mark.parametrize(("edit", "rule"), [
    ("m=audio 9 UDP/TLS/RTP/SAVPF x", "sdp-parse"),  # aiortc: int('x')
    ("a=setup:holdconn", "sdp-parse"),  # aiortc: KeyError
    ("a=fmtp:99 x=1", "sdp-parse"),  # aiortc: no codec 99 (StopIteration)
    ("a=fingerprint", "sdp-parse"),  # aiortc: None.split()
    ("c=IN IP4", "sdp-parse"),  # aiortc's assert
])
def test_lines_aiortc_refuses_are_named(edit, rule):
    offer = captured("offer-aiortc-audio.sdp").splitlines()
    at = line_of("\n".join(offer), "a=mid:")
    if edit.startswith("m="):
        at = line_of("\n".join(offer), "m=audio")
        offer[at - 1] = edit
    else:
        offer.insert(at, edit)
        at += 1
    judgement = check_offer("\r\n".join(offer))
    assert [(f.rule, f.line, f.text) for f in judgement.failures] == [(rule, at, edit)]


def test_an_empty_body_is_a_fail():
    (finding,) = check_offer("").failures
    assert finding.rule == "sdp-syntax" and finding.line == 0


# --- rules one by one, on edited captures ------------------------------------------------


def edited(name: str, old: str, new: str, count: int = 1) -> str:
    text = captured(name)
    assert old in text
    return text.replace(old, new, count)


def test_session_level_ice_values_apply_to_every_section():
    offer = captured("offer-aiortc-audio-video.sdp")
    lines = offer.split("\r\n")
    ice = [line for line in lines if line.startswith(("a=ice-ufrag", "a=ice-pwd"))]
    assert len(ice) == 4 and len(set(ice)) == 2  # the same two values in both sections
    body = [line for line in lines if line not in ice]
    at = line_of(offer, "m=audio") - 1
    moved = "\r\n".join([*body[:at], *sorted(set(ice)), *body[at:]])
    assert failed(check_offer(moved)) == []
    short = moved.replace(ice[1], "a=ice-pwd:tooShort")
    (finding,) = check_offer(short).failures
    assert finding.rule == "ice-pwd" and finding.line < line_of(short, "m=audio")


def test_ice_ufrag_lengths_and_characters():
    name = "offer-chromium-audio.sdp"
    ufrag = next(line for line in captured(name).splitlines() if line.startswith("a=ice-ufrag"))
    for value in ("abc", "a" * 257, "abc!"):
        offer = edited(name, ufrag, f"a=ice-ufrag:{value}")
        assert [f.rule for f in check_offer(offer).failures] == ["ice-ufrag"], value
    assert failed(check_offer(edited(name, ufrag, "a=ice-ufrag:" + "a" * 256))) == []


def test_a_missing_transport_attribute_is_flagged_on_the_m_line():
    name = "offer-chromium-audio.sdp"
    for prefix, rule in (("a=ice-ufrag", "ice-ufrag"), ("a=fingerprint", "fingerprint"),
                         ("a=setup", "setup"), ("a=sendrecv", "direction")):
        line = next(x for x in captured(name).split("\r\n") if x.startswith(prefix))
        offer = edited(name, line + "\r\n", "")
        hits = [f for f in check_offer(offer).failures if f.rule == rule]
        assert [f.line for f in hits] == [line_of(offer, "m=audio")], rule


def test_setup_roles_of_offers_and_answers():
    offer = edited("offer-chromium-audio.sdp", "a=setup:actpass", "a=setup:active")
    assert [f.rule for f in check_offer(offer).failures] == ["setup"]
    answer = captured("answer-chromium-to-aiortc-audio.sdp")
    passive = answer.replace("a=setup:active", "a=setup:passive")
    assert failed(check_answer(passive)) == []
    # offer active leaves the answerer passive only (RFC 4145 §4.1)
    active_offer = captured("offer-aiortc-audio.sdp").replace("a=setup:actpass", "a=setup:active")
    assert [f.rule for f in answer_fits(active_offer, answer).failures] == ["answer-setup"]
    assert answer_fits(active_offer, passive).failures == ()


def test_a_bundled_section_may_rely_on_the_tagged_one_in_answers_and_re_offers():
    offer = captured("offer-chromium-audio-video.sdp")
    lines = offer.split("\r\n")
    video = line_of(offer, "m=video") - 1
    stripped = "\r\n".join(lines[:video] + [
        line for line in lines[video:]
        if not line.startswith(("a=ice-ufrag", "a=ice-pwd", "a=fingerprint", "a=setup"))])
    initial = check_offer(stripped)
    assert {(f.rule, f.line) for f in initial.failures} == {
        (rule, video + 1) for rule in ("ice-ufrag", "ice-pwd", "fingerprint", "setup")}
    assert failed(check_offer(stripped, initial=False)) == []


def test_a_rejected_m_line_needs_nothing_but_its_protocol():
    answer = captured("answer-chromium-to-aiortc-audio-video.sdp")
    lines = answer.split("\r\n")
    video = line_of(answer, "m=video") - 1
    rejected = "\r\n".join([*lines[:video], "m=video 0 UDP/TLS/RTP/SAVPF 96",
                             "c=IN IP4 0.0.0.0", "a=mid:1"]).replace("BUNDLE 0 1", "BUNDLE 0")
    offer = captured("offer-aiortc-audio-video.sdp")
    assert failed(check_answer(rejected, offer=offer)) == []
    wrong = rejected.replace("m=video 0 UDP/TLS/RTP/SAVPF", "m=video 0 RTP/AVP")
    assert {f.rule for f in check_answer(wrong, offer=offer).failures} == {
        "media-protocol", "answer-protocol"}


def test_answer_fits_counts_protocols_formats_directions_mux_and_mids():
    offer = captured("offer-aiortc-audio-video.sdp")
    answer = captured("answer-chromium-to-aiortc-audio-video.sdp")
    video = line_of(answer, "m=video")
    short = "\r\n".join(answer.split("\r\n")[: video - 1])
    (count,) = answer_fits(offer, short).failures
    assert count.rule == "answer-m-count" and "1 m= section(s), the offer 2" in count.reason
    savp = answer.replace("UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP", 1)
    assert [f.rule for f in answer_fits(offer, savp).failures] == ["answer-protocol"]
    sendonly = offer.replace("a=sendrecv", "a=sendonly")
    assert {f.rule for f in answer_fits(sendonly, answer).failures} == {"answer-direction"}
    recvonly = answer.replace("a=sendrecv", "a=recvonly")
    assert answer_fits(sendonly, recvonly).failures == ()
    no_mux = offer.replace("a=rtcp-mux\r\n", "")
    mux = answer_fits(no_mux, answer).failures
    assert {f.rule for f in mux} == {"answer-rtcp-mux"} and len(mux) == 2
    other_mid = answer.replace("a=mid:1", "a=mid:7").replace("BUNDLE 0 1", "BUNDLE 0 7")
    assert {f.rule for f in answer_fits(offer, other_mid).failures} == {
        "answer-mid", "answer-bundle"}
    audio = next(x for x in answer.split("\r\n") if x.startswith("m=audio"))
    foreign = answer.replace(audio, " ".join(audio.split(" ")[:3]) + " 18")
    assert "answer-formats" in answer_fits(offer, foreign).rules(line_of(answer, "m=audio"))


def test_a_duplicate_mid_and_a_second_direction_are_flagged():
    offer = captured("offer-aiortc-audio-video.sdp")
    duplicate = offer.replace("a=mid:1", "a=mid:0")
    hits = [f for f in check_offer(duplicate).failures if f.rule == "mid"]
    assert [f.line for f in hits] == [line_of(duplicate, "a=mid:0", "m=video")]
    twice = offer.replace("a=sendrecv", "a=sendrecv\r\na=recvonly", 1)
    hits = [f for f in check_offer(twice).failures if f.rule == "direction"]
    assert [f.line for f in hits] == [line_of(twice, "a=recvonly")]


def test_timing_version_and_required_lines():
    offer = captured("offer-chromium-audio.sdp")
    assert [f.rule for f in check_offer(offer.replace("t=0 0", "t=3 4")).failures] == ["timing"]
    assert [f.rule for f in check_offer(offer.replace("v=0", "v=1")).failures] == ["version"]
    no_s = offer.replace("s=-\r\n", "")
    assert [(f.rule, f.line) for f in check_offer(no_s).failures] == [("session-name", 1)]
    no_media = "\r\n".join(offer.split("\r\n")[: line_of(offer, "m=") - 1])
    # the BUNDLE group now names a mid no section has
    assert {(f.rule, f.line) for f in check_offer(no_media).failures} == {
        ("no-media", len(no_media.splitlines())), ("bundle-group", line_of(offer, "a=group"))}


def test_a_blank_line_inside_the_body_fails_one_at_the_end_does_not():
    offer = captured("offer-aiortc-audio.sdp")
    assert failed(check_offer(offer + "\r\n")) == []
    inside = offer.replace("a=mid:0\r\n", "a=mid:0\r\n\r\n")
    assert [(f.rule, f.line) for f in check_offer(inside).failures] == [
        ("sdp-syntax", line_of(offer, "a=mid:0") + 1)]


def test_findings_map_onto_the_result_model():
    offer = sdp(SEEDED / "offer-bundle-only.sdp")
    judgement = check_offer(offer)
    by_rule = {f.rule: f for f in judgement.findings}
    assert by_rule["bundle-only"].strength is Strength.SHOULD
    assert by_rule["bundle"].verdict is Verdict.INFORMATIONAL
    assert by_rule["bundle"].strength is Strength.MAY
    assert all(f.requirement == "WIC-SES-01" for f in judgement.findings)
    assert check_answer(offer, requirement="WIC-SES-03").findings[0].requirement == "WIC-SES-03"
    assert judgement.summary().startswith("offer: line ")
    assert set(RULES) >= {f.rule for f in judgement.findings}
    assert isinstance(judgement.findings[0], SdpFinding)


# --- never an exception -------------------------------------------------------------------

BODIES = [captured(p.name) for p in sorted(CAPTURED.glob("*.sdp"))]


@st.composite
def mangled(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(BODIES)).split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "cut", "text", "swap", "dup"]))
        if action == "drop":
            del lines[at]
        elif action == "cut":
            lines[at] = lines[at][: draw(st.integers(0, max(len(lines[at]) - 1, 0)))]
        elif action == "text":
            lines[at] = draw(st.sampled_from(["a=", "m=", "c=", "a=", "x"])) + draw(st.text(max_size=12))
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        else:
            lines.insert(at, lines[at])
        if not lines:
            break
    return "\r\n".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled(), st.sampled_from(BODIES))
def test_the_checker_never_raises(body, other):
    n = len(body.splitlines())
    for judgement in (check_offer(body), check_answer(body, offer=other), answer_fits(body, other)):
        for finding in judgement.findings:
            assert 0 <= finding.line <= max(n, len(other.splitlines()))
    for finding in check_offer(body).findings:
        assert finding.line == 0 or finding.text == body.splitlines()[finding.line - 1]


def test_a_media_level_direction_overrides_the_session_level_one():
    offer = captured("offer-aiortc-audio.sdp")
    session = offer.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n")
    assert failed(check_offer(session)) == []  # the section's own sendrecv wins
    answer = captured("answer-chromium-to-aiortc-audio.sdp")
    assert answer_fits(session, answer).failures == ()
    only_session = session.replace("a=sendrecv\r\n", "")
    assert failed(check_offer(only_session)) == []  # the session's sendonly applies
    (finding,) = answer_fits(only_session, answer).failures
    assert finding.rule == "answer-direction" and "sendrecv answers sendonly" in finding.reason
