"""Fuzz target: the JSEP checker (harness/sdp/checker.py over harness/sdp/located.py).

Property: for any text, `check_offer`, `check_answer` (with and without an offer) and
`answer_fits` return a judgement and never raise; a body aiortc cannot parse is a FAIL
naming the line (rule `sdp-parse`, or `offer-unparsable` for the offer), and every finding
names a line of the body (its number and its text). Seeds: tests/corpus/sdp/ (real browser,
aiortc and rtpengine SDP, and the seeded defects), mutated line by line.

    python bench/fuzz/fuzz_sdp.py -runs=1000000        # atheris
    python bench/fuzz/fuzz_sdp.py --hypothesis 10000   # hypothesis
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import REPO, Property, instrumented, main  # noqa: E402

with instrumented(__name__ == "__main__"):
    from aiortc.sdp import SessionDescription

    from harness.sdp.checker import answer_fits, check_answer, check_offer
    from harness.sdp.findings import SdpJudgement
    from harness.sdp.located import PARSE_ERRORS, Unparsable, locate, numbered

NAME = "sdp"
CORPUS = REPO / "tests" / "corpus" / "sdp"


@functools.cache
def corpus() -> list[str]:
    return [p.read_bytes().decode("utf-8") for p in sorted(CORPUS.glob("*/*.sdp"))]


def _names_its_lines(sdp: str, judged: SdpJudgement) -> None:
    lines = numbered(sdp)
    for finding in judged.findings:
        assert 0 <= finding.line <= len(lines), finding
        if finding.line:
            assert lines[finding.line - 1].text == finding.text, finding


def check_one(sdp: str) -> None:
    """Offer and answer checks on one body: no exception, findings on real lines, and an
    unparsable body FAILs on the line aiortc refuses."""
    offer = check_offer(sdp)
    answer = check_answer(sdp)
    check_offer(sdp, initial=False)
    for judged in (offer, answer):
        _names_its_lines(sdp, judged)
        judged.summary()
    if numbered(sdp) and isinstance(refused := locate(sdp), Unparsable):
        for judged in (offer, answer):
            parse = [f for f in judged.failures if f.rule == "sdp-parse"]
            assert parse and parse[0].line == refused.line.number >= 1, (judged, refused)


def check_first_refused(sdp: str) -> None:
    """locate() names the line the naive search names: the first line whose prefix of the
    whole body aiortc refuses (it searches section by section, harness/sdp/located.py)."""
    refused = locate(sdp)
    if not isinstance(refused, Unparsable):
        return
    lines = numbered(sdp)
    for end in range(1, len(lines) + 1):
        try:
            SessionDescription.parse("\r\n".join(line.text for line in lines[:end]))
        except PARSE_ERRORS:
            assert refused.line == lines[end - 1], (refused, lines[end - 1])
            return


def check_pair(pair: tuple[str, str]) -> None:
    """An answer judged against an offer: no exception, findings on the answer's lines
    (or the offer's, for `offer-unparsable`)."""
    offer, answer = pair
    fits = answer_fits(offer, answer)
    both = check_answer(answer, offer=offer)
    for judged in (fits, both):
        for finding in judged.findings:
            body = offer if finding.rule == "offer-unparsable" else answer
            lines = numbered(body)
            assert 0 <= finding.line <= len(lines), finding
            if finding.line:
                assert lines[finding.line - 1].text == finding.text, finding


def one_input(data: bytes) -> None:
    text = data[1:].decode("utf-8", "replace")
    if data[:1] == b"\x00":
        captured = corpus()
        check_pair((captured[len(text) % len(captured)], text))
    elif data[:1] == b"\x01":
        offer, _, answer = text.partition("\x00")
        check_pair((offer, answer))
    else:
        check_one(text)


def seeds() -> list[bytes]:
    return [b"\x02" + sdp.encode() for sdp in corpus()] + [b"\x00" + corpus()[0].encode()]


# -- hypothesis: captured SDP, mutated line by line -------------------------------------

_LINES = ["a=mid:0", "a=setup:actpass", "a=setup:bogus", "a=rtpmap:96 opus/48000/2",
          "a=fmtp:97 apt=96", "a=rtcp-fb:98 nack", "a=ice-ufrag:abcd", "a=ice-pwd:x",
          "a=fingerprint:sha-256 AB:CD", "a=group:BUNDLE 0 1 9", "a=bundle-only", "a=crypto:1 x",
          "m=audio 0 RTP/AVP 0", "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "m=application 9 "
          "UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 x", "c=IN IP6 ::1", "t=1 2", "v=1",
          "a=ssrc:1 cname:x", "a=ssrc-group:FID 1", "a=candidate:1 1 udp 1 1.2.3.4 5 typ host",
          "a=rtcp:9 IN IP4 0.0.0.0", "a=extmap:1 urn:x", "a=msid:a b", "a=sctp-port:x",
          "m=audio x RTP/AVP", "m=", "a=", "k=clear:x", "a=sendrecv", "a=inactive", ""]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(corpus())).split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        how = draw(st.integers(0, 3))
        new = draw(st.sampled_from(_LINES) | st.text(max_size=30))
        if how == 0 or at == len(lines):
            lines.insert(at, new)
        elif how == 1:
            del lines[at]
        elif how == 2:
            lines[at] = new
        else:
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
    return draw(st.sampled_from(["\r\n", "\n", "\r", "\x85"])).join(lines)


PROPERTIES: list[Property] = [
    (st.binary(max_size=1024), one_input),
    (mutated(), check_one),
    (st.tuples(mutated(), mutated()), check_pair),
    (st.tuples(st.sampled_from(corpus()), mutated()), check_pair),
    (st.text(max_size=300), check_one),
    (mutated(), check_first_refused),
]

if __name__ == "__main__":
    sys.exit(main(NAME, one_input, seeds, PROPERTIES))
