"""Media both ways through a real eP-CSCF with its eIMS-AGW: Kamailio 5.6 driving rtpengine
10.5 (issue 9). Case EPC-SES-01-media places a call from wicct's WIC and one from wicct's
core; this test reads the packets counted at both ends from the evidence in report.json
(the WIC's aiortc peer: `media` notes; the core's plain RTP port: `rtp_counts` notes), not
from the finding's text alone. With rtpengine bypassed no media crosses the edge, and the
case says so (INFORMATIONAL: no media requirement binds an eP-CSCF)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import PROFILES, ROOT, require
from .test_real_suites import _has_rtpengine

pytestmark = [pytest.mark.realpeer]

CASE = "EPC-SES-01-media"
PROFILE = PROFILES / "kamailio-rtpengine-epcscf.yaml"


def _run(profile: Path, out: Path) -> dict[str, Any]:
    import json

    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-q", "--profile", str(profile), "--select", CASE,
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    report = out / "report.json"
    assert report.exists(), proc.stdout[-4000:] + proc.stderr[-4000:]
    cases = [c for c in json.loads(report.read_text())["cases"] if c["id"] == CASE]
    assert len(cases) == 1, proc.stdout[-2000:]
    return cases[0]


def _media_findings(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in case["findings"] if f["requirement"] == "EPC-SES-01" and "call" in f["reason"]]


def test_media_flows_both_ways_through_kamailio_and_rtpengine(tmp_path: Path) -> None:
    require(_has_rtpengine(), "kamailio or rtpengine")
    case = _run(PROFILE, tmp_path / "out")
    assert case["verdict"] == "PASS", case["reason"]
    findings = _media_findings(case)
    assert [f["reason"].split(":")[0] for f in findings] == ["originating call", "terminating call"]
    assert all(f["verdict"] == "INFORMATIONAL" and "flowed both ways" in f["reason"] for f in findings)
    evidence = case["evidence"]
    wic = [e["data"]["media"] for e in evidence if e["kind"] == "note" and "media" in e["data"]]
    core = [e["data"]["rtp_counts"] for e in evidence if e["kind"] == "note" and "rtp_counts" in e["data"]]
    assert len(wic) == 2 and len(core) == 2, "one WIC peer and one core RTP port per call"
    for at_wic, at_core in zip(wic, core, strict=True):
        assert at_wic["connection"] == "connected"
        assert at_wic["rtp_sent"] > 0 and at_core["rtp_packets"] > 0, "WIC → rtpengine → core"
        assert at_core["rtp_echoed"] > 0 and at_wic["rtp_received"] > 0, "core → rtpengine → WIC"
    for finding in findings:  # every media finding cites both ends' counts
        cited = {e["seq"] for e in evidence if e["seq"] in finding["evidence"]}
        kinds = {k for e in evidence if e["seq"] in cited for k in ("media", "rtp_counts") if k in e["data"]}
        assert kinds == {"media", "rtp_counts"}


def test_with_rtpengine_bypassed_no_media_crosses_the_edge(tmp_path: Path) -> None:
    require(_has_rtpengine(), "kamailio or rtpengine")
    text = PROFILE.read_text()
    assert "rtpengine: true" in text
    bypassed = tmp_path / "kamailio-rtpengine-epcscf-bypassed.yaml"
    bypassed.write_text(text.replace("rtpengine: true", "rtpengine: false"))
    case = _run(bypassed, tmp_path / "out")
    findings = _media_findings(case)
    assert len(findings) == 2 and all(f["verdict"] == "INFORMATIONAL" for f in findings)
    assert "not through the SUT" in findings[0]["reason"]  # the WIC's WebRTC SDP reached the core
    assert "unconverted" in findings[1]["reason"]  # the core's RTP/AVP offer reached the WIC
    assert not [e for e in case["evidence"] if e["kind"] == "note" and "rtp_counts" in e["data"]]
