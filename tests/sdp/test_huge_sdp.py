"""A WIC's offer of 5000 m= sections (hostile row `huge-sdp`) is judged in bounded time and
memory: a few findings, the rest counted (issue 11; it took 8.7 s and 7.9 GB before)."""

import tracemalloc

from harness.checks.offer_answer import SHOWN_FINDINGS, judge_wic_sdp
from harness.evidence import SIP, Timeline
from harness.suts.hostile.behaviours import huge_offer, sip_request
from harness.verdicts import Verdict


def test_a_huge_offer_gives_a_bounded_list_of_findings():
    raw = sip_request("INVITE", 1, body=huge_offer(), content_type=b"application/sdp")
    timeline = Timeline()
    timeline.add("epcscf", SIP, "rx INVITE", direction="rx", conn="c", raw=raw)
    tracemalloc.start()
    verdicts = judge_wic_sdp(list(timeline), "epcscf")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(verdicts) == SHOWN_FINDINGS
    assert all(v.verdict is Verdict.FAIL and v.requirement == "WIC-SES-01" for v in verdicts)
    assert "more finding(s) on this body" in verdicts[-1].reason
    assert all(len(v.note) < 3000 for v in verdicts)
    assert peak < 200 * 1024 * 1024  # bytes: quadratic notes took 7.9 GB
