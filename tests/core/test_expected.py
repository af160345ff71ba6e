"""Expected-results files: a run matches only when every non-PASS is explained."""

import pytest

from harness.expected import Expectation, compare, load_expected
from harness.yamlmarks import DocumentError


def report(*cases):
    return {"cases": [{"id": i, "profile": "p", "verdict": v, "reason": "r"} for i, v in cases]}


EXPECTED = {"B": Expectation("B", "FAIL", "peer-defect", "no 1007 on invalid UTF-8")}


def test_match():
    assert compare(report(("A", "PASS"), ("B", "FAIL")), "p", EXPECTED) == []


def test_unexplained_failure():
    problems = compare(report(("A", "INCONCLUSIVE"), ("B", "FAIL")), "p", EXPECTED)
    assert problems == ["A: INCONCLUSIVE but expected PASS (r)"]


def test_expected_failure_that_now_passes():
    problems = compare(report(("A", "PASS"), ("B", "PASS")), "p", EXPECTED)
    assert problems == ["B: PASS but expected FAIL (r)"]


def test_expected_case_that_did_not_run():
    assert compare(report(("A", "PASS")), "p", EXPECTED) == ["B: expected FAIL but the case did not run"]


def test_other_profiles_are_ignored():
    assert compare({"cases": [{"id": "A", "profile": "q", "verdict": "FAIL", "reason": ""}]}, "p", {}) == []


def test_file_needs_a_reason(tmp_path):
    path = tmp_path / "x.expected.yaml"
    path.write_text("profile: p\ncases:\n  B: {verdict: FAIL, kind: peer-defect}\n")
    with pytest.raises(DocumentError, match="reason"):
        load_expected(path)


def test_the_strength_of_an_expected_failure_is_compared():
    want = {"B": Expectation("B", "FAIL", "peer-defect", "a reason text", strength="should")}

    def case(strengths):
        findings = [{"verdict": "FAIL", "strength": s} for s in strengths]
        return {"cases": [{"id": "B", "profile": "p", "verdict": "FAIL", "reason": "r",
                           "findings": [*findings, {"verdict": "PASS", "strength": "shall"}]}]}

    assert compare(case(["should"]), "p", want) == []
    assert compare(case(["should", "shall"]), "p", want) == ["B: FAIL at shall level but expected should"]


def test_a_case_the_profile_does_not_claim_need_not_be_listed():
    """NOT-APPLICABLE for a feature the profile does not claim is its PICS, not a deviation;
    NOT-APPLICABLE for another reason must still be explained."""
    unclaimed = {"id": "C", "profile": "p", "verdict": "NOT-APPLICABLE",
                 "reason": "profile p does not declare feature(s): wwsf-identity"}
    other = {"id": "D", "profile": "p", "verdict": "NOT-APPLICABLE", "reason": "SHA-256 not supported"}
    run = {"cases": [unclaimed, other]}
    assert compare(run, "p", {}) == ["D: NOT-APPLICABLE but expected PASS (SHA-256 not supported)"]
