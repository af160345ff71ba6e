"""junit.xml from report.json, read back by a real consumer (junitparser): one suite per
profile with its own counts, classnames `wicct.<role>.<profile>`, names = case ids, FAIL as
`<failure type="FAIL">`, ERROR as `<error type="ERROR">`, INCONCLUSIVE and NOT-APPLICABLE
as typed skips, requirement ids and clauses as properties (issue 10 item 7)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from harness.report.junit import render_junit, write_junit

from .sample import EPC, WIC


def inconclusive(report: dict[str, Any]) -> dict[str, Any]:
    """The sample report plus an INCONCLUSIVE case and a case file that failed to load."""
    report = copy.deepcopy(report)
    case = copy.deepcopy(report["cases"][0])
    case.update(id="EPC-HS-01-stalled", verdict="INCONCLUSIVE", reason="no 101 within 2 s",
                findings=[], evidence=[])
    broken = copy.deepcopy(case)
    broken.update(id="EPC-BROKEN", profile="-", verdict="ERROR", title="malformed case file",
                  reason="testcases/epcscf/EPC-BROKEN.yaml:6: steps[0]: no.such.step")
    report["cases"] += [case, broken]
    return report


def read(report: dict[str, Any], tmp_path: Path, *, strict: bool = False) -> JUnitXml:
    path = write_junit(report, tmp_path / "junit.xml", strict=strict)
    return JUnitXml.fromfile(str(path))


def suites(xml: JUnitXml) -> dict[str, TestSuite]:
    return {suite.name: suite for suite in xml}


def cases(suite: TestSuite) -> dict[str, TestCase]:
    return {case.name: case for case in suite}


def test_one_suite_per_profile_with_its_own_counts(report, tmp_path):
    found = suites(read(inconclusive(report), tmp_path))
    assert list(found) == [EPC, WIC, "case-files"]
    epc, wic, files = found[EPC], found[WIC], found["case-files"]
    # EPC: PASS, PASS(+INFORMATIONAL), ERROR, INCONCLUSIVE; WIC: FAIL, NOT-APPLICABLE
    assert (epc.tests, epc.failures, epc.errors, epc.skipped) == (4, 0, 1, 1)
    assert (wic.tests, wic.failures, wic.errors, wic.skipped) == (2, 1, 0, 1)
    assert (files.tests, files.errors) == (1, 1)
    assert {p.name: p.value for p in wic.properties()}["wicct.sut.faults"] == "two-per-frame"


def test_classnames_and_names(report, tmp_path):
    found = suites(read(report, tmp_path))
    assert {c.classname for c in found[EPC]} == {f"wicct.epcscf.{EPC}"}
    assert {c.classname for c in found[WIC]} == {f"wicct.wic.{WIC}"}
    assert list(cases(found[EPC])) == ["EPC-HS-01-basic", "EPC-KA-03-ping-policy", "EPC-HS-02-no-sip"]
    assert not any(".yaml" in c.classname or "[" in c.name for s in found.values() for c in s)


def test_each_verdict_as_its_typed_element(report, tmp_path):
    by_name = {c.name: c for s in read(inconclusive(report), tmp_path) for c in s}
    assert by_name["EPC-HS-01-basic"].is_passed and by_name["EPC-KA-03-ping-policy"].is_passed
    (fail,) = by_name["WIC-FR-01-one-per-message"].result
    assert isinstance(fail, Failure) and fail.type == "FAIL"
    assert fail.message == report["cases"][1]["reason"]
    (error,) = by_name["EPC-HS-02-no-sip"].result
    assert isinstance(error, Error) and error.type == "ERROR"
    assert error.message == "harness error: KeyError 'via'"
    (na,) = by_name["WIC-SES-04-media"].result
    assert isinstance(na, Skipped) and na.type == "NOT-APPLICABLE"
    assert na.message == "NOT-APPLICABLE: profile declares no media support"
    (stalled,) = by_name["EPC-HS-01-stalled"].result
    assert isinstance(stalled, Skipped) and stalled.type == "INCONCLUSIVE"
    assert stalled.message == "INCONCLUSIVE: no 101 within 2 s"


def test_strict_makes_inconclusive_a_failure(report, tmp_path):
    by_name = {c.name: c for s in read(inconclusive(report), tmp_path, strict=True) for c in s}
    (stalled,) = by_name["EPC-HS-01-stalled"].result
    assert isinstance(stalled, Failure) and stalled.type == "INCONCLUSIVE"


def test_failure_body_has_findings_clauses_and_cited_evidence(report, tmp_path):
    by_name = {c.name: c for s in read(report, tmp_path) for c in s}
    body = by_name["WIC-FR-01-one-per-message"].result[0].text
    assert "- WIC-FR-01 (shall) FAIL: two SIP messages in one frame" in body
    assert "- WIC-KA-04 (should) FAIL: the SUT closed the socket after BYE" in body
    assert "clause: " in body and "note: NON-STRICT" in body
    # the cited entries (#2, #3 for WIC-FR-01; #4 for WIC-KA-04), not the uncited #1
    assert "#2 " in body and "text frame with two SIP messages" in body
    assert "#4 " in body and "no close" in body
    assert "connection accepted" not in body


def test_requirements_and_clauses_are_properties(report, tmp_path):
    by_name = {c.name: c for s in read(report, tmp_path) for c in s}
    element = by_name["WIC-FR-01-one-per-message"]._elem
    props = [(p.get("name"), p.get("value")) for p in element.iter("property")]
    named = dict(props)
    assert named["wicct.verdict"] == "FAIL"
    assert named["wicct.requirements"] == "WIC-FR-01 WIC-KA-04"
    assert named["wicct.requirement.WIC-FR-01"].startswith("shall: ")
    assert named["wicct.requirement.WIC-KA-04"].startswith("should: ")
    assert named["wicct.finding.WIC-FR-01"].startswith("FAIL: two SIP messages")
    assert named["wicct.clauses"] == " ; ".join(report["cases"][1]["clauses"])


def test_hostile_text_stays_well_formed(tamper, tmp_path):
    report = tamper()
    report["cases"][1]["reason"] = "boom \x1b[2J \x00 <tag> & \"quoted\""
    report["cases"][1]["findings"][0]["reason"] = "nul \x00 here"
    xml = read(report, tmp_path)  # parses: no raw control characters in the document
    fail = next(c for s in xml for c in s if c.name == "WIC-FR-01-one-per-message").result[0]
    assert fail.message == 'boom \\x1b[2J \\x00 <tag> & "quoted"'
    assert "nul \\x00 here" in fail.text


@pytest.mark.parametrize("profile", ["-", ""])
def test_cases_without_a_profile_are_in_their_own_suite(report, profile):
    report = copy.deepcopy(report)
    for case in report["cases"]:
        case["profile"] = profile
    root = render_junit({**report, "suts": []})
    assert [s.get("name") for s in root] == ["case-files"]
