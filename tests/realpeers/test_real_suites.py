"""The whole suite of each role against real peers nobody here wrote (issue 3).

Kamailio as eP-CSCF and JsSIP in headless Chromium as WIC run every case of their role;
the verdicts must match the peer's expected-results file (every non-PASS explained), so a
change on either side is noticed. A Kamailio with its Origin allow-list removed must FAIL on
exactly the requirement that breaks; so must a TNA Kamailio that trusts bearer tokens
without asking the issuer (EPC-REG-05 and EPC-REG-06, issue 8), and a Kamailio that claims
media at the edge with its rtpengine bypassed (EPC-SES-01, issue 9).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.expected import compare, expected_path, load_expected
from harness.profiles import load_profile

from .conftest import PROFILES, ROOT, require

pytestmark = [pytest.mark.realpeer, pytest.mark.slow]


def _has_kamailio() -> bool:
    from harness.suts.kamailio.driver import find_kamailio

    return find_kamailio() is not None


def _has_rtpengine() -> bool:
    from harness.suts.kamailio.rtpengine import find_rtpengine

    return _has_kamailio() and find_rtpengine() is not None


def _has_browser() -> bool:
    bundle = ROOT / "harness" / "suts" / "browser" / "web" / "jssip.bundle.js"
    return bundle.exists() and (shutil.which("chromium") is not None or Path("/usr/lib/chromium/chromium").exists())


def run_suite(profile: Path, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-q", "--profile", str(profile), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False,
    )
    report_file = out / "report.json"
    assert report_file.exists(), proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(report_file.read_text())


@pytest.fixture(scope="module")
def real_reports(tmp_path_factory) -> Path:
    """Where each real peer's run is kept, for the matrix of them all (issue 10)."""
    return tmp_path_factory.mktemp("real-reports")


def failed_ids(report: dict) -> set[str]:
    return {r["id"] for r in report["requirements"] if r["verdict"] == "FAIL"}


@pytest.mark.parametrize(
    ("name", "available", "what"),
    [
        ("kamailio-epcscf", _has_kamailio, "kamailio"),
        ("kamailio-tna-epcscf", _has_kamailio, "kamailio"),
        ("kamailio-rtpengine-epcscf", _has_rtpengine, "kamailio or rtpengine"),
        ("jssip-chromium-wic", _has_browser, "chromium or the JsSIP bundle"),
        ("jssip-chromium-wic-bearer", _has_browser, "chromium or the JsSIP bundle"),
    ],
)
def test_real_peer_matches_expected_results(real_reports, name, available, what):
    require(available(), what)
    path = PROFILES / f"{name}.yaml"
    profile = load_profile(path)
    report = run_suite(path, real_reports / name)
    role_cases = [c for c in report["cases"] if c["profile"] == profile.id]
    assert len(role_cases) >= 20
    assert not [c["id"] for c in role_cases if c["verdict"] == "ERROR"], "no ERROR against a real peer"
    expected = load_expected(expected_path(path, profile.expected_results))
    problems = compare(report, profile.id, expected)
    assert not problems, "results differ from the expected-results file:\n" + "\n".join(problems)


def test_matrix_of_the_reference_kamailio_and_jssip_reports_renders(real_reports):
    """Issue 10: `wicct matrix` over the reference run and the real peers' runs above: one
    column per SUT, each judged cell the verdict its report gives, linking into that report."""
    from harness.report.matrix import Source, build_matrix, write_matrix

    require(_has_kamailio(), "kamailio")
    require(_has_browser(), "chromium or the JsSIP bundle")
    names = ["kamailio-epcscf", "jssip-chromium-wic"]
    missing = [n for n in names if not (real_reports / n / "report.json").exists()]
    if missing:  # selected without them (-k): their failures, if any, are their own tests'
        pytest.skip(f"MATRIX NOT RENDERED: the real-peer runs of this module did not run for {missing}")
    reference = real_reports / "reference"
    run_suite(PROFILES / "reference-epcscf.yaml", reference)  # a reference column beside them
    dirs = [reference, *(real_reports / n for n in sorted(p.name for p in real_reports.iterdir()
                                                          if p.name != "reference"))]
    sources = [Source(json.loads((d / "report.json").read_text()), d / "report.json") for d in dirs]
    out = write_matrix(sources, real_reports / "matrix" / "matrix.html")
    model = build_matrix(sources, out.parent)
    profiles = [c["profile"] for c in model["columns"]]
    assert {"reference-epcscf", "kamailio-epcscf", "jssip-chromium-wic"} <= set(profiles), profiles
    page = out.read_text("utf-8")
    for source in sources:
        report = source.report
        assert report["report"]["id"] in page
        for row in report["requirements"][:5]:
            assert row["id"] in page


def test_kamailio_without_origin_allow_list_fails_exactly_origin(tmp_path):
    require(_has_kamailio(), "kamailio")
    good, bad = _variant(tmp_path, "kamailio-epcscf", "origins_check: true", "origins_check: false")
    assert failed_ids(bad) - failed_ids(good) == {"EPC-ORIGIN-02"}
    assert failed_ids(good) <= failed_ids(bad)


def test_kamailio_with_rtpengine_bypassed_fails_exactly_ses01(tmp_path):
    """edge-media still claimed, rtpengine not run: the WIC's BUNDLE reaches the core."""
    require(_has_rtpengine(), "kamailio or rtpengine")
    good, bad = _variant(tmp_path, "kamailio-rtpengine-epcscf", "rtpengine: true", "rtpengine: false")
    assert failed_ids(bad) - failed_ids(good) == {"EPC-SES-01"}
    assert failed_ids(good) <= failed_ids(bad)


def _variant(tmp_path: Path, name: str, setting: str, broken_value: str) -> tuple[dict, dict]:
    """The profile's suite as shipped and with one driver option turned to its broken value."""
    text = (PROFILES / f"{name}.yaml").read_text()
    assert setting in text
    good = run_suite(PROFILES / f"{name}.yaml", tmp_path / "good")
    broken = tmp_path / f"{name}-broken.yaml"
    broken.write_text(text.replace(setting, broken_value))
    return good, run_suite(broken, tmp_path / "bad")


def test_kamailio_without_token_validation_fails_exactly_reg05_and_reg06(tmp_path):
    require(_has_kamailio(), "kamailio")
    good, bad = _variant(tmp_path, "kamailio-tna-epcscf", "token_validation: true", "token_validation: false")
    assert failed_ids(bad) - failed_ids(good) == {"EPC-REG-05", "EPC-REG-06"}
    assert failed_ids(good) <= failed_ids(bad)
